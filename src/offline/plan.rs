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
use crate::domain::problem::Problem;
use crate::presentation::i18n::catalogue_key;
use crate::storage::answers::StoredAnswer;

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
        let Some(confirm) = parse_yes_no(row.text(Column::Confirm)) else {
            push_problem(
                &mut problems,
                Problem::new(at(Column::Confirm), "field.value.yes_no"),
            );
            continue;
        };
        let now = current.get(&goal_id);
        // Confirming a carried-forward answer is a change even when the answer is not.
        let confirming = confirm && now.is_some_and(|stored| stored.unconfirmed);
        if !confirming && fingerprint(&answer) == row.text(Column::Check) {
            plan.unchanged += 1;
            continue;
        }
        let same_as_now = match now {
            Some(stored) => stored.input().check(&goal.scale).ok().as_ref() == Some(&answer),
            None => AnswerInput::default().check(&goal.scale).ok().as_ref() == Some(&answer),
        };
        if !confirming && same_as_now {
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

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::domain::framework::AnswerScale;
    use crate::domain::text::LocalizedText;

    fn goal() -> Goal {
        Goal {
            code: "G1".into(),
            title: LocalizedText::default(),
            guidance: LocalizedText::default(),
            weight: "1.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
            scale: AnswerScale::Numeric {
                min: "0.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
                max: "20.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
                unit: String::new(),
                decimals: 1,
            },
        }
    }

    fn stored(goal_id: Uuid, value: Option<f64>, version: i64, unconfirmed: bool) -> StoredAnswer {
        let value = value.map(|v| {
            v.to_string()
                .parse::<crate::domain::scoring::Decimal>()
                .unwrap()
        });
        StoredAnswer {
            goal_id,
            value_level: None,
            value_number: value,
            value_bool: None,
            not_applicable: false,
            na_justification: None,
            target_level: None,
            target_number: None,
            target_bool: None,
            implementation_status: None,
            narrative: String::new(),
            unconfirmed,
            updated_at: OffsetDateTime::UNIX_EPOCH,
            updated_by_name: Some("A colleague".into()),
            row_version: version,
            entered_on_behalf: false,
        }
    }

    /// A file row for G1 with `value`, exported at `version` with the fingerprint of `exported`.
    fn file(value: &str, version: i64, exported: &str, confirm: &str) -> FormFile {
        let goal = goal();
        let exported = AnswerInput {
            value: exported.into(),
            ..AnswerInput::default()
        }
        .check(&goal.scale)
        .unwrap();
        let mut row = FileRow {
            row: 1,
            ..FileRow::default()
        };
        let mut set = |column: Column, text: &str| {
            row.cells[usize::from(column.index())] = text.to_owned();
        };
        set(Column::Goal, "G1");
        set(Column::Value, value);
        set(Column::Confirm, confirm);
        set(Column::Version, &version.to_string());
        set(Column::Check, &fingerprint(&exported));
        FormFile {
            sheet: "Form".into(),
            rows: vec![row],
            problems: Vec::new(),
        }
    }

    fn run(file: &FormFile, now: Option<StoredAnswer>) -> Result<Plan, Vec<Problem>> {
        let goal = goal();
        let id = Uuid::from_u128(1);
        let current = now.into_iter().map(|a| (id, a)).collect();
        plan(file, &[(id, &goal)], &current)
    }

    #[test]
    fn a_row_left_as_exported_keeps_the_servers_newer_answer() {
        let id = Uuid::from_u128(1);
        let plan = run(
            &file("5", 1, "5", ""),
            Some(stored(id, Some(9.0), 2, false)),
        )
        .unwrap();
        assert_eq!((plan.changes.len(), plan.unchanged), (0, 1));
    }

    #[test]
    fn a_row_changed_offline_is_written_only_at_the_exported_version() {
        let id = Uuid::from_u128(1);
        let written = run(
            &file("7", 1, "5", ""),
            Some(stored(id, Some(5.0), 1, false)),
        )
        .unwrap();
        assert_eq!(written.changes.len(), 1);
        let conflict = run(
            &file("7", 1, "5", ""),
            Some(stored(id, Some(9.0), 2, false)),
        );
        let problems = conflict.unwrap_err();
        assert_eq!(problems[0].path, "Form!A2");
        assert_eq!(problems[0].key, "offline.problem.conflict");
        assert!(
            problems[0]
                .detail
                .as_deref()
                .unwrap()
                .contains("A colleague")
        );
        // The same change made on both sides is no conflict.
        let same = run(
            &file("9", 1, "5", ""),
            Some(stored(id, Some(9.0), 2, false)),
        )
        .unwrap();
        assert_eq!((same.changes.len(), same.unchanged), (0, 1));
    }

    #[test]
    fn clearing_an_answer_offline_is_a_change() {
        let id = Uuid::from_u128(1);
        let cleared = run(&file("", 1, "5", ""), Some(stored(id, Some(5.0), 1, false))).unwrap();
        assert_eq!(cleared.changes.len(), 1);
        assert_eq!(
            cleared.changes[0].answer.state,
            crate::domain::scoring::AnswerState::Missing
        );
        // A stored answer the scale no longer accepts still differs from a cleared row.
        let invalid = run(
            &file("", 1, "5", ""),
            Some(stored(id, Some(99.0), 1, false)),
        )
        .unwrap();
        assert_eq!(invalid.changes.len(), 1);
    }

    #[test]
    fn a_carried_forward_answer_is_confirmed_only_when_the_row_says_so() {
        let id = Uuid::from_u128(1);
        let left = run(
            &file("5", 1, "5", "no"),
            Some(stored(id, Some(5.0), 1, true)),
        )
        .unwrap();
        assert_eq!((left.changes.len(), left.unchanged), (0, 1));
        let confirmed = run(
            &file("5", 1, "5", "oui"),
            Some(stored(id, Some(5.0), 1, true)),
        )
        .unwrap();
        assert_eq!(confirmed.changes.len(), 1, "written, which confirms it");
        let late = run(
            &file("5", 1, "5", "yes"),
            Some(stored(id, Some(6.0), 2, true)),
        );
        assert_eq!(late.unwrap_err()[0].key, "offline.problem.conflict");
        let bad = run(
            &file("5", 1, "5", "sure"),
            Some(stored(id, Some(5.0), 1, true)),
        );
        assert_eq!(bad.unwrap_err()[0].path, "Form!K2");
    }
}
