//! Streams a table file (CSV or XLSX) row by row, with the offline import's defences.
//!
//! - XLSX: the archive is checked first with [`archive::check_within`] (not an archive,
//!   too many entries, unpacks past the ceiling, too many shared strings), then `calamine`
//!   streams the chosen sheet's cells one by one, as the offline reader does: no grid is built,
//!   formulas are never evaluated (a formula cell's stored value is read, like any value),
//!   dates and error values are problems at their cell, text past Excel's cell limit is refused
//!   before it is copied ([`reader::cell_text`]).
//! - CSV: UTF-8 (a byte-order mark is skipped), comma-separated, quoted as the `csv` crate reads
//!   it; a leading apostrophe the export put before a text a spreadsheet would evaluate
//!   (`csv::neutralised`) is taken off again.
//!
//! Either way at most [`Limits::rows`] rows are read (then one problem stops the reading), at most
//! [`MAX_COLUMNS`] columns are kept (a cell further right is one problem per column), and each
//! row is handed to the caller as soon as it is complete: memory holds one row, not the file.

use std::io::{Cursor, Read};

use calamine::{DataRef, Reader, Xlsx};

use crate::domain::problem::Problem;
use crate::offline::{archive, cell_ref, column_letters, push_problem, reader};

/// Columns kept per row; a table needs at most about two dozen.
pub const MAX_COLUMNS: usize = 64;

/// The ceilings a table file is read within.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Data rows (the header not counted).
    pub rows: u32,
    /// The archive's ceilings (XLSX).
    pub archive: archive::Limits,
    /// The most bytes a CSV file may have.
    pub csv_bytes: u64,
}

/// Where the rows come from: bytes already in memory (an upload) or a file (the command line,
/// whose CSV is streamed from disk).
#[derive(Debug)]
pub enum Source {
    Bytes(Vec<u8>),
    Path(std::path::PathBuf),
}

/// What was read: the header (row 0) first, then each data row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    /// Zero-based row of the sheet (or record of the CSV file); the header is 0.
    pub row: u32,
    pub cells: Vec<String>,
    /// A cell could not be read (a date, an error value): its problem is reported already.
    pub unreadable: bool,
}

impl Row {
    /// The text of a column, empty when absent.
    pub fn text(&self, column: usize) -> &str {
        self.cells.get(column).map_or("", String::as_str)
    }
}

/// Whether the bytes are a ZIP archive (an XLSX workbook) rather than text.
pub fn is_archive(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
}

/// The label of a CSV file in problem places (`CSV!B7`).
pub const CSV_SHEET: &str = "CSV";

/// Reads the table: `sheet_names` are the names the wanted sheet may have (any language); a
/// workbook with exactly one sheet is read whatever its name. Calls `visit` with each non-empty
/// row in order (the header first, even when empty); problems go to `problems`. Returns the
/// name the places use for the sheet.
pub fn read(
    source: Source,
    sheet_names: &[&str],
    limits: &Limits,
    problems: &mut Vec<Problem>,
    mut visit: impl FnMut(&str, Row, &mut Vec<Problem>),
) -> String {
    let bytes = match source {
        Source::Bytes(bytes) => bytes,
        Source::Path(path) => {
            let mut head = [0u8; 4];
            let opened = std::fs::File::open(&path).and_then(|mut file| {
                let n = file.read(&mut head)?;
                Ok((file, n))
            });
            let (file, n) = match opened {
                Ok(opened) => opened,
                Err(error) => {
                    problems.push(Problem::with("file", "offline.problem.unreadable", error));
                    return CSV_SHEET.to_owned();
                }
            };
            if !is_archive(&head[..n]) {
                let chained = std::io::BufReader::new(Cursor::new(head[..n].to_vec()).chain(file));
                read_csv(chained, limits, problems, &mut visit);
                return CSV_SHEET.to_owned();
            }
            match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(error) => {
                    problems.push(Problem::with("file", "offline.problem.unreadable", error));
                    return CSV_SHEET.to_owned();
                }
            }
        }
    };
    if is_archive(&bytes) {
        read_xlsx(&bytes, sheet_names, limits, problems, &mut visit)
    } else {
        if bytes.len() as u64 > limits.csv_bytes {
            problems.push(too_large(limits.csv_bytes));
            return CSV_SHEET.to_owned();
        }
        read_csv(Cursor::new(bytes), limits, problems, &mut visit);
        CSV_SHEET.to_owned()
    }
}

fn too_large(bytes: u64) -> Problem {
    Problem::with(
        "file",
        "offline.problem.too_large",
        format!("> {} MiB", bytes / 1024 / 1024),
    )
}

fn too_many_rows(sheet: &str, limits: &Limits) -> Problem {
    Problem::with(sheet, "offline.problem.too_many_rows", limits.rows)
}

fn read_csv(
    input: impl Read,
    limits: &Limits,
    problems: &mut Vec<Problem>,
    visit: &mut impl FnMut(&str, Row, &mut Vec<Problem>),
) {
    let mut input = input;
    let mut bom = [0u8; 3];
    let mut got = 0;
    while got < 3 {
        match input.read(&mut bom[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(error) => {
                problems.push(Problem::with("file", "offline.problem.unreadable", error));
                return;
            }
        }
    }
    let start = if bom[..got] == *crate::export::csv::BOM {
        Vec::new()
    } else {
        bom[..got].to_vec()
    };
    let mut csv = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(Cursor::new(start).chain(input));
    let mut record = ::csv::ByteRecord::new();
    let mut extra_seen = std::collections::BTreeSet::new();
    let mut index: u32 = 0;
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let key = if matches!(error.kind(), ::csv::ErrorKind::Utf8 { .. }) {
                    "import.problem.not_utf8"
                } else {
                    "import.problem.not_csv"
                };
                push_problem(problems, Problem::with(place_row(index), key, error));
                break;
            }
        }
        if csv.position().byte() > limits.csv_bytes {
            push_problem(problems, too_large(limits.csv_bytes));
            break;
        }
        if index > limits.rows {
            push_problem(problems, too_many_rows(CSV_SHEET, limits));
            break;
        }
        let mut row = Row {
            row: index,
            cells: Vec::with_capacity(record.len().min(MAX_COLUMNS)),
            unreadable: false,
        };
        for (column, field) in record.iter().enumerate() {
            let Ok(text) = std::str::from_utf8(field) else {
                push_problem(
                    problems,
                    Problem::new(cell(CSV_SHEET, index, column), "import.problem.not_utf8"),
                );
                row.unreadable = true;
                continue;
            };
            if column >= MAX_COLUMNS {
                if !text.trim().is_empty() && extra_seen.insert(column) {
                    push_problem(
                        problems,
                        Problem::with(
                            cell(CSV_SHEET, index, column),
                            "offline.problem.extra_column",
                            column_letters(u32::try_from(column).unwrap_or(u32::MAX)),
                        ),
                    );
                }
                continue;
            }
            match reader::text_of(unneutralised(text)) {
                Ok(text) => row.cells.push(text),
                Err(key) => {
                    push_problem(problems, Problem::new(cell(CSV_SHEET, index, column), key));
                    row.cells.push(String::new());
                    row.unreadable = true;
                }
            }
        }
        if index == 0 || row.unreadable || row.cells.iter().any(|c| !c.is_empty()) {
            visit(CSV_SHEET, row, problems);
        }
        index += 1;
    }
}

/// Takes off the apostrophe the CSV export puts before a text a spreadsheet would evaluate.
fn unneutralised(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => text,
    }
}

fn place_row(row: u32) -> String {
    format!("{CSV_SHEET}!{}", row + 1)
}

fn cell(sheet: &str, row: u32, column: usize) -> String {
    cell_ref(sheet, row, u32::try_from(column).unwrap_or(u32::MAX))
}

fn read_xlsx(
    bytes: &[u8],
    sheet_names: &[&str],
    limits: &Limits,
    problems: &mut Vec<Problem>,
    visit: &mut impl FnMut(&str, Row, &mut Vec<Problem>),
) -> String {
    if let Err(problem) = archive::check_within(bytes, &limits.archive) {
        problems.push(problem);
        return "file".to_owned();
    }
    let mut workbook: Xlsx<_> = match Xlsx::new(Cursor::new(bytes)) {
        Ok(workbook) => workbook,
        Err(error) => {
            problems.push(Problem::with("file", "offline.problem.not_xlsx", error));
            return "file".to_owned();
        }
    };
    let names = workbook.sheet_names();
    let found = names
        .iter()
        .find(|name| {
            sheet_names
                .iter()
                .any(|wanted| wanted.to_lowercase() == name.to_lowercase())
        })
        .cloned()
        .or_else(|| (names.len() == 1).then(|| names[0].clone()));
    let Some(sheet) = found else {
        problems.push(Problem::with(
            "file",
            "import.problem.no_sheet",
            format!("{} ≠ {}", sheet_names.join(" / "), names.join(", ")),
        ));
        return "file".to_owned();
    };
    let mut cells = match workbook.worksheet_cells_reader(&sheet) {
        Ok(cells) => cells,
        Err(error) => {
            problems.push(Problem::with(
                sheet.as_str(),
                "offline.problem.not_xlsx",
                error,
            ));
            return sheet;
        }
    };
    let mut current = Row::default();
    let mut header_sent = false;
    let mut extra_seen = std::collections::BTreeSet::new();
    let mut flush = |row: Row, header_sent: &mut bool, problems: &mut Vec<Problem>| {
        if row.row == 0 {
            *header_sent = true;
        } else if !*header_sent {
            visit(&sheet, Row::default(), problems);
            *header_sent = true;
        }
        if row.row == 0 || row.unreadable || row.cells.iter().any(|c| !c.is_empty()) {
            visit(&sheet, row, problems);
        }
    };
    loop {
        let cell_read = match cells.next_cell() {
            Ok(Some(cell)) => cell,
            Ok(None) => break,
            Err(error) => {
                push_problem(
                    problems,
                    Problem::with(sheet.as_str(), "offline.problem.not_xlsx", error),
                );
                break;
            }
        };
        let (row, column) = cell_read.get_position();
        let value = cell_read.get_value();
        if matches!(value, DataRef::Empty) {
            continue;
        }
        if row > limits.rows {
            push_problem(problems, too_many_rows(&sheet, limits));
            break;
        }
        if row != current.row {
            if row < current.row {
                push_problem(
                    problems,
                    Problem::new(
                        cell(&sheet, row, column as usize),
                        "import.problem.out_of_order",
                    ),
                );
                break;
            }
            let done = std::mem::replace(
                &mut current,
                Row {
                    row,
                    ..Row::default()
                },
            );
            flush(done, &mut header_sent, problems);
        }
        let column = column as usize;
        if column >= MAX_COLUMNS {
            if !reader::is_blank(value) && extra_seen.insert(column) {
                push_problem(
                    problems,
                    Problem::with(
                        cell(&sheet, row, column),
                        "offline.problem.extra_column",
                        column_letters(u32::try_from(column).unwrap_or(u32::MAX)),
                    ),
                );
            }
            continue;
        }
        let text = match reader::cell_text(value) {
            Ok(text) => text,
            // A date cell (an accession date) reads as the day it shows.
            Err(_) if date_text(value).is_some() => date_text(value).unwrap_or_default(),
            Err(key) => {
                push_problem(problems, Problem::new(cell(&sheet, row, column), key));
                current.unreadable = true;
                continue;
            }
        };
        if current.cells.len() <= column {
            current.cells.resize(column + 1, String::new());
        }
        current.cells[column] = text;
    }
    flush(current, &mut header_sent, problems);
    sheet
}

/// A date cell as `YYYY-MM-DD` (whole days since the spreadsheet's epoch, 1899-12-30), or
/// an ISO date text cell's day.
fn date_text(value: &DataRef<'_>) -> Option<String> {
    match value {
        DataRef::DateTime(date) if !date.is_duration() => {
            let days = date.as_f64().floor();
            if !(0.0..=2_958_465.0).contains(&days) {
                return None;
            }
            let epoch = time::macros::date!(1899 - 12 - 30);
            epoch
                .checked_add(time::Duration::days(days as i64))
                .map(|day| day.to_string())
        }
        DataRef::DateTimeIso(text) => text.get(..10).map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        rows: 10,
        archive: archive::FORM,
        csv_bytes: 1024,
    };

    fn rows_of(bytes: &[u8]) -> (Vec<Row>, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut rows = Vec::new();
        read(
            Source::Bytes(bytes.to_vec()),
            &["Answers"],
            &LIMITS,
            &mut problems,
            |_, row, _| rows.push(row),
        );
        (rows, problems)
    }

    #[test]
    fn csv_rows_come_one_by_one_without_the_bom_or_the_exports_apostrophe() {
        let (rows, problems) = rows_of(b"\xEF\xBB\xBFa,b\n\n1,'=SUM(A1)\n'plain,\"x, y\"\n");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].cells, ["a", "b"]);
        assert_eq!(
            rows[1].row, 1,
            "rows are records: the reader skips an empty line"
        );
        assert_eq!(rows[1].cells, ["1", "=SUM(A1)"]);
        assert_eq!(rows[2].cells, ["'plain", "x, y"]);
    }

    #[test]
    fn csv_past_its_ceilings_is_refused() {
        let many: String = (0..20).map(|i| format!("{i}\n")).collect();
        let (_, problems) = rows_of(many.as_bytes());
        assert_eq!(problems[0].key, "offline.problem.too_many_rows");
        let (_, problems) = rows_of(&vec![b'a'; 2048]);
        assert_eq!(problems[0].key, "offline.problem.too_large");
        let (_, problems) = rows_of(b"a,b\n\xFF\xFE,1\n");
        assert_eq!(problems[0].key, "import.problem.not_utf8");
        assert_eq!(problems[0].path, "CSV!A2");
    }
}
