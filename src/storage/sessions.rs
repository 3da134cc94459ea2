//! Sessions, stored in PostgreSQL so that every service process shares them. Only a SHA-256 of
//! the cookie value is stored.

use sqlx::{PgConnection, PgPool};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::coherence::Table;
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
    /// The reason as `resolve_session` names it (the three it ends sessions for).
    fn parse(text: &str) -> Option<Self> {
        match text {
            "idle" => Some(Self::Idle),
            "expired" => Some(Self::Expired),
            "user_disabled" => Some(Self::UserDisabled),
            _ => None,
        }
    }

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

/// A session found for a cookie, with its user, as the request layer needs it.
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
    /// Why the lookup ended the session (its user disabled, its lifetime or idle timeout
    /// passed); `None` when it is live.
    pub ended_because: Option<EndReason>,
    /// The user's unread notifications (the layout's count; migration 0017).
    pub unread_notifications: i64,
    /// How long this answer holds while none of [`RESOLVED_FROM`] changes: until the session's
    /// lifetime ends or its next activity is due to be recorded (migration 0026).
    pub unchanged_for: std::time::Duration,
}

/// The tables `resolve_session` reads (with `pledge_unread_notifications`): an answer kept in
/// memory stands while none of them changes (`storage::coherence`).
pub const RESOLVED_FROM: &[Table] = &[
    Table::Sessions,
    Table::Users,
    Table::DelegationMemberships,
    Table::Notifications,
];

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
    ended_because: Option<String>,
    unread_notifications: i64,
    unchanged_for: f64,
}

/// Resolves a cookie's session in one statement, outside any transaction
/// (`resolve_session`, migration 0025): the session with its user, or `None` when unknown
/// or ended before. A session found dead (its user disabled, past its lifetime, idle longer than
/// `idle`) is ended by the same statement and says why; a live one has its activity recorded at
/// most once a minute, or every half idle timeout when that is shorter, so that an active session
/// never looks idle.
pub async fn resolve(
    pool: &PgPool,
    id_hash: &[u8],
    idle: Duration,
) -> Result<Option<SessionRecord>, sqlx::Error> {
    let row: Option<SessionRow> = sqlx::query_as("SELECT * FROM resolve_session($1, $2)")
        .bind(id_hash)
        .bind(idle)
        .fetch_optional(pool)
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
        ended_because: row.ended_because.as_deref().and_then(EndReason::parse),
        unread_notifications: row.unread_notifications,
        unchanged_for: std::time::Duration::try_from_secs_f64(row.unchanged_for)
            .unwrap_or_default(),
    }))
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
