//! What this process may answer from memory without reading PostgreSQL again, and for how long:
//! until a table the answer was read from changes.
//!
//! Every row written in the tables of [`Table`] makes PostgreSQL send `NOTIFY pledge_changes`
//! with the table's name when the writing transaction commits (migration 0026). One connection
//! per process listens. A [`Memo`] keeps answers together with a [`Stamp`] of the change counts
//! of the tables the answer depends on, taken before the answer was read. Before a memo answers,
//! the request waits for a Sync on the listening connection *sent after the request arrived*:
//! PostgreSQL signals the listening backend before the writer's COMMIT returns, and the backend
//! sends every pending notification before it answers the Sync, so every change whose COMMIT had
//! returned before the request arrived has been counted when the Sync returns. (A commit still
//! returning as the request arrives may or may not be counted, as it may or may not be seen by a
//! read begun at that moment.) An answer is given from memory
//! only if the counts are still those of its stamp, so it is never older than a read made at the
//! request's arrival. Requests that arrive while a Sync is out share the next one: under load one
//! round trip serves many requests, and costs PostgreSQL a Sync instead of a statement each.
//!
//! When the listening connection fails, every stamp taken before is void (a notification may
//! have been lost) and memos answer nothing until it is back. Changes that fire no trigger
//! (migrations, a restore) are announced as `everything` ([`announce_everything`]), which voids
//! every stamp too.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{Acquire, Connection, PgConnection, PgPool};
use tokio::sync::{Notify, watch};

/// The channel migration 0026's triggers notify.
const CHANNEL: &str = "pledge_changes";
/// A Sync (or a connection and its LISTEN) not answered within this is a failed connection.
const SYNC_TIMEOUT: Duration = Duration::from_secs(2);
/// A request waits at most this long for a round, then reads PostgreSQL.
const ROUND_WAIT: Duration = Duration::from_secs(5);
/// After a failed connection, requests read PostgreSQL for this long before the next attempt.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// With no request waiting, the listening connection still reads its notifications this often,
/// so that PostgreSQL's notification queue is not held back by a quiet process.
const IDLE_ROUND: Duration = Duration::from_secs(1);

/// The tables whose changes are announced (migration 0026 lists the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Sessions,
    Users,
    DelegationMemberships,
    Notifications,
    Cycles,
    Frameworks,
    CycleReportState,
    CycleImports,
}

impl Table {
    pub const ALL: [Table; 8] = [
        Table::Sessions,
        Table::Users,
        Table::DelegationMemberships,
        Table::Notifications,
        Table::Cycles,
        Table::Frameworks,
        Table::CycleReportState,
        Table::CycleImports,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Sessions => "sessions",
            Table::Users => "users",
            Table::DelegationMemberships => "delegation_memberships",
            Table::Notifications => "notifications",
            Table::Cycles => "cycles",
            Table::Frameworks => "frameworks",
            Table::CycleReportState => "cycle_report_state",
            Table::CycleImports => "cycle_imports",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The change counts of some tables at one moment. Counts only grow, so two equal stamps of
/// the same tables mean none of them changed in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Changes with every (re)connection of the listener: notifications may have been missed.
    epoch: u64,
    changes: u64,
}

/// The last completed round of the listener: every request with a ticket up to `covers` may
/// trust the counts if `ok`.
#[derive(Debug, Clone, Copy)]
struct Round {
    covers: u64,
    ok: bool,
}

/// The process's view of announced changes. Cheap to clone; [`Coherence::off`] answers nothing
/// from memory.
#[derive(Clone)]
pub struct Coherence {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    /// Where the listener connects (its own connection, not one of the request pool's).
    options: PgConnectOptions,
    epoch: AtomicU64,
    counts: [AtomicU64; Table::ALL.len()],
    /// Tickets handed out to requests.
    asked: AtomicU64,
    wake: Notify,
    rounds: watch::Sender<Round>,
    started: AtomicBool,
}

impl Coherence {
    /// Listens with the connection settings of `pool` (its own connection). Nothing is
    /// connected until the first request asks.
    pub fn new(pool: &PgPool) -> Self {
        Self {
            inner: Some(Arc::new(Inner {
                options: (*pool.connect_options()).clone(),
                epoch: AtomicU64::new(0),
                counts: Default::default(),
                asked: AtomicU64::new(0),
                wake: Notify::new(),
                rounds: watch::Sender::new(Round {
                    covers: 0,
                    ok: false,
                }),
                started: AtomicBool::new(false),
            })),
        }
    }

    /// Nothing answered from memory.
    pub fn off() -> Self {
        Self { inner: None }
    }

    /// Waits until every change committed before this call is counted. `false` when that
    /// cannot be known (off, or the listening connection failed): read PostgreSQL.
    pub async fn sync(&self) -> bool {
        let Some(inner) = &self.inner else {
            return false;
        };
        if !inner.started.swap(true, Ordering::SeqCst) {
            tokio::spawn(listen(Arc::downgrade(inner)));
        }
        let ticket = inner.asked.fetch_add(1, Ordering::SeqCst) + 1;
        inner.wake.notify_one();
        let mut rounds = inner.rounds.subscribe();
        // Bounded: should the listener's task be stuck or gone, requests read PostgreSQL.
        let round =
            tokio::time::timeout(ROUND_WAIT, rounds.wait_for(|round| round.covers >= ticket)).await;
        matches!(round, Ok(Ok(round)) if round.ok)
    }

    /// Whether the last round trusted the counts (`false` when off or the listening connection
    /// failed: every request reads PostgreSQL). For `/metrics`.
    pub fn listening(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|inner| inner.rounds.borrow().ok)
    }

    /// The change counts of `tables` now.
    pub fn stamp(&self, tables: &[Table]) -> Option<Stamp> {
        let inner = self.inner.as_ref()?;
        let epoch = inner.epoch.load(Ordering::SeqCst);
        let changes = tables
            .iter()
            .map(|t| inner.counts[t.index()].load(Ordering::SeqCst))
            .fold(0u64, u64::wrapping_add);
        Some(Stamp { epoch, changes })
    }
}

impl Inner {
    fn count(&self, payload: &str) {
        match Table::ALL.iter().find(|t| t.name() == payload) {
            Some(table) => {
                self.counts[table.index()].fetch_add(1, Ordering::SeqCst);
            }
            // `everything`, or a table this build does not know: nothing kept may stand.
            None => {
                self.epoch.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// One round: (re)connects if needed, sends a Sync and counts the notifications that
    /// arrived before its answer. `false` when the counts cannot be trusted.
    async fn round(
        &self,
        listener: &mut Option<PgListener>,
        failed_at: &mut Option<Instant>,
    ) -> bool {
        if listener.is_none() {
            if failed_at.is_some_and(|at| at.elapsed() < RETRY_AFTER) {
                return false;
            }
            let connected = tokio::time::timeout(SYNC_TIMEOUT, connect(&self.options)).await;
            match connected.unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut)) {
                Ok(connected) => {
                    *listener = Some(connected);
                    // Changes made while nobody listened were not counted.
                    self.epoch.fetch_add(1, Ordering::SeqCst);
                    *failed_at = None;
                }
                Err(error) => {
                    if failed_at.is_none() {
                        tracing::warn!(%error, "cannot listen for changes; reading PostgreSQL for every request");
                    }
                    *failed_at = Some(Instant::now());
                    return false;
                }
            }
        }
        let Some(connected) = listener.as_mut() else {
            return false;
        };
        let synced = tokio::time::timeout(SYNC_TIMEOUT, async {
            let conn = connected.acquire().await?;
            conn.ping().await
        })
        .await;
        while let Some(notification) = connected.next_buffered() {
            self.count(notification.payload());
        }
        match synced {
            Ok(Ok(())) => true,
            Ok(Err(error)) => self.lost(listener, failed_at, &error.to_string()),
            Err(_) => self.lost(listener, failed_at, "no answer to a Sync"),
        }
    }

    fn lost(
        &self,
        listener: &mut Option<PgListener>,
        failed_at: &mut Option<Instant>,
        why: &str,
    ) -> bool {
        tracing::warn!(error = why, "the connection listening for changes failed");
        *listener = None;
        self.epoch.fetch_add(1, Ordering::SeqCst);
        *failed_at = Some(Instant::now());
        false
    }
}

/// A new listening connection, in a pool of its own: a dropped listener's connection may still
/// be held by its clean-up (sqlx sends `UNLISTEN *` from a task), and must not keep the next one
/// waiting.
async fn connect(options: &PgConnectOptions) -> Result<PgListener, sqlx::Error> {
    let pool: PgPool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(SYNC_TIMEOUT)
        .connect_lazy_with(options.clone());
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Tells every listening process that anything may have changed, for changes that fire no
/// trigger: a migration (a function or a policy redefined), a restore.
pub async fn announce_everything(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, 'everything')")
        .bind(CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}

/// The listener's task: a round whenever requests wait (all that arrived before it starts share
/// it), and one a second anyway. Ends when the process's state is dropped.
async fn listen(inner: Weak<Inner>) {
    let mut listener = None;
    let mut failed_at = None;
    let mut covered = 0;
    loop {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if inner.asked.load(Ordering::SeqCst) == covered {
            let _ = tokio::time::timeout(IDLE_ROUND, inner.wake.notified()).await;
        }
        // Every ticket up to `target` was handed out before this round's Sync is sent.
        let target = inner.asked.load(Ordering::SeqCst);
        let ok = inner.round(&mut listener, &mut failed_at).await;
        covered = target;
        inner.rounds.send_replace(Round { covers: target, ok });
    }
}

/// Answers kept while the tables they were read from are unchanged, and at most for the time
/// each was read with. At most `capacity` entries.
pub struct Memo<K, V> {
    coherence: Coherence,
    depends_on: &'static [Table],
    capacity: usize,
    entries: Mutex<HashMap<K, Entry<V>>>,
    from_memory: AtomicU64,
    from_database: AtomicU64,
}

struct Entry<V> {
    stamp: Stamp,
    until: Instant,
    value: V,
}

/// A miss: what to keep the answer read from PostgreSQL with (nothing, when the counts are not
/// trusted). Taken before the read, so that a change the read did not see voids it.
#[must_use]
pub struct Ticket {
    stamp: Option<Stamp>,
    taken: Instant,
}

impl<K: Hash + Eq + Clone, V: Clone> Memo<K, V> {
    pub fn new(coherence: Coherence, depends_on: &'static [Table], capacity: usize) -> Self {
        Self {
            coherence,
            depends_on,
            capacity,
            entries: Mutex::new(HashMap::new()),
            from_memory: AtomicU64::new(0),
            from_database: AtomicU64::new(0),
        }
    }

    /// How many answers were given from memory and how many had to be read (for `/metrics`).
    pub fn answered(&self) -> (u64, u64) {
        (
            self.from_memory.load(Ordering::Relaxed),
            self.from_database.load(Ordering::Relaxed),
        )
    }

    /// The kept answer for `key` if none of its tables changed before this call; else the
    /// ticket to keep the one read now.
    pub async fn get(&self, key: &K) -> Result<V, Ticket> {
        self.get_with(key, |kept| Some(kept.clone())).await
    }

    /// [`Memo::get`], through `usable`: what it makes of the kept answer, or a miss when it
    /// makes nothing of it (an answer that refers to something no longer kept elsewhere).
    pub async fn get_with<R>(
        &self,
        key: &K,
        usable: impl FnOnce(&V) -> Option<R>,
    ) -> Result<R, Ticket> {
        let taken = Instant::now();
        if !self.coherence.sync().await {
            self.from_database.fetch_add(1, Ordering::Relaxed);
            return Err(Ticket { stamp: None, taken });
        }
        let stamp = self.coherence.stamp(self.depends_on);
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let kept = entries
            .get(key)
            .filter(|entry| Some(entry.stamp) == stamp && Instant::now() < entry.until)
            .and_then(|entry| usable(&entry.value));
        let counter = match kept {
            Some(_) => &self.from_memory,
            None => &self.from_database,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        kept.ok_or_else(|| Ticket {
            stamp,
            taken: Instant::now(),
        })
    }

    /// Keeps `value`, read after `ticket` was taken, for at most `for_at_most`.
    pub fn put(&self, ticket: Ticket, key: K, value: V, for_at_most: Duration) {
        let Some(stamp) = ticket.stamp else {
            return;
        };
        let Some(until) = ticket.taken.checked_add(for_at_most) else {
            return;
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            let now = Instant::now();
            let current = self.coherence.stamp(self.depends_on);
            entries.retain(|_, entry| Some(entry.stamp) == current && entry.until > now);
            // All still good: one goes (whichever the map gives first), not all of them.
            if entries.len() >= self.capacity
                && let Some(evicted) = entries.keys().next().cloned()
            {
                entries.remove(&evicted);
            }
        }
        entries.insert(
            key,
            Entry {
                stamp,
                until,
                value,
            },
        );
    }
}
