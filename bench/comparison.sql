-- The statements the comparison API (GET /api/v1/cycles/{cycle}/report) sends for one
-- request, in order, as src/storage/reports.rs and src/storage/mod.rs write them; pgbench runs
-- them with -M prepared as the service role, for the same cycle. Keep in step with
-- services::reports::comparison when its queries change.
-- Variables (pgbench -D): cycle, previous, framework, user.
BEGIN;
SELECT set_config('pledge.role', 'analyst', true), set_config('pledge.user_id', :user, true),
       set_config('pledge.participant_id', '', true), set_config('pledge.delegation_role', '', true);
SELECT c.id, c.code, c.title_en, c.title_fr, c.state, c.framework_id,
        f.version AS framework_version, c.opens_on
     FROM cycles c JOIN frameworks f ON f.id = c.framework_id WHERE c.id = :cycle::uuid;
SELECT c.id, c.code, c.title_en, c.title_fr, c.state, c.framework_id,
        f.version AS framework_version, c.opens_on
     FROM cycles c JOIN frameworks f ON f.id = c.framework_id
     WHERE (c.opens_on, c.code) < ((SELECT opens_on FROM cycles WHERE id = :cycle::uuid), (SELECT code FROM cycles WHERE id = :cycle::uuid))
       AND f.family = (SELECT family FROM frameworks WHERE id = :framework::uuid)
     ORDER BY c.opens_on DESC, c.code DESC LIMIT 1;
SELECT id, version, roll_up FROM frameworks WHERE id = ANY(ARRAY[:framework::uuid]);
SELECT id, framework_id, code, title_en, title_fr FROM framework_sections
         WHERE framework_id = ANY(ARRAY[:framework::uuid]) ORDER BY framework_id, position;
SELECT g.id, g.framework_id, g.section_id, g.code, g.title_en, g.title_fr, g.weight::float8 AS weight
         FROM goals g JOIN framework_sections s ON s.id = g.section_id
         WHERE g.framework_id = ANY(ARRAY[:framework::uuid]) ORDER BY g.framework_id, s.position, g.position;
SELECT a.participant_id, p.code, p.name_en, p.name_fr, a.id AS assessment_id, a.state,
                s.id AS snapshot_id, s.revision, s.digest, s.submitted_at,
                s.overall_score::float8 AS overall_score, s.answered, s.applicable, s.section_ids, s.section_scores, s.section_answered, s.section_applicable
         FROM assessments a
         JOIN snapshots s ON s.id = a.latest_snapshot_id
         JOIN participants p ON p.id = a.participant_id
         WHERE a.cycle_id = :cycle::uuid ORDER BY p.code;
SELECT count(*) FROM assessments WHERE cycle_id = :cycle::uuid;
SELECT a.participant_id, p.code, p.name_en, p.name_fr, a.id AS assessment_id, a.state,
                s.id AS snapshot_id, s.revision, s.digest, s.submitted_at,
                s.overall_score::float8 AS overall_score, s.answered, s.applicable, s.section_ids, s.section_scores, s.section_answered, s.section_applicable
         FROM assessments a
         JOIN snapshots s ON s.id = a.latest_snapshot_id
         JOIN participants p ON p.id = a.participant_id
         WHERE a.cycle_id = :previous::uuid ORDER BY p.code;
COMMIT;
