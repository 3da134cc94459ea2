-- Figures are exact decimals from the answer to every page and file (docs/scoring.md,
-- "Exact figures"). Every stored figure is `numeric` already, except the section scores copied
-- onto the snapshot row by 0011 (`float8[]`) and the scores the anonymous distribution releases
-- (`float8[]`). Both become `numeric[]`.
--
-- The arrays are derived copies of snapshot_section_scores.score (numeric, exact), so they are
-- rebuilt from those rows rather than cast from the floats: no figure depends on a binary
-- float's digits. As in 0011, the forced row-level security and the immutability trigger are
-- lifted for this derived copy only, inside the migration's transaction, and put back after a
-- check that every array equals its rows.
ALTER TABLE snapshots NO FORCE ROW LEVEL SECURITY;
ALTER TABLE snapshot_section_scores NO FORCE ROW LEVEL SECURITY;
ALTER TABLE snapshots DISABLE TRIGGER snapshots_immutable;
ALTER TABLE snapshots DROP CONSTRAINT snapshots_section_arrays_aligned;
ALTER TABLE snapshots
    ALTER COLUMN section_scores DROP DEFAULT,
    ALTER COLUMN section_scores TYPE numeric[] USING section_scores::numeric[],
    ALTER COLUMN section_scores SET DEFAULT '{}';
UPDATE snapshots s
SET section_scores = f.scores
FROM (
    SELECT ss.snapshot_id, array_agg(ss.score ORDER BY fs.position) AS scores
    FROM snapshot_section_scores ss JOIN framework_sections fs ON fs.id = ss.section_id
    GROUP BY ss.snapshot_id
) f
WHERE f.snapshot_id = s.id;
DO $$
BEGIN
    IF EXISTS (
        SELECT 1
        FROM snapshots s
        CROSS JOIN LATERAL unnest(s.section_ids, s.section_scores) AS a(section_id, score)
        JOIN snapshot_section_scores ss ON ss.snapshot_id = s.id AND ss.section_id = a.section_id
        WHERE ss.score IS DISTINCT FROM a.score OR ss.score::text IS DISTINCT FROM a.score::text
    ) THEN
        RAISE EXCEPTION 'section score arrays differ from their rows after the conversion';
    END IF;
END $$;
ALTER TABLE snapshots ADD CONSTRAINT snapshots_section_arrays_aligned CHECK (
    cardinality(section_scores) = cardinality(section_ids)
    AND cardinality(section_answered) = cardinality(section_ids)
    AND cardinality(section_applicable) = cardinality(section_ids));
ALTER TABLE snapshots ENABLE TRIGGER snapshots_immutable;
ALTER TABLE snapshot_section_scores FORCE ROW LEVEL SECURITY;
ALTER TABLE snapshots FORCE ROW LEVEL SECURITY;

-- The anonymous distribution releases the exact figures (its rules are 0011's, unchanged).
DROP FUNCTION cycle_score_distribution(uuid);
CREATE FUNCTION cycle_score_distribution(cycle uuid)
RETURNS TABLE (section_id uuid, participants integer, scores numeric[])
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    caller_role text := coalesce(current_setting('pledge.role', true), '');
BEGIN
    PERFORM set_config('pledge.role', 'system', true);
    RETURN QUERY
    WITH latest AS (
        SELECT s.overall_score, s.answered = s.applicable AS complete, s.section_ids,
               s.section_scores, s.section_answered, s.section_applicable
        FROM assessments a JOIN snapshots s ON s.id = a.latest_snapshot_id
        WHERE a.cycle_id = cycle
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
    -- Only complete figures are compared (as in the analysts' comparison), and a figure with
    -- fewer than 5 of them is given as an empty list.
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
    PERFORM set_config('pledge.role', caller_role, true);
END $$;
REVOKE ALL ON FUNCTION cycle_score_distribution(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cycle_score_distribution(uuid) TO pledge_app;
