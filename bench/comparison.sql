-- The statements the comparison API (GET /api/v1/cycles/{cycle}/report) sends to build one
-- comparison (the uncached path, PLEDGE_REPORT_CACHE=off), in order, as src/storage/reports.rs,
-- src/storage/report_cache.rs and src/storage/mod.rs write them; pgbench runs them with
-- -M prepared as the service role, for the same cycle. A cached request sends only BEGIN, the
-- two cycle reads, the cache's key and COMMIT. Keep in step with services::reports.
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
SELECT cycle_id, fingerprint, submitted, generation FROM cycle_report_state
         WHERE cycle_id = :cycle::uuid OR cycle_id = :previous::uuid;
SELECT id, version, roll_up FROM frameworks WHERE id = ANY(ARRAY[:framework::uuid]);
SELECT id, framework_id, code, title_en, title_fr FROM framework_sections
         WHERE framework_id = ANY(ARRAY[:framework::uuid]) ORDER BY framework_id, position;
SELECT g.id, g.framework_id, g.section_id, g.code, g.title_en, g.title_fr, g.weight, g.numeric_decimals
         FROM goals g JOIN framework_sections s ON s.id = g.section_id
         WHERE g.framework_id = ANY(ARRAY[:framework::uuid]) ORDER BY g.framework_id, s.position, g.position;
SELECT participant_id, code, name_en, name_fr, assessment_id, assessment_state AS state,
                snapshot_id, revision, digest, submitted_at, overall_score, answered, applicable,
                section_ids, section_scores, section_answered, section_applicable
         FROM cycle_comparison_figures(:cycle::uuid);
SELECT count(*) FROM assessments WHERE cycle_id = :cycle::uuid;
SELECT participant_id, overall_score, section_ids, section_scores
         FROM cycle_previous_scores(:previous::uuid);
COMMIT;
