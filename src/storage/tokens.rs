//! Personal API tokens, stored as a SHA-256 of the secret.

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::role::Role;

/// A token as listed to its owner (never the secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenSummary {
    pub id: Uuid,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
}

/// Stores a token's hash; returns its id.
pub async fn insert(
    conn: &mut PgConnection,
    user_id: Uuid,
    name: &str,
    token_hash: &[u8],
    expires_at: Option<OffsetDateTime>,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, expires_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(user_id)
    .bind(name)
    .bind(token_hash)
    .bind(expires_at)
    .fetch_one(conn)
    .await
}

/// The live tokens of a user, newest first.
pub async fn list(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Vec<TokenSummary>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, created_at, expires_at, last_used_at FROM api_tokens
         WHERE user_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
         ORDER BY created_at DESC",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// Revokes one of a user's tokens; false when there is no such live token of theirs.
pub async fn revoke(conn: &mut PgConnection, user_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The owner of a live token, as the request layer needs it.
#[derive(Debug, Clone)]
pub struct TokenOwner {
    pub token_id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Option<Role>,
    pub must_change_password: bool,
    pub has_second_factor: bool,
    pub time_zone: String,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    token_id: Uuid,
    user_id: Uuid,
    email: String,
    display_name: String,
    role: String,
    participant_id: Option<Uuid>,
    delegation_role: Option<String>,
    must_change_password: bool,
    has_second_factor: bool,
    time_zone: String,
}

/// Finds the owner of a live token of an enabled user and records its use (at most once a
/// minute), in one statement outside any transaction (`resolve_token`, migration 0025).
pub async fn resolve_owner(
    pool: &PgPool,
    token_hash: &[u8],
) -> Result<Option<TokenOwner>, sqlx::Error> {
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT token_id, user_id, email, display_name, role, participant_id, delegation_role,
                must_change_password, has_second_factor, time_zone
         FROM resolve_token($1)",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| TokenOwner {
        role: Role::from_parts(
            &row.role,
            row.participant_id,
            row.delegation_role.as_deref(),
        ),
        token_id: row.token_id,
        user_id: row.user_id,
        email: row.email,
        display_name: row.display_name,
        must_change_password: row.must_change_password,
        has_second_factor: row.has_second_factor,
        time_zone: row.time_zone,
    }))
}

/// Revokes every live token of a user (after an admin resets their password); returns how many.
pub async fn revoke_all(conn: &mut PgConnection, user_id: Uuid) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}
