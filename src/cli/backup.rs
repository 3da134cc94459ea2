//! `pledge backup`: a consistent, compressed backup of the whole database, taken while the
//! service runs (docs/operations.md, "Backup and restore").
//!
//! One snapshot: a `SERIALIZABLE READ ONLY DEFERRABLE` transaction exports its snapshot; the
//! manifest's figures (row count and digest of every table, the audit chain's head, the latest
//! migration) are read in it, and `pg_dump --snapshot` dumps exactly the same data. The file is a
//! zip of two entries: `pledge.dump` (pg_dump's custom format, compressed; `pg_restore` reads it)
//! and `manifest.json`, written under a temporary name and renamed when complete.
//!
//! Evidence files live in the database (`evidence_files.content`), so they are in the dump. The
//! second-factor key (`secrets/totp.key`) is deliberately not: it stays out of database backups
//! (docs/security.md).
//!
//! `pledge backup --base` instead takes a physical base backup of the private cluster into the
//! WAL archive folder, for `pledge restore --until` ([`crate::cluster`]'s archive module).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Executor, PgConnection};

use crate::cluster::{ClusterError, ClusterLock, Durability, PgBinaries, PrivateCluster};
use crate::config::{DatabaseConfig, DatabaseUrl};
use crate::storage::{self, DATABASE, OWNER_ROLE};

/// Name of the dump inside the backup file.
pub(super) const DUMP_ENTRY: &str = "pledge.dump";
/// Name of the manifest inside the backup file.
pub(super) const MANIFEST_ENTRY: &str = "manifest.json";
/// The manifest's `format`.
pub(super) const FORMAT: &str = "pledge-backup/1";

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// File to write (a zip: pledge.dump for pg_restore, and manifest.json). Default:
    /// pledge-backup-<UTC time>.zip in the current directory. Written under a temporary name
    /// and renamed when complete.
    #[arg(long, conflicts_with = "base")]
    output: Option<PathBuf>,
    /// Instead, take a base backup of the private cluster into --archive-dir (for `pledge
    /// restore --until`; the cluster must archive its WAL there: `serve --archive-dir`).
    #[arg(long, requires = "archive_dir")]
    base: bool,
    /// The WAL archive folder (`serve --archive-dir`), where --base writes.
    #[arg(long, env = "PLEDGE_ARCHIVE_DIR")]
    archive_dir: Option<PathBuf>,
}

/// Row count and digest of one table, as read in the backup's snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct TableFigures {
    pub name: String,
    pub rows: i64,
    /// Sum (order-independent) of a 64-bit hash (PostgreSQL's `hashtextextended`, the stable hash
    /// of hash partitioning) of each row's text. It finds lost or changed rows; the dump's SHA-256,
    /// the audit chain and the snapshot digests are the cryptographic checks.
    pub digest: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct DumpInfo {
    pub file: String,
    pub format: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct AuditInfo {
    pub entries: u64,
    pub intact: bool,
    pub head_seq: Option<i64>,
    pub head_hash: Option<String>,
}

/// What `manifest.json` says about the backup; `pledge restore` checks the result against it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Manifest {
    pub format: String,
    pub created_at: String,
    pub pledge_version: String,
    pub server_version: String,
    pub source: String,
    pub latest_migration: Option<i64>,
    pub dump: DumpInfo,
    pub audit: AuditInfo,
    pub snapshots: i64,
    pub evidence_files: i64,
    pub evidence_bytes: i64,
    pub tables: Vec<TableFigures>,
    pub not_included: Vec<String>,
}

/// How PostgreSQL's own programs and this process reach the database as its owner.
pub(super) struct Endpoint {
    pub options: PgConnectOptions,
    libpq_url: String,
    password: Option<String>,
    pub describe: String,
}

impl Endpoint {
    pub fn private(cluster: &PrivateCluster) -> Self {
        Self {
            options: quiet(cluster.connect_options(OWNER_ROLE, DATABASE)),
            libpq_url: cluster.url(OWNER_ROLE, DATABASE),
            password: None,
            describe: format!("the private cluster in {}", cluster.root().display()),
        }
    }

    /// The server of `DATABASE_URL`: its password goes to the programs in `PGPASSWORD`.
    pub fn external(url: &DatabaseUrl) -> anyhow::Result<Self> {
        let options = quiet(url.options().context("DATABASE_URL")?);
        let mut parsed = url::Url::parse(url.expose())
            .map_err(|_| anyhow::anyhow!("DATABASE_URL is not a postgresql:// URL"))?;
        let password = parsed.password().map(percent_decode);
        let _ = parsed.set_password(None);
        Ok(Self {
            describe: storage::describe(&options),
            options,
            libpq_url: parsed.to_string(),
            password,
        })
    }

    /// A command for `program` (pg_dump, pg_restore) connected as the owner, seeing every row
    /// (`pledge.role=system`: the tables are FORCE ROW LEVEL SECURITY).
    pub fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .arg("--no-password")
            .arg("--dbname")
            .arg(&self.libpq_url)
            .env("PGOPTIONS", "-c pledge.role=system")
            .env("PGAPPNAME", "pledge-backup")
            .env_remove("PGPASSWORD");
        if let Some(password) = &self.password {
            command.env("PGPASSWORD", password);
        }
        command
    }
}

/// Decodes `%XX` escapes (a URL's user information keeps `+` as it is).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// Options that do not warn of slow statements: a backup reads whole tables on purpose.
pub(super) fn quiet(options: PgConnectOptions) -> PgConnectOptions {
    use sqlx::ConnectOptions;
    options.log_slow_statements(log::LevelFilter::Off, std::time::Duration::from_secs(3600))
}

/// The database reached for a backup: the private cluster is used as it is when another
/// process (the service) runs it, or started for the backup and stopped after it.
struct Reached {
    endpoint: Endpoint,
    cluster: Option<PrivateCluster>,
    managed: Option<(PrivateCluster, ClusterLock, bool)>,
}

impl Reached {
    fn open(database: &DatabaseConfig) -> anyhow::Result<Self> {
        let data_dir = match database {
            DatabaseConfig::External { owner, .. } => {
                return Ok(Self {
                    endpoint: Endpoint::external(owner)?,
                    cluster: None,
                    managed: None,
                });
            }
            DatabaseConfig::Private { data_dir } => data_dir,
        };
        let cluster = PrivateCluster::new(data_dir, Durability::Durable)?;
        if !cluster.is_initialized() {
            anyhow::bail!(
                "there is no database in {} to back up (give the service's --data-dir, or \
                 DATABASE_URL)",
                cluster.root().display()
            );
        }
        let managed = match cluster.lock() {
            Ok(lock) => {
                let start = !cluster.is_running()?;
                if start {
                    cluster.start()?;
                }
                Some((cluster.clone(), lock, start))
            }
            Err(ClusterError::InUse { .. }) if cluster.is_running()? => None,
            Err(error) => return Err(error.into()),
        };
        Ok(Self {
            endpoint: Endpoint::private(&cluster),
            cluster: Some(cluster),
            managed,
        })
    }

    fn close(self) {
        if let Some((cluster, lock, true)) = self.managed {
            if let Err(error) = cluster.stop() {
                tracing::error!(%error, "the private cluster did not stop cleanly");
            }
            drop(lock);
        }
    }
}

pub async fn run(database: &DatabaseConfig, args: BackupArgs) -> anyhow::Result<()> {
    let reached = Reached::open(database)?;
    let result = if args.base {
        base(
            &reached,
            args.archive_dir.as_deref().unwrap_or(Path::new(".")),
        )
    } else {
        logical(&reached.endpoint, args.output).await
    };
    reached.close();
    result
}

fn base(reached: &Reached, archive_dir: &Path) -> anyhow::Result<()> {
    let Some(cluster) = &reached.cluster else {
        anyhow::bail!(
            "--base backs up the private cluster; with DATABASE_URL use the server's own \
             physical backups (pg_basebackup, WAL archiving)"
        );
    };
    let base = cluster.base_backup(archive_dir)?;
    println!(
        "base backup written to {} (finished {}); `pledge restore --until TIME --archive-dir {}` \
         can restore to any time after it that the archived WAL covers",
        base.dir.display(),
        rfc3339(base.finished_at),
        archive_dir.display()
    );
    Ok(())
}

async fn logical(endpoint: &Endpoint, output: Option<PathBuf>) -> anyhow::Result<()> {
    let binaries = PgBinaries::locate()?;
    let created_at = time::OffsetDateTime::now_utc();
    let output = output.unwrap_or_else(|| {
        PathBuf::from(format!(
            "pledge-backup-{:04}{:02}{:02}T{:02}{:02}{:02}Z.zip",
            created_at.year(),
            u8::from(created_at.month()),
            created_at.day(),
            created_at.hour(),
            created_at.minute(),
            created_at.second()
        ))
    });
    let folder = match output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut conn = storage::connect(&endpoint.options).await?;
    // A safe snapshot: no serializable transaction running beside it can make it anomalous.
    conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE")
        .await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut conn)
        .await?;
    let mut command = endpoint.command(&binaries.program("pg_dump"));
    command
        .args(["--format=custom", "--enable-row-security", "--snapshot"])
        .arg(&snapshot);
    let file = tempfile::Builder::new()
        .prefix(".pledge-backup-")
        .suffix(".partial")
        .tempfile_in(&folder)
        .with_context(|| format!("cannot write in {}", folder.display()))?;
    let stamp = zip_time(created_at);
    // pg_dump reads the snapshot while this transaction reads the manifest's figures in it.
    let dumping = tokio::task::spawn_blocking(move || write_dump(command, file, stamp));
    let figures = read_figures(&mut conn, endpoint).await;
    let dumped = dumping.await.context("the backup's writer stopped");
    // The snapshot had to live until pg_dump had read everything.
    conn.execute("COMMIT").await?;
    let mut manifest = figures?;
    let (zip, bytes, sha256) = dumped??;
    manifest.created_at = rfc3339(created_at);
    manifest.dump.bytes = bytes;
    manifest.dump.sha256 = sha256;
    if !manifest.audit.intact {
        tracing::warn!("the audit chain does not verify; backed up as it is");
    }
    let file = finish_archive(zip, &manifest, stamp)?;
    file.persist(&output)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {}", output.display(), e.error))?;
    let rows: i64 = manifest.tables.iter().map(|t| t.rows).sum();
    println!("backup written to {}", output.display());
    println!(
        "{} tables, {rows} rows, {} snapshots, {} evidence files ({} bytes); dump {} bytes, \
         sha256 {}",
        manifest.tables.len(),
        manifest.snapshots,
        manifest.evidence_files,
        manifest.evidence_bytes,
        manifest.dump.bytes,
        manifest.dump.sha256
    );
    match (manifest.audit.head_seq, &manifest.audit.head_hash) {
        (Some(seq), Some(hash)) => println!(
            "audit log: {} entries, {}, head entry {seq} hash {hash}",
            manifest.audit.entries,
            if manifest.audit.intact {
                "chain intact"
            } else {
                "CHAIN BROKEN"
            }
        ),
        _ => println!("audit log: empty"),
    }
    println!("not included: {}", manifest.not_included.join("; "));
    Ok(())
}

/// Reads, in the current transaction, everything the manifest records but the dump itself.
async fn read_figures(conn: &mut PgConnection, endpoint: &Endpoint) -> anyhow::Result<Manifest> {
    let tables = table_figures(conn).await?;
    let verification = storage::audit::verify(conn).await?;
    let head = verification.last.clone();
    let server_version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut *conn)
        .await?;
    let latest_migration: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await?;
    let (evidence_files, evidence_bytes): (i64, i64) = sqlx::query_as(
        "SELECT count(*), coalesce(sum(size_bytes), 0)::bigint FROM public.evidence_files",
    )
    .fetch_one(&mut *conn)
    .await?;
    let snapshots = tables
        .iter()
        .find(|t| t.name == "snapshots")
        .map_or(0, |t| t.rows);
    Ok(Manifest {
        format: FORMAT.to_owned(),
        created_at: String::new(),
        pledge_version: super::VERSION.to_owned(),
        server_version,
        source: endpoint.describe.clone(),
        latest_migration,
        dump: DumpInfo {
            file: DUMP_ENTRY.to_owned(),
            format: "pg_dump custom (compressed); pg_restore reads it".to_owned(),
            bytes: 0,
            sha256: String::new(),
        },
        audit: AuditInfo {
            entries: verification.entries,
            intact: verification.first_break.is_none(),
            head_seq: head.as_ref().map(|(seq, _)| *seq),
            head_hash: head.as_ref().map(|(_, hash)| hex::encode(hash)),
        },
        snapshots,
        evidence_files,
        evidence_bytes,
        tables,
        not_included: vec![
            "the second-factor key (secrets/totp.key in the data directory, or \
             PLEDGE_TOTP_KEY_FILE): back it up separately"
                .to_owned(),
            "the audit anchor file (the manifest holds the chain's head)".to_owned(),
        ],
    })
}

/// Row count and digest of every table of schema `public`, in the current transaction, which
/// sees every row (`pledge.role=system`) and prints values the same way whatever the session.
pub(super) async fn table_figures(conn: &mut PgConnection) -> anyhow::Result<Vec<TableFigures>> {
    conn.execute(
        "SELECT set_config('pledge.role', 'system', true);
         SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD';
         SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 1;
         SET LOCAL bytea_output = 'hex';",
    )
    .await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut figures = Vec::with_capacity(names.len());
    for name in names {
        let sql = format!(
            "SELECT count(*),
                    coalesce(sum(hashtextextended(ROW(backup_row.*)::text, 0)::numeric), 0)::text
             FROM public.\"{}\" backup_row",
            name.replace('"', "\"\"")
        );
        let (rows, digest): (i64, String) = sqlx::query_as(&sql)
            .fetch_one(&mut *conn)
            .await
            .with_context(|| format!("reading table {name}"))?;
        figures.push(TableFigures { name, rows, digest });
    }
    Ok(figures)
}

/// Hashes and counts what passes through.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

type Archive = zip::ZipWriter<tempfile::NamedTempFile>;

/// Runs pg_dump into the zip's first entry; gives the zip, the dump's size and SHA-256.
fn write_dump(
    mut command: Command,
    file: tempfile::NamedTempFile,
    stamp: zip::DateTime,
) -> anyhow::Result<(Archive, u64, String)> {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(file);
    let stored = SimpleFileOptions::default()
        .last_modified_time(stamp)
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true)
        .unix_permissions(0o600);
    zip.start_file(DUMP_ENTRY, stored)?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run pg_dump")?;
    let stderr = child.stderr.take().map(|mut stderr| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        })
    });
    let mut sink = Hashing {
        inner: &mut zip,
        hasher: Sha256::new(),
        bytes: 0,
    };
    let copied = child
        .stdout
        .take()
        .map(|mut stdout| std::io::copy(&mut stdout, &mut sink));
    let status = child.wait()?;
    let errors = stderr
        .and_then(|thread| thread.join().ok())
        .unwrap_or_default();
    if !status.success() {
        anyhow::bail!("pg_dump failed ({status}): {}", errors.trim());
    }
    match copied {
        Some(Ok(_)) => {}
        Some(Err(error)) => return Err(error).context("writing the dump"),
        None => anyhow::bail!("pg_dump gave no output"),
    }
    let (bytes, sha256) = (sink.bytes, hex::encode(sink.hasher.finalize()));
    Ok((zip, bytes, sha256))
}

/// Writes the manifest as the zip's second entry and closes the file, flushed to disk.
fn finish_archive(
    mut zip: Archive,
    manifest: &Manifest,
    stamp: zip::DateTime,
) -> anyhow::Result<tempfile::NamedTempFile> {
    use zip::write::SimpleFileOptions;
    zip.start_file(
        MANIFEST_ENTRY,
        SimpleFileOptions::default()
            .last_modified_time(stamp)
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o600),
    )?;
    zip.write_all(&serde_json::to_vec_pretty(manifest)?)?;
    let file = zip.finish()?;
    file.as_file().sync_all()?;
    Ok(file)
}

/// The backup's time for the zip entries (UTC; zip has no zone), or 1980 if out of zip's range.
fn zip_time(at: time::OffsetDateTime) -> zip::DateTime {
    u16::try_from(at.year())
        .ok()
        .and_then(|year| {
            zip::DateTime::from_date_and_time(
                year,
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second(),
            )
            .ok()
        })
        .unwrap_or_default()
}

pub(super) fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Before `serve` opens the database: with `--archive-dir`, makes the private cluster archive
/// its WAL there from this start on (creating the cluster if needed).
pub(super) fn prepare_archiving(
    database: &DatabaseConfig,
    archive_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let Some(archive_dir) = archive_dir else {
        return Ok(());
    };
    let DatabaseConfig::Private { data_dir } = database else {
        anyhow::bail!(
            "--archive-dir archives the private cluster's WAL; with DATABASE_URL, set up \
             archiving on that server (archive_mode, archive_command)"
        );
    };
    let cluster = PrivateCluster::new(data_dir, Durability::Durable)?;
    // The lock is taken again by the start that follows; another holder is reported there.
    let Ok(_lock) = cluster.lock() else {
        return Ok(());
    };
    if !cluster.is_initialized() {
        cluster.initialize()?;
    }
    let archive = cluster.configure_archiving(archive_dir)?;
    tracing::info!(archive = %archive.display(), "WAL archiving is on");
    Ok(())
}

/// After `serve` opened the database: archiving must really be on (a cluster already running,
/// started by `pledge db start`, keeps its settings until it restarts).
pub(super) async fn check_archiving(
    plan: &crate::storage::ConnectionPlan,
    archive_dir: Option<&Path>,
) -> anyhow::Result<()> {
    if archive_dir.is_none() {
        return Ok(());
    }
    let mut conn = plan.owner_connection().await?;
    let mode: String = sqlx::query_scalar("SELECT current_setting('archive_mode')")
        .fetch_one(&mut conn)
        .await?;
    if mode == "off" {
        anyhow::bail!(
            "the private cluster was already running without WAL archiving; stop it (`pledge db \
             stop`) and start `pledge serve --archive-dir …` again"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_pgpassword_decoded() {
        let url: DatabaseUrl =
            "postgresql://pledge_owner:p%40ss+w%2Fd@db.example:5433/pledge?sslmode=require"
                .parse()
                .unwrap();
        let endpoint = Endpoint::external(&url).unwrap();
        assert_eq!(endpoint.password.as_deref(), Some("p@ss+w/d"));
        assert_eq!(
            endpoint.libpq_url,
            "postgresql://pledge_owner@db.example:5433/pledge?sslmode=require"
        );
        let command = endpoint.command(Path::new("pg_dump"));
        assert!(
            command
                .get_args()
                .all(|arg| !arg.to_string_lossy().contains("p%40ss")
                    && !arg.to_string_lossy().contains("p@ss")),
            "the password is not on the command line"
        );
        assert!(
            command
                .get_envs()
                .any(|(name, value)| name == "PGPASSWORD"
                    && value.is_some_and(|v| v == "p@ss+w/d"))
        );
    }
}
