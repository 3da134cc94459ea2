//! Reads an uploaded offline form back into rows of cell texts, refusing anything that is not
//! the form this service wrote for this assessment.
//!
//! The archive is checked before any spreadsheet parsing: every entry is inflated into a
//! counter with a ceiling, so a small file that unpacks to gigabytes is refused after reading
//! at most the ceiling. Cells are then streamed one by one (no dense grid is built, so a stray
//! cell at row 1,000,000 costs nothing), and reading stops past [`MAX_ROWS`].

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use calamine::{DataRef, Reader, Xlsx};
use uuid::Uuid;

use super::workbook::ABOUT_ID_CELL;
use super::{
    ABOUT_SHEET_KEY, Column, FORM_SHEET_KEY, cell_ref, column_letters, push_problem, sheet_names,
};
use crate::domain::framework::document::Problem;
use crate::web::i18n::Lang;

/// The largest upload accepted (a form of 150 goals with long narratives is well under 2 MiB).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// The most the archive may unpack to, all entries together.
pub const MAX_UNPACKED_BYTES: u64 = 64 * 1024 * 1024;
/// The most entries the archive may hold (a form has about a dozen).
const MAX_ENTRIES: usize = 1_000;
/// The most rows the form sheet may use (frameworks have tens to a few hundred goals).
pub const MAX_ROWS: u32 = 5_000;
/// The most distinct strings a form may declare (5,000 rows × 12 columns is 60,000).
const MAX_SHARED_STRINGS: u64 = 100_000;
/// Excel's own limit on a cell's text.
const MAX_CELL_CHARS: usize = 32_767;
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
    check_archive(bytes).map_err(|problem| vec![problem])?;
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

/// Refuses what is not a ZIP archive, and archives that unpack to more than the ceiling.
fn check_archive(bytes: &[u8]) -> Result<(), Problem> {
    let not_xlsx =
        |detail: &dyn std::fmt::Display| Problem::with("file", "offline.problem.not_xlsx", detail);
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| not_xlsx(&e))?;
    let too_large = || {
        Problem::with(
            "file",
            "offline.problem.unpacks_too_large",
            format!("> {} MiB", MAX_UNPACKED_BYTES / 1024 / 1024),
        )
    };
    if archive.len() > MAX_ENTRIES {
        return Err(too_large());
    }
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(|e| not_xlsx(&e))?;
        let allowance = MAX_UNPACKED_BYTES - total + 1;
        let shared_strings = entry
            .name()
            .map_err(|e| not_xlsx(&e))?
            .to_lowercase()
            .ends_with("sharedstrings.xml");
        let mut limited = entry.take(allowance);
        if shared_strings {
            // Read whole (within the ceiling) to check the count the reader reserves room for.
            let mut xml = Vec::new();
            total += limited.read_to_end(&mut xml).map_err(|e| not_xlsx(&e))? as u64;
            if total <= MAX_UNPACKED_BYTES && too_many_shared_strings(&xml) {
                return Err(Problem::with(
                    "file",
                    "offline.problem.too_many_strings",
                    MAX_SHARED_STRINGS,
                ));
            }
        } else {
            total += std::io::copy(&mut limited, &mut std::io::sink()).map_err(|e| not_xlsx(&e))?;
        }
        if total > MAX_UNPACKED_BYTES {
            return Err(too_large());
        }
    }
    Ok(())
}

/// Whether a shared-strings part holds, or declares, more strings than any form has. The
/// spreadsheet reader reserves memory for the `uniqueCount` of the first `sst` tag before it
/// reads a string (a forged count would abort the process), then keeps one string per `si`
/// tag (millions of empty ones fit in a few megabytes). Tags are found as an XML reader finds
/// them: comments, processing instructions, declarations and CDATA are skipped, so text that
/// merely mentions `uniqueCount` is not mistaken for the attribute.
fn too_many_shared_strings(xml: &[u8]) -> bool {
    let mut strings: u64 = 0;
    let mut seen_sst = false;
    let mut at = 0;
    while let Some(offset) = xml[at..].iter().position(|b| *b == b'<') {
        let tag = &xml[at + offset..];
        let skip_to = |end: &[u8]| {
            tag.windows(end.len())
                .position(|w| w == end)
                .map_or(xml.len(), |p| at + offset + p + end.len())
        };
        at = if tag.starts_with(b"<!--") {
            skip_to(b"-->")
        } else if tag.starts_with(b"<![CDATA[") {
            skip_to(b"]]>")
        } else if tag.starts_with(b"<?") {
            skip_to(b"?>")
        } else {
            let next = tag_end(xml, at + offset);
            if !tag.starts_with(b"<!") && !tag.starts_with(b"</") {
                let body = &xml[at + offset + 1..next.saturating_sub(1).max(at + offset + 1)];
                let name_end = body
                    .iter()
                    .position(|b| b.is_ascii_whitespace() || *b == b'/' || *b == b'>')
                    .unwrap_or(body.len());
                let name = &body[..name_end];
                let local = name.rsplit(|b| *b == b':').next().unwrap_or(name);
                if local == b"si" {
                    strings += 1;
                    if strings > MAX_SHARED_STRINGS {
                        return true;
                    }
                } else if local == b"sst" && !seen_sst {
                    seen_sst = true;
                    if declared_count(&body[name_end..]).is_some_and(|n| n > MAX_SHARED_STRINGS) {
                        return true;
                    }
                }
            }
            next
        };
    }
    false
}

/// Where the tag starting at `start` ends (just past its `>`), with `>` inside quoted
/// attribute values not taken for the end, as an XML reader reads it.
fn tag_end(xml: &[u8], start: usize) -> usize {
    let mut quote = None;
    for (i, byte) in xml.iter().enumerate().skip(start) {
        match (quote, *byte) {
            (None, b'"' | b'\'') => quote = Some(*byte),
            (Some(q), b) if b == q => quote = None,
            (None, b'>') => return i + 1,
            _ => {}
        }
    }
    xml.len()
}

/// The `uniqueCount` attribute among a tag's attributes, when present: `None` when absent or
/// not a number the spreadsheet reader would read (it then reserves nothing), `u64::MAX` when
/// too long to count.
fn declared_count(attributes: &[u8]) -> Option<u64> {
    const NAME: &[u8] = b"uniqueCount";
    let mut rest = attributes;
    loop {
        let at = rest.windows(NAME.len()).position(|w| w == NAME)?;
        let preceded_by_space = at == 0 || rest[at - 1].is_ascii_whitespace();
        rest = &rest[at + NAME.len()..];
        let after: Vec<u8> = rest
            .iter()
            .skip_while(|b| b.is_ascii_whitespace())
            .copied()
            .collect();
        if !preceded_by_space || after.first() != Some(&b'=') {
            continue;
        }
        let value = after[1..]
            .iter()
            .skip_while(|b| b.is_ascii_whitespace() || **b == b'"' || **b == b'\'')
            .take_while(|b| b.is_ascii_digit());
        let mut count: u64 = 0;
        let mut digits = 0;
        for digit in value {
            digits += 1;
            count = count
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(*digit - b'0')))
                .unwrap_or(u64::MAX);
        }
        return (digits > 0).then_some(count);
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
fn is_blank(value: &DataRef<'_>) -> bool {
    match value {
        DataRef::Empty => true,
        DataRef::String(text) => text.trim().is_empty(),
        DataRef::SharedString(text) => text.trim().is_empty(),
        _ => false,
    }
}

/// A text cell's content, refused past Excel's limit before it is copied.
fn text_of(text: &str) -> Result<String, &'static str> {
    // Bytes first: a cheap bound that is never below the count of characters.
    if text.len() > MAX_CELL_CHARS && text.chars().count() > MAX_CELL_CHARS {
        return Err("offline.problem.cell_too_long");
    }
    Ok(text.trim().to_owned())
}

/// A cell as text: strings trimmed, whole numbers without a decimal point, booleans as yes/no.
/// Dates and error values (`#N/A` …) have no place in the form.
fn cell_text(value: &DataRef<'_>) -> Result<String, &'static str> {
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
    fn a_forged_count_of_shared_strings_is_refused_before_parsing() {
        assert!(too_many_shared_strings(
            br#"<?xml version="1.0"?><sst xmlns="x" count="3" uniqueCount="10000000000000"><si><t>a</t></si></sst>"#
        ));
        assert!(too_many_shared_strings(br#"<sst uniqueCount = '100001'>"#));
        assert!(too_many_shared_strings(
            br#"<!-- <sst uniqueCount="1"> --><x:sst uniqueCount="99999999999999999999999">"#
        ));
        // Many strings under a modest declared count.
        let mut many = br#"<sst uniqueCount="1">"#.to_vec();
        many.extend(b"<si/>".repeat(100_001));
        assert!(too_many_shared_strings(&many));
        // What Excel and LibreOffice write, and text that only mentions the attribute.
        assert!(!too_many_shared_strings(
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="40" uniqueCount="35"><si><t>uniqueCount="200000"</t></si><si><t xml:space="preserve"> b </t></si></sst>"#
        ));
        assert!(!too_many_shared_strings(
            br#"<sst count="4"><si><t>a</t></si></sst>"#
        ));
        assert!(too_many_shared_strings(
            br#"<sst note="a > b" uniqueCount="9999999999">"#
        ));
        assert!(!too_many_shared_strings(
            b"<sst myuniqueCount=\"999999999\">"
        ));
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

    #[test]
    fn an_archive_that_unpacks_past_the_ceiling_is_refused() {
        use std::io::Write;
        let mut bytes = Vec::new();
        {
            let mut archive = zip::ZipWriter::new(Cursor::new(&mut bytes));
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            archive.start_file("xl/bomb.xml", options).unwrap();
            let zeros = vec![0u8; 1024 * 1024];
            for _ in 0..=MAX_UNPACKED_BYTES / (1024 * 1024) {
                archive.write_all(&zeros).unwrap();
            }
            archive.finish().unwrap();
        }
        assert!(
            bytes.len() < 1024 * 1024,
            "the bomb is small: {}",
            bytes.len()
        );
        let problems = read(&bytes, Uuid::nil()).unwrap_err();
        assert_eq!(problems[0].key, "offline.problem.unpacks_too_large");
    }
}
