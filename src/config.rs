//! Typed configuration shared by the commands.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;

/// A connection string that may hold a password: `Debug` and `Display` never print it.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Parses the string as PostgreSQL connection options.
    pub fn options(&self) -> Result<PgConnectOptions, sqlx::Error> {
        self.0.parse()
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        value
            .parse::<PgConnectOptions>()
            .map(|_| Self(value.to_owned()))
            .map_err(|_| "not a PostgreSQL connection string (postgresql://user@host/db)".into())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DatabaseUrl(<redacted>)")
    }
}

/// Where the database is.
#[derive(Debug, Clone)]
pub enum DatabaseConfig {
    /// The private cluster in this data directory (no `DATABASE_URL` given).
    Private { data_dir: PathBuf },
    /// An existing server: `owner` runs migrations; `app`, when given, is the service role's
    /// connection (otherwise the service connects as the owner and switches to the service role).
    External {
        owner: DatabaseUrl,
        app: Option<DatabaseUrl>,
    },
}

/// Settings of the web service.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Longest time one request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Longest time a shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
    /// Longest time a client may take to send a request's headers (from its first byte, or
    /// from the end of the previous request on a kept-alive connection); then the connection
    /// is closed. Slow-header ("slowloris") connections cannot pile up.
    pub header_read_timeout: Duration,
    /// Connections in the service's pool.
    pub max_connections: u32,
    /// Sessions, cookies and sign-in.
    pub auth: crate::auth::AuthConfig,
    /// Largest evidence file accepted, in bytes.
    pub max_evidence_bytes: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(20),
            header_read_timeout: Duration::from_secs(10),
            max_connections: 16,
            auth: crate::auth::AuthConfig::default(),
            max_evidence_bytes: 10 * 1024 * 1024,
        }
    }
}

/// Several processes, the read replica and the metrics (`pledge serve`, docs/operations.md).
#[derive(Debug, Clone, Default)]
pub struct ScaleConfig {
    /// The read replica, as the service role (or a role that may `SET ROLE pledge_app`).
    pub replica: Option<DatabaseUrl>,
    /// Lag of the replica beyond which reports say how old their figures are.
    pub replica_max_lag: Duration,
    /// Serve `/metrics` on this address, without authentication.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Serve `/metrics` on the service's address, to this bearer token.
    pub metrics_token: Option<Secret>,
}

/// A secret setting: `Debug` never prints it.
#[derive(Clone)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}
