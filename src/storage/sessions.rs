//! Sessions, stored in PostgreSQL so that every service process shares them. Only a SHA-256 of
//! the cookie value is stored.

use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::role::Role;

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    SignedOut,
    Idle,
    Expired,
    PasswordChanged,
    UserDisabled,
    Revoked,
    /// Replaced by a new session id (after the second factor).
    Replaced,
}

impl EndReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::SignedOut => "signed_out",
            Self::Idle => "idle",
            Self::Expired => "expired",
            Self::PasswordChanged => "password_changed",
            Self::UserDisabled => "user_disabled",
            Self::Revoked => "revoked",
            Self::Replaced => "replaced",
        }
    }
}

/// A new session's row.
pub struct NewSession<'a> {
    pub id_hash: &'a [u8],
    pub user_id: Uuid,
    pub csrf_token: &'a str,
    pub fully_authenticated: bool,
    pub lifetime: Duration,
    pub client_addr: Option<std::net::IpAddr>,
    pub user_agent: Option<&'a str>,
}

/// Stores a new session.
pub async fn insert(conn: &mut PgConnection, session: &NewSession<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, fully_authenticated, expires_at,
             client_addr, user_agent)
         VALUES ($1, $2, $3, $4, now() + $5, $6::inet, left($7, 300))",
    )
    .bind(session.id_hash)
    .bind(session.user_id)
    .bind(session.csrf_token)
    .bind(session.fully_authenticated)
    .bind(session.lifetime)
    .bind(session.client_addr.map(|addr| addr.to_string()))
    .bind(session.user_agent)
    .execute(conn)
    .await?;
    Ok(())
}

/// A live session with its user, as the request layer needs it.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub handle: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Option<Role>,
    pub csrf_token: String,
    pub fully_authenticated: bool,
    pub must_change_password: bool,
    pub has_second_factor: bool,
    /// The user's IANA time zone (0012).
    pub time_zone: String,
    pub user_disabled: bool,
    pub idle_expired: bool,
    pub absolute_expired: bool,
    /// The last activity is older than [`touch`]'s interval: it has something to record.
    pub stale_activity: bool,
    /// The user's unread notifications (the layout's count; migration 0017).
    pub unread_notifications: i64,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    handle: Uuid,
    user_id: Uuid,
    email: String,
    display_name: String,
    role: String,
    participant_id: Option<Uuid>,
    delegation_role: Option<String>,
    csrf_token: String,
    fully_authenticated: bool,
    must_change_password: bool,
    has_second_factor: bool,
    time_zone: String,
    user_disabled: bool,
    idle_expired: bool,
    absolute_expired: bool,
    stale_activity: bool,
    unread_notifications: i64,
}

/// Finds the session for a cookie (with its user), whether or not it has timed out; `None` when
/// unknown or ended. Runs in the authenticator scope (memberships are row-level secured).
pub async fn find(
    conn: &mut PgConnection,
    id_hash: &[u8],
    idle: Duration,
) -> Result<Option<SessionRecord>, sqlx::Error> {
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT s.handle, s.user_id, u.email, u.display_name, u.role, m.participant_id,
                m.delegation_role, s.csrf_token, s.fully_authenticated, u.must_change_password,
                u.totp_enabled_at IS NOT NULL AS has_second_factor, u.time_zone,
                u.disabled_at IS NOT NULL AS user_disabled,
                s.last_seen_at + $2 < now() AS idle_expired,
                s.expires_at < now() AS absolute_expired,
                s.last_seen_at < now() - least(interval '60 seconds', $2 / 2) AS stale_activity,
                pledge_unread_notifications(s.user_id) AS unread_notifications
         FROM sessions s
         JOIN users u ON u.id = s.user_id
         LEFT JOIN delegation_memberships m ON m.user_id = u.id
         WHERE s.id_hash = $1 AND s.ended_at IS NULL",
    )
    .bind(id_hash)
    .bind(idle)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| SessionRecord {
        role: Role::from_parts(
            &row.role,
            row.participant_id,
            row.delegation_role.as_deref(),
        ),
        handle: row.handle,
        user_id: row.user_id,
        email: row.email,
        display_name: row.display_name,
        csrf_token: row.csrf_token,
        fully_authenticated: row.fully_authenticated,
        must_change_password: row.must_change_password,
        has_second_factor: row.has_second_factor,
        time_zone: row.time_zone,
        user_disabled: row.user_disabled,
        idle_expired: row.idle_expired,
        absolute_expired: row.absolute_expired,
        stale_activity: row.stale_activity,
        unread_notifications: row.unread_notifications,
    }))
}

/// Records activity, at most once a minute per session (to spare writes), or every half idle
/// timeout when that is shorter, so that an active session never looks idle.
pub async fn touch(
    conn: &mut PgConnection,
    id_hash: &[u8],
    idle: Duration,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sessions SET last_seen_at = now()
         WHERE id_hash = $1 AND last_seen_at < now() - least(interval '60 seconds', $2 / 2)",
    )
    .bind(id_hash)
    .bind(idle)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends one session by its secret id.
pub async fn end(
    conn: &mut PgConnection,
    id_hash: &[u8],
    reason: EndReason,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET ended_at = now(), end_reason = $2 WHERE id_hash = $1 AND ended_at IS NULL")
        .bind(id_hash)
        .bind(reason.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends one session by its public handle; returns the user it belonged to, if it was live.
pub async fn end_by_handle(
    conn: &mut PgConnection,
    handle: Uuid,
    reason: EndReason,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE sessions SET ended_at = now(), end_reason = $2
         WHERE handle = $1 AND ended_at IS NULL RETURNING user_id",
    )
    .bind(handle)
    .bind(reason.as_str())
    .fetch_optional(conn)
    .await
}

/// Ends every live session of a user (sign-out everywhere, password change, disabling), except
/// `keep` when given; returns how many ended.
pub async fn end_all_for_user(
    conn: &mut PgConnection,
    user_id: Uuid,
    reason: EndReason,
    keep: Option<&[u8]>,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE sessions SET ended_at = now(), end_reason = $2
         WHERE user_id = $1 AND ended_at IS NULL AND ($3::bytea IS NULL OR id_hash <> $3)",
    )
    .bind(user_id)
    .bind(reason.as_str())
    .bind(keep)
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// A live session as listed to its user or to an admin.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionSummary {
    pub handle: Uuid,
    pub user_id: Uuid,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

/// The live sessions of one user, newest first.
pub async fn list_for_user(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Vec<SessionSummary>, sqlx::Error> {
    sqlx::query_as(
        "SELECT handle, user_id, created_at, last_seen_at, host(client_addr) AS client_addr, user_agent
         FROM sessions WHERE user_id = $1 AND ended_at IS NULL AND expires_at > now()
         ORDER BY created_at DESC",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}
