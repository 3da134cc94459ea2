//! Sign-in throttling shared by every service process: failures per key (an account or a client
//! address) within a window; past a threshold the key is blocked for a while that doubles with
//! each further failure, up to a cap, so an attacker cannot lock a real user out for long.

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

/// Per client address: 30 failures in 15 minutes, then 1 minute doubling up to 1 hour.
pub const ADDRESS: Limits = Limits {
    threshold: 30,
    window: Duration::minutes(15),
    first_block: Duration::minutes(1),
    max_block: Duration::hours(1),
};

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

/// Counts one failure for a key and blocks it past the threshold.
pub async fn record_failure(
    conn: &mut PgConnection,
    key: &str,
    limits: Limits,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sign_in_throttle AS t (key, failures, window_start)
         VALUES ($1, 1, now())
         ON CONFLICT (key) DO UPDATE SET
             failures = CASE WHEN t.window_start < now() - $2 THEN 1 ELSE t.failures + 1 END,
             window_start = CASE WHEN t.window_start < now() - $2 THEN now() ELSE t.window_start END",
    )
    .bind(key)
    .bind(limits.window)
    .execute(&mut *conn)
    .await?;
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
