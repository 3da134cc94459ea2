//! Cycles and the cycle status board.
//!
//! # Carry-forward at cycle opening
//!
//! Opening a cycle (`services::cycles::transition`) creates the assessments, then, in the same
//! transaction, calls `storage::cycles::carry_forward` (one statement) under the `system` scope: the
//! answers belong to the delegations, and an admin may not write them. For each `not_started`
//! assessment of the cycle it takes the participant's `accepted` assessment in the cycle with the
//! latest `opens_on` among those of the same framework family that open strictly earlier than this
//! one (a cycle opening the same day or later, or a cycle of another framework family in between,
//! is never a source), and copies each of its answers (value, "not applicable" with
//! justification, target, implementation status, narrative) to the goal of this cycle's framework version that is
//! the same goal (same version) or the target of an `equivalent` row in a mapping from that goal.
//! Goals mapped `split`, `merged`, `new` or `retired`, or not mapped, get nothing. Copies are
//! `unconfirmed = true` and have no `updated_by`. `cycle.open` records their number
//! (`answers_carried_forward`).
//!
//! An unconfirmed answer is marked on the form, whose button then reads "Confirm and save". Saving it,
//! changed or not, on the page or through the API confirms it and checks it against the goal's scale
//! (the copy itself is not checked). An offline import confirms it when its row is written: changed
//! offline, or marked `yes` under Confirm (The offline round trip ([`crate::offline`])).
//! Submission is refused while any answer is unconfirmed.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::assessment::AssessmentState;
use crate::domain::cycle::CycleState;

/// A cycle to create (checked by the caller).
#[derive(Debug, Clone)]
pub struct CycleRow {
    pub framework_id: Uuid,
    pub code: String,
    pub title_en: String,
    pub title_fr: String,
    pub state: &'static str,
    pub opens_on: Date,
    pub deadline: Date,
    pub opened_at: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
    pub published_at: Option<OffsetDateTime>,
}

/// Creates a cycle; a trigger freezes its framework (a framework used by a cycle cannot change).
pub async fn insert(conn: &mut PgConnection, cycle: &CycleRow) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO cycles (framework_id, code, title_en, title_fr, state, opens_on, deadline,
             opened_at, closed_at, published_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(cycle.framework_id)
    .bind(&cycle.code)
    .bind(&cycle.title_en)
    .bind(&cycle.title_fr)
    .bind(cycle.state)
    .bind(cycle.opens_on)
    .bind(cycle.deadline)
    .bind(cycle.opened_at)
    .bind(cycle.closed_at)
    .bind(cycle.published_at)
    .fetch_one(&mut *conn)
    .await
}

/// A cycle as listed and shown.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CycleView {
    pub id: Uuid,
    pub code: String,
    pub title_en: String,
    pub title_fr: String,
    pub state: CycleState,
    pub framework_id: Uuid,
    pub framework_version: String,
    pub framework_title_en: String,
    pub opens_on: Date,
    pub deadline: Date,
    /// Days from today to the deadline (negative once passed).
    pub days_left: i32,
    pub assessments: i64,
    pub submitted: i64,
    pub row_version: i64,
}

const VIEW: &str = "SELECT c.id, c.code, c.title_en, c.title_fr, c.state, c.framework_id,
        f.version AS framework_version, f.title_en AS framework_title_en, c.opens_on, c.deadline,
        (c.deadline - current_date) AS days_left,
        (SELECT count(*) FROM assessments a WHERE a.cycle_id = c.id) AS assessments,
        (SELECT count(*) FROM assessments a WHERE a.cycle_id = c.id
           AND a.state IN ('submitted', 'resubmitted', 'accepted')) AS submitted,
        c.row_version
     FROM cycles c JOIN frameworks f ON f.id = c.framework_id";

/// Every cycle, newest first.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<CycleView>, sqlx::Error> {
    sqlx::query_as(&format!("{VIEW} ORDER BY c.opens_on DESC, c.code DESC"))
        .fetch_all(conn)
        .await
}

/// Which cycles a listing shows.
#[derive(Debug, Default, Clone)]
pub struct CycleFilter {
    pub state: Option<CycleState>,
    pub framework: Option<Uuid>,
}

/// A page of the cycles the filter keeps, newest first, and how many it keeps in all.
pub async fn list_page(
    conn: &mut PgConnection,
    filter: &CycleFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<CycleView>, i64), sqlx::Error> {
    const WHERE: &str =
        "WHERE ($1::text IS NULL OR c.state = $1) AND ($2::uuid IS NULL OR c.framework_id = $2)";
    let state = filter.state.map(|state| state.as_str());
    let items = sqlx::query_as(&format!(
        "{VIEW} {WHERE} ORDER BY c.opens_on DESC, c.code DESC, c.id OFFSET $3 LIMIT $4"
    ))
    .bind(state)
    .bind(filter.framework)
    .bind(offset)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar(&format!("SELECT count(*) FROM cycles c {WHERE}"))
        .bind(state)
        .bind(filter.framework)
        .fetch_one(conn)
        .await?;
    Ok((items, total))
}

/// One cycle.
pub async fn find(conn: &mut PgConnection, id: Uuid) -> Result<Option<CycleView>, sqlx::Error> {
    sqlx::query_as(&format!("{VIEW} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The cycle's state and deadline, locked for a change.
pub async fn lock(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(CycleState, Date)>, sqlx::Error> {
    sqlx::query_as("SELECT state, deadline FROM cycles WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Moves a locked cycle to a new state, stamping when it happened. A step back clears the stamp
/// of the state it leaves (reopening clears `closed_at`, withdrawing clears `published_at`) and
/// keeps the first opening's `opened_at`.
pub async fn set_state(
    conn: &mut PgConnection,
    id: Uuid,
    state: CycleState,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE cycles SET state = $2, updated_at = now(), row_version = row_version + 1,
             opened_at = CASE WHEN $2 = 'open' THEN coalesce(opened_at, now()) ELSE opened_at END,
             closed_at = CASE WHEN $2 = 'closed' AND state = 'open' THEN now()
                              WHEN $2 = 'open' THEN NULL ELSE closed_at END,
             published_at = CASE WHEN $2 = 'published' THEN now()
                                 WHEN $2 IN ('open', 'closed') THEN NULL ELSE published_at END
         WHERE id = $1",
    )
    .bind(id)
    .bind(state)
    .execute(conn)
    .await?;
    Ok(())
}

/// How many of a cycle's assessments are in each state, and how many participants are active
/// (those who get an assessment when a planned cycle opens).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Census {
    pub assessments: i64,
    pub not_started: i64,
    pub draft: i64,
    pub returned: i64,
    /// Submitted or resubmitted, waiting for a review.
    pub submitted: i64,
    pub accepted: i64,
    pub active_participants: i64,
}

impl Census {
    /// Those who can still change their answers and have not submitted.
    pub fn unsubmitted(&self) -> i64 {
        self.not_started + self.draft + self.returned
    }
}

/// Counts a cycle's assessments by state (one statement).
pub async fn census(conn: &mut PgConnection, id: Uuid) -> Result<Census, sqlx::Error> {
    let (assessments, not_started, draft, returned, submitted, accepted, active_participants) =
        sqlx::query_as::<_, (i64, i64, i64, i64, i64, i64, i64)>(
            "SELECT count(*),
                    count(*) FILTER (WHERE a.state = 'not_started'),
                    count(*) FILTER (WHERE a.state = 'draft'),
                    count(*) FILTER (WHERE a.state = 'returned'),
                    count(*) FILTER (WHERE a.state IN ('submitted', 'resubmitted')),
                    count(*) FILTER (WHERE a.state = 'accepted'),
                    (SELECT count(*) FROM participants p WHERE p.active)
             FROM assessments a WHERE a.cycle_id = $1",
        )
        .bind(id)
        .fetch_one(conn)
        .await?;
    Ok(Census {
        assessments,
        not_started,
        draft,
        returned,
        submitted,
        accepted,
        active_participants,
    })
}

/// Creates an assessment for every active participant that has none in this cycle; returns how
/// many were created (one statement).
pub async fn create_assessments(conn: &mut PgConnection, id: Uuid) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO assessments (cycle_id, participant_id)
         SELECT $1, p.id FROM participants p WHERE p.active
         ON CONFLICT (cycle_id, participant_id) DO NOTHING",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// Moves a locked cycle's deadline.
pub async fn set_deadline(
    conn: &mut PgConnection,
    id: Uuid,
    deadline: Date,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cycles SET deadline = $2, updated_at = now(), row_version = row_version + 1 WHERE id = $1")
        .bind(id)
        .bind(deadline)
        .execute(conn)
        .await?;
    Ok(())
}

/// One row of the cycle status board.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BoardRow {
    pub assessment_id: Uuid,
    pub participant_id: Uuid,
    pub participant_code: String,
    pub participant_name_en: String,
    pub participant_name_fr: String,
    pub state: AssessmentState,
    pub revision: i32,
    pub last_activity_at: Option<OffsetDateTime>,
    pub open_clarifications: i64,
}

/// How the board is filtered and sorted.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct BoardQuery {
    /// Only this state (not_started, draft, submitted, returned, resubmitted, accepted).
    pub state: Option<String>,
    /// Participants whose code or name contains this text.
    pub search: Option<String>,
    /// participant (default), state or activity.
    pub sort: Option<String>,
}

/// The board of a cycle: every assessment the caller may see (row-level security shows a
/// delegation its own row only), in one statement.
pub async fn board(
    conn: &mut PgConnection,
    cycle: Uuid,
    query: &BoardQuery,
) -> Result<Vec<BoardRow>, sqlx::Error> {
    let order = match query.sort.as_deref() {
        Some("state") => "a.state, p.code",
        Some("activity") => "a.last_activity_at DESC NULLS LAST, p.code",
        _ => "p.code",
    };
    sqlx::query_as(&format!(
        "SELECT a.id AS assessment_id, p.id AS participant_id, p.code AS participant_code,
                p.name_en AS participant_name_en, p.name_fr AS participant_name_fr, a.state, a.revision,
                a.last_activity_at,
                (SELECT count(*) FROM clarification_requests r
                 WHERE r.assessment_id = a.id AND r.state <> 'resolved') AS open_clarifications
         FROM assessments a JOIN participants p ON p.id = a.participant_id
         WHERE a.cycle_id = $1
           AND ($2::text IS NULL OR a.state = $2)
           AND ($3::text IS NULL OR p.code ILIKE '%' || $3 || '%' OR p.name_en ILIKE '%' || $3 || '%'
                OR p.name_fr ILIKE '%' || $3 || '%')
         ORDER BY {order}"
    ))
    .bind(cycle)
    .bind(query.state.as_deref().filter(|s| !s.is_empty()))
    .bind(query.search.as_deref().map(str::trim).filter(|s| !s.is_empty()))
    .fetch_all(conn)
    .await
}

/// Starts each new assessment of the cycle from its participant's last accepted answers (in an
/// earlier cycle of the same framework family: a cycle of another framework in between is not a
/// source), marked unconfirmed until a person confirms or edits them. Goals carry over when they
/// are the same goal or mapped as equivalent into this cycle's version. One statement.
pub async fn carry_forward(conn: &mut PgConnection, cycle: Uuid) -> Result<u64, sqlx::Error> {
    // One statement: choose each fresh assessment's source, copy its answers, and record on the
    // assessment where they came from and how many were carried (the cycle page shows it).
    let carried: i64 = sqlx::query_scalar(
        "WITH sources AS (
             SELECT fresh.id AS fresh_id, fresh.participant_id, last.id AS source_id
             FROM assessments fresh
             JOIN cycles c ON c.id = fresh.cycle_id
             JOIN frameworks cf ON cf.id = c.framework_id
             JOIN LATERAL (
                 SELECT a.id FROM assessments a
                 JOIN cycles ac ON ac.id = a.cycle_id
                 JOIN frameworks af ON af.id = ac.framework_id
                 WHERE a.participant_id = fresh.participant_id AND a.state = 'accepted'
                   AND ac.opens_on < c.opens_on AND af.family = cf.family
                 ORDER BY ac.opens_on DESC LIMIT 1
             ) last ON true
             WHERE fresh.cycle_id = $1 AND fresh.state = 'not_started'
         ),
         inserted AS (
             INSERT INTO answers (assessment_id, participant_id, goal_id, value_level, value_number,
                 value_bool, not_applicable, na_justification, target_level, target_number,
                 target_bool, implementation_status, narrative, unconfirmed, updated_at)
             SELECT s.fresh_id, s.participant_id, target.id, old.value_level, old.value_number,
                    old.value_bool, old.not_applicable, old.na_justification, old.target_level,
                    old.target_number, old.target_bool, old.implementation_status, old.narrative,
                    true, now()
             FROM sources s
             JOIN answers old ON old.assessment_id = s.source_id
             JOIN goals target ON target.framework_id = (SELECT framework_id FROM cycles WHERE id = $1)
                 AND (target.id = old.goal_id
                      OR EXISTS (SELECT 1 FROM goal_mappings gm
                                 WHERE gm.from_goal_id = old.goal_id AND gm.to_goal_id = target.id
                                   AND gm.relation = 'equivalent'))
             ON CONFLICT (assessment_id, goal_id) DO NOTHING
             RETURNING assessment_id
         ),
         counted AS (
             SELECT assessment_id, count(*) AS answers FROM inserted GROUP BY assessment_id
         ),
         marked AS (
             UPDATE assessments a SET carried_from = s.source_id, carried_answers = k.answers
             FROM sources s JOIN counted k ON k.assessment_id = s.fresh_id
             WHERE a.id = s.fresh_id
             RETURNING k.answers
         )
         SELECT coalesce(sum(answers), 0)::bigint FROM marked",
    )
    .bind(cycle)
    .fetch_one(conn)
    .await?;
    Ok(u64::try_from(carried).unwrap_or(0))
}

/// Where a cycle's carried-forward answers came from: one row per source cycle.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CarriedSource {
    pub cycle_id: Uuid,
    pub cycle_code: String,
    pub framework_version: String,
    /// The source cycle's framework version differs: answers went through the version mapping.
    pub mapped: bool,
    pub participants: i64,
    pub answers: i64,
}

/// The sources of a cycle's carried-forward answers, newest source first (what the reader may
/// see: a delegation counts only its own assessment).
pub async fn carried_sources(
    conn: &mut PgConnection,
    cycle: Uuid,
) -> Result<Vec<CarriedSource>, sqlx::Error> {
    sqlx::query_as(
        "SELECT sc.id AS cycle_id, sc.code AS cycle_code, sf.version AS framework_version,
                sc.framework_id <> c.framework_id AS mapped,
                count(*) AS participants, sum(a.carried_answers)::bigint AS answers
         FROM assessments a
         JOIN cycles c ON c.id = a.cycle_id
         JOIN assessments source ON source.id = a.carried_from
         JOIN cycles sc ON sc.id = source.cycle_id
         JOIN frameworks sf ON sf.id = sc.framework_id
         WHERE a.cycle_id = $1
         GROUP BY sc.id, sc.code, sf.version, sc.framework_id, c.framework_id, sc.opens_on
         ORDER BY sc.opens_on DESC",
    )
    .bind(cycle)
    .fetch_all(conn)
    .await
}
