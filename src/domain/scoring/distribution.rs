//! The spread of one figure over participants: minimum, quartiles, median, maximum.
//!
//! Quartiles interpolate linearly between the two nearest ranks (the "inclusive" method:
//! PostgreSQL's `percentile_cont`, Excel's `QUARTILE.INC`, R's type 7), so a reader can check
//! every figure with a spreadsheet.

use serde::Serialize;

use super::round_score;

/// A participant count below which no distribution is shown to delegations: with fewer, a
/// figure could point at one participant (PRODUCT.md §4.3). The database function
/// `cycle_score_distribution` holds the same number.
pub const ANONYMITY_THRESHOLD: usize = 5;

/// Five figures and the count behind them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Distribution {
    /// How many scores the figures summarise.
    pub count: usize,
    pub min: f64,
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    pub max: f64,
}

/// The distribution of `scores` (in any order), or `None` when there is none.
pub fn distribution(scores: &[f64]) -> Option<Distribution> {
    let mut sorted: Vec<f64> = scores.iter().copied().filter(|s| s.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    Some(Distribution {
        count: sorted.len(),
        min: round_score(sorted[0]),
        q1: quantile(&sorted, 0.25),
        median: quantile(&sorted, 0.5),
        q3: quantile(&sorted, 0.75),
        max: round_score(sorted[sorted.len() - 1]),
    })
}

/// The `p` quantile of sorted values: position p·(n−1), interpolated between its neighbours.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let position = p * (sorted.len() - 1) as f64;
    let lower = position.floor() as usize;
    let upper = position.ceil() as usize;
    let fraction = position - lower as f64;
    round_score(sorted[lower] + (sorted[upper] - sorted[lower]) * fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_interpolate_like_percentile_cont() {
        // percentile_cont(0.25) over 1..=5 is 2, over 1..=4 is 1.75.
        let five = distribution(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!(
            (five.min, five.q1, five.median, five.q3, five.max),
            (1.0, 2.0, 3.0, 4.0, 5.0)
        );
        let four = distribution(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!((four.q1, four.median, four.q3), (1.75, 2.5, 3.25));
        assert_eq!(four.count, 4);
    }

    #[test]
    fn one_score_is_every_figure_and_none_is_no_distribution() {
        let one = distribution(&[0.4]).unwrap();
        assert_eq!(
            (one.min, one.q1, one.median, one.q3, one.max),
            (0.4, 0.4, 0.4, 0.4, 0.4)
        );
        assert_eq!(distribution(&[]), None);
        assert_eq!(distribution(&[f64::NAN]), None);
    }
}
