//! Continuous archiving of the private cluster and point-in-time recovery (docs/operations.md,
//! "Backup and restore").
//!
//! - `pledge serve --archive-dir DIR` writes `pgdata/pledge-archive.conf` (`archive_mode = on`,
//!   an `archive_command` that copies each finished WAL segment into `DIR`, compressed, under a
//!   temporary name renamed when complete, and refuses to overwrite a different file).
//! - `pledge backup --base` takes a base backup (`pg_basebackup`) into `DIR/base/<time>/`.
//! - `pledge restore --until TIME` unpacks the newest base backup finished before `TIME` into a
//!   new data directory and replays the archived WAL up to `TIME` (`restore_command`,
//!   `recovery_target_time`), then promotes the cluster.
//!
//! Both settings files are included from `postgresql.conf` by `include_if_exists`, so that they
//! survive restarts (and the supervisor's) without touching the rest of the configuration.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{ClusterError, PrivateCluster, SUPERUSER, create_dir, run};

const ARCHIVE_CONF: &str = "pledge-archive.conf";
const RECOVERY_CONF: &str = "pledge-recovery.conf";
const BASE_DIR: &str = "base";
const BASE_INFO: &str = "pledge-base.json";
/// A segment is archived at the latest this long after a write, even when it is not full.
pub const ARCHIVE_TIMEOUT_SECONDS: u32 = 300;
/// Longest wait for the replay of the archive to reach the target.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(1800);

/// A base backup found in the archive folder.
#[derive(Debug, Clone)]
pub struct BaseBackup {
    pub dir: PathBuf,
    pub finished_at: OffsetDateTime,
}

/// Quotes a path for `/bin/sh`.
fn sh_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// Quotes a value for `postgresql.conf`.
fn conf_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn absolute(dir: &Path) -> Result<PathBuf, ClusterError> {
    std::path::absolute(dir).map_err(|e| ClusterError::io(dir, e))
}

/// The `archive_command`: an existing identical file counts as archived (a retry after a crash);
/// an existing different one is refused (another cluster's WAL), so the archiver retries and
/// logs rather than overwrite it; otherwise compress to `.<name>.gz.tmp`, flush, rename.
fn archive_command(archive: &Path) -> String {
    format!(
        "d={dir}; f=\"$d/%f.gz\"; t=\"$d/.%f.gz.tmp\"; \
         if test -f \"$f\"; then gzip -dc \"$f\" | cmp -s - %p; \
         else gzip -c %p > \"$t\" && sync \"$t\" && mv \"$t\" \"$f\" && sync \"$d\"; fi",
        dir = sh_quote(archive)
    )
}

/// The `restore_command`: the segment asked for, if archived (exit 1 otherwise: end of archive).
fn restore_command(archive: &Path) -> String {
    format!(
        "test -f {dir}/%f.gz && gzip -dc {dir}/%f.gz > %p",
        dir = sh_quote(archive)
    )
}

impl PrivateCluster {
    /// Makes the cluster archive its WAL into `archive` from its next start; creates the folder
    /// (owned by the server account, which runs the `archive_command`). Needs the cluster
    /// created (`initialize`).
    pub fn configure_archiving(&self, archive: &Path) -> Result<PathBuf, ClusterError> {
        let archive = absolute(archive)?;
        create_dir(&archive, 0o700)?;
        self.account.own_private_dir(&archive)?;
        self.account.check_reachable(&archive)?;
        self.include_pledge_settings()?;
        let settings = format!(
            "# Written by pledge serve --archive-dir: WAL archiving for point-in-time recovery.\n\
             archive_mode = on\n\
             archive_command = {}\n\
             archive_timeout = {ARCHIVE_TIMEOUT_SECONDS}\n\
             wal_level = replica\n",
            conf_quote(&archive_command(&archive))
        );
        self.write_pgdata_file(ARCHIVE_CONF, &settings)?;
        Ok(archive)
    }

    /// Whether `pgdata/pledge-archive.conf` names an archive folder (archiving from the next start).
    pub fn archiving_configured(&self) -> bool {
        self.pgdata().join(ARCHIVE_CONF).is_file()
    }

    /// Appends, once, the includes of the archiving and recovery settings to `postgresql.conf`.
    fn include_pledge_settings(&self) -> Result<(), ClusterError> {
        let conf = self.pgdata().join("postgresql.conf");
        let text = std::fs::read_to_string(&conf).map_err(|e| ClusterError::io(&conf, e))?;
        if text.contains(ARCHIVE_CONF) {
            return Ok(());
        }
        let include = format!(
            "\n# Written by pledge: WAL archiving (serve --archive-dir) and recovery (restore --until).\n\
             include_if_exists = '{ARCHIVE_CONF}'\n\
             include_if_exists = '{RECOVERY_CONF}'\n"
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut file| std::io::Write::write_all(&mut file, include.as_bytes()))
            .map_err(|e| ClusterError::io(&conf, e))
    }

    /// Writes a file into `pgdata/` (owned by the server account, mode 0600).
    fn write_pgdata_file(&self, name: &str, content: &str) -> Result<(), ClusterError> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.pgdata().join(name);
        std::fs::write(&path, content).map_err(|e| ClusterError::io(&path, e))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| ClusterError::io(&path, e))?;
        if let super::ServerAccount::System { uid, gid, .. } = &self.account {
            std::os::unix::fs::chown(&path, Some(*uid), Some(*gid))
                .map_err(|e| ClusterError::io(&path, e))?;
        }
        Ok(())
    }

    /// Takes a base backup of the running cluster into `archive/base/<UTC time>/` (tar, gzip,
    /// with the WAL it needs); written under `.partial` and renamed when complete.
    pub fn base_backup(&self, archive: &Path) -> Result<BaseBackup, ClusterError> {
        let archive = absolute(archive)?;
        let base = archive.join(BASE_DIR);
        create_dir(&base, 0o700)?;
        self.account.own_private_dir(&base)?;
        let started = OffsetDateTime::now_utc();
        let name = format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            started.year(),
            u8::from(started.month()),
            started.day(),
            started.hour(),
            started.minute(),
            started.second()
        );
        let partial = base.join(format!("{name}.partial"));
        let done = base.join(&name);
        let mut command = self
            .account
            .command(&self.binaries.program("pg_basebackup"));
        command
            .arg("--pgdata")
            .arg(&partial)
            .args([
                "--format=tar",
                "--gzip",
                "--checkpoint=fast",
                "--no-password",
            ])
            .args(["--label", "pledge backup --base"])
            .arg("--dbname")
            .arg(format!(
                "host={} port={} user={SUPERUSER}",
                self.socket_dir().display(),
                super::SOCKET_PORT
            ))
            .current_dir(&base);
        if let Err(error) = run(&mut command, "pg_basebackup") {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(error);
        }
        let finished_at = OffsetDateTime::now_utc();
        let info = serde_json::json!({
            "started_at": started.format(&Rfc3339).unwrap_or_default(),
            "finished_at": finished_at.format(&Rfc3339).unwrap_or_default(),
        });
        let info_path = partial.join(BASE_INFO);
        std::fs::write(&info_path, info.to_string())
            .map_err(|e| ClusterError::io(&info_path, e))?;
        std::fs::rename(&partial, &done).map_err(|e| ClusterError::io(&done, e))?;
        Ok(BaseBackup {
            dir: done,
            finished_at,
        })
    }

    /// Recreates the cluster in this (new) data directory as it was at `until`: the newest base
    /// backup of `archive` finished before it, then the archived WAL replayed up to it; starts
    /// the server and waits until recovery has ended and it accepts writes. The data directory
    /// must not hold a cluster. The recovered cluster does not archive (start `serve
    /// --archive-dir` again, with a new folder).
    pub fn recover_to(
        &self,
        archive: &Path,
        until: OffsetDateTime,
    ) -> Result<BaseBackup, ClusterError> {
        let archive = absolute(archive)?;
        let base = newest_base_before(&archive, until)?;
        create_dir(&self.root, self.account.data_dir_mode())?;
        self.account.check_reachable(&self.root)?;
        for dir in [self.pgdata(), self.socket_dir(), self.root.join("log")] {
            create_dir(&dir, 0o700)?;
            self.account.own_private_dir(&dir)?;
        }
        let untar = |file: &str, into: &Path| -> Result<(), ClusterError> {
            let mut tar = self.account.command(Path::new("tar"));
            tar.arg("-xzf")
                .arg(base.dir.join(file))
                .arg("-C")
                .arg(into)
                .current_dir(&self.root);
            run(&mut tar, "tar").map(|_| ())
        };
        untar("base.tar.gz", &self.pgdata())?;
        untar("pg_wal.tar.gz", &self.pgdata().join("pg_wal"))?;
        // The copied settings name the old socket folder and the old archive: replace both.
        let _ = std::fs::remove_file(self.pgdata().join(ARCHIVE_CONF));
        self.write_server_settings()?;
        self.include_pledge_settings()?;
        let target = until
            .to_offset(time::UtcOffset::UTC)
            .format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]+00"
            ))
            .map_err(|e| ClusterError::Command {
                program: "recovery_target_time".into(),
                status: "invalid".into(),
                detail: e.to_string(),
            })?;
        let settings = format!(
            "# Written by pledge restore --until; removed once recovery has ended.\n\
             restore_command = {}\n\
             recovery_target_time = {}\n\
             recovery_target_action = 'promote'\n",
            conf_quote(&restore_command(&archive)),
            conf_quote(&target)
        );
        self.write_pgdata_file(RECOVERY_CONF, &settings)?;
        self.write_pgdata_file("recovery.signal", "")?;
        self.start()?;
        self.wait_until_promoted()?;
        let recovery = self.pgdata().join(RECOVERY_CONF);
        std::fs::remove_file(&recovery).map_err(|e| ClusterError::io(&recovery, e))?;
        Ok(base)
    }

    /// Waits until the server has left recovery (the target reached and promoted).
    fn wait_until_promoted(&self) -> Result<(), ClusterError> {
        let started = Instant::now();
        let psql = self.binaries.program("psql");
        loop {
            let mut query = self.account.command(&psql);
            query
                .args(["--no-psqlrc", "--tuples-only", "--no-align", "--command"])
                .arg("SELECT pg_is_in_recovery()")
                .arg(format!(
                    "host={} port={} user={SUPERUSER} dbname=postgres",
                    self.socket_dir().display(),
                    super::SOCKET_PORT
                ))
                .current_dir(&self.root);
            let output = query.output().map_err(|e| ClusterError::io(&psql, e))?;
            if output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == "f" {
                return Ok(());
            }
            if !self.is_running()? || started.elapsed() > RECOVERY_TIMEOUT {
                return Err(ClusterError::Command {
                    program: "recovery".into(),
                    status: if started.elapsed() > RECOVERY_TIMEOUT {
                        "timed out".into()
                    } else {
                        "the server stopped".into()
                    },
                    detail: format!("server log:\n{}", self.log_tail()),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The newest base backup in `archive/base/` that finished before `until`.
fn newest_base_before(archive: &Path, until: OffsetDateTime) -> Result<BaseBackup, ClusterError> {
    let base = archive.join(BASE_DIR);
    let entries = std::fs::read_dir(&base).map_err(|_| {
        ClusterError::Archive(format!(
            "{} holds no base backup (no {BASE_DIR}/ folder): is it the folder of `serve \
             --archive-dir`? Take a base backup with `pledge backup --base`",
            archive.display()
        ))
    })?;
    let mut found: Option<BaseBackup> = None;
    for entry in entries.flatten() {
        let dir = entry.path();
        let Ok(text) = std::fs::read_to_string(dir.join(BASE_INFO)) else {
            continue; // unfinished (.partial) or not ours
        };
        let finished_at = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|info| {
                info.get("finished_at")
                    .and_then(|v| v.as_str())
                    .and_then(|v| OffsetDateTime::parse(v, &Rfc3339).ok())
            });
        let Some(finished_at) = finished_at else {
            continue;
        };
        if finished_at < until && found.as_ref().is_none_or(|f| f.finished_at < finished_at) {
            found = Some(BaseBackup { dir, finished_at });
        }
    }
    found.ok_or_else(|| {
        ClusterError::Archive(format!(
            "{} holds no base backup finished before {}: take one with `pledge backup --base \
             --archive-dir {}` (a base backup covers the times after it, not before)",
            base.display(),
            until.format(&Rfc3339).unwrap_or_default(),
            archive.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_quote_the_archive_folder_for_the_shell() {
        let command = archive_command(Path::new("/srv/it's here"));
        assert!(command.starts_with(r"d='/srv/it'\''s here';"), "{command}");
        assert!(
            command.contains("mv \"$t\" \"$f\""),
            "renamed when complete"
        );
        assert_eq!(
            restore_command(Path::new("/a")),
            "test -f '/a'/%f.gz && gzip -dc '/a'/%f.gz > %p"
        );
        assert_eq!(conf_quote("it's"), "'it''s'");
    }
}
