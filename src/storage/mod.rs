//! All SQL lives under this module: connections, migrations, and one file per kind of record.
//!
//! Two database roles (see docs/security.md): [`OWNER_ROLE`] owns the schema and runs the
//! migrations; [`APP_ROLE`] is what the service connects as: it owns nothing, is not a superuser
//! and cannot bypass row-level security.

pub mod answers;
pub mod assessments;
pub mod assignments;
pub mod audit;
pub mod calendar_feeds;
pub mod clarifications;
pub mod coherence;
pub mod cycles;
pub mod evidence;
pub mod frameworks;
pub mod home;
pub mod imports;
pub mod invitations;
pub mod mappings;
pub mod national_goals;
pub mod notifications;
pub mod participants;
pub mod read_pool;
pub mod report_cache;
pub mod reports;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod users;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::domain::role::Role;

use crate::cluster::{PrivateCluster, SUPERUSER};

/// How long a pooled connection may sit unused before it is checked (a ping) when handed out.
pub const IDLE_BEFORE_PING: Duration = Duration::from_millis(250);

/// Role that owns the schema and runs migrations.
pub const OWNER_ROLE: &str = "pledge_owner";
/// Role the service connects as.
pub const APP_ROLE: &str = "pledge_app";
/// Database of the private cluster.
pub const DATABASE: &str = "pledge";

/// How long a connection attempt may take before the caller is told the database is unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "cannot reach the database at {target}: {cause}. Check that PostgreSQL runs at that host \
         and port and accepts connections there (listen_addresses, firewall), or leave \
         DATABASE_URL unset to use the private cluster"
    )]
    Unreachable { target: String, cause: String },
    /// The server answered and said no: a role, password, database, grant or TLS problem.
    #[error("the database at {target} refused: {cause}. {fix}")]
    Refused {
        target: String,
        cause: String,
        fix: String,
    },
    #[error("migrating the database failed: {0}{hint}", hint = migrate_hint(.0))]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// The two ways the service reaches the database, as owner and as service role.
#[derive(Debug, Clone)]
pub struct ConnectionPlan {
    /// Options for the owner role (migrations, demo loading).
    pub owner: PgConnectOptions,
    /// Options for the service role.
    pub app: PgConnectOptions,
    /// The app options connect as the owner and `SET ROLE` to the service role (development
    /// fallback when no separate service-role URL is configured for an external server).
    pub app_via_set_role: bool,
}

impl ConnectionPlan {
    /// The plan for the private cluster: both roles connect directly over the socket.
    pub fn private(cluster: &PrivateCluster) -> Self {
        Self {
            owner: cluster.connect_options(OWNER_ROLE, DATABASE),
            app: cluster.connect_options(APP_ROLE, DATABASE),
            app_via_set_role: false,
        }
    }

    /// Opens the service role's pool and checks that the database answers.
    pub async fn app_pool(&self, max_connections: u32) -> Result<PgPool, StorageError> {
        let via_set_role = self.app_via_set_role;
        // One direct connection first: a pool retries a failing connection until its timeout
        // and then reports only "pool timed out", hiding the server's reason (a missing grant).
        let mut probe = connect(&self.app).await?;
        if via_set_role && let Err(error) = probe.execute("SET ROLE pledge_app").await {
            return Err(refused(&error, &self.app).unwrap_or_else(|| StorageError::Sql(error)));
        }
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // A request waits at most this long for a connection: when PostgreSQL is down,
            // requests fail fast with 503 instead of piling up.
            .acquire_timeout(Duration::from_secs(3))
            // sqlx pings a connection when it goes back to the pool (and closes it if that
            // fails) and, by default, again before handing it out: two extra round trips on
            // every acquisition, a third of a cached page's (issue 20). A connection busy a
            // moment ago was checked on its release; only one that sat idle is checked again,
            // since that is when the server may have gone away (a restart, an idle timeout).
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_BEFORE_PING {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if via_set_role {
                        conn.execute("SET ROLE pledge_app").await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy_with(self.app.clone());
        check_reachable(&pool, &self.app).await?;
        Ok(pool)
    }

    /// Opens one connection as the owner.
    pub async fn owner_connection(&self) -> Result<PgConnection, StorageError> {
        connect(&self.owner).await
    }
}

/// Describes a connection target without its password, for messages.
pub fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}:{} database {} as {}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default)"),
        options.get_username()
    )
}

/// Connects once, failing within [`CONNECT_TIMEOUT`] with a message that names the target.
pub async fn connect(options: &PgConnectOptions) -> Result<PgConnection, StorageError> {
    let unreachable = |cause: String| StorageError::Unreachable {
        target: describe(options),
        cause,
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(options)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(error)) => {
            Err(refused(&error, options).unwrap_or_else(|| unreachable(error.to_string())))
        }
        Err(_) => Err(unreachable(format!(
            "no answer within {} s",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

const TLS_FIX: &str = "Check sslmode and sslrootcert in the URL: with verify-full the server's \
                       certificate must be signed by that root and name the host you connect to";

/// When the server answered with a reason (an SQLSTATE or a TLS failure), says what it was and
/// what to do about it; `None` when it was not reached at all.
fn refused(error: &sqlx::Error, options: &PgConnectOptions) -> Option<StorageError> {
    let user = options.get_username();
    let database = options.get_database().unwrap_or("(default)");
    let (cause, fix) = match error {
        // rustls reports a certificate it does not trust as an I/O error of the handshake.
        sqlx::Error::Io(io) if io.to_string().contains("certificate") => (
            format!("the TLS connection failed ({io})"),
            TLS_FIX.to_owned(),
        ),
        sqlx::Error::Tls(cause) => (
            format!("the TLS connection failed ({cause})"),
            TLS_FIX.to_owned(),
        ),
        sqlx::Error::Database(db) => {
            let message = db.message().to_owned();
            let fix = match db.code().as_deref() {
                Some("28P01") => format!("Check the password of role {user} in the URL"),
                Some("28000") if message.contains("does not exist") => format!(
                    "Create the role (CREATE ROLE {user} LOGIN …, see docs/operations.md) or \
                     correct the user name in the URL"
                ),
                Some("28000") => format!(
                    "Allow role {user} to log in to database {database} in the server's \
                     pg_hba.conf (and ALTER ROLE {user} LOGIN if it cannot log in)"
                ),
                Some("3D000") => format!(
                    "Create the database (CREATE DATABASE {database} OWNER pledge_owner) or \
                     correct its name in the URL"
                ),
                Some("42501") if message.contains("set role") => format!(
                    "Let the connecting role switch to the service role: GRANT {APP_ROLE} TO \
                     {user}; or give the service its own login with PLEDGE_APP_DATABASE_URL"
                ),
                Some("42501") => format!(
                    "Grant role {user} what it needs (docs/operations.md lists the grants), or \
                     connect as the role that owns the schema"
                ),
                Some("53300") => "The server has no free connection: lower --pool-size or raise \
                                  max_connections"
                    .to_owned(),
                _ => return None,
            };
            (message, fix)
        }
        _ => return None,
    };
    Some(StorageError::Refused {
        target: describe(options),
        cause,
        fix,
    })
}

/// What to do about a migration the server refused for want of a privilege.
fn migrate_hint(error: &sqlx::migrate::MigrateError) -> &'static str {
    match error {
        sqlx::migrate::MigrateError::Execute(sqlx::Error::Database(db))
        | sqlx::migrate::MigrateError::ExecuteMigration(sqlx::Error::Database(db), _)
            if db.code().as_deref() == Some("42501") =>
        {
            ". Migrations run as the role that owns the schema: set DATABASE_URL to that role \
             (pledge_owner), or grant this role CREATE on the database and its schema"
        }
        _ => "",
    }
}

async fn check_reachable(pool: &PgPool, options: &PgConnectOptions) -> Result<(), StorageError> {
    let probe = tokio::time::timeout(CONNECT_TIMEOUT, sqlx::query("SELECT 1").execute(pool)).await;
    match probe {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(StorageError::Unreachable {
            target: describe(options),
            cause: error.to_string(),
        }),
        Err(_) => Err(StorageError::Unreachable {
            target: describe(options),
            cause: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        }),
    }
}

/// Creates the two roles if they are missing. Needs a role that may create roles.
pub async fn ensure_roles(conn: &mut PgConnection) -> Result<(), StorageError> {
    // Each CREATE ROLE tolerates a concurrent creator (several test processes share a server).
    conn.execute(
        r#"
        DO $$
        BEGIN
            BEGIN
                CREATE ROLE pledge_owner LOGIN NOSUPERUSER NOCREATEROLE;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
            BEGIN
                CREATE ROLE pledge_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
        END $$;
        "#,
    )
    .await?;
    Ok(())
}

/// Prepares the private cluster: the roles and the database, created on first start.
pub async fn bootstrap_private(cluster: &PrivateCluster) -> Result<(), StorageError> {
    let mut conn = connect(&cluster.connect_options(SUPERUSER, "postgres")).await?;
    ensure_roles(&mut conn).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(DATABASE)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        conn.execute(format!("CREATE DATABASE {DATABASE} OWNER {OWNER_ROLE}").as_str())
            .await?;
    }
    conn.close().await?;
    Ok(())
}

/// Applies the pending migrations as the owner.
pub async fn migrate(conn: &mut PgConnection) -> Result<(), StorageError> {
    MIGRATOR.run(&mut *conn).await?;
    // A migration may redefine what kept answers were read with (a function, a policy), and
    // fires no trigger doing so: processes already running drop what they keep.
    coherence::announce_everything(conn).await?;
    Ok(())
}

/// On whose behalf a transaction runs: row-level security reads this (migration 0007).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A command run on the server (`pledge demo`, `pledge user …`): sees and changes everything.
    System,
    /// Resolving a session or token: may read memberships, nothing participant-owned.
    Authenticator,
    /// Nobody signed in.
    Anonymous,
    /// A signed-in user.
    User { user_id: Uuid, role: Role },
}

/// Begins a transaction and sets who is asking, for this transaction only: settings never stay
/// on a pooled connection.
///
/// `BEGIN` and the settings go in one round trip: every request opens at least one transaction,
/// so this is paid on every page. The values are written into the statement: they are our own
/// role names and UUIDs (see [`ScopeSettings`]), never text from a request.
pub async fn begin(
    pool: &PgPool,
    scope: &Scope,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let settings = ScopeSettings::of(scope);
    pool.begin_with(format!(
        "BEGIN; SELECT set_config('pledge.role', '{}', true), set_config('pledge.user_id', '{}', true),
                set_config('pledge.participant_id', '{}', true),
                set_config('pledge.delegation_role', '{}', true)",
        settings.role, settings.user, settings.participant, settings.delegation_role
    ))
    .await
}

/// The four settings row-level security reads. Every value is a fixed role name or a UUID's
/// canonical text, so it needs no quoting.
struct ScopeSettings {
    role: &'static str,
    user: String,
    participant: String,
    delegation_role: &'static str,
}

impl ScopeSettings {
    fn of(scope: &Scope) -> Self {
        let (role, user, participant, delegation_role) = scope_values(scope);
        Self {
            role,
            user: user.unwrap_or_default(),
            participant: participant.unwrap_or_default(),
            delegation_role: delegation_role.unwrap_or_default(),
        }
    }
}

fn scope_values(
    scope: &Scope,
) -> (
    &'static str,
    Option<String>,
    Option<String>,
    Option<&'static str>,
) {
    match scope {
        Scope::System => ("system", None, None, None),
        Scope::Authenticator => ("authenticator", None, None, None),
        Scope::Anonymous => ("anonymous", None, None, None),
        Scope::User { user_id, role } => (
            role.kind(),
            Some(user_id.to_string()),
            role.participant().map(|p| p.to_string()),
            match role {
                Role::Delegation { role, .. } => Some(role.as_str()),
                _ => None,
            },
        ),
    }
}

/// One audited unit of work: a transaction (opened like [`begin`], with the scope) that can only
/// be committed together with its audit entry, so a data change never lands without one.
/// Dropping it (an early return, an error) rolls everything back, entry included.
///
/// ```ignore
/// let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
/// store::update(&mut tx, id, &name).await?;
/// tx.commit(&NewEntry::new(actor, "thing.update", json!({ "name": name }))).await?;
/// ```
pub struct Audited {
    tx: Transaction<'static, Postgres>,
    /// Set when `tx` reads from the read replica ([`read_pool`]): the entries go to the primary,
    /// in a transaction of their own, when the work commits.
    replica_reads: Option<(PgPool, Scope, Vec<audit::NewEntry>)>,
}

impl Audited {
    /// Begins the transaction with who is asking (see [`begin`]).
    pub async fn begin(pool: &PgPool, scope: &Scope) -> Result<Self, sqlx::Error> {
        Ok(Self {
            tx: begin(pool, scope).await?,
            replica_reads: read_pool::primary_for_writes().map(|primary| (primary, *scope, vec![])),
        })
    }

    /// Appends an entry without ending the work (for a change that records several).
    pub async fn record(&mut self, entry: &audit::NewEntry) -> Result<(), sqlx::Error> {
        match &mut self.replica_reads {
            Some((_, _, pending)) => {
                pending.push(entry.clone());
                Ok(())
            }
            None => audit::append(&mut self.tx, entry).await,
        }
    }

    /// Appends the entry and commits: the change and its record land together.
    pub async fn commit(mut self, entry: &audit::NewEntry) -> Result<(), sqlx::Error> {
        if let Some((primary, scope, pending)) = self.replica_reads.take() {
            let mut write = begin(&primary, &scope).await?;
            for recorded in pending.iter().chain([entry]) {
                audit::append(&mut write, recorded).await?;
            }
            write.commit().await?;
            return self.tx.commit().await;
        }
        audit::append(&mut self.tx, entry).await?;
        self.tx.commit().await
    }
}

impl std::ops::Deref for Audited {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for Audited {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

/// Sets who is asking for the rest of the current transaction (one round trip).
pub async fn set_scope(conn: &mut PgConnection, scope: &Scope) -> Result<(), sqlx::Error> {
    let (role, user, participant, delegation_role) = scope_values(scope);
    sqlx::query(
        "SELECT set_config('pledge.role', $1, true), set_config('pledge.user_id', $2, true),
                set_config('pledge.participant_id', $3, true),
                set_config('pledge.delegation_role', $4, true)",
    )
    .bind(role)
    .bind(user.unwrap_or_default())
    .bind(participant.unwrap_or_default())
    .bind(delegation_role.unwrap_or_default())
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether `error` means the database could not be reached (as opposed to a bad query).
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed
    ) || matches!(error, sqlx::Error::Database(db) if db.code().is_some_and(|code| {
        // admin_shutdown, crash_shutdown, cannot_connect_now
        ["57P01", "57P02", "57P03"].contains(&code.as_ref())
    }))
}
