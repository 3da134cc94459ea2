//! Writes the offline form: a "Form" sheet (one row per goal; the codes, titles and guidance
//! locked, the answer columns open with drop-down lists or range checks) and an "About" sheet
//! naming the assessment, the export and how to fill the form in.

use rust_xlsxwriter::{
    DataValidation, DataValidationRule, Format, FormatAlign, Workbook, Worksheet, XlsxError,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{ABOUT_SHEET_KEY, Column, FORM_SHEET_KEY, yes_no_words};
use crate::domain::answer::{AnswerInput, IMPLEMENTATION_STATUSES};
use crate::domain::framework::{AnswerScale, Goal, Section};
use crate::presentation::i18n::{Lang, Tr};

/// Where the About sheet keeps the assessment's id (row 2, column B), for the reader.
pub const ABOUT_ID_CELL: (u32, u16) = (1, 1);

/// What the About sheet says.
pub struct FormHeader<'a> {
    pub lang: Lang,
    pub assessment_id: Uuid,
    pub participant: &'a str,
    pub cycle_code: &'a str,
    pub framework: &'a str,
    pub exported_at: OffsetDateTime,
    pub exported_by: &'a str,
}

/// One goal's row.
pub struct FormRow<'a> {
    pub section: &'a Section,
    pub goal: &'a Goal,
    /// The answer as stored (all empty when there is none).
    pub answer: AnswerInput,
    /// The answer's row version (0 when there is none): the import's conflict check.
    pub row_version: i64,
    /// [`super::fingerprint`] of the answer, to tell rows changed offline from the rest.
    pub fingerprint: String,
    /// Carried forward from the last cycle and not yet confirmed: the Confirm cell says no.
    pub unconfirmed: bool,
}

/// Excel's limits on a validation's input message and title (UTF-16 units).
const INPUT_MESSAGE_MAX: usize = 250;
const INPUT_TITLE_MAX: usize = 30;

pub fn write(header: &FormHeader<'_>, rows: &[FormRow<'_>]) -> Result<Vec<u8>, XlsxError> {
    let tr = header.lang.tr();
    let lang = header.lang.code();
    let mut workbook = Workbook::new();
    let heading = Format::new()
        .set_bold()
        .set_background_color("#D9E2F3")
        .set_text_wrap()
        .set_align(FormatAlign::Top);
    let locked = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    let open = Format::new()
        .set_unlocked()
        .set_text_wrap()
        .set_align(FormatAlign::Top)
        .set_background_color("#FFF9E5");

    let sheet = workbook.add_worksheet();
    sheet.set_name(tr.t_static(FORM_SHEET_KEY))?;
    for column in Column::ALL {
        sheet.write_string_with_format(0, column.index(), tr.t(column.header_key()), &heading)?;
        let width = match column {
            Column::Goal | Column::Section | Column::Version => 10.0,
            Column::Title | Column::Guidance | Column::Justification => 40.0,
            Column::Narrative => 60.0,
            _ => 16.0,
        };
        let format = if column.editable() { &open } else { &locked };
        sheet.set_column_width(column.index(), width)?;
        sheet.set_column_format(column.index(), format)?;
    }
    sheet.set_column_hidden(Column::Check.index())?;

    let [yes, no] = yes_no_words(header.lang);
    let statuses: Vec<&str> = IMPLEMENTATION_STATUSES
        .iter()
        .map(|code| tr.t_static(&format!("implementation_status.{code}")))
        .collect();
    let not_allowed = |rule: DataValidation| -> Result<DataValidation, XlsxError> {
        rule.set_error_title(truncate(tr.t("offline.validation.title"), INPUT_TITLE_MAX))?
            .set_error_message(tr.t("offline.validation.message"))
    };
    let yes_no_rule = not_allowed(DataValidation::new().allow_list_strings(&[yes, no])?)?;
    let status_rule = not_allowed(DataValidation::new().allow_list_strings(&statuses)?)?;

    for (index, row) in rows.iter().enumerate() {
        let r = u32::try_from(index + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
        let guidance = guidance(&tr, lang, row.goal);
        let cell = |column: Column| (r, column.index());
        write_text(sheet, cell(Column::Goal), &row.goal.code, &locked)?;
        write_text(sheet, cell(Column::Section), &row.section.code, &locked)?;
        write_text(
            sheet,
            cell(Column::Title),
            row.goal.title.get(lang),
            &locked,
        )?;
        write_text(sheet, cell(Column::Guidance), &guidance, &locked)?;
        write_value(
            sheet,
            cell(Column::Value),
            &row.goal.scale,
            &row.answer.value,
            header.lang,
            &open,
        )?;
        if row.answer.not_applicable {
            write_text(sheet, cell(Column::NotApplicable), yes, &open)?;
        }
        write_text(
            sheet,
            cell(Column::Justification),
            &row.answer.na_justification,
            &open,
        )?;
        write_value(
            sheet,
            cell(Column::Target),
            &row.goal.scale,
            &row.answer.target,
            header.lang,
            &open,
        )?;
        if !row.answer.implementation_status.is_empty() {
            let label = tr.t_static(&format!(
                "implementation_status.{}",
                row.answer.implementation_status
            ));
            write_text(sheet, cell(Column::Status), label, &open)?;
        }
        write_text(sheet, cell(Column::Narrative), &row.answer.narrative, &open)?;
        if row.unconfirmed {
            write_text(sheet, cell(Column::Confirm), no, &open)?;
        }
        sheet.write_number_with_format(
            r,
            Column::Version.index(),
            row.row_version as f64,
            &locked,
        )?;
        write_text(sheet, cell(Column::Check), &row.fingerprint, &locked)?;

        let value_rule = not_allowed(scale_rule(&row.goal.scale, [yes, no])?)?
            .set_input_title(truncate(&row.goal.code, INPUT_TITLE_MAX))?
            .set_input_message(truncate(&guidance, INPUT_MESSAGE_MAX))?;
        for column in [Column::Value, Column::Target] {
            sheet.add_data_validation(r, column.index(), r, column.index(), &value_rule)?;
        }
    }
    if let Some(last) = u32::try_from(rows.len()).ok().filter(|n| *n > 0) {
        let (na, status) = (Column::NotApplicable.index(), Column::Status.index());
        let confirm = Column::Confirm.index();
        sheet.add_data_validation(1, na, last, na, &yes_no_rule)?;
        sheet.add_data_validation(1, confirm, last, confirm, &yes_no_rule)?;
        sheet.add_data_validation(1, status, last, status, &status_rule)?;
    }
    sheet.set_freeze_panes(1, Column::Title.index() + 1)?;
    sheet.protect();

    let about = workbook.add_worksheet();
    about.set_name(tr.t_static(ABOUT_SHEET_KEY))?;
    let bold = Format::new().set_bold();
    about.write_string_with_format(0, 0, tr.t("offline.about.title"), &bold)?;
    let exported_at = header
        .exported_at
        .format(&Rfc3339)
        .unwrap_or_else(|_| header.exported_at.to_string());
    let facts = [
        ("offline.about.assessment", header.assessment_id.to_string()),
        ("offline.about.participant", header.participant.to_owned()),
        ("offline.about.cycle", header.cycle_code.to_owned()),
        ("offline.about.framework", header.framework.to_owned()),
        ("offline.about.exported_at", exported_at),
        ("offline.about.exported_by", header.exported_by.to_owned()),
    ];
    for (offset, (key, value)) in facts.iter().enumerate() {
        let r = ABOUT_ID_CELL.0 + u32::try_from(offset).unwrap_or(0);
        about.write_string_with_format(r, 0, tr.t(key), &bold)?;
        about.write_string(r, ABOUT_ID_CELL.1, value)?;
    }
    let first = ABOUT_ID_CELL.0 + 8;
    for (offset, key) in [
        "offline.about.step1",
        "offline.about.step2",
        "offline.about.step3",
        "offline.about.step4",
        "offline.about.step5",
        "offline.about.step6",
    ]
    .iter()
    .enumerate()
    {
        let r = first + u32::try_from(offset).unwrap_or(0);
        about.write_string(r, 0, tr.t(key))?;
    }
    about.set_column_width(0, 28.0)?;
    about.set_column_width(1, 60.0)?;
    about.protect();

    workbook.save_to_buffer()
}

/// The allowed values and the goal's own guidance, as one text.
fn guidance(tr: &Tr, lang: &str, goal: &Goal) -> String {
    let allowed = match &goal.scale {
        AnswerScale::Maturity { levels } => {
            let levels: Vec<String> = levels
                .iter()
                .map(|level| format!("{} — {}", level.level, level.name.get(lang)))
                .collect();
            format!("{} {}", tr.t("offline.guide.levels"), levels.join("; "))
        }
        AnswerScale::Numeric {
            min,
            max,
            unit,
            decimals,
        } => tr.fmt(
            "offline.guide.number",
            &[
                ("min", &min.to_string()),
                ("max", &max.to_string()),
                ("unit", unit),
                ("decimals", &decimals.to_string()),
            ],
        ),
        AnswerScale::YesNo {} => {
            let [yes, no] = yes_no_words(tr.lang());
            tr.fmt("offline.guide.yes_no", &[("yes", yes), ("no", no)])
        }
    };
    let own = goal.guidance.get(lang).trim();
    if own.is_empty() {
        allowed
    } else {
        format!("{allowed}\n\n{own}")
    }
}

/// The check a value cell gets: a list of levels, a number range, or yes/no.
fn scale_rule(scale: &AnswerScale, yes_no: [&str; 2]) -> Result<DataValidation, XlsxError> {
    match scale {
        AnswerScale::Maturity { levels } => {
            let levels: Vec<String> = levels.iter().map(|l| l.level.to_string()).collect();
            DataValidation::new().allow_list_strings(&levels)
        }
        AnswerScale::Numeric { min, max, .. } => {
            // The spreadsheet's own check works on its numbers (binary doubles); the answer is
            // checked exactly again when the form is read back.
            use rust_decimal::prelude::ToPrimitive;
            let (min, max) = (min.to_f64().unwrap_or(0.0), max.to_f64().unwrap_or(0.0));
            Ok(DataValidation::new().allow_decimal_number(DataValidationRule::Between(min, max)))
        }
        AnswerScale::YesNo {} => DataValidation::new().allow_list_strings(&yes_no),
    }
}

/// A stored value as a cell: a number cell for levels and numbers, a word for yes/no.
fn write_value(
    sheet: &mut Worksheet,
    (row, column): (u32, u16),
    scale: &AnswerScale,
    text: &str,
    lang: Lang,
    format: &Format,
) -> Result<(), XlsxError> {
    if text.is_empty() {
        return Ok(());
    }
    use rust_decimal::prelude::ToPrimitive;
    let number = text
        .parse::<crate::domain::scoring::Decimal>()
        .ok()
        .and_then(|n| n.to_f64())
        .ok_or(());
    match (scale, number) {
        (AnswerScale::YesNo {}, _) => {
            let [yes, no] = yes_no_words(lang);
            let word = if text == "yes" { yes } else { no };
            sheet.write_string_with_format(row, column, word, format)?;
        }
        (_, Ok(number)) => {
            sheet.write_number_with_format(row, column, number, format)?;
        }
        (_, Err(_)) => {
            sheet.write_string_with_format(row, column, text, format)?;
        }
    }
    Ok(())
}

fn write_text(
    sheet: &mut Worksheet,
    (row, column): (u32, u16),
    text: &str,
    format: &Format,
) -> Result<(), XlsxError> {
    if !text.is_empty() {
        sheet.write_string_with_format(row, column, text, format)?;
    }
    Ok(())
}

/// At most `max` UTF-16 units (how Excel counts), cut with an ellipsis.
fn truncate(text: &str, max: usize) -> String {
    if text.encode_utf16().count() <= max {
        return text.to_owned();
    }
    let mut used = 1; // the ellipsis
    let mut cut: String = text
        .chars()
        .take_while(|c| {
            used += c.len_utf16();
            used <= max
        })
        .collect();
    cut.push('…');
    cut
}
