//! The report cache (migration 0018): what a cycle's reports are built from, named by a key,
//! and the built reports and files stored under it, shared by every process on the database.
//!
//! `cycle_report_state` holds, per cycle, the fingerprint of its current snapshot set (the one
//! stamped on exports) and a generation that triggers move whenever a snapshot is added or
//! superseded or anything else a report shows changes. `report_cache` holds one entry per cycle
//! and kind; an entry is served only when its key is the key read in the same transaction, and
//! a new key replaces it. A cycle's inputs are read with the cycle itself
//! (`storage::reports::cycle_heads`, `assessment_heads`).

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

/// What one cycle's reports are built from, as of this transaction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CycleInputs {
    /// SHA-256 (hex) over "code revision digest\n" of the current snapshots, by code.
    pub fingerprint: String,
    pub submitted: i32,
    pub generation: i64,
}

/// The entry of `kind` for `cycle` when it was stored under `key`: its body and when it was
/// built.
pub async fn get(
    conn: &mut PgConnection,
    cycle: Uuid,
    kind: &str,
    key: &str,
) -> Result<Option<(Vec<u8>, OffsetDateTime)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT body, created_at FROM report_cache
         WHERE cycle_id = $1 AND kind = $2 AND cache_key = $3",
    )
    .bind(cycle)
    .bind(kind)
    .bind(key)
    .fetch_optional(conn)
    .await
}

/// Stores `body` as the entry of `kind` for `cycle` under `key`, replacing what was there.
pub async fn put(
    conn: &mut PgConnection,
    cycle: Uuid,
    kind: &str,
    key: &str,
    body: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO report_cache (cycle_id, kind, cache_key, body) VALUES ($1, $2, $3, $4)
         ON CONFLICT (cycle_id, kind) DO UPDATE
         SET cache_key = EXCLUDED.cache_key, body = EXCLUDED.body, created_at = now()",
    )
    .bind(cycle)
    .bind(kind)
    .bind(key)
    .bind(body)
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores `header` followed by `file` as the entry of `kind` for `cycle` under `key` (the body
/// [`put`] would store), without any statement carrying the whole file: the file goes into a
/// large object of this transaction `piece` bytes at a time (`lo_from_bytea`, `lo_put`),
/// PostgreSQL joins the header and the object's content into the row (`$4 || lo_get($5)`),
/// and the object is unlinked. The caller's buffers grow to one piece, not to the file. If
/// the transaction fails, the large object goes with it.
pub async fn put_in_pieces(
    conn: &mut PgConnection,
    cycle: Uuid,
    kind: &str,
    key: &str,
    header: &[u8],
    file: &[u8],
    piece: usize,
) -> Result<(), sqlx::Error> {
    let mut pieces = file.chunks(piece.max(1));
    let object: sqlx::postgres::types::Oid = sqlx::query_scalar("SELECT lo_from_bytea(0, $1)")
        .bind(pieces.next().unwrap_or_default())
        .fetch_one(&mut *conn)
        .await?;
    let mut offset = piece.max(1);
    for next in pieces {
        sqlx::query("SELECT lo_put($1, $2, $3)")
            .bind(object)
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .bind(next)
            .execute(&mut *conn)
            .await?;
        offset += next.len();
    }
    sqlx::query(
        "INSERT INTO report_cache (cycle_id, kind, cache_key, body)
         VALUES ($1, $2, $3, $4 || lo_get($5))
         ON CONFLICT (cycle_id, kind) DO UPDATE
         SET cache_key = EXCLUDED.cache_key, body = EXCLUDED.body, created_at = now()",
    )
    .bind(cycle)
    .bind(kind)
    .bind(key)
    .bind(header)
    .bind(object)
    .execute(&mut *conn)
    .await?;
    sqlx::query("SELECT lo_unlink($1)")
        .bind(object)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
