//! The tidy CSV: one row per participant × goal, the fields of [`FIELDS`] then `generated_at`.
//! UTF-8 with a byte-order mark, so that spreadsheets open accented names correctly.
//!
//! The header is in the requesting user's language (`export.column.*`: English keeps the field
//! names, French has French snake_case names without accents); the rows are the same in every
//! language: comma-separated, numbers with a decimal point, codes as the JSON has them, so that
//! tools read any export alike.

use super::{ExportError, ReportContent};
use crate::domain::report::export::{ExportRow, FIELDS};
use crate::web::i18n::Lang;

/// The byte-order mark spreadsheet programs look for to read UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

pub fn write(content: &ReportContent<'_>) -> Result<Vec<u8>, ExportError> {
    let mut out = header(content.lang)?;
    out.extend(records(content.rows, &content.stamp.generated_at)?);
    Ok(out)
}

/// The byte-order mark and the header line, in `lang`.
pub fn header(lang: Lang) -> Result<Vec<u8>, ExportError> {
    let mut out = csv::Writer::from_writer(BOM.to_vec());
    out.write_record(column_titles(lang))?;
    finish(out)
}

/// Lines for `rows` (a whole report, or one chunk of a streamed one).
pub fn records(rows: &[ExportRow], generated_at: &str) -> Result<Vec<u8>, ExportError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for row in rows {
        out.write_record([
            row.cycle_code.as_str(),
            &row.participant_code,
            &row.participant_name,
            &row.assessment_state,
            &row.revision.to_string(),
            &row.snapshot_digest,
            &row.section_code,
            &row.goal_code,
            &row.goal_title,
            &row.weight.to_string(),
            &row.answer_state,
            &row.value,
            &number(row.goal_score),
            &number(row.section_score),
            &row.section_complete.to_string(),
            &number(row.overall_score),
            &row.overall_complete.to_string(),
            &row.rank.map(|r| r.to_string()).unwrap_or_default(),
            generated_at,
        ])?;
    }
    finish(out)
}

/// The column titles in `lang`: the [`FIELDS`] then `generated_at`.
pub fn column_titles(lang: Lang) -> Vec<&'static str> {
    let tr = lang.tr();
    FIELDS
        .iter()
        .map(|(name, _)| *name)
        .chain(["generated_at"])
        .map(|name| tr.t_static(&format!("export.column.{name}")))
        .collect()
}

fn finish(out: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, ExportError> {
    out.into_inner()
        .map_err(|error| ExportError::Csv(error.into_error().into()))
}
