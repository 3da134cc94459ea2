//! Bulk imports by the secretariat: participants, and a cycle's answers from one tidy file.
//!
//! # Bulk import
//!
//! | action | page | API (`…` = `/api/v1`) | command |
//! |---|---|---|---|
//! | a cycle's answers | `GET /cycles/{cycle}/import` (the file and the purpose), `POST /cycles/{cycle}/import` (multipart: `purpose`, `file`; the check page), `POST /cycles/{cycle}/import/apply` (`token` of the checked upload) | `POST …/cycles/{cycle}/import` (multipart: `purpose`, `dry_run`, `file`) | `pledge cycle import CYCLE FILE [--dry-run] [--purpose historical\|on-behalf]` |
//! | participants | `GET /participants/import`, `POST /participants/import` (preview), `POST /participants/import/apply` | `POST …/participants/import` (multipart: `dry_run`, `file`) | `pledge participant import FILE [--dry-run]` |
//!
//! Only admins import (`ManageCatalogue`); delegations and analysts get 403 before a byte of the
//! body is read (the handlers check the permission before reading the multipart stream). On
//! pages the checked file waits for its apply in a temporary file on the server, named by a
//! token bound to the admin (`web::pages::imports`).
//!
//! **The answers file** is the cycle report's tidy table, so an export can be edited and
//! imported back: the CSV (`export::csv`) or the XLSX's "Answers" sheet (`Réponses` in
//! French; a workbook with one sheet is read whatever its name). The header must be the
//! export's 18 columns in the export's order, titled in either language
//! ([`answers::layout`]); after them the file may have `generated_at` (the CSV has it) and the
//! columns `na_justification`, `target`, `implementation_status`, `narrative`, in any order.
//! Read: `participant_code`, `goal_code`, `answer_state` (`answered`, `not_applicable`,
//! `missing`, or empty), `value`, and the added columns. The other columns (names, weights,
//! scores, ranks, digests) are the export's figures: they are not read, since the import
//! computes them again from the answers.
//!
//! **Purposes.**
//!
//! - *historical*: the cycle is planned or closed, and each participant in the file has no
//!   delegation data in it (no assessment, or one not started with no answer). Each gets an
//!   accepted assessment whose revision-1 snapshot is scored exactly as a submission
//!   (`storage::assessments::insert_snapshots`), accepted by the importing admin, and linked to
//!   the import (`snapshot_imports` → `cycle_imports`: file name, SHA-256, who, when), which the
//!   cycle report shows. A planned cycle becomes closed (it is a past one), so it can be
//!   published. "Not applicable" needs a justification when the file has that column; a file
//!   laid out exactly as the export (which has none) keeps them without one, as the snapshot it
//!   came from had them.
//! - *on behalf*: the cycle is open; each participant's assessment is not started, a draft or
//!   returned. Answers go into the draft as unconfirmed (`unconfirmed = true`, so the delegation
//!   must confirm each before submitting) and marked `entered_on_behalf`, with the admin as
//!   `updated_by`. A row whose draft answer differs from the file's is refused (a conflict,
//!   naming who changed it and when) when a delegation member saved it after the file was made
//!   (`generated_at`), or at all when the file does not say when it was made.
//!
//! **Preview, then apply.** Both run the same single pass (`services::imports`): the reader
//! streams rows ([`table`]), [`answers::Grouper`] checks each and groups them by participant,
//! and the service plans and (when applying) writes 250 participants at a time, in one
//! transaction, with a fixed number of statements per chunk. Any problem refuses the whole
//! file: the transaction is rolled back, nothing is written. Counts per participant: new (no
//! answer before), changed, unchanged (same answer), refused (rows with a problem). On success
//! one audit entry (`cycle.import`) holds the import's id, the file's name and SHA-256, the
//! purpose, the counts, and the count and SHA-256 of the values written, which are kept a
//! chunk at a time in `cycle_import_values` (memory does not grow with the file).
//!
//! **Hostile files** are refused as the offline import refuses them (`offline::archive`,
//! `offline::reader`), within larger ceilings fit for a whole cycle ([`ANSWER_LIMITS`]).

pub mod answers;
pub mod participants;
pub mod table;

use crate::domain::problem::Problem;
use crate::offline::{archive, cell_ref};

/// What a cycle's answers are imported as.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Past returns: accepted snapshots, recorded as imported by the secretariat.
    Historical,
    /// A delegation's return received by other means: into its draft, unconfirmed.
    OnBehalf,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Historical => "historical",
            Purpose::OnBehalf => "on_behalf",
        }
    }

    /// From a form, query or command-line value (`on-behalf` or `on_behalf`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "historical" => Some(Purpose::Historical),
            "on_behalf" => Some(Purpose::OnBehalf),
            _ => None,
        }
    }
}

/// The largest upload taken by the pages and the API (the command line reads files of any size
/// within the row limit, streaming a CSV from disk).
pub const MAX_UPLOAD_BYTES: usize = 128 * 1024 * 1024;

/// A cycle's answers: up to a million rows (2,000 participants × 150 goals is 300,000); an
/// XLSX may unpack to 1 GiB (the stress export unpacks to 258 MiB) and hold a million
/// shared strings.
pub const ANSWER_LIMITS: table::Limits = table::Limits {
    rows: 1_000_000,
    archive: archive::Limits {
        max_unpacked_bytes: 1024 * 1024 * 1024,
        max_entries: 1_000,
        max_shared_strings: 1_000_000,
    },
    csv_bytes: 1024 * 1024 * 1024,
};

/// Participants: a few thousand at most.
pub const PARTICIPANT_LIMITS: table::Limits = table::Limits {
    rows: 10_000,
    archive: archive::FORM,
    csv_bytes: 16 * 1024 * 1024,
};

/// A problem at a cell (zero-based row and column).
pub(crate) fn problem_at(
    sheet: &str,
    row: u32,
    column: usize,
    key: &'static str,
    detail: Option<String>,
) -> Problem {
    let path = cell_ref(sheet, row, u32::try_from(column).unwrap_or(u32::MAX));
    match detail {
        Some(detail) => Problem::with(path, key, detail),
        None => Problem::new(path, key),
    }
}

/// Problems in reading order: the whole file first, then by sheet, row and column.
pub fn sort_problems(problems: &mut [Problem]) {
    problems.sort_by_key(|problem| {
        let place = crate::offline::place(&problem.path);
        let column = place.column.map(|letters| (letters.len(), letters));
        (place.sheet != "file", place.sheet, place.row, column)
    });
}
