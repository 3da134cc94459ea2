//! Reading user accounts: the admin's list and user pages, one's own tokens and sessions, the
//! audit log. Each read is one transaction in the caller's scope. Changes to accounts are
//! `auth::accounts` (each writes its audit entry in its own transaction); the permission
//! (`ManageUsers`, `ReadAuditLog`) is checked by the caller before these reads, and row-level
//! security limits what they see.

use sqlx::PgPool;
use uuid::Uuid;

use super::ServiceError;
use crate::auth::Principal;
use crate::storage::{self, Scope, audit, sessions, tokens, users};

pub use crate::storage::audit::{EntryView, ReadableEntry};
pub use crate::storage::sessions::SessionSummary;
pub use crate::storage::tokens::TokenSummary;
pub use crate::storage::users::UserSummary;

/// Every user, by e-mail address.
pub async fn list(pool: &PgPool, scope: &Scope) -> Result<Vec<UserSummary>, ServiceError> {
    let mut tx = storage::begin(pool, scope).await?;
    let list = users::list(&mut tx).await?;
    tx.commit().await?;
    Ok(list)
}

/// One user (`NotFound` when there is none).
pub async fn find(pool: &PgPool, scope: &Scope, id: Uuid) -> Result<UserSummary, ServiceError> {
    let mut tx = storage::begin(pool, scope).await?;
    let user = users::find(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    tx.commit().await?;
    Ok(user)
}

/// A user's display name, empty when there is no such user (for a message after a change).
pub async fn display_name(pool: &PgPool, scope: &Scope, id: Uuid) -> Result<String, ServiceError> {
    let mut tx = storage::begin(pool, scope).await?;
    let name = users::find(&mut tx, id)
        .await?
        .map(|u| u.display_name)
        .unwrap_or_default();
    tx.commit().await?;
    Ok(name)
}

/// A user and their live sessions, in one transaction (`NotFound` when there is no such user).
pub async fn with_sessions(
    pool: &PgPool,
    scope: &Scope,
    id: Uuid,
) -> Result<(UserSummary, Vec<SessionSummary>), ServiceError> {
    let mut tx = storage::begin(pool, scope).await?;
    let user = users::find(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let sessions = sessions::list_for_user(&mut tx, id).await?;
    tx.commit().await?;
    Ok((user, sessions))
}

/// The user a session was just made for, read as the authenticator (the new session's cookie
/// is not in the request yet).
pub async fn signed_in(pool: &PgPool, id: Uuid) -> Result<UserSummary, ServiceError> {
    find(pool, &Scope::Authenticator, id).await
}

/// One's own live personal API tokens (never their secrets).
pub async fn own_tokens(
    pool: &PgPool,
    principal: &Principal,
) -> Result<Vec<TokenSummary>, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let list = tokens::list(&mut tx, principal.user_id).await?;
    tx.commit().await?;
    Ok(list)
}

/// One's own tokens and live sessions, in one transaction (the account page).
pub async fn own_credentials(
    pool: &PgPool,
    principal: &Principal,
) -> Result<(Vec<TokenSummary>, Vec<SessionSummary>), ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let tokens = tokens::list(&mut tx, principal.user_id).await?;
    let sessions = sessions::list_for_user(&mut tx, principal.user_id).await?;
    tx.commit().await?;
    Ok((tokens, sessions))
}

/// Audit entries before a sequence number, newest first, as stored (the API).
pub async fn audit_entries(
    pool: &PgPool,
    scope: &Scope,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<EntryView>, ServiceError> {
    let mut tx = storage::begin(pool, scope).await?;
    let entries = audit::recent(&mut tx, before, limit).await?;
    tx.commit().await?;
    Ok(entries)
}

/// Audit entries before a sequence number, newest first, with the names a reader needs (the
/// audit page).
pub async fn readable_audit(
    pool: &PgPool,
    scope: &Scope,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<ReadableEntry>, ServiceError> {
    let mut tx = storage::begin(pool, scope).await?;
    let entries = audit::recent_readable(&mut tx, before, limit).await?;
    tx.commit().await?;
    Ok(entries)
}
