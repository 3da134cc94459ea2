//! The full report as JSON: the stamp, a data dictionary of every field, the comparison (the
//! API's document) and the tidy rows.

use serde::Serialize;

use super::ExportError;
use crate::domain::report::comparison::CycleComparison;
use crate::domain::report::export::{ExportRow, ExportStamp, FIELDS};
use crate::presentation::i18n::Lang;

/// The top-level and report fields the data dictionary describes (the rows' fields come from
/// [`FIELDS`]); each meaning is the catalogue's `export.dict.{field}`, in the file's language.
const REPORT_FIELDS: [&str; 23] = [
    "format",
    "lang",
    "stamp",
    "stamp.snapshots[].digest",
    "data_dictionary",
    "report",
    "report.roll_up",
    "report.overall_max_score",
    "report.sections[].max_score",
    "report.rows[]",
    "report.rows[].rank",
    "report.rows[].overall",
    "report.rows[].sections[]",
    "report.rows[].previous",
    "report.rows[].change",
    "report.rows[].snapshot",
    "report.distributions[]",
    "report.movers[]",
    "score",
    "answered",
    "applicable",
    "completion",
    "rows",
];

/// Everything but the rows, which follow last (so they can be streamed).
#[derive(Serialize)]
struct Head<'a> {
    format: &'static str,
    /// The language of the texts (the data dictionary); keys and values never change with it.
    lang: &'static str,
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

/// The document up to the opening of its `rows` array: `{"format":…,"report":…,"rows":[`.
pub fn head(
    stamp: &ExportStamp,
    report: &CycleComparison,
    lang: Lang,
) -> Result<Vec<u8>, ExportError> {
    let tr = lang.tr();
    let data_dictionary = REPORT_FIELDS
        .iter()
        .map(|field| (*field).to_owned())
        .chain(FIELDS.iter().map(|(field, _)| format!("rows[].{field}")))
        .map(|field| Entry {
            meaning: tr.t_static(&format!("export.dict.{field}")),
            field,
        })
        .collect();
    let mut out = serde_json::to_vec(&Head {
        format: "pledge-cycle-report/1",
        lang: lang.code(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_described_in_every_language_and_english_matches_the_fields() {
        for lang in Lang::ALL {
            let tr = lang.tr();
            for field in REPORT_FIELDS
                .iter()
                .map(|f| (*f).to_owned())
                .chain(FIELDS.iter().map(|(f, _)| format!("rows[].{f}")))
            {
                assert!(
                    !tr.t_static(&format!("export.dict.{field}")).is_empty(),
                    "{field} has no meaning in {lang:?}"
                );
            }
        }
        let english = Lang::En.tr();
        for (field, meaning) in FIELDS {
            assert_eq!(
                english.t_static(&format!("export.dict.rows[].{field}")),
                meaning
            );
        }
    }
}
