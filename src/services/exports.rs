//! Exports of a cycle report (CSV, XLSX, JSON, PDF): the comparison they repeat read and
//! stamped in one transaction, the tidy rows then read a chunk of participants at a time by
//! snapshot id, and recorded in the audit log with the fingerprint of the snapshots they were
//! built from.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::ServiceError;
use super::report_cache;
use super::reports::{CacheInputs, cached_comparison_with_inputs};
use crate::auth::Operator;
use crate::auth::policy::Permission;
use crate::domain::report::FrameworkShape;
use crate::domain::report::comparison::{ComparisonRow, CycleComparison};
use crate::domain::report::export;
use crate::export::{ExportFile, Format};
use crate::presentation::i18n::Lang;
use crate::storage::audit::{self, NewEntry, RequestContext};
use crate::storage::report_cache as cache_store;
use crate::storage::{self, reports as store};
use std::sync::Arc;

/// An export's beginning: the permission checked, the comparison (from the cache when current)
/// stamped in `tx`, with what the cache knows it by.
struct Opened {
    tx: storage::Audited,
    report: Arc<CycleComparison>,
    shape: FrameworkShape,
    stamp: export::ExportStamp,
    lang: Lang,
    inputs: CacheInputs,
}

async fn open(
    pool: &PgPool,
    operator: Operator<'_>,
    cycle_id: Uuid,
    lang: Lang,
) -> Result<Opened, ServiceError> {
    if let Operator::User(me) = operator
        && !me.may(Permission::CompareParticipants)
    {
        return Err(ServiceError::Forbidden);
    }
    let mut tx = storage::Audited::begin(pool, &operator.scope()).await?;
    let (report, inputs) = cached_comparison_with_inputs(&mut tx, cycle_id, None).await?;
    let shape = store::shapes(&mut tx, &[report.cycle.framework_id])
        .await?
        .remove(&report.cycle.framework_id)
        .ok_or(ServiceError::NotFound)?;
    let mut stamp = export::stamp(&report, time::OffsetDateTime::now_utc());
    stamp.audit_head = audit::head_hash(&mut tx)
        .await?
        .map(hex::encode)
        .unwrap_or_default();
    Ok(Opened {
        tx,
        report,
        shape,
        stamp,
        lang,
        inputs,
    })
}

/// How much a file holds, for its audit entry.
enum Size {
    Bytes(usize),
    /// Streamed: unknown when the entry is written.
    Streamed,
}

/// The `cycle.export` entry: what was exported, from which snapshots, how big.
fn export_entry(
    operator: Operator<'_>,
    opened: &Opened,
    format: Format,
    size: Size,
    context: &RequestContext,
) -> NewEntry {
    let mut details = json!({
        "cycle": opened.report.cycle.code,
        "format": format.as_str(),
        "lang": opened.lang.code(),
        "participants": opened.stamp.snapshots.len(),
        "rows": opened.report.rows.len() * opened.shape.goals.len(),
        "generated_at": opened.stamp.generated_at,
        "snapshots_fingerprint": opened.stamp.fingerprint,
    });
    match size {
        Size::Bytes(bytes) => details["bytes"] = json!(bytes),
        Size::Streamed => details["streamed"] = json!(true),
    }
    NewEntry::new(operator.actor(), "cycle.export", details)
        .about("cycle", opened.report.cycle.id)
        .from_request(context)
}

/// Writes a cycle's report in `format`, its texts in `lang` (analysts and admins; the command
/// line). A file already built from the cycle's current snapshots (same format and language) is
/// served from the cache as it was built, stamp included; otherwise it is written from the row
/// stream ([`FILE_CHUNK_PARTICIPANTS`] participants at a time) on a blocking thread and cached.
/// Either way the export is recorded.
pub async fn cycle_report(
    pool: &PgPool,
    operator: Operator<'_>,
    cycle_id: Uuid,
    format: Format,
    lang: Lang,
    context: &RequestContext,
) -> Result<ExportFile, ServiceError> {
    cycle_report_in_chunks(
        pool,
        operator,
        cycle_id,
        format,
        lang,
        context,
        FILE_CHUNK_PARTICIPANTS,
    )
    .await
}

/// [`cycle_report`] with chunks of `chunk_participants` participants (tests use small chunks
/// to cross many chunk boundaries, and one chunk of every participant for the file built
/// whole).
///
/// The transaction that checks the permission, builds the comparison and the stamp and looks
/// the file up in the cache ends before the rows are read (a few statements, milliseconds).
/// The rows are then read a chunk at a time, each chunk's answers in a short transaction of
/// its own by the ids of the snapshots the figures came from: snapshots never change, so
/// every chunk pairs the same answers with the figures and digests stamped at the start, as
/// one snapshot of the database would, even when a participant resubmits meanwhile. A last
/// short transaction stores the file in the cache and appends `cycle.export`. While a chunk
/// is written on the blocking thread the next is read (a channel of one chunk), so at most
/// two chunks' rows are held at once.
pub async fn cycle_report_in_chunks(
    pool: &PgPool,
    operator: Operator<'_>,
    cycle_id: Uuid,
    format: Format,
    lang: Lang,
    context: &RequestContext,
    chunk_participants: usize,
) -> Result<ExportFile, ServiceError> {
    let opened = open(pool, operator, cycle_id, lang).await?;
    let opened = match serve_cached(opened, operator, format, context).await? {
        Cached::Served(file) => return Ok(file),
        Cached::Missing(opened) => *opened,
    };
    let kind = file_kind(format, lang);
    let key = report_cache::key(
        &opened.inputs.current,
        opened.inputs.previous.as_ref(),
        &kind,
    );
    let Opened {
        tx,
        report,
        shape,
        stamp,
        lang,
        inputs,
    } = opened;
    // Nothing written yet: the reading transaction ends here (rolled back).
    drop(tx);
    let bytes = write_from_chunks(
        pool,
        operator,
        format,
        &report,
        &shape,
        &stamp,
        lang,
        chunk_participants.max(1),
    )
    .await?;
    let file = ExportFile {
        bytes,
        format,
        file_name: crate::export::file_name(&format!("{}-report", report.cycle.code), format),
    };
    let mut opened = Opened {
        tx: storage::Audited::begin(pool, &operator.scope()).await?,
        report,
        shape,
        stamp,
        lang,
        inputs,
    };
    let entry = export_entry(
        operator,
        &opened,
        format,
        Size::Bytes(file.bytes.len()),
        context,
    );
    if report_cache::enabled() {
        let header = cached_file_header(&entry.details);
        let cycle = opened.report.cycle.id;
        put_cached_file(&mut opened.tx, cycle, &kind, &key, &header, &file.bytes).await?;
    }
    opened.tx.commit(&entry).await?;
    Ok(file)
}

/// Writes the file from the row stream: the rows of `chunk_participants` participants at a
/// time are read here and written on a blocking thread (an XLSX or PDF of the stress scale
/// takes seconds), the next chunk read while one is written.
#[allow(clippy::too_many_arguments)]
async fn write_from_chunks(
    pool: &PgPool,
    operator: Operator<'_>,
    format: Format,
    report: &Arc<CycleComparison>,
    shape: &FrameworkShape,
    stamp: &export::ExportStamp,
    lang: Lang,
    chunk_participants: usize,
) -> Result<Vec<u8>, ServiceError> {
    type Chunk = (std::ops::Range<usize>, Vec<export::ExportRow>);
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Chunk>(1);
    let writer = {
        let (report, shape, stamp) = (Arc::clone(report), shape.clone(), stamp.clone());
        tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ServiceError> {
            let head = crate::export::ReportHead {
                stamp: &stamp,
                report: &report,
                shape: &shape,
                lang,
            };
            let mut writer = crate::export::Writer::begin(format, head)?;
            let mut written = 0;
            while let Some((participants, rows)) = receiver.blocking_recv() {
                let participants = report.rows.get(participants).unwrap_or_default();
                writer.participants(participants, &rows)?;
                written += participants.len();
            }
            // The rows stopped short (a failed read, or the request gone: a timeout, a closed
            // connection): the file is not finished, and its slot's work ends here.
            if written < report.rows.len() {
                return Err(ServiceError::Export(
                    std::io::Error::other("the export's rows stopped short").into(),
                ));
            }
            let bytes = writer.finish()?;
            // The rows' many small blocks are freed: give them back rather than keep them.
            crate::memory::trim();
            Ok(bytes)
        })
    };
    let scope = operator.scope();
    let mut read = Ok(());
    for start in (0..report.rows.len()).step_by(chunk_participants) {
        let end = (start + chunk_participants).min(report.rows.len());
        // A place in the channel first, then the rows: at most the chunk being written and
        // the one waiting for it are held (not a third read ahead).
        let Ok(place) = sender.reserve().await else {
            // The writer stopped (an error it returns below): nothing more to read.
            break;
        };
        match chunk_rows(pool, &scope, report, shape, &report.rows[start..end]).await {
            Ok(rows) => place.send((start..end, rows)),
            Err(error) => {
                read = Err(error);
                break;
            }
        }
    }
    // The end of the rows (or, after an error, of the file: its bytes are dropped).
    drop(sender);
    let written = writer
        .await
        .map_err(|e| ServiceError::Export(std::io::Error::other(e.to_string()).into()))?;
    read?;
    written
}

/// The tidy rows of `participants` (some of the report's), their answers read by the ids of
/// the snapshots the figures came from in a short transaction of their own.
async fn chunk_rows(
    pool: &PgPool,
    scope: &storage::Scope,
    report: &CycleComparison,
    shape: &FrameworkShape,
    participants: &[ComparisonRow],
) -> Result<Vec<export::ExportRow>, ServiceError> {
    let snapshot_ids: Vec<Uuid> = participants.iter().map(|r| r.snapshot.id).collect();
    let mut tx = storage::begin(pool, scope).await?;
    let mut by_snapshot = store::snapshot_answers(&mut tx, &snapshot_ids).await?;
    tx.commit().await?;
    let answers = participants
        .iter()
        .filter_map(|r| Some((r.participant_id, by_snapshot.remove(&r.snapshot.id)?)))
        .collect();
    Ok(export::rows_of(report, participants, shape, &answers))
}

/// The cached file of a cycle's current snapshots in `format` and `lang`, recorded as an
/// export; `None` when the cache has none (then [`cycle_report`] builds it).
pub async fn cached_cycle_report(
    pool: &PgPool,
    operator: Operator<'_>,
    cycle_id: Uuid,
    format: Format,
    lang: Lang,
    context: &RequestContext,
) -> Result<Option<ExportFile>, ServiceError> {
    let opened = open(pool, operator, cycle_id, lang).await?;
    Ok(
        match serve_cached(opened, operator, format, context).await? {
            Cached::Served(file) => Some(file),
            Cached::Missing(_) => None,
        },
    )
}

enum Cached {
    Served(ExportFile),
    Missing(Box<Opened>),
}

/// The cache's kind for a file.
fn file_kind(format: Format, lang: Lang) -> String {
    format!("export:{}:{}", format.as_str(), lang.code())
}

/// Serves the cached file (recording the export with the details it was built with, marked
/// cached), or gives the opened export back.
async fn serve_cached(
    mut opened: Opened,
    operator: Operator<'_>,
    format: Format,
    context: &RequestContext,
) -> Result<Cached, ServiceError> {
    if !report_cache::enabled() {
        return Ok(Cached::Missing(Box::new(opened)));
    }
    let kind = file_kind(format, opened.lang);
    let key = report_cache::key(
        &opened.inputs.current,
        opened.inputs.previous.as_ref(),
        &kind,
    );
    let cycle = opened.report.cycle.id;
    let found = cache_store::get(&mut opened.tx, cycle, &kind, &key).await?;
    // The connection read the whole file: its buffer goes back to its usual size rather than
    // stay as large as the file while the connection waits in the pool.
    sqlx::Connection::shrink_buffers(&mut *opened.tx);
    let Some((mut body, _)) = found else {
        return Ok(Cached::Missing(Box::new(opened)));
    };
    let Some((mut details, header)) = split_cached_file(&body) else {
        return Ok(Cached::Missing(Box::new(opened)));
    };
    details["cached"] = json!(true);
    let entry = NewEntry::new(operator.actor(), "cycle.export", details)
        .about("cycle", cycle)
        .from_request(context);
    let file_name =
        crate::export::file_name(&format!("{}-report", opened.report.cycle.code), format);
    // The file is what follows the header: moved to the front of the same buffer, not copied.
    body.drain(..header);
    let bytes = body;
    opened.tx.commit(&entry).await?;
    Ok(Cached::Served(ExportFile {
        bytes,
        format,
        file_name,
    }))
}

/// A cached file's header: the length of its audit details (4 bytes, big-endian), then the
/// details (JSON); the file follows it.
fn cached_file_header(details: &serde_json::Value) -> Vec<u8> {
    let details = details.to_string().into_bytes();
    let mut header = Vec::with_capacity(4 + details.len());
    header.extend_from_slice(&u32::try_from(details.len()).unwrap_or(0).to_be_bytes());
    header.extend_from_slice(&details);
    header
}

/// The details of a cached file and the length of its header (where the file starts).
fn split_cached_file(body: &[u8]) -> Option<(serde_json::Value, usize)> {
    let (length, rest) = body.split_first_chunk::<4>()?;
    let length = usize::try_from(u32::from_be_bytes(*length)).ok()?;
    let details = rest.get(..length)?;
    Some((serde_json::from_slice(details).ok()?, 4 + length))
}

/// Stores a built file in the cache in pieces ([`cache_store::put_in_pieces`]): sent as one
/// parameter, the file was copied into sqlx's argument buffer and the connection's write
/// buffer while this process still held it for the response, three copies of a 28 MB XLSX at
/// once, twice over when two exports ran together. The connection's buffers then go back to
/// their usual size.
async fn put_cached_file(
    conn: &mut sqlx::PgConnection,
    cycle: Uuid,
    kind: &str,
    key: &str,
    header: &[u8],
    file: &[u8],
) -> Result<(), sqlx::Error> {
    cache_store::put_in_pieces(conn, cycle, kind, key, header, file, CACHE_PIECE).await?;
    sqlx::Connection::shrink_buffers(conn);
    crate::memory::trim();
    Ok(())
}

/// The size of the pieces a file is stored in the cache in ([`put_cached_file`]): the
/// connection's buffers grow to about this, not to the file's size.
const CACHE_PIECE: usize = 1 << 20;

/// How many participants one chunk of an XLSX or PDF covers. Fewer than the CSV's: while one
/// chunk is written the next is read, so two chunks' rows are held (7,500 rows, about 6 MiB,
/// each at the stress scale's 150 goals), and the file being built is held too.
const FILE_CHUNK_PARTICIPANTS: usize = 50;

/// How many participants one chunk of a streamed export covers: their answers are read in one
/// statement, and at most this many participants' rows are held in memory at a time.
const CHUNK_PARTICIPANTS: usize = 500;

/// A cycle report on its way out as CSV or JSON: the figures are computed and the export
/// recorded before the first byte; the tidy rows then follow in chunks
/// ([`StreamedExport::into_chunks`]).
pub struct StreamedExport {
    pub format: Format,
    pub file_name: String,
    lang: Lang,
    chunk_participants: usize,
    pool: PgPool,
    scope: storage::Scope,
    report: Arc<CycleComparison>,
    shape: FrameworkShape,
    stamp: export::ExportStamp,
}

/// Starts a cycle report as a streamed file (`format` CSV or JSON, texts in `lang`; analysts
/// and admins; the command line). The answers are read afterwards by snapshot id: snapshots
/// never change, so every chunk pairs the same answers with the figures and digests stamped
/// here.
pub async fn cycle_report_streamed(
    pool: &PgPool,
    operator: Operator<'_>,
    cycle_id: Uuid,
    format: Format,
    lang: Lang,
    context: &RequestContext,
) -> Result<StreamedExport, ServiceError> {
    if !format.streams() {
        return Err(ServiceError::Invalid(
            [("format".to_owned(), "field.format.unknown".to_owned())].into(),
        ));
    }
    let opened = open(pool, operator, cycle_id, lang).await?;
    let entry = export_entry(operator, &opened, format, Size::Streamed, context);
    let Opened {
        tx,
        report,
        shape,
        stamp,
        ..
    } = opened;
    tx.commit(&entry).await?;
    Ok(StreamedExport {
        format,
        file_name: crate::export::file_name(&format!("{}-report", report.cycle.code), format),
        lang,
        chunk_participants: CHUNK_PARTICIPANTS,
        pool: pool.clone(),
        scope: operator.scope(),
        stamp,
        report,
        shape,
    })
}

impl StreamedExport {
    /// Chunks of `participants` participants instead of [`CHUNK_PARTICIPANTS`] (tests use
    /// small chunks to cross many chunk boundaries).
    pub fn chunk_participants(mut self, participants: usize) -> Self {
        self.chunk_participants = participants.max(1);
        self
    }

    /// The file as chunks: what precedes the rows (CSV: the header; JSON: everything but the
    /// rows), the rows a chunk's worth of participants at a time, then what follows them (JSON:
    /// the closing brackets). An error ends the stream after it is yielded.
    pub fn into_chunks(
        self,
    ) -> impl futures_util::Stream<Item = Result<Vec<u8>, ServiceError>> + Send + 'static {
        use futures_util::StreamExt;
        // Fused: a body layer (compression, the metrics' export gauge) may poll once more after
        // the end, which an unfused `unfold` answers with a panic.
        futures_util::stream::unfold(Some((self, 0usize)), |state| async move {
            let (export, step) = state?;
            match export.chunk(step).await {
                Ok(Some(bytes)) => Some((Ok(bytes), Some((export, step + 1)))),
                Ok(None) => None,
                Err(error) => Some((Err(error), None)),
            }
        })
        .fuse()
    }

    /// Chunk `step`: 0 is the head, then one chunk per batch of participants, then the tail.
    async fn chunk(&self, step: usize) -> Result<Option<Vec<u8>>, ServiceError> {
        let batches = self.report.rows.len().div_ceil(self.chunk_participants);
        if step == 0 {
            return Ok(Some(match self.format {
                Format::Json => crate::export::json::head(&self.stamp, &self.report, self.lang)?,
                _ => crate::export::csv::header(self.lang)?,
            }));
        }
        if step > batches {
            let tail_due = step == batches + 1 && self.format == Format::Json;
            return Ok(tail_due.then(|| crate::export::json::TAIL.to_vec()));
        }
        let start = (step - 1) * self.chunk_participants;
        let end = (start + self.chunk_participants).min(self.report.rows.len());
        let participants = &self.report.rows[start..end];
        let rows = chunk_rows(
            &self.pool,
            &self.scope,
            &self.report,
            &self.shape,
            participants,
        )
        .await?;
        Ok(Some(match self.format {
            Format::Json => crate::export::json::rows(&rows, step == 1)?,
            _ => crate::export::csv::records(&rows, &self.stamp.generated_at)?,
        }))
    }
}

/// Finds a cycle by id or code (for the command line).
pub async fn find_cycle(pool: &PgPool, id_or_code: &str) -> Result<Uuid, ServiceError> {
    let mut tx = storage::begin(pool, &storage::Scope::System).await?;
    let id: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM cycles WHERE id::text = $1 OR code = $1")
            .bind(id_or_code.trim())
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    id.ok_or(ServiceError::NotFound)
}

/// One assessment's progress report as PDF, its texts in `lang`: whoever may read the report
/// (the delegation its own, staff any, analysts once submitted). Recorded in the audit log.
pub async fn progress_report_pdf(
    pool: &PgPool,
    me: &crate::auth::Principal,
    assessment: Uuid,
    lang: Lang,
    context: &RequestContext,
) -> Result<ExportFile, ServiceError> {
    let report = super::reports::progress(pool, me, assessment).await?;
    let generated_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let bytes = crate::export::pdf::progress(&report, &generated_at, lang);
    let tx = storage::Audited::begin(pool, &me.scope()).await?;
    tx.commit(
        &NewEntry::new(
            Operator::User(me).actor(),
            "assessment.report_export",
            json!({
                "participant": report.participant.code,
                "cycle": report.cycle.code,
                "format": "pdf",
                "lang": lang.code(),
                "revision": report.snapshot.as_ref().map(|s| s.revision),
                "snapshot_digest": report.snapshot.as_ref().map(|s| s.digest.clone()),
                "generated_at": generated_at,
            }),
        )
        .about("assessment", assessment)
        .from_request(context),
    )
    .await?;
    Ok(ExportFile {
        bytes,
        format: Format::Pdf,
        file_name: crate::export::file_name(
            &format!("{}-{}-progress", report.participant.code, report.cycle.code),
            Format::Pdf,
        ),
    })
}
