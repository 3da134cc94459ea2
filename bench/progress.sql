-- The statements the progress report API (GET /api/v1/assessments/{assessment}/report) sends
-- for one report of a participant with one framework version in its history (the benchmark's
-- case), uncached (PLEDGE_REPORT_CACHE=off: the anonymous distribution is computed), in order,
-- as src/services/reports.rs::progress and the storage functions it calls write them; pgbench
-- runs them with -M prepared as the service role, for the same assessment. The framework
-- version is frozen, so its structure is kept in the process and not read; answers are read for
-- the current and the previous cycle only (the others' stored figures make the trend). A cached
-- report reads the cache's key instead of `cycle_score_distribution`. Keep in step with
-- services::reports. Variables (pgbench -D): assessment, participant, cycle, framework, user,
-- and snapshots (the current and previous cycles' snapshots of the participant: '{id,id}').
BEGIN;
SELECT set_config('pledge.role', 'analyst', true), set_config('pledge.user_id', :user, true),
       set_config('pledge.participant_id', '', true), set_config('pledge.delegation_role', '', true);
SELECT a.id AS a_id, a.cycle_id AS a_cycle_id, a.state AS a_state,
        a.latest_snapshot_id IS NOT NULL AS a_has_snapshot,
        pt.id AS pt_id, pt.code AS pt_code, pt.name_en AS pt_name_en,
        pt.name_fr AS pt_name_fr, h.*
     FROM assessments a JOIN participants pt ON pt.id = a.participant_id
     LEFT JOIN LATERAL (SELECT c.id, c.code, c.title_en, c.title_fr, c.state, c.framework_id,
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
     LEFT JOIN cycle_report_state ps ON ps.cycle_id = p.id WHERE c.id = a.cycle_id) h ON true
     WHERE a.id = :assessment::uuid;
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
