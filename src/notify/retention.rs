//! The outbox is purged: mails no longer pending — `sent`, `failed` (given up) and `digested`
//! (sent inside a digest) — written more than the retention ago (`--mail-retention-days`,
//! default 90) are deleted by the scheduler pass, in batches of [`BATCH`] rows, each its own
//! short transaction, so a large backlog never holds locks long or blocks the sender. A pass
//! deletes at most [`MAX_BATCHES`] batches; the next pass goes on. `pending` and `held` mails
//! are never deleted, whatever their age (the row-level policy refuses it as well). Digest keys
//! (`mail_digests`) of days older than the retention go too. The in-app notifications stay.

use sqlx::PgPool;
use time::OffsetDateTime;

use crate::storage::notifications as store;
use crate::storage::{self, Scope};

/// Rows deleted per statement.
pub const BATCH: i64 = 1_000;
/// Batches per pass at most.
pub const MAX_BATCHES: usize = 50;

/// Deletes what the retention allows at `now`; returns the number of outbox rows deleted.
pub async fn purge(
    pool: &PgPool,
    now: OffsetDateTime,
    retention: std::time::Duration,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    let before = now - retention;
    let mut deleted = 0;
    for _ in 0..MAX_BATCHES {
        let mut tx = storage::begin(pool, &Scope::System).await?;
        let done = store::purge_outbox(&mut tx, before, batch).await?;
        tx.commit().await?;
        deleted += done;
        if done < u64::try_from(batch).unwrap_or(u64::MAX) {
            break;
        }
    }
    let mut tx = storage::begin(pool, &Scope::System).await?;
    store::purge_digest_keys(&mut tx, before.date()).await?;
    tx.commit().await?;
    Ok(deleted)
}
