//! The frozen record of one submission: every answer with its goal score, every section score,
//! the overall score and completion, serialised once into a canonical JSON document whose
//! SHA-256 digest is kept beside it.

use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::framework::RollUp;
use super::scoring::{AnswerState, AnswerValue, RolledUp, ScoreScale, ScoredGoal, roll_up};

/// A goal as the snapshot needs it.
#[derive(Debug, Clone)]
pub struct SnapshotGoal {
    pub id: Uuid,
    pub code: String,
    pub section: usize,
    pub weight: f64,
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
    pub goal_scores: Vec<(Uuid, AnswerState, Option<f64>)>,
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
    score: Option<f64>,
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
    value: Option<serde_json::Value>,
    score: Option<f64>,
}

/// Identifies the snapshot inside its document.
pub struct SnapshotHeader<'a> {
    pub participant_code: &'a str,
    pub cycle_code: &'a str,
    pub revision: i32,
}

/// Scores the answers (one per goal, in goal order) and freezes them.
pub fn freeze(
    header: &SnapshotHeader<'_>,
    method: RollUp,
    sections: &[SnapshotSection],
    goals: &[SnapshotGoal],
    answers: &[AnswerState],
) -> FrozenSnapshot {
    let scored: Vec<ScoredGoal> = goals
        .iter()
        .zip(answers)
        .map(|(goal, answer)| ScoredGoal::new(goal.weight, goal.scale, *answer))
        .collect();
    let overall = roll_up(method, &scored);
    let section_figures: Vec<(Uuid, RolledUp)> = sections
        .iter()
        .enumerate()
        .map(|(index, section)| {
            let in_section = goals
                .iter()
                .zip(&scored)
                .filter(|(goal, _)| goal.section == index)
                .map(|(_, scored)| scored);
            (section.id, roll_up(method, in_section))
        })
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
            .map(|((goal, answer), scored)| AnswerFigure {
                goal: &goal.code,
                state: match answer {
                    AnswerState::Missing => "missing",
                    AnswerState::NotApplicable => "not_applicable",
                    AnswerState::Answered(_) => "answered",
                },
                value: match answer {
                    AnswerState::Answered(AnswerValue::Level(level)) => Some((*level).into()),
                    AnswerState::Answered(AnswerValue::Number(number)) => Some((*number).into()),
                    AnswerState::Answered(AnswerValue::Bool(yes)) => Some((*yes).into()),
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
                weight: 1.0,
                scale: ScoreScale::Maturity {
                    lowest: 0,
                    highest: 5,
                },
            },
            SnapshotGoal {
                id: Uuid::new_v4(),
                code: "I.2".into(),
                section: 0,
                weight: 1.0,
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
        assert_eq!(frozen.overall.score, Some(0.8));
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
