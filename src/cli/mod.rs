//! The `pledge` command line (clap). Every command has `--help`.

mod cycle;
mod db;
mod framework;
mod participant;
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
    #[arg(
        long,
        env = "PLEDGE_DATA_DIR",
        default_value = "./pledge-data",
        global = true
    )]
    data_dir: PathBuf,
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
    /// Recompute the hash chain; exits 1 and names the first broken entry if any was edited,
    /// removed or reordered.
    Verify,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// File of the key that seals second-factor secrets (made on first start, mode 0600;
    /// default: secrets/totp.key in the data directory). Keep it out of the database's backups.
    #[arg(long, env = "PLEDGE_TOTP_KEY_FILE")]
    totp_key_file: Option<std::path::PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "PLEDGE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Load the demo history first (once; a restart keeps it) and print the demo sign-ins.
    #[arg(long)]
    demo: bool,
    /// Longest time one request may take, in seconds.
    #[arg(long, env = "PLEDGE_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout: u64,
    /// Connections in the service's database pool.
    #[arg(long, env = "PLEDGE_DB_POOL_SIZE", default_value_t = 16)]
    pool_size: u32,
    /// The address people use to reach the service. With https://, cookies are `__Host-` and
    /// `Secure`; plain http is for development on loopback only.
    #[arg(long, env = "PLEDGE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Minutes without a request after which a session ends.
    #[arg(long, env = "PLEDGE_SESSION_IDLE_MINUTES", default_value_t = 30)]
    session_idle_minutes: u64,
    /// Hours after sign-in after which a session ends, whatever the activity.
    #[arg(long, env = "PLEDGE_SESSION_MAX_HOURS", default_value_t = 12)]
    session_max_hours: u64,
    /// Take the client's address from the last `X-Forwarded-For` entry (only behind a proxy
    /// that sets it; otherwise clients could choose their own address).
    #[arg(long, env = "PLEDGE_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// Largest evidence file accepted, in MiB.
    #[arg(long, env = "PLEDGE_MAX_EVIDENCE_MB", default_value_t = 10)]
    max_evidence_mb: usize,
}

impl Cli {
    fn database(&self) -> DatabaseConfig {
        match &self.database_url {
            Some(owner) => DatabaseConfig::External {
                owner: owner.clone(),
                app: self.app_database_url.clone(),
            },
            None => DatabaseConfig::Private {
                data_dir: self.data_dir.clone(),
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
    match cli.command {
        Command::Serve(args) => serve(&database, &cli.data_dir, args).await,
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
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let ready = ReadyDatabase::open(&database).await?;
            let result = verify_audit(&ready).await;
            ready.close();
            result
        }
    }
}

async fn verify_audit(ready: &ReadyDatabase) -> anyhow::Result<()> {
    let mut conn = ready.plan.owner_connection().await?;
    let verification = crate::storage::audit::verify(&mut conn).await?;
    match verification.first_break {
        None => {
            println!(
                "audit log intact: {} entries, hash chain verified",
                verification.entries
            );
            Ok(())
        }
        Some(chain_break) => anyhow::bail!(
            "audit log broken at entry {}: {} ({} entries read)",
            chain_break.seq,
            chain_break.reason,
            verification.entries
        ),
    }
}

async fn serve(
    database: &DatabaseConfig,
    data_dir: &std::path::Path,
    args: ServeArgs,
) -> anyhow::Result<()> {
    let ready = ReadyDatabase::open(database).await?;
    // The key that seals second-factor secrets: outside the database and its cluster directory.
    let key_file = args
        .totp_key_file
        .clone()
        .unwrap_or_else(|| crate::auth::totp_key::TotpKeys::default_path(data_dir));
    let totp_keys = match crate::auth::totp_key::TotpKeys::load_or_create(&key_file) {
        Ok(keys) => keys,
        Err(error) => {
            ready.close();
            return Err(error);
        }
    };
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
    let demo = if args.demo {
        match crate::demo::load(&ready.plan).await {
            Ok(outcome) => Some(outcome),
            Err(error) => {
                ready.close();
                return Err(error);
            }
        }
    } else {
        None
    };
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
        max_connections: args.pool_size,
        max_evidence_bytes: args.max_evidence_mb.max(1) * 1024 * 1024,
        auth: crate::auth::AuthConfig {
            idle_timeout: std::time::Duration::from_secs(args.session_idle_minutes.max(1) * 60),
            absolute_timeout: std::time::Duration::from_secs(args.session_max_hours.max(1) * 3600),
            secure_cookies,
            // The demo's admin signs in with a password only, as the banner says.
            require_admin_second_factor: !args.demo,
            trust_forwarded_for: args.trust_forwarded_for,
            totp_keys: std::sync::Arc::new(totp_keys),
            ..crate::auth::AuthConfig::default()
        },
        ..WebConfig::default()
    };
    let result = startup::serve(&ready, args.listen, config, |addr| {
        println!("Pledge Tracker is listening on http://{addr}/");
        if let Some(outcome) = &demo {
            print_demo_outcome(outcome);
        }
    })
    .await;
    ready.close();
    result
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
