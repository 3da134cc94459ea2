-- The statements the progress report API (GET /api/v1/assessments/{assessment}/report) sends
-- for one report of a participant with one framework version in its history (the benchmark's
-- case), uncached (PLEDGE_REPORT_CACHE=off: the anonymous distribution is computed), in order,
-- as src/services/reports.rs::progress and the storage functions it calls write them; pgbench
-- runs them with -M prepared as the service role, for the same assessment. A cached report
-- reads the cache's key instead of `cycle_score_distribution`. Keep in step with
-- services::reports. Variables (pgbench -D): assessment, participant, cycle, framework, user, and snapshots (the
-- participant's history's snapshots, as the history read gives them: '{id,id,…}').
BEGIN;
SELECT set_config('pledge.role', 'analyst', true), set_config('pledge.user_id', :user, true),
       set_config('pledge.participant_id', '', true), set_config('pledge.delegation_role', '', true);
SELECT a.id, a.cycle_id, a.state, a.latest_snapshot_id IS NOT NULL AS has_snapshot,
        p.id AS participant_id, p.code, p.name_en, p.name_fr
     FROM assessments a JOIN participants p ON p.id = a.participant_id WHERE a.id = :assessment::uuid;
SELECT c.id, c.code, c.title_en, c.title_fr, c.state, c.framework_id,
        f.version AS framework_version, c.opens_on
     FROM cycles c JOIN frameworks f ON f.id = c.framework_id WHERE c.id = :cycle::uuid;
SELECT c.id, c.code, c.title_en, c.title_fr, c.state, c.framework_id,
        f.version AS framework_version, c.opens_on
     FROM cycles c JOIN frameworks f ON f.id = c.framework_id
     WHERE (c.opens_on, c.code) < ((SELECT opens_on FROM cycles WHERE id = :cycle::uuid), (SELECT code FROM cycles WHERE id = :cycle::uuid))
       AND f.family = (SELECT family FROM frameworks WHERE id = :framework::uuid)
     ORDER BY c.opens_on DESC, c.code DESC LIMIT 1;
SELECT c.id, c.code, c.title_en, c.title_fr, c.state, c.framework_id,
        f.version AS framework_version, c.opens_on,
        s.id AS snapshot_id, s.revision, s.digest, s.submitted_at,
        s.overall_score AS overall_score, s.answered, s.applicable,
        s.section_ids, s.section_scores, s.section_answered, s.section_applicable
     FROM assessments a
     JOIN snapshots s ON s.id = a.latest_snapshot_id
     JOIN cycles c ON c.id = a.cycle_id
     JOIN frameworks f ON f.id = c.framework_id
     WHERE a.participant_id = :participant::uuid
       AND (c.opens_on, c.code) <= ((SELECT opens_on FROM cycles WHERE id = :cycle::uuid), (SELECT code FROM cycles WHERE id = :cycle::uuid))
       AND f.family = (SELECT family FROM frameworks WHERE id = :framework::uuid)
     ORDER BY c.opens_on, c.code;
SELECT id, version, roll_up FROM frameworks WHERE id = ANY(ARRAY[:framework::uuid]);
SELECT id, framework_id, code, title_en, title_fr FROM framework_sections
         WHERE framework_id = ANY(ARRAY[:framework::uuid]) ORDER BY framework_id, position;
SELECT g.id, g.framework_id, g.section_id, g.code, g.title_en, g.title_fr, g.weight, g.numeric_decimals
         FROM goals g JOIN framework_sections s ON s.id = g.section_id
         WHERE g.framework_id = ANY(ARRAY[:framework::uuid]) ORDER BY g.framework_id, s.position, g.position;
SELECT sa.snapshot_id AS owner, sa.goal_id, sa.not_applicable, sa.value_level,
        sa.value_number AS value_number, sa.value_bool, sa.goal_score AS goal_score
     FROM snapshot_answers sa
     WHERE sa.snapshot_id = ANY(:snapshots::uuid[]);
SELECT section_id, participants, scores FROM cycle_score_distribution(:cycle::uuid);
SELECT g.id, g.participant_id, p.code AS participant_code, g.section_id,
        s.code AS section_code, s.title_en AS section_title_en, s.title_fr AS section_title_fr,
        g.title, g.measure, g.unit, g.baseline_value AS baseline_value,
        g.current_value AS current_value, g.target_value AS target_value,
        g.target_year, g.status, g.owner, g.notes, g.updated_at, u.display_name AS updated_by_name,
        g.row_version
     FROM national_goals g
     JOIN participants p ON p.id = g.participant_id
     JOIN framework_sections s ON s.id = g.section_id
     LEFT JOIN users u ON u.id = g.updated_by
     WHERE g.participant_id = :participant::uuid ORDER BY s.position, g.target_year, g.title;
SELECT r.id, r.assessment_id, p.code AS participant_code, c.code AS cycle_code,
        g.code AS goal_code, r.question, r.state, r.raised_by, u.display_name AS raised_by_name, r.raised_at,
        coalesce((SELECT json_agg(json_build_object('author', mu.display_name, 'body', m.body,
                                                    'at', m.created_at) ORDER BY m.created_at)
                  FROM clarification_messages m LEFT JOIN users mu ON mu.id = m.author_id
                  WHERE m.request_id = r.id), '[]'::json) AS messages
     FROM clarification_requests r
     JOIN assessments a ON a.id = r.assessment_id
     JOIN cycles c ON c.id = a.cycle_id
     JOIN participants p ON p.id = r.participant_id
     JOIN goals g ON g.id = r.goal_id
     LEFT JOIN users u ON u.id = r.raised_by
     WHERE r.assessment_id = :assessment::uuid ORDER BY r.raised_at;
COMMIT;
