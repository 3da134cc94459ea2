//! What Home shows each user: their work, read set-based (a fixed number of statements whatever
//! the number of cycles, participants or assessments), under the reader's row-level security.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::assessment::AssessmentState;
use crate::domain::cycle::CycleState;

/// How many rows a Home list shows at most (the rest is one link away).
pub const LIST_LIMIT: i64 = 10;

/// Cycles a closed cycle stays on a delegation's Home after closing.
const RECENTLY_CLOSED_DAYS: i32 = 60;

/// Whether the service has participants and cycles yet (what to do next when it has none).
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct Setup {
    pub participants: i64,
    pub cycles: i64,
}

/// One statement: how many active participants and cycles there are.
pub async fn setup(conn: &mut PgConnection) -> Result<Setup, sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM participants WHERE active) AS participants,
                (SELECT count(*) FROM cycles) AS cycles",
    )
    .fetch_one(conn)
    .await
}

/// A delegation's assessment in an open or recently closed cycle.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DelegationAssessment {
    pub id: Uuid,
    pub cycle_code: String,
    pub cycle_title_en: String,
    pub cycle_title_fr: String,
    pub cycle_state: CycleState,
    pub deadline: Date,
    pub days_left: i32,
    pub state: AssessmentState,
    /// When the assessment is in the `returned` state: the latest return.
    pub returned_at: Option<OffsetDateTime>,
    pub returned_by: Option<String>,
    pub returned_reason: Option<String>,
    /// Clarification requests on it that wait for the delegation's reply.
    pub waiting_clarifications: i64,
}

/// One statement: the participant's assessments in open cycles and in cycles closed in the last
/// [`RECENTLY_CLOSED_DAYS`] days, nearest deadline first, each with its latest return when it
/// is returned and its count of clarification requests waiting.
pub async fn delegation_assessments(
    conn: &mut PgConnection,
    participant_id: Uuid,
) -> Result<Vec<DelegationAssessment>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.id, c.code AS cycle_code, c.title_en AS cycle_title_en,
                c.title_fr AS cycle_title_fr, c.state AS cycle_state, c.deadline,
                (c.deadline - current_date) AS days_left, a.state,
                r.decided_at AS returned_at, u.display_name AS returned_by,
                r.reason AS returned_reason,
                coalesce(q.waiting, 0) AS waiting_clarifications
         FROM assessments a
         JOIN cycles c ON c.id = a.cycle_id
         LEFT JOIN LATERAL (
             SELECT decided_at, decided_by, reason FROM assessment_reviews
             WHERE assessment_id = a.id AND decision = 'returned'
             ORDER BY revision DESC LIMIT 1
         ) r ON a.state = 'returned'
         LEFT JOIN users u ON u.id = r.decided_by
         LEFT JOIN (
             SELECT assessment_id, count(*) AS waiting FROM clarification_requests
             WHERE participant_id = $1 AND state = 'open' GROUP BY assessment_id
         ) q ON q.assessment_id = a.id
         WHERE a.participant_id = $1
           AND (c.state = 'open'
                OR (c.state IN ('closed', 'published')
                    AND coalesce(c.closed_at, c.published_at) > now() - make_interval(days => $2)))
         ORDER BY (c.state = 'open') DESC, c.deadline, c.code
         LIMIT $3",
    )
    .bind(participant_id)
    .bind(RECENTLY_CLOSED_DAYS)
    .bind(LIST_LIMIT)
    .fetch_all(conn)
    .await
}

/// A clarification request waiting for the delegation's reply.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WaitingClarification {
    pub id: Uuid,
    pub assessment_id: Uuid,
    pub cycle_code: String,
    pub goal_code: String,
    pub question: String,
    pub raised_at: OffsetDateTime,
    /// How many are waiting in all (the same on every row).
    pub total: i64,
}

/// One statement: the oldest open requests of the participant, with how many there are.
pub async fn waiting_clarifications(
    conn: &mut PgConnection,
    participant_id: Uuid,
) -> Result<Vec<WaitingClarification>, sqlx::Error> {
    sqlx::query_as(
        "SELECT q.id, q.assessment_id, c.code AS cycle_code, g.code AS goal_code, q.question,
                q.raised_at, count(*) OVER () AS total
         FROM clarification_requests q
         JOIN assessments a ON a.id = q.assessment_id
         JOIN cycles c ON c.id = a.cycle_id
         JOIN goals g ON g.id = q.goal_id
         WHERE q.participant_id = $1 AND q.state = 'open'
         ORDER BY q.raised_at, q.id
         LIMIT $2",
    )
    .bind(participant_id)
    .bind(LIST_LIMIT)
    .fetch_all(conn)
    .await
}

/// A national goal whose target year is this year and that is neither achieved nor dropped.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GoalDue {
    pub id: Uuid,
    pub title: String,
    pub status: String,
}

/// One statement: the participant's national goals due this year, still to reach.
pub async fn goals_due(
    conn: &mut PgConnection,
    participant_id: Uuid,
) -> Result<Vec<GoalDue>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, title, status FROM national_goals
         WHERE participant_id = $1 AND target_year = extract(year FROM current_date)::int
           AND status NOT IN ('achieved', 'dropped')
         ORDER BY title, id
         LIMIT $2",
    )
    .bind(participant_id)
    .bind(LIST_LIMIT)
    .fetch_all(conn)
    .await
}

/// A cycle in brief, with its assessments counted by state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CycleSummary {
    pub id: Uuid,
    pub code: String,
    pub title_en: String,
    pub title_fr: String,
    pub state: CycleState,
    pub deadline: Date,
    pub days_left: i32,
    pub participants: i64,
    pub not_started: i64,
    pub draft: i64,
    pub submitted: i64,
    pub returned: i64,
    pub resubmitted: i64,
    pub accepted: i64,
    /// Past the deadline and not yet handed in (not started, draft or returned).
    pub overdue: i64,
}

impl CycleSummary {
    /// Handed in at least once: submitted, resubmitted or accepted.
    pub fn handed_in(&self) -> i64 {
        self.submitted + self.resubmitted + self.accepted
    }
}

/// One statement: cycles that are open (or, with `include_closed`, any but planned), newest
/// first, with their assessments counted by state.
pub async fn cycle_summaries(
    conn: &mut PgConnection,
    include_closed: bool,
) -> Result<Vec<CycleSummary>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id, c.code, c.title_en, c.title_fr, c.state, c.deadline,
                (c.deadline - current_date) AS days_left,
                count(a.id) AS participants,
                count(a.id) FILTER (WHERE a.state = 'not_started') AS not_started,
                count(a.id) FILTER (WHERE a.state = 'draft') AS draft,
                count(a.id) FILTER (WHERE a.state = 'submitted') AS submitted,
                count(a.id) FILTER (WHERE a.state = 'returned') AS returned,
                count(a.id) FILTER (WHERE a.state = 'resubmitted') AS resubmitted,
                count(a.id) FILTER (WHERE a.state = 'accepted') AS accepted,
                count(a.id) FILTER (WHERE c.deadline < current_date
                    AND a.state IN ('not_started', 'draft', 'returned')) AS overdue
         FROM cycles c
         LEFT JOIN assessments a ON a.cycle_id = c.id
         WHERE c.state = 'open' OR ($1 AND c.state <> 'planned')
         GROUP BY c.id
         ORDER BY c.opens_on DESC, c.code
         LIMIT $2",
    )
    .bind(include_closed)
    .bind(LIST_LIMIT)
    .fetch_all(conn)
    .await
}

/// A submission or an acceptance, for "what changed recently".
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecentEvent {
    pub at: OffsetDateTime,
    /// `submitted`, `resubmitted` (a revision after the first) or `accepted`.
    pub kind: String,
    pub assessment_id: Uuid,
    pub cycle_id: Uuid,
    pub cycle_code: String,
    pub participant_code: String,
    pub participant_name_en: String,
    pub participant_name_fr: String,
}

/// One statement: the latest submissions and acceptances across cycles, newest first.
pub async fn recent_events(conn: &mut PgConnection) -> Result<Vec<RecentEvent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.at, e.kind, e.assessment_id, c.id AS cycle_id, c.code AS cycle_code,
                p.code AS participant_code, p.name_en AS participant_name_en,
                p.name_fr AS participant_name_fr
         FROM (
             (SELECT s.submitted_at AS at,
                     CASE WHEN s.revision > 1 THEN 'resubmitted' ELSE 'submitted' END AS kind,
                     s.assessment_id
              FROM snapshots s ORDER BY s.submitted_at DESC LIMIT $1)
             UNION ALL
             (SELECT r.decided_at, 'accepted', r.assessment_id
              FROM assessment_reviews r WHERE r.decision = 'accepted'
              ORDER BY r.decided_at DESC LIMIT $1)
         ) e
         JOIN assessments a ON a.id = e.assessment_id
         JOIN cycles c ON c.id = a.cycle_id
         JOIN participants p ON p.id = a.participant_id
         ORDER BY e.at DESC
         LIMIT $1",
    )
    .bind(LIST_LIMIT)
    .fetch_all(conn)
    .await
}

/// An assessment handed in and waiting for the secretariat's review.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AwaitingReview {
    pub id: Uuid,
    pub cycle_code: String,
    pub participant_code: String,
    pub participant_name_en: String,
    pub participant_name_fr: String,
    pub state: AssessmentState,
    pub submitted_at: Option<OffsetDateTime>,
    /// How many wait in all (the same on every row).
    pub total: i64,
}

/// One statement: submitted and resubmitted assessments, the longest waiting first.
pub async fn awaiting_review(conn: &mut PgConnection) -> Result<Vec<AwaitingReview>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.id, c.code AS cycle_code, p.code AS participant_code,
                p.name_en AS participant_name_en, p.name_fr AS participant_name_fr, a.state,
                s.submitted_at, count(*) OVER () AS total
         FROM assessments a
         JOIN cycles c ON c.id = a.cycle_id
         JOIN participants p ON p.id = a.participant_id
         LEFT JOIN snapshots s ON s.id = a.latest_snapshot_id
         WHERE a.state IN ('submitted', 'resubmitted')
         ORDER BY s.submitted_at NULLS LAST, p.code
         LIMIT $1",
    )
    .bind(LIST_LIMIT)
    .fetch_all(conn)
    .await
}
