//! Reads an uploaded offline form back into rows of cell texts, refusing anything that is not
//! the form this service wrote for this assessment.
//!
//! The archive is checked before any spreadsheet parsing ([`archive::check`]). Cells are then
//! streamed one by one (no dense grid is built, so a stray
//! cell at row 1,000,000 costs nothing), and reading stops past [`MAX_ROWS`].

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use calamine::{DataRef, Reader, Xlsx};
use uuid::Uuid;

use super::archive;
use super::workbook::ABOUT_ID_CELL;
use super::{
    ABOUT_SHEET_KEY, Column, FORM_SHEET_KEY, cell_ref, column_letters, push_problem, sheet_names,
};
use crate::domain::problem::Problem;
use crate::presentation::i18n::Lang;

/// The largest upload accepted (a form of 150 goals with long narratives is well under 2 MiB).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// The most rows the form sheet may use (frameworks have tens to a few hundred goals).
pub const MAX_ROWS: u32 = 5_000;
/// Excel's own limit on a cell's text.
pub(crate) const MAX_CELL_CHARS: usize = 32_767;
/// The most text kept from all cells together: a long shared string referenced from many
/// cells costs nothing in the file but would be copied for each cell.
const MAX_TEXT_BYTES: usize = 16 * 1024 * 1024;

/// One filled-in row: its zero-based row number and the text of each column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileRow {
    pub row: u32,
    pub cells: [String; Column::ALL.len()],
    /// A cell of the row could not be read (a date, an error value): its problem is reported
    /// already, and the row is not checked further.
    pub unreadable: bool,
}

impl FileRow {
    pub fn text(&self, column: Column) -> &str {
        &self.cells[usize::from(column.index())]
    }
}

/// The form as read: the name its sheet had, its non-empty rows below the header, and the
/// problems found in cells while reading (extra columns, dates, error values), which refuse the
/// file but leave the other rows worth checking.
#[derive(Debug)]
pub struct FormFile {
    pub sheet: String,
    pub rows: Vec<FileRow>,
    pub problems: Vec<Problem>,
}

/// Reads the form for `assessment`. A file that is not this form (not an XLSX, no form sheet,
/// another assessment's, headings moved) is refused outright with every such problem.
pub fn read(bytes: &[u8], assessment: Uuid) -> Result<FormFile, Vec<Problem>> {
    archive::check(bytes).map_err(|problem| vec![problem])?;
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
        .map_err(|error| vec![Problem::with("file", "offline.problem.not_xlsx", error)])?;
    let names = workbook.sheet_names();
    let find = |key: &str| {
        let wanted = sheet_names(key);
        names.iter().find(|n| wanted.contains(&n.as_str())).cloned()
    };
    let Some(sheet) = find(FORM_SHEET_KEY) else {
        return Err(vec![Problem::with(
            "file",
            "offline.problem.no_form_sheet",
            format!(
                "{} ≠ {}",
                sheet_names(FORM_SHEET_KEY).join(" / "),
                names.join(", ")
            ),
        )]);
    };
    let mut fatal = Vec::new();
    match find(ABOUT_SHEET_KEY) {
        None => fatal.push(Problem::with(
            "file",
            "offline.problem.no_about_sheet",
            sheet_names(ABOUT_SHEET_KEY).join(" / "),
        )),
        Some(about) => {
            if let Some(problem) = check_about(&mut workbook, &about, assessment) {
                fatal.push(problem);
            }
        }
    }
    let mut problems = Vec::new();
    let (header, rows) = read_form(&mut workbook, &sheet, &mut problems);
    fatal.extend(check_header(&sheet, &header));
    if fatal.is_empty() {
        Ok(FormFile {
            sheet,
            rows,
            problems,
        })
    } else {
        Err(fatal)
    }
}

/// The About sheet must name this assessment: a form exported for another one is refused.
fn check_about<R: Read + std::io::Seek>(
    workbook: &mut Xlsx<R>,
    sheet: &str,
    assessment: Uuid,
) -> Option<Problem> {
    let place = cell_ref(sheet, ABOUT_ID_CELL.0, u32::from(ABOUT_ID_CELL.1));
    let wrong = || {
        Some(Problem::new(
            place.clone(),
            "offline.problem.other_assessment",
        ))
    };
    let Ok(mut cells) = workbook.worksheet_cells_reader(sheet) else {
        return wrong();
    };
    while let Ok(Some(cell)) = cells.next_cell() {
        let (row, column) = cell.get_position();
        if row > ABOUT_ID_CELL.0 {
            break;
        }
        if (row, column) == (ABOUT_ID_CELL.0, u32::from(ABOUT_ID_CELL.1)) {
            let text = cell_text(cell.get_value()).unwrap_or_default();
            return match Uuid::parse_str(&text) {
                Ok(id) if id == assessment => None,
                _ => wrong(),
            };
        }
    }
    wrong()
}

/// Streams the form sheet's cells into its header and rows, refusing extra columns, dates,
/// error values and sheets longer than [`MAX_ROWS`].
fn read_form<R: Read + std::io::Seek>(
    workbook: &mut Xlsx<R>,
    sheet: &str,
    problems: &mut Vec<Problem>,
) -> (FileRow, Vec<FileRow>) {
    let width = u32::try_from(Column::ALL.len()).unwrap_or(u32::MAX);
    let mut rows: BTreeMap<u32, FileRow> = BTreeMap::new();
    let mut extra_columns_seen = std::collections::BTreeSet::new();
    let mut text_bytes = 0;
    let mut cells = match workbook.worksheet_cells_reader(sheet) {
        Ok(cells) => cells,
        Err(error) => {
            push_problem(
                problems,
                Problem::with(sheet, "offline.problem.not_xlsx", error),
            );
            return (FileRow::default(), Vec::new());
        }
    };
    loop {
        let cell = match cells.next_cell() {
            Ok(Some(cell)) => cell,
            Ok(None) => break,
            Err(error) => {
                push_problem(
                    problems,
                    Problem::with(sheet, "offline.problem.not_xlsx", error),
                );
                break;
            }
        };
        let (row, column) = cell.get_position();
        let value = cell.get_value();
        if matches!(value, DataRef::Empty) {
            continue;
        }
        if row >= MAX_ROWS {
            push_problem(
                problems,
                Problem::with(sheet, "offline.problem.too_many_rows", MAX_ROWS),
            );
            break;
        }
        if column >= width {
            // Judged without copying the cell's text.
            if !is_blank(value) && extra_columns_seen.insert(column) {
                push_problem(
                    problems,
                    Problem::with(
                        cell_ref(sheet, row, column),
                        "offline.problem.extra_column",
                        column_letters(column),
                    ),
                );
            }
            continue;
        }
        let text = match cell_text(value) {
            Ok(text) => text,
            Err(key) => {
                push_problem(problems, Problem::new(cell_ref(sheet, row, column), key));
                rows.entry(row).or_default().unreadable = true;
                continue;
            }
        };
        text_bytes += text.len();
        if text_bytes > MAX_TEXT_BYTES {
            push_problem(
                problems,
                Problem::with(
                    "file",
                    "offline.problem.too_much_text",
                    format!("> {} MiB", MAX_TEXT_BYTES / 1024 / 1024),
                ),
            );
            break;
        }
        rows.entry(row).or_default().cells[column as usize] = text;
    }
    let header = rows.remove(&0).unwrap_or_default();
    let rows = rows
        .into_iter()
        .filter(|(_, r)| r.unreadable || r.cells.iter().any(|c| !c.is_empty()))
        .map(|(row, r)| FileRow { row, ..r })
        .collect();
    (header, rows)
}

/// Every heading must be the form's, in either language: a moved or renamed column would put
/// answers in the wrong fields.
fn check_header(sheet: &str, header: &FileRow) -> Vec<Problem> {
    let mut problems = Vec::new();
    for column in Column::ALL {
        let found = header.cells[usize::from(column.index())].to_lowercase();
        let accepted = Lang::ALL
            .iter()
            .any(|lang| lang.tr().t_static(column.header_key()).to_lowercase() == found);
        if !accepted {
            problems.push(Problem::with(
                cell_ref(sheet, 0, u32::from(column.index())),
                "offline.problem.header",
                sheet_names(column.header_key()).join(" / "),
            ));
        }
    }
    problems
}

/// Whether a cell holds nothing but spaces.
pub(crate) fn is_blank(value: &DataRef<'_>) -> bool {
    match value {
        DataRef::Empty => true,
        DataRef::String(text) => text.trim().is_empty(),
        DataRef::SharedString(text) => text.trim().is_empty(),
        _ => false,
    }
}

/// A text cell's content, refused past Excel's limit before it is copied.
pub(crate) fn text_of(text: &str) -> Result<String, &'static str> {
    // Bytes first: a cheap bound that is never below the count of characters.
    if text.len() > MAX_CELL_CHARS && text.chars().count() > MAX_CELL_CHARS {
        return Err("offline.problem.cell_too_long");
    }
    Ok(text.trim().to_owned())
}

/// A cell as text: strings trimmed, whole numbers without a decimal point, booleans as yes/no.
/// Dates and error values (`#N/A` …) have no place in the form.
pub(crate) fn cell_text(value: &DataRef<'_>) -> Result<String, &'static str> {
    match value {
        DataRef::Empty => Ok(String::new()),
        DataRef::String(text) => text_of(text),
        DataRef::SharedString(text) => text_of(text),
        DataRef::Int(number) => Ok(number.to_string()),
        DataRef::Float(number) => Ok(number_text(*number)),
        DataRef::Bool(true) => Ok("yes".to_owned()),
        DataRef::Bool(false) => Ok("no".to_owned()),
        DataRef::Error(_) => Err("offline.problem.cell_error"),
        DataRef::DateTime(_) | DataRef::DateTimeIso(_) | DataRef::DurationIso(_) => {
            Err("offline.problem.cell_date")
        }
    }
}

/// A spreadsheet number as it would be typed: `3`, `12.5`. Rounded first to the 15
/// significant digits a spreadsheet shows, so a computed `=0.1+0.2` reads as `0.3`.
fn number_text(number: f64) -> String {
    let shown: f64 = format!("{number:.14e}").parse().unwrap_or(number);
    if shown.fract() == 0.0 && shown.abs() < 1e15 {
        format!("{shown:.0}")
    } else {
        shown.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_typed() {
        assert_eq!(number_text(3.0), "3");
        assert_eq!(number_text(-2.0), "-2");
        assert_eq!(number_text(12.5), "12.5");
        assert_eq!(number_text(0.1), "0.1");
        assert_eq!(number_text(0.1 + 0.2), "0.3", "as a spreadsheet shows it");
        assert_eq!(number_text(12.299999999999999), "12.3");
        assert_eq!(number_text(2.0 / 3.0), "0.666666666666667");
    }

    #[test]
    fn cells_past_excels_limit_are_refused_before_they_are_copied() {
        assert_eq!(
            text_of(&"é".repeat(MAX_CELL_CHARS)).map(|t| t.chars().count()),
            Ok(MAX_CELL_CHARS)
        );
        assert_eq!(
            text_of(&"x".repeat(MAX_CELL_CHARS + 1)),
            Err("offline.problem.cell_too_long")
        );
        assert!(is_blank(&DataRef::SharedString("  ")));
        assert!(!is_blank(&DataRef::Float(0.0)));
    }

    #[test]
    fn what_is_not_an_archive_is_refused_before_parsing() {
        let problems = read(b"%PDF-1.7 not a workbook", Uuid::nil()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "offline.problem.not_xlsx");
        assert_eq!(problems[0].path, "file");
    }
}
