//! The offline round trip: a delegation downloads its form as an XLSX workbook, fills it in
//! without network access and uploads it back.
//!
//! - [`workbook`] writes the form: one row per goal, drop-down lists of the allowed values,
//!   guidance beside each goal, the row version each answer had and a fingerprint of it.
//! - [`archive`] checks an upload as an archive before anything parses it.
//! - [`reader`] reads an uploaded file back, cell by cell, refusing anything that is not the
//!   form (not an XLSX, wrong sheet, moved or extra columns, oversized archives).
//! - [`plan`] checks every cell against the goal's scale and decides, row by row, whether the
//!   answer is unchanged, to be written, or in conflict with a change made on the server since
//!   the export. Any problem refuses the whole file.
//!
//! Sheet names and headers are written in the exporter's language; the reader accepts either
//! language, so a form exported in French can be imported by a colleague reading English.

pub mod archive;
pub mod plan;
pub mod reader;
pub mod workbook;

use sha2::{Digest, Sha256};

use crate::domain::answer::{CheckedAnswer, IMPLEMENTATION_STATUSES, value_text};
use crate::domain::problem::Problem;
use crate::domain::scoring::AnswerState;
use crate::presentation::i18n::Lang;

/// The columns of the form sheet, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Goal,
    Section,
    Title,
    Guidance,
    Value,
    NotApplicable,
    Justification,
    Target,
    Status,
    Narrative,
    Confirm,
    Version,
    Check,
}

impl Column {
    pub const ALL: [Column; 13] = [
        Column::Goal,
        Column::Section,
        Column::Title,
        Column::Guidance,
        Column::Value,
        Column::NotApplicable,
        Column::Justification,
        Column::Target,
        Column::Status,
        Column::Narrative,
        Column::Confirm,
        Column::Version,
        Column::Check,
    ];

    /// Zero-based position.
    pub fn index(self) -> u16 {
        Column::ALL
            .iter()
            .position(|c| *c == self)
            .and_then(|i| u16::try_from(i).ok())
            .unwrap_or(0)
    }

    /// Catalogue key of the header.
    pub fn header_key(self) -> &'static str {
        match self {
            Column::Goal => "offline.column.goal",
            Column::Section => "offline.column.section",
            Column::Title => "offline.column.title",
            Column::Guidance => "offline.column.guidance",
            Column::Value => "offline.column.value",
            Column::NotApplicable => "offline.column.not_applicable",
            Column::Justification => "offline.column.justification",
            Column::Target => "offline.column.target",
            Column::Status => "offline.column.status",
            Column::Narrative => "offline.column.narrative",
            Column::Confirm => "offline.column.confirm",
            Column::Version => "offline.column.version",
            Column::Check => "offline.column.check",
        }
    }

    /// Whether the delegation fills this column in (the others are locked).
    pub fn editable(self) -> bool {
        matches!(
            self,
            Column::Value
                | Column::NotApplicable
                | Column::Justification
                | Column::Target
                | Column::Status
                | Column::Narrative
                | Column::Confirm
        )
    }

    /// The column an answer field's problem belongs to.
    pub fn for_field(field: &str) -> Column {
        match field {
            "value" => Column::Value,
            "not_applicable" => Column::NotApplicable,
            "na_justification" => Column::Justification,
            "target" => Column::Target,
            "implementation_status" => Column::Status,
            "narrative" => Column::Narrative,
            _ => Column::Goal,
        }
    }
}

/// Catalogue keys of the two sheets' names.
pub const FORM_SHEET_KEY: &str = "offline.sheet.form";
pub const ABOUT_SHEET_KEY: &str = "offline.sheet.about";

/// A sheet's name in every language, to recognise it whichever language wrote it.
pub fn sheet_names(key: &str) -> Vec<&'static str> {
    Lang::ALL
        .iter()
        .map(|lang| lang.tr().t_static(key))
        .collect()
}

/// The spreadsheet's name for a zero-based column: A … Z, AA …
pub fn column_letters(index: u32) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + u8::try_from(rem).unwrap_or(0)));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// `Sheet!E7` for a zero-based row and column.
pub fn cell_ref(sheet: &str, row: u32, column: u32) -> String {
    format!("{sheet}!{}{}", column_letters(column), row + 1)
}

/// A place in the file, split for people: sheet, row and column (as the spreadsheet names them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub sheet: String,
    pub row: Option<u32>,
    pub column: Option<String>,
}

/// Splits a problem's path (`Form!E7`, `Form!E`, `Form` or `file`) into its place.
pub fn place(path: &str) -> Place {
    let Some((sheet, cell)) = path.split_once('!') else {
        return Place {
            sheet: path.to_owned(),
            row: None,
            column: None,
        };
    };
    let letters: String = cell.chars().take_while(char::is_ascii_alphabetic).collect();
    let row = cell[letters.len()..].parse().ok();
    Place {
        sheet: sheet.to_owned(),
        row,
        column: (!letters.is_empty()).then_some(letters),
    }
}

/// The words for yes and no in the form, by language.
pub fn yes_no_words(lang: Lang) -> [&'static str; 2] {
    let tr = lang.tr();
    [tr.t_static("offline.yes"), tr.t_static("offline.no")]
}

/// Reads a yes/no cell: empty is no; yes, no, true, false, 1, 0 in either language.
pub fn parse_yes_no(text: &str) -> Option<bool> {
    let text = text.trim().to_lowercase();
    if text.is_empty() {
        return Some(false);
    }
    let yes = Lang::ALL.iter().any(|lang| yes_no_words(*lang)[0] == text);
    let no = Lang::ALL.iter().any(|lang| yes_no_words(*lang)[1] == text);
    match text.as_str() {
        _ if yes => Some(true),
        _ if no => Some(false),
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// The implementation status a cell names: its code or its label in either language.
pub fn parse_status(text: &str) -> Option<&'static str> {
    let text = text.trim().to_lowercase();
    if text.is_empty() {
        return Some("");
    }
    IMPLEMENTATION_STATUSES
        .iter()
        .find(|code| {
            **code == text
                || Lang::ALL.iter().any(|lang| {
                    lang.tr()
                        .t_static(&format!("implementation_status.{code}"))
                        .to_lowercase()
                        == text
                })
        })
        .copied()
}

/// A short digest of an answer as checked, written beside each row at export. On import, a row
/// whose answer still has this fingerprint was not changed offline and is left alone, whatever
/// happened on the server since.
pub fn fingerprint(answer: &CheckedAnswer) -> String {
    let value = match answer.state {
        AnswerState::Answered(value) => value_text(Some(value)),
        AnswerState::NotApplicable => "n/a".to_owned(),
        AnswerState::Missing => String::new(),
    };
    let canonical = [
        value.as_str(),
        answer.na_justification.as_deref().unwrap_or_default(),
        &value_text(answer.target),
        answer.implementation_status.unwrap_or_default(),
        &answer.narrative,
    ]
    .join("\u{1f}");
    hex::encode(&Sha256::digest(canonical.as_bytes())[..8])
}

/// Most problems one refusal lists; a file with more gets one last line saying so.
pub const MAX_PROBLEMS: usize = 200;

/// Adds a problem unless the list is full.
pub(crate) fn push_problem(problems: &mut Vec<Problem>, problem: Problem) {
    if problems.len() < MAX_PROBLEMS {
        problems.push(problem);
    } else if problems.len() == MAX_PROBLEMS {
        problems.push(Problem::new("file", "offline.problem.too_many_problems"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::answer::AnswerInput;
    use crate::domain::framework::AnswerScale;

    #[test]
    fn columns_are_named_as_spreadsheets_name_them() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(11), "L");
        assert_eq!(Column::Check.index(), 12);
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
        assert_eq!(cell_ref("Form", 6, 4), "Form!E7");
        assert_eq!(Column::Narrative.index(), 9);
    }

    #[test]
    fn places_split_into_sheet_row_and_column() {
        assert_eq!(
            place("Form!AB12"),
            Place {
                sheet: "Form".into(),
                row: Some(12),
                column: Some("AB".into())
            }
        );
        assert_eq!(
            place("Form!M"),
            Place {
                sheet: "Form".into(),
                row: None,
                column: Some("M".into())
            }
        );
        assert_eq!(place("file").row, None);
    }

    #[test]
    fn yes_no_and_statuses_are_read_in_either_language() {
        assert_eq!(parse_yes_no("Oui"), Some(true));
        assert_eq!(parse_yes_no(" yes "), Some(true));
        assert_eq!(parse_yes_no("non"), Some(false));
        assert_eq!(parse_yes_no(""), Some(false));
        assert_eq!(parse_yes_no("maybe"), None);
        assert_eq!(parse_status("in_progress"), Some("in_progress"));
        assert_eq!(parse_status("In progress"), Some("in_progress"));
        assert_eq!(parse_status("En cours"), Some("in_progress"));
        assert_eq!(parse_status(""), Some(""));
        assert_eq!(parse_status("soon"), None);
    }

    #[test]
    fn a_fingerprint_follows_the_answer_not_its_spelling() {
        let scale = AnswerScale::Numeric {
            min: "0.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
            max: "100.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
            unit: "%".into(),
            decimals: 1,
        };
        let typed = |value: &str, narrative: &str| {
            AnswerInput {
                value: value.into(),
                narrative: narrative.into(),
                ..AnswerInput::default()
            }
            .check(&scale)
            .map(|checked| fingerprint(&checked))
        };
        assert_eq!(typed("12.5", "x"), typed("12,5", " x "));
        assert_ne!(typed("12.5", "x"), typed("12.4", "x"));
        assert_ne!(typed("12.5", "x"), typed("12.5", "y"));
        assert_eq!(
            fingerprint(&AnswerInput::default().check(&scale).unwrap()).len(),
            16
        );
    }
}
