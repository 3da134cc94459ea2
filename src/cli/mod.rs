//! The `pledge` command line (clap). Every command has `--help`.

mod backup;
mod cycle;
mod db;
mod framework;
mod imports;
mod participant;
#[cfg(test)]
mod reference;
mod restore;
mod table;
mod user;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{DatabaseConfig, DatabaseUrl, WebConfig};
use crate::startup::{self, ReadyDatabase};

/// The version and the commit it was built from (`git describe`, set by build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PLEDGE_COMMIT"),
    ")"
);

/// Pledge Tracker: Cyber Defence Pledge goals, annual self-assessments and comparisons.
#[derive(Debug, Parser)]
#[command(name = "pledge", version = VERSION, propagate_version = true)]
pub struct Cli {
    /// Data directory of the private PostgreSQL cluster (used when DATABASE_URL is not set).
    /// Default: `./pledge-data`, and `./pledge-demo-data` for `serve --demo` and `demo`, so demo
    /// data never lands where the real service keeps its own.
    #[arg(long, env = "PLEDGE_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// An existing PostgreSQL server, as the owner role that runs migrations. When set, no
    /// private cluster is started.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<DatabaseUrl>,
    /// The service role's connection to that server (default: DATABASE_URL, then SET ROLE).
    #[arg(
        long,
        env = "PLEDGE_APP_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    app_database_url: Option<DatabaseUrl>,
    /// Append-only file of audit chain anchors, outside the database (docs/security.md).
    /// Default: `audit-anchors` in the data directory of the private cluster; with
    /// DATABASE_URL, none unless given (keep it where the database's owner cannot write).
    #[arg(long, env = "PLEDGE_AUDIT_ANCHORS", global = true)]
    audit_anchors: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web service (pages, JSON API, health probes).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the demo history (three cycles, every Ally, one user per role).
    Demo(DemoArgs),
    /// Manage the private PostgreSQL cluster by hand.
    Db {
        #[command(subcommand)]
        command: db::DbCommand,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// List participants.
    Participant {
        #[command(subcommand)]
        command: participant::ParticipantCommand,
    },
    /// List cycles and export cycle reports.
    Cycle {
        #[command(subcommand)]
        command: cycle::CycleCommand,
    },
    /// List, import and export framework documents.
    Framework {
        #[command(subcommand)]
        command: framework::FrameworkCommand,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Back up the database (consistent, compressed, with a manifest), also while the service
    /// runs; or, with --base, a base backup for point-in-time recovery.
    Backup(backup::BackupArgs),
    /// Restore a backup into a new data directory or an empty database, and verify it; or,
    /// with --until, recover the private cluster to a moment from its WAL archive.
    Restore(restore::RestoreArgs),
}

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// Instead of the demo history, load a synthetic history for the benchmark (bench/):
    /// `alliance` is 32 Allies × 60 goals × 10 cycles, `stress` 2,000 participants × 150 goals ×
    /// 10 cycles. The demo users are created if missing.
    #[arg(long, value_enum)]
    scale: Option<crate::demo::Scale>,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain and compare it with the anchor file; exits 1 and names the
    /// first broken entry if any was edited, removed or reordered, or the newest entries were
    /// deleted. Prints the chain's head and, when intact, appends it to the anchor file.
    Verify,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// File of the key that seals second-factor secrets (made on first start, mode 0600;
    /// default: secrets/totp.key in the data directory). Keep it out of the database's backups.
    #[arg(long, env = "PLEDGE_TOTP_KEY_FILE")]
    totp_key_file: Option<std::path::PathBuf>,
    /// Address to listen on: HOST:PORT (e.g. 127.0.0.1:8080 or localhost:8080), PORT alone
    /// (loopback only), or :PORT (every interface).
    #[arg(long, env = "PLEDGE_LISTEN", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    listen: SocketAddr,
    /// Load the demo history first (once; a restart keeps it) and print the demo sign-ins.
    #[arg(long)]
    demo: bool,
    /// Longest time one request may take, in seconds.
    #[arg(long, env = "PLEDGE_REQUEST_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    request_timeout: u64,
    /// Longest time a client may take to send a request's headers, in seconds; then the
    /// connection is closed.
    #[arg(long, env = "PLEDGE_HEADER_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    header_timeout: u64,
    /// Longest time a shutdown (SIGTERM, SIGINT) waits for requests in flight, in seconds.
    #[arg(long, env = "PLEDGE_SHUTDOWN_GRACE", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    shutdown_grace: u64,
    /// Connections in the service's database pool (default: two per core, 4 to 32).
    #[arg(long, env = "PLEDGE_DB_POOL_SIZE",
          value_parser = clap::value_parser!(u32).range(1..=512))]
    pool_size: Option<u32>,
    /// The address people use to reach the service. With https://, cookies are `__Host-` and
    /// `Secure`; plain http is for development on loopback only.
    #[arg(long, env = "PLEDGE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Minutes without a request after which a session ends.
    #[arg(long, env = "PLEDGE_SESSION_IDLE_MINUTES", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=1440))]
    session_idle_minutes: u64,
    /// Hours after sign-in after which a session ends, whatever the activity.
    #[arg(long, env = "PLEDGE_SESSION_MAX_HOURS", default_value_t = 12,
          value_parser = clap::value_parser!(u64).range(1..=720))]
    session_max_hours: u64,
    /// Address of a proxy that appends the client's address to `X-Forwarded-For` (repeat, or
    /// comma-separated in the variable). Only requests from these addresses have their client
    /// address taken from that header; by default none.
    #[arg(
        long = "trusted-proxy",
        env = "PLEDGE_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Largest evidence file accepted, in MiB.
    #[arg(long, env = "PLEDGE_MAX_EVIDENCE_MB", default_value_t = 10,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    max_evidence_mb: u16,
    /// Notification mails (src/notify/settings.rs).
    #[command(flatten)]
    mail: Box<crate::notify::settings::MailArgs>,
    /// Archive the private cluster's WAL into this folder (for `pledge restore --until`); the
    /// setting stays with the cluster (docs/operations.md, "Backup and restore").
    #[arg(long, env = "PLEDGE_ARCHIVE_DIR")]
    archive_dir: Option<PathBuf>,
    #[command(flatten)]
    scale: crate::startup::ScaleArgs,
}

/// Reads `--listen`: `HOST:PORT` (a name such as `localhost` is looked up), `PORT` alone (the
/// loopback address, so that nothing is exposed by accident) or `:PORT` (every interface).
pub(crate) fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    use std::net::{Ipv4Addr, ToSocketAddrs};
    let wanted = || {
        format!(
            "{text:?} is not an address to listen on: write HOST:PORT (127.0.0.1:8080, \
             localhost:8080, [::1]:8080), PORT (8080, loopback only) or :PORT (8080 on every \
             interface)"
        )
    };
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    if let Some(port) = text.strip_prefix(':') {
        let port = port.parse::<u16>().map_err(|_| wanted())?;
        return Ok(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)));
    }
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok(address);
    }
    let (_, port) = text.rsplit_once(':').ok_or_else(wanted)?;
    port.parse::<u16>().map_err(|_| wanted())?;
    text.to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .ok_or_else(wanted)
}

impl Cli {
    /// The anchor file: as given, or `audit-anchors` in the private cluster's data directory.
    fn anchor_file(&self) -> Option<PathBuf> {
        match (&self.audit_anchors, self.database()) {
            (Some(path), _) => Some(path.clone()),
            (None, DatabaseConfig::Private { data_dir }) => Some(data_dir.join("audit-anchors")),
            (None, DatabaseConfig::External { .. }) => None,
        }
    }

    /// The data directory: as given, or `./pledge-data` (`./pledge-demo-data` for the demo).
    fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| {
            let demo = matches!(&self.command, Command::Demo(_))
                || matches!(&self.command, Command::Serve(args) if args.demo);
            PathBuf::from(if demo {
                crate::demo::DEMO_DATA_DIR
            } else {
                "./pledge-data"
            })
        })
    }

    fn database(&self) -> DatabaseConfig {
        match &self.database_url {
            Some(owner) => DatabaseConfig::External {
                owner: owner.clone(),
                app: self.app_database_url.clone(),
            },
            None => DatabaseConfig::Private {
                data_dir: self.data_dir(),
            },
        }
    }
}

/// Runs the command line; the exit code is 0 on success, 1 on failure (with the reason printed).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let database = cli.database();
    let anchor_file = cli.anchor_file();
    let data_dir = cli.data_dir();
    match cli.command {
        Command::Serve(args) => serve(&database, &data_dir, args, anchor_file).await,
        Command::Migrate => {
            let ready = ReadyDatabase::open_for_command(&database).await?;
            println!("migrations applied");
            ready.close();
            Ok(())
        }
        Command::Demo(args) => {
            let ready = ReadyDatabase::open_for_command(&database).await?;
            let result = match args.scale {
                None => crate::demo::load(&ready.plan).await,
                Some(scale) => crate::demo::load_scale(&ready.plan, scale).await,
            };
            ready.close();
            print_demo_outcome(&result?);
            Ok(())
        }
        Command::Db { command } => db::run(&database, command).await,
        Command::User { command } => {
            let ready = ReadyDatabase::open_for_command(&database).await?;
            let result = user::run(&ready, command).await;
            ready.close();
            result
        }
        Command::Participant { command } => {
            let ready = ReadyDatabase::open_for_command(&database).await?;
            let result = participant::run(&ready, command).await;
            ready.close();
            result
        }
        Command::Cycle { command } => {
            let ready = ReadyDatabase::open_for_command(&database).await?;
            let result = cycle::run(&ready, command).await;
            ready.close();
            result
        }
        Command::Framework { command } => {
            let ready = ReadyDatabase::open_for_command(&database).await?;
            let result = framework::run(&ready, command).await;
            ready.close();
            result
        }
        Command::Backup(args) => backup::run(&database, args).await,
        Command::Restore(args) => restore::run(&database, anchor_file, args).await,
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            // Beside a running `pledge serve`, its cluster is used as it is.
            let ready = ReadyDatabase::open_for_command(&database).await?;
            let result = verify_audit(&ready, anchor_file.as_deref()).await;
            ready.close();
            result
        }
    }
}

async fn verify_audit(
    ready: &ReadyDatabase,
    anchor_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use crate::storage::audit::{self, anchors};
    let mut conn = ready.plan.owner_connection().await?;
    let verification = audit::verify(&mut conn).await?;
    if let Some(chain_break) = verification.first_break {
        anyhow::bail!(
            "audit log broken at entry {}: {} ({} entries read)",
            chain_break.seq,
            chain_break.reason,
            verification.entries
        );
    }
    println!(
        "audit log intact: {} entries, hash chain verified",
        verification.entries
    );
    let head = audit::head(&mut conn).await?;
    match &head {
        Some((seq, hash)) => println!("chain head: entry {seq}, hash {}", hex::encode(hash)),
        None => println!("chain head: none (the log is empty)"),
    }
    let Some(path) = anchor_file else {
        println!(
            "no anchor file (--audit-anchors): deleting the newest entries would go unnoticed"
        );
        return Ok(());
    };
    let known = anchors::read(path)?;
    if let Some(problem) = anchors::check(&mut conn, &known).await? {
        anyhow::bail!(
            "audit log broken: {problem} (anchor file {})",
            path.display()
        );
    }
    let added = match &head {
        Some((seq, hash)) => anchors::append(path, *seq, hash)?,
        None => false,
    };
    println!(
        "anchors: {} checked in {}{}",
        known.len(),
        path.display(),
        if added { "; the head is anchored" } else { "" }
    );
    Ok(())
}

/// Appends the chain's head to the anchor file now, then every minute until aborted.
async fn anchor_periodically(plan: crate::storage::ConnectionPlan, path: PathBuf) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        every.tick().await;
        if let Err(error) = anchor_once(&plan, &path).await {
            tracing::warn!(error = %format!("{error:#}"), "the audit chain's head was not anchored");
        }
    }
}

async fn anchor_once(
    plan: &crate::storage::ConnectionPlan,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let mut conn = plan.owner_connection().await?;
    if let Some((seq, hash)) = crate::storage::audit::head(&mut conn).await? {
        crate::storage::audit::anchors::append(path, seq, &hash)?;
    }
    Ok(())
}

/// The notification loop of `pledge serve` (src/notify/sender.rs): its own two connections.
async fn start_notifications(
    ready: &ReadyDatabase,
    args: &crate::notify::settings::MailArgs,
    public_url: &str,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let settings = crate::notify::settings::MailSettings::from_args(args, public_url)?;
    if settings.smtp.is_none() {
        tracing::info!("no SMTP server configured: notification mails stay in the outbox");
    }
    let pool = ready.plan.app_pool(2).await?;
    Ok(tokio::spawn(crate::notify::sender::run(
        pool,
        std::sync::Arc::new(settings),
    )))
}

async fn serve(
    database: &DatabaseConfig,
    data_dir: &std::path::Path,
    args: ServeArgs,
    anchor_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    backup::prepare_archiving(database, args.archive_dir.as_deref())?;
    let ready = ReadyDatabase::open_for_serve(database).await?;
    if let Err(error) = backup::check_archiving(&ready.plan, args.archive_dir.as_deref()).await {
        ready.close();
        return Err(error);
    }
    // Processes starting together on one database take these steps one at a time.
    let startup_lock = match ready.startup_lock().await {
        Ok(lock) => lock,
        Err(error) => {
            ready.close();
            return Err(error);
        }
    };
    // The key that seals second-factor secrets: outside the database and its cluster directory.
    let key_file = args
        .totp_key_file
        .clone()
        .unwrap_or_else(|| crate::auth::totp_key::TotpKeys::default_path(data_dir));
    let made_now = !key_file.exists();
    let totp_keys = match crate::auth::totp_key::TotpKeys::load_or_create(&key_file) {
        Ok(keys) => keys,
        Err(error) => {
            ready.close();
            return Err(error);
        }
    };
    if let Err(error) =
        startup::check_totp_key_is_shared(&ready, &totp_keys, made_now, &key_file).await
    {
        ready.close();
        return Err(error);
    }
    {
        let pool = ready.plan.app_pool(1).await?;
        let sealed = crate::auth::totp_key::seal_stored_secrets(&pool, &totp_keys).await;
        pool.close().await;
        match sealed {
            Ok(0) => {}
            Ok(count) => {
                tracing::info!(count, key = %totp_keys.current_id(), "sealed second-factor secrets")
            }
            Err(error) => {
                ready.close();
                return Err(error);
            }
        }
    }
    let demo = match prepare_demo(&ready, database, args.demo).await {
        Ok(demo) => demo,
        Err(error) => {
            ready.close();
            return Err(error);
        }
    };
    drop(startup_lock);
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen));
    let secure_cookies = public_url.starts_with("https://");
    if !secure_cookies && !args.listen.ip().is_loopback() {
        tracing::warn!(
            "serving plain HTTP on a non-loopback address: set PLEDGE_PUBLIC_URL=https://… behind TLS"
        );
    }
    let config = WebConfig {
        request_timeout: std::time::Duration::from_secs(args.request_timeout),
        header_read_timeout: std::time::Duration::from_secs(args.header_timeout),
        shutdown_grace: std::time::Duration::from_secs(args.shutdown_grace),
        max_connections: args
            .pool_size
            .unwrap_or_else(crate::config::default_pool_size),
        max_evidence_bytes: usize::from(args.max_evidence_mb) * 1024 * 1024,
        auth: crate::auth::AuthConfig {
            idle_timeout: std::time::Duration::from_secs(args.session_idle_minutes * 60),
            absolute_timeout: std::time::Duration::from_secs(args.session_max_hours * 3600),
            secure_cookies,
            // The demo's admin signs in with a password only, as the banner says.
            require_admin_second_factor: !args.demo,
            trusted_proxies: args.trusted_proxies.clone(),
            demo: args.demo,
            totp_keys: std::sync::Arc::new(totp_keys),
            ..crate::auth::AuthConfig::default()
        },
    };
    let anchoring = anchor_file
        .clone()
        .map(|path| tokio::spawn(anchor_periodically(ready.plan.clone(), path)));
    let notifying = match start_notifications(&ready, &args.mail, &public_url).await {
        Ok(task) => task,
        Err(error) => {
            if let Some(task) = anchoring {
                task.abort();
            }
            ready.close();
            return Err(error);
        }
    };
    let scale = args.scale.config();
    let result = startup::serve(&ready, args.listen, config, scale, |addr| {
        println!("Pledge Tracker is listening on http://{addr}/");
        if let Some(outcome) = &demo {
            print_demo_outcome(outcome);
        }
    })
    .await;
    if let Some(task) = anchoring {
        task.abort();
    }
    notifying.abort();
    if let Some(path) = &anchor_file
        && let Err(error) = anchor_once(&ready.plan, path).await
    {
        tracing::warn!(error = %format!("{error:#}"), "the audit chain's head was not anchored");
    }
    ready.close();
    result
}

/// With `--demo`, loads the demo history unless demo data is there (a synthetic history counts);
/// without it, refuses a database that holds demo data: its accounts share a published password.
async fn prepare_demo(
    ready: &ReadyDatabase,
    database: &DatabaseConfig,
    demo: bool,
) -> anyhow::Result<Option<crate::demo::DemoOutcome>> {
    let present = crate::demo::present(&ready.plan).await?;
    match (demo, present) {
        (true, true) => Ok(Some(crate::demo::DemoOutcome {
            already_loaded: true,
            summary: String::new(),
        })),
        (true, false) => crate::demo::load(&ready.plan).await.map(Some),
        (false, false) => Ok(None),
        (false, true) => Err(match database {
            DatabaseConfig::Private { data_dir } => anyhow::anyhow!(
                "the data directory {dir} holds demo data (demo accounts whose password is \
                 published), so a plain `pledge serve` will not serve it. To run the demo: \
                 `pledge serve --demo --data-dir {dir}`. To remove the demo: stop every pledge \
                 process using it, then `rm -rf {dir}` (a plain `pledge serve` then starts \
                 with an empty database).",
                dir = data_dir.display()
            ),
            DatabaseConfig::External { .. } => anyhow::anyhow!(
                "the database at DATABASE_URL holds demo data (demo accounts whose password is \
                 published), so a plain `pledge serve` will not serve it. To run the demo: \
                 `pledge serve --demo`. To remove the demo: drop the database and create it \
                 again empty (`pledge migrate` then prepares it)."
            ),
        }),
    }
}

fn print_demo_outcome(outcome: &crate::demo::DemoOutcome) {
    if outcome.already_loaded {
        println!("Demo data was already loaded; nothing added.");
    } else {
        println!("Demo data loaded: {}.", outcome.summary);
    }
    println!(
        "Demo sign-ins (password for all: {}):",
        crate::demo::DEMO_PASSWORD
    );
    for user in crate::demo::DEMO_USERS {
        println!("  {:<36} {}", user.email, user.description);
    }
    println!(
        "Note: the demo relaxes the second-factor requirement for its admin account; a real \
         deployment requires it for every admin."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_takes_a_port_a_colon_port_or_host_and_port() {
        assert_eq!(parse_listen("8080"), Ok("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(parse_listen(":8080"), Ok("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(
            parse_listen("[::1]:9000"),
            Ok("[::1]:9000".parse().unwrap())
        );
        let local = parse_listen("localhost:8080").unwrap();
        assert!(local.ip().is_loopback() && local.port() == 8080);
        for wrong in ["", "localhost", "8080:", ":http", "99999", "host:port"] {
            let message = parse_listen(wrong).unwrap_err();
            assert!(message.contains("HOST:PORT"), "{wrong}: {message}");
        }
    }
}
