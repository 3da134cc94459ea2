//! A cycle report as files: the tidy table (one row per participant × goal), the stamp every
//! file carries (cycle, snapshot digests, time of generation) and the data dictionary. The
//! figures are the comparison's ([`super::comparison`]), so every format shows the pages'
//! numbers.

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

mod cells;

use super::FrameworkShape;
use super::comparison::{ComparisonRow, CycleComparison};
use super::progress::RecordedAnswer;
use crate::domain::scoring::translation::GoalResult;
use crate::domain::scoring::{Decimal, number, shown};

/// What every export says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExportStamp {
    pub cycle_id: Uuid,
    pub cycle_code: String,
    pub framework_version: String,
    /// RFC 3339, UTC.
    pub generated_at: String,
    /// The snapshot each participant's figures were read from.
    pub snapshots: Vec<StampedSnapshot>,
    /// SHA-256 (hexadecimal) of the lines `participant revision digest`, one per snapshot in
    /// this order: one value that names the whole set (the audit log records it).
    pub fingerprint: String,
    /// SHA-256 (hexadecimal) of the audit log's newest entry when the file was made (empty for
    /// an empty log): an anchor of the log's tail outside the database (docs/security.md).
    pub audit_head: String,
}

/// One participant's snapshot in the stamp.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StampedSnapshot {
    pub participant_code: String,
    pub revision: i32,
    /// SHA-256 of the snapshot document, hexadecimal.
    pub digest: String,
}

/// One row of the tidy table: one goal of one participant's submission. The one definition of
/// the row: its serde form is the JSON export's row, and, read back cell by cell in
/// [`FIELDS`] order ([`cells`]), the CSV line and the XLSX "Answers" row. Figures are the
/// report's, as shown (rounded once), written with their exact decimal text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportRow {
    pub cycle_code: String,
    pub participant_code: String,
    pub participant_name: String,
    pub assessment_state: String,
    pub revision: i32,
    pub snapshot_digest: String,
    pub section_code: String,
    pub goal_code: String,
    pub goal_title: String,
    #[serde(with = "number")]
    pub weight: Decimal,
    /// answered, not_applicable or missing
    pub answer_state: String,
    /// The answer on its scale, as text (a level, a number with the decimals its scale
    /// declares, yes or no).
    pub value: String,
    #[serde(with = "number::option")]
    pub goal_score: Option<Decimal>,
    #[serde(with = "number::option")]
    pub section_score: Option<Decimal>,
    pub section_complete: bool,
    #[serde(with = "number::option")]
    pub overall_score: Option<Decimal>,
    pub overall_complete: bool,
    /// Dense rank of the overall figure among complete ones.
    pub rank: Option<u32>,
}

/// The fields of [`ExportRow`], in order, with what each means: the CSV header, the answers
/// sheet's columns and the JSON data dictionary.
pub const FIELDS: [(&str, &str); 18] = [
    ("cycle_code", "The cycle's code."),
    (
        "participant_code",
        "ISO 3166-1 alpha-3 code of the participant.",
    ),
    ("participant_name", "The participant's English name."),
    (
        "assessment_state",
        "submitted, returned, resubmitted or accepted.",
    ),
    (
        "revision",
        "The snapshot's revision (1 for the first submission).",
    ),
    (
        "snapshot_digest",
        "SHA-256 of the snapshot document the row was read from, hexadecimal.",
    ),
    ("section_code", "The section (commitment) of the goal."),
    ("goal_code", "The goal (agreed metric)."),
    ("goal_title", "The goal's English title."),
    (
        "weight",
        "The goal's weight in its section and overall roll-up (points under a sum).",
    ),
    ("answer_state", "answered, not_applicable or missing."),
    (
        "value",
        "The answer on the goal's scale: a maturity level, a number, yes or no; empty when not answered.",
    ),
    (
        "goal_score",
        "The answer normalised to 0–1 on its scale; empty when not answered.",
    ),
    (
        "section_score",
        "The section's score (weighted mean or sum of goal scores, per the framework); empty when none.",
    ),
    (
        "section_complete",
        "Whether every applicable goal of the section is answered.",
    ),
    (
        "overall_score",
        "The overall score over all applicable answered goals, pooled; empty when none.",
    ),
    (
        "overall_complete",
        "Whether every applicable goal is answered (only complete figures are ranked).",
    ),
    (
        "rank",
        "Dense rank of the overall score among complete submissions (ties share a rank); empty when incomplete.",
    ),
];

/// One cell of a row, as files write it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    /// A number with its exact decimal text (`0.890`).
    Number(Decimal),
    Bool(bool),
}

impl Cell {
    /// The cell as CSV text: numbers with a decimal point and their shown decimals, booleans
    /// `true`/`false`, nothing for an empty cell.
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(text) => text.clone(),
            Cell::Number(number) => number.to_string(),
            Cell::Bool(yes) => yes.to_string(),
        }
    }
}

/// Why a row could not be made cells (a field that is not a plain value).
#[derive(Debug, thiserror::Error)]
#[error("export row field {0} is not a plain value")]
pub struct CellError(pub &'static str);

/// The row's cells in [`FIELDS`] order, read from its serde form (so CSV, XLSX and JSON are
/// written from one definition and cannot disagree), field by field without JSON text in
/// between ([`cells`] module).
pub fn cells(row: &ExportRow) -> Result<Vec<Cell>, CellError> {
    let mut fields = cells::fields(row)?;
    FIELDS
        .iter()
        .enumerate()
        .map(|(index, (name, _))| {
            // The row serializes its fields in FIELDS order; looked up by name all the same.
            let at = match fields.get(index) {
                Some((field, _)) if field == name => index,
                _ => fields
                    .iter()
                    .position(|(field, _)| field == name)
                    .ok_or(CellError(name))?,
            };
            Ok(std::mem::replace(&mut fields[at].1, Cell::Empty))
        })
        .collect()
}

/// The stamp of a comparison generated at `generated_at`.
pub fn stamp(report: &CycleComparison, generated_at: time::OffsetDateTime) -> ExportStamp {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    // By participant code (byte order), whatever the ranking: the fingerprint names the set of
    // snapshots, and is the one `cycle_report_state` keeps (migration 0018).
    let mut by_code: Vec<_> = report.rows.iter().collect();
    by_code.sort_by(|a, b| a.participant_code.cmp(&b.participant_code));
    for row in by_code {
        hasher.update(format!(
            "{} {} {}\n",
            row.participant_code, row.snapshot.revision, row.snapshot.digest
        ));
    }
    ExportStamp {
        audit_head: String::new(),
        fingerprint: hex::encode(hasher.finalize()),
        cycle_id: report.cycle.id,
        cycle_code: report.cycle.code.clone(),
        framework_version: report.cycle.framework_version.clone(),
        generated_at: generated_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        snapshots: report
            .rows
            .iter()
            .map(|row| StampedSnapshot {
                participant_code: row.participant_code.clone(),
                revision: row.snapshot.revision,
                digest: row.snapshot.digest.clone(),
            })
            .collect(),
    }
}

/// The tidy rows: each compared participant (in the comparison's order) × each goal.
pub fn rows(
    report: &CycleComparison,
    shape: &FrameworkShape,
    answers: &HashMap<Uuid, Vec<RecordedAnswer>>,
) -> Vec<ExportRow> {
    rows_of(report, &report.rows, shape, answers)
}

/// The tidy rows of some of the report's participants (a chunk of a streamed export).
pub fn rows_of(
    report: &CycleComparison,
    participants: &[ComparisonRow],
    shape: &FrameworkShape,
    answers: &HashMap<Uuid, Vec<RecordedAnswer>>,
) -> Vec<ExportRow> {
    let mut out = Vec::with_capacity(participants.len() * shape.goals.len());
    for row in participants {
        let recorded: HashMap<Uuid, &RecordedAnswer> = answers
            .get(&row.participant_id)
            .map(|list| list.iter().map(|a| (a.goal_id, a)).collect())
            .unwrap_or_default();
        for goal in &shape.goals {
            let answer = recorded.get(&goal.id);
            let section = row.sections.get(goal.section);
            let (answer_state, value) = match answer.map(|a| (a.result(), a.value())) {
                Some((GoalResult::NotApplicable, _)) => ("not_applicable", String::new()),
                Some((GoalResult::Scored(_), value)) => {
                    let text = value.map(|v| v.text_with_decimals(goal.value_decimals));
                    ("answered", text.unwrap_or_default())
                }
                _ => ("missing", String::new()),
            };
            out.push(ExportRow {
                cycle_code: report.cycle.code.clone(),
                participant_code: row.participant_code.clone(),
                participant_name: row.participant_name_en.clone(),
                assessment_state: row.assessment_state.clone(),
                revision: row.snapshot.revision,
                snapshot_digest: row.snapshot.digest.clone(),
                section_code: shape
                    .sections
                    .get(goal.section)
                    .map(|s| s.code.clone())
                    .unwrap_or_default(),
                goal_code: goal.code.clone(),
                goal_title: goal.title_en.clone(),
                weight: goal.weight,
                answer_state: answer_state.to_owned(),
                value,
                goal_score: answer.and_then(|a| a.goal_score).map(|s| shown(s, 3)),
                section_score: section.and_then(|s| s.score),
                section_complete: section.is_some_and(|s| s.complete),
                overall_score: row.overall.score,
                overall_complete: row.overall.complete,
                rank: row.rank,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_names_every_field_of_a_row_in_order() {
        let row = ExportRow {
            cycle_code: String::new(),
            participant_code: String::new(),
            participant_name: String::new(),
            assessment_state: String::new(),
            revision: 1,
            snapshot_digest: String::new(),
            section_code: String::new(),
            goal_code: String::new(),
            goal_title: String::new(),
            weight: Decimal::ONE,
            answer_state: String::new(),
            value: String::new(),
            goal_score: None,
            section_score: None,
            section_complete: false,
            overall_score: None,
            overall_complete: false,
            rank: None,
        };
        let json = serde_json::to_value(&row).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut fields: Vec<&str> = FIELDS.iter().map(|(name, _)| *name).collect();
        let mut sorted_keys = keys.clone();
        sorted_keys.sort_unstable();
        fields.sort_unstable();
        assert_eq!(sorted_keys, fields);
    }

    #[test]
    fn cells_follow_the_fields_and_keep_the_shown_decimals() {
        let row = ExportRow {
            cycle_code: "C".into(),
            participant_code: "FRA".into(),
            participant_name: "France \"FR\"".into(),
            assessment_state: "submitted".into(),
            revision: 2,
            snapshot_digest: "ab".into(),
            section_code: "S".into(),
            goal_code: "G".into(),
            goal_title: "T".into(),
            weight: "30".parse().unwrap(),
            answer_state: "answered".into(),
            value: "0.890".into(),
            goal_score: Some("0.890".parse().unwrap()),
            section_score: Some("30.01".parse().unwrap()),
            section_complete: true,
            overall_score: None,
            overall_complete: false,
            rank: Some(3),
        };
        assert_eq!(cells(&row).unwrap(), cells_through_json(&row));
        let texts: Vec<String> = cells(&row).unwrap().iter().map(Cell::text).collect();
        assert_eq!(
            texts,
            [
                "C",
                "FRA",
                "France \"FR\"",
                "submitted",
                "2",
                "ab",
                "S",
                "G",
                "T",
                "30",
                "answered",
                "0.890",
                "0.890",
                "30.01",
                "true",
                "",
                "false",
                "3"
            ]
        );
    }

    /// What `cells` did before it read the serde form directly: the row written as JSON text,
    /// parsed into a map, each value parsed again. The oracle for the direct reading.
    fn cells_through_json(row: &ExportRow) -> Vec<Cell> {
        let json = serde_json::to_string(row).unwrap();
        let fields: HashMap<&str, &serde_json::value::RawValue> =
            serde_json::from_str(&json).unwrap();
        FIELDS
            .iter()
            .map(|(name, _)| match fields[name].get() {
                "null" => Cell::Empty,
                "true" => Cell::Bool(true),
                "false" => Cell::Bool(false),
                text if text.starts_with('"') => Cell::Text(serde_json::from_str(text).unwrap()),
                text => Cell::Number(text.parse().unwrap()),
            })
            .collect()
    }

    proptest::proptest! {
        /// Any row gives the same cells read directly as through its JSON text: the same
        /// texts (quotes, backslashes, any script), the same decimals with their trailing
        /// zeros, the same empties.
        #[test]
        fn cells_read_directly_are_those_of_the_rows_json(
            text in "\\PC{0,12}",
            revision in proptest::prelude::any::<i32>(),
            mantissa in proptest::prelude::any::<i64>(),
            scale in 0u32..12,
            score in proptest::option::of(proptest::prelude::any::<i64>()),
            flag in proptest::prelude::any::<bool>(),
            rank in proptest::option::of(proptest::prelude::any::<u32>()),
        ) {
            let number = Decimal::new(mantissa, scale);
            let row = ExportRow {
                cycle_code: text.clone(),
                participant_code: "FRA".into(),
                participant_name: format!("{text}\"\\"),
                assessment_state: "submitted".into(),
                revision,
                snapshot_digest: String::new(),
                section_code: text.clone(),
                goal_code: "G".into(),
                goal_title: text.clone(),
                weight: number,
                answer_state: "answered".into(),
                value: number.to_string(),
                goal_score: score.map(|m| Decimal::new(m, scale)),
                section_score: Some(-number),
                section_complete: flag,
                overall_score: None,
                overall_complete: !flag,
                rank,
            };
            proptest::prop_assert_eq!(cells(&row).unwrap(), cells_through_json(&row));
        }
    }
}
