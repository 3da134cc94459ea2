//! Bulk imports (`crate::import`): what an import reads before it plans (participants, the
//! cycle's assessments, drafts' answers) and what it writes, each a fixed number of statements
//! for any number of rows.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::answer::CheckedAnswer;
use crate::domain::assessment::AssessmentState;
use crate::domain::scoring::{AnswerState, AnswerValue, Decimal};
use crate::import::participants::ParticipantRow;
use crate::storage::answers::StoredAnswer;

/// Every participant's id and code.
pub async fn participant_codes(
    conn: &mut PgConnection,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, code FROM participants ORDER BY code")
        .fetch_all(conn)
        .await
}

/// One assessment of the cycle, locked, with whether the delegation has put anything in it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CycleAssessment {
    pub id: Uuid,
    pub participant_id: Uuid,
    pub state: AssessmentState,
    /// Answers, a submission or any state past not started.
    pub has_data: bool,
}

/// The cycle's assessments, locked for the import (one statement).
pub async fn lock_assessments(
    conn: &mut PgConnection,
    cycle: Uuid,
) -> Result<Vec<CycleAssessment>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.id, a.participant_id, a.state,
                (a.state <> 'not_started' OR a.revision > 0
                 OR EXISTS (SELECT 1 FROM answers x WHERE x.assessment_id = a.id)) AS has_data
         FROM assessments a WHERE a.cycle_id = $1 FOR UPDATE OF a",
    )
    .bind(cycle)
    .fetch_all(conn)
    .await
}

/// A draft's answer as the import compares it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CurrentAnswer {
    pub assessment_id: Uuid,
    #[sqlx(flatten)]
    pub stored: StoredAnswer,
    pub updated_by: Option<Uuid>,
    pub entered_on_behalf: bool,
}

/// The answers of some assessments, locked (one statement).
pub async fn lock_answers(
    conn: &mut PgConnection,
    assessments: &[Uuid],
) -> Result<Vec<CurrentAnswer>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.assessment_id, a.goal_id, a.value_level, a.value_number, a.value_bool,
                a.not_applicable, a.na_justification, a.target_level, a.target_number,
                a.target_bool, a.implementation_status, a.narrative, a.unconfirmed, a.updated_at,
                u.display_name AS updated_by_name, a.row_version, a.updated_by,
                a.entered_on_behalf
         FROM answers a LEFT JOIN users u ON u.id = a.updated_by
         WHERE a.assessment_id = ANY($1) FOR UPDATE OF a",
    )
    .bind(assessments)
    .fetch_all(conn)
    .await
}

fn split(value: Option<AnswerValue>) -> (Option<i16>, Option<Decimal>, Option<bool>) {
    match value {
        Some(AnswerValue::Level(level)) => (Some(level), None, None),
        Some(AnswerValue::Number(number)) => (None, Some(number), None),
        Some(AnswerValue::Bool(yes)) => (None, None, Some(yes)),
        None => (None, None, None),
    }
}

/// One answer entered on a delegation's behalf.
pub struct OnBehalf<'a> {
    pub assessment_id: Uuid,
    pub participant_id: Uuid,
    pub goal_id: Uuid,
    pub answer: &'a CheckedAnswer,
}

/// Writes answers into drafts as unconfirmed and entered on behalf, by `user` (one
/// statement), then records activity on their assessments (a second).
pub async fn write_on_behalf(
    conn: &mut PgConnection,
    rows: &[OnBehalf<'_>],
    user: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    let values: Vec<_> = rows
        .iter()
        .map(|r| {
            split(match r.answer.state {
                AnswerState::Answered(value) => Some(value),
                _ => None,
            })
        })
        .collect();
    let targets: Vec<_> = rows.iter().map(|r| split(r.answer.target)).collect();
    sqlx::query(
        "INSERT INTO answers AS a (assessment_id, participant_id, goal_id, value_level, value_number,
             value_bool, not_applicable, na_justification, target_level, target_number, target_bool,
             implementation_status, narrative, unconfirmed, entered_on_behalf, updated_by, updated_at)
         SELECT g.assessment, g.participant, g.goal, g.level, g.number, g.yes, g.na,
                g.justification, g.target_level, g.target_number, g.target_yes, g.status,
                g.narrative, true, true, $14::uuid, now()
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int2[], $5::numeric[], $6::bool[],
                     $7::bool[], $8::text[], $9::int2[], $10::numeric[], $11::bool[], $12::text[],
                     $13::text[])
              AS g(assessment, participant, goal, level, number, yes, na, justification,
                   target_level, target_number, target_yes, status, narrative)
         ON CONFLICT (assessment_id, goal_id) DO UPDATE SET value_level = EXCLUDED.value_level,
             value_number = EXCLUDED.value_number, value_bool = EXCLUDED.value_bool,
             not_applicable = EXCLUDED.not_applicable, na_justification = EXCLUDED.na_justification,
             target_level = EXCLUDED.target_level, target_number = EXCLUDED.target_number,
             target_bool = EXCLUDED.target_bool, implementation_status = EXCLUDED.implementation_status,
             narrative = EXCLUDED.narrative, unconfirmed = true, entered_on_behalf = true,
             updated_by = EXCLUDED.updated_by, updated_at = now(), row_version = a.row_version + 1",
    )
    .bind(rows.iter().map(|r| r.assessment_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.participant_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.goal_id).collect::<Vec<_>>())
    .bind(values.iter().map(|v| v.0).collect::<Vec<_>>())
    .bind(values.iter().map(|v| v.1).collect::<Vec<_>>())
    .bind(values.iter().map(|v| v.2).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.answer.state == AnswerState::NotApplicable)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.answer.na_justification.clone())
            .collect::<Vec<_>>(),
    )
    .bind(targets.iter().map(|v| v.0).collect::<Vec<_>>())
    .bind(targets.iter().map(|v| v.1).collect::<Vec<_>>())
    .bind(targets.iter().map(|v| v.2).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.answer.implementation_status)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.answer.narrative.clone())
            .collect::<Vec<_>>(),
    )
    .bind(user)
    .execute(&mut *conn)
    .await?;
    let mut assessments: Vec<Uuid> = rows.iter().map(|r| r.assessment_id).collect();
    assessments.sort_unstable();
    assessments.dedup();
    sqlx::query(
        "UPDATE assessments SET last_activity_at = now(), updated_at = now(),
             row_version = row_version + 1,
             state = CASE WHEN state = 'not_started' THEN 'draft' ELSE state END
         WHERE id = ANY($1)",
    )
    .bind(&assessments)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records an import of a cycle's answers under the id its values were kept with.
#[allow(clippy::too_many_arguments)]
pub async fn insert_import(
    conn: &mut PgConnection,
    id: Uuid,
    cycle: Uuid,
    purpose: &str,
    file_name: &str,
    file_sha256: &str,
    imported_by: Option<Uuid>,
    counts: (usize, usize),
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO cycle_imports (id, cycle_id, purpose, file_name, file_sha256, imported_by,
             participants, answers)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(cycle)
    .bind(purpose)
    .bind(file_name)
    .bind(file_sha256)
    .bind(imported_by)
    .bind(i32::try_from(counts.0).unwrap_or(i32::MAX))
    .bind(i32::try_from(counts.1).unwrap_or(i32::MAX))
    .execute(conn)
    .await?;
    Ok(())
}

/// Links snapshots to the import that made them (one statement).
pub async fn link_snapshots(
    conn: &mut PgConnection,
    import: Uuid,
    snapshots: &[(Uuid, Uuid)],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO snapshot_imports (snapshot_id, import_id, participant_id)
         SELECT s, $1, p FROM unnest($2::uuid[], $3::uuid[]) AS x(s, p)",
    )
    .bind(import)
    .bind(snapshots.iter().map(|(s, _)| *s).collect::<Vec<_>>())
    .bind(snapshots.iter().map(|(_, p)| *p).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// A planned cycle filled with history becomes closed, as a past cycle is.
pub async fn close_historical_cycle(
    conn: &mut PgConnection,
    cycle: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE cycles SET state = 'closed', opened_at = coalesce(opened_at, now()),
             closed_at = coalesce(closed_at, now()), updated_at = now(),
             row_version = row_version + 1
         WHERE id = $1 AND state = 'planned'",
    )
    .bind(cycle)
    .execute(conn)
    .await?;
    Ok(())
}

/// An import of a cycle, as the report shows it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct ImportRecord {
    pub purpose: String,
    pub file_name: String,
    pub file_sha256: String,
    pub imported_by_name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub imported_at: OffsetDateTime,
    pub participants: i32,
    pub answers: i32,
}

/// The historical imports of a cycle, newest first.
pub async fn of_cycle(
    conn: &mut PgConnection,
    cycle: Uuid,
) -> Result<Vec<ImportRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.purpose, i.file_name, i.file_sha256, u.display_name AS imported_by_name,
                i.imported_at, i.participants, i.answers
         FROM cycle_imports i LEFT JOIN users u ON u.id = i.imported_by
         WHERE i.cycle_id = $1 AND i.purpose = 'historical' ORDER BY i.imported_at DESC",
    )
    .bind(cycle)
    .fetch_all(conn)
    .await
}

/// Participants as they are now, by code (for a preview: new or updated).
pub async fn participants_by_code(
    conn: &mut PgConnection,
    codes: &[String],
) -> Result<Vec<ParticipantRow>, sqlx::Error> {
    let rows: Vec<(String, String, String, String, Option<Date>)> = sqlx::query_as(
        "SELECT code, name_en, name_fr, kind, accession_date FROM participants WHERE code = ANY($1)",
    )
    .bind(codes)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(code, name_en, name_fr, kind, accession_date)| ParticipantRow {
                code,
                name_en,
                name_fr,
                kind,
                accession_date,
            },
        )
        .collect())
}

/// Adds new participants and updates existing codes (one statement).
pub async fn upsert_participants(
    conn: &mut PgConnection,
    rows: &[ParticipantRow],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO participants AS p (code, name_en, name_fr, kind, accession_date)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::date[])
         ON CONFLICT (code) DO UPDATE SET name_en = EXCLUDED.name_en, name_fr = EXCLUDED.name_fr,
             kind = EXCLUDED.kind, accession_date = EXCLUDED.accession_date, updated_at = now(),
             row_version = p.row_version + 1
         WHERE (p.name_en, p.name_fr, p.kind, p.accession_date)
               IS DISTINCT FROM (EXCLUDED.name_en, EXCLUDED.name_fr, EXCLUDED.kind, EXCLUDED.accession_date)",
    )
    .bind(rows.iter().map(|r| r.code.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.name_en.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.name_fr.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.kind.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.accession_date).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// The table an import's values are kept in (named by its audit entry).
pub const VALUES_TABLE: &str = "cycle_import_values";

/// One value an import of answers wrote, as kept in `cycle_import_values`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct ImportValue {
    pub seq: i32,
    #[serde(skip)]
    pub participant_id: Uuid,
    pub participant_code: String,
    pub goal_code: String,
    pub file_row: i32,
    /// `new` or `changed`.
    pub change: String,
    /// The answer before (JSON), for a changed one.
    pub before: Option<String>,
    /// The answer written (JSON).
    pub after: String,
}

/// The line of a value that its import's digest covers: tab-separated seq, participant, goal,
/// file row, change, before (empty when new) and after, then a newline. The SHA-256 of every
/// line in `seq` order is the `values.sha256` of the import's audit entry.
pub fn value_line(value: &ImportValue) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        value.seq,
        value.participant_code,
        value.goal_code,
        value.file_row,
        value.change,
        value.before.as_deref().unwrap_or_default(),
        value.after
    )
}

/// Keeps a batch of an import's values (one statement for any number).
pub async fn insert_values(
    conn: &mut PgConnection,
    import: Uuid,
    values: &[ImportValue],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO cycle_import_values (import_id, seq, participant_id, participant_code,
             goal_code, file_row, change, before, after)
         SELECT $1, * FROM unnest($2::int4[], $3::uuid[], $4::text[], $5::text[], $6::int4[],
                                  $7::text[], $8::text[], $9::text[])",
    )
    .bind(import)
    .bind(values.iter().map(|v| v.seq).collect::<Vec<_>>())
    .bind(values.iter().map(|v| v.participant_id).collect::<Vec<_>>())
    .bind(
        values
            .iter()
            .map(|v| v.participant_code.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        values
            .iter()
            .map(|v| v.goal_code.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(values.iter().map(|v| v.file_row).collect::<Vec<_>>())
    .bind(values.iter().map(|v| v.change.as_str()).collect::<Vec<_>>())
    .bind(
        values
            .iter()
            .map(|v| v.before.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(values.iter().map(|v| v.after.as_str()).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// The number of values an import kept and the SHA-256 of their lines in `seq` order
/// ([`value_line`]), read as a stream (memory does not grow with the import).
pub async fn values_digest(
    conn: &mut PgConnection,
    import: Uuid,
) -> Result<(u64, String), sqlx::Error> {
    use futures_util::TryStreamExt;
    use sha2::{Digest, Sha256};
    let mut rows = values(conn, import);
    let mut hasher = Sha256::new();
    let mut count = 0u64;
    while let Some(value) = rows.try_next().await? {
        hasher.update(value_line(&value).as_bytes());
        count += 1;
    }
    Ok((count, hex::encode(hasher.finalize())))
}

/// Whether `import` is an import of `cycle`'s answers.
pub async fn import_of_cycle(
    conn: &mut PgConnection,
    cycle: Uuid,
    import: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM cycle_imports WHERE id = $1 AND cycle_id = $2)",
    )
    .bind(import)
    .bind(cycle)
    .fetch_one(conn)
    .await
}

/// An import's kept values in `seq` order, as a stream (one row at a time).
pub fn values<'c>(
    conn: &'c mut PgConnection,
    import: Uuid,
) -> futures_util::stream::BoxStream<'c, Result<ImportValue, sqlx::Error>> {
    sqlx::query_as::<_, ImportValue>(
        "SELECT seq, participant_id, participant_code, goal_code, file_row, change, before, after
         FROM cycle_import_values WHERE import_id = $1 ORDER BY seq",
    )
    .bind(import)
    .fetch(conn)
}

/// A kept value with the import it belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CycleValue {
    pub import_id: Uuid,
    #[sqlx(flatten)]
    pub value: ImportValue,
}

/// The kept values of a cycle's imports (or of one of them), oldest import first, each in
/// `seq` order, as a stream.
pub fn values_of_cycle<'c>(
    conn: &'c mut PgConnection,
    cycle: Uuid,
    import: Option<Uuid>,
) -> futures_util::stream::BoxStream<'c, Result<CycleValue, sqlx::Error>> {
    sqlx::query_as::<_, CycleValue>(
        "SELECT v.import_id, v.seq, v.participant_id, v.participant_code, v.goal_code, v.file_row,
                v.change, v.before, v.after
         FROM cycle_imports i JOIN cycle_import_values v ON v.import_id = i.id
         WHERE i.cycle_id = $1 AND ($2::uuid IS NULL OR i.id = $2)
         ORDER BY i.imported_at, i.id, v.seq",
    )
    .bind(cycle)
    .bind(import)
    .fetch(conn)
}
