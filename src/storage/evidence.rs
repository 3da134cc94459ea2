//! Evidence links, evidence files and planned actions on answers.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::evidence::EvidenceKind;

/// The answer row a piece of evidence hangs on, created empty when the goal is not answered yet.
/// An empty row stays at version 0, like no row at all, so a colleague's evidence never turns
/// someone's first save of that answer into a conflict.
pub async fn answer_id(
    conn: &mut PgConnection,
    assessment: Uuid,
    participant: Uuid,
    goal: Uuid,
    user: Uuid,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO answers AS a (assessment_id, participant_id, goal_id, updated_by, row_version)
         VALUES ($1, $2, $3, $4, 0)
         ON CONFLICT (assessment_id, goal_id) DO UPDATE SET updated_at = a.updated_at
         RETURNING id",
    )
    .bind(assessment)
    .bind(participant)
    .bind(goal)
    .bind(user)
    .fetch_one(conn)
    .await
}

/// Evidence of one assessment, by kind.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EvidenceItem {
    pub id: Uuid,
    pub goal_code: String,
    /// link, file or action
    pub kind: String,
    /// The URL, the file name, or the action's description.
    pub text: String,
    /// The link's label, or the file's media type.
    pub detail: String,
    pub size_bytes: Option<i64>,
    pub due_on: Option<Date>,
    pub created_at: OffsetDateTime,
}

/// Every link, file and planned action of an assessment (one statement; row-level security
/// shows them to those who may read the answers).
pub async fn list(
    conn: &mut PgConnection,
    assessment: Uuid,
) -> Result<Vec<EvidenceItem>, sqlx::Error> {
    sqlx::query_as(
        "SELECT l.id, g.code AS goal_code, 'link' AS kind, l.url AS text, l.label AS detail,
                NULL::bigint AS size_bytes, NULL::date AS due_on, l.created_at
         FROM evidence_links l JOIN answers a ON a.id = l.answer_id JOIN goals g ON g.id = a.goal_id
         WHERE a.assessment_id = $1
         UNION ALL
         SELECT f.id, g.code, 'file', f.file_name, f.media_type, f.size_bytes, NULL, f.uploaded_at
         FROM evidence_files f JOIN answers a ON a.id = f.answer_id JOIN goals g ON g.id = a.goal_id
         WHERE a.assessment_id = $1
         UNION ALL
         SELECT p.id, g.code, 'action', p.description, '', NULL, p.due_on, p.created_at
         FROM planned_actions p JOIN answers a ON a.id = p.answer_id JOIN goals g ON g.id = a.goal_id
         WHERE a.assessment_id = $1
         ORDER BY created_at",
    )
    .bind(assessment)
    .fetch_all(conn)
    .await
}

/// Adds a link; returns its id.
pub async fn add_link(
    conn: &mut PgConnection,
    answer: Uuid,
    participant: Uuid,
    url: &str,
    label: &str,
    user: Uuid,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar("INSERT INTO evidence_links (answer_id, participant_id, url, label, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .bind(answer)
        .bind(participant)
        .bind(url)
        .bind(label)
        .bind(user)
        .fetch_one(conn)
        .await
}

/// Adds a planned action; returns its id.
pub async fn add_action(
    conn: &mut PgConnection,
    answer: Uuid,
    participant: Uuid,
    description: &str,
    due_on: Option<Date>,
    user: Uuid,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar("INSERT INTO planned_actions (answer_id, participant_id, description, due_on, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .bind(answer)
        .bind(participant)
        .bind(description)
        .bind(due_on)
        .bind(user)
        .fetch_one(conn)
        .await
}

/// A file to store.
pub struct NewFile<'a> {
    pub answer: Uuid,
    pub participant: Uuid,
    pub file_name: &'a str,
    pub media_type: &'a str,
    pub content: &'a [u8],
    pub sha256: &'a [u8],
    pub user: Uuid,
}

/// Stores a file; returns its id.
pub async fn add_file(conn: &mut PgConnection, file: &NewFile<'_>) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO evidence_files (answer_id, participant_id, file_name, media_type, size_bytes, sha256, content, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(file.answer)
    .bind(file.participant)
    .bind(file.file_name)
    .bind(file.media_type)
    .bind(file.content.len() as i64)
    .bind(file.sha256)
    .bind(file.content)
    .bind(file.user)
    .fetch_one(conn)
    .await
}

/// A stored file, for download.
#[derive(Debug, sqlx::FromRow)]
pub struct StoredFile {
    pub file_name: String,
    pub media_type: String,
    pub content: Vec<u8>,
}

/// One file (row-level security: only for those who may read the answer).
pub async fn file(conn: &mut PgConnection, id: Uuid) -> Result<Option<StoredFile>, sqlx::Error> {
    sqlx::query_as("SELECT file_name, media_type, content FROM evidence_files WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Which assessment and goal a piece of evidence belongs to.
pub async fn owner(
    conn: &mut PgConnection,
    kind: EvidenceKind,
    id: Uuid,
) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT a.assessment_id, g.code FROM {} e JOIN answers a ON a.id = e.answer_id JOIN goals g ON g.id = a.goal_id WHERE e.id = $1",
        kind.table()
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Removes one piece of evidence; false when it does not exist (or may not be changed).
pub async fn remove(
    conn: &mut PgConnection,
    kind: EvidenceKind,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(&format!("DELETE FROM {} WHERE id = $1", kind.table()))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() == 1)
}
