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
pub mod number;
pub mod translation;

pub use rust_decimal::Decimal;
use rust_decimal::RoundingStrategy;

use super::framework::RollUp;
use translation::GoalResult;

/// Quotients (a goal score, a weighted mean, a merged goal's mean, attainment) are carried to
/// this many decimals, half away from zero, so that equal inputs give equal figures whatever the
/// order of the additions. Sums and differences of them are exact (no rounding at all), so a
/// `sum` of points gives back the entered points exactly. Shown figures are rounded once more,
/// from these, to their shown decimals ([`shown`]).
pub const SCORE_DECIMALS: u32 = 12;

/// The scale facts the scoring needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScoreScale {
    Maturity { lowest: i16, highest: i16 },
    Numeric { min: Decimal, max: Decimal },
    YesNo,
}

/// An answer's value on its scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnswerValue {
    Level(i16),
    Number(Decimal),
    Bool(bool),
}

impl AnswerValue {
    /// The value as files write it: a level, a number (as entered: `0.890` keeps its three
    /// decimals), `yes` or `no`.
    pub fn text(&self) -> String {
        match self {
            AnswerValue::Level(level) => level.to_string(),
            AnswerValue::Number(number) => number.to_string(),
            AnswerValue::Bool(true) => "yes".to_owned(),
            AnswerValue::Bool(false) => "no".to_owned(),
        }
    }

    /// The value as files write it, a number with the decimals its scale declares (`0.890` on a
    /// three-decimal scale, even when stored as `0.89`).
    pub fn text_with_decimals(&self, decimals: Option<u32>) -> String {
        match (self, decimals) {
            (AnswerValue::Number(number), Some(decimals)) if number.scale() < decimals => {
                let mut number = *number;
                number.rescale(decimals);
                number.to_string()
            }
            _ => self.text(),
        }
    }

    /// The value from a row's three columns, whichever is set.
    pub fn from_columns(
        level: Option<i16>,
        number: Option<Decimal>,
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

/// Rounds a quotient to [`SCORE_DECIMALS`], half away from zero.
pub fn round_score(value: Decimal) -> Decimal {
    normalise_zero(
        value.round_dp_with_strategy(SCORE_DECIMALS, RoundingStrategy::MidpointAwayFromZero),
    )
}

/// `numerator ÷ denominator` to [`SCORE_DECIMALS`]; `None` when the denominator is 0 or the
/// quotient does not fit.
pub fn quotient(numerator: Decimal, denominator: Decimal) -> Option<Decimal> {
    numerator.checked_div(denominator).map(round_score)
}

fn normalise_zero(mut value: Decimal) -> Decimal {
    if value.is_zero() {
        value.set_sign_positive(true);
    }
    value
}

/// How many decimals a score on 0–`max` is shown with: three on 0–1 (weighted means, goal
/// scores), two on larger scales (sums of points, like GCI's 0–100).
pub fn shown_decimals(max: Decimal) -> u32 {
    if max <= Decimal::ONE { 3 } else { 2 }
}

/// The one display rounding of the method: `value` rounded half away from zero to `decimals`,
/// with exactly that many decimals (`0.890`, not `0.89`), never a negative zero. Pages, the JSON
/// API and every export print the figure this gives.
pub fn shown(value: Decimal, decimals: u32) -> Decimal {
    let mut rounded =
        value.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(decimals);
    normalise_zero(rounded)
}

/// A score on 0–`max` as shown ([`shown`] with [`shown_decimals`]).
pub fn shown_score(value: Decimal, max: Decimal) -> Decimal {
    shown(value, shown_decimals(max))
}

/// A share in 0–1 as shown: a whole percentage, half away from zero (`0.835` → 84).
pub fn shown_percent(share: Decimal) -> Decimal {
    shown(share * Decimal::ONE_HUNDRED, 0)
}

/// The value normalised to 0–1 on the scale (clamped), or `None` when the value does not belong
/// to the scale's kind.
pub fn goal_score(scale: ScoreScale, value: AnswerValue) -> Option<Decimal> {
    let (numerator, denominator) = score_fraction(scale, value)?;
    quotient(numerator, denominator)
}

/// The goal score as an exact fraction (part of the span, span), clamped to 0–1.
fn score_fraction(scale: ScoreScale, value: AnswerValue) -> Option<(Decimal, Decimal)> {
    let (part, span) = match (scale, value) {
        (ScoreScale::Maturity { lowest, highest }, AnswerValue::Level(level)) => {
            if highest <= lowest {
                return None;
            }
            (
                Decimal::from(level - lowest),
                Decimal::from(highest - lowest),
            )
        }
        (ScoreScale::Numeric { min, max }, AnswerValue::Number(number)) => {
            if max <= min {
                return None;
            }
            (number.checked_sub(min)?, max.checked_sub(min)?)
        }
        (ScoreScale::YesNo, AnswerValue::Bool(yes)) => (Decimal::from(u8::from(yes)), Decimal::ONE),
        _ => return None,
    };
    Some((part.clamp(Decimal::ZERO, span), span))
}

/// One goal as the roll-up sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredGoal {
    pub weight: Decimal,
    /// `false` when not applicable.
    pub applicable: bool,
    /// `None` when not answered (or not applicable).
    pub score: Option<Decimal>,
    /// weight × goal score, computed from the answer itself (w·(v − min) ÷ (max − min)), so that
    /// weights given as points give back the entered points exactly.
    pub points: Option<Decimal>,
}

impl ScoredGoal {
    /// Scores one answer of a goal.
    pub fn new(weight: Decimal, scale: ScoreScale, answer: AnswerState) -> Self {
        match answer {
            AnswerState::Missing => Self::missing(weight),
            AnswerState::NotApplicable => Self::not_applicable(weight),
            AnswerState::Answered(value) => {
                let fraction = score_fraction(scale, value);
                let score = fraction.and_then(|(part, span)| quotient(part, span));
                let points =
                    fraction.and_then(|(part, span)| quotient(weight.checked_mul(part)?, span));
                match (score, points) {
                    (Some(score), Some(points)) => Self {
                        weight,
                        applicable: true,
                        score: Some(score),
                        points: Some(points),
                    },
                    _ => Self::missing(weight),
                }
            }
        }
    }

    /// A goal whose score is already known (carried from another version, or stored).
    pub fn from_result(weight: Decimal, result: GoalResult) -> Self {
        match result {
            GoalResult::Missing => Self::missing(weight),
            GoalResult::NotApplicable => Self::not_applicable(weight),
            GoalResult::Scored(score) => Self {
                weight,
                applicable: true,
                score: Some(score),
                points: weight.checked_mul(score).map(round_score),
            },
        }
    }

    fn missing(weight: Decimal) -> Self {
        Self {
            weight,
            applicable: true,
            score: None,
            points: None,
        }
    }

    fn not_applicable(weight: Decimal) -> Self {
        Self {
            weight,
            applicable: false,
            score: None,
            points: None,
        }
    }
}

/// A rolled-up figure with the counts behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RolledUp {
    /// `None` when no applicable goal is answered (or, for a weighted mean, the answered goals'
    /// weights are all 0).
    pub score: Option<Decimal>,
    pub answered: u32,
    pub applicable: u32,
}

impl RolledUp {
    /// answered ÷ applicable, or `None` when nothing is applicable.
    pub fn completion(&self) -> Option<Decimal> {
        if self.applicable == 0 {
            return None;
        }
        quotient(Decimal::from(self.answered), Decimal::from(self.applicable))
    }

    /// Whether every applicable goal is answered.
    pub fn is_complete(&self) -> bool {
        self.answered == self.applicable
    }
}

/// Rolls goal scores up into one figure (a section, or the whole framework).
pub fn roll_up<'a>(method: RollUp, goals: impl IntoIterator<Item = &'a ScoredGoal>) -> RolledUp {
    let (mut points, mut weights, mut answered, mut applicable) =
        (Decimal::ZERO, Decimal::ZERO, 0u32, 0u32);
    let mut overflow = false;
    for goal in goals {
        if !goal.applicable {
            continue;
        }
        applicable += 1;
        if let (Some(_), Some(goal_points)) = (goal.score, goal.points) {
            answered += 1;
            match (
                points.checked_add(goal_points),
                weights.checked_add(goal.weight),
            ) {
                (Some(p), Some(w)) => (points, weights) = (p, w),
                _ => overflow = true,
            }
        }
    }
    let score = match method {
        _ if answered == 0 || overflow => None,
        RollUp::Sum => Some(normalise_zero(points)),
        RollUp::WeightedMean if weights > Decimal::ZERO => quotient(points, weights),
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
pub fn maximum_score(method: RollUp, weights: impl IntoIterator<Item = Decimal>) -> Decimal {
    match method {
        RollUp::WeightedMean => Decimal::ONE,
        RollUp::Sum => weights
            .into_iter()
            .fold(Decimal::ZERO, |sum, w| sum.saturating_add(w)),
    }
}

/// The later figure minus the earlier one, when both exist (exact).
pub fn change(later: Option<Decimal>, earlier: Option<Decimal>) -> Option<Decimal> {
    later?.checked_sub(earlier?).map(normalise_zero)
}

/// How far a national goal has come from its baseline (0 when absent) towards its target, as a
/// share in 0–1: (current − baseline) ÷ (target − baseline), clamped. Works for goals that
/// aim down as well as up. A target equal to the baseline is attained (1) when the current
/// value equals it, otherwise not (0). No figure without a current value.
pub fn attainment(
    baseline: Option<Decimal>,
    current: Option<Decimal>,
    target: Decimal,
) -> Option<Decimal> {
    let current = current?;
    let baseline = baseline.unwrap_or(Decimal::ZERO);
    let span = target.checked_sub(baseline)?;
    if span.is_zero() {
        return Some(if current == target {
            Decimal::ONE
        } else {
            Decimal::ZERO
        });
    }
    Some(quotient(current.checked_sub(baseline)?, span)?.clamp(Decimal::ZERO, Decimal::ONE))
}

/// Dense ranks of exact figures, sorted or not: the highest ranks 1, equal figures share a rank
/// and the next rank follows without a gap. `None` figures get no rank.
pub fn dense_ranks(scores: &[Option<Decimal>]) -> Vec<Option<u32>> {
    dense_ranks_by(scores)
}

/// [`dense_ranks`] of any ordered values: one sort of the ranked positions (O(n log n)
/// comparisons), then one pass giving each run of equal values the next rank.
pub fn dense_ranks_by<T: Ord>(values: &[Option<T>]) -> Vec<Option<u32>> {
    let mut order: Vec<(usize, &T)> = values
        .iter()
        .enumerate()
        .filter_map(|(index, value)| Some((index, value.as_ref()?)))
        .collect();
    order.sort_unstable_by(|a, b| b.1.cmp(a.1));
    let mut ranks = vec![None; values.len()];
    let mut rank = 0u32;
    let mut previous: Option<&T> = None;
    for (index, value) in order {
        if previous.is_none_or(|p| p != value) {
            rank = rank.saturating_add(1);
            previous = Some(value);
        }
        ranks[index] = Some(rank);
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn number(text: &str) -> AnswerValue {
        AnswerValue::Number(d(text))
    }

    const FIVE_LEVELS: ScoreScale = ScoreScale::Maturity {
        lowest: 0,
        highest: 5,
    };

    #[test]
    fn goal_scores_normalise_each_scale_to_zero_one() {
        assert_eq!(
            goal_score(FIVE_LEVELS, AnswerValue::Level(3)),
            Some(d("0.6"))
        );
        let ncaf = ScoreScale::Maturity {
            lowest: 1,
            highest: 5,
        };
        assert_eq!(goal_score(ncaf, AnswerValue::Level(1)), Some(Decimal::ZERO));
        let pct = ScoreScale::Numeric {
            min: d("0"),
            max: d("20"),
        };
        assert_eq!(goal_score(pct, number("19.54")), Some(d("0.977")));
        assert_eq!(goal_score(pct, number("25")), Some(Decimal::ONE));
        assert_eq!(
            goal_score(ScoreScale::YesNo, AnswerValue::Bool(true)),
            Some(Decimal::ONE)
        );
        assert_eq!(goal_score(ScoreScale::YesNo, AnswerValue::Level(1)), None);
        let thirds = ScoreScale::Numeric {
            min: d("0"),
            max: d("3"),
        };
        assert_eq!(goal_score(thirds, number("1")), Some(d("0.333333333333")));
    }

    #[test]
    fn weighted_mean_skips_not_applicable_and_missing_answers() {
        let goals = [
            ScoredGoal::new(
                d("2"),
                FIVE_LEVELS,
                AnswerState::Answered(AnswerValue::Level(5)),
            ),
            ScoredGoal::new(
                d("1"),
                FIVE_LEVELS,
                AnswerState::Answered(AnswerValue::Level(2)),
            ),
            ScoredGoal::new(d("1"), FIVE_LEVELS, AnswerState::NotApplicable),
            ScoredGoal::new(d("1"), FIVE_LEVELS, AnswerState::Missing),
        ];
        let rolled = roll_up(RollUp::WeightedMean, &goals);
        assert_eq!(rolled.score, Some(d("0.8")), "(2 × 1 + 0.4) ÷ 3");
        assert_eq!((rolled.answered, rolled.applicable), (2, 3));
        assert_eq!(rolled.completion(), Some(d("0.666666666667")));
        assert!(!rolled.is_complete());
    }

    #[test]
    fn sum_with_weights_as_points_gives_back_the_points() {
        let pillar = ScoreScale::Numeric {
            min: d("0"),
            max: d("20"),
        };
        let goals: Vec<ScoredGoal> = ["20", "19.54", "18.98", "20", "19.41"]
            .iter()
            .map(|v| ScoredGoal::new(d("20"), pillar, AnswerState::Answered(number(v))))
            .collect();
        assert_eq!(roll_up(RollUp::Sum, &goals).score, Some(d("97.93")));
    }

    #[test]
    fn equal_sums_of_points_are_equal_and_share_a_rank() {
        // Two 0–30 pillars weighing 30 points: 10.01 + 20.00 and 10.00 + 20.01 are both 30.01
        // (in binary floating point, after rounded goal scores, they were 30.01002 and 30.00999).
        let pillar = ScoreScale::Numeric {
            min: d("0"),
            max: d("30"),
        };
        let total = |a: &str, b: &str| {
            let goals =
                [a, b].map(|v| ScoredGoal::new(d("30"), pillar, AnswerState::Answered(number(v))));
            roll_up(RollUp::Sum, &goals).score
        };
        let (first, second) = (total("10.01", "20.00"), total("10.00", "20.01"));
        assert_eq!(first, Some(d("30.01")));
        assert_eq!(first, second);
        assert_eq!(
            dense_ranks(&[first, second, Some(d("30.02"))]),
            [Some(2), Some(2), Some(1)]
        );
    }

    #[test]
    fn nothing_answered_or_all_weights_zero_gives_no_score() {
        let goals = [ScoredGoal::new(d("1"), FIVE_LEVELS, AnswerState::Missing)];
        assert_eq!(roll_up(RollUp::Sum, &goals).score, None);
        assert_eq!(roll_up(RollUp::WeightedMean, &[]).completion(), None);
        let zero = [ScoredGoal::new(
            Decimal::ZERO,
            FIVE_LEVELS,
            AnswerState::Answered(AnswerValue::Level(5)),
        )];
        let mean = roll_up(RollUp::WeightedMean, &zero);
        assert_eq!(mean.score, None);
        assert!(mean.is_complete(), "answered, only weighing nothing");
        assert_eq!(roll_up(RollUp::Sum, &zero).score, Some(Decimal::ZERO));
        let not_applicable = [ScoredGoal::new(
            d("1"),
            FIVE_LEVELS,
            AnswerState::NotApplicable,
        )];
        let rolled = roll_up(RollUp::WeightedMean, &not_applicable);
        assert_eq!(
            (rolled.score, rolled.completion(), rolled.is_complete()),
            (None, None, true)
        );
    }

    #[test]
    fn attainment_measures_the_way_from_baseline_to_target() {
        assert_eq!(
            attainment(Some(d("2")), Some(d("3")), d("4")),
            Some(d("0.5"))
        );
        assert_eq!(
            attainment(None, Some(d("15")), d("10")),
            Some(Decimal::ONE),
            "clamped"
        );
        assert_eq!(
            attainment(Some(d("40")), Some(d("30")), d("20")),
            Some(d("0.5")),
            "aiming down"
        );
        assert_eq!(
            attainment(Some(d("5")), Some(d("5")), d("5")),
            Some(Decimal::ONE)
        );
        assert_eq!(
            attainment(Some(d("5")), Some(d("4")), d("5")),
            Some(Decimal::ZERO)
        );
        assert_eq!(attainment(Some(d("1")), None, d("5")), None);
    }

    #[test]
    fn section_and_overall_figures_pool_goals_as_documented() {
        let one = |score: &str| ScoredGoal::from_result(Decimal::ONE, GoalResult::Scored(d(score)));
        let goals = [(0, one("1")), (1, one("0")), (1, one("0")), (1, one("0"))];
        let scores = score_framework(RollUp::WeightedMean, 2, &goals);
        assert_eq!(scores.sections[0].score, Some(Decimal::ONE));
        assert_eq!(scores.sections[1].score, Some(Decimal::ZERO));
        assert_eq!(
            scores.overall.score,
            Some(d("0.25")),
            "pooled, not a mean of sections"
        );
        assert_eq!(maximum_score(RollUp::Sum, [d("20"); 5]), d("100"));
        assert_eq!(change(Some(d("0.7")), Some(d("0.25"))), Some(d("0.45")));
        assert_eq!(change(Some(d("0.7")), None), None);
    }

    /// A value that counts how often it is compared.
    #[derive(Debug)]
    struct Counted<'a>(i64, &'a std::cell::Cell<u64>);

    impl PartialEq for Counted<'_> {
        fn eq(&self, other: &Self) -> bool {
            self.1.set(self.1.get() + 1);
            self.0 == other.0
        }
    }
    impl Eq for Counted<'_> {}
    impl PartialOrd for Counted<'_> {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Counted<'_> {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.1.set(self.1.get() + 1);
            self.0.cmp(&other.0)
        }
    }

    #[test]
    fn dense_ranks_compare_n_log_n_times_not_n_squared() {
        let comparisons = std::cell::Cell::new(0);
        let n: u64 = 8192;
        // Many ties and a few missing figures, in no order.
        let values: Vec<Option<Counted>> = (0..n)
            .map(|i| (i % 97 != 0).then(|| Counted(((i * 7919) % 1000) as i64, &comparisons)))
            .collect();
        let ranks = dense_ranks_by(&values);
        let bound = 3 * n * u64::from(n.ilog2());
        assert!(
            comparisons.get() <= bound,
            "{} comparisons for {n} values (n log n bound {bound}; n² would be {})",
            comparisons.get(),
            n * n
        );
        // Still dense: 1 + the number of distinct greater values.
        let mut distinct: Vec<i64> = values.iter().flatten().map(|v| v.0).collect();
        distinct.sort_unstable();
        distinct.dedup();
        for (value, rank) in values.iter().zip(&ranks) {
            let expected = value
                .as_ref()
                .map(|v| u32::try_from(distinct.iter().filter(|d| **d > v.0).count() + 1).unwrap());
            assert_eq!(*rank, expected);
        }
    }

    #[test]
    fn dense_ranks_share_ties_without_gaps() {
        let ranks = dense_ranks(&[
            Some(d("99.5")),
            Some(d("100")),
            Some(d("99.50")),
            None,
            Some(d("98")),
        ]);
        assert_eq!(ranks, [Some(2), Some(1), Some(2), None, Some(3)]);
    }

    #[test]
    fn shown_figures_round_half_away_from_zero_with_their_decimals() {
        for (value, decimals, text) in [
            ("0.8025", 3, "0.803"),
            ("0.8125", 3, "0.813"),
            ("-0.8125", 3, "-0.813"),
            ("0.89", 3, "0.890"),
            ("30.005", 2, "30.01"),
            ("-0.0004", 3, "0.000"),
            ("0.7141665", 3, "0.714"),
            ("1", 3, "1.000"),
        ] {
            assert_eq!(shown(d(value), decimals).to_string(), text, "{value}");
        }
        assert_eq!(shown_score(d("97.925"), d("100")).to_string(), "97.93");
        assert_eq!(shown_percent(d("0.835")).to_string(), "84");
        assert_eq!(shown_percent(d("0.125")).to_string(), "13");
    }

    /// A decimal reference for the display rule, on integers only: `mantissa × 10^−scale`
    /// rounded half away from zero to `decimals`, written with exactly that many decimals.
    fn reference(mantissa: i64, scale: u32, decimals: u32) -> String {
        let negative = mantissa < 0;
        let magnitude = i128::from(mantissa).abs();
        let rounded = if scale <= decimals {
            magnitude * 10i128.pow(decimals - scale)
        } else {
            let unit = 10i128.pow(scale - decimals);
            let (quotient, remainder) = (magnitude / unit, magnitude % unit);
            quotient + i128::from(2 * remainder >= unit)
        };
        let digits = format!("{rounded:0>width$}", width = decimals as usize + 1);
        let (whole, fraction) = digits.split_at(digits.len() - decimals as usize);
        let sign = if negative && rounded != 0 { "-" } else { "" };
        if decimals == 0 {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{fraction}")
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn shown_rounding_matches_a_decimal_reference_on_every_tie(
            whole in -100_000i64..100_000,
            decimals in 0u32..7,
            extra in 1u32..6,
        ) {
            // Exactly halfway between two shown values: whole·10^−d + 5·10^−(d+1), written
            // with `extra` more decimals than shown.
            let scale = decimals + extra;
            let mantissa = whole * 10i64.pow(extra) + whole.signum().max(1) * 5 * 10i64.pow(extra - 1);
            let value = Decimal::new(mantissa, scale);
            proptest::prop_assert_eq!(
                shown(value, decimals).to_string(),
                reference(mantissa, scale, decimals)
            );
        }

        #[test]
        fn shown_rounding_matches_a_decimal_reference_everywhere(
            mantissa in -10_000_000_000i64..10_000_000_000,
            scale in 0u32..13,
            decimals in 0u32..7,
        ) {
            let value = Decimal::new(mantissa, scale);
            proptest::prop_assert_eq!(
                shown(value, decimals).to_string(),
                reference(mantissa, scale, decimals)
            );
        }
    }
}
