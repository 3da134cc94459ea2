//! The private PostgreSQL cluster: a server of this machine's PostgreSQL installation, run in the
//! product's data directory and reachable only through a Unix socket inside it.
//!
//! Layout of the data directory:
//! - `pgdata/`  the cluster (owned by the server account, mode 0700)
//! - `run/`     the server's Unix socket (no TCP port is opened)
//! - `log/`     the server's log
//! - `pledge.lock`  held by the one `pledge` process that manages the cluster
//! - `started-by-hand`  present while the cluster was started by `pledge db start`
//!
//! WAL archiving and point-in-time recovery: [`archive`].

mod account;
mod archive;
mod binaries;
pub mod replica;
mod supervisor;

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::Output;

use sqlx::postgres::PgConnectOptions;

pub use account::ServerAccount;
pub use archive::{ARCHIVE_TIMEOUT_SECONDS, BaseBackup};
pub use binaries::PgBinaries;
pub use supervisor::{RestartState, Supervisor};

/// Database superuser created by `initdb`; used only to create the roles and databases.
pub const SUPERUSER: &str = "postgres";
/// The socket file is `.s.PGSQL.<port>`; no TCP port is opened, the number only names the file.
const SOCKET_PORT: u16 = 5432;
/// Unix socket paths are limited to 107 bytes on Linux.
const MAX_SOCKET_PATH: usize = 107;

/// Why the private cluster could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server programs (initdb, pg_ctl, postgres) were not found on PATH or under \
         /usr/lib/postgresql/<version>/bin. Install the server (Debian/Ubuntu: `apt-get install \
         postgresql`), set PLEDGE_PG_BIN to the directory that holds them, or set DATABASE_URL to \
         use an existing server."
    )]
    BinariesNotFound,
    #[error(
        "this process runs as root and PostgreSQL refuses to; no 'postgres' system account exists \
         to run it. Install the PostgreSQL server package (it creates the account) or run pledge \
         as a regular user."
    )]
    NoServerAccount,
    #[error(
        "the '{account}' account that runs PostgreSQL cannot enter {dir}; choose another \
         --data-dir or allow it (chmod o+x {dir})"
    )]
    Unreachable { account: String, dir: PathBuf },
    #[error("the data directory {dir} is in use by another pledge process{holder}")]
    InUse { dir: PathBuf, holder: String },
    #[error(
        "the socket path {path} is too long for a Unix socket ({len} bytes, at most {MAX_SOCKET_PATH}); \
         choose a shorter --data-dir"
    )]
    SocketPathTooLong { path: PathBuf, len: usize },
    #[error("{program} failed ({status}): {detail}")]
    Command {
        program: String,
        status: String,
        detail: String,
    },
    /// Continuous archiving or point-in-time recovery cannot proceed (archive.rs says why).
    #[error("{0}")]
    Archive(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ClusterError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Whether the cluster syncs to disk. Tests turn durability off for speed; the service never does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Durable,
    Disposable,
}

/// A private PostgreSQL cluster in one data directory.
#[derive(Debug, Clone)]
pub struct PrivateCluster {
    root: PathBuf,
    binaries: PgBinaries,
    account: ServerAccount,
    durability: Durability,
}

/// Proof that this process manages the data directory; released when dropped.
#[derive(Debug)]
pub struct ClusterLock {
    _file: File,
}

impl PrivateCluster {
    /// Describes the cluster in `data_dir` (made absolute), finding the server programs and the
    /// account to run them as. Creates nothing.
    pub fn new(data_dir: &Path, durability: Durability) -> Result<Self, ClusterError> {
        let root = std::path::absolute(data_dir).map_err(|e| ClusterError::io(data_dir, e))?;
        let cluster = Self {
            root,
            binaries: PgBinaries::locate()?,
            account: ServerAccount::for_this_process()?,
            durability,
        };
        let socket = cluster.socket_file();
        let len = socket.as_os_str().len();
        if len > MAX_SOCKET_PATH {
            return Err(ClusterError::SocketPathTooLong { path: socket, len });
        }
        Ok(cluster)
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn pgdata(&self) -> PathBuf {
        self.root.join("pgdata")
    }

    /// Directory that holds the server's Unix socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    fn socket_file(&self) -> PathBuf {
        self.socket_dir().join(format!(".s.PGSQL.{SOCKET_PORT}"))
    }

    fn log_file(&self) -> PathBuf {
        self.root.join("log").join("postgres.log")
    }

    fn hand_marker(&self) -> PathBuf {
        self.root.join("started-by-hand")
    }

    /// Takes the data directory for this process, failing at once when another process has it.
    pub fn lock(&self) -> Result<ClusterLock, ClusterError> {
        create_dir(&self.root, self.account.data_dir_mode())?;
        let path = self.root.join("pledge.lock");
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| ClusterError::io(&path, e))?;
        if file.try_lock().is_err() {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(ClusterError::InUse {
                dir: self.root.clone(),
                holder: if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                },
            });
        }
        let write_pid = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.rewind()?;
            write!(file, "{}", std::process::id())
        };
        write_pid(&mut file).map_err(|e| ClusterError::io(&path, e))?;
        Ok(ClusterLock { _file: file })
    }

    /// Whether `initdb` has run in this data directory.
    pub fn is_initialized(&self) -> bool {
        self.pgdata().join("PG_VERSION").is_file()
    }

    /// Creates the cluster: directories with the right owners and modes, then `initdb`.
    pub fn initialize(&self) -> Result<(), ClusterError> {
        create_dir(&self.root, self.account.data_dir_mode())?;
        self.account.check_reachable(&self.root)?;
        for dir in [self.pgdata(), self.socket_dir(), self.root.join("log")] {
            create_dir(&dir, 0o700)?;
            self.account.own_private_dir(&dir)?;
        }
        let mut initdb = self.account.command(&self.binaries.program("initdb"));
        initdb
            .arg("--pgdata")
            .arg(self.pgdata())
            .args(["--username", SUPERUSER, "--auth", "trust"])
            .args(["--encoding", "UTF8", "--locale", "C.UTF-8"]);
        if self.durability == Durability::Disposable {
            initdb.arg("--no-sync");
        }
        run(initdb.current_dir(&self.root), "initdb")?;
        self.write_server_settings()
    }

    /// Settings that keep the server private: no TCP, socket only in our directory, readable only
    /// by the owner. Authentication is `trust` because the socket directory's permissions are
    /// the access control (only the server account, and root, can enter it).
    fn write_server_settings(&self) -> Result<(), ClusterError> {
        let socket_dir = self.socket_dir().display().to_string().replace('\'', "''");
        let mut settings = format!(
            "\n# Written by pledge: a private cluster reachable only through its own socket.\n\
             listen_addresses = ''\n\
             unix_socket_directories = '{socket_dir}'\n\
             unix_socket_permissions = 0700\n\
             port = {SOCKET_PORT}\n\
             max_connections = 200\n"
        );
        if self.durability == Durability::Disposable {
            settings.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        let conf = self.pgdata().join("postgresql.conf");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut file| file.write_all(settings.as_bytes()))
            .map_err(|e| ClusterError::io(&conf, e))
    }

    /// Whether a server is running on this data directory.
    pub fn is_running(&self) -> Result<bool, ClusterError> {
        if !self.is_initialized() {
            return Ok(false);
        }
        let mut status = self.pg_ctl();
        status.arg("status");
        let output = status
            .output()
            .map_err(|e| ClusterError::io(&self.binaries.program("pg_ctl"), e))?;
        // pg_ctl status: 0 running, 3 not running, 4 no accessible data directory.
        match output.status.code() {
            Some(0) => Ok(true),
            Some(3) => Ok(false),
            _ => Err(command_error("pg_ctl status", &output, "")),
        }
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) -> Result<(), ClusterError> {
        self.account.check_reachable(&self.root)?;
        let mut start = self.pg_ctl();
        start
            .args(["start", "--wait", "--timeout", "60", "--silent", "--log"])
            .arg(self.log_file());
        let output = start
            .output()
            .map_err(|e| ClusterError::io(&self.binaries.program("pg_ctl"), e))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(command_error("pg_ctl start", &output, &self.log_tail()))
        }
    }

    /// Stops the server (fast shutdown: open transactions are rolled back) and waits for it.
    pub fn stop(&self) -> Result<(), ClusterError> {
        if !self.is_running()? {
            let _ = std::fs::remove_file(self.hand_marker());
            return Ok(());
        }
        let mut stop = self.pg_ctl();
        stop.args([
            "stop",
            "--wait",
            "--timeout",
            "60",
            "--silent",
            "--mode",
            "fast",
        ]);
        run(&mut stop, "pg_ctl stop")?;
        let _ = std::fs::remove_file(self.hand_marker());
        Ok(())
    }

    /// Records that the server was started by hand (`pledge db start`), so that `serve` leaves it
    /// running when it exits.
    pub fn mark_started_by_hand(&self) -> Result<(), ClusterError> {
        let marker = self.hand_marker();
        std::fs::write(&marker, b"").map_err(|e| ClusterError::io(&marker, e))
    }

    /// Whether the running server was started by `pledge db start`.
    pub fn was_started_by_hand(&self) -> bool {
        self.hand_marker().exists()
    }

    /// Connection options for `user` on `database`, through the private socket.
    pub fn connect_options(&self, user: &str, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .host(&self.socket_dir().display().to_string())
            .port(SOCKET_PORT)
            .username(user)
            .database(database)
    }

    /// A libpq connection string for `user` on `database` that `psql` accepts.
    pub fn url(&self, user: &str, database: &str) -> String {
        format!(
            "postgresql:///{database}?host={}&port={SOCKET_PORT}&user={user}",
            percent_encode(&self.socket_dir().display().to_string())
        )
    }

    /// The server account, for log messages.
    pub fn account(&self) -> &ServerAccount {
        &self.account
    }

    fn pg_ctl(&self) -> std::process::Command {
        let mut command = self.account.command(&self.binaries.program("pg_ctl"));
        command
            .arg("--pgdata")
            .arg(self.pgdata())
            .current_dir(&self.root);
        command
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }
}

fn create_dir(dir: &Path, mode: u32) -> Result<(), ClusterError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(dir)
            .map_err(|e| ClusterError::io(dir, e))?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .map_err(|e| ClusterError::io(dir, e))
}

fn run(command: &mut std::process::Command, name: &str) -> Result<Output, ClusterError> {
    let output = command
        .output()
        .map_err(|e| ClusterError::io(Path::new(command.get_program()), e))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(command_error(name, &output, ""))
    }
}

fn command_error(name: &str, output: &Output, log_tail: &str) -> ClusterError {
    let mut detail = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if detail.is_empty() {
        detail = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    }
    if !log_tail.is_empty() {
        detail.push_str("\nserver log:\n");
        detail.push_str(log_tail);
    }
    ClusterError::Command {
        program: name.to_owned(),
        status: output.status.to_string(),
        detail,
    }
}

/// Percent-encodes everything but unreserved characters and `/`, for a path in a query string.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn percent_encoding_keeps_slashes_and_escapes_spaces_and_ampersands() {
        assert_eq!(percent_encode("/a b/c&d"), "/a%20b/c%26d");
    }
}
