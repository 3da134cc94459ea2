-- Row-level security: the second line of defence behind the Rust-side checks (src/auth/policy.rs).
--
-- Who is asking travels in per-transaction settings, set by storage::begin() with
-- set_config(..., true) at the start of every transaction; nothing is kept on pooled
-- connections. Without settings a transaction sees no participant-owned row.
--   pledge.role             admin | analyst | delegation | system (commands) | anonymous |
--                           authenticator (resolving who a session or token belongs to)
--   pledge.participant_id   the delegation's participant (delegation members only)
--   pledge.delegation_role  head | contributor | viewer (delegation members only)
--   pledge.user_id          the user, for rows that belong to them

CREATE FUNCTION pledge_role() RETURNS text
LANGUAGE sql STABLE AS $$ SELECT coalesce(nullif(current_setting('pledge.role', true), ''), 'none') $$;

CREATE FUNCTION pledge_participant() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('pledge.participant_id', true), '')::uuid $$;

CREATE FUNCTION pledge_user() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('pledge.user_id', true), '')::uuid $$;

-- Admins and commands run on the server see and change everything.
CREATE FUNCTION pledge_is_staff() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT pledge_role() IN ('admin', 'system') $$;

-- Read access to a participant's records that are not drafts: staff, analysts, the delegation.
CREATE FUNCTION pledge_may_read(participant uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT pledge_role() IN ('admin', 'system', 'analyst')
        OR (pledge_role() = 'delegation' AND participant = pledge_participant())
$$;

-- Editing a participant's own records: its heads and contributors.
CREATE FUNCTION pledge_may_edit(participant uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT pledge_role() = 'system'
        OR (pledge_role() = 'delegation' AND participant = pledge_participant()
            AND current_setting('pledge.delegation_role', true) IN ('head', 'contributor'))
$$;

-- Live answers (and their evidence) of an assessment: staff and the delegation always, analysts
-- only once it is submitted; analysts never read drafts.
CREATE FUNCTION pledge_may_read_answers(participant uuid, assessment uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT pledge_is_staff()
        OR (pledge_role() = 'delegation' AND participant = pledge_participant())
        OR (pledge_role() = 'analyst' AND EXISTS (
                SELECT 1 FROM assessments a
                WHERE a.id = assessment AND a.state IN ('submitted', 'resubmitted', 'accepted')))
$$;

-- Assessments: everyone who may read the participant sees its state (the status board);
-- staff and the delegation change it (editing, submitting); reviews are staff only (below).
ALTER TABLE assessments ENABLE ROW LEVEL SECURITY;
ALTER TABLE assessments FORCE ROW LEVEL SECURITY;
CREATE POLICY assessments_read ON assessments FOR SELECT USING (pledge_may_read(participant_id));
CREATE POLICY assessments_insert ON assessments FOR INSERT WITH CHECK (pledge_is_staff());
CREATE POLICY assessments_update ON assessments FOR UPDATE
    USING (pledge_is_staff() OR pledge_may_edit(participant_id))
    WITH CHECK (pledge_is_staff() OR pledge_may_edit(participant_id));

-- Whether an assessment's answers may change: before submission, or after a return.
CREATE FUNCTION pledge_assessment_editable(assessment uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT pledge_role() = 'system'
        OR EXISTS (SELECT 1 FROM assessments a
                   WHERE a.id = assessment AND a.state IN ('not_started', 'draft', 'returned'))
$$;

-- Answers and what hangs off them.
ALTER TABLE answers ENABLE ROW LEVEL SECURITY;
ALTER TABLE answers FORCE ROW LEVEL SECURITY;
CREATE POLICY answers_read ON answers FOR SELECT
    USING (pledge_may_read_answers(participant_id, assessment_id));
CREATE POLICY answers_write ON answers FOR ALL
    USING (pledge_may_edit(participant_id) AND pledge_assessment_editable(assessment_id))
    WITH CHECK (pledge_may_edit(participant_id) AND pledge_assessment_editable(assessment_id));

ALTER TABLE evidence_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE evidence_links FORCE ROW LEVEL SECURITY;
CREATE POLICY evidence_links_read ON evidence_links FOR SELECT USING (
    pledge_may_read_answers(participant_id, (SELECT a.assessment_id FROM answers a WHERE a.id = answer_id)));
CREATE POLICY evidence_links_write ON evidence_links FOR ALL
    USING (pledge_may_edit(participant_id)) WITH CHECK (pledge_may_edit(participant_id));

ALTER TABLE evidence_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE evidence_files FORCE ROW LEVEL SECURITY;
CREATE POLICY evidence_files_read ON evidence_files FOR SELECT USING (
    pledge_may_read_answers(participant_id, (SELECT a.assessment_id FROM answers a WHERE a.id = answer_id)));
CREATE POLICY evidence_files_write ON evidence_files FOR ALL
    USING (pledge_may_edit(participant_id)) WITH CHECK (pledge_may_edit(participant_id));

ALTER TABLE planned_actions ENABLE ROW LEVEL SECURITY;
ALTER TABLE planned_actions FORCE ROW LEVEL SECURITY;
CREATE POLICY planned_actions_read ON planned_actions FOR SELECT USING (
    pledge_may_read_answers(participant_id, (SELECT a.assessment_id FROM answers a WHERE a.id = answer_id)));
CREATE POLICY planned_actions_write ON planned_actions FOR ALL
    USING (pledge_may_edit(participant_id)) WITH CHECK (pledge_may_edit(participant_id));

-- Snapshots are submitted by the delegation's head (or a command) and read like the participant.
ALTER TABLE snapshots ENABLE ROW LEVEL SECURITY;
ALTER TABLE snapshots FORCE ROW LEVEL SECURITY;
CREATE POLICY snapshots_read ON snapshots FOR SELECT USING (pledge_may_read(participant_id));
CREATE POLICY snapshots_insert ON snapshots FOR INSERT WITH CHECK (
    pledge_role() = 'system'
    OR (pledge_role() = 'delegation' AND participant_id = pledge_participant()
        AND current_setting('pledge.delegation_role', true) = 'head'));

ALTER TABLE snapshot_section_scores ENABLE ROW LEVEL SECURITY;
ALTER TABLE snapshot_section_scores FORCE ROW LEVEL SECURITY;
CREATE POLICY snapshot_section_scores_read ON snapshot_section_scores FOR SELECT
    USING (pledge_may_read(participant_id));
CREATE POLICY snapshot_section_scores_insert ON snapshot_section_scores FOR INSERT WITH CHECK (
    pledge_role() = 'system'
    OR (pledge_role() = 'delegation' AND participant_id = pledge_participant()
        AND current_setting('pledge.delegation_role', true) = 'head'));

ALTER TABLE snapshot_answers ENABLE ROW LEVEL SECURITY;
ALTER TABLE snapshot_answers FORCE ROW LEVEL SECURITY;
CREATE POLICY snapshot_answers_read ON snapshot_answers FOR SELECT USING (pledge_may_read(participant_id));
CREATE POLICY snapshot_answers_insert ON snapshot_answers FOR INSERT WITH CHECK (
    pledge_role() = 'system'
    OR (pledge_role() = 'delegation' AND participant_id = pledge_participant()
        AND current_setting('pledge.delegation_role', true) = 'head'));

-- Reviews: decided by staff, read like the participant.
ALTER TABLE assessment_reviews ENABLE ROW LEVEL SECURITY;
ALTER TABLE assessment_reviews FORCE ROW LEVEL SECURITY;
CREATE POLICY assessment_reviews_read ON assessment_reviews FOR SELECT USING (pledge_may_read(participant_id));
CREATE POLICY assessment_reviews_insert ON assessment_reviews FOR INSERT WITH CHECK (pledge_is_staff());

ALTER TABLE review_answer_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE review_answer_notes FORCE ROW LEVEL SECURITY;
CREATE POLICY review_answer_notes_read ON review_answer_notes FOR SELECT USING (pledge_may_read(participant_id));
CREATE POLICY review_answer_notes_insert ON review_answer_notes FOR INSERT WITH CHECK (pledge_is_staff());

-- National goals: the delegation's heads and contributors keep them; others read.
ALTER TABLE national_goals ENABLE ROW LEVEL SECURITY;
ALTER TABLE national_goals FORCE ROW LEVEL SECURITY;
CREATE POLICY national_goals_read ON national_goals FOR SELECT USING (pledge_may_read(participant_id));
CREATE POLICY national_goals_write ON national_goals FOR ALL
    USING (pledge_may_edit(participant_id)) WITH CHECK (pledge_may_edit(participant_id));

ALTER TABLE national_goal_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE national_goal_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY national_goal_versions_read ON national_goal_versions FOR SELECT
    USING (pledge_may_read(participant_id));
CREATE POLICY national_goal_versions_insert ON national_goal_versions FOR INSERT
    WITH CHECK (pledge_may_edit(participant_id));

-- Clarification requests: raised by analysts and admins, answered by the delegation.
ALTER TABLE clarification_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE clarification_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY clarification_requests_read ON clarification_requests FOR SELECT
    USING (pledge_may_read(participant_id));
CREATE POLICY clarification_requests_insert ON clarification_requests FOR INSERT
    WITH CHECK (pledge_role() IN ('admin', 'analyst', 'system'));
CREATE POLICY clarification_requests_update ON clarification_requests FOR UPDATE
    USING (pledge_role() IN ('admin', 'analyst', 'system') OR pledge_may_edit(participant_id))
    WITH CHECK (pledge_role() IN ('admin', 'analyst', 'system') OR pledge_may_edit(participant_id));

ALTER TABLE clarification_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE clarification_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY clarification_messages_read ON clarification_messages FOR SELECT
    USING (pledge_may_read(participant_id));
CREATE POLICY clarification_messages_insert ON clarification_messages FOR INSERT
    WITH CHECK (pledge_role() IN ('admin', 'analyst', 'system') OR pledge_may_edit(participant_id));

-- Memberships: staff manage them; a delegation sees its own members; analysts see focal points.
ALTER TABLE delegation_memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE delegation_memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY delegation_memberships_read ON delegation_memberships FOR SELECT
    USING (pledge_may_read(participant_id) OR user_id = pledge_user() OR pledge_role() = 'authenticator');
CREATE POLICY delegation_memberships_write ON delegation_memberships FOR ALL
    USING (pledge_is_staff()) WITH CHECK (pledge_is_staff());

-- The audit log: anyone's action may be recorded (a failed sign-in is anonymous); only staff read.
-- Not FORCEd: the owner (migrations, `pledge audit verify`) reads the whole chain, and appending
-- needs the last hash whoever acts, which audit_last_hash() (running as the owner) gives without
-- exposing any entry.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_read ON audit_log FOR SELECT USING (pledge_is_staff());
CREATE POLICY audit_log_insert ON audit_log FOR INSERT WITH CHECK (true);

CREATE FUNCTION audit_last_hash() RETURNS bytea
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1
$$;
REVOKE ALL ON FUNCTION audit_last_hash() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_last_hash() TO pledge_app;

-- TOTP replay protection: the last time step a code was accepted for.
ALTER TABLE users ADD COLUMN totp_last_step bigint;

-- Sessions get a public handle, so that admins can end one without seeing its secret id.
ALTER TABLE sessions ADD COLUMN handle uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE sessions ADD CONSTRAINT sessions_handle_key UNIQUE (handle);
