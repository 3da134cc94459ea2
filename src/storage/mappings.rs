//! Mappings between framework versions: how each goal of one version relates to goals of another
//! (equivalent, split, merged, new, retired), so that trends run across versions.

use sqlx::PgConnection;
use uuid::Uuid;

/// One goal-to-goal relation, by goal code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct MappingRow {
    /// The goal in the earlier version (none for `new`).
    pub from_goal: Option<String>,
    /// The goal in the later version (none for `retired`).
    pub to_goal: Option<String>,
    /// equivalent, split, merged, new or retired.
    pub relation: String,
}

/// Maps goals with the same code as equivalent, goals only in `to` as new and goals only in
/// `from` as retired (used when a version is copied).
pub async fn insert_equivalent_by_code(
    conn: &mut PgConnection,
    from: Uuid,
    to: Uuid,
    created_by: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    let mapping = upsert_mapping(conn, from, to, created_by).await?;
    sqlx::query(
        "INSERT INTO goal_mappings (mapping_id, from_goal_id, to_goal_id, relation)
         SELECT $1, f.id, t.id,
                CASE WHEN f.id IS NULL THEN 'new' WHEN t.id IS NULL THEN 'retired' ELSE 'equivalent' END
         FROM (SELECT id, code FROM goals WHERE framework_id = $2) f
         FULL JOIN (SELECT id, code FROM goals WHERE framework_id = $3) t ON t.code = f.code",
    )
    .bind(mapping)
    .bind(from)
    .bind(to)
    .execute(conn)
    .await?;
    Ok(())
}

async fn upsert_mapping(
    conn: &mut PgConnection,
    from: Uuid,
    to: Uuid,
    created_by: Option<Uuid>,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO framework_mappings (from_framework_id, to_framework_id, created_by)
         VALUES ($1, $2, $3)
         ON CONFLICT (from_framework_id, to_framework_id) DO UPDATE SET created_at = framework_mappings.created_at
         RETURNING id",
    )
    .bind(from)
    .bind(to)
    .bind(created_by)
    .fetch_one(conn)
    .await
}

/// The rows of the mapping from one version to another (none when there is no mapping).
pub async fn rows(
    conn: &mut PgConnection,
    from: Uuid,
    to: Uuid,
) -> Result<Vec<MappingRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT f.code AS from_goal, t.code AS to_goal, gm.relation
         FROM framework_mappings m
         JOIN goal_mappings gm ON gm.mapping_id = m.id
         LEFT JOIN goals f ON f.id = gm.from_goal_id
         LEFT JOIN goals t ON t.id = gm.to_goal_id
         WHERE m.from_framework_id = $1 AND m.to_framework_id = $2
         ORDER BY coalesce(f.code, t.code), t.code",
    )
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// Replaces the rows of a mapping (codes already checked against both versions).
pub async fn replace(
    conn: &mut PgConnection,
    from: Uuid,
    to: Uuid,
    rows: &[MappingRow],
    created_by: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    let mapping = upsert_mapping(conn, from, to, created_by).await?;
    sqlx::query("DELETE FROM goal_mappings WHERE mapping_id = $1")
        .bind(mapping)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO goal_mappings (mapping_id, from_goal_id, to_goal_id, relation)
         SELECT $1, f.id, t.id, r.relation
         FROM UNNEST($2::text[], $3::text[], $4::text[]) AS r(from_code, to_code, relation)
         LEFT JOIN goals f ON f.framework_id = $5 AND f.code = r.from_code
         LEFT JOIN goals t ON t.framework_id = $6 AND t.code = r.to_code",
    )
    .bind(mapping)
    .bind(rows.iter().map(|r| r.from_goal.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.to_goal.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.relation.clone()).collect::<Vec<_>>())
    .bind(from)
    .bind(to)
    .execute(conn)
    .await?;
    Ok(())
}

/// The versions a version is mapped to or from.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MappingSummary {
    pub from_framework_id: Uuid,
    pub from_version: String,
    pub to_framework_id: Uuid,
    pub to_version: String,
    pub rows: i64,
}

/// Mappings that touch a version.
pub async fn list_for(
    conn: &mut PgConnection,
    framework: Uuid,
) -> Result<Vec<MappingSummary>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.from_framework_id, f.version AS from_version, m.to_framework_id, t.version AS to_version,
                (SELECT count(*) FROM goal_mappings g WHERE g.mapping_id = m.id) AS rows
         FROM framework_mappings m
         JOIN frameworks f ON f.id = m.from_framework_id
         JOIN frameworks t ON t.id = m.to_framework_id
         WHERE $1 IN (m.from_framework_id, m.to_framework_id)
         ORDER BY m.created_at",
    )
    .bind(framework)
    .fetch_all(conn)
    .await
}
