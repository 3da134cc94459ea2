//! The service's lifecycle: reach the database (starting the private cluster when there is no
//! `DATABASE_URL`), migrate it, serve until SIGINT/SIGTERM, drain, and stop what it started.
//!
//! # Lifecycle of `pledge serve`
//!
//! Without `DATABASE_URL` (private cluster):
//!
//! 1. Find `initdb`, `pg_ctl`, `postgres`; choose the OS account (the current user, or `postgres` when
//!    running as root); check the socket path length.
//! 2. Lock the data directory (`pledge.lock`, an OS file lock with the pid). A second process fails at once,
//!    unless the cluster was started by `pledge db start`: then it shares it ([`ReadyDatabase::open_for_serve`]).
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
//! Several processes on one database (docs/operations.md, "Scale-out"): every process takes
//! PostgreSQL advisory locks for what must happen once (the migrations: sqlx's migration lock;
//! sealing second-factor secrets and loading the demo: [`ReadyDatabase::startup_lock`]), so
//! processes started together wait for each other instead of racing. A private cluster started by
//! `pledge db start` may be shared by several `pledge serve` processes on one machine; one that a
//! `serve` started itself belongs to that process alone. Everything else a request relies on
//! (sessions, throttling, row versions, the audit chain, export stamps) lives in the database.
//!
//! With `DATABASE_URL`, steps 1–5 are skipped: the owner URL migrates, and the service connects with
//! `PLEDGE_APP_DATABASE_URL` (or, as a development fallback, with the owner URL and `SET ROLE pledge_app`).
//! Details: operations.md (`docs/operations.md`).

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::cluster::{ClusterLock, Durability, PrivateCluster};
use crate::config::{DatabaseConfig, ScaleConfig, WebConfig};
use crate::storage::read_pool::ReadPool;
use crate::storage::{self, ConnectionPlan};
use crate::web::{self, AppState};

/// Options of `pledge serve` for a read replica and metrics (docs/operations.md, "Scale-out").
#[derive(Debug, clap::Args)]
pub struct ScaleArgs {
    /// A streaming read replica of the database, as the service role. The cycle comparison and
    /// the cycle exports read from it; writes, and reads that must see their own writes, stay on
    /// the primary; when it does not answer, reads go to the primary.
    /// `pledge db replica start` makes one of the private cluster and prints this URL.
    #[arg(long, env = "PLEDGE_REPLICA_URL", hide_env_values = true)]
    replica_url: Option<crate::config::DatabaseUrl>,
    /// Lag of the read replica, in seconds, beyond which a report says how old its figures are.
    #[arg(long, env = "PLEDGE_REPLICA_MAX_LAG", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    replica_max_lag: u64,
    /// Serve /metrics (Prometheus text format) on this address, without authentication: bind it
    /// where only the scraper reaches it. HOST:PORT, PORT (loopback) or :PORT.
    #[arg(long, env = "PLEDGE_METRICS_LISTEN", value_parser = crate::cli::parse_listen)]
    metrics_listen: Option<SocketAddr>,
    /// Serve /metrics on the service's own address, to requests that send
    /// `Authorization: Bearer <token>` (at least 16 characters; prefer the variable to the option,
    /// which other users can see in the process list).
    #[arg(long, env = "PLEDGE_METRICS_TOKEN", hide_env_values = true, value_parser = parse_token)]
    metrics_token: Option<String>,
}

impl ScaleArgs {
    /// The typed settings.
    pub fn config(&self) -> ScaleConfig {
        ScaleConfig {
            replica: self.replica_url.clone(),
            replica_max_lag: std::time::Duration::from_secs(self.replica_max_lag),
            metrics_listen: self.metrics_listen,
            metrics_token: self.metrics_token.clone().map(crate::config::Secret),
        }
    }
}

fn parse_token(text: &str) -> Result<String, String> {
    if text.chars().count() < 16 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the metrics token needs at least 16 characters, without spaces".into());
    }
    Ok(text.to_owned())
}

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

    /// Like [`ReadyDatabase::open`], for `pledge serve`: a private cluster started by
    /// `pledge db start` and already used by another `serve` is shared (several processes on one
    /// machine); one that another `serve` started is refused, as before.
    pub async fn open_for_serve(config: &DatabaseConfig) -> anyhow::Result<Self> {
        let DatabaseConfig::Private { data_dir } = config else {
            return Self::open(config).await;
        };
        match Self::open(config).await {
            Err(error) if is_in_use(&error) => {
                let cluster = PrivateCluster::new(data_dir, Durability::Durable)?;
                if !(cluster.was_started_by_hand() && cluster.is_running()?) {
                    return Err(error);
                }
                tracing::info!(
                    "the private cluster was started by `pledge db start` and another pledge \
                     process serves it too; sharing it"
                );
                let ready = Self {
                    plan: ConnectionPlan::private(&cluster),
                    managed: None,
                };
                let mut conn = ready.plan.owner_connection().await?;
                storage::migrate(&mut conn).await?;
                Ok(ready)
            }
            other => other,
        }
    }

    /// Holds a PostgreSQL advisory lock until the guard is dropped, so that what processes
    /// starting together must do once (seal second-factor secrets, load the demo) is done by
    /// one at a time, each seeing what the one before did.
    pub async fn startup_lock(&self) -> anyhow::Result<StartupLock> {
        let mut conn = self.plan.owner_connection().await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(STARTUP_LOCK)
            .execute(&mut conn)
            .await?;
        Ok(StartupLock { _conn: conn })
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
        restarting: std::sync::Arc<crate::cluster::RestartState>,
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

/// Advisory lock key of the start-up steps ("pledge start" folded into 63 bits).
const STARTUP_LOCK: i64 = 0x706c_6564_6765_7374;

/// Held while one process does the start-up steps (the lock ends with the connection).
pub struct StartupLock {
    _conn: sqlx::PgConnection,
}

/// Refuses a second-factor key that this process has just made when the database already holds
/// secrets sealed under another key: a second process was started without the first one's key
/// file. The new file is removed again, so that the next start does not keep the wrong key.
pub async fn check_totp_key_is_shared(
    database: &ReadyDatabase,
    keys: &crate::auth::totp_key::TotpKeys,
    made_now: bool,
    key_file: &std::path::Path,
) -> anyhow::Result<()> {
    if !made_now {
        return Ok(());
    }
    let mut conn = database.plan.owner_connection().await?;
    let mut tx = sqlx::Connection::begin(&mut conn).await?;
    storage::set_scope(&mut tx, &storage::Scope::System).await?;
    let others: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE substring(totp_secret FROM 1 FOR 4) = 'ptk1'::bytea
           AND substring(totp_secret FROM 5 FOR 8) <> decode($1, 'hex')",
    )
    .bind(keys.current_id())
    .fetch_one(&mut *tx)
    .await?;
    tx.rollback().await?;
    if others == 0 {
        return Ok(());
    }
    let _ = std::fs::remove_file(key_file);
    anyhow::bail!(
        "{others} second-factor secret(s) in the database are sealed under a key this process \
         does not have; it made a new key file {} (now removed again). Every `pledge serve` of \
         one database needs the same key: copy the key file of the first process there, or set \
         PLEDGE_TOTP_KEY_FILE to it (docs/operations.md)",
        key_file.display()
    )
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

/// Serves on `listen` until SIGINT or SIGTERM, then drains requests in flight. With `scale`:
/// report and export reads go to the read replica, and `/metrics` is served on its own
/// listener or behind a bearer token.
pub async fn serve(
    database: &ReadyDatabase,
    listen: SocketAddr,
    config: WebConfig,
    scale: ScaleConfig,
    on_listening: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let pool = database.plan.app_pool(config.max_connections).await?;
    let mut state = AppState::new(pool.clone(), config);
    if let Some(replica) = &scale.replica {
        let options = replica.options().context("PLEDGE_REPLICA_URL")?;
        tracing::info!(replica = %storage::describe(&options), "report and export reads go to the read replica");
        let reads = ReadPool::with_replica(
            pool.clone(),
            options,
            state.config.max_connections,
            scale.replica_max_lag,
        );
        state = state.with_reads(reads);
    }
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let metrics_listener = match scale.metrics_listen {
        Some(address) => Some(
            TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} (--metrics-listen)"))?,
        ),
        None => None,
    };
    on_listening(listener.local_addr()?);
    let (stop_metrics, metrics_stopped) = tokio::sync::watch::channel(false);
    let metrics_server = match metrics_listener {
        Some(metrics_listener) => {
            println!(
                "Metrics are served on http://{}/metrics",
                metrics_listener.local_addr()?
            );
            let router = web::metrics::open_router(state.clone());
            let mut stopped = metrics_stopped;
            Some(tokio::spawn(async move {
                let stop = async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                if let Err(error) = axum::serve(metrics_listener, router)
                    .with_graceful_shutdown(stop)
                    .await
                {
                    tracing::error!(%error, "the metrics listener stopped");
                }
            }))
        }
        None => None,
    };
    let supervisor = database.supervise(state.database_restarting.clone());
    let mut router = web::app(state.clone());
    if let Some(token) = scale.metrics_token {
        router = web::metrics::with_token(router, state.clone(), token.0);
    }
    run_router(listener, router, state, shutdown_signal()).await;
    let _ = stop_metrics.send(true);
    if let Some(task) = metrics_server {
        let _ = task.await;
    }
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
    run_router(listener, web::app(state.clone()), state, shutdown).await;
}

/// [`run_server`] with a router built by the caller (the application's, plus `/metrics`).
async fn run_router(
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let header_read_timeout = state.config.header_read_timeout;
    let grace = state.config.shutdown_grace;
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

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled: the accept loop may answer requests (`/readyz`)
/// before it polls the future, and a SIGTERM sent then would otherwise meet the default action
/// and end the process without draining or stopping the cluster.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    async move {
        let received = |handler: std::io::Result<tokio::signal::unix::Signal>| async move {
            match handler {
                Ok(mut handler) => {
                    handler.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = received(interrupt) => {},
            () = received(terminate) => {},
        }
    }
}
