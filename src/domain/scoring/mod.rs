//! The one scoring method: every figure the product shows or exports is computed here
//! (docs/scoring.md explains it for readers).
//!
//! - goal score: the answer normalised to 0–1 on the goal's scale;
//! - section score: weighted mean (Σw·s/Σw) or sum (Σw·s) over the section's applicable answered
//!   goals, as the framework says; no score when none is answered;
//! - overall score: the same roll-up over all applicable answered goals of the framework;
//! - completion: answered ÷ applicable (not-applicable goals leave both counts);
//! - change: the later figure minus the earlier one;
//! - attainment of a national goal: the share of the way from baseline to target covered;
//! - distributions ([`distribution`]) and trends across framework versions ([`translation`]).

pub mod distribution;
pub mod translation;

use super::framework::RollUp;
use translation::GoalResult;

/// Scores are rounded to this many decimals, so that equal inputs give equal figures whatever the
/// order of the additions (dense ranks compare these rounded values).
pub const SCORE_DECIMALS: i32 = 6;

/// The scale facts the scoring needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScoreScale {
    Maturity { lowest: i16, highest: i16 },
    Numeric { min: f64, max: f64 },
    YesNo,
}

/// An answer's value on its scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnswerValue {
    Level(i16),
    Number(f64),
    Bool(bool),
}

impl AnswerValue {
    /// The value as files write it: a level, a number, `yes` or `no`.
    pub fn text(&self) -> String {
        match self {
            AnswerValue::Level(level) => level.to_string(),
            AnswerValue::Number(number) => number.to_string(),
            AnswerValue::Bool(true) => "yes".to_owned(),
            AnswerValue::Bool(false) => "no".to_owned(),
        }
    }

    /// The value from a row's three columns, whichever is set.
    pub fn from_columns(
        level: Option<i16>,
        number: Option<f64>,
        yes: Option<bool>,
    ) -> Option<Self> {
        level
            .map(AnswerValue::Level)
            .or(number.map(AnswerValue::Number))
            .or(yes.map(AnswerValue::Bool))
    }
}

/// What a goal's answer contributes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnswerState {
    Missing,
    NotApplicable,
    Answered(AnswerValue),
}

/// Rounds to [`SCORE_DECIMALS`].
pub fn round_score(value: f64) -> f64 {
    let factor = 10f64.powi(SCORE_DECIMALS);
    (value * factor).round() / factor
}

/// The value normalised to 0–1 on the scale (clamped), or `None` when the value does not belong
/// to the scale's kind.
pub fn goal_score(scale: ScoreScale, value: AnswerValue) -> Option<f64> {
    let raw = match (scale, value) {
        (ScoreScale::Maturity { lowest, highest }, AnswerValue::Level(level)) => {
            if highest <= lowest {
                return None;
            }
            f64::from(level - lowest) / f64::from(highest - lowest)
        }
        (ScoreScale::Numeric { min, max }, AnswerValue::Number(number)) => {
            if max <= min || !number.is_finite() {
                return None;
            }
            (number - min) / (max - min)
        }
        (ScoreScale::YesNo, AnswerValue::Bool(yes)) => f64::from(u8::from(yes)),
        _ => return None,
    };
    Some(round_score(raw.clamp(0.0, 1.0)))
}

/// One goal as the roll-up sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredGoal {
    pub weight: f64,
    /// `None` when not applicable.
    pub applicable: bool,
    /// `None` when not answered (or not applicable).
    pub score: Option<f64>,
}

impl ScoredGoal {
    /// Scores one answer of a goal.
    pub fn new(weight: f64, scale: ScoreScale, answer: AnswerState) -> Self {
        match answer {
            AnswerState::Missing => Self {
                weight,
                applicable: true,
                score: None,
            },
            AnswerState::NotApplicable => Self {
                weight,
                applicable: false,
                score: None,
            },
            AnswerState::Answered(value) => Self {
                weight,
                applicable: true,
                score: goal_score(scale, value),
            },
        }
    }
}

impl ScoredGoal {
    /// A goal whose score is already known (carried from another version, or stored).
    pub fn from_result(weight: f64, result: GoalResult) -> Self {
        match result {
            GoalResult::Missing => Self {
                weight,
                applicable: true,
                score: None,
            },
            GoalResult::NotApplicable => Self {
                weight,
                applicable: false,
                score: None,
            },
            GoalResult::Scored(score) => Self {
                weight,
                applicable: true,
                score: Some(score),
            },
        }
    }
}

/// A rolled-up figure with the counts behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RolledUp {
    /// `None` when no applicable goal is answered (or, for a weighted mean, all weights are 0).
    pub score: Option<f64>,
    pub answered: u32,
    pub applicable: u32,
}

impl RolledUp {
    /// answered ÷ applicable, or `None` when nothing is applicable.
    pub fn completion(&self) -> Option<f64> {
        (self.applicable > 0)
            .then(|| round_score(f64::from(self.answered) / f64::from(self.applicable)))
    }

    /// Whether every applicable goal is answered.
    pub fn is_complete(&self) -> bool {
        self.answered == self.applicable
    }
}

/// Rolls goal scores up into one figure (a section, or the whole framework).
pub fn roll_up<'a>(method: RollUp, goals: impl IntoIterator<Item = &'a ScoredGoal>) -> RolledUp {
    let (mut weighted, mut weights, mut answered, mut applicable) = (0.0, 0.0, 0u32, 0u32);
    for goal in goals {
        if !goal.applicable {
            continue;
        }
        applicable += 1;
        if let Some(score) = goal.score {
            answered += 1;
            weighted += goal.weight * score;
            weights += goal.weight;
        }
    }
    let score = match method {
        _ if answered == 0 => None,
        RollUp::Sum => Some(round_score(weighted)),
        RollUp::WeightedMean if weights > 0.0 => Some(round_score(weighted / weights)),
        RollUp::WeightedMean => None,
    };
    RolledUp {
        score,
        answered,
        applicable,
    }
}

/// The overall figure and one per section.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameworkScores {
    pub overall: RolledUp,
    pub sections: Vec<RolledUp>,
}

/// Rolls goals up per section (each goal with the index of its section) and over the whole
/// framework, pooled.
pub fn score_framework(
    method: RollUp,
    section_count: usize,
    goals: &[(usize, ScoredGoal)],
) -> FrameworkScores {
    FrameworkScores {
        overall: roll_up(method, goals.iter().map(|(_, goal)| goal)),
        sections: (0..section_count)
            .map(|index| {
                roll_up(
                    method,
                    goals
                        .iter()
                        .filter(|(section, _)| *section == index)
                        .map(|(_, goal)| goal),
                )
            })
            .collect(),
    }
}

/// The highest figure goals with these weights can reach: 1 for a weighted mean, Σw for a sum.
pub fn maximum_score(method: RollUp, weights: impl IntoIterator<Item = f64>) -> f64 {
    match method {
        RollUp::WeightedMean => 1.0,
        RollUp::Sum => round_score(weights.into_iter().sum()),
    }
}

/// The later figure minus the earlier one, when both exist.
pub fn change(later: Option<f64>, earlier: Option<f64>) -> Option<f64> {
    Some(round_score(later? - earlier?))
}

/// How far a national goal has come from its baseline (0 when absent) towards its target, as a
/// share in 0–1: (current − baseline) ÷ (target − baseline), clamped. Works for goals that
/// aim down as well as up. A target equal to the baseline is attained (1) when the current
/// value equals it, otherwise not (0). No figure without a current value.
pub fn attainment(baseline: Option<f64>, current: Option<f64>, target: f64) -> Option<f64> {
    let current = current?;
    let baseline = baseline.unwrap_or(0.0);
    let span = target - baseline;
    if !current.is_finite() || !span.is_finite() {
        return None;
    }
    if span == 0.0 {
        return Some(if current == target { 1.0 } else { 0.0 });
    }
    Some(round_score(((current - baseline) / span).clamp(0.0, 1.0)))
}

/// Dense ranks for scores sorted or not: the highest score ranks 1, ties share a rank and the
/// next rank follows without a gap. `None` scores get no rank.
pub fn dense_ranks(scores: &[Option<f64>]) -> Vec<Option<u32>> {
    let mut distinct: Vec<f64> = scores.iter().flatten().map(|s| round_score(*s)).collect();
    distinct.sort_by(|a, b| b.total_cmp(a));
    distinct.dedup();
    scores
        .iter()
        .map(|score| {
            let score = round_score((*score)?);
            distinct
                .iter()
                .position(|d| *d == score)
                .map(|index| index as u32 + 1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_LEVELS: ScoreScale = ScoreScale::Maturity {
        lowest: 0,
        highest: 5,
    };

    #[test]
    fn goal_scores_normalise_each_scale_to_zero_one() {
        assert_eq!(goal_score(FIVE_LEVELS, AnswerValue::Level(3)), Some(0.6));
        let ncaf = ScoreScale::Maturity {
            lowest: 1,
            highest: 5,
        };
        assert_eq!(goal_score(ncaf, AnswerValue::Level(1)), Some(0.0));
        let pct = ScoreScale::Numeric {
            min: 0.0,
            max: 20.0,
        };
        assert_eq!(goal_score(pct, AnswerValue::Number(19.54)), Some(0.977));
        assert_eq!(goal_score(pct, AnswerValue::Number(25.0)), Some(1.0));
        assert_eq!(
            goal_score(ScoreScale::YesNo, AnswerValue::Bool(true)),
            Some(1.0)
        );
        assert_eq!(goal_score(ScoreScale::YesNo, AnswerValue::Level(1)), None);
    }

    #[test]
    fn weighted_mean_skips_not_applicable_and_missing_answers() {
        let goals = [
            ScoredGoal::new(
                2.0,
                FIVE_LEVELS,
                AnswerState::Answered(AnswerValue::Level(5)),
            ),
            ScoredGoal::new(
                1.0,
                FIVE_LEVELS,
                AnswerState::Answered(AnswerValue::Level(2)),
            ),
            ScoredGoal::new(1.0, FIVE_LEVELS, AnswerState::NotApplicable),
            ScoredGoal::new(1.0, FIVE_LEVELS, AnswerState::Missing),
        ];
        let rolled = roll_up(RollUp::WeightedMean, &goals);
        assert_eq!(rolled.score, Some(round_score((2.0 * 1.0 + 0.4) / 3.0)));
        assert_eq!((rolled.answered, rolled.applicable), (2, 3));
        assert_eq!(rolled.completion(), Some(round_score(2.0 / 3.0)));
        assert!(!rolled.is_complete());
    }

    #[test]
    fn sum_with_weights_as_points_gives_back_the_points() {
        let pillar = ScoreScale::Numeric {
            min: 0.0,
            max: 20.0,
        };
        let goals: Vec<ScoredGoal> = [20.0, 19.54, 18.98, 20.0, 19.41]
            .iter()
            .map(|v| ScoredGoal::new(20.0, pillar, AnswerState::Answered(AnswerValue::Number(*v))))
            .collect();
        assert_eq!(roll_up(RollUp::Sum, &goals).score, Some(97.93));
    }

    #[test]
    fn nothing_answered_gives_no_score() {
        let goals = [ScoredGoal::new(1.0, FIVE_LEVELS, AnswerState::Missing)];
        assert_eq!(roll_up(RollUp::Sum, &goals).score, None);
        assert_eq!(roll_up(RollUp::WeightedMean, &[]).completion(), None);
    }

    #[test]
    fn attainment_measures_the_way_from_baseline_to_target() {
        assert_eq!(attainment(Some(2.0), Some(3.0), 4.0), Some(0.5));
        assert_eq!(attainment(None, Some(15.0), 10.0), Some(1.0), "clamped");
        assert_eq!(
            attainment(Some(40.0), Some(30.0), 20.0),
            Some(0.5),
            "aiming down"
        );
        assert_eq!(attainment(Some(5.0), Some(5.0), 5.0), Some(1.0));
        assert_eq!(attainment(Some(5.0), Some(4.0), 5.0), Some(0.0));
        assert_eq!(attainment(Some(1.0), None, 5.0), None);
    }

    #[test]
    fn section_and_overall_figures_pool_goals_as_documented() {
        let one = |score| ScoredGoal::from_result(1.0, GoalResult::Scored(score));
        let goals = [(0, one(1.0)), (1, one(0.0)), (1, one(0.0)), (1, one(0.0))];
        let scores = score_framework(RollUp::WeightedMean, 2, &goals);
        assert_eq!(scores.sections[0].score, Some(1.0));
        assert_eq!(scores.sections[1].score, Some(0.0));
        assert_eq!(
            scores.overall.score,
            Some(0.25),
            "pooled, not a mean of sections"
        );
        assert_eq!(maximum_score(RollUp::Sum, [20.0; 5]), 100.0);
        assert_eq!(change(Some(0.7), Some(0.25)), Some(0.45));
        assert_eq!(change(Some(0.7), None), None);
    }

    #[test]
    fn dense_ranks_share_ties_without_gaps() {
        let ranks = dense_ranks(&[Some(99.5), Some(100.0), Some(99.5), None, Some(98.0)]);
        assert_eq!(ranks, [Some(2), Some(1), Some(2), None, Some(3)]);
    }
}
