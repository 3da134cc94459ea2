//! Clarification requests on answers.

use sqlx::PgConnection;
use uuid::Uuid;

/// A request to raise.
#[derive(Debug, Clone)]
pub struct NewClarification {
    pub assessment_id: Uuid,
    pub participant_id: Uuid,
    pub goal_id: Uuid,
    pub question: String,
    pub raised_by: Option<Uuid>,
}

/// Raises requests in one statement.
pub async fn insert_many(
    conn: &mut PgConnection,
    requests: &[NewClarification],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO clarification_requests (assessment_id, participant_id, goal_id, question, raised_by)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::uuid[])",
    )
    .bind(requests.iter().map(|r| r.assessment_id).collect::<Vec<_>>())
    .bind(requests.iter().map(|r| r.participant_id).collect::<Vec<_>>())
    .bind(requests.iter().map(|r| r.goal_id).collect::<Vec<_>>())
    .bind(requests.iter().map(|r| r.question.clone()).collect::<Vec<_>>())
    .bind(requests.iter().map(|r| r.raised_by).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A clarification request with its thread, as shown.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClarificationView {
    pub id: Uuid,
    pub assessment_id: Uuid,
    pub participant_code: String,
    pub cycle_code: String,
    pub goal_code: String,
    pub question: String,
    /// open, answered or resolved
    pub state: String,
    pub raised_by: Option<Uuid>,
    pub raised_by_name: Option<String>,
    pub raised_at: time::OffsetDateTime,
    /// Replies in order: author name, text.
    pub messages: sqlx::types::Json<Vec<serde_json::Value>>,
}

const VIEW: &str = "SELECT r.id, r.assessment_id, p.code AS participant_code, c.code AS cycle_code,
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
     LEFT JOIN users u ON u.id = r.raised_by";

/// The requests on one assessment, oldest first.
pub async fn for_assessment(
    conn: &mut PgConnection,
    assessment: Uuid,
) -> Result<Vec<ClarificationView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{VIEW} WHERE r.assessment_id = $1 ORDER BY r.raised_at"
    ))
    .bind(assessment)
    .fetch_all(conn)
    .await
}

/// Every request not yet resolved that the caller may see (row-level security), newest first.
pub async fn open(conn: &mut PgConnection) -> Result<Vec<ClarificationView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{VIEW} WHERE r.state <> 'resolved' ORDER BY r.raised_at DESC"
    ))
    .fetch_all(conn)
    .await
}

/// One request.
pub async fn find(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<ClarificationView>, sqlx::Error> {
    sqlx::query_as(&format!("{VIEW} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Raises one request; returns its id.
pub async fn insert(
    conn: &mut PgConnection,
    request: &NewClarification,
) -> Result<Uuid, sqlx::Error> {
    // The id is made here, not returned: `RETURNING` needs the new row to pass the read policy,
    // which an analyst's request on an assessment returned a moment ago no longer does.
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO clarification_requests (id, assessment_id, participant_id, goal_id, question, raised_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(request.assessment_id)
    .bind(request.participant_id)
    .bind(request.goal_id)
    .bind(&request.question)
    .bind(request.raised_by)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Adds a message to a request's thread and sets the request's state (two statements).
pub async fn add_message(
    conn: &mut PgConnection,
    request: Uuid,
    participant: Uuid,
    author: Uuid,
    body: &str,
    state: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO clarification_messages (request_id, participant_id, author_id, body) VALUES ($1, $2, $3, $4)")
        .bind(request)
        .bind(participant)
        .bind(author)
        .bind(body)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE clarification_requests SET state = $2, row_version = row_version + 1 WHERE id = $1 AND state <> 'resolved'")
        .bind(request)
        .bind(state)
        .execute(conn)
        .await?;
    Ok(())
}

/// Resolves a request; false when it was already resolved.
pub async fn resolve(
    conn: &mut PgConnection,
    request: Uuid,
    by: Uuid,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE clarification_requests SET state = 'resolved', resolved_by = $2, resolved_at = now(),
             row_version = row_version + 1
         WHERE id = $1 AND state <> 'resolved'",
    )
    .bind(request)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}
