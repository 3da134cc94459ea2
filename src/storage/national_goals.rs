//! National goals and their history: each write stores the goal and its version row together.

use sqlx::PgConnection;
use uuid::Uuid;

/// A national goal to create.
#[derive(Debug, Clone)]
pub struct NewNationalGoal {
    pub participant_id: Uuid,
    pub section_id: Uuid,
    pub title: String,
    /// `level` or `number`.
    pub measure: &'static str,
    pub unit: String,
    pub baseline_value: Option<f64>,
    pub current_value: Option<f64>,
    pub target_value: f64,
    pub target_year: i32,
    pub status: &'static str,
    pub owner: String,
    pub notes: String,
    pub created_by: Option<Uuid>,
}

/// Creates national goals with their first version, in two statements.
pub async fn insert_many(
    conn: &mut PgConnection,
    goals: &[NewNationalGoal],
) -> Result<(), sqlx::Error> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO national_goals (participant_id, section_id, title, measure, unit,
             baseline_value, current_value, target_value, target_year, status, owner, notes,
             created_by, updated_by)
         SELECT g.*, g.created_by FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[],
             $5::text[], $6::float8[], $7::float8[], $8::float8[], $9::int[], $10::text[],
             $11::text[], $12::text[], $13::uuid[])
             AS g(participant_id, section_id, title, measure, unit, baseline_value, current_value,
                  target_value, target_year, status, owner, notes, created_by)
         RETURNING id",
    )
    .bind(goals.iter().map(|g| g.participant_id).collect::<Vec<_>>())
    .bind(goals.iter().map(|g| g.section_id).collect::<Vec<_>>())
    .bind(goals.iter().map(|g| g.title.clone()).collect::<Vec<_>>())
    .bind(goals.iter().map(|g| g.measure).collect::<Vec<_>>())
    .bind(goals.iter().map(|g| g.unit.clone()).collect::<Vec<_>>())
    .bind(goals.iter().map(|g| g.baseline_value).collect::<Vec<_>>())
    .bind(goals.iter().map(|g| g.current_value).collect::<Vec<_>>())
    .bind(goals.iter().map(|g| g.target_value).collect::<Vec<_>>())
    .bind(goals.iter().map(|g| g.target_year).collect::<Vec<_>>())
    .bind(goals.iter().map(|g| g.status).collect::<Vec<_>>())
    .bind(goals.iter().map(|g| g.owner.clone()).collect::<Vec<_>>())
    .bind(goals.iter().map(|g| g.notes.clone()).collect::<Vec<_>>())
    .bind(goals.iter().map(|g| g.created_by).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    record_versions(conn, &ids).await
}

/// Copies the current state of these goals into their history (one statement).
pub async fn record_versions(conn: &mut PgConnection, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO national_goal_versions (national_goal_id, participant_id, version, data,
             changed_by, changed_at)
         SELECT g.id, g.participant_id, g.row_version,
                to_jsonb(g) - 'row_version' - 'created_at' - 'created_by',
                g.updated_by, g.updated_at
         FROM national_goals g WHERE g.id = ANY($1)",
    )
    .bind(ids)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
