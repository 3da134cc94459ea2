-- Each snapshot also carries its section figures as arrays in framework order, so that a
-- cycle's comparison reads one row per participant instead of one per participant and section
-- (at 2,000 participants × 10 sections the row-per-section read was most of the comparison's
-- time; see docs/performance.md). snapshot_section_scores stays the normalised record.
ALTER TABLE snapshots
    ADD COLUMN section_ids        uuid[]    NOT NULL DEFAULT '{}',
    ADD COLUMN section_scores     float8[]  NOT NULL DEFAULT '{}',
    ADD COLUMN section_answered   integer[] NOT NULL DEFAULT '{}',
    ADD COLUMN section_applicable integer[] NOT NULL DEFAULT '{}';

-- Existing snapshots get the arrays from their rows. The owner runs migrations under the
-- forced row-level security of 0007, which shows it no snapshot (and allows no UPDATE of one),
-- so the forcing and the immutability trigger are lifted for this derived copy only, inside
-- the migration's transaction, and checked before they are put back.
ALTER TABLE snapshots NO FORCE ROW LEVEL SECURITY;
ALTER TABLE snapshot_section_scores NO FORCE ROW LEVEL SECURITY;
ALTER TABLE snapshots DISABLE TRIGGER snapshots_immutable;
UPDATE snapshots s
SET section_ids = f.ids, section_scores = f.scores, section_answered = f.answered,
    section_applicable = f.applicable
FROM (
    SELECT ss.snapshot_id,
           array_agg(ss.section_id ORDER BY fs.position) AS ids,
           array_agg(ss.score::float8 ORDER BY fs.position) AS scores,
           array_agg(ss.answered ORDER BY fs.position) AS answered,
           array_agg(ss.applicable ORDER BY fs.position) AS applicable
    FROM snapshot_section_scores ss JOIN framework_sections fs ON fs.id = ss.section_id
    GROUP BY ss.snapshot_id
) f
WHERE f.snapshot_id = s.id;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM snapshot_section_scores ss JOIN snapshots s ON s.id = ss.snapshot_id
               WHERE cardinality(s.section_ids) = 0) THEN
        RAISE EXCEPTION 'snapshots without their section arrays after the backfill';
    END IF;
END $$;
ALTER TABLE snapshots ENABLE TRIGGER snapshots_immutable;
ALTER TABLE snapshot_section_scores FORCE ROW LEVEL SECURITY;
ALTER TABLE snapshots FORCE ROW LEVEL SECURITY;

ALTER TABLE snapshots ADD CONSTRAINT snapshots_section_arrays_aligned CHECK (
    cardinality(section_scores) = cardinality(section_ids)
    AND cardinality(section_answered) = cardinality(section_ids)
    AND cardinality(section_applicable) = cardinality(section_ids));

-- The anonymous distribution reads the arrays too.
CREATE OR REPLACE FUNCTION cycle_score_distribution(cycle uuid)
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
        SELECT s.overall_score, s.answered = s.applicable AS complete, s.section_ids,
               s.section_scores, s.section_answered, s.section_applicable
        FROM assessments a JOIN snapshots s ON s.id = a.latest_snapshot_id
        WHERE a.cycle_id = cycle
    ), submitted AS (
        SELECT count(*)::integer AS n FROM latest
    ), overall_figures AS (
        SELECT overall_score::float8 AS score FROM latest WHERE complete AND overall_score IS NOT NULL
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
