//! Keeps the private cluster up while the service runs: when its postmaster dies (killed, out of
//! memory …) it is started again, with a backoff between failed attempts, and `/readyz` says
//! `database_restarting` meanwhile (docs/operations.md).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::PrivateCluster;

/// How often the postmaster is checked.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// First wait after a failed start; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Whether the private cluster is being started again, and how many restarts have begun: a
/// readiness probe that failed while it waited can tell that a restart began meanwhile.
#[derive(Debug, Default)]
pub struct RestartState {
    restarting: AtomicBool,
    restarts: AtomicU64,
}

impl RestartState {
    /// Whether a restart is under way.
    pub fn is_restarting(&self) -> bool {
        self.restarting.load(Ordering::SeqCst)
    }

    /// How many restarts have begun since the process started.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::SeqCst)
    }

    /// A restart begins (true when none was under way).
    fn begin(&self) -> bool {
        let began = !self.restarting.swap(true, Ordering::SeqCst);
        if began {
            self.restarts.fetch_add(1, Ordering::SeqCst);
        }
        began
    }

    /// The cluster runs again (true when a restart was under way).
    fn end(&self) -> bool {
        self.restarting.swap(false, Ordering::SeqCst)
    }
}

/// The running supervisor; [`Supervisor::stop`] ends it before the cluster is stopped.
pub struct Supervisor {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Supervisor {
    /// Starts watching `cluster`; `restarting` is true while it is being started again.
    pub fn start(cluster: PrivateCluster, restarting: Arc<RestartState>) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(watch_over(cluster, restarting, stopped));
        Self { stop, task }
    }

    /// Stops watching (waiting for a start in progress to end), so that a shutdown's stop of the
    /// cluster is not undone.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn watch_over(
    cluster: PrivateCluster,
    restarting: Arc<RestartState>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut backoff = FIRST_BACKOFF;
    let mut wait = CHECK_EVERY;
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            () = tokio::time::sleep(wait) => {}
        }
        if *stopped.borrow() {
            return;
        }
        let probe = cluster.clone();
        let running = tokio::task::spawn_blocking(move || probe.is_running()).await;
        if matches!(running, Ok(Ok(true))) {
            if restarting.end() {
                tracing::info!("the private PostgreSQL cluster is running again");
            }
            backoff = FIRST_BACKOFF;
            wait = CHECK_EVERY;
            continue;
        }
        if restarting.begin() {
            tracing::error!("the private PostgreSQL cluster is down; starting it again");
        }
        let starter = cluster.clone();
        match tokio::task::spawn_blocking(move || starter.start()).await {
            Ok(Ok(())) => {
                restarting.end();
                tracing::info!("the private PostgreSQL cluster was started again");
                backoff = FIRST_BACKOFF;
                wait = CHECK_EVERY;
            }
            Ok(Err(error)) => {
                tracing::error!(%error, retry_in_s = backoff.as_secs(), "the private cluster did not start");
                wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(error) => {
                tracing::error!(%error, "the private cluster's start did not finish");
                wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
