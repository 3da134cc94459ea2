//! Users and their delegation membership.

use sqlx::PgConnection;
use uuid::Uuid;

pub use crate::domain::role::{DelegationRole, Role};

/// A user to create. The password arrives hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub role: Role,
}

/// Creates a user (and the membership, for a delegation member) in the caller's transaction.
pub async fn insert(conn: &mut PgConnection, user: &NewUser) -> Result<Uuid, sqlx::Error> {
    let role = user.role.kind();
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO users (email, display_name, password_hash, must_change_password, role)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&user.email)
    .bind(&user.display_name)
    .bind(&user.password_hash)
    .bind(user.must_change_password)
    .bind(role)
    .fetch_one(&mut *conn)
    .await?;
    if let Role::Delegation {
        participant_id,
        role,
    } = user.role
    {
        sqlx::query(
            "INSERT INTO delegation_memberships (user_id, participant_id, delegation_role)
             VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(participant_id)
        .bind(role.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}

/// What signing in needs to know about an account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignInRecord {
    pub id: Uuid,
    pub password_hash: String,
    pub disabled: bool,
    pub has_second_factor: bool,
    pub must_change_password: bool,
}

/// The account for an e-mail address (case-insensitive), if any.
pub async fn find_for_sign_in(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<SignInRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, password_hash, disabled_at IS NOT NULL AS disabled,
                totp_enabled_at IS NOT NULL AS has_second_factor, must_change_password
         FROM users WHERE lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(conn)
    .await
}

/// A user as admins see them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserSummary {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// admin, analyst, head, contributor or viewer.
    pub role: String,
    pub participant_code: Option<String>,
    pub participant_id: Option<Uuid>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub second_factor: bool,
    pub live_sessions: i64,
}

const SUMMARY: &str = "SELECT u.id, u.email, u.display_name,
        coalesce(m.delegation_role, u.role) AS role, p.code AS participant_code,
        m.participant_id, u.disabled_at IS NOT NULL AS disabled, u.must_change_password,
        u.totp_enabled_at IS NOT NULL AS second_factor,
        (SELECT count(*) FROM sessions s
         WHERE s.user_id = u.id AND s.ended_at IS NULL AND s.expires_at > now()) AS live_sessions
     FROM users u
     LEFT JOIN delegation_memberships m ON m.user_id = u.id
     LEFT JOIN participants p ON p.id = m.participant_id";

/// Every user, by e-mail.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<UserSummary>, sqlx::Error> {
    sqlx::query_as(&format!("{SUMMARY} ORDER BY lower(u.email)"))
        .fetch_all(conn)
        .await
}

/// One user.
pub async fn find(conn: &mut PgConnection, id: Uuid) -> Result<Option<UserSummary>, sqlx::Error> {
    sqlx::query_as(&format!("{SUMMARY} WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Changes a user's role and delegation membership; false when the user does not exist.
pub async fn set_role(conn: &mut PgConnection, id: Uuid, role: Role) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM delegation_memberships WHERE user_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let updated = sqlx::query(
        "UPDATE users SET role = $2, updated_at = now(), row_version = row_version + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(role.kind())
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    if let Role::Delegation {
        participant_id,
        role,
    } = role
    {
        sqlx::query(
            "INSERT INTO delegation_memberships (user_id, participant_id, delegation_role) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(participant_id)
        .bind(role.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

/// Sets a user's time zone (an IANA name the caller has checked); the zone it replaces, or
/// `None` when the user does not exist.
pub async fn set_time_zone(
    conn: &mut PgConnection,
    id: Uuid,
    zone: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE users u SET time_zone = $2, updated_at = now(), row_version = u.row_version + 1
         FROM (SELECT id, time_zone FROM users WHERE id = $1 FOR UPDATE) old
         WHERE u.id = old.id
         RETURNING old.time_zone",
    )
    .bind(id)
    .bind(zone)
    .fetch_optional(conn)
    .await
}

/// Disables or re-enables a user; false when the user does not exist.
pub async fn set_disabled(
    conn: &mut PgConnection,
    id: Uuid,
    disabled: bool,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE users SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END,
                          updated_at = now(), row_version = row_version + 1
         WHERE id = $1",
    )
    .bind(id)
    .bind(disabled)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Replaces a user's password hash; `must_change` marks a one-time password.
pub async fn set_password(
    conn: &mut PgConnection,
    id: Uuid,
    hash: &str,
    must_change: bool,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE users SET password_hash = $2, must_change_password = $3, updated_at = now(),
                          row_version = row_version + 1
         WHERE id = $1",
    )
    .bind(id)
    .bind(hash)
    .bind(must_change)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The stored password hash of a user.
pub async fn password_hash(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The user's TOTP secret and the last time step accepted, when the second factor is on.
pub async fn totp_state(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(Vec<u8>, Option<i64>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT totp_secret, totp_last_step FROM users WHERE id = $1 AND totp_enabled_at IS NOT NULL",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Records the time step of an accepted code, only if it is later than the last one (so a code
/// is never accepted twice, even by two processes at once). Returns whether it was recorded.
pub async fn claim_totp_step(
    conn: &mut PgConnection,
    id: Uuid,
    step: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE users SET totp_last_step = $2
         WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
    )
    .bind(id)
    .bind(step)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Turns the second factor on with a new secret and recovery codes (hashes), replacing old ones.
pub async fn enable_totp(
    conn: &mut PgConnection,
    id: Uuid,
    secret: &[u8],
    step: i64,
    recovery_hashes: &[Vec<u8>],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET totp_secret = $2, totp_enabled_at = now(), totp_last_step = $3,
                          updated_at = now(), row_version = row_version + 1
         WHERE id = $1",
    )
    .bind(id)
    .bind(secret)
    .bind(step)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, UNNEST($2::bytea[])")
        .bind(id)
        .bind(recovery_hashes)
        .execute(conn)
        .await?;
    Ok(())
}

/// Uses up one recovery code; false when it is unknown or already used.
pub async fn use_recovery_code(
    conn: &mut PgConnection,
    id: Uuid,
    code_hash: &[u8],
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(id)
    .bind(code_hash)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The id of the user with this e-mail address.
pub async fn id_by_email(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM users WHERE lower(email) = lower($1)")
        .bind(email)
        .fetch_optional(conn)
        .await
}

/// Turns the second factor off and deletes the recovery codes; false when the user does not exist.
pub async fn clear_totp(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL,
                          updated_at = now(), row_version = row_version + 1
         WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() == 1)
}
