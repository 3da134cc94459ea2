//! The offline round trip: a delegation downloads its form as an XLSX workbook, fills it in
//! without network access and uploads it back.
//!
//! # The offline round trip
//!
//! A delegation on a network without access fills its assessment form in a spreadsheet: it downloads
//! the form as an XLSX workbook, fills it in, and uploads it back (`src/offline/`,
//! `services::offline`; pages in `src/web/pages/offline.rs` with `templates/offline.html`, API in
//! `src/web/api/offline.rs`). The task list links to the offline page while the goals are
//! editable.
//!
//! | action | page | API (`…` = `/api/v1`) |
//! |---|---|---|
//! | the offline page: the steps, the download and upload forms, the outcome of the last import | `GET /assessments/{assessment}/offline` | — |
//! | download the form | `POST /assessments/{assessment}/offline/form` (in the page's language) | `POST …/assessments/{assessment}/offline-form?lang=en\|fr` (without `lang`, `Accept-Language` decides) |
//! | import a filled-in form | `POST /assessments/{assessment}/offline/import` (multipart, field `file`; the CSRF token in the query string) | `POST …/assessments/{assessment}/offline-form/import` (multipart, field `file`) |
//!
//! Downloading is a POST because it writes the audit log: with a session cookie the API then needs the
//! `X-CSRF-Token` header. The file is an attachment named
//! `pledge-<cycle code>-<participant code>-form.xlsx`. A successful import answers `303` back to the
//! page with `?changed=n&unchanged=m`, which the page shows; the API answers 200
//! `{"changed": [goal codes], "unchanged": m}`.
//!
//! **Who.** `form_head`, `export_form` and `import_form` read the assessment under row-level security,
//! then check `EditParticipant` with its participant: the delegation's heads and contributors. Another
//! delegation's assessment is 404; admins, analysts and the delegation's viewers get 403. The page and
//! the download do not look at the state. An import is refused (API 409; on the page, the page again
//! with the message, 422) unless the assessment is `not_started`, `draft` or `returned` and the cycle
//! `open`.
//!
//! **The workbook** (`offline::workbook::write`, `rust_xlsxwriter`) has two sheets. Their names and
//! headings are in the exporter's language (`Form` and `About`, or `Formulaire` and `À propos`); the
//! reader accepts either language, so a form exported in French can be imported by a colleague who
//! reads English.
//!
//! - *Form*: a heading row, then one row per goal of the cycle's framework version, in the framework's
//!   order (`offline::Column`):
//!
//!   | column | holds | cell |
//!   |---|---|---|
//!   | A Goal | the goal's code | locked |
//!   | B Section | the section's code | locked |
//!   | C Goal title | the title | locked |
//!   | D Allowed values and guidance | the levels, the range or the yes/no words, then the goal's guidance | locked |
//!   | E Answer | the stored value: a number cell for a level or a number, a word for yes/no | open |
//!   | F Not applicable | yes or empty | open |
//!   | G Why not applicable | the justification | open |
//!   | H Target | on the goal's scale, like E | open |
//!   | I Implementation status | the status's label | open |
//!   | J Narrative | the narrative | open |
//!   | K Confirm carried-forward answer | `no` for an unconfirmed (carried-forward) answer, otherwise empty | open |
//!   | L Version (do not change) | the answer's `row_version` (0 when there is none) | locked |
//!   | M Check (do not change) | the answer's fingerprint (below); the column is hidden | locked |
//!
//!   The sheet is protected (without a password), so only the open columns, shaded, take input. The
//!   heading row and columns A–C are frozen. Data validation: E and H of each row take a list of the
//!   goal's levels, a decimal number between `min` and `max`, or the yes/no words, with the goal's code
//!   and guidance as the input message (cut to Excel's limits); F and K take the yes/no words; I takes
//!   the status labels. The spreadsheet refuses another value with a message. Every cell is written as
//!   a string or a number; no formula is written.
//! - *About* (protected): a title; the assessment's id in B2, then the participant, the cycle, the
//!   framework version, the time of export (UTC) and who exported it; then the six steps the offline
//!   page also shows.
//!
//! The fingerprint (`offline::fingerprint`) is the first 8 bytes, in hex, of the SHA-256 of the
//! answer as checked against the goal's scale (value, justification, target, status, narrative), so
//! `12,5` and `12.5` give the same one.
//!
//! **Reading the file** (`offline::reader::read`). The upload is held to 10 MiB
//! (`reader::MAX_FILE_BYTES`) while it is read (422 `fields.file`), and the service checks the size
//! again. Before any spreadsheet parsing, `offline::archive::check` checks the archive with the `zip` crate:
//!
//! - a file that is not a ZIP archive is refused;
//! - an archive with more than 1,000 entries, or whose entries inflate to more than 64 MiB in all, is
//!   refused. Each entry is inflated into a counter with that ceiling, so a small file that unpacks to
//!   gigabytes costs at most 64 MiB of inflating and no memory;
//! - the shared-strings part is read (within the ceiling) and scanned tag by tag, skipping comments,
//!   processing instructions and CDATA as an XML reader does. It is refused when its first `sst` tag's
//!   `uniqueCount` exceeds 100,000 (the spreadsheet reader reserves memory for that count) or when it
//!   holds more than 100,000 `si` tags (one string is kept for each, however empty).
//!
//! `calamine` then opens the workbook:
//!
//! - the form sheet is found by its name in either language, or the file is refused; the About sheet
//!   must be there, and its B2 must hold this assessment's id (`About!B2`, "exported for another
//!   assessment");
//! - the form sheet's cells are streamed one by one, with no grid built. Empty cells are skipped. A
//!   non-empty cell past row 5,000 stops reading with a problem. A non-blank cell right of column M is
//!   a problem, once per column, judged without copying its text. A cell with more than 32,767
//!   characters is refused before its text is copied, and reading stops once all cells together hold
//!   more than 16 MiB of text. A date or an error value (`#N/A`) is a problem at its cell, and its row
//!   is not checked further. Numbers are read at the 15 significant digits a spreadsheet shows
//!   (`=0.1+0.2` reads `0.3`), whole numbers without a decimal point; booleans read as yes/no;
//! - every heading in row 1 must be the form's, in either language (case is ignored): a moved or
//!   renamed column is refused at its heading.
//!
//! A file that is not this form (not an archive, too large unpacked, no form or About sheet, another
//! assessment's, wrong headings) is refused with those problems alone. Problems in cells are listed
//! together with those of the rows.
//!
//! Reading runs in `tokio::task::spawn_blocking`, off the async workers, with no transaction open, and
//! at most two files are read at once (a semaphore in `services::offline`). The permission and the
//! state are checked before the file is read. A reader that panics is logged, and
//! the file is refused as unreadable.
//!
//! **The plan** (`offline::plan::plan`) takes each non-empty row:
//!
//! - an unknown goal code, or a goal listed twice, is a problem at its A cell;
//! - the answer columns are read (yes/no words and statuses, as codes or labels, in either language)
//!   and checked with `AnswerInput::check`, as on the form: each problem at its cell; the version (L)
//!   must be a whole number, and Confirm (K) yes, no or empty;
//! - the row is **unchanged** when its answer's fingerprint equals the Check cell (not touched offline:
//!   the server's answer is kept, even when it is newer than the export), or when it is the same as the
//!   server's answer, checked against the scale (no row counts as an empty answer);
//! - Confirm `yes` on an answer that is unconfirmed on the server makes the row a change even when the
//!   answer is the same, so an offline delegation can confirm carried-forward answers and then submit;
//! - any other row is a **change**. It is written only when the server's `row_version` (0 when there is
//!   no row) equals the Version cell. Otherwise it is a **conflict**, placed at the row's A cell, with
//!   the goal's code, who saved the answer last and the date: download the form again.
//!
//! Any problem refuses the whole file: nothing is written. At most 200 problems are listed, then one
//! line saying there are more. Goals whose rows were deleted from the file are left as they are and
//! not reported.
//!
//! Problems are `domain::framework::document::Problem`, with a place as their path: `Form!E7` (a
//! cell), `Form` (the sheet), `About!B2`, or `file` (the whole file). The plan sorts them in reading
//! order: the whole file first, then by sheet, row and column. The page shows them in a table (Sheet,
//! Row, Column, Problem; "Whole file" for `file`) above the forms, with status 422. The API answers
//! 422 `invalid_input` with `fields` mapping each place to its message; several problems at one place
//! are joined with `; `.
//!
//! **Writing** (`services::offline::import_form`, one transaction in the caller's scope):
//!
//! 1. reads the assessment again and checks `EditParticipant`;
//! 2. locks the assessment row (`storage::answers::lock`) and checks the state and the cycle again
//!    (refused as above), so no submission or save slips in between;
//! 3. loads the framework version and locks every answer row of the assessment
//!    (`storage::answers::lock_all`, `FOR UPDATE`);
//! 4. makes the plan against those answers;
//! 5. when there are changes, writes them in one statement (`storage::answers::write_many`: `INSERT …
//!    SELECT … FROM unnest(…) ON CONFLICT (assessment_id, goal_id) DO UPDATE`; `row_version` + 1,
//!    `unconfirmed = false`, `updated_by`, `updated_at`), and records activity
//!    (`storage::answers::touch`: `last_activity_at`; `not_started` becomes `draft`);
//! 6. appends one `assessment.import` entry, also when nothing changed: the file's SHA-256, each
//!    changed goal with its `old` (`null` when the goal had no answer row) and `new` values as
//!    `answer.update` records them, and the number of unchanged rows;
//! 7. commits.
//!
//! **Exporting** (`services::offline::export_form`) reads the assessment, its framework version and its
//! answers in one transaction, writes the workbook in memory and appends `assessment.form_export`
//! (number of goals, bytes, language) in the same transaction.
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
