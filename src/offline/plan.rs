//! Decides what an imported form changes: every row is checked against its goal's scale, and
//! each valid row is either unchanged, a change to write, or a conflict.
//!
//! A row is **unchanged** when its answer still has the fingerprint it was exported with (it
//! was not touched offline: whatever the server has now is kept), or when it equals what the
//! server has now. Otherwise it is **written** only if the server's answer still has the row
//! version the file was exported with; if someone saved the answer since, the row is a
//! **conflict** and the whole file is refused, so no change is ever overwritten unseen.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::reader::{FileRow, FormFile};
use super::{Column, cell_ref, fingerprint, parse_status, parse_yes_no, place, push_problem};
use crate::domain::answer::{AnswerInput, CheckedAnswer};
use crate::domain::framework::Goal;
use crate::domain::framework::document::Problem;
use crate::storage::answers::StoredAnswer;
use crate::web::i18n::catalogue_key;

/// One answer to write.
#[derive(Debug, Clone)]
pub struct Change {
    pub goal_id: Uuid,
    pub goal_code: String,
    pub answer: CheckedAnswer,
    /// The answer as the server had it (None when the goal was never answered).
    pub before: Option<StoredAnswer>,
}

/// What an import will do.
#[derive(Debug, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub unchanged: usize,
}

/// Plans the import of `file` for the goals of a framework (id and goal, in form order) given
/// the answers the server has now (by goal id); any problem refuses the whole file.
pub fn plan(
    file: &FormFile,
    goals: &[(Uuid, &Goal)],
    current: &HashMap<Uuid, StoredAnswer>,
) -> Result<Plan, Vec<Problem>> {
    let by_code: HashMap<&str, (Uuid, &Goal)> = goals
        .iter()
        .map(|(id, goal)| (goal.code.as_str(), (*id, *goal)))
        .collect();
    let mut seen = HashSet::new();
    let mut problems = file.problems.clone();
    let mut plan = Plan::default();
    for row in &file.rows {
        let at = |column: Column| cell_ref(&file.sheet, row.row, u32::from(column.index()));
        let code = row.text(Column::Goal);
        let Some(&(goal_id, goal)) = by_code.get(code) else {
            push_problem(
                &mut problems,
                Problem::with(at(Column::Goal), "offline.problem.unknown_goal", code),
            );
            continue;
        };
        if !seen.insert(goal_id) {
            push_problem(
                &mut problems,
                Problem::with(at(Column::Goal), "offline.problem.duplicate_goal", code),
            );
            continue;
        }
        if row.unreadable {
            continue;
        }
        let answer = match read_answer(row, goal) {
            Ok(answer) => answer,
            Err(found) => {
                for (column, key) in found {
                    push_problem(&mut problems, Problem::new(at(column), key));
                }
                continue;
            }
        };
        let Ok(exported_version) = row.text(Column::Version).parse::<i64>() else {
            push_problem(
                &mut problems,
                Problem::new(at(Column::Version), "offline.problem.version"),
            );
            continue;
        };
        if fingerprint(&answer) == row.text(Column::Check) {
            plan.unchanged += 1;
            continue;
        }
        let now = current.get(&goal_id);
        let now_checked = now.and_then(|stored| stored.input().check(&goal.scale).ok());
        let same_as_now = match &now_checked {
            Some(checked) => *checked == answer,
            None => AnswerInput::default().check(&goal.scale).ok() == Some(answer.clone()),
        };
        if same_as_now {
            plan.unchanged += 1;
            continue;
        }
        let now_version = now.map_or(0, |stored| stored.row_version);
        if now_version != exported_version {
            let by = now
                .and_then(|stored| stored.updated_by_name.clone())
                .unwrap_or_default();
            let when = now.map(|stored| stored.updated_at.date().to_string());
            push_problem(
                &mut problems,
                Problem::with(
                    at(Column::Goal),
                    "offline.problem.conflict",
                    format!("{code}: {by} {}", when.unwrap_or_default())
                        .trim()
                        .to_owned(),
                ),
            );
            continue;
        }
        plan.changes.push(Change {
            goal_id,
            goal_code: goal.code.clone(),
            answer,
            before: now.cloned(),
        });
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        // In reading order: the whole file first, then by sheet, row and column.
        problems.sort_by_key(|problem| {
            let place = place(&problem.path);
            let column = place.column.map(|letters| (letters.len(), letters));
            (place.sheet != "file", place.sheet, place.row, column)
        });
        Err(problems)
    }
}

/// A row's answer checked against its goal's scale, or each problem with its column.
fn read_answer(row: &FileRow, goal: &Goal) -> Result<CheckedAnswer, Vec<(Column, &'static str)>> {
    let mut found = Vec::new();
    let not_applicable = parse_yes_no(row.text(Column::NotApplicable)).unwrap_or_else(|| {
        found.push((Column::NotApplicable, "field.value.yes_no"));
        false
    });
    let status = parse_status(row.text(Column::Status)).unwrap_or_else(|| {
        found.push((Column::Status, "field.status.unknown"));
        ""
    });
    let input = AnswerInput {
        value: row.text(Column::Value).to_owned(),
        not_applicable,
        na_justification: row.text(Column::Justification).to_owned(),
        target: row.text(Column::Target).to_owned(),
        implementation_status: status.to_owned(),
        narrative: row.text(Column::Narrative).to_owned(),
    };
    match input.check(&goal.scale) {
        Ok(answer) if found.is_empty() => Ok(answer),
        Ok(_) => Err(found),
        Err(fields) => {
            found.extend(fields.into_iter().map(|(field, key)| {
                let key = catalogue_key(&key).unwrap_or("offline.problem.invalid");
                (Column::for_field(&field), key)
            }));
            Err(found)
        }
    }
}
