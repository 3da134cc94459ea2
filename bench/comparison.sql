-- The statements the comparison API (GET /api/v1/cycles/{cycle}/report) sends to build one
-- comparison (the uncached path, PLEDGE_REPORT_CACHE=off), in order, as src/storage/reports.rs
-- and src/storage/mod.rs write them; pgbench runs them with -M prepared as the service role,
-- for the same cycle. The framework version is frozen, so its structure (sections, goals) is
-- kept in the process and not read (services::reports::shapes_of). A cached request sends only
-- BEGIN, the heads read (the cycle, the previous cycle and the cache's key) and COMMIT. Keep in
-- step with services::reports.
-- Variables (pgbench -D): cycle, previous, framework, user.
BEGIN;
SELECT set_config('pledge.role', 'analyst', true), set_config('pledge.user_id', :user, true),
       set_config('pledge.participant_id', '', true), set_config('pledge.delegation_role', '', true);
SELECT c.id, c.code, c.title_en, c.title_fr, c.state, c.framework_id,
        f.version AS framework_version, c.opens_on, f.frozen_at AS frozen,
        s.fingerprint, s.submitted, s.generation,
        p.id AS p_id, p.code AS p_code, p.title_en AS p_title_en,
        p.title_fr AS p_title_fr, p.state AS p_state, p.framework_id AS p_framework_id,
        p.framework_version AS p_framework_version, p.opens_on AS p_opens_on,
        p.frozen AS p_frozen, ps.fingerprint AS p_fingerprint, ps.submitted AS p_submitted,
        ps.generation AS p_generation
     FROM cycles c JOIN frameworks f ON f.id = c.framework_id
     LEFT JOIN cycle_report_state s ON s.cycle_id = c.id
     LEFT JOIN LATERAL (
         SELECT pc.id, pc.code, pc.title_en, pc.title_fr, pc.state, pc.framework_id,
                pf.version AS framework_version, pc.opens_on,
                pf.frozen_at AS frozen
         FROM cycles pc JOIN frameworks pf ON pf.id = pc.framework_id
         WHERE (pc.opens_on, pc.code) < (c.opens_on, c.code) AND pf.family = f.family
         ORDER BY pc.opens_on DESC, pc.code DESC LIMIT 1
     ) p ON true
     LEFT JOIN cycle_report_state ps ON ps.cycle_id = p.id WHERE c.id = :cycle::uuid;
SELECT participant_id, code, name_en, name_fr, assessment_id, assessment_state AS state,
                snapshot_id, revision, digest, submitted_at, overall_score, answered, applicable,
                section_ids, section_scores, section_answered, section_applicable
         FROM cycle_comparison_figures(:cycle::uuid);
SELECT count(*) FROM assessments WHERE cycle_id = :cycle::uuid;
SELECT participant_id, overall_score, section_ids, section_scores
         FROM cycle_previous_scores(:previous::uuid);
COMMIT;
