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

    /// The string itself, for PostgreSQL's own programs (`pg_dump`, `pg_restore`): never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        // Without a scheme, the parser reads `localhost:5432/pledge` as a database named
        // `5432/pledge` on the default host as the OS user: refuse it and say what was meant.
        let wanted = "write it as postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…] \
                      (or postgresql:///DATABASE?host=/socket/dir for a Unix socket)";
        let trimmed = value.trim();
        if !(trimmed.starts_with("postgresql://") || trimmed.starts_with("postgres://")) {
            // The guess never repeats a password written before the host.
            let guess = match trimmed.rsplit_once('@') {
                _ if trimmed.is_empty() || trimmed.contains(char::is_whitespace) => String::new(),
                Some((_, host)) => format!("; did you mean postgresql://USER:PASSWORD@{host}?"),
                None => format!("; did you mean postgresql://{trimmed}?"),
            };
            return Err(format!("not a PostgreSQL URL: {wanted}{guess}"));
        }
        value
            .parse::<PgConnectOptions>()
            .map(|_| Self(value.to_owned()))
            .map_err(|error| format!("not a PostgreSQL URL ({error}): {wanted}"))
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

/// The service's database pool when not told: two connections per core, 4 to 32 (PostgreSQL's
/// own rule of thumb for busy backends, with the private cluster on the same machine). With
/// more, the backends and the service queue for the cores: at the alliance scale with 16
/// concurrent clients on two cores, the progress page's p99 was 28.9 ms with 16 connections,
/// 21.0-21.6 ms with 8 and 16.3-16.8 ms with 4, at the same throughput (issue 20,
/// docs/performance.md). A connection is held only for a transaction: streamed exports take
/// one a chunk at a time, however slowly the client reads. A database across a network,
/// where a connection waits on the network, wants more (`--pool-size`).
pub fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    u32::try_from(cores.saturating_mul(2))
        .unwrap_or(32)
        .clamp(4, 32)
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(20),
            header_read_timeout: Duration::from_secs(10),
            max_connections: default_pool_size(),
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

#[cfg(test)]
mod tests {
    use super::DatabaseUrl;

    #[test]
    fn a_database_url_without_its_scheme_is_refused_with_the_form_it_wants() {
        let message = "localhost:5432/pledge".parse::<DatabaseUrl>().unwrap_err();
        assert!(
            message.contains("did you mean postgresql://localhost:5432/pledge?"),
            "{message}"
        );
        let message = "owner:s3cret@db.example:5432/pledge"
            .parse::<DatabaseUrl>()
            .unwrap_err();
        assert!(!message.contains("s3cret"), "{message}");
        assert!(message.contains("postgresql://USER:PASSWORD@db.example:5432/pledge"));
        for accepted in [
            "postgresql://owner@localhost:5432/pledge",
            "postgres://owner:pw@db.example/pledge?sslmode=verify-full",
            "postgresql:///pledge?host=/tmp/socket&user=pledge_owner",
        ] {
            assert!(accepted.parse::<DatabaseUrl>().is_ok(), "{accepted}");
        }
    }
}
