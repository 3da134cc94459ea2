//! The service's lifecycle: reach the database (starting the private cluster when there is no
//! `DATABASE_URL`), migrate it, serve until SIGINT/SIGTERM, drain, and stop what it started.
//!
//! # Lifecycle of `pledge serve`
//!
//! Without `DATABASE_URL` (private cluster):
//!
//! 1. Find `initdb`, `pg_ctl`, `postgres`; choose the OS account (the current user, or `postgres` when
//!    running as root); check the socket path length.
//! 2. Lock the data directory (`pledge.lock`, an OS file lock with the pid). A second process fails at once.
//! 3. `initdb` if `pgdata/PG_VERSION` is missing, then append the socket-only settings.
//! 4. `pg_ctl start`, unless a server already runs there: one started by `pledge db start` is used and
//!    left running; one left by a crashed process is taken over.
//! 5. As the `postgres` superuser: create the roles `pledge_owner` and `pledge_app` and the database
//!    `pledge` if missing.
//! 6. Connect as `pledge_owner` and apply pending migrations.
//! 7. With `--demo`, load the demo history (once) and relax the second-factor requirement for admins
//!    (the banner says so).
//! 8. Open the pool as `pledge_app`, check that it answers, bind the address, print the banner, serve.
//! 9. On SIGINT or SIGTERM: mark shutdown (`/readyz` answers 503), stop accepting connections, drain
//!    requests in flight (at most 20 s), close the pool, `pg_ctl stop --mode fast` if this process
//!    started the server, release the lock, exit 0.
//!
//! With `DATABASE_URL`, steps 1–5 are skipped: the owner URL migrates, and the service connects with
//! `PLEDGE_APP_DATABASE_URL` (or, as a development fallback, with the owner URL and `SET ROLE pledge_app`).
//! Details: operations.md (`docs/operations.md`).

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::cluster::{ClusterLock, Durability, PrivateCluster};
use crate::config::{DatabaseConfig, WebConfig};
use crate::storage::{self, ConnectionPlan};
use crate::web::{self, AppState};

/// A database made ready for the service: migrated, with the private cluster (if any) held.
pub struct ReadyDatabase {
    pub plan: ConnectionPlan,
    /// The private cluster this process started and must stop, with the lock that proves it
    /// manages the data directory.
    managed: Option<(PrivateCluster, ClusterLock, bool)>,
}

impl ReadyDatabase {
    /// Reaches the database the configuration names and applies pending migrations.
    pub async fn open(config: &DatabaseConfig) -> anyhow::Result<Self> {
        match config {
            DatabaseConfig::Private { data_dir } => {
                let cluster = PrivateCluster::new(data_dir, Durability::Durable)?;
                let lock = cluster.lock()?;
                let started_here = start_private(&cluster)?;
                let ready = Self {
                    plan: ConnectionPlan::private(&cluster),
                    managed: Some((cluster, lock, started_here)),
                };
                // From here on, `ready` stops the cluster if it started it, whatever fails next.
                if let Err(error) = ready.prepare_private().await {
                    ready.close();
                    return Err(error);
                }
                Ok(ready)
            }
            DatabaseConfig::External { owner, app } => {
                let owner = owner.options().context("DATABASE_URL")?;
                let (app, app_via_set_role) = match app {
                    Some(url) => (url.options().context("PLEDGE_APP_DATABASE_URL")?, false),
                    None => {
                        tracing::warn!(
                            "PLEDGE_APP_DATABASE_URL is not set: the service connects with \
                             DATABASE_URL and switches to the pledge_app role (SET ROLE)"
                        );
                        (owner.clone(), true)
                    }
                };
                let plan = ConnectionPlan {
                    owner,
                    app,
                    app_via_set_role,
                };
                let mut conn = plan.owner_connection().await?;
                storage::migrate(&mut conn).await?;
                Ok(Self {
                    plan,
                    managed: None,
                })
            }
        }
    }

    /// Like [`ReadyDatabase::open`], for a command run beside a running `pledge serve`: when
    /// another process manages the private cluster and it is up, use it without managing it.
    pub async fn open_for_command(config: &DatabaseConfig) -> anyhow::Result<Self> {
        let DatabaseConfig::Private { data_dir } = config else {
            return Self::open(config).await;
        };
        match Self::open(config).await {
            Err(error) if is_in_use(&error) => {
                let cluster = PrivateCluster::new(data_dir, Durability::Durable)?;
                if !cluster.is_running()? {
                    return Err(error);
                }
                tracing::info!(
                    "the private cluster is managed by another pledge process; using it"
                );
                let ready = Self {
                    plan: ConnectionPlan::private(&cluster),
                    managed: None,
                };
                // Migrations take an advisory lock, so this is safe beside the running service
                // (and `pledge migrate` then really migrates).
                let mut conn = ready.plan.owner_connection().await?;
                storage::migrate(&mut conn).await?;
                Ok(ready)
            }
            other => other,
        }
    }

    async fn prepare_private(&self) -> anyhow::Result<()> {
        if let Some((cluster, _, _)) = &self.managed {
            storage::bootstrap_private(cluster).await?;
        }
        let mut conn = self.plan.owner_connection().await?;
        storage::migrate(&mut conn).await?;
        Ok(())
    }

    /// Watches the private cluster this process started, starting it again if it dies.
    pub fn supervise(
        &self,
        restarting: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Option<crate::cluster::Supervisor> {
        match &self.managed {
            Some((cluster, _, true)) => Some(crate::cluster::Supervisor::start(
                cluster.clone(),
                restarting,
            )),
            _ => None,
        }
    }

    /// Stops the private cluster if this process started it; releases the data directory.
    pub fn close(mut self) {
        self.stop_managed();
    }

    fn stop_managed(&mut self) {
        if let Some((cluster, lock, started_here)) = self.managed.take() {
            if started_here {
                tracing::info!("stopping the private PostgreSQL cluster");
                if let Err(error) = cluster.stop() {
                    tracing::error!(%error, "the private cluster did not stop cleanly");
                }
            } else {
                tracing::info!(
                    "leaving the private cluster running (it was started by `pledge db start`)"
                );
            }
            drop(lock);
        }
    }
}

/// Whatever path a command leaves by (an error returned with `?`, an early return), the private
/// cluster it started is stopped: nothing is left running behind a failed command.
impl Drop for ReadyDatabase {
    fn drop(&mut self) {
        self.stop_managed();
    }
}

fn is_in_use(error: &anyhow::Error) -> bool {
    matches!(
        error.downcast_ref::<crate::cluster::ClusterError>(),
        Some(crate::cluster::ClusterError::InUse { .. })
    )
}

/// Starts the private cluster unless `pledge db start` already did; returns whether it
/// started it here (and so must stop it).
fn start_private(cluster: &PrivateCluster) -> anyhow::Result<bool> {
    if !cluster.is_initialized() {
        tracing::info!(dir = %cluster.root().display(), "creating a private PostgreSQL cluster");
        cluster.initialize()?;
    }
    if cluster.is_running()? {
        if cluster.was_started_by_hand() {
            return Ok(false);
        }
        // Left behind by a process that died without stopping it: take it over.
        tracing::warn!("a private cluster from an earlier run is still running; taking it over");
        return Ok(true);
    }
    tracing::info!(
        dir = %cluster.root().display(),
        account = %cluster.account().describe(),
        "starting the private PostgreSQL cluster (Unix socket only, no TCP port)"
    );
    cluster.start()?;
    Ok(true)
}

/// Serves on `listen` until SIGINT or SIGTERM, then drains requests in flight.
pub async fn serve(
    database: &ReadyDatabase,
    listen: SocketAddr,
    config: WebConfig,
    on_listening: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let pool = database.plan.app_pool(config.max_connections).await?;
    let state = AppState::new(pool.clone(), config);
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    on_listening(listener.local_addr()?);
    let supervisor = database.supervise(state.database_restarting.clone());
    run_server(listener, state, shutdown_signal()).await;
    if let Some(supervisor) = supervisor {
        supervisor.stop().await;
    }
    pool.close().await;
    Ok(())
}

/// The HTTP/1.1 server loop: every connection gets the header read timeout
/// ([`WebConfig::header_read_timeout`]) and the client's address (`ConnectInfo`). When
/// `shutdown` resolves, `/readyz` turns 503, no connection is accepted any more, idle
/// connections close, and requests in flight finish within [`WebConfig::shutdown_grace`].
pub async fn run_server(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let header_read_timeout = state.config.header_read_timeout;
    let grace = state.config.shutdown_grace;
    let router = web::app(state.clone());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout);
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    tracing::info!("shutting down: draining requests in flight");
    state.begin_shutdown();
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("every request in flight has finished"),
        () = tokio::time::sleep(grace) => {
            tracing::warn!("requests still in flight after {} s; stopping anyway", grace.as_secs());
        }
    }
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}
