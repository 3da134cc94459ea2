//! The tidy answers file: its layout (the cycle report's CSV and "Answers" sheet), each row read
//! into a checked answer, and rows grouped by participant as they stream past.

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use super::table::Row;
use super::{Purpose, problem_at};
use crate::domain::answer::{AnswerInput, CheckedAnswer};
use crate::domain::framework::AnswerScale;
use crate::domain::problem::Problem;
use crate::domain::report::export::FIELDS;
use crate::offline::{parse_status, push_problem};
use crate::presentation::i18n::{Lang, catalogue_key};

/// Columns the import reads, by their place in [`FIELDS`]; the others (names, figures, ranks,
/// digests) are the export's and are computed again, so they are not read.
const PARTICIPANT: usize = 1;
const GOAL: usize = 7;
const STATE: usize = 10;
const VALUE: usize = 11;

/// Columns a file may add after the export's: what an answer holds beyond its value.
pub const EXTRAS: [&str; 4] = [
    "na_justification",
    "target",
    "implementation_status",
    "narrative",
];

/// Where each column is.
#[derive(Debug, Clone)]
pub struct Layout {
    pub sheet: String,
    /// The column of each of [`EXTRAS`], when the file has it.
    pub extras: [Option<usize>; 4],
    pub generated_at: Option<usize>,
}

impl Layout {
    fn extra(&self, index: usize, row: &Row) -> String {
        self.extras[index]
            .map(|column| row.text(column).to_owned())
            .unwrap_or_default()
    }
}

/// Names a column heading may have, in every language, lower-case.
fn titles(key: &str, name: &str) -> Vec<String> {
    let mut names: Vec<String> = Lang::ALL
        .iter()
        .map(|lang| lang.tr().t_static(key).to_lowercase())
        .collect();
    names.push(name.to_owned());
    names
}

/// Checks the header row: the export's columns in the export's order (titled in either
/// language), then, in any order, `generated_at` and the [`EXTRAS`]; anything else is refused
/// at its heading.
pub fn layout(sheet: &str, header: &Row) -> Result<Layout, Vec<Problem>> {
    let mut problems = Vec::new();
    for (column, (name, _)) in FIELDS.iter().enumerate() {
        let names = titles(&format!("export.column.{name}"), name);
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
    let mut layout = Layout {
        sheet: sheet.to_owned(),
        extras: [None; 4],
        generated_at: None,
    };
    for column in FIELDS.len()..header.cells.len() {
        let title = header.text(column).to_lowercase();
        if title.is_empty() {
            continue;
        }
        if titles("export.column.generated_at", "generated_at").contains(&title)
            && layout.generated_at.is_none()
        {
            layout.generated_at = Some(column);
            continue;
        }
        let extra = EXTRAS
            .iter()
            .position(|name| titles(&format!("import.column.{name}"), name).contains(&title));
        match extra {
            Some(index) if layout.extras[index].is_none() => layout.extras[index] = Some(column),
            _ => problems.push(problem_at(
                sheet,
                0,
                column,
                "import.problem.unknown_column",
                Some(
                    ["generated_at"]
                        .iter()
                        .chain(EXTRAS.iter())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            )),
        }
    }
    if problems.is_empty() {
        Ok(layout)
    } else {
        Err(problems)
    }
}

/// What the file's codes name: participants and goals by code, as indexes into the caller's
/// lists, and each goal's scale.
pub struct Catalog {
    pub participants: HashMap<String, usize>,
    pub goals: HashMap<String, usize>,
    pub scales: Vec<AnswerScale>,
}

/// One row's answer.
#[derive(Debug, Clone)]
pub struct RowAnswer {
    pub goal: usize,
    pub row: u32,
    pub answer: CheckedAnswer,
}

/// One participant's rows, as they came (the file keeps a participant's rows together, as the
/// export writes them).
#[derive(Debug, Clone)]
pub struct Batch {
    /// The sheet (or `CSV`) the rows are on, for problem places.
    pub sheet: String,
    pub participant: usize,
    pub code: String,
    pub first_row: u32,
    pub answers: Vec<RowAnswer>,
    /// Rows refused for a problem of their own.
    pub refused: usize,
}

/// Reads rows one by one into batches: a batch is complete when the next row names another
/// participant. Holds one participant's rows at a time.
pub struct Grouper<'a> {
    layout: Layout,
    catalog: &'a Catalog,
    purpose: Purpose,
    current: Option<Batch>,
    goals_seen: HashMap<usize, u32>,
    done: HashSet<usize>,
    /// When the file says it was made (`generated_at`), if it says so.
    pub made_at: Option<OffsetDateTime>,
    /// Data rows read.
    pub rows: usize,
}

impl<'a> Grouper<'a> {
    pub fn new(layout: Layout, catalog: &'a Catalog, purpose: Purpose) -> Self {
        Self {
            layout,
            catalog,
            purpose,
            current: None,
            goals_seen: HashMap::new(),
            done: HashSet::new(),
            made_at: None,
            rows: 0,
        }
    }

    fn at(&self, row: u32, column: usize, key: &'static str, detail: Option<String>) -> Problem {
        problem_at(&self.layout.sheet, row, column, key, detail)
    }

    /// Takes one data row; returns the previous participant's batch when this row starts
    /// another participant's.
    pub fn push(&mut self, row: &Row, problems: &mut Vec<Problem>) -> Option<Batch> {
        self.rows += 1;
        if let Some(column) = self.layout.generated_at
            && self.made_at.is_none()
        {
            self.made_at = OffsetDateTime::parse(
                row.text(column),
                &time::format_description::well_known::Rfc3339,
            )
            .ok();
        }
        let code = row.text(PARTICIPANT).to_uppercase();
        let Some(&participant) = self.catalog.participants.get(&code) else {
            push_problem(
                problems,
                self.at(
                    row.row,
                    PARTICIPANT,
                    "import.problem.unknown_participant",
                    Some(row.text(PARTICIPANT).to_owned()),
                ),
            );
            return None;
        };
        let mut finished = None;
        if self.current.as_ref().map(|b| b.participant) != Some(participant) {
            finished = self.current.take();
            if let Some(batch) = &finished {
                self.done.insert(batch.participant);
            }
            self.goals_seen.clear();
            if self.done.contains(&participant) {
                push_problem(
                    problems,
                    self.at(
                        row.row,
                        PARTICIPANT,
                        "import.problem.participant_apart",
                        Some(code.clone()),
                    ),
                );
            }
            self.current = Some(Batch {
                sheet: self.layout.sheet.clone(),
                participant,
                code: code.clone(),
                first_row: row.row,
                answers: Vec::new(),
                refused: 0,
            });
        }
        let answer = self.answer(row, problems);
        if let Some(batch) = self.current.as_mut() {
            match answer {
                Some(answer) => batch.answers.push(answer),
                None => batch.refused += 1,
            }
        }
        finished
    }

    /// The last participant's batch.
    pub fn finish(&mut self) -> Option<Batch> {
        self.current.take()
    }

    fn answer(&mut self, row: &Row, problems: &mut Vec<Problem>) -> Option<RowAnswer> {
        let code = row.text(GOAL);
        let Some(&goal) = self.catalog.goals.get(code) else {
            push_problem(
                problems,
                self.at(
                    row.row,
                    GOAL,
                    "offline.problem.unknown_goal",
                    Some(code.to_owned()),
                ),
            );
            return None;
        };
        if let Some(first) = self.goals_seen.insert(goal, row.row) {
            push_problem(
                problems,
                self.at(
                    row.row,
                    GOAL,
                    "import.problem.duplicate_row",
                    Some(format!("{code} ({})", first + 1)),
                ),
            );
            return None;
        }
        if row.unreadable {
            return None;
        }
        let state = row.text(STATE).to_lowercase();
        let value = row.text(VALUE);
        let not_applicable = match state.as_str() {
            "not_applicable" => true,
            "answered" | "missing" | "" => false,
            _ => {
                push_problem(
                    problems,
                    self.at(row.row, STATE, "import.problem.answer_state", Some(state)),
                );
                return None;
            }
        };
        let mismatch = match state.as_str() {
            "answered" => value.is_empty(),
            "missing" => !value.is_empty(),
            _ => false,
        };
        if mismatch {
            push_problem(
                problems,
                self.at(
                    row.row,
                    VALUE,
                    "import.problem.state_and_value",
                    Some(state.clone()),
                ),
            );
            return None;
        }
        let Some(status) = parse_status(&self.layout.extra(2, row)) else {
            push_problem(
                problems,
                self.at(
                    row.row,
                    self.layout.extras[2].unwrap_or(STATE),
                    "field.status.unknown",
                    None,
                ),
            );
            return None;
        };
        let mut justification = self.layout.extra(0, row);
        // A historical file laid out exactly as the export (which has no justification
        // column) keeps its "not applicable" answers as the snapshot had them.
        let unjustified = not_applicable
            && justification.is_empty()
            && self.layout.extras[0].is_none()
            && self.purpose == Purpose::Historical;
        if unjustified {
            justification = "-".to_owned();
        }
        let input = AnswerInput {
            value: value.to_owned(),
            not_applicable,
            na_justification: justification,
            target: self.layout.extra(1, row),
            implementation_status: status.to_owned(),
            narrative: self.layout.extra(3, row),
        };
        match input.check(&self.catalog.scales[goal]) {
            Ok(mut answer) => {
                if unjustified {
                    answer.na_justification = None;
                }
                Some(RowAnswer {
                    goal,
                    row: row.row,
                    answer,
                })
            }
            Err(fields) => {
                for (field, key) in fields {
                    let column = match field.as_str() {
                        "value" => Some(VALUE),
                        "na_justification" => self.layout.extras[0].or(Some(STATE)),
                        "target" => self.layout.extras[1],
                        "implementation_status" => self.layout.extras[2],
                        "narrative" => self.layout.extras[3],
                        _ => None,
                    }
                    .unwrap_or(VALUE);
                    let key = catalogue_key(&key).unwrap_or("offline.problem.invalid");
                    push_problem(problems, self.at(row.row, column, key, None));
                }
                None
            }
        }
    }
}
