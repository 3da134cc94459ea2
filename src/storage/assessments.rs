//! Assessments, answers, snapshots and reviews: bulk writes in a fixed number of
//! statements (UNNEST over column arrays), whatever the number of rows.

use crate::domain::scoring::Decimal;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::assessment::AssessmentState;
use crate::domain::cycle::CycleState;
use crate::domain::scoring::{AnswerState, AnswerValue, RolledUp};
use crate::domain::snapshot::FrozenSnapshot;

/// One assessment row (ids are chosen by the caller so children can refer to them).
#[derive(Debug, Clone)]
pub struct AssessmentRow {
    pub id: Uuid,
    pub cycle_id: Uuid,
    pub participant_id: Uuid,
    pub state: &'static str,
    pub last_activity_at: Option<OffsetDateTime>,
}

/// Inserts assessments in one statement. Revision and latest snapshot are set by
/// [`insert_snapshots`]; a submitted (or later) state needs its snapshot first, so such states are
/// set afterwards with [`set_states`].
pub async fn insert_assessments(
    conn: &mut PgConnection,
    rows: &[AssessmentRow],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO assessments (id, cycle_id, participant_id, state, last_activity_at)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[])",
    )
    .bind(rows.iter().map(|r| r.id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.cycle_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.participant_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.state).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.last_activity_at).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets the state of many assessments in one statement.
pub async fn set_states(
    conn: &mut PgConnection,
    states: &[(Uuid, &'static str)],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE assessments a SET state = s.state, updated_at = now(), row_version = row_version + 1
         FROM UNNEST($1::uuid[], $2::text[]) AS s(id, state) WHERE a.id = s.id",
    )
    .bind(states.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind(states.iter().map(|(_, state)| *state).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One answer row.
#[derive(Debug, Clone)]
pub struct AnswerRow {
    pub assessment_id: Uuid,
    pub participant_id: Uuid,
    pub goal_id: Uuid,
    pub answer: AnswerState,
    pub na_justification: Option<String>,
    pub target: Option<AnswerValue>,
    pub implementation_status: Option<&'static str>,
    pub narrative: String,
    pub unconfirmed: bool,
    pub updated_by: Option<Uuid>,
    pub updated_at: OffsetDateTime,
}

fn split_value(value: Option<AnswerValue>) -> (Option<i16>, Option<Decimal>, Option<bool>) {
    match value {
        Some(AnswerValue::Level(level)) => (Some(level), None, None),
        Some(AnswerValue::Number(number)) => (None, Some(number), None),
        Some(AnswerValue::Bool(yes)) => (None, None, Some(yes)),
        None => (None, None, None),
    }
}

fn answered_value(answer: AnswerState) -> Option<AnswerValue> {
    match answer {
        AnswerState::Answered(value) => Some(value),
        _ => None,
    }
}

/// Inserts answers in one statement.
pub async fn insert_answers(
    conn: &mut PgConnection,
    rows: &[AnswerRow],
) -> Result<(), sqlx::Error> {
    let values: Vec<_> = rows
        .iter()
        .map(|r| split_value(answered_value(r.answer)))
        .collect();
    let targets: Vec<_> = rows.iter().map(|r| split_value(r.target)).collect();
    sqlx::query(
        "INSERT INTO answers (assessment_id, participant_id, goal_id, value_level, value_number,
             value_bool, not_applicable, na_justification, target_level, target_number,
             target_bool, implementation_status, narrative, unconfirmed, updated_by, updated_at)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::int2[], $5::numeric[],
             $6::bool[], $7::bool[], $8::text[], $9::int2[], $10::numeric[], $11::bool[],
             $12::text[], $13::text[], $14::bool[], $15::uuid[], $16::timestamptz[])",
    )
    .bind(rows.iter().map(|r| r.assessment_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.participant_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.goal_id).collect::<Vec<_>>())
    .bind(values.iter().map(|v| v.0).collect::<Vec<_>>())
    .bind(values.iter().map(|v| v.1).collect::<Vec<_>>())
    .bind(values.iter().map(|v| v.2).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.answer == AnswerState::NotApplicable)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.na_justification.clone())
            .collect::<Vec<_>>(),
    )
    .bind(targets.iter().map(|v| v.0).collect::<Vec<_>>())
    .bind(targets.iter().map(|v| v.1).collect::<Vec<_>>())
    .bind(targets.iter().map(|v| v.2).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.implementation_status)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.narrative.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.unconfirmed).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.updated_by).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.updated_at).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One snapshot to store.
#[derive(Debug, Clone)]
pub struct SnapshotRow {
    pub id: Uuid,
    pub assessment_id: Uuid,
    pub participant_id: Uuid,
    pub cycle_id: Uuid,
    pub revision: i32,
    pub frozen: FrozenSnapshot,
    pub submitted_by: Option<Uuid>,
    pub submitted_at: OffsetDateTime,
}

/// Stores snapshots with their section scores and scored answers (three statements), then points
/// each assessment at its latest revision (a fourth).
pub async fn insert_snapshots(
    conn: &mut PgConnection,
    rows: &[SnapshotRow],
) -> Result<(), sqlx::Error> {
    // The section figures also go on the snapshot row as arrays (migration 0011); UNNEST
    // cannot carry one array per row, so each travels as an array literal and is cast back.
    let literal = |items: Vec<String>| format!("{{{}}}", items.join(","));
    let section_arrays = |r: &SnapshotRow, part: fn(&(Uuid, RolledUp)) -> String| {
        literal(r.frozen.sections.iter().map(part).collect())
    };
    sqlx::query(
        "INSERT INTO snapshots (id, assessment_id, participant_id, cycle_id, revision, content,
             digest, overall_score, answered, applicable, submitted_by, submitted_at,
             section_ids, section_scores, section_answered, section_applicable)
         SELECT id, assessment_id, participant_id, cycle_id, revision, content::json, digest,
                overall_score, answered, applicable, submitted_by, submitted_at,
                section_ids::uuid[], section_scores::numeric[], section_answered::int[],
                section_applicable::int[]
         FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::int[], $6::text[],
                     $7::bytea[], $8::numeric[], $9::int[], $10::int[], $11::uuid[], $12::timestamptz[],
                     $13::text[], $14::text[], $15::text[], $16::text[])
              AS s(id, assessment_id, participant_id, cycle_id, revision, content, digest,
                   overall_score, answered, applicable, submitted_by, submitted_at,
                   section_ids, section_scores, section_answered, section_applicable)",
    )
    .bind(rows.iter().map(|r| r.id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.assessment_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.participant_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.cycle_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.revision).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.frozen.content.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.frozen.digest.to_vec()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.frozen.overall.score).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.frozen.overall.answered as i32).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.frozen.overall.applicable as i32).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.submitted_by).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.submitted_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| section_arrays(r, |(id, _)| id.to_string())).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| section_arrays(r, |(_, f)| f.score.map_or_else(|| "NULL".to_owned(), |s| s.to_string())))
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| section_arrays(r, |(_, f)| f.answered.to_string())).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| section_arrays(r, |(_, f)| f.applicable.to_string())).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;

    let sections: Vec<_> = rows
        .iter()
        .flat_map(|r| {
            r.frozen
                .sections
                .iter()
                .map(move |(section, fig)| (r, *section, *fig))
        })
        .collect();
    sqlx::query(
        "INSERT INTO snapshot_section_scores (snapshot_id, participant_id, section_id, score,
             answered, applicable)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::numeric[], $5::int[], $6::int[])",
    )
    .bind(sections.iter().map(|(r, _, _)| r.id).collect::<Vec<_>>())
    .bind(sections.iter().map(|(r, _, _)| r.participant_id).collect::<Vec<_>>())
    .bind(sections.iter().map(|(_, s, _)| *s).collect::<Vec<_>>())
    .bind(sections.iter().map(|(_, _, f)| f.score).collect::<Vec<_>>())
    .bind(sections.iter().map(|(_, _, f)| f.answered as i32).collect::<Vec<_>>())
    .bind(sections.iter().map(|(_, _, f)| f.applicable as i32).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;

    let answers: Vec<_> = rows
        .iter()
        .flat_map(|r| {
            r.frozen
                .goal_scores
                .iter()
                .map(move |(goal, answer, score)| (r, *goal, *answer, *score))
        })
        .collect();
    let values: Vec<_> = answers
        .iter()
        .map(|a| split_value(answered_value(a.2)))
        .collect();
    sqlx::query(
        "INSERT INTO snapshot_answers (snapshot_id, participant_id, goal_id, value_level,
             value_number, value_bool, not_applicable, goal_score)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::int2[], $5::numeric[],
                              $6::bool[], $7::bool[], $8::numeric[])",
    )
    .bind(answers.iter().map(|a| a.0.id).collect::<Vec<_>>())
    .bind(
        answers
            .iter()
            .map(|a| a.0.participant_id)
            .collect::<Vec<_>>(),
    )
    .bind(answers.iter().map(|a| a.1).collect::<Vec<_>>())
    .bind(values.iter().map(|v| v.0).collect::<Vec<_>>())
    .bind(values.iter().map(|v| v.1).collect::<Vec<_>>())
    .bind(values.iter().map(|v| v.2).collect::<Vec<_>>())
    .bind(
        answers
            .iter()
            .map(|a| a.2 == AnswerState::NotApplicable)
            .collect::<Vec<_>>(),
    )
    .bind(answers.iter().map(|a| a.3).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;

    sqlx::query(
        "UPDATE assessments a SET revision = latest.revision, latest_snapshot_id = latest.id
         FROM (SELECT DISTINCT ON (assessment_id) assessment_id, id, revision
               FROM snapshots WHERE id = ANY($1) ORDER BY assessment_id, revision DESC) latest
         WHERE a.id = latest.assessment_id",
    )
    .bind(rows.iter().map(|r| r.id).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One review (a return or an acceptance of one revision).
#[derive(Debug, Clone)]
pub struct ReviewRow {
    pub assessment_id: Uuid,
    pub participant_id: Uuid,
    pub revision: i32,
    pub decision: &'static str,
    pub reason: String,
    pub decided_by: Option<Uuid>,
    pub decided_at: OffsetDateTime,
}

/// Inserts reviews in one statement.
pub async fn insert_reviews(
    conn: &mut PgConnection,
    rows: &[ReviewRow],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO assessment_reviews (assessment_id, participant_id, revision, decision, reason,
             decided_by, decided_at)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::text[],
                              $6::uuid[], $7::timestamptz[])",
    )
    .bind(rows.iter().map(|r| r.assessment_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.participant_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.revision).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.decision).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.reason.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.decided_by).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.decided_at).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a submission or review needs to know about an assessment, locked for the change.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LockedAssessment {
    pub state: AssessmentState,
    pub revision: i32,
    pub late_submission_allowed: bool,
    pub cycle_state: CycleState,
    pub past_deadline: bool,
}

/// Locks an assessment for a state change.
pub async fn lock_for_workflow(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<LockedAssessment>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.state, a.revision, a.late_submission_allowed, c.state AS cycle_state,
                c.deadline < current_date AS past_deadline
         FROM assessments a JOIN cycles c ON c.id = a.cycle_id WHERE a.id = $1 FOR UPDATE OF a",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Records one review and its notes on answers (two statements); returns the review's id.
pub async fn insert_review(
    conn: &mut PgConnection,
    review: &ReviewRow,
    notes: &[(Uuid, String)],
) -> Result<Uuid, sqlx::Error> {
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO assessment_reviews (assessment_id, participant_id, revision, decision, reason, decided_by, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(review.assessment_id)
    .bind(review.participant_id)
    .bind(review.revision)
    .bind(review.decision)
    .bind(&review.reason)
    .bind(review.decided_by)
    .bind(review.decided_at)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO review_answer_notes (review_id, participant_id, goal_id, note)
         SELECT $1, $2, n.goal, n.note FROM UNNEST($3::uuid[], $4::text[]) AS n(goal, note)",
    )
    .bind(id)
    .bind(review.participant_id)
    .bind(notes.iter().map(|(goal, _)| *goal).collect::<Vec<_>>())
    .bind(
        notes
            .iter()
            .map(|(_, note)| note.clone())
            .collect::<Vec<_>>(),
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// Lets (or stops letting) an assessment be submitted after the deadline.
pub async fn set_late_allowed(
    conn: &mut PgConnection,
    id: Uuid,
    allowed: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE assessments SET late_submission_allowed = $2, updated_at = now(), row_version = row_version + 1 WHERE id = $1")
        .bind(id)
        .bind(allowed)
        .execute(conn)
        .await?;
    Ok(())
}

/// One submitted revision with the decision on it, if any.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevisionRow {
    pub revision: i32,
    pub submitted_at: OffsetDateTime,
    pub submitted_by_name: Option<String>,
    /// SHA-256 of the snapshot document, hex.
    pub digest: String,
    pub overall_score: Option<Decimal>,
    pub answered: i32,
    pub applicable: i32,
    pub decision: Option<String>,
    pub reason: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
}

/// Every revision of an assessment, oldest first (one statement).
pub async fn revisions(
    conn: &mut PgConnection,
    assessment: Uuid,
) -> Result<Vec<RevisionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.revision, s.submitted_at, u.display_name AS submitted_by_name, encode(s.digest, 'hex') AS digest,
                s.overall_score AS overall_score, s.answered, s.applicable,
                r.decision, r.reason, r.decided_at
         FROM snapshots s
         LEFT JOIN users u ON u.id = s.submitted_by
         LEFT JOIN assessment_reviews r ON r.assessment_id = s.assessment_id AND r.revision = s.revision
         WHERE s.assessment_id = $1 ORDER BY s.revision",
    )
    .bind(assessment)
    .fetch_all(conn)
    .await
}

/// The stored document and digest of one revision.
pub async fn snapshot_document(
    conn: &mut PgConnection,
    assessment: Uuid,
    revision: i32,
) -> Result<Option<(String, Vec<u8>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT content::text, digest FROM snapshots WHERE assessment_id = $1 AND revision = $2",
    )
    .bind(assessment)
    .bind(revision)
    .fetch_optional(conn)
    .await
}

/// The notes of the latest return, by goal id.
pub async fn latest_return_notes(
    conn: &mut PgConnection,
    assessment: Uuid,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT n.goal_id, n.note FROM review_answer_notes n
         JOIN assessment_reviews r ON r.id = n.review_id
         WHERE r.id = (SELECT id FROM assessment_reviews WHERE assessment_id = $1 AND decision = 'returned'
                       ORDER BY revision DESC LIMIT 1)",
    )
    .bind(assessment)
    .fetch_all(conn)
    .await
}

/// Which assessments a listing shows (row-level security narrows it further: a delegation
/// sees its own participant's only).
#[derive(Debug, Default, Clone)]
pub struct AssessmentFilter {
    pub cycle: Option<Uuid>,
    pub state: Option<crate::domain::assessment::AssessmentState>,
    pub participant_code: Option<String>,
}

/// An assessment in a listing: enough to find it and see where it stands.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssessmentListItem {
    pub id: Uuid,
    pub cycle_id: Uuid,
    pub cycle_code: String,
    pub cycle_state: String,
    pub deadline: time::Date,
    pub participant_id: Uuid,
    pub participant_code: String,
    pub participant_name_en: String,
    pub participant_name_fr: String,
    pub state: String,
    pub revision: i32,
}

/// A page of the assessments the filter keeps (newest cycle first, then by participant code),
/// and how many it keeps in all.
pub async fn list_page(
    conn: &mut PgConnection,
    filter: &AssessmentFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<AssessmentListItem>, i64), sqlx::Error> {
    const FROM: &str = "FROM assessments a JOIN cycles c ON c.id = a.cycle_id
         JOIN participants p ON p.id = a.participant_id
         WHERE ($1::uuid IS NULL OR a.cycle_id = $1) AND ($2::text IS NULL OR a.state = $2)
           AND ($3::text IS NULL OR p.code = upper($3))";
    let state = filter.state.map(|state| state.as_str());
    let items = sqlx::query_as(&format!(
        "SELECT a.id, a.cycle_id, c.code AS cycle_code, c.state AS cycle_state, c.deadline,
                a.participant_id, p.code AS participant_code, p.name_en AS participant_name_en,
                p.name_fr AS participant_name_fr, a.state, a.revision
         {FROM} ORDER BY c.opens_on DESC, c.code DESC, p.code, a.id OFFSET $4 LIMIT $5"
    ))
    .bind(filter.cycle)
    .bind(state)
    .bind(filter.participant_code.as_deref())
    .bind(offset)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar(&format!("SELECT count(*) {FROM}"))
        .bind(filter.cycle)
        .bind(state)
        .bind(filter.participant_code.as_deref())
        .fetch_one(conn)
        .await?;
    Ok((items, total))
}
