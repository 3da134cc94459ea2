//! The progress report of one participant in one cycle: its figures from the submitted
//! snapshot, the change since the previous cycle, the trend over every cycle up to this one
//! (re-scored on this cycle's framework version through the mappings), the answers that moved
//! most, its national goals against their targets, open clarification requests, and where it
//! stands in the anonymous distribution of all submissions.

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

use super::{CycleRef, Figure, FrameworkShape, SectionRef, SnapshotRef};
use crate::domain::scoring::distribution::Distribution;
use crate::domain::scoring::translation::{GoalResult, Translator};
use crate::domain::scoring::{
    AnswerValue, Decimal, attainment, change, number, shown, shown_decimals, shown_score,
};

/// How many moved answers a report lists.
pub const MOVED_ANSWERS: usize = 10;

/// The participant reported on.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ParticipantRef {
    pub id: Uuid,
    pub code: String,
    pub name_en: String,
    pub name_fr: String,
}

/// One answer as a snapshot recorded it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordedAnswer {
    pub goal_id: Uuid,
    pub not_applicable: bool,
    pub value_level: Option<i16>,
    pub value_number: Option<Decimal>,
    pub value_bool: Option<bool>,
    pub goal_score: Option<Decimal>,
}

impl RecordedAnswer {
    /// The recorded value, if any.
    pub fn value(&self) -> Option<AnswerValue> {
        AnswerValue::from_columns(self.value_level, self.value_number, self.value_bool)
    }

    /// What the answer contributes to scores.
    pub fn result(&self) -> GoalResult {
        match (self.not_applicable, self.goal_score) {
            (true, _) => GoalResult::NotApplicable,
            (false, Some(score)) => GoalResult::Scored(score),
            (false, None) => GoalResult::Missing,
        }
    }
}

/// The participant's submission in one cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleSubmission {
    pub cycle: CycleRef,
    pub snapshot: SnapshotRef,
    /// As stored with the snapshot.
    pub overall: Figure,
    /// By goal id of the cycle's framework version (may be left empty when `stored_sections`
    /// is given and the cycle is neither the report's nor the previous one).
    pub results: HashMap<Uuid, GoalResult>,
    /// The section scores stored with the snapshot, in the report's section order, when it
    /// was submitted on the report's own framework version: the trend shows them as they are
    /// (re-scoring the same answers on the same structure gives the same figures), so the
    /// answers of earlier cycles need not be read.
    pub stored_sections: Option<Vec<Option<Decimal>>>,
}

/// Quartiles and median of one figure over all complete submissions: what a delegation may see
/// of the others (PRODUCT.md §4.3). Minimum and maximum are left out: each is one participant's
/// own score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AnonymousDistribution {
    /// How many complete figures it summarises (at least five).
    pub count: usize,
    #[serde(with = "number")]
    pub q1: Decimal,
    #[serde(with = "number")]
    pub median: Decimal,
    #[serde(with = "number")]
    pub q3: Decimal,
}

impl AnonymousDistribution {
    /// The figures as shown on a scale whose highest score is `max`.
    pub fn shown(self, max: Decimal) -> Self {
        let decimals = shown_decimals(max);
        Self {
            count: self.count,
            q1: shown(self.q1, decimals),
            median: shown(self.median, decimals),
            q3: shown(self.q3, decimals),
        }
    }
}

impl From<Distribution> for AnonymousDistribution {
    fn from(d: Distribution) -> Self {
        Self {
            count: d.count,
            q1: d.q1,
            median: d.median,
            q3: d.q3,
        }
    }
}

/// The anonymous distribution of every complete submission in the cycle.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AllianceFigures {
    /// Participants that submitted in the cycle.
    pub participants: usize,
    pub overall: Option<AnonymousDistribution>,
    /// In the report's section order.
    pub sections: Vec<Option<AnonymousDistribution>>,
}

/// A national goal with its attainment.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NationalGoalLine {
    pub id: Uuid,
    pub section_code: String,
    pub title: String,
    /// level or number
    pub measure: String,
    pub unit: String,
    #[serde(with = "number::option")]
    pub baseline_value: Option<Decimal>,
    #[serde(with = "number::option")]
    pub current_value: Option<Decimal>,
    #[serde(with = "number")]
    pub target_value: Decimal,
    pub target_year: i32,
    pub status: String,
    /// (current − baseline) ÷ (target − baseline), clamped to 0–1, as shown: a whole percentage
    /// (two decimals of the share); see the methodology.
    #[serde(with = "number::option")]
    pub attainment: Option<Decimal>,
}

impl NationalGoalLine {
    /// Computes the attainment of a goal read from storage.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: Uuid,
        section_code: String,
        title: String,
        measure: String,
        unit: String,
        baseline_value: Option<Decimal>,
        current_value: Option<Decimal>,
        target_value: Decimal,
        target_year: i32,
        status: String,
    ) -> Self {
        Self {
            attainment: attainment(baseline_value, current_value, target_value)
                .map(|a| shown(a, 2)),
            id,
            section_code,
            title,
            measure,
            unit,
            baseline_value,
            current_value,
            target_value,
            target_year,
            status,
        }
    }
}

/// An open clarification request on the assessment.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OpenClarification {
    pub id: Uuid,
    pub goal_code: String,
    pub question: String,
    /// open or answered
    pub state: String,
}

/// What a progress report is built from.
pub struct ProgressInput<'a> {
    pub participant: ParticipantRef,
    pub cycle: CycleRef,
    pub previous_cycle: Option<CycleRef>,
    pub assessment_id: Uuid,
    pub assessment_state: String,
    pub shape: &'a FrameworkShape,
    /// The current snapshot's stored section figures, in section order (empty when none).
    pub section_figures: Vec<Figure>,
    /// The current snapshot's answers (empty when none).
    pub answers: Vec<RecordedAnswer>,
    /// The participant's submissions in this cycle and every earlier one, any order.
    pub history: Vec<CycleSubmission>,
    /// The weight of every goal of the versions in `history`.
    pub weights: HashMap<Uuid, Decimal>,
    pub translator: &'a Translator,
    /// `None` when withheld (fewer than five submissions).
    pub alliance: Option<AllianceFigures>,
    pub national_goals: Vec<NationalGoalLine>,
    pub clarifications: Vec<OpenClarification>,
}

/// One section's line.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SectionLine {
    pub section: SectionRef,
    pub figure: Figure,
    #[serde(with = "number::option")]
    pub previous: Option<Decimal>,
    #[serde(with = "number::option")]
    pub change: Option<Decimal>,
    pub alliance: Option<AnonymousDistribution>,
}

/// One cycle of the trend.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TrendPoint {
    pub cycle: CycleRef,
    pub snapshot: SnapshotRef,
    /// As submitted, on that cycle's own framework version.
    #[serde(with = "number::option")]
    pub published_overall: Option<Decimal>,
    /// Re-scored on this report's framework version; `false` when no mapping joins them.
    pub comparable: bool,
    /// The cycle used another framework version: `overall` and `sections` are its answers
    /// re-scored on this report's version, and may differ from `published_overall`.
    pub rescored: bool,
    #[serde(with = "number::option")]
    pub overall: Option<Decimal>,
    /// In the report's section order.
    #[serde(serialize_with = "number::options")]
    pub sections: Vec<Option<Decimal>>,
}

/// One goal's answer with what it was in the previous cycle.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AnswerLine {
    pub goal_id: Uuid,
    pub goal_code: String,
    pub goal_title_en: String,
    pub goal_title_fr: String,
    /// Index into the report's sections.
    pub section: usize,
    #[serde(with = "number")]
    pub weight: Decimal,
    /// missing, not_applicable or answered
    pub state: String,
    pub value_level: Option<i16>,
    #[serde(with = "number::option")]
    pub value_number: Option<Decimal>,
    pub value_bool: Option<bool>,
    /// The goal score as shown (3 decimals).
    #[serde(with = "number::option")]
    pub score: Option<Decimal>,
    #[serde(with = "number::option")]
    pub previous_score: Option<Decimal>,
    #[serde(with = "number::option")]
    pub change: Option<Decimal>,
}

impl AnswerLine {
    /// The recorded value, if any.
    pub fn value(&self) -> Option<AnswerValue> {
        AnswerValue::from_columns(self.value_level, self.value_number, self.value_bool)
    }
}

/// The progress report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProgressReport {
    pub participant: ParticipantRef,
    pub cycle: CycleRef,
    pub previous_cycle: Option<CycleRef>,
    pub assessment_id: Uuid,
    pub assessment_state: String,
    pub roll_up: String,
    #[serde(with = "number")]
    pub overall_max_score: Decimal,
    /// The snapshot the figures come from; `null` before the first submission.
    pub snapshot: Option<SnapshotRef>,
    pub overall: Option<Figure>,
    /// The previous cycle's overall figure on this cycle's structure (re-scored when
    /// `previous_rescored`).
    #[serde(with = "number::option")]
    pub overall_previous: Option<Decimal>,
    #[serde(with = "number::option")]
    pub overall_change: Option<Decimal>,
    /// The previous cycle used another framework version: `overall_previous`, the sections'
    /// `previous` and the answers' `previous_score` are re-scored through the mapping.
    pub previous_rescored: bool,
    pub sections: Vec<SectionLine>,
    /// `null` when fewer than five participants submitted.
    pub alliance: Option<AllianceFigures>,
    /// Oldest first, this cycle last.
    pub trend: Vec<TrendPoint>,
    /// Every goal of the framework, in order (the inputs of every figure).
    pub answers: Vec<AnswerLine>,
    /// Up to ten answers whose score changed most since the previous cycle.
    pub moved: Vec<AnswerLine>,
    pub national_goals: Vec<NationalGoalLine>,
    pub clarifications: Vec<OpenClarification>,
}

/// Builds the report.
pub fn build(input: ProgressInput<'_>) -> ProgressReport {
    let shape = input.shape;
    let mut history = input.history;
    history
        .sort_by(|a, b| (a.cycle.opens_on, &a.cycle.code).cmp(&(b.cycle.opens_on, &b.cycle.code)));
    let current = history.iter().find(|h| h.cycle.id == input.cycle.id);
    let previous = input
        .previous_cycle
        .as_ref()
        .and_then(|p| history.iter().find(|h| h.cycle.id == p.id));

    let carried = |submission: &CycleSubmission| {
        if submission.cycle.framework_id == shape.id {
            Some(submission.results.clone())
        } else {
            input.translator.carry(
                submission.cycle.framework_id,
                shape.id,
                &input.weights,
                &submission.results,
            )
        }
    };
    let previous_results = previous.and_then(carried);
    let previous_scores = previous_results.as_ref().map(|r| shape.score(r));

    let overall_max = shape.max_score();
    let overall = current.map(|c| c.overall);
    let overall_previous = previous_scores.as_ref().and_then(|s| s.overall.score);
    let sections: Vec<SectionLine> = shape
        .sections
        .iter()
        .enumerate()
        .map(|(index, section)| {
            let figure = input.section_figures.get(index).copied();
            let previous = previous_scores
                .as_ref()
                .and_then(|s| s.sections.get(index))
                .and_then(|f| f.score);
            let max = section.max_score;
            SectionLine {
                section: section.clone(),
                figure: figure
                    .unwrap_or(Figure {
                        score: None,
                        answered: 0,
                        applicable: 0,
                        completion: None,
                        complete: false,
                    })
                    .shown(max),
                previous: previous.map(|p| shown_score(p, max)),
                change: change(figure.and_then(|f| f.score), previous)
                    .map(|c| shown(c, shown_decimals(max))),
                alliance: input
                    .alliance
                    .as_ref()
                    .and_then(|a| a.sections.get(index).copied().flatten())
                    .map(|a| a.shown(max)),
            }
        })
        .collect();

    let trend = history
        .iter()
        .map(|submission| {
            // (overall, sections) on this report's structure.
            let scores: Option<(Option<Decimal>, Vec<Option<Decimal>>)> =
                match &submission.stored_sections {
                    Some(sections) if submission.cycle.framework_id == shape.id => {
                        Some((submission.overall.score, sections.clone()))
                    }
                    _ => carried(submission).map(|r| {
                        let scores = shape.score(&r);
                        (
                            scores.overall.score,
                            scores.sections.iter().map(|f| f.score).collect(),
                        )
                    }),
                };
            TrendPoint {
                cycle: submission.cycle.clone(),
                snapshot: submission.snapshot.clone(),
                published_overall: submission
                    .overall
                    .score
                    .map(|s| shown_score(s, overall_max)),
                comparable: scores.is_some(),
                rescored: scores.is_some() && submission.cycle.framework_id != shape.id,
                overall: scores
                    .as_ref()
                    .and_then(|s| s.0)
                    .map(|s| shown_score(s, overall_max)),
                sections: match &scores {
                    Some((_, sections)) => shape
                        .sections
                        .iter()
                        .enumerate()
                        .map(|(index, section)| {
                            sections
                                .get(index)
                                .copied()
                                .flatten()
                                .map(|v| shown_score(v, section.max_score))
                        })
                        .collect(),
                    None => vec![None; shape.sections.len()],
                },
            }
        })
        .collect();

    let answers = answer_lines(shape, &input.answers, previous_results.as_ref());
    // Ordered by the exact change of the goal score; listed when the change as shown is not 0.
    // Only the few listed are copied.
    let mut first_answer: HashMap<Uuid, &RecordedAnswer> =
        HashMap::with_capacity(input.answers.len());
    for answer in &input.answers {
        first_answer.entry(answer.goal_id).or_insert(answer);
    }
    let exact_change = |line: &AnswerLine| -> Option<Decimal> {
        let score = first_answer.get(&line.goal_id)?.goal_score;
        let previous = match previous_results.as_ref()?.get(&line.goal_id) {
            Some(GoalResult::Scored(score)) => Some(*score),
            _ => None,
        };
        change(score, previous)
    };
    let mut candidates: Vec<(Decimal, usize)> = answers
        .iter()
        .enumerate()
        .filter(|(_, a)| a.change.is_some_and(|c| !c.is_zero()))
        .map(|(index, line)| {
            (
                exact_change(line).map(|c| c.abs()).unwrap_or_default(),
                index,
            )
        })
        .collect();
    let order = |a: &(Decimal, usize), b: &(Decimal, usize)| {
        b.0.cmp(&a.0)
            .then_with(|| answers[a.1].goal_code.cmp(&answers[b.1].goal_code))
            .then_with(|| a.1.cmp(&b.1))
    };
    if candidates.len() > MOVED_ANSWERS {
        candidates.select_nth_unstable_by(MOVED_ANSWERS - 1, order);
        candidates.truncate(MOVED_ANSWERS);
    }
    candidates.sort_by(order);
    let moved: Vec<AnswerLine> = candidates
        .iter()
        .map(|(_, index)| answers[*index].clone())
        .collect();

    ProgressReport {
        participant: input.participant,
        snapshot: current.map(|c| c.snapshot.clone()),
        cycle: input.cycle,
        previous_cycle: input.previous_cycle,
        assessment_id: input.assessment_id,
        assessment_state: input.assessment_state,
        roll_up: shape.roll_up.as_str().to_owned(),
        overall_max_score: overall_max,
        overall_change: change(overall.and_then(|o| o.score), overall_previous)
            .map(|c| shown(c, shown_decimals(overall_max))),
        previous_rescored: previous_scores.is_some()
            && previous.is_some_and(|p| p.cycle.framework_id != shape.id),
        overall: overall.map(|o| o.shown(overall_max)),
        overall_previous: overall_previous.map(|p| shown_score(p, overall_max)),
        sections,
        alliance: input.alliance.map(|a| AllianceFigures {
            participants: a.participants,
            overall: a.overall.map(|o| o.shown(overall_max)),
            sections: a
                .sections
                .iter()
                .zip(&shape.sections)
                .map(|(d, section)| d.map(|d| d.shown(section.max_score)))
                .collect(),
        }),
        trend,
        answers,
        moved,
        national_goals: input.national_goals,
        clarifications: input.clarifications,
    }
}

fn answer_lines(
    shape: &FrameworkShape,
    answers: &[RecordedAnswer],
    previous: Option<&HashMap<Uuid, GoalResult>>,
) -> Vec<AnswerLine> {
    let by_goal: HashMap<Uuid, &RecordedAnswer> = answers.iter().map(|a| (a.goal_id, a)).collect();
    shape
        .goals
        .iter()
        .map(|goal| {
            let answer = by_goal.get(&goal.id);
            let score = answer.and_then(|a| a.goal_score);
            let previous_score = previous.and_then(|p| match p.get(&goal.id) {
                Some(GoalResult::Scored(score)) => Some(*score),
                _ => None,
            });
            AnswerLine {
                goal_id: goal.id,
                goal_code: goal.code.clone(),
                goal_title_en: goal.title_en.clone(),
                goal_title_fr: goal.title_fr.clone(),
                section: goal.section,
                weight: goal.weight,
                state: match answer.map(|a| a.result()) {
                    Some(GoalResult::NotApplicable) => "not_applicable",
                    Some(GoalResult::Scored(_)) => "answered",
                    _ => "missing",
                }
                .to_owned(),
                value_level: answer.and_then(|a| a.value_level),
                value_number: answer.and_then(|a| a.value_number),
                value_bool: answer.and_then(|a| a.value_bool),
                score: score.map(|s| shown(s, 3)),
                previous_score: previous_score.map(|s| shown(s, 3)),
                change: change(score, previous_score).map(|c| shown(c, 3)),
            }
        })
        .collect()
}
