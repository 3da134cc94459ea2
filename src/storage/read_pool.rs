//! Where report and export reads go: a streaming replica when one is configured
//! (`--replica-url`, `PLEDGE_REPLICA_URL`) and answering, otherwise the primary.
//!
//! - Only reads that need not see the caller's own latest writes are sent here: the cycle
//!   comparison (page and API) and the cycle exports. Everything else, writes included, uses
//!   the primary pool (`AppState.db`).
//! - A monitor samples the primary's WAL position and the replica's replay position every
//!   second and keeps the recent samples: the replica's data is "as of" the newest sample whose
//!   position it has replayed. When that is older than `--replica-max-lag`, [`Read::stale_as_of`]
//!   says so and the report shows how old its figures are.
//! - When the replica does not answer (the monitor's probe fails, or a read on it fails with a
//!   lost connection) reads go to the primary until the monitor finds it answering again.
//! - An export is recorded in the audit log: on a replica its read transaction cannot write, so
//!   [`Audited`](super::Audited) begun inside [`ReadPool::run`] on the replica appends its entry in
//!   a transaction of its own on the primary when it commits (the entry names what was read).

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Executor, PgPool};
use time::OffsetDateTime;

use super::APP_ROLE;

/// How often the monitor samples the two servers.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// How long one probe may take before the server counts as not answering.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Samples kept (one hour at one a second): a replica further behind is "at least an hour".
const SAMPLES_KEPT: usize = 3600;

tokio::task_local! {
    /// Set while a read runs on the replica: the primary, where audit entries are written.
    static PRIMARY_FOR_WRITES: PgPool;
}

/// The primary a transaction begun now must write its audit entry to, when it reads from the
/// replica (see the module documentation).
pub(crate) fn primary_for_writes() -> Option<PgPool> {
    PRIMARY_FOR_WRITES.try_with(Clone::clone).ok()
}

/// An error that may mean the server was not reachable (the read is then tried on the primary).
pub trait MaybeUnavailable {
    fn retry_on_primary(&self) -> bool;
}

impl MaybeUnavailable for sqlx::Error {
    fn retry_on_primary(&self) -> bool {
        super::is_unavailable(self)
            || matches!(self, sqlx::Error::Database(db) if db.code().is_some_and(|code| {
                // read_only_sql_transaction (a write sent here by mistake), and a query
                // cancelled by a conflict with recovery on the standby.
                ["25006", "40001"].contains(&code.as_ref())
            }))
    }
}

/// The pool reads are sent to, with the replica (if any) and its monitor.
#[derive(Clone)]
pub struct ReadPool {
    primary: PgPool,
    replica: Option<Arc<Replica>>,
}

struct Replica {
    pool: PgPool,
    max_lag: Duration,
    status: Mutex<Status>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Status {
    up: bool,
    /// The moment the replica's data is known to be current to.
    as_of: Option<OffsetDateTime>,
}

/// Which server answered a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Primary,
    Replica,
}

/// A read's result, where it came from and, from a replica behind by more than the threshold,
/// how old its data is.
#[derive(Debug)]
pub struct Read<T> {
    pub value: T,
    pub source: Source,
    /// Set when the replica's data was older than `--replica-max-lag`.
    pub stale_as_of: Option<OffsetDateTime>,
}

/// The replica's state as `/metrics` shows it.
#[derive(Debug, Clone, Copy)]
pub struct ReplicaHealth {
    pub up: bool,
    pub lag: Option<Duration>,
}

impl ReadPool {
    /// Reads on the primary only (no replica configured).
    pub fn primary_only(primary: PgPool) -> Self {
        Self {
            primary,
            replica: None,
        }
    }

    /// Reads on the replica at `options` (connecting as the service role: another login role
    /// switches to it), with a monitor task. Does not wait for the replica: until the monitor
    /// has seen it answer, reads go to the primary.
    pub fn with_replica(
        primary: PgPool,
        options: PgConnectOptions,
        max_connections: u32,
        max_lag: Duration,
    ) -> Self {
        let set_role = options.get_username() != APP_ROLE;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // A replica that stops answering must not hold a request for long: the read then
            // goes to the primary.
            .acquire_timeout(Duration::from_secs(1))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if set_role {
                        conn.execute("SET ROLE pledge_app").await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy_with(
                options
                    .application_name("pledge-reads")
                    .log_statements(tracing::log::LevelFilter::Debug),
            );
        let replica = Arc::new(Replica {
            pool,
            max_lag,
            status: Mutex::new(Status::default()),
        });
        tokio::spawn(monitor(primary.clone(), Arc::downgrade(&replica)));
        Self {
            primary,
            replica: Some(replica),
        }
    }

    /// The primary pool (writes, and reads that must see their own writes).
    pub fn primary(&self) -> &PgPool {
        &self.primary
    }

    /// The replica's pool, when one is configured (for `/metrics`).
    pub fn replica_pool(&self) -> Option<&PgPool> {
        self.replica.as_ref().map(|r| &r.pool)
    }

    /// The replica's state, when one is configured.
    pub fn replica_health(&self) -> Option<ReplicaHealth> {
        let replica = self.replica.as_ref()?;
        let status = replica.status();
        Some(ReplicaHealth {
            up: status.up,
            lag: status.as_of.map(lag_since),
        })
    }

    /// Runs `read` on the replica when it answers, otherwise (or when the read finds it gone)
    /// on the primary.
    pub async fn run<T, E, F, Fut>(&self, read: F) -> Result<Read<T>, E>
    where
        F: Fn(PgPool) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: MaybeUnavailable,
    {
        if let Some(replica) = &self.replica {
            let status = replica.status();
            if status.up {
                let attempt = PRIMARY_FOR_WRITES
                    .scope(self.primary.clone(), read(replica.pool.clone()))
                    .await;
                match attempt {
                    Ok(value) => {
                        let stale_as_of = status
                            .as_of
                            .filter(|as_of| lag_since(*as_of) > replica.max_lag);
                        return Ok(Read {
                            value,
                            source: Source::Replica,
                            stale_as_of,
                        });
                    }
                    Err(error) if error.retry_on_primary() => {
                        tracing::warn!("the read replica did not answer; reading from the primary");
                        replica.set_down();
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        Ok(Read {
            value: read(self.primary.clone()).await?,
            source: Source::Primary,
            stale_as_of: None,
        })
    }
}

impl Replica {
    fn status(&self) -> Status {
        self.status.lock().map(|s| *s).unwrap_or_default()
    }

    fn set_down(&self) {
        if let Ok(mut status) = self.status.lock() {
            status.up = false;
        }
    }

    fn set(&self, status: Status) {
        if let Ok(mut current) = self.status.lock() {
            *current = status;
        }
    }
}

fn lag_since(as_of: OffsetDateTime) -> Duration {
    Duration::try_from(OffsetDateTime::now_utc() - as_of).unwrap_or_default()
}

/// Samples both servers every second until the read pool is dropped.
async fn monitor(primary: PgPool, replica: std::sync::Weak<Replica>) {
    let mut samples: VecDeque<(OffsetDateTime, i64)> = VecDeque::new();
    let mut was_up = false;
    let mut every = tokio::time::interval(SAMPLE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(replica) = replica.upgrade() else {
            return;
        };
        let sampled_at = OffsetDateTime::now_utc();
        let primary_position = probe(
            &primary,
            "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint, false",
        )
        .await;
        if let Some((position, _)) = primary_position {
            samples.push_back((sampled_at, position));
            if samples.len() > SAMPLES_KEPT {
                samples.pop_front();
            }
        }
        let replayed = probe(
            &replica.pool,
            "SELECT coalesce((pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, 0), \
             pg_is_in_recovery()",
        )
        .await;
        let status = match replayed {
            None => Status {
                up: false,
                as_of: None,
            },
            // Not a standby (promoted, or the primary named twice): current by definition.
            Some((_, false)) => Status {
                up: true,
                as_of: Some(OffsetDateTime::now_utc()),
            },
            Some((replayed, true)) => Status {
                up: true,
                as_of: data_as_of(&samples, replayed),
            },
        };
        if status.up != was_up {
            if status.up {
                tracing::info!("the read replica answers: report and export reads go to it");
            } else {
                tracing::warn!("the read replica does not answer: reads go to the primary");
            }
            was_up = status.up;
        }
        replica.set(status);
    }
}

/// The newest sample whose primary position the replica has replayed; the oldest sample's
/// moment when it is behind all of them (at least that old).
fn data_as_of(samples: &VecDeque<(OffsetDateTime, i64)>, replayed: i64) -> Option<OffsetDateTime> {
    samples
        .iter()
        .rev()
        .find(|(_, position)| *position <= replayed)
        .or(samples.front())
        .map(|(at, _)| *at)
}

async fn probe(pool: &PgPool, sql: &str) -> Option<(i64, bool)> {
    match tokio::time::timeout(PROBE_TIMEOUT, sqlx::query_as(sql).fetch_one(pool)).await {
        Ok(Ok(row)) => Some(row),
        Ok(Err(error)) => {
            tracing::debug!(%error, "replication probe failed");
            None
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_is_as_of_the_newest_sample_the_replica_has_replayed() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let at = |s: i64| t0 + time::Duration::seconds(s);
        let samples: VecDeque<_> = [(at(0), 100), (at(1), 100), (at(2), 250), (at(3), 400)]
            .into_iter()
            .collect();
        assert_eq!(data_as_of(&samples, 400), Some(at(3)), "caught up");
        assert_eq!(data_as_of(&samples, 300), Some(at(2)));
        assert_eq!(
            data_as_of(&samples, 100),
            Some(at(1)),
            "idle primary: no lag"
        );
        assert_eq!(data_as_of(&samples, 50), Some(at(0)), "at least the oldest");
        assert_eq!(data_as_of(&VecDeque::new(), 50), None);
    }
}
