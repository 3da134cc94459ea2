//! `pledge restore`: a backup of `pledge backup` into a new data directory (or an empty database
//! at `DATABASE_URL`), checked against the backup's manifest before success is reported; and
//! `pledge restore --until TIME`: point-in-time recovery of the private cluster from the WAL
//! archive (docs/operations.md, "Backup and restore").
//!
//! A target that holds tables is refused unless `--force` (the private cluster's database is
//! then dropped and created again; at `DATABASE_URL`, schema `public` is). Verification after the
//! load: every table's row count and digest equal the manifest's, the audit chain verifies and
//! ends at the manifest's head, every snapshot's digest matches its document and every evidence
//! file its checksum. The audit anchor file of the target then starts at the restored head.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context;
use sqlx::{Connection, Executor, PgConnection};
use time::OffsetDateTime;

use super::backup::{self, Endpoint, Manifest};
use crate::cluster::{
    ClusterError, ClusterLock, Durability, PgBinaries, PrivateCluster, SUPERUSER,
};
use crate::config::DatabaseConfig;
use crate::storage::{self, DATABASE, OWNER_ROLE};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["file", "until"])))]
pub struct RestoreArgs {
    /// The backup file written by `pledge backup`.
    file: Option<PathBuf>,
    /// Replace what the target holds (its database is dropped first). Without it, a target that
    /// holds any table is refused.
    #[arg(long)]
    force: bool,
    /// Point-in-time recovery of the private cluster into a new --data-dir: the moment to go
    /// back to, RFC 3339 (2026-12-03T14:02:00Z, 2026-12-03T15:02:00+01:00). Needs the base
    /// backups and WAL of --archive-dir.
    #[arg(long, value_parser = parse_time, requires = "archive_dir")]
    until: Option<OffsetDateTime>,
    /// The WAL archive folder (`serve --archive-dir`), for --until.
    #[arg(long, env = "PLEDGE_ARCHIVE_DIR")]
    archive_dir: Option<PathBuf>,
}

fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("{text:?} is not a time: write RFC 3339, e.g. 2026-12-03T14:02:00Z"))
}

pub async fn run(
    database: &DatabaseConfig,
    anchor_file: Option<PathBuf>,
    args: RestoreArgs,
) -> anyhow::Result<()> {
    match (args.until, &args.file) {
        (Some(until), _) => {
            let archive = args.archive_dir.clone().unwrap_or_default();
            point_in_time(database, anchor_file, &archive, until, args.force).await
        }
        (None, Some(file)) => logical(database, anchor_file, file, args.force).await,
        (None, None) => anyhow::bail!("give the backup file, or --until"),
    }
}

/// The database restored into: the private cluster (held, and started here if it was not
/// running) or the server of `DATABASE_URL`.
struct Target {
    endpoint: Endpoint,
    cluster: Option<(PrivateCluster, ClusterLock, bool)>,
}

impl Target {
    async fn open(database: &DatabaseConfig) -> anyhow::Result<Self> {
        let data_dir = match database {
            DatabaseConfig::External { owner, .. } => {
                return Ok(Self {
                    endpoint: Endpoint::external(owner)?,
                    cluster: None,
                });
            }
            DatabaseConfig::Private { data_dir } => data_dir,
        };
        let cluster = PrivateCluster::new(data_dir, Durability::Durable)?;
        let lock = cluster.lock().map_err(|error| match error {
            ClusterError::InUse { .. } => anyhow::anyhow!(
                "{error}: stop the service before restoring into its data directory, or restore \
                 into a new --data-dir"
            ),
            other => other.into(),
        })?;
        if !cluster.is_initialized() {
            cluster.initialize()?;
        }
        let start = !cluster.is_running()?;
        if start {
            cluster.start()?;
        }
        let target = Self {
            endpoint: Endpoint::private(&cluster),
            cluster: Some((cluster, lock, start)),
        };
        if let Some((cluster, _, _)) = &target.cluster
            && let Err(error) = storage::bootstrap_private(cluster).await
        {
            target.close();
            return Err(error.into());
        }
        Ok(target)
    }

    fn close(self) {
        if let Some((cluster, lock, started)) = self.cluster {
            if started && let Err(error) = cluster.stop() {
                tracing::error!(%error, "the private cluster did not stop cleanly");
            }
            drop(lock);
        }
    }

    /// Tables in schema `public`: a target with any is not empty.
    async fn tables(&self) -> anyhow::Result<i64> {
        let mut conn = storage::connect(&self.endpoint.options).await?;
        let count = sqlx::query_scalar(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')",
        )
        .fetch_one(&mut conn)
        .await?;
        conn.close().await?;
        Ok(count)
    }

    /// Empties the target: the private cluster's database is dropped and created again; at
    /// `DATABASE_URL`, schema `public` (the owner owns everything in it).
    async fn empty(&self) -> anyhow::Result<()> {
        match &self.cluster {
            Some((cluster, _, _)) => {
                let mut conn =
                    storage::connect(&cluster.connect_options(SUPERUSER, "postgres")).await?;
                conn.execute(format!("DROP DATABASE {DATABASE} WITH (FORCE)").as_str())
                    .await?;
                conn.execute(format!("CREATE DATABASE {DATABASE} OWNER {OWNER_ROLE}").as_str())
                    .await?;
                conn.close().await?;
            }
            None => {
                let mut conn = storage::connect(&self.endpoint.options).await?;
                conn.execute(
                    "DROP SCHEMA public CASCADE;
                     CREATE SCHEMA public AUTHORIZATION pg_database_owner;
                     GRANT USAGE ON SCHEMA public TO PUBLIC;",
                )
                .await?;
                conn.close().await?;
            }
        }
        Ok(())
    }
}

async fn logical(
    database: &DatabaseConfig,
    anchor_file: Option<PathBuf>,
    file: &Path,
    force: bool,
) -> anyhow::Result<()> {
    let manifest = read_manifest(file)?;
    let binaries = PgBinaries::locate()?;
    let target = Target::open(database).await?;
    let result = restore_into(&target, &binaries, file, &manifest, force).await;
    let result = match result {
        Ok(checked) => {
            let anchored = anchor(anchor_file.as_deref(), &manifest.audit);
            anchored.map(|note| (checked, note))
        }
        Err(error) => Err(error),
    };
    let described = target.endpoint.describe.clone();
    target.close();
    let (checked, anchored) = result?;
    println!(
        "restored {} (backup of {}, taken {}) into {described}",
        file.display(),
        manifest.source,
        manifest.created_at
    );
    println!("verified: {checked}");
    if let Some(note) = anchored {
        println!("{note}");
    }
    println!(
        "not in the backup: the second-factor key. Copy the old data directory's \
         secrets/totp.key (or PLEDGE_TOTP_KEY_FILE) into place before `pledge serve`; without \
         it every second factor must be reset"
    );
    Ok(())
}

/// Opens the backup, reads its manifest and checks the dump's SHA-256 against it.
fn read_manifest(file: &Path) -> anyhow::Result<Manifest> {
    let opened = std::fs::File::open(file)
        .with_context(|| format!("cannot open the backup {}", file.display()))?;
    let mut zip = zip::ZipArchive::new(opened)
        .with_context(|| format!("{} is not a backup of `pledge backup`", file.display()))?;
    let manifest: Manifest = {
        let entry = zip
            .by_name(backup::MANIFEST_ENTRY)
            .with_context(|| format!("{} has no manifest.json", file.display()))?;
        serde_json::from_reader(entry).context("manifest.json does not parse")?
    };
    if manifest.format != backup::FORMAT {
        anyhow::bail!(
            "{} is a backup of format {:?}; this pledge reads {:?}",
            file.display(),
            manifest.format,
            backup::FORMAT
        );
    }
    let mut entry = zip
        .by_name(backup::DUMP_ENTRY)
        .with_context(|| format!("{} has no {}", file.display(), backup::DUMP_ENTRY))?;
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = entry.read(&mut buffer).context("reading the dump")?;
        if read == 0 {
            break;
        }
        sha2::Digest::update(&mut hasher, &buffer[..read]);
    }
    let digest = hex::encode(sha2::Digest::finalize(hasher));
    if digest != manifest.dump.sha256 {
        anyhow::bail!(
            "the dump in {} is damaged: its SHA-256 is {digest}, the manifest says {}",
            file.display(),
            manifest.dump.sha256
        );
    }
    Ok(manifest)
}

async fn restore_into(
    target: &Target,
    binaries: &PgBinaries,
    file: &Path,
    manifest: &Manifest,
    force: bool,
) -> anyhow::Result<String> {
    let tables = target.tables().await?;
    if tables > 0 {
        if !force {
            anyhow::bail!(
                "{} is not empty (it holds {tables} tables): restoring would replace \
                 it. Restore into a new --data-dir (or an empty database), or give --force to \
                 replace what it holds",
                target.endpoint.describe
            );
        }
        tracing::warn!(target = %target.endpoint.describe, "--force: replacing what the target holds");
        target.empty().await?;
    }
    let mut command = target.endpoint.command(&binaries.program("pg_restore"));
    command.args(["--exit-on-error", "--single-transaction"]);
    let file = file.to_path_buf();
    tokio::task::spawn_blocking(move || pipe_dump_into(command, &file))
        .await
        .context("the restore's reader stopped")??;
    // A process serving this database drops whatever it kept from before (--force).
    let mut conn = storage::connect(&target.endpoint.options).await?;
    storage::coherence::announce_everything(&mut conn).await?;
    conn.close().await?;
    verify(&target.endpoint, manifest).await
}

/// Streams the dump entry of the backup into `pg_restore`'s standard input.
fn pipe_dump_into(mut command: std::process::Command, file: &Path) -> anyhow::Result<()> {
    let opened = std::fs::File::open(file)?;
    let mut zip = zip::ZipArchive::new(opened)?;
    let mut entry = zip.by_name(backup::DUMP_ENTRY)?;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run pg_restore")?;
    let stderr = child.stderr.take().map(|mut stderr| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        })
    });
    let copied = child
        .stdin
        .take()
        .map(|mut stdin| std::io::copy(&mut entry, &mut stdin));
    let status = child.wait()?;
    let errors = stderr
        .and_then(|thread| thread.join().ok())
        .unwrap_or_default();
    if !status.success() {
        anyhow::bail!(
            "pg_restore failed ({status}); nothing was kept (one transaction): {}",
            errors.trim()
        );
    }
    if let Some(Err(error)) = copied {
        return Err(error).context("feeding pg_restore");
    }
    Ok(())
}

/// Checks the restored database against the manifest; says what holds, or fails naming what
/// does not.
async fn verify(endpoint: &Endpoint, manifest: &Manifest) -> anyhow::Result<String> {
    let mut conn = storage::connect(&endpoint.options).await?;
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let restored = backup::table_figures(&mut conn).await?;
    let mut problems = Vec::new();
    for expected in &manifest.tables {
        match restored.iter().find(|t| t.name == expected.name) {
            None => problems.push(format!("table {} is missing", expected.name)),
            Some(found) if found.rows != expected.rows => problems.push(format!(
                "table {} has {} rows, the backup {}",
                expected.name, found.rows, expected.rows
            )),
            Some(found) if found.digest != expected.digest => problems.push(format!(
                "table {}'s content differs from the backup (digest)",
                expected.name
            )),
            Some(_) => {}
        }
    }
    for extra in restored
        .iter()
        .filter(|t| !manifest.tables.iter().any(|e| e.name == t.name))
    {
        problems.push(format!("table {} is not in the backup", extra.name));
    }
    let (audit, integrity) = check_integrity(&mut conn).await?;
    conn.execute("COMMIT").await?;
    conn.close().await?;
    if audit != manifest.audit {
        problems.push(format!(
            "the audit log differs: the backup had {} entries ending at entry {:?} (chain {}), \
             the restored log {} ending at {:?} (chain {})",
            manifest.audit.entries,
            manifest.audit.head_seq,
            if manifest.audit.intact {
                "intact"
            } else {
                "broken"
            },
            audit.entries,
            audit.head_seq,
            if audit.intact { "intact" } else { "broken" }
        ));
    }
    if !integrity.problems.is_empty() {
        problems.extend(integrity.problems.iter().cloned());
    }
    if !problems.is_empty() {
        anyhow::bail!(
            "the restored database does not match the backup; do not use it: {}",
            problems.join("; ")
        );
    }
    let rows: i64 = restored.iter().map(|t| t.rows).sum();
    Ok(format!(
        "{} tables and {rows} rows match the backup's row counts and digests; audit log \
         {} ({} entries{}); {}",
        restored.len(),
        if audit.intact {
            "intact"
        } else {
            "as broken as in the backup"
        },
        audit.entries,
        audit
            .head_seq
            .map(|seq| format!(", head entry {seq}"))
            .unwrap_or_default(),
        integrity.summary
    ))
}

struct Integrity {
    summary: String,
    problems: Vec<String>,
}

/// The audit chain, snapshot digests and evidence checksums of the database, in the current
/// transaction (which sees every row).
async fn check_integrity(
    conn: &mut PgConnection,
) -> anyhow::Result<(backup::AuditInfo, Integrity)> {
    conn.execute("SELECT set_config('pledge.role', 'system', true)")
        .await?;
    let verification = storage::audit::verify(conn).await?;
    let audit = backup::AuditInfo {
        entries: verification.entries,
        intact: verification.first_break.is_none(),
        head_seq: verification.last.as_ref().map(|(seq, _)| *seq),
        head_hash: verification
            .last
            .as_ref()
            .map(|(_, hash)| hex::encode(hash)),
    };
    let (snapshots, bad_snapshots): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE sha256(convert_to(content::text, 'UTF8')) <> digest)
         FROM public.snapshots",
    )
    .fetch_one(&mut *conn)
    .await?;
    let (files, bad_files): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE sha256(content) <> sha256) FROM public.evidence_files",
    )
    .fetch_one(&mut *conn)
    .await?;
    let mut problems = Vec::new();
    if let Some(chain_break) = &verification.first_break {
        problems.push(format!(
            "audit log broken at entry {}: {}",
            chain_break.seq, chain_break.reason
        ));
    }
    if bad_snapshots > 0 {
        problems.push(format!(
            "{bad_snapshots} snapshots do not match their digest"
        ));
    }
    if bad_files > 0 {
        problems.push(format!(
            "{bad_files} evidence files do not match their checksum"
        ));
    }
    Ok((
        audit,
        Integrity {
            summary: format!(
                "{snapshots} snapshot digests and {files} evidence file checksums hold"
            ),
            problems,
        },
    ))
}

/// Starts the target's anchor file at the restored head; an earlier file (anchors of the
/// history the restore replaced) is kept beside it.
fn anchor(path: Option<&Path>, audit: &backup::AuditInfo) -> anyhow::Result<Option<String>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let mut note = String::new();
    if std::fs::metadata(path).is_ok_and(|meta| meta.len() > 0) {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let kept = PathBuf::from(format!("{}.before-restore-{now}", path.display()));
        std::fs::rename(path, &kept)
            .with_context(|| format!("cannot move {} aside", path.display()))?;
        note = format!(" (the earlier anchors are in {})", kept.display());
    }
    let (Some(seq), Some(hash)) = (audit.head_seq, &audit.head_hash) else {
        return Ok(None);
    };
    let hash = hex::decode(hash).context("the audit head's hash")?;
    storage::audit::anchors::append(path, seq, &hash)?;
    Ok(Some(format!(
        "anchor file {} starts at entry {seq}{note}",
        path.display()
    )))
}

async fn point_in_time(
    database: &DatabaseConfig,
    anchor_file: Option<PathBuf>,
    archive: &Path,
    until: OffsetDateTime,
    force: bool,
) -> anyhow::Result<()> {
    let DatabaseConfig::Private { data_dir } = database else {
        anyhow::bail!(
            "--until recovers the private cluster from its WAL archive; with DATABASE_URL use \
             the server's own point-in-time recovery"
        );
    };
    let cluster = PrivateCluster::new(data_dir, Durability::Durable)?;
    let lock = cluster.lock()?;
    let pgdata = cluster.root().join("pgdata");
    let holds_cluster =
        std::fs::read_dir(&pgdata).is_ok_and(|mut entries| entries.next().is_some());
    if holds_cluster {
        if !force {
            anyhow::bail!(
                "{} already holds a cluster: `restore --until` makes a new one. Choose a new \
                 --data-dir, or give --force to delete this one",
                cluster.root().display()
            );
        }
        cluster.stop()?;
        std::fs::remove_dir_all(&pgdata)
            .with_context(|| format!("cannot remove {}", pgdata.display()))?;
    }
    let recovering = cluster.clone();
    let archive_dir = archive.to_path_buf();
    let recovered = tokio::task::spawn_blocking(move || recovering.recover_to(&archive_dir, until))
        .await
        .context("the recovery stopped")?;
    let result = match recovered {
        Ok(base) => check_recovered(&cluster, until)
            .await
            .and_then(|(audit, summary)| {
                let anchored = anchor(anchor_file.as_deref(), &audit)?;
                Ok((base, summary, anchored))
            }),
        Err(error) => Err(recovery_failed(error, &pgdata, until)),
    };
    if let Err(error) = cluster.stop() {
        tracing::error!(%error, "the private cluster did not stop cleanly");
    }
    drop(lock);
    let (base, summary, anchored) = result?;
    println!(
        "recovered {} as of {} (base backup {}, then the archived WAL of {})",
        cluster.root().display(),
        backup::rfc3339(until),
        base.dir.display(),
        archive.display()
    );
    println!("verified: {summary}");
    if let Some(note) = anchored {
        println!("{note}");
    }
    println!(
        "the second-factor key is not in the archive: copy the old data directory's \
         secrets/totp.key into {}/secrets/ before `pledge serve`",
        cluster.root().display()
    );
    println!(
        "the recovered cluster does not archive its WAL: start it with `pledge serve --data-dir \
         {} --archive-dir NEW_FOLDER` and take a new base backup",
        cluster.root().display()
    );
    Ok(())
}

/// Says what a failed recovery left and, when the archive ended too early, why.
fn recovery_failed(error: ClusterError, pgdata: &Path, until: OffsetDateTime) -> anyhow::Error {
    let mut hint = String::new();
    if error
        .to_string()
        .contains("recovery ended before configured recovery target was reached")
    {
        hint = format!(
            " The archive ends before {}: WAL reaches it when a segment fills or {} s after a \
             write; wait, or run `SELECT pg_switch_wal()` on the running cluster, then try again.",
            backup::rfc3339(until),
            crate::cluster::ARCHIVE_TIMEOUT_SECONDS
        );
    }
    let left = std::fs::read_dir(pgdata).is_ok_and(|mut entries| entries.next().is_some());
    if left {
        hint.push_str(&format!(
            " {} holds what the attempt left: try again with --force (or another --data-dir).",
            pgdata.display()
        ));
    }
    if hint.is_empty() {
        error.into()
    } else {
        let hint = hint.trim_end_matches('.');
        anyhow::Error::from(error).context(format!("the recovery did not finish.{hint}"))
    }
}

async fn check_recovered(
    cluster: &PrivateCluster,
    until: OffsetDateTime,
) -> anyhow::Result<(backup::AuditInfo, String)> {
    let options = backup::quiet(cluster.connect_options(OWNER_ROLE, DATABASE));
    let mut conn = storage::connect(&options).await?;
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let (audit, integrity) = check_integrity(&mut conn).await?;
    let newest: Option<OffsetDateTime> =
        sqlx::query_scalar("SELECT max(occurred_at) FROM audit_log")
            .fetch_one(&mut conn)
            .await?;
    conn.execute("COMMIT").await?;
    conn.close().await?;
    let mut problems = integrity.problems;
    if newest.is_some_and(|newest| newest > until) {
        problems.push("the audit log holds entries after the target time".to_owned());
    }
    if !problems.is_empty() {
        anyhow::bail!(
            "the recovered database does not hold together; do not use it: {}",
            problems.join("; ")
        );
    }
    Ok((
        audit.clone(),
        format!(
            "audit log intact ({} entries{}, the newest at {}); {}",
            audit.entries,
            audit
                .head_seq
                .map(|seq| format!(", head entry {seq}"))
                .unwrap_or_default(),
            newest.map(backup::rfc3339).unwrap_or_else(|| "—".into()),
            integrity.summary
        ),
    ))
}
