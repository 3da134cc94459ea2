//! A local streaming replica of the private cluster, for trying the read replica
//! (`pledge db replica start|stop|url`, docs/operations.md "Scale-out").
//!
//! It lives in `replica/` inside the data directory, with the same layout as the primary
//! (`pgdata/`, `run/`, `log/`), and is made by `pg_basebackup -R` over the primary's socket: a hot
//! standby that streams the primary's WAL. Like the primary it opens no TCP port: its socket is
//! `replica/run/.s.PGSQL.5433`, its own directory and port number, so the two servers never share
//! a socket and a connection string says which one it means.

use std::path::PathBuf;

use sqlx::postgres::PgConnectOptions;

use super::{ClusterError, PrivateCluster, SOCKET_PORT, SUPERUSER, command_error, create_dir, run};

/// The replica's port number (it names the socket file; no TCP port is opened).
pub const REPLICA_PORT: u16 = 5433;

/// The streaming replica of one private cluster.
#[derive(Debug, Clone)]
pub struct LocalReplica {
    primary: PrivateCluster,
}

impl LocalReplica {
    /// The replica of `primary` (created or not).
    pub fn of(primary: &PrivateCluster) -> Self {
        Self {
            primary: primary.clone(),
        }
    }

    /// Its directory, `replica/` in the data directory.
    pub fn root(&self) -> PathBuf {
        self.primary.root.join("replica")
    }

    fn pgdata(&self) -> PathBuf {
        self.root().join("pgdata")
    }

    /// The directory of its Unix socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.root().join("run")
    }

    fn log_file(&self) -> PathBuf {
        self.root().join("log").join("postgres.log")
    }

    /// Whether the base backup has been taken.
    pub fn is_created(&self) -> bool {
        self.pgdata().join("PG_VERSION").is_file()
    }

    /// Takes a base backup of the running primary (`pg_basebackup -R`: it starts as a standby
    /// that streams from the primary) and writes its own socket settings.
    pub fn create(&self) -> Result<(), ClusterError> {
        let account = &self.primary.account;
        create_dir(&self.root(), account.data_dir_mode())?;
        account.check_reachable(&self.root())?;
        for dir in [self.pgdata(), self.socket_dir(), self.root().join("log")] {
            create_dir(&dir, 0o700)?;
            account.own_private_dir(&dir)?;
        }
        let program = self.primary.binaries.program("pg_basebackup");
        let mut backup = account.command(&program);
        backup
            .arg("--pgdata")
            .arg(self.pgdata())
            .arg("--host")
            .arg(self.primary.socket_dir())
            .args(["--port", &SOCKET_PORT.to_string(), "--username", SUPERUSER])
            .args(["--write-recovery-conf", "--wal-method=stream"])
            .args(["--checkpoint=fast", "--no-password"])
            .current_dir(self.root());
        if let Err(error) = run(&mut backup, "pg_basebackup") {
            // Leave no half-copied cluster behind: the next attempt starts afresh.
            let _ = std::fs::remove_dir_all(self.pgdata());
            return Err(error);
        }
        let socket_dir = self.socket_dir().display().to_string().replace('\'', "''");
        let settings = format!(
            "\n# Written by pledge: a streaming replica of the private cluster, on its own socket.\n\
             listen_addresses = ''\n\
             unix_socket_directories = '{socket_dir}'\n\
             port = {REPLICA_PORT}\n\
             hot_standby = on\n\
             archive_mode = off\n"
        );
        let conf = self.pgdata().join("postgresql.conf");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut file| std::io::Write::write_all(&mut file, settings.as_bytes()))
            .map_err(|e| ClusterError::io(&conf, e))
    }

    /// Whether the replica's server runs.
    pub fn is_running(&self) -> Result<bool, ClusterError> {
        if !self.is_created() {
            return Ok(false);
        }
        let output = self
            .pg_ctl()
            .arg("status")
            .output()
            .map_err(|e| ClusterError::io(&self.primary.binaries.program("pg_ctl"), e))?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(3) => Ok(false),
            _ => Err(command_error("pg_ctl status", &output, "")),
        }
    }

    /// Starts the replica's server and waits until it accepts connections (read-only).
    pub fn start(&self) -> Result<(), ClusterError> {
        let output = self
            .pg_ctl()
            .args(["start", "--wait", "--timeout", "60", "--silent", "--log"])
            .arg(self.log_file())
            .output()
            .map_err(|e| ClusterError::io(&self.primary.binaries.program("pg_ctl"), e))?;
        if output.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(10).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(command_error("pg_ctl start", &output, &tail.join("\n")))
        }
    }

    /// Stops the replica's server (fast shutdown).
    pub fn stop(&self) -> Result<(), ClusterError> {
        if !self.is_running()? {
            return Ok(());
        }
        run(
            self.pg_ctl()
                .args(["stop", "--wait", "--timeout", "60", "--silent"])
                .args(["--mode", "fast"]),
            "pg_ctl stop",
        )?;
        Ok(())
    }

    /// Connection options for `user` on `database`, through the replica's socket.
    pub fn connect_options(&self, user: &str, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .host(&self.socket_dir().display().to_string())
            .port(REPLICA_PORT)
            .username(user)
            .database(database)
    }

    /// A connection string for `user` on `database` (what `--replica-url` takes).
    pub fn url(&self, user: &str, database: &str) -> String {
        format!(
            "postgresql:///{database}?host={}&port={REPLICA_PORT}&user={user}",
            super::percent_encode(&self.socket_dir().display().to_string())
        )
    }

    fn pg_ctl(&self) -> std::process::Command {
        let mut command = self
            .primary
            .account
            .command(&self.primary.binaries.program("pg_ctl"));
        command
            .arg("--pgdata")
            .arg(self.pgdata())
            .current_dir(self.root());
        command
    }
}
