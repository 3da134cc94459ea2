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
