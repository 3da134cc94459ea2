-- Reports faster than the SQL behind them (issue 20; docs/performance.md, data-model.md).
--
-- 1. cycle_figures: one narrow row per participant and cycle with the figures of its current
--    snapshot (and its assessment's state), in cycle order (primary key (cycle_id,
--    participant_id)). Kept by a trigger on assessments, so every path that points an
--    assessment at a new snapshot (storage::assessments::insert_snapshots: submissions, the
--    bulk loaders, imports) or changes its state keeps it, in the same transaction.
-- 2. cycle_report_state: per cycle, the fingerprint of its current snapshot set (SHA-256 over
--    "code revision digest\n" by participant code: the fingerprint stamped on exports), how
--    many submitted, and a generation that moves whenever anything a report shows changes
--    (a snapshot added or superseded, a state, a participant's code or name, a cycle, a
--    mapping). Reports and exports are cached under a key made of these.
-- 3. report_cache: the cached comparisons, anonymous distributions and export files, shared by
--    every process on the database; one entry per cycle and kind, replaced when its key moves.
--
-- Row-level security stays the second line of defence. cycle_figures has policies like the
-- snapshots (a delegation reads its own rows, analysts and staff all) for any direct read, but
-- is read by the reports through SECURITY DEFINER functions that check the caller once per
-- call and then scan the cycle's rows without a per-row policy (the planner keeps its
-- estimates). RLS is enabled, not forced, on cycle_figures so that those functions (owned, like
-- the table, by the owner) read it whole; the service role gets SELECT only, and only through
-- the policies.

CREATE TABLE cycle_figures (
    cycle_id           uuid        NOT NULL REFERENCES cycles (id),
    participant_id     uuid        NOT NULL REFERENCES participants (id),
    assessment_id      uuid        NOT NULL REFERENCES assessments (id),
    assessment_state   text        NOT NULL,
    snapshot_id        uuid        NOT NULL REFERENCES snapshots (id),
    revision           integer     NOT NULL,
    digest             bytea       NOT NULL,
    submitted_at       timestamptz NOT NULL,
    overall_score      numeric,
    answered           integer     NOT NULL,
    applicable         integer     NOT NULL,
    section_ids        uuid[]      NOT NULL,
    section_scores     numeric[]   NOT NULL,
    section_answered   integer[]   NOT NULL,
    section_applicable integer[]   NOT NULL,
    PRIMARY KEY (cycle_id, participant_id)
);
ALTER TABLE cycle_figures ENABLE ROW LEVEL SECURITY;
CREATE POLICY cycle_figures_read ON cycle_figures FOR SELECT USING (pledge_may_read(participant_id));
GRANT SELECT ON cycle_figures TO pledge_app;

CREATE TABLE cycle_report_state (
    cycle_id    uuid    PRIMARY KEY REFERENCES cycles (id),
    fingerprint text    NOT NULL DEFAULT '',
    submitted   integer NOT NULL DEFAULT 0,
    generation  bigint  NOT NULL DEFAULT 0
);
-- A fingerprint and counts: nothing participant-owned.
GRANT SELECT ON cycle_report_state TO pledge_app;

CREATE TABLE report_cache (
    cycle_id   uuid        NOT NULL REFERENCES cycles (id),
    kind       text        NOT NULL,
    cache_key  text        NOT NULL,
    body       bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cycle_id, kind)
);
ALTER TABLE report_cache ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_cache FORCE ROW LEVEL SECURITY;
-- The comparison and the export files hold every participant's figures: analysts and staff
-- only. The anonymous distribution is what any signed-in reader of a progress report gets.
CREATE POLICY report_cache_read ON report_cache FOR SELECT
    USING (kind = 'distribution' OR pledge_role() IN ('admin', 'analyst', 'system'));
CREATE POLICY report_cache_insert ON report_cache FOR INSERT
    WITH CHECK (kind = 'distribution' OR pledge_role() IN ('admin', 'analyst', 'system'));
CREATE POLICY report_cache_update ON report_cache FOR UPDATE
    USING (kind = 'distribution' OR pledge_role() IN ('admin', 'analyst', 'system'))
    WITH CHECK (kind = 'distribution' OR pledge_role() IN ('admin', 'analyst', 'system'));
GRANT SELECT, INSERT, UPDATE ON report_cache TO pledge_app;

-- Recomputes the fingerprint and count of these cycles and moves their generation. The rows
-- are locked first, so that two submissions in one cycle compute one after the other, each
-- seeing the other's committed figures.
CREATE FUNCTION refresh_cycle_report_state(cycles uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    INSERT INTO cycle_report_state (cycle_id)
    SELECT DISTINCT c FROM unnest(cycles) AS c ON CONFLICT (cycle_id) DO NOTHING;
    PERFORM 1 FROM cycle_report_state WHERE cycle_id = ANY (cycles) ORDER BY cycle_id FOR UPDATE;
    UPDATE cycle_report_state r
    SET fingerprint = coalesce(f.fingerprint, encode(sha256(''::bytea), 'hex')),
        submitted = coalesce(f.n, 0),
        generation = r.generation + 1
    FROM (SELECT c AS cycle_id FROM unnest(cycles) AS c) wanted
    LEFT JOIN (
        SELECT cf.cycle_id,
               encode(sha256(convert_to(string_agg(
                   p.code || ' ' || cf.revision || ' ' || encode(cf.digest, 'hex') || E'\n', ''
                   ORDER BY p.code COLLATE "C"), 'UTF8')), 'hex') AS fingerprint,
               count(*)::integer AS n
        FROM cycle_figures cf JOIN participants p ON p.id = cf.participant_id
        WHERE cf.cycle_id = ANY (cycles)
        GROUP BY cf.cycle_id
    ) f ON f.cycle_id = wanted.cycle_id
    WHERE r.cycle_id = wanted.cycle_id;
END $$;
REVOKE ALL ON FUNCTION refresh_cycle_report_state(uuid[]) FROM PUBLIC;

-- Keeps cycle_figures and the report state when assessments point at a new snapshot or change
-- state (one statement-level trigger: the bulk loaders update hundreds of rows at once).
CREATE FUNCTION cycle_figures_follow_assessments() RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    caller_role text := coalesce(current_setting('pledge.role', true), '');
    changed uuid[];
BEGIN
    SELECT array_agg(DISTINCT n.cycle_id) INTO changed
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.latest_snapshot_id IS NOT NULL
      AND (n.latest_snapshot_id IS DISTINCT FROM o.latest_snapshot_id
           OR n.state IS DISTINCT FROM o.state);
    IF changed IS NULL THEN
        RETURN NULL;
    END IF;
    -- The snapshots are under forced row-level security: read them as the system.
    PERFORM set_config('pledge.role', 'system', true);
    INSERT INTO cycle_report_state (cycle_id)
    SELECT DISTINCT c FROM unnest(changed) AS c ON CONFLICT (cycle_id) DO NOTHING;
    PERFORM 1 FROM cycle_report_state WHERE cycle_id = ANY (changed) ORDER BY cycle_id FOR UPDATE;
    INSERT INTO cycle_figures (cycle_id, participant_id, assessment_id, assessment_state,
        snapshot_id, revision, digest, submitted_at, overall_score, answered, applicable,
        section_ids, section_scores, section_answered, section_applicable)
    SELECT n.cycle_id, n.participant_id, n.id, n.state, s.id, s.revision, s.digest,
           s.submitted_at, s.overall_score, s.answered, s.applicable, s.section_ids,
           s.section_scores, s.section_answered, s.section_applicable
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    JOIN snapshots s ON s.id = n.latest_snapshot_id
    WHERE n.latest_snapshot_id IS DISTINCT FROM o.latest_snapshot_id
       OR n.state IS DISTINCT FROM o.state
    ON CONFLICT (cycle_id, participant_id) DO UPDATE SET
        assessment_id = EXCLUDED.assessment_id, assessment_state = EXCLUDED.assessment_state,
        snapshot_id = EXCLUDED.snapshot_id, revision = EXCLUDED.revision,
        digest = EXCLUDED.digest, submitted_at = EXCLUDED.submitted_at,
        overall_score = EXCLUDED.overall_score, answered = EXCLUDED.answered,
        applicable = EXCLUDED.applicable, section_ids = EXCLUDED.section_ids,
        section_scores = EXCLUDED.section_scores, section_answered = EXCLUDED.section_answered,
        section_applicable = EXCLUDED.section_applicable;
    PERFORM refresh_cycle_report_state(changed);
    PERFORM set_config('pledge.role', caller_role, true);
    RETURN NULL;
END $$;
CREATE TRIGGER cycle_figures_follow_assessments
    AFTER UPDATE ON assessments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cycle_figures_follow_assessments();

-- A participant's code or name, a cycle's title or state, or a mapping (re-scored previous
-- figures) changes what reports show: every cycle's generation moves (these are rare).
CREATE FUNCTION report_labels_changed() RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'participants' THEN
        -- Codes are in the fingerprint.
        PERFORM refresh_cycle_report_state(ARRAY(SELECT cycle_id FROM cycle_report_state));
    ELSE
        UPDATE cycle_report_state SET generation = generation + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_labels_participants AFTER UPDATE ON participants
    FOR EACH STATEMENT EXECUTE FUNCTION report_labels_changed();
CREATE TRIGGER report_labels_cycles AFTER UPDATE ON cycles
    FOR EACH STATEMENT EXECUTE FUNCTION report_labels_changed();
CREATE TRIGGER report_labels_framework_mappings AFTER INSERT OR UPDATE OR DELETE ON framework_mappings
    FOR EACH STATEMENT EXECUTE FUNCTION report_labels_changed();
CREATE TRIGGER report_labels_goal_mappings AFTER INSERT OR UPDATE OR DELETE ON goal_mappings
    FOR EACH STATEMENT EXECUTE FUNCTION report_labels_changed();

-- The analysts' comparison rows of a cycle: every participant's current figures with its
-- code and names, for analysts, admins and commands; nothing for anyone else. The caller is
-- checked once, then the cycle's rows are read by the primary key.
CREATE FUNCTION cycle_comparison_figures(cycle uuid)
RETURNS TABLE (participant_id uuid, code text, name_en text, name_fr text, assessment_id uuid,
               assessment_state text, snapshot_id uuid, revision integer, digest bytea,
               submitted_at timestamptz, overall_score numeric, answered integer,
               applicable integer, section_ids uuid[], section_scores numeric[],
               section_answered integer[], section_applicable integer[])
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF coalesce(current_setting('pledge.role', true), '') NOT IN ('admin', 'analyst', 'system') THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT f.participant_id, p.code, p.name_en, p.name_fr, f.assessment_id, f.assessment_state,
           f.snapshot_id, f.revision, f.digest, f.submitted_at, f.overall_score, f.answered,
           f.applicable, f.section_ids, f.section_scores, f.section_answered, f.section_applicable
    FROM cycle_figures f JOIN participants p ON p.id = f.participant_id
    WHERE f.cycle_id = cycle
    ORDER BY p.code;
END $$;
REVOKE ALL ON FUNCTION cycle_comparison_figures(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cycle_comparison_figures(uuid) TO pledge_app;

-- The previous cycle as the few numbers a comparison needs: each participant's overall score
-- and section scores (same callers as above).
CREATE FUNCTION cycle_previous_scores(cycle uuid)
RETURNS TABLE (participant_id uuid, overall_score numeric, section_ids uuid[], section_scores numeric[])
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF coalesce(current_setting('pledge.role', true), '') NOT IN ('admin', 'analyst', 'system') THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT f.participant_id, f.overall_score, f.section_ids, f.section_scores
    FROM cycle_figures f WHERE f.cycle_id = cycle;
END $$;
REVOKE ALL ON FUNCTION cycle_previous_scores(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cycle_previous_scores(uuid) TO pledge_app;

-- The anonymous distribution reads the narrow rows (its rules are 0013's, unchanged).
CREATE OR REPLACE FUNCTION cycle_score_distribution(cycle uuid)
RETURNS TABLE (section_id uuid, participants integer, scores numeric[])
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    RETURN QUERY
    WITH latest AS (
        SELECT f.overall_score, f.answered = f.applicable AS complete, f.section_ids,
               f.section_scores, f.section_answered, f.section_applicable
        FROM cycle_figures f
        WHERE f.cycle_id = cycle
    ), submitted AS (
        SELECT count(*)::integer AS n FROM latest
    ), overall_figures AS (
        SELECT overall_score AS score FROM latest WHERE complete AND overall_score IS NOT NULL
    ), section_figures AS (
        SELECT f.id AS section, f.score
        FROM latest l,
             unnest(l.section_ids, l.section_scores, l.section_answered, l.section_applicable)
                 AS f(id, score, answered, applicable)
        WHERE f.answered = f.applicable AND f.score IS NOT NULL
    )
    SELECT NULL::uuid, submitted.n,
           (SELECT CASE WHEN count(*) >= 5 THEN array_agg(o.score ORDER BY o.score) ELSE '{}' END
            FROM overall_figures o)
    FROM submitted WHERE submitted.n >= 5
    UNION ALL
    SELECT f.section, submitted.n,
           CASE WHEN count(*) >= 5 THEN array_agg(f.score ORDER BY f.score) ELSE '{}' END
    FROM section_figures f, submitted
    WHERE submitted.n >= 5
    GROUP BY f.section, submitted.n;
END $$;

-- Backfill from the current snapshots (read as the system, inside this transaction).
SELECT set_config('pledge.role', 'system', true);
INSERT INTO cycle_figures (cycle_id, participant_id, assessment_id, assessment_state,
    snapshot_id, revision, digest, submitted_at, overall_score, answered, applicable,
    section_ids, section_scores, section_answered, section_applicable)
SELECT a.cycle_id, a.participant_id, a.id, a.state, s.id, s.revision, s.digest, s.submitted_at,
       s.overall_score, s.answered, s.applicable, s.section_ids, s.section_scores,
       s.section_answered, s.section_applicable
FROM assessments a JOIN snapshots s ON s.id = a.latest_snapshot_id
ORDER BY a.cycle_id, a.participant_id;
SELECT refresh_cycle_report_state(ARRAY(SELECT DISTINCT cycle_id FROM cycle_figures));
DO $$
BEGIN
    IF (SELECT count(*) FROM cycle_figures)
       <> (SELECT count(*) FROM assessments WHERE latest_snapshot_id IS NOT NULL) THEN
        RAISE EXCEPTION 'cycle_figures does not hold every current snapshot after the backfill';
    END IF;
END $$;
SELECT set_config('pledge.role', '', true);
