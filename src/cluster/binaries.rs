//! Finding the PostgreSQL server programs on this machine.

use std::path::{Path, PathBuf};

use super::ClusterError;

/// The directory that holds `initdb`, `pg_ctl` and `postgres` of one PostgreSQL installation.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    dir: PathBuf,
}

const REQUIRED: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

impl PgBinaries {
    /// Looks in `PLEDGE_PG_BIN`, then on `PATH`, then under `/usr/lib/postgresql/<version>/bin`
    /// (Debian's layout), preferring the newest version there.
    pub fn locate() -> Result<Self, ClusterError> {
        if let Some(dir) = std::env::var_os("PLEDGE_PG_BIN") {
            let dir = PathBuf::from(dir);
            return Self::from_dir(&dir).ok_or(ClusterError::BinariesNotFound);
        }
        if let Some(found) = Self::on_path() {
            return Ok(found);
        }
        Self::under_debian_layout().ok_or(ClusterError::BinariesNotFound)
    }

    /// Path of one program of the installation, e.g. `pg_ctl`.
    pub fn program(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn from_dir(dir: &Path) -> Option<Self> {
        REQUIRED
            .iter()
            .all(|name| dir.join(name).is_file())
            .then(|| Self {
                dir: dir.to_path_buf(),
            })
    }

    fn on_path() -> Option<Self> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).find_map(|entry| {
            let pg_ctl = entry.join("pg_ctl");
            // Distributions link pg_ctl into /usr/local/bin or /usr/bin; the other programs sit
            // beside the real file.
            let real = std::fs::canonicalize(pg_ctl).ok()?;
            Self::from_dir(real.parent()?)
        })
    }

    fn under_debian_layout() -> Option<Self> {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
                Some((version, entry.path().join("bin")))
            })
            .collect();
        versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
        versions
            .into_iter()
            .find_map(|(_, dir)| Self::from_dir(&dir))
    }
}
