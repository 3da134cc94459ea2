//! The full report as JSON: the stamp, a data dictionary of every field, the comparison (the
//! API's document) and the tidy rows.

use serde::Serialize;

use super::{ExportError, ReportContent};
use crate::domain::report::comparison::CycleComparison;
use crate::domain::report::export::{ExportRow, ExportStamp, FIELDS};

/// What the top-level and report fields mean (the rows' fields come from [`FIELDS`]).
const REPORT_FIELDS: [(&str, &str); 22] = [
    ("format", "pledge-cycle-report/1: this document's layout."),
    (
        "stamp",
        "The cycle, the time of generation and the snapshot each participant's figures come from.",
    ),
    (
        "stamp.snapshots[].digest",
        "SHA-256 of the snapshot document, hexadecimal: verifies against the stored snapshot.",
    ),
    ("data_dictionary", "This list: each field's meaning."),
    (
        "report",
        "The comparison of the cycle, as GET /api/v1/cycles/{cycle}/report returns it.",
    ),
    (
        "report.roll_up",
        "How goal scores roll up: weighted_mean (Σw·s ÷ Σw, 0–1) or sum (Σw·s, points).",
    ),
    (
        "report.overall_max_score",
        "The highest overall score possible.",
    ),
    (
        "report.sections[].max_score",
        "The highest score the section can reach.",
    ),
    (
        "report.rows[]",
        "One submitted participant each: ranked rows first by rank, then incomplete ones by code.",
    ),
    (
        "report.rows[].rank",
        "Dense rank among complete figures; null when incomplete.",
    ),
    (
        "report.rows[].overall",
        "The overall figure: score, answered, applicable, completion, complete.",
    ),
    (
        "report.rows[].sections[]",
        "Each section's figure, in the order of report.sections.",
    ),
    (
        "report.rows[].previous",
        "The compared figure in the previous cycle of the same framework family, on this cycle's version.",
    ),
    (
        "report.rows[].change",
        "The compared figure minus previous.",
    ),
    (
        "report.rows[].snapshot",
        "The snapshot read: id, revision, digest, submitted_at.",
    ),
    (
        "report.distributions[]",
        "Count, minimum, quartiles (inclusive, linear interpolation), median and maximum of complete figures; the overall figure first.",
    ),
    (
        "report.movers[]",
        "Up to ten participants whose compared figure changed most since the previous cycle.",
    ),
    (
        "score",
        "A figure's score; null when no applicable goal is answered.",
    ),
    (
        "answered",
        "Applicable goals with an answer that has a goal score.",
    ),
    ("applicable", "Goals not answered as not applicable."),
    (
        "completion",
        "answered ÷ applicable; null when nothing is applicable.",
    ),
    (
        "rows",
        "The tidy table: one row per participant × goal (fields below).",
    ),
];

/// Everything but the rows, which follow last (so they can be streamed).
#[derive(Serialize)]
struct Head<'a> {
    format: &'static str,
    stamp: &'a ExportStamp,
    data_dictionary: Vec<Entry>,
    report: &'a CycleComparison,
}

#[derive(Serialize)]
struct Entry {
    field: String,
    meaning: &'static str,
}

/// What closes the document after the last row.
pub const TAIL: &[u8] = b"]}";

pub fn write(content: &ReportContent<'_>) -> Result<Vec<u8>, ExportError> {
    let mut out = head(content.stamp, content.report)?;
    out.extend(rows(content.rows, true)?);
    out.extend_from_slice(TAIL);
    Ok(out)
}

/// The document up to the opening of its `rows` array: `{"format":…,"report":…,"rows":[`.
pub fn head(stamp: &ExportStamp, report: &CycleComparison) -> Result<Vec<u8>, ExportError> {
    let data_dictionary = REPORT_FIELDS
        .iter()
        .map(|(field, meaning)| Entry {
            field: (*field).to_owned(),
            meaning,
        })
        .chain(FIELDS.iter().map(|(field, meaning)| Entry {
            field: format!("rows[].{field}"),
            meaning,
        }))
        .collect();
    let mut out = serde_json::to_vec(&Head {
        format: "pledge-cycle-report/1",
        stamp,
        data_dictionary,
        report,
    })?;
    // An object serialises to `{…}`: reopen it for the rows.
    out.pop();
    out.extend_from_slice(br#","rows":["#);
    Ok(out)
}

/// Rows of the `rows` array, comma-separated; `first` when no row precedes them.
pub fn rows(rows: &[ExportRow], first: bool) -> Result<Vec<u8>, ExportError> {
    let mut out = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        if index > 0 || !first {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, row)?;
    }
    Ok(out)
}
