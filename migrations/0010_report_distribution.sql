-- Reports: the anonymous alliance distribution a delegation may see, and indexes for set-based
-- report queries.
--
-- A delegation reads only its own snapshots (0007). To compare itself with the alliance it gets
-- the complete scores of a cycle's latest submissions as sorted lists, without participant ids, and only
-- when at least 5 participants have submitted, so no other participant can be identified. The
-- function runs as its owner and sets pledge.role = 'system' while it reads, which is what lets
-- it see every snapshot, then puts the caller's setting back before returning.
CREATE FUNCTION cycle_score_distribution(cycle uuid)
RETURNS TABLE (section_id uuid, participants integer, scores float8[])
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    caller_role text := coalesce(current_setting('pledge.role', true), '');
BEGIN
    PERFORM set_config('pledge.role', 'system', true);
    RETURN QUERY
    WITH latest AS (
        SELECT s.id, s.overall_score, s.answered = s.applicable AS complete
        FROM assessments a JOIN snapshots s ON s.id = a.latest_snapshot_id
        WHERE a.cycle_id = cycle
    ), submitted AS (
        SELECT count(*)::integer AS n FROM latest
    ), overall_figures AS (
        SELECT overall_score::float8 AS score FROM latest WHERE complete AND overall_score IS NOT NULL
    ), section_figures AS (
        SELECT ss.section_id, ss.score::float8 AS score
        FROM latest l JOIN snapshot_section_scores ss ON ss.snapshot_id = l.id
        WHERE ss.answered = ss.applicable AND ss.score IS NOT NULL
    )
    -- Only complete figures are compared (as in the analysts' comparison), and a figure with
    -- fewer than 5 of them is given as an empty list.
    SELECT NULL::uuid, submitted.n,
           (SELECT CASE WHEN count(*) >= 5 THEN array_agg(score ORDER BY score) ELSE '{}' END
            FROM overall_figures)
    FROM submitted WHERE submitted.n >= 5
    UNION ALL
    SELECT f.section_id, submitted.n,
           CASE WHEN count(*) >= 5 THEN array_agg(f.score ORDER BY f.score) ELSE '{}' END
    FROM section_figures f, submitted
    WHERE submitted.n >= 5
    GROUP BY f.section_id, submitted.n;
    PERFORM set_config('pledge.role', caller_role, true);
END $$;
REVOKE ALL ON FUNCTION cycle_score_distribution(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cycle_score_distribution(uuid) TO pledge_app;

-- A participant's history across cycles (progress report, trend).
CREATE INDEX snapshots_participant_idx ON snapshots (participant_id, cycle_id);
-- The latest snapshot of every assessment of a cycle (comparisons).
CREATE INDEX assessments_cycle_latest_idx ON assessments (cycle_id) INCLUDE (latest_snapshot_id, participant_id);
