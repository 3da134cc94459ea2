//! Each user's secret calendar feed (migration 0016): only the SHA-256 of its token is stored.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::role::Role;

/// Stores a new feed token for the user, replacing (and so revoking) any earlier one.
pub async fn replace(
    conn: &mut PgConnection,
    user_id: Uuid,
    token_hash: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO calendar_feeds (user_id, token_hash) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, created_at = now()",
    )
    .bind(user_id)
    .bind(token_hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// Revokes the user's feed; false when they had none.
pub async fn revoke(conn: &mut PgConnection, user_id: Uuid) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM calendar_feeds WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// When the user's current feed was made, if they have one.
pub async fn created_at(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar("SELECT created_at FROM calendar_feeds WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// Whose feed a token is: the user and their role, when the account is enabled.
#[derive(Debug, Clone)]
pub struct FeedOwner {
    pub user_id: Uuid,
    pub role: Role,
    pub language: String,
}

#[derive(sqlx::FromRow)]
struct OwnerRow {
    user_id: Uuid,
    role: String,
    participant_id: Option<Uuid>,
    delegation_role: Option<String>,
    preferred_language: String,
}

/// The owner of a feed token's hash (run in the authenticator scope: memberships are
/// row-level secured); `None` for an unknown token or a disabled account.
pub async fn owner(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<FeedOwner>, sqlx::Error> {
    let row: Option<OwnerRow> = sqlx::query_as(
        "SELECT u.id AS user_id, u.role, m.participant_id, m.delegation_role, u.preferred_language
         FROM calendar_feeds f JOIN users u ON u.id = f.user_id
         LEFT JOIN delegation_memberships m ON m.user_id = u.id
         WHERE f.token_hash = $1 AND u.disabled_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|row| {
        Some(FeedOwner {
            user_id: row.user_id,
            role: Role::from_parts(
                &row.role,
                row.participant_id,
                row.delegation_role.as_deref(),
            )?,
            language: row.preferred_language,
        })
    }))
}

/// A cycle's deadline as the feed shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Deadline {
    pub cycle_id: Uuid,
    pub code: String,
    pub title_en: String,
    pub title_fr: String,
    pub state: String,
    pub deadline: Date,
    pub updated_at: OffsetDateTime,
}

/// The deadlines of the caller's cycles: every cycle for staff (`all`), otherwise the cycles in
/// which the caller's delegation has an assessment (row-level security picks them). One statement.
pub async fn deadlines(conn: &mut PgConnection, all: bool) -> Result<Vec<Deadline>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id AS cycle_id, c.code, c.title_en, c.title_fr, c.state, c.deadline, c.updated_at
         FROM cycles c
         WHERE $1 OR EXISTS (SELECT 1 FROM assessments a WHERE a.cycle_id = c.id)
         ORDER BY c.deadline, c.code",
    )
    .bind(all)
    .fetch_all(conn)
    .await
}
