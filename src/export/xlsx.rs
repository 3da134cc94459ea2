//! The XLSX workbook: "Summary" (participants × sections, overall, rank), one sheet per section
//! (participants × goal scores), "Answers" (the tidy table) and "About" (the stamp and the data
//! dictionary). Figures are number cells; headers are bold and frozen; widths fit the content.
//! Written from the report's row stream a chunk of participants at a time ([`Writer`]).

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek};

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::{ExportError, ReportHead};
use crate::domain::report::comparison::ComparisonRow;
use crate::domain::report::export::{Cell, ExportRow, FIELDS, cells};
use crate::domain::scoring::{Decimal, shown_decimals};
use crate::presentation::i18n::Lang;

/// Excel's limit on sheet names.
const SHEET_NAME_MAX: usize = 31;

/// Number formats of the workbook: the header, figures by their maximum's decimals,
/// percentages, and answers by their decimals.
struct Formats {
    header: Format,
    percent: Format,
    by_decimals: HashMap<u32, Format>,
}

impl Formats {
    fn new() -> Self {
        Self {
            header: Format::new().set_bold().set_background_color("#D9E2F3"),
            percent: Format::new().set_num_format("0%"),
            by_decimals: HashMap::new(),
        }
    }

    /// A figure on a scale of `max`: shown with its decimals (0.890, not 0.89). Cell values are
    /// the figures as shown (rounded once by the method).
    fn score(&mut self, max: Decimal) -> &Format {
        self.decimals(if shown_decimals(max) == 3 { 3 } else { 2 })
    }

    fn decimals(&mut self, decimals: u32) -> &Format {
        self.by_decimals
            .entry(decimals)
            .or_insert_with(|| decimals_format(decimals))
    }
}

/// One section's sheet: each participant's section figure and goal scores, a row per
/// participant written as its chunk arrives (constant-memory mode).
struct SectionSheet<'a> {
    sheet: Worksheet,
    index: usize,
    max_score: Decimal,
    goals: Vec<&'a str>,
    /// The widest text of each column so far, in characters (the sheet cannot be autofitted).
    widths: Vec<usize>,
}

/// The zip compression level of a workbook (see [`Writer::begin`]).
const XLSX_COMPRESSION_LEVEL: u8 = 2;

/// The workbook being written, a chunk of participants at a time ([`Writer::participants`]):
/// "Summary" and "About" come from the comparison and the stamp (a row per participant); the
/// section sheets and "Answers" (a row per participant × goal) are written in rust_xlsxwriter's
/// constant-memory mode, each row going to the sheet's temporary file when the next begins, so
/// only the current chunk's rows are held in memory.
pub(super) struct Writer<'a> {
    head: ReportHead<'a>,
    workbook: Workbook,
    formats: Formats,
    summary: Worksheet,
    sections: Vec<SectionSheet<'a>>,
    answers: Worksheet,
    answer_columns: Vec<&'static str>,
    about_name: String,
    /// Participants written to the section sheets so far.
    participants_written: usize,
    /// Rows written to "Answers" so far.
    answers_written: usize,
}

impl<'a> Writer<'a> {
    pub(super) fn begin(head: ReportHead<'a>) -> Result<Self, ExportError> {
        let mut workbook = Workbook::new();
        // Deflate at level 2 (zlib-rs's fast strategy) rather than the default 6: at the stress
        // scale the file is written in 2.65 s instead of 3.84 s and is 28.5 MB instead of 22.5
        // (level 3: 2.90 s, 26.8 MB); compressing was the largest single cost of the export.
        workbook.set_zip_compression_level(XLSX_COMPRESSION_LEVEL);
        let mut formats = Formats::new();
        let report = head.report;
        let lang = head.lang;
        let tr = lang.tr();
        let label = |key: &str| tr.t_static(&format!("export.label.{key}"));
        let mut used_names = HashSet::new();

        // Summary.
        let mut summary = Worksheet::new();
        summary.set_name(unique_name(
            tr.t_static("export.sheet.summary"),
            &mut used_names,
        ))?;
        let mut columns = [
            "rank",
            "code",
            "participant",
            "state",
            "overall",
            "complete",
            "completion",
        ]
        .map(label)
        .to_vec();
        columns.extend(report.sections.iter().map(|s| s.code.as_str()));
        write_header(&mut summary, &columns, &formats.header)?;
        for (index, row) in report.rows.iter().enumerate() {
            let r = row_number(index);
            if let Some(rank) = row.rank {
                summary.write_number(r, 0, f64::from(rank))?;
            }
            summary.write_string(r, 1, &row.participant_code)?;
            summary.write_string(r, 2, name(lang, row))?;
            summary.write_string(r, 3, &row.assessment_state)?;
            if let Some(value) = row.overall.score {
                let format = formats.score(report.overall_max_score);
                summary.write_number_with_format(r, 4, cell_number(value), format)?;
            }
            summary.write_boolean(r, 5, row.overall.complete)?;
            if let Some(value) = row.overall.completion {
                summary.write_number_with_format(r, 6, cell_number(value), &formats.percent)?;
            }
            for (offset, (figure, section)) in row.sections.iter().zip(&report.sections).enumerate()
            {
                if let Some(value) = figure.score {
                    let format = formats.score(section.max_score);
                    summary.write_number_with_format(
                        r,
                        column(7 + offset),
                        cell_number(value),
                        format,
                    )?;
                }
            }
        }
        summary.set_freeze_panes(1, 3)?;
        summary.autofit();

        // One sheet per section: headers now, a row per participant as chunks arrive.
        let mut sections = Vec::with_capacity(head.shape.sections.len());
        for (index, section) in head.shape.sections.iter().enumerate() {
            let goals: Vec<&str> = head
                .shape
                .goals
                .iter()
                .filter(|g| g.section == index)
                .map(|g| g.code.as_str())
                .collect();
            let mut sheet = workbook.new_worksheet_with_constant_memory()?;
            sheet.set_name(unique_name(&section.code, &mut used_names))?;
            let mut columns = ["code", "participant", "section_score", "complete"]
                .map(label)
                .to_vec();
            columns.extend(goals.iter().copied());
            write_header(&mut sheet, &columns, &formats.header)?;
            sheet.set_freeze_panes(1, 2)?;
            let widths = columns.iter().map(|c| c.chars().count()).collect();
            let max_score = report
                .sections
                .get(index)
                .map_or(Decimal::ONE, |s| s.max_score);
            sections.push(SectionSheet {
                sheet,
                index,
                max_score,
                goals,
                widths,
            });
        }

        // The tidy table: one row per participant × goal (300,000 at the stress scale). Such a
        // sheet cannot be autofitted, so its widths are set for its content's usual lengths.
        let mut answers = workbook.new_worksheet_with_constant_memory()?;
        answers.set_name(unique_name(
            tr.t_static("export.sheet.answers"),
            &mut used_names,
        ))?;
        let mut answer_columns = super::csv::column_titles(lang);
        answer_columns.truncate(FIELDS.len());
        for (c, ((name, _), title)) in FIELDS.iter().zip(&answer_columns).enumerate() {
            let width = match *name {
                "participant_name" | "goal_title" => 36.0,
                "snapshot_digest" => 66.0,
                _ => (title.chars().count() as f64 + 2.0).max(10.0),
            };
            answers.set_column_width(column(c), width)?;
        }
        write_header(&mut answers, &answer_columns, &formats.header)?;
        answers.set_freeze_panes(1, 0)?;
        let about_name = unique_name(tr.t_static("export.sheet.about"), &mut used_names);

        Ok(Self {
            head,
            workbook,
            formats,
            summary,
            sections,
            answers,
            answer_columns,
            about_name,
            participants_written: 0,
            answers_written: 0,
        })
    }

    /// The next participants of the report (in its order) and their tidy rows.
    pub(super) fn participants(
        &mut self,
        participants: &[ComparisonRow],
        rows: &[ExportRow],
    ) -> Result<(), ExportError> {
        let lang = self.head.lang;
        // The section sheets: each participant's goal scores from this chunk's rows.
        let goal_scores: HashMap<(&str, &str), Option<Decimal>> = rows
            .iter()
            .map(|r| {
                (
                    (r.participant_code.as_str(), r.goal_code.as_str()),
                    r.goal_score,
                )
            })
            .collect();
        for (i, row) in participants.iter().enumerate() {
            let r = row_number(self.participants_written + i);
            for section in &mut self.sections {
                let sheet = &mut section.sheet;
                let shown = name(lang, row);
                sheet.write_string(r, 0, &row.participant_code)?;
                sheet.write_string(r, 1, shown)?;
                widen(&mut section.widths, 0, row.participant_code.chars().count());
                widen(&mut section.widths, 1, shown.chars().count());
                if let Some(figure) = row.sections.get(section.index) {
                    if let Some(value) = figure.score {
                        let format = self.formats.score(section.max_score);
                        sheet.write_number_with_format(r, 2, cell_number(value), format)?;
                    }
                    sheet.write_boolean(r, 3, figure.complete)?;
                }
                for (offset, goal) in section.goals.iter().enumerate() {
                    if let Some(Some(value)) =
                        goal_scores.get(&(row.participant_code.as_str(), *goal))
                    {
                        let format = self.formats.score(Decimal::ONE);
                        sheet.write_number_with_format(
                            r,
                            column(4 + offset),
                            cell_number(*value),
                            format,
                        )?;
                    }
                }
            }
        }
        self.participants_written += participants.len();

        // Answers: each row's cells come from its one serde definition (as in the CSV and
        // JSON); numbers are number cells, formatted with the decimals their text has.
        for (i, row) in rows.iter().enumerate() {
            let r = row_number(self.answers_written + i);
            for (c, cell) in cells(row)?.into_iter().enumerate() {
                let c = column(c);
                match cell {
                    Cell::Empty => {}
                    Cell::Text(text) => match FIELDS
                        .get(usize::from(c))
                        .filter(|f| f.0 == "value")
                        .and_then(|_| text.parse::<Decimal>().ok())
                    {
                        // A value column holding a number (the answer on a numeric scale).
                        Some(number) => {
                            let format = self.formats.decimals(number.scale());
                            self.answers.write_number_with_format(
                                r,
                                c,
                                cell_number(number),
                                format,
                            )?;
                        }
                        None => {
                            self.answers.write_string(r, c, &text)?;
                        }
                    },
                    Cell::Number(number) => {
                        let format = self.formats.decimals(number.scale());
                        self.answers
                            .write_number_with_format(r, c, cell_number(number), format)?;
                    }
                    Cell::Bool(yes) => {
                        self.answers.write_boolean(r, c, yes)?;
                    }
                }
            }
        }
        self.answers_written += rows.len();
        Ok(())
    }

    /// The workbook: "About" last, then every sheet in order, zipped into the file's bytes.
    pub(super) fn finish(self) -> Result<Vec<u8>, ExportError> {
        let Self {
            head,
            mut workbook,
            formats,
            summary,
            sections,
            answers,
            answer_columns,
            about_name,
            ..
        } = self;
        let about = about_sheet(head, &about_name, &answer_columns, &formats.header)?;
        workbook.push_worksheet(summary);
        for mut section in sections {
            for (c, width) in section.widths.iter().enumerate() {
                // About as wide as the widest text (numbers are short), as autofit would.
                let width = (*width as f64 * 1.1 + 2.0).clamp(8.0, 60.0);
                section.sheet.set_column_width(column(c), width)?;
            }
            workbook.push_worksheet(section.sheet);
        }
        workbook.push_worksheet(answers);
        workbook.push_worksheet(about);
        // Zipped into a temporary file, then read back whole at its size: a buffer grown while
        // zipping would double its capacity (and copy) as it goes.
        let mut file = std::io::BufWriter::new(tempfile::tempfile()?);
        workbook.save_to_writer(&mut file)?;
        let mut file = file
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        let size = file.seek(std::io::SeekFrom::End(0))?;
        file.rewind()?;
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

/// Records that column `c` holds a text of `chars` characters.
fn widen(widths: &mut [usize], c: usize, chars: usize) {
    if let Some(width) = widths.get_mut(c) {
        *width = (*width).max(chars);
    }
}

/// About: what the file is and what each column means.
fn about_sheet(
    head: ReportHead<'_>,
    name: &str,
    columns: &[&str],
    header: &Format,
) -> Result<Worksheet, ExportError> {
    let stamp = head.stamp;
    let lang = head.lang;
    let tr = lang.tr();
    let label = |key: &str| tr.t_static(&format!("export.label.{key}"));
    let mut sheet = Worksheet::new();
    sheet.set_name(name)?;
    let facts = [
        (label("cycle"), stamp.cycle_code.as_str()),
        (label("framework_version"), stamp.framework_version.as_str()),
        (label("generated_at"), stamp.generated_at.as_str()),
        (label("audit_head"), stamp.audit_head.as_str()),
        (label("roll_up"), head.report.roll_up.as_str()),
        (label("language"), lang.code()),
    ];
    for (i, (name, value)) in facts.iter().enumerate() {
        let r = u32::try_from(i).unwrap_or(u32::MAX);
        sheet.write_string_with_format(r, 0, *name, header)?;
        sheet.write_string(r, 1, *value)?;
    }
    let mut r = u32::try_from(facts.len()).unwrap_or(u32::MAX) + 1;
    for (c, title) in ["participant", "snapshot_revision", "snapshot_digest"]
        .map(label)
        .iter()
        .enumerate()
    {
        sheet.write_string_with_format(r, column(c), *title, header)?;
    }
    for snapshot in &stamp.snapshots {
        r += 1;
        sheet.write_string(r, 0, &snapshot.participant_code)?;
        sheet.write_number(r, 1, f64::from(snapshot.revision))?;
        sheet.write_string(r, 2, &snapshot.digest)?;
    }
    r += 2;
    sheet.write_string_with_format(r, 0, label("answers_column"), header)?;
    sheet.write_string_with_format(r, 1, label("meaning"), header)?;
    for ((name, _), title) in FIELDS.iter().zip(columns) {
        r += 1;
        sheet.write_string(r, 0, *title)?;
        sheet.write_string(r, 1, tr.t_static(&format!("export.dict.rows[].{name}")))?;
    }
    sheet.autofit();
    Ok(sheet)
}

/// The participant's name in `lang`.
fn name(lang: Lang, row: &crate::domain::report::comparison::ComparisonRow) -> &str {
    match lang {
        Lang::Fr if !row.participant_name_fr.is_empty() => &row.participant_name_fr,
        _ => &row.participant_name_en,
    }
}

fn write_header(sheet: &mut Worksheet, columns: &[&str], format: &Format) -> Result<(), XlsxError> {
    for (c, title) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, column(c), *title, format)?;
    }
    Ok(())
}

/// A figure as a spreadsheet number. XLSX stores numbers as binary doubles; a figure as shown
/// (at most 15 significant digits) is written and read back with the same decimal digits.
fn cell_number(value: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    value.to_f64().unwrap_or_default()
}

/// A number format showing `decimals` decimals (`0`, `0.0`, `0.000`…).
fn decimals_format(decimals: u32) -> Format {
    let zeros = "0".repeat(usize::try_from(decimals).unwrap_or(0));
    Format::new().set_num_format(if zeros.is_empty() {
        "0".to_owned()
    } else {
        format!("0.{zeros}")
    })
}

/// The sheet row of data row `index` (row 0 is the header).
fn row_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

fn column(index: usize) -> u16 {
    u16::try_from(index).unwrap_or(u16::MAX)
}

/// A valid, unused sheet name: Excel forbids `[]:*?/\`, limits names to 31 characters and
/// compares them without case.
fn unique_name(wanted: &str, used: &mut HashSet<String>) -> String {
    let clean: String = wanted
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(SHEET_NAME_MAX)
        .collect();
    let clean = if clean.trim().is_empty() {
        "Sheet".to_owned()
    } else {
        clean
    };
    let mut name = clean.clone();
    let mut n = 2;
    while !used.insert(name.to_lowercase()) {
        let suffix = format!(" ({n})");
        let base: String = clean.chars().take(SHEET_NAME_MAX - suffix.len()).collect();
        name = format!("{base}{suffix}");
        n += 1;
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut used = HashSet::new();
        assert_eq!(unique_name("Summary", &mut used), "Summary");
        assert_eq!(unique_name("summary", &mut used), "summary (2)");
        assert_eq!(unique_name("A/B:C", &mut used), "A_B_C");
        let long = "x".repeat(40);
        assert_eq!(unique_name(&long, &mut used).chars().count(), 31);
        assert_eq!(unique_name(&long, &mut used).chars().count(), 31);
    }
}
