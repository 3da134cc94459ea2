//! Keeps the private cluster up while the service runs: when its postmaster dies (killed, out of
//! memory …) it is started again, with a backoff between failed attempts, and `/readyz` says
//! `database_restarting` meanwhile (docs/operations.md).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::PrivateCluster;

/// How often the postmaster is checked.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// First wait after a failed start; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The running supervisor; [`Supervisor::stop`] ends it before the cluster is stopped.
pub struct Supervisor {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Supervisor {
    /// Starts watching `cluster`; `restarting` is true while it is being started again.
    pub fn start(cluster: PrivateCluster, restarting: Arc<AtomicBool>) -> Self {
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
    restarting: Arc<AtomicBool>,
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
            if restarting.swap(false, Ordering::SeqCst) {
                tracing::info!("the private PostgreSQL cluster is running again");
            }
            backoff = FIRST_BACKOFF;
            wait = CHECK_EVERY;
            continue;
        }
        if !restarting.swap(true, Ordering::SeqCst) {
            tracing::error!("the private PostgreSQL cluster is down; starting it again");
        }
        let starter = cluster.clone();
        match tokio::task::spawn_blocking(move || starter.start()).await {
            Ok(Ok(())) => {
                restarting.store(false, Ordering::SeqCst);
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
