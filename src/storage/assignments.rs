//! Who holds which goal of an assessment (migration 0016), the "My work" list and the head's
//! progress per assignee, each one statement whatever the number of assignments.
//!
//! # Carry-forward of assignments
//!
//! Opening a cycle (`services::cycles::transition`, after the answers are carried forward, under
//! the same `system` scope) calls [`carry_forward`]: one statement. For each assessment of the
//! cycle it takes the same participant's assessment in the cycle of the same framework family with
//! the latest `opens_on` strictly before this one (any state: who holds a goal does not depend on
//! acceptance), and copies each assignment to the goal of this cycle's version that is the same
//! goal or the target of an `equivalent`, `split` or `merged` row of a mapping from it, for members
//! still in that delegation and not disabled. Copies are `needs_review = true` until a head assigns
//! the goal again (or confirms them all); `cycle.open` records their number
//! (`assignments_carried_forward`).

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// Assigns goals to a member (one statement for any number of goals); a goal already held by
/// them is confirmed (no longer marked for review). Returns how many were new.
pub async fn assign(
    conn: &mut PgConnection,
    assessment_id: Uuid,
    participant_id: Uuid,
    user_id: Uuid,
    goal_ids: &[Uuid],
    assigned_by: Option<Uuid>,
) -> Result<u64, sqlx::Error> {
    let new: i64 = sqlx::query_scalar(
        "WITH written AS (
             INSERT INTO goal_assignments (assessment_id, participant_id, goal_id, user_id, assigned_by)
             SELECT $1, $2, g, $3, $5 FROM UNNEST($4::uuid[]) AS g
             ON CONFLICT (assessment_id, goal_id, user_id)
             DO UPDATE SET needs_review = false
             RETURNING (xmax = 0) AS inserted)
         SELECT count(*) FILTER (WHERE inserted) FROM written",
    )
    .bind(assessment_id)
    .bind(participant_id)
    .bind(user_id)
    .bind(goal_ids)
    .bind(assigned_by)
    .fetch_one(conn)
    .await?;
    Ok(new.max(0) as u64)
}

/// Removes one member from one goal; false when they did not hold it.
pub async fn unassign(
    conn: &mut PgConnection,
    assessment_id: Uuid,
    user_id: Uuid,
    goal_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "DELETE FROM goal_assignments WHERE assessment_id = $1 AND user_id = $2 AND goal_id = $3",
    )
    .bind(assessment_id)
    .bind(user_id)
    .bind(goal_id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Confirms every carried-forward assignment of an assessment; returns how many.
pub async fn confirm_all(conn: &mut PgConnection, assessment_id: Uuid) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE goal_assignments SET needs_review = false
         WHERE assessment_id = $1 AND needs_review",
    )
    .bind(assessment_id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// One goal held by one member.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Assignment {
    pub goal_id: Uuid,
    pub goal_code: String,
    pub user_id: Uuid,
    pub display_name: String,
    /// Carried forward from the previous cycle and not yet confirmed by a head.
    pub needs_review: bool,
}

/// Every assignment of an assessment, in the framework's order, then by name.
pub async fn for_assessment(
    conn: &mut PgConnection,
    assessment_id: Uuid,
) -> Result<Vec<Assignment>, sqlx::Error> {
    sqlx::query_as(
        "SELECT ga.goal_id, g.code AS goal_code, ga.user_id, u.display_name, ga.needs_review
         FROM goal_assignments ga
         JOIN goals g ON g.id = ga.goal_id
         JOIN framework_sections s ON s.id = g.section_id
         JOIN users u ON u.id = ga.user_id
         WHERE ga.assessment_id = $1
         ORDER BY s.position, g.position, lower(u.display_name)",
    )
    .bind(assessment_id)
    .fetch_all(conn)
    .await
}

/// How far one assignee is with the goals they hold in one assessment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssigneeProgress {
    pub user_id: Uuid,
    pub display_name: String,
    pub assigned: i64,
    /// Answered (a value, or "not applicable"), confirmed.
    pub answered: i64,
    /// Carried forward and not yet confirmed.
    pub needs_review: i64,
    /// Open clarification requests on their goals.
    pub open_clarifications: i64,
}

/// Progress per assignee of one assessment (one statement).
pub async fn progress(
    conn: &mut PgConnection,
    assessment_id: Uuid,
) -> Result<Vec<AssigneeProgress>, sqlx::Error> {
    sqlx::query_as(
        "SELECT ga.user_id, u.display_name, count(*) AS assigned,
                count(*) FILTER (WHERE an.id IS NOT NULL AND NOT an.unconfirmed
                    AND (an.not_applicable OR num_nonnulls(an.value_level, an.value_number, an.value_bool) > 0)) AS answered,
                count(*) FILTER (WHERE ga.needs_review) AS needs_review,
                coalesce(sum((SELECT count(*) FROM clarification_requests r
                              WHERE r.assessment_id = ga.assessment_id AND r.goal_id = ga.goal_id
                                AND r.state <> 'resolved')), 0)::bigint AS open_clarifications
         FROM goal_assignments ga
         JOIN users u ON u.id = ga.user_id
         LEFT JOIN answers an ON an.assessment_id = ga.assessment_id AND an.goal_id = ga.goal_id
         WHERE ga.assessment_id = $1
         GROUP BY ga.user_id, u.display_name
         ORDER BY lower(u.display_name)",
    )
    .bind(assessment_id)
    .fetch_all(conn)
    .await
}

/// One goal on someone's "My work" list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkItem {
    pub assessment_id: Uuid,
    pub participant_code: String,
    pub cycle_code: String,
    pub cycle_title_en: String,
    pub cycle_title_fr: String,
    /// planned, open, closed or published
    pub cycle_state: String,
    pub deadline: Date,
    /// The assessment's state (not_started, draft, submitted, returned, resubmitted, accepted).
    pub assessment_state: String,
    pub section_code: String,
    pub goal_code: String,
    pub goal_title_en: String,
    pub goal_title_fr: String,
    /// not_started (no answer), in_progress (stored without a value), unconfirmed (carried
    /// forward), answered.
    pub goal_state: String,
    /// Carried forward from the previous cycle and not yet confirmed by a head.
    pub needs_review: bool,
    pub open_clarifications: i64,
    pub assigned_at: OffsetDateTime,
}

/// Every goal assigned to a user, across cycles, latest deadline first (one statement).
pub async fn work_of(conn: &mut PgConnection, user_id: Uuid) -> Result<Vec<WorkItem>, sqlx::Error> {
    sqlx::query_as(
        "SELECT ga.assessment_id, p.code AS participant_code, c.code AS cycle_code,
                c.title_en AS cycle_title_en, c.title_fr AS cycle_title_fr, c.state AS cycle_state,
                c.deadline, a.state AS assessment_state, s.code AS section_code,
                g.code AS goal_code, g.title_en AS goal_title_en, g.title_fr AS goal_title_fr,
                CASE WHEN an.id IS NULL THEN 'not_started'
                     WHEN an.unconfirmed THEN 'unconfirmed'
                     WHEN an.not_applicable
                          OR num_nonnulls(an.value_level, an.value_number, an.value_bool) > 0 THEN 'answered'
                     ELSE 'in_progress' END AS goal_state,
                ga.needs_review,
                (SELECT count(*) FROM clarification_requests r
                 WHERE r.assessment_id = ga.assessment_id AND r.goal_id = ga.goal_id
                   AND r.state <> 'resolved') AS open_clarifications,
                ga.assigned_at
         FROM goal_assignments ga
         JOIN assessments a ON a.id = ga.assessment_id
         JOIN participants p ON p.id = a.participant_id
         JOIN cycles c ON c.id = a.cycle_id
         JOIN goals g ON g.id = ga.goal_id
         JOIN framework_sections s ON s.id = g.section_id
         LEFT JOIN answers an ON an.assessment_id = ga.assessment_id AND an.goal_id = ga.goal_id
         WHERE ga.user_id = $1
         ORDER BY c.deadline DESC, c.code, s.position, g.position",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// Copies the previous cycle's assignments into the assessments of `cycle` (see the module
/// documentation); returns how many were copied.
pub async fn carry_forward(conn: &mut PgConnection, cycle: Uuid) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO goal_assignments (assessment_id, participant_id, goal_id, user_id, needs_review)
         SELECT DISTINCT fresh.id, fresh.participant_id, target.id, old.user_id, true
         FROM assessments fresh
         JOIN cycles c ON c.id = fresh.cycle_id
         JOIN frameworks cf ON cf.id = c.framework_id
         JOIN LATERAL (
             SELECT a.id FROM assessments a
             JOIN cycles ac ON ac.id = a.cycle_id
             JOIN frameworks af ON af.id = ac.framework_id
             WHERE a.participant_id = fresh.participant_id
               AND ac.opens_on < c.opens_on AND af.family = cf.family
             ORDER BY ac.opens_on DESC LIMIT 1
         ) last ON true
         JOIN goal_assignments old ON old.assessment_id = last.id
         JOIN delegation_memberships m ON m.user_id = old.user_id
             AND m.participant_id = fresh.participant_id
         JOIN users u ON u.id = old.user_id AND u.disabled_at IS NULL
         JOIN goals target ON target.framework_id = c.framework_id
             AND (target.id = old.goal_id
                  OR EXISTS (SELECT 1 FROM goal_mappings gm
                             WHERE gm.from_goal_id = old.goal_id AND gm.to_goal_id = target.id
                               AND gm.relation IN ('equivalent', 'split', 'merged')))
         WHERE fresh.cycle_id = $1
         ON CONFLICT (assessment_id, goal_id, user_id) DO NOTHING",
    )
    .bind(cycle)
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// A goal of a framework version with its section, as the assignment page offers it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GoalChoice {
    pub id: Uuid,
    pub code: String,
    pub title_en: String,
    pub title_fr: String,
    pub section_code: String,
    pub section_title_en: String,
    pub section_title_fr: String,
}

/// Every goal of a framework version, in order.
pub async fn goals_of(
    conn: &mut PgConnection,
    framework_id: Uuid,
) -> Result<Vec<GoalChoice>, sqlx::Error> {
    sqlx::query_as(
        "SELECT g.id, g.code, g.title_en, g.title_fr, s.code AS section_code,
                s.title_en AS section_title_en, s.title_fr AS section_title_fr
         FROM goals g JOIN framework_sections s ON s.id = g.section_id
         WHERE g.framework_id = $1
         ORDER BY s.position, g.position",
    )
    .bind(framework_id)
    .fetch_all(conn)
    .await
}

/// One of a delegation's assessments, as the team page lists them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TeamAssessment {
    pub id: Uuid,
    pub cycle_code: String,
    pub cycle_title_en: String,
    pub cycle_title_fr: String,
    pub cycle_state: String,
    pub deadline: Date,
    pub state: String,
    pub assigned_goals: i64,
}

/// A delegation's assessments in cycles not yet closed, latest deadline first.
pub async fn current_assessments(
    conn: &mut PgConnection,
    participant_id: Uuid,
) -> Result<Vec<TeamAssessment>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.id, c.code AS cycle_code, c.title_en AS cycle_title_en,
                c.title_fr AS cycle_title_fr, c.state AS cycle_state, c.deadline, a.state,
                (SELECT count(DISTINCT ga.goal_id) FROM goal_assignments ga
                 WHERE ga.assessment_id = a.id) AS assigned_goals
         FROM assessments a JOIN cycles c ON c.id = a.cycle_id
         WHERE a.participant_id = $1 AND c.state IN ('planned', 'open')
         ORDER BY c.deadline DESC, c.code",
    )
    .bind(participant_id)
    .fetch_all(conn)
    .await
}
