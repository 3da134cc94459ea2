//! The XLSX workbook: "Summary" (participants × sections, overall, rank), one sheet per section
//! (participants × goal scores), "Answers" (the tidy table) and "About" (the stamp and the data
//! dictionary). Figures are number cells; headers are bold and frozen; widths fit the content.

use std::collections::{HashMap, HashSet};

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::{ExportError, ReportContent};
use crate::domain::report::export::{Cell, FIELDS, cells};
use crate::domain::scoring::{Decimal, shown_decimals};
use crate::presentation::i18n::Lang;

/// Excel's limit on sheet names.
const SHEET_NAME_MAX: usize = 31;

pub fn write(content: &ReportContent<'_>) -> Result<Vec<u8>, ExportError> {
    let mut workbook = Workbook::new();
    let header = Format::new().set_bold().set_background_color("#D9E2F3");
    // Cell values are the figures as shown (rounded once by the method); the formats show them
    // with their decimals (0.890, not 0.89).
    let score = |max: Decimal| {
        Format::new().set_num_format(if shown_decimals(max) == 3 {
            "0.000"
        } else {
            "0.00"
        })
    };
    let percent = Format::new().set_num_format("0%");
    let report = content.report;
    let lang = content.lang;
    let tr = lang.tr();
    let label = |key: &str| tr.t_static(&format!("export.label.{key}"));
    let mut used_names = HashSet::new();

    // Summary.
    let sheet = workbook.add_worksheet();
    sheet.set_name(unique_name(
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
    write_header(sheet, &columns, &header)?;
    let overall_format = score(report.overall_max_score);
    for (index, row) in report.rows.iter().enumerate() {
        let r = row_number(index);
        if let Some(rank) = row.rank {
            sheet.write_number(r, 0, f64::from(rank))?;
        }
        sheet.write_string(r, 1, &row.participant_code)?;
        sheet.write_string(r, 2, name(lang, row))?;
        sheet.write_string(r, 3, &row.assessment_state)?;
        if let Some(value) = row.overall.score {
            sheet.write_number_with_format(r, 4, cell_number(value), &overall_format)?;
        }
        sheet.write_boolean(r, 5, row.overall.complete)?;
        if let Some(value) = row.overall.completion {
            sheet.write_number_with_format(r, 6, cell_number(value), &percent)?;
        }
        for (offset, (figure, section)) in row.sections.iter().zip(&report.sections).enumerate() {
            if let Some(value) = figure.score {
                sheet.write_number_with_format(
                    r,
                    column(7 + offset),
                    cell_number(value),
                    &score(section.max_score),
                )?;
            }
        }
    }
    sheet.set_freeze_panes(1, 3)?;
    sheet.autofit();

    // One sheet per section: each participant's goal scores.
    let goal_scores: HashMap<(&str, &str), Option<Decimal>> = content
        .rows
        .iter()
        .map(|r| {
            (
                (r.participant_code.as_str(), r.goal_code.as_str()),
                r.goal_score,
            )
        })
        .collect();
    for (index, section) in content.shape.sections.iter().enumerate() {
        let goals: Vec<&str> = content
            .shape
            .goals
            .iter()
            .filter(|g| g.section == index)
            .map(|g| g.code.as_str())
            .collect();
        let sheet = workbook.add_worksheet();
        sheet.set_name(unique_name(&section.code, &mut used_names))?;
        let mut columns = ["code", "participant", "section_score", "complete"]
            .map(label)
            .to_vec();
        columns.extend(goals.iter().copied());
        write_header(sheet, &columns, &header)?;
        let section_format = score(section.max_score);
        let unit = score(Decimal::ONE);
        for (i, row) in report.rows.iter().enumerate() {
            let r = row_number(i);
            sheet.write_string(r, 0, &row.participant_code)?;
            sheet.write_string(r, 1, name(lang, row))?;
            if let Some(figure) = row.sections.get(index) {
                if let Some(value) = figure.score {
                    sheet.write_number_with_format(r, 2, cell_number(value), &section_format)?;
                }
                sheet.write_boolean(r, 3, figure.complete)?;
            }
            for (offset, goal) in goals.iter().enumerate() {
                if let Some(Some(value)) = goal_scores.get(&(row.participant_code.as_str(), *goal))
                {
                    sheet.write_number_with_format(
                        r,
                        column(4 + offset),
                        cell_number(*value),
                        &unit,
                    )?;
                }
            }
        }
        sheet.set_freeze_panes(1, 2)?;
        sheet.autofit();
    }

    // The tidy table: one row per participant × goal (300,000 at the stress scale). Written in
    // constant-memory mode (each row goes to a temporary file once the next begins), which took
    // the stress export's peak memory from 1.27 GB to the size of the other sheets; such a
    // sheet cannot be autofitted, so its widths are set for its content's usual lengths.
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    sheet.set_name(unique_name(
        tr.t_static("export.sheet.answers"),
        &mut used_names,
    ))?;
    let mut columns = super::csv::column_titles(lang);
    columns.truncate(FIELDS.len());
    for (c, ((name, _), title)) in FIELDS.iter().zip(&columns).enumerate() {
        let width = match *name {
            "participant_name" | "goal_title" => 36.0,
            "snapshot_digest" => 66.0,
            _ => (title.chars().count() as f64 + 2.0).max(10.0),
        };
        sheet.set_column_width(column(c), width)?;
    }
    write_header(sheet, &columns, &header)?;
    // Each row's cells come from its one serde definition (as in the CSV and JSON); numbers
    // are number cells, formatted with the decimals their text has.
    let mut formats: HashMap<u32, Format> = HashMap::new();
    for (i, row) in content.rows.iter().enumerate() {
        let r = row_number(i);
        for (c, cell) in cells(row)?.into_iter().enumerate() {
            let c = column(c);
            match cell {
                Cell::Empty => {}
                Cell::Text(text) => match text.parse::<Decimal>() {
                    // A value column holding a number (the answer on a numeric scale).
                    Ok(number) if FIELDS.get(usize::from(c)).is_some_and(|f| f.0 == "value") => {
                        let format = formats
                            .entry(number.scale())
                            .or_insert_with(|| decimals_format(number.scale()));
                        sheet.write_number_with_format(r, c, cell_number(number), format)?;
                    }
                    _ => {
                        sheet.write_string(r, c, &text)?;
                    }
                },
                Cell::Number(number) => {
                    let format = formats
                        .entry(number.scale())
                        .or_insert_with(|| decimals_format(number.scale()));
                    sheet.write_number_with_format(r, c, cell_number(number), format)?;
                }
                Cell::Bool(yes) => {
                    sheet.write_boolean(r, c, yes)?;
                }
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;

    // About: what the file is and what each column means.
    let stamp = content.stamp;
    let sheet = workbook.add_worksheet();
    sheet.set_name(unique_name(
        tr.t_static("export.sheet.about"),
        &mut used_names,
    ))?;
    let facts = [
        (label("cycle"), stamp.cycle_code.as_str()),
        (label("framework_version"), stamp.framework_version.as_str()),
        (label("generated_at"), stamp.generated_at.as_str()),
        (label("audit_head"), stamp.audit_head.as_str()),
        (label("roll_up"), report.roll_up.as_str()),
        (label("language"), lang.code()),
    ];
    for (i, (name, value)) in facts.iter().enumerate() {
        let r = u32::try_from(i).unwrap_or(u32::MAX);
        sheet.write_string_with_format(r, 0, *name, &header)?;
        sheet.write_string(r, 1, *value)?;
    }
    let mut r = u32::try_from(facts.len()).unwrap_or(u32::MAX) + 1;
    for (c, title) in ["participant", "snapshot_revision", "snapshot_digest"]
        .map(label)
        .iter()
        .enumerate()
    {
        sheet.write_string_with_format(r, column(c), *title, &header)?;
    }
    for snapshot in &stamp.snapshots {
        r += 1;
        sheet.write_string(r, 0, &snapshot.participant_code)?;
        sheet.write_number(r, 1, f64::from(snapshot.revision))?;
        sheet.write_string(r, 2, &snapshot.digest)?;
    }
    r += 2;
    sheet.write_string_with_format(r, 0, label("answers_column"), &header)?;
    sheet.write_string_with_format(r, 1, label("meaning"), &header)?;
    for ((name, _), title) in FIELDS.iter().zip(&columns) {
        r += 1;
        sheet.write_string(r, 0, *title)?;
        sheet.write_string(r, 1, tr.t_static(&format!("export.dict.rows[].{name}")))?;
    }
    sheet.autofit();

    Ok(workbook.save_to_buffer()?)
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
