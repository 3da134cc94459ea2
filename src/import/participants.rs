//! The participants file: one row per participant with `code`, `name_en`, `name_fr`, `kind`
//! (`ally` or `partner`, or their labels in either language) and `accession_date`
//! (`YYYY-MM-DD`, or a date cell in a workbook; required for an Ally). Headings in either
//! language, in this order. An existing code is updated (names, kind, accession date), a new
//! one added.

use std::collections::HashMap;

use time::Date;

use super::problem_at;
use super::table::Row;
use crate::domain::participant::ParticipantCode;
use crate::domain::problem::Problem;
use crate::offline::push_problem;
use crate::presentation::i18n::Lang;

/// The columns, in order.
pub const COLUMNS: [&str; 5] = ["code", "name_en", "name_fr", "kind", "accession_date"];

/// One participant as the file has it, checked.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ParticipantRow {
    pub code: String,
    pub name_en: String,
    pub name_fr: String,
    /// `ally` or `partner`.
    pub kind: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub accession_date: Option<Date>,
}

/// Checks the header row.
pub fn check_header(sheet: &str, header: &Row) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (column, name) in COLUMNS.iter().enumerate() {
        let key = format!("import.participants.column.{name}");
        let mut names: Vec<String> = Lang::ALL
            .iter()
            .map(|lang| lang.tr().t_static(&key).to_lowercase())
            .collect();
        names.push((*name).to_owned());
        if !names.contains(&header.text(column).to_lowercase()) {
            problems.push(problem_at(
                sheet,
                0,
                column,
                "offline.problem.header",
                Some(names.join(" / ")),
            ));
        }
    }
    for column in COLUMNS.len()..header.cells.len() {
        if !header.text(column).is_empty() {
            problems.push(problem_at(
                sheet,
                0,
                column,
                "import.problem.unknown_column",
                Some(COLUMNS.join(", ")),
            ));
        }
    }
    problems
}

fn kind(text: &str) -> Option<&'static str> {
    let text = text.trim().to_lowercase();
    ["ally", "partner"].into_iter().find(|kind| {
        *kind == text
            || Lang::ALL.iter().any(|lang| {
                lang.tr()
                    .t_static(&format!("participant_kind.{kind}"))
                    .to_lowercase()
                    == text
            })
    })
}

/// Reads the data rows, each checked; a code listed twice is refused at its second row.
#[derive(Default)]
pub struct Reader {
    pub rows: Vec<ParticipantRow>,
    seen: HashMap<String, u32>,
}

impl Reader {
    pub fn push(&mut self, sheet: &str, row: &Row, problems: &mut Vec<Problem>) {
        if row.unreadable {
            return;
        }
        let at = |column: usize, key: &'static str, detail: Option<String>| {
            problem_at(sheet, row.row, column, key, detail)
        };
        let before = problems.len();
        let code = match ParticipantCode::parse(row.text(0)) {
            Ok(code) => Some(code.as_str().to_owned()),
            Err(_) => {
                push_problem(problems, at(0, "field.participant_code.invalid", None));
                None
            }
        };
        if let Some(code) = &code
            && let Some(first) = self.seen.insert(code.clone(), row.row)
        {
            push_problem(
                problems,
                at(
                    0,
                    "import.problem.duplicate_row",
                    Some(format!("{code} ({})", first + 1)),
                ),
            );
        }
        let name_en = row.text(1).to_owned();
        if name_en.is_empty() || name_en.chars().count() > 200 {
            push_problem(problems, at(1, "field.name.required", None));
        }
        let name_fr = match row.text(2) {
            "" => name_en.clone(),
            fr => fr.to_owned(),
        };
        if name_fr.chars().count() > 200 {
            push_problem(problems, at(2, "field.name.required", None));
        }
        let kind = kind(row.text(3));
        if kind.is_none() {
            push_problem(
                problems,
                at(3, "import.problem.kind", Some(row.text(3).to_owned())),
            );
        }
        let date_text = row.text(4);
        let accession_date = if date_text.is_empty() {
            None
        } else {
            match Date::parse(
                date_text,
                &time::format_description::well_known::Iso8601::DATE,
            ) {
                Ok(date) => Some(date),
                Err(_) => {
                    push_problem(
                        problems,
                        at(4, "import.problem.date", Some(date_text.into())),
                    );
                    None
                }
            }
        };
        if kind == Some("ally") && accession_date.is_none() && date_text.is_empty() {
            push_problem(problems, at(4, "import.problem.ally_without_date", None));
        }
        if problems.len() == before
            && let (Some(code), Some(kind)) = (code, kind)
        {
            self.rows.push(ParticipantRow {
                code,
                name_en,
                name_fr,
                kind: kind.to_owned(),
                accession_date,
            });
        }
    }
}
