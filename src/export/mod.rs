//! Writing a cycle report as a file: CSV (tidy), XLSX (summary, one sheet per section, answers,
//! about), JSON (everything, with a data dictionary) and PDF (cover, method, summary and chart,
//! a page per participant). The writers only lay out what
//! [`crate::domain::report`] computed, so every format carries the pages' figures.
//!
//! # Exports
//!
//! A cycle report as a file, for analysts and admins (`CompareParticipants`) and the command line:
//!
//! | page | API (`…` = `/api/v1`) | command |
//! |---|---|---|
//! | `POST /cycles/{cycle}/export` (form field `format`, from the comparison page) | `POST …/cycles/{cycle}/export?format=csv\|xlsx\|json\|pdf[&lang=en\|fr]` | `pledge cycle export CYCLE --format csv\|xlsx\|json\|pdf [--lang en\|fr] [--output FILE]` (code or id) |
//! | `POST /assessments/{assessment}/report/pdf` (from the progress report page) | `POST …/assessments/{assessment}/report/pdf[?lang=en\|fr]` | — |
//!
//! **Language.** Every file is written in the requesting user's language: the page's language on the
//! pages (the `pledge_lang` cookie, else `Accept-Language`); on the API the `lang` query parameter,
//! else the cookie, else `Accept-Language` (an unknown `lang` is 422 with `fields.lang`); `--lang`
//! (default `en`) on the command line. The texts come from the catalogues (`export.*` keys in
//! `i18n/`); `ReportContent::lang` carries the language to the writers and the audit entry records it.
//! The language changes words only, never figures, codes, digests or the stamp:
//!
//! - CSV: the header line (`export.column.*`: the field names in English, French snake_case names
//!   without accents in French, e.g. `code_participant`, `score_global`). The records are the same
//!   bytes in every language: **comma-separated, numbers with a decimal point, codes** (`submitted`,
//!   `not_applicable`) as the JSON has them, because tools read CSV by those rules whatever the
//!   reader's locale. (A French CSV with `;` and decimal commas would be read as text by most tools;
//!   a spreadsheet user in French takes the XLSX, whose cells are numbers that the spreadsheet shows
//!   with the reader's decimal separator.)
//! - XLSX: sheet names (`Summary`/`Synthèse`, `Answers`/`Réponses`, `About`/`À propos`; section
//!   sheets keep their codes), headings and labels, the participants' names; figures stay number cells.
//! - JSON: keys and values never change; `lang` says the language of the data dictionary's meanings.
//! - PDF (cycle report and progress report): every word, titles of cycles, sections, goals and names
//!   in the language when the framework has them, and figures written as the pages write them in that
//!   language (`0,812` and `81 %` in French), from the same numbers.
//!
//! The progress report PDF is for whoever may read the progress report (`ReadAssessment`, as the page):
//! the delegation its own, staff any, analysts once submitted; `services::exports::progress_report_pdf`
//! builds the report with `services::reports::progress`, lays it out with `export::pdf::progress` and
//! appends `assessment.report_export` (participant, cycle, revision, snapshot digest, time).
//!
//! `services::exports::cycle_report` (XLSX, PDF) opens one transaction, builds the comparison
//! exactly as the report does (`services::reports::load_comparison`), then reads the answers of
//! the snapshots the figures came from a chunk of participants at a time
//! (`storage::reports::snapshot_answers`, by snapshot id, one statement per chunk; see **Written
//! from the row stream** below), and `domain::report::export` makes the tidy rows (one per participant × goal, with the
//! section and overall figures and the rank repeated on each), the **stamp** (cycle, framework
//! version, time of generation, each participant's snapshot revision and digest, and a fingerprint:
//! SHA-256 of those lines) and the data dictionary (`FIELDS`). `src/export/` writes the file:
//!
//! - **CSV** (`export/csv.rs`, the `csv` crate): the `FIELDS` columns then `generated_at` (titled in the file's language); UTF-8 with a
//!   byte-order mark so spreadsheets read accents; numbers as written by Rust (6 decimals at most);
//!   a text a spreadsheet would evaluate as a formula (`= + - @`, tab or CR first, not a plain number)
//!   gets a leading apostrophe (`csv::neutralised`).
//!   Streamed, not built whole (below).
//! - **XLSX** (`export/xlsx.rs`, `rust_xlsxwriter`): `Summary` (rank, code, name, state, overall, complete,
//!   completion, each section), one sheet per section (each participant's section figure and goal
//!   scores), `Answers` (the tidy table) and `About` (the stamp, every snapshot's digest, the data
//!   dictionary). Figures are number cells with 3 decimals on 0–1 scales and 2 on points; headers are
//!   bold and frozen. `Summary` and `About` (a row per participant) are autofitted; the section
//!   sheets and `Answers` are written in rust_xlsxwriter's constant-memory mode (each row goes to
//!   the sheet's temporary file when the next begins), which cannot autofit: `Answers` has widths
//!   set per column, a section sheet widths from the longest text written in each column. The
//!   workbook is zipped into a temporary file and read back at its size. Sheet names are cleaned
//!   of `[]:*?/\`, cut to 31 characters and kept unique.
//! - **JSON** (`export/json.rs`): `format` `pledge-cycle-report/1`, the stamp, a data dictionary of every
//!   field, the comparison as the report API returns it, and the tidy rows last (compact, not
//!   indented). Streamed like the CSV: `json::head` writes everything up to `"rows":`, `json::rows`
//!   each chunk's rows, `json::TAIL` closes the document.
//! - **PDF** (`export/pdf/`, `pdf-writer`): a cover (cycle, version, submissions, time, the snapshots'
//!   fingerprint), the method (the methodology page's text, in the file's language), the summary table with a box plot
//!   of every figure's distribution, then a page (or more) per participant with its figures, snapshot
//!   revision and digest, and every answer. Text is set in the standard Helvetica fonts with the
//!   WinAnsi encoding (characters outside it become `?`; `−` becomes `-`), so it is real, searchable
//!   text; charts are vector paths. A small layout cursor starts a new page when a line does not fit;
//!   widths are estimated from Helvetica's average advance. Each page's content stream is compressed
//!   (FlateDecode, `miniz_oxide`); the progress report PDF is assembled the same way.
//!
//! **XLSX and PDF are written from the row stream** ([`Writer`],
//! `services::exports::cycle_report_in_chunks`), then sent whole (their size is in the audit entry,
//! and the cache keeps the file):
//!
//! 1. One transaction checks `CompareParticipants`, builds the comparison and the stamp and looks
//!    the file up in the cache (`report_cache`, by the snapshot set's fingerprint, format and
//!    language); a cached file is recorded and served as it was built. Otherwise the transaction
//!    ends here, before any row is read (milliseconds: a few statements).
//! 2. [`Writer::begin`] writes, on a blocking thread, what comes from the comparison: the XLSX's
//!    `Summary` and the section sheets' headers; the PDF's cover, method and summary.
//! 3. The rows follow 50 participants at a time (`FILE_CHUNK_PARTICIPANTS`; at the stress scale
//!    7,500 rows): each chunk's answers are read by snapshot id in a short
//!    transaction of its own, then sent to the writer through a channel of one chunk, so the next
//!    chunk is read while one is written and at most two are held. [`Writer::participants`] writes
//!    the section sheets' and `Answers`' rows (constant-memory mode) or the participants' pages
//!    (each page compressed into the document when full: the PDF is held compressed, never as
//!    every page's content). Snapshots never change, so every chunk pairs the same answers with
//!    the figures and digests stamped in step 1, as one snapshot of the database would.
//! 4. [`Writer::finish`] closes the file (`About`, the zip; the PDF's page tree and the fonts cut
//!    down to the glyphs used). Rows that stop short (a failed read, a request gone) leave the file
//!    unfinished.
//! 5. A last short transaction stores the file in the cache (the header and the file joined by
//!    PostgreSQL, not copied here; the connection's buffers then shrink back and the allocator's
//!    free memory is given back, `memory::trim`) and appends `cycle.export` to the audit log (format, cycle, participants, rows, bytes, time of generation, the snapshots'
//!    fingerprint), and the file is returned as an attachment (`Content-Disposition`,
//!    `Content-Security-Policy: sandbox`).
//!
//! The page uses a form post and the API use POST because an
//! export writes the audit log: with a session cookie the API then needs the `X-CSRF-Token` header, so
//! a link from another site cannot export in an analyst's name. An unknown format is 422 with
//! `fields.format`. The answers in a file are read by the ids of the snapshots the figures came from,
//! so a resubmission during an export cannot pair new answers with old figures and digests.
//!
//! **The CSV and the JSON are streamed** (`services::exports::cycle_report_streamed`,
//! `StreamedExport`; `Format::streams`), on the page, the API and the command line:
//!
//! 1. One transaction checks `CompareParticipants`, builds the comparison and the stamp, appends
//!    `cycle.export` and commits, before the first byte is sent. The entry has `streamed: true` and no
//!    `bytes` (the size is not known yet); `rows` is the number of participants × goals. A refusal or
//!    an unknown cycle therefore answers with its usual status.
//! 2. `StreamedExport::into_chunks` then yields what precedes the rows (CSV: the byte-order mark and
//!    the header; JSON: the document up to its `rows` array), then the rows of 500 participants at a
//!    time (`CHUNK_PARTICIPANTS`; at the stress scale 100 took 2.8–3.2 s and a
//!    30 MiB peak, 500 took 2.0–2.2 s and 92 MiB, see [performance.md (`docs/performance.md`)), then for
//!    JSON the closing brackets. For each chunk, a short transaction in the
//!    caller's scope reads those participants' answers by snapshot id
//!    (`storage::reports::snapshot_answers`, one statement), and `domain::report::export::rows_of`
//!    makes their rows. At most one chunk's rows are held in memory.
//! 3. Snapshots never change, so every chunk pairs the same answers with the figures and digests
//!    stamped in step 1, even when a participant resubmits during the export.
//! 4. `pages::streamed_export` sends the chunks as the response body. The status (200) and the headers
//!    leave first; an error midway is logged and cuts the body short, so the client sees a failed
//!    transfer, never a file that looks complete.
//! 5. `pledge cycle export --format csv|json` writes each chunk as it comes, to standard output or to a
//!    temporary file beside `--output`, which is flushed, synced and renamed to that name only when
//!    complete. A failed export leaves an earlier file of that name as it was; a file cut short never
//!    passes for a report.

pub mod csv;
pub mod json;
pub mod pdf;
mod xlsx;

use crate::domain::report::FrameworkShape;
use crate::domain::report::comparison::{ComparisonRow, CycleComparison};
use crate::domain::report::export::{ExportRow, ExportStamp};
use crate::presentation::i18n::Lang;

/// A file format for cycle reports.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
    Json,
    Pdf,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Json => "json",
            Format::Pdf => "pdf",
        }
    }

    /// From a form or query value.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            "json" => Some(Format::Json),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    /// Whether the file is sent as it is written (CSV and JSON: the tidy rows come last, a
    /// chunk of participants at a time); XLSX and PDF are written from the same chunks but
    /// sent (and cached) once finished.
    pub fn streams(self) -> bool {
        matches!(self, Format::Csv | Format::Json)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Json => "application/json",
            Format::Pdf => "application/pdf",
        }
    }
}

/// What a file is made from besides the tidy rows, which come a chunk of participants at a
/// time ([`Writer`]).
#[derive(Clone, Copy)]
pub struct ReportHead<'a> {
    pub stamp: &'a ExportStamp,
    pub report: &'a CycleComparison,
    pub shape: &'a FrameworkShape,
    /// The language of the file's texts.
    pub lang: Lang,
}

/// Everything a file is made from.
pub struct ReportContent<'a> {
    pub stamp: &'a ExportStamp,
    pub report: &'a CycleComparison,
    pub shape: &'a FrameworkShape,
    pub rows: &'a [ExportRow],
    /// The language of the file's texts (headers, labels, sheet names, the PDF's words); the
    /// figures, codes and digests are the same in every language.
    pub lang: Lang,
}

/// A written file.
pub struct ExportFile {
    pub bytes: Vec<u8>,
    pub format: Format,
    /// e.g. `pledge-2026-report.xlsx`: safe in a `Content-Disposition` header.
    pub file_name: String,
}

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing CSV failed: {0}")]
    Csv(#[from] ::csv::Error),
    #[error("writing XLSX failed: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("writing JSON failed: {0}")]
    Json(#[from] serde_json::Error),
    #[error("writing the file failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing a row failed: {0}")]
    Row(#[from] crate::domain::report::export::CellError),
}

impl<'a> ReportContent<'a> {
    pub fn head(&self) -> ReportHead<'a> {
        ReportHead {
            stamp: self.stamp,
            report: self.report,
            shape: self.shape,
            lang: self.lang,
        }
    }
}

/// Writes the report in `format`, whole: every row in one chunk (the services write from
/// chunks of participants, [`Writer`]).
pub fn write(format: Format, content: &ReportContent<'_>) -> Result<ExportFile, ExportError> {
    let mut writer = Writer::begin(format, content.head())?;
    writer.participants(&content.report.rows, content.rows)?;
    let bytes = writer.finish()?;
    Ok(ExportFile {
        bytes,
        format,
        file_name: file_name(&format!("{}-report", content.stamp.cycle_code), format),
    })
}

/// A cycle report's file written from the row stream: [`Writer::begin`] writes what comes from
/// the comparison and the stamp, [`Writer::participants`] the next participants (in the
/// report's order) from their tidy rows, [`Writer::finish`] closes the file. Only a chunk's rows
/// are held at a time; what the writer keeps between chunks is bounded by the file's
/// compressed size (PDF) or a row per sheet (XLSX, constant-memory mode), plus the per
/// participant summary.
pub struct Writer<'a>(Inner<'a>);

enum Inner<'a> {
    Csv {
        bytes: Vec<u8>,
        generated_at: &'a str,
    },
    Json {
        bytes: Vec<u8>,
        first: bool,
    },
    Xlsx(Box<xlsx::Writer<'a>>),
    Pdf(Box<pdf::CycleReportWriter<'a>>),
}

impl<'a> Writer<'a> {
    pub fn begin(format: Format, head: ReportHead<'a>) -> Result<Self, ExportError> {
        Ok(Writer(match format {
            Format::Csv => Inner::Csv {
                bytes: csv::header(head.lang)?,
                generated_at: &head.stamp.generated_at,
            },
            Format::Json => Inner::Json {
                bytes: json::head(head.stamp, head.report, head.lang)?,
                first: true,
            },
            Format::Xlsx => Inner::Xlsx(Box::new(xlsx::Writer::begin(head)?)),
            Format::Pdf => Inner::Pdf(Box::new(pdf::CycleReportWriter::begin(head))),
        }))
    }

    /// The next `participants` of the report, in its order, and their tidy rows (`rows`, in
    /// the same order: each participant's goals together).
    pub fn participants(
        &mut self,
        participants: &[ComparisonRow],
        rows: &[ExportRow],
    ) -> Result<(), ExportError> {
        match &mut self.0 {
            Inner::Csv {
                bytes,
                generated_at,
            } => bytes.extend(csv::records(rows, generated_at)?),
            Inner::Json { bytes, first } => {
                bytes.extend(json::rows(rows, *first)?);
                *first = *first && rows.is_empty();
            }
            Inner::Xlsx(writer) => writer.participants(participants, rows)?,
            Inner::Pdf(writer) => writer.participants(participants, rows),
        }
        Ok(())
    }

    pub fn finish(self) -> Result<Vec<u8>, ExportError> {
        Ok(match self.0 {
            Inner::Csv { bytes, .. } => bytes,
            Inner::Json { mut bytes, .. } => {
                bytes.extend_from_slice(json::TAIL);
                bytes
            }
            Inner::Xlsx(writer) => writer.finish()?,
            Inner::Pdf(writer) => writer.finish(),
        })
    }
}

/// `pledge-{stem}.{extension}`, with everything but ASCII letters, digits, `-` and `_` in the
/// stem made `-`: safe in a `Content-Disposition` header and on any file system.
pub fn file_name(stem: &str, format: Format) -> String {
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("pledge-{stem}.{}", format.as_str())
}
