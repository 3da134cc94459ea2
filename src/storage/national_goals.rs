//! National goals and their history: each write stores the goal and its version row together.

use crate::domain::scoring::Decimal;
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
    pub baseline_value: Option<Decimal>,
    pub current_value: Option<Decimal>,
    pub target_value: Decimal,
    pub target_year: i32,
    pub status: &'static str,
    pub owner: String,
    pub notes: String,
    pub created_by: Option<Uuid>,
}

/// Creates national goals with their first version, in two statements; returns their ids in order.
pub async fn insert_many(
    conn: &mut PgConnection,
    goals: &[NewNationalGoal],
) -> Result<Vec<Uuid>, sqlx::Error> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO national_goals (participant_id, section_id, title, measure, unit,
             baseline_value, current_value, target_value, target_year, status, owner, notes,
             created_by, updated_by)
         SELECT g.*, g.created_by FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[],
             $5::text[], $6::numeric[], $7::numeric[], $8::numeric[], $9::int[], $10::text[],
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
    record_versions(conn, &ids).await?;
    Ok(ids)
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

/// A national goal as shown.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NationalGoalView {
    pub id: Uuid,
    pub participant_id: Uuid,
    pub participant_code: String,
    pub section_id: Uuid,
    pub section_code: String,
    pub section_title_en: String,
    pub section_title_fr: String,
    pub title: String,
    pub measure: String,
    pub unit: String,
    pub baseline_value: Option<Decimal>,
    pub current_value: Option<Decimal>,
    pub target_value: Decimal,
    pub target_year: i32,
    pub status: String,
    pub owner: String,
    pub notes: String,
    pub updated_at: time::OffsetDateTime,
    pub updated_by_name: Option<String>,
    pub row_version: i64,
}

const VIEW: &str = "SELECT g.id, g.participant_id, p.code AS participant_code, g.section_id,
        s.code AS section_code, s.title_en AS section_title_en, s.title_fr AS section_title_fr,
        g.title, g.measure, g.unit, g.baseline_value AS baseline_value,
        g.current_value AS current_value, g.target_value AS target_value,
        g.target_year, g.status, g.owner, g.notes, g.updated_at, u.display_name AS updated_by_name,
        g.row_version
     FROM national_goals g
     JOIN participants p ON p.id = g.participant_id
     JOIN framework_sections s ON s.id = g.section_id
     LEFT JOIN users u ON u.id = g.updated_by";

/// A participant's national goals (row-level security limits what the caller sees).
pub async fn list(
    conn: &mut PgConnection,
    participant: Uuid,
) -> Result<Vec<NationalGoalView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{VIEW} WHERE g.participant_id = $1 ORDER BY s.position, g.target_year, g.title"
    ))
    .bind(participant)
    .fetch_all(conn)
    .await
}

/// One national goal.
pub async fn find(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<NationalGoalView>, sqlx::Error> {
    sqlx::query_as(&format!("{VIEW} WHERE g.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Updates a goal if it is still at `expected_row_version`, and records the new version; false
/// when someone changed it meanwhile (or it does not exist).
pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    expected_row_version: i64,
    goal: &NewNationalGoal,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE national_goals SET section_id = $3, title = $4, measure = $5, unit = $6,
             baseline_value = $7, current_value = $8, target_value = $9, target_year = $10,
             status = $11, owner = $12, notes = $13, updated_by = $14, updated_at = now(),
             row_version = row_version + 1
         WHERE id = $1 AND row_version = $2",
    )
    .bind(id)
    .bind(expected_row_version)
    .bind(goal.section_id)
    .bind(&goal.title)
    .bind(goal.measure)
    .bind(&goal.unit)
    .bind(goal.baseline_value)
    .bind(goal.current_value)
    .bind(goal.target_value)
    .bind(goal.target_year)
    .bind(goal.status)
    .bind(&goal.owner)
    .bind(&goal.notes)
    .bind(goal.created_by)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    record_versions(conn, &[id]).await?;
    Ok(true)
}

/// One earlier (or the current) version of a goal.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GoalVersion {
    pub version: i64,
    pub data: serde_json::Value,
    pub changed_by_name: Option<String>,
    pub changed_at: time::OffsetDateTime,
}

/// Every version of a goal, newest first.
pub async fn history(conn: &mut PgConnection, id: Uuid) -> Result<Vec<GoalVersion>, sqlx::Error> {
    sqlx::query_as(
        "SELECT v.version, v.data, u.display_name AS changed_by_name, v.changed_at
         FROM national_goal_versions v LEFT JOIN users u ON u.id = v.changed_by
         WHERE v.national_goal_id = $1 ORDER BY v.version DESC",
    )
    .bind(id)
    .fetch_all(conn)
    .await
}

/// Sections a national goal can sit under: those of the framework of the newest cycle (all
/// frameworks' sections when there is no cycle yet).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SectionChoice {
    pub id: Uuid,
    pub code: String,
    pub title_en: String,
    pub title_fr: String,
    pub framework_version: String,
}

/// The highest maturity level of any goal of a section (its scale's top), if it has one.
pub async fn section_max_level(
    conn: &mut PgConnection,
    section: Uuid,
) -> Result<Option<i16>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT max(l.level) FROM maturity_levels l JOIN goals g ON g.id = l.goal_id
         WHERE g.section_id = $1",
    )
    .bind(section)
    .fetch_one(conn)
    .await
}

/// The sections offered for national goals.
pub async fn section_choices(conn: &mut PgConnection) -> Result<Vec<SectionChoice>, sqlx::Error> {
    sqlx::query_as(
        "WITH newest AS (SELECT framework_id FROM cycles ORDER BY opens_on DESC LIMIT 1)
         SELECT s.id, s.code, s.title_en, s.title_fr, f.version AS framework_version
         FROM framework_sections s JOIN frameworks f ON f.id = s.framework_id
         WHERE NOT EXISTS (SELECT 1 FROM newest) OR s.framework_id = (SELECT framework_id FROM newest)
         ORDER BY f.created_at DESC, s.position",
    )
    .fetch_all(conn)
    .await
}
