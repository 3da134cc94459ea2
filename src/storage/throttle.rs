//! Sign-in throttling shared by every service process: failures per key (an account or a client
//! address) within a window; past a threshold the key is blocked for a while that doubles with
//! each further failure, up to a cap, so an attacker cannot lock a real user out for long.
//! Attempts made while a key is blocked are refused and not counted, so retrying during a block
//! never lengthens it. A browser in which the account's user completed a sign-in (a known
//! device, [`is_known_device`]) is not held by its address's block (docs/security.md).

use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

/// Limits for one kind of key.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures allowed within the window before blocking.
    pub threshold: i32,
    pub window: Duration,
    /// First block; each further failure doubles it.
    pub first_block: Duration,
    pub max_block: Duration,
}

/// Per account: 5 failures in 15 minutes, then 30 s doubling up to 15 minutes.
pub const ACCOUNT: Limits = Limits {
    threshold: 5,
    window: Duration::minutes(15),
    first_block: Duration::seconds(30),
    max_block: Duration::minutes(15),
};

/// Per client address: 30 failures in 15 minutes, then 1 minute doubling up to 15 minutes
/// (one address may be a whole office behind NAT: its block stays short).
pub const ADDRESS: Limits = Limits {
    threshold: 30,
    window: Duration::minutes(15),
    first_block: Duration::minutes(1),
    max_block: Duration::minutes(15),
};

/// How long a browser stays a known device of its user after its last completed sign-in.
pub const KNOWN_DEVICE_LIFETIME: Duration = Duration::days(90);

/// Until when any of these keys is blocked, if it is.
pub async fn blocked_until(
    conn: &mut PgConnection,
    keys: &[String],
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT max(blocked_until) FROM sign_in_throttle WHERE key = ANY($1) AND blocked_until > now()",
    )
    .bind(keys)
    .fetch_one(conn)
    .await
}

/// The first half of the two-part advisory lock keys of throttle keys (a key space apart from
/// the single-number locks used elsewhere).
const LOCK_SPACE: i32 = 0x7468_726f;

/// Serialises the attempts on a key until the end of the transaction (an advisory lock, as the
/// key's row may not exist yet).
pub async fn lock(conn: &mut PgConnection, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($2, hashtext($1))")
        .bind(key)
        .bind(LOCK_SPACE)
        .execute(conn)
        .await?;
    Ok(())
}

/// Counts one failure for a key and blocks it past the threshold. A key that is blocked now is
/// left as it is: attempts during a block do not lengthen it.
pub async fn record_failure(
    conn: &mut PgConnection,
    key: &str,
    limits: Limits,
) -> Result<(), sqlx::Error> {
    let counted = sqlx::query(
        "INSERT INTO sign_in_throttle AS t (key, failures, window_start)
         VALUES ($1, 1, now())
         ON CONFLICT (key) DO UPDATE SET
             failures = CASE WHEN t.window_start < now() - $2 THEN 1 ELSE t.failures + 1 END,
             window_start = CASE WHEN t.window_start < now() - $2 THEN now() ELSE t.window_start END
         WHERE t.blocked_until IS NULL OR t.blocked_until <= now()",
    )
    .bind(key)
    .bind(limits.window)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if counted == 0 {
        return Ok(());
    }
    sqlx::query(
        "UPDATE sign_in_throttle SET blocked_until = now() + least(
             $3 * power(2, least(failures - $2, 20))::int, $4)
         WHERE key = $1 AND failures >= $2",
    )
    .bind(key)
    .bind(limits.threshold)
    .bind(limits.first_block)
    .bind(limits.max_block)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the failures of a key (after a successful sign-in).
pub async fn clear(conn: &mut PgConnection, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sign_in_throttle WHERE key = $1")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether the browser's known-device token (its hash) belongs to this user and was issued or
/// used within [`KNOWN_DEVICE_LIFETIME`]; if so, marks it used.
pub async fn is_known_device(
    conn: &mut PgConnection,
    token_hash: &[u8],
    user_id: uuid::Uuid,
) -> Result<bool, sqlx::Error> {
    let known = sqlx::query(
        "UPDATE known_devices SET last_used_at = now()
         WHERE token_hash = $1 AND user_id = $2 AND last_used_at > now() - $3",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(KNOWN_DEVICE_LIFETIME)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(known > 0)
}

/// Whether the user has any known device still within its lifetime (notifications: a sign-in
/// elsewhere is news only then).
pub async fn has_known_devices(
    conn: &mut PgConnection,
    user_id: uuid::Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM known_devices WHERE user_id = $1 AND last_used_at > now() - $2)",
    )
    .bind(user_id)
    .bind(KNOWN_DEVICE_LIFETIME)
    .fetch_one(conn)
    .await
}

/// Records a new known device for the user of a fully signed-in session (by its id's hash);
/// returns whether the session qualified. Devices past their lifetime are forgotten meanwhile.
pub async fn remember_device(
    conn: &mut PgConnection,
    session_id_hash: &[u8],
    token_hash: &[u8],
) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM known_devices WHERE last_used_at < now() - $1")
        .bind(KNOWN_DEVICE_LIFETIME)
        .execute(&mut *conn)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO known_devices (token_hash, user_id)
         SELECT $2, user_id FROM sessions
         WHERE id_hash = $1 AND fully_authenticated AND ended_at IS NULL",
    )
    .bind(session_id_hash)
    .bind(token_hash)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted > 0)
}
