-- Every function of the schema works whatever the caller's search_path: pg_dump and pg_restore
-- run with an empty one, and a plain `pg_dump --enable-row-security` (pledge.role=system)
-- stopped with `function pledge_role() does not exist` while reading the first table whose
-- policy calls a helper that calls another by its bare name (issue 19).
--
-- Two kinds of fix (docs/operations.md, "Backup and restore"):
-- - The row-level-security helpers of migration 0007 are called for every row a policy
--   filters. A SQL function with its own `SET search_path` is never inlined by the planner and
--   pays a GUC save/restore per call: measured on PostgreSQL 15, 300,000 rows filtered through
--   pledge_may_read() took 0.3 s inlined and 11.5 s with `SET search_path`. So these keep no
--   setting and instead name every object of ours with its schema (`public.`); built-in
--   functions (current_setting, coalesce …) live in pg_catalog, which is always searched first.
--   CREATE OR REPLACE keeps each function's identity, so the policies that call them stay as
--   they are.
-- - Trigger functions and the report function run once per written row or per query: they get
--   `SET search_path = public, pg_temp` (as audit_last_hash and cycle_score_distribution have).

CREATE OR REPLACE FUNCTION public.pledge_role() RETURNS text
LANGUAGE sql STABLE AS $$ SELECT coalesce(nullif(current_setting('pledge.role', true), ''), 'none') $$;

CREATE OR REPLACE FUNCTION public.pledge_participant() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('pledge.participant_id', true), '')::uuid $$;

CREATE OR REPLACE FUNCTION public.pledge_user() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('pledge.user_id', true), '')::uuid $$;

CREATE OR REPLACE FUNCTION public.pledge_is_staff() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT public.pledge_role() IN ('admin', 'system') $$;

CREATE OR REPLACE FUNCTION public.pledge_may_read(participant uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT public.pledge_role() IN ('admin', 'system', 'analyst')
        OR (public.pledge_role() = 'delegation' AND participant = public.pledge_participant())
$$;

CREATE OR REPLACE FUNCTION public.pledge_may_edit(participant uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT public.pledge_role() = 'system'
        OR (public.pledge_role() = 'delegation' AND participant = public.pledge_participant()
            AND current_setting('pledge.delegation_role', true) IN ('head', 'contributor'))
$$;

CREATE OR REPLACE FUNCTION public.pledge_may_read_answers(participant uuid, assessment uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT public.pledge_is_staff()
        OR (public.pledge_role() = 'delegation' AND participant = public.pledge_participant())
        OR (public.pledge_role() = 'analyst' AND EXISTS (
                SELECT 1 FROM public.assessments a
                WHERE a.id = assessment AND a.state IN ('submitted', 'resubmitted', 'accepted')))
$$;

CREATE OR REPLACE FUNCTION public.pledge_assessment_editable(assessment uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT public.pledge_role() = 'system'
        OR EXISTS (SELECT 1 FROM public.assessments a
                   WHERE a.id = assessment AND a.state IN ('not_started', 'draft', 'returned'))
$$;

ALTER FUNCTION public.framework_is_frozen(uuid) SET search_path = public, pg_temp;
ALTER FUNCTION public.refuse_frozen_framework_change() SET search_path = public, pg_temp;
ALTER FUNCTION public.freeze_framework_of_cycle() SET search_path = public, pg_temp;
ALTER FUNCTION public.refuse_change_to_immutable_row() SET search_path = public, pg_temp;
