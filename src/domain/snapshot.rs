//! The frozen record of one submission: every answer with its goal score, every section score,
//! the overall score and completion, serialised once into a canonical JSON document whose
//! SHA-256 digest is kept beside it.

use crate::domain::scoring::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::framework::RollUp;
use super::scoring::{AnswerState, AnswerValue, RolledUp, ScoreScale, ScoredGoal, score_framework};

/// A goal as the snapshot needs it.
#[derive(Debug, Clone)]
pub struct SnapshotGoal {
    pub id: Uuid,
    pub code: String,
    pub section: usize,
    pub weight: Decimal,
    pub scale: ScoreScale,
}

/// A section as the snapshot needs it.
#[derive(Debug, Clone)]
pub struct SnapshotSection {
    pub id: Uuid,
    pub code: String,
}

/// The scored content of a snapshot, ready to store.
#[derive(Debug, Clone)]
pub struct FrozenSnapshot {
    /// The canonical document (stored byte for byte).
    pub content: String,
    /// SHA-256 of `content`.
    pub digest: [u8; 32],
    pub overall: RolledUp,
    pub sections: Vec<(Uuid, RolledUp)>,
    /// Per goal: the answer and its score (`None` when missing or not applicable).
    pub goal_scores: Vec<(Uuid, AnswerState, Option<Decimal>)>,
}

#[derive(Serialize)]
struct Document<'a> {
    format: &'static str,
    participant: &'a str,
    cycle: &'a str,
    revision: i32,
    overall: Figure,
    sections: Vec<SectionFigure<'a>>,
    answers: Vec<AnswerFigure<'a>>,
}

#[derive(Serialize)]
struct Figure {
    #[serde(with = "crate::domain::scoring::number::option")]
    score: Option<Decimal>,
    answered: u32,
    applicable: u32,
}

impl From<RolledUp> for Figure {
    fn from(rolled: RolledUp) -> Self {
        Self {
            score: rolled.score,
            answered: rolled.answered,
            applicable: rolled.applicable,
        }
    }
}

#[derive(Serialize)]
struct SectionFigure<'a> {
    code: &'a str,
    #[serde(flatten)]
    figure: Figure,
}

#[derive(Serialize)]
struct AnswerFigure<'a> {
    goal: &'a str,
    state: &'static str,
    /// The value with its exact text (a level, a decimal number as entered, true or false).
    value: Option<Box<serde_json::value::RawValue>>,
    #[serde(with = "crate::domain::scoring::number::option")]
    score: Option<Decimal>,
    #[serde(flatten)]
    details: &'a AnswerDetails,
}

/// What a snapshot records of an answer beyond its value: compared field by field between
/// revisions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct AnswerDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub na_justification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation_status: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub narrative: String,
}

/// Identifies the snapshot inside its document.
pub struct SnapshotHeader<'a> {
    pub participant_code: &'a str,
    pub cycle_code: &'a str,
    pub revision: i32,
}

/// Scores the answers (one per goal, in goal order) and freezes them, values only.
pub fn freeze(
    header: &SnapshotHeader<'_>,
    method: RollUp,
    sections: &[SnapshotSection],
    goals: &[SnapshotGoal],
    answers: &[AnswerState],
) -> FrozenSnapshot {
    let details = vec![AnswerDetails::default(); answers.len()];
    freeze_detailed(header, method, sections, goals, answers, &details)
}

/// Scores the answers (one per goal, in goal order) and freezes them with their details.
pub fn freeze_detailed(
    header: &SnapshotHeader<'_>,
    method: RollUp,
    sections: &[SnapshotSection],
    goals: &[SnapshotGoal],
    answers: &[AnswerState],
    details: &[AnswerDetails],
) -> FrozenSnapshot {
    let scored: Vec<ScoredGoal> = goals
        .iter()
        .zip(answers)
        .map(|(goal, answer)| ScoredGoal::new(goal.weight, goal.scale, *answer))
        .collect();
    let by_section: Vec<(usize, ScoredGoal)> = goals
        .iter()
        .zip(&scored)
        .map(|(goal, scored)| (goal.section, *scored))
        .collect();
    let figures = score_framework(method, sections.len(), &by_section);
    let overall = figures.overall;
    let section_figures: Vec<(Uuid, RolledUp)> = sections
        .iter()
        .zip(figures.sections)
        .map(|(section, figure)| (section.id, figure))
        .collect();
    let document = Document {
        format: "pledge-snapshot/1",
        participant: header.participant_code,
        cycle: header.cycle_code,
        revision: header.revision,
        overall: overall.into(),
        sections: sections
            .iter()
            .zip(&section_figures)
            .map(|(section, (_, figure))| SectionFigure {
                code: &section.code,
                figure: (*figure).into(),
            })
            .collect(),
        answers: goals
            .iter()
            .zip(answers)
            .zip(&scored)
            .zip(details)
            .map(|(((goal, answer), scored), details)| AnswerFigure {
                goal: &goal.code,
                details,
                state: match answer {
                    AnswerState::Missing => "missing",
                    AnswerState::NotApplicable => "not_applicable",
                    AnswerState::Answered(_) => "answered",
                },
                value: match answer {
                    AnswerState::Answered(value) => {
                        serde_json::value::RawValue::from_string(match value {
                            AnswerValue::Level(level) => level.to_string(),
                            AnswerValue::Number(number) => number.to_string(),
                            AnswerValue::Bool(yes) => yes.to_string(),
                        })
                        .ok()
                    }
                    _ => None,
                },
                score: scored.score,
            })
            .collect(),
    };
    // Serialising plain structs cannot fail; an empty document would fail the digest check.
    let content = serde_json::to_string(&document).unwrap_or_default();
    let digest = Sha256::digest(content.as_bytes()).into();
    FrozenSnapshot {
        content,
        digest,
        overall,
        sections: section_figures,
        goal_scores: goals
            .iter()
            .zip(answers)
            .zip(&scored)
            .map(|((goal, answer), scored)| (goal.id, *answer, scored.score))
            .collect(),
    }
}

/// Whether `digest` is the SHA-256 of `content`.
pub fn verify_digest(content: &str, digest: &[u8]) -> bool {
    Sha256::digest(content.as_bytes()).as_slice() == digest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_differ_field_by_field() {
        let sections = [SnapshotSection {
            id: Uuid::new_v4(),
            code: "I".into(),
        }];
        let goals = [SnapshotGoal {
            id: Uuid::new_v4(),
            code: "I.1".into(),
            section: 0,
            weight: "1.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
            scale: ScoreScale::YesNo,
        }];
        let header = SnapshotHeader {
            participant_code: "FRA",
            cycle_code: "2026",
            revision: 1,
        };
        let first = freeze(
            &header,
            RollUp::WeightedMean,
            &sections,
            &goals,
            &[AnswerState::Answered(AnswerValue::Bool(false))],
        );
        let details = [AnswerDetails {
            narrative: "Now in force".into(),
            ..AnswerDetails::default()
        }];
        let second = freeze_detailed(
            &header,
            RollUp::WeightedMean,
            &sections,
            &goals,
            &[AnswerState::Answered(AnswerValue::Bool(true))],
            &details,
        );
        let changes = diff(
            &recorded_answers(&first.content).unwrap(),
            &recorded_answers(&second.content).unwrap(),
        );
        let fields: Vec<(&str, &str, &str)> = changes
            .iter()
            .map(|c| (c.field.as_str(), c.before.as_str(), c.after.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("value", "false", "true"),
                ("score", "0", "1"),
                ("narrative", "", "Now in force")
            ]
        );
    }

    #[test]
    fn a_frozen_snapshot_carries_its_scores_and_a_verifiable_digest() {
        let sections = [SnapshotSection {
            id: Uuid::new_v4(),
            code: "I".into(),
        }];
        let goals = [
            SnapshotGoal {
                id: Uuid::new_v4(),
                code: "I.1".into(),
                section: 0,
                weight: "1.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
                scale: ScoreScale::Maturity {
                    lowest: 0,
                    highest: 5,
                },
            },
            SnapshotGoal {
                id: Uuid::new_v4(),
                code: "I.2".into(),
                section: 0,
                weight: "1.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
                scale: ScoreScale::YesNo,
            },
        ];
        let answers = [
            AnswerState::Answered(AnswerValue::Level(4)),
            AnswerState::NotApplicable,
        ];
        let header = SnapshotHeader {
            participant_code: "FRA",
            cycle_code: "2026",
            revision: 1,
        };
        let frozen = freeze(&header, RollUp::WeightedMean, &sections, &goals, &answers);
        assert_eq!(
            frozen.overall.score,
            Some("0.8".parse::<crate::domain::scoring::Decimal>().unwrap())
        );
        assert_eq!((frozen.overall.answered, frozen.overall.applicable), (1, 1));
        assert!(
            frozen
                .content
                .contains(r#""goal":"I.2","state":"not_applicable""#)
        );
        assert!(verify_digest(&frozen.content, &frozen.digest));
        assert!(!verify_digest(
            &frozen.content.replace("0.8", "0.9"),
            &frozen.digest
        ));
    }
}

/// One answer as a snapshot document records it (for reading revisions back).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct RecordedAnswer {
    pub goal: String,
    pub state: String,
    pub value: Option<serde_json::Value>,
    pub score: Option<Decimal>,
    #[serde(flatten)]
    pub details: AnswerDetails,
}

#[derive(serde::Deserialize)]
struct RecordedDocument {
    answers: Vec<RecordedAnswer>,
}

/// The answers recorded in a snapshot document.
pub fn recorded_answers(content: &str) -> Result<Vec<RecordedAnswer>, serde_json::Error> {
    Ok(serde_json::from_str::<RecordedDocument>(content)?.answers)
}

/// One field that differs between two revisions of an answer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub goal: String,
    /// state, value, score, na_justification, target, implementation_status or narrative
    pub field: String,
    pub before: String,
    pub after: String,
}

/// Every field that differs between two revisions, goal by goal, in the later one's goal order.
pub fn diff(before: &[RecordedAnswer], after: &[RecordedAnswer]) -> Vec<FieldChange> {
    let text = |value: &Option<serde_json::Value>| match value {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let fields = |a: Option<&RecordedAnswer>| -> Vec<(&'static str, String)> {
        match a {
            None => Vec::new(),
            Some(a) => vec![
                ("state", a.state.clone()),
                ("value", text(&a.value)),
                ("score", a.score.map(|s| s.to_string()).unwrap_or_default()),
                (
                    "na_justification",
                    a.details.na_justification.clone().unwrap_or_default(),
                ),
                ("target", a.details.target.clone().unwrap_or_default()),
                (
                    "implementation_status",
                    a.details.implementation_status.clone().unwrap_or_default(),
                ),
                ("narrative", a.details.narrative.clone()),
            ],
        }
    };
    let mut changes = Vec::new();
    for answer in after {
        let old = before.iter().find(|b| b.goal == answer.goal);
        let old_fields = fields(old);
        for (name, new_value) in fields(Some(answer)) {
            let old_value = old_fields
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            if old_value != new_value {
                changes.push(FieldChange {
                    goal: answer.goal.clone(),
                    field: name.to_owned(),
                    before: old_value,
                    after: new_value,
                });
            }
        }
    }
    changes
}
