//! The spread of one figure over participants: minimum, quartiles, median, maximum.
//!
//! Quartiles interpolate linearly between the two nearest ranks (the "inclusive" method:
//! PostgreSQL's `percentile_cont`, Excel's `QUARTILE.INC`, R's type 7), so a reader can check
//! every figure with a spreadsheet.

use rust_decimal::Decimal;
use serde::Serialize;

use super::{number, round_score};

/// A participant count below which no distribution is shown to delegations: with fewer, a
/// figure could point at one participant (PRODUCT.md §4.3). The database function
/// `cycle_score_distribution` holds the same number.
pub const ANONYMITY_THRESHOLD: usize = 5;

/// Five figures and the count behind them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Distribution {
    /// How many scores the figures summarise.
    pub count: usize,
    #[serde(with = "number::exact")]
    pub min: Decimal,
    #[serde(with = "number::exact")]
    pub q1: Decimal,
    #[serde(with = "number::exact")]
    pub median: Decimal,
    #[serde(with = "number::exact")]
    pub q3: Decimal,
    #[serde(with = "number::exact")]
    pub max: Decimal,
}

impl Distribution {
    /// The same figures, each as shown ([`super::shown`] to `decimals`): what reports carry.
    pub fn shown(&self, decimals: u32) -> Self {
        let shown = |v| super::shown(v, decimals);
        Self {
            count: self.count,
            min: shown(self.min),
            q1: shown(self.q1),
            median: shown(self.median),
            q3: shown(self.q3),
            max: shown(self.max),
        }
    }
}

/// The distribution of `scores` (in any order), or `None` when there is none. Exact: the
/// quartiles are computed from the exact figures (a quarter or a half of a difference needs at
/// most two more decimals); only showing them rounds.
pub fn distribution(scores: &[Decimal]) -> Option<Distribution> {
    let mut sorted: Vec<Decimal> = scores.to_vec();
    if sorted.is_empty() {
        return None;
    }
    sort_exactly(&mut sorted);
    Some(Distribution {
        count: sorted.len(),
        min: sorted[0],
        q1: quantile(&sorted, 1),
        median: quantile(&sorted, 2),
        q3: quantile(&sorted, 3),
        max: sorted[sorted.len() - 1],
    })
}

/// Sorts like `sort()` (stable, by value), comparing integers instead of decimals when every
/// value fits one scale in an `i128` (stored figures do: at most 12 decimals): the same order,
/// since equal values get equal keys and a stable sort keeps them in the same order.
fn sort_exactly(values: &mut [Decimal]) {
    let scale = values.iter().map(Decimal::scale).max().unwrap_or(0);
    let key = |value: &Decimal| -> Option<i128> {
        value
            .mantissa()
            .checked_mul(10i128.checked_pow(scale - value.scale())?)
    };
    if values.iter().all(|v| key(v).is_some()) {
        values.sort_by_cached_key(|v| key(v).unwrap_or_default());
    } else {
        values.sort();
    }
}

/// The `quarter`/4 quantile of sorted values: position h = quarter·(n−1)/4, interpolated
/// between its neighbours, x[⌊h⌋] + (h − ⌊h⌋)·(x[⌈h⌉] − x[⌊h⌋]), in exact arithmetic.
fn quantile(sorted: &[Decimal], quarter: usize) -> Decimal {
    let scaled = quarter * (sorted.len() - 1);
    let (lower, remainder) = (scaled / 4, scaled % 4);
    if remainder == 0 {
        return sorted[lower];
    }
    let fraction = Decimal::from(remainder) / Decimal::from(4);
    let (low, high) = (sorted[lower], sorted[lower + 1]);
    // Exact: a quarter of a difference of figures with at most SCORE_DECIMALS decimals; the
    // rounding only guards against figures from elsewhere with more decimals.
    high.checked_sub(low)
        .and_then(|span| span.checked_mul(fraction))
        .and_then(|step| low.checked_add(step))
        .map_or(low, |q| if q.scale() > 28 { round_score(q) } else { q })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn ds(texts: &[&str]) -> Vec<Decimal> {
        texts.iter().map(|t| d(t)).collect()
    }

    #[test]
    fn quartiles_interpolate_like_percentile_cont() {
        // percentile_cont(0.25) over 1..=5 is 2, over 1..=4 is 1.75.
        let five = distribution(&ds(&["5", "1", "3", "2", "4"])).unwrap();
        assert_eq!(
            (five.min, five.q1, five.median, five.q3, five.max),
            (d("1"), d("2"), d("3"), d("4"), d("5"))
        );
        let four = distribution(&ds(&["1", "2", "3", "4"])).unwrap();
        assert_eq!(
            (four.q1, four.median, four.q3),
            (d("1.75"), d("2.5"), d("3.25"))
        );
        assert_eq!(four.count, 4);
    }

    #[test]
    fn quartiles_are_exact_and_round_once_when_shown() {
        // The figures: in floating point, Q1 0.2846285 came out 0.284628 and a median
        // of 0.7141665 as 0.714166.
        let q1 = distribution(&ds(&["0.284628", "0.284629", "0.9"])).unwrap();
        assert_eq!(q1.q1, d("0.2846285"));
        assert_eq!(
            q1.shown(6).q1.to_string(),
            "0.284629",
            "half away from zero"
        );
        let median = distribution(&ds(&["0.1", "0.714166", "0.714167", "0.9"])).unwrap();
        assert_eq!(median.median, d("0.7141665"));
        assert_eq!(median.shown(3).median.to_string(), "0.714");
        assert_eq!(median.shown(6).median.to_string(), "0.714167");
        let six = distribution(&ds(&["0.284628", "0.284629", "0.3", "0.4", "0.5", "0.6"])).unwrap();
        assert_eq!(
            six.q1,
            d("0.28847175"),
            "0.284629 + 0.25 × (0.3 − 0.284629)"
        );
    }

    #[test]
    fn the_integer_sort_orders_like_the_decimal_sort_equal_values_kept_in_place() {
        let values = ds(&[
            "0.50",
            "0.5",
            "0.4",
            "-1",
            "0.500",
            "30.01",
            "0.000000000001",
            "0",
            "0.0",
            "2",
        ]);
        let mut ours = values.clone();
        sort_exactly(&mut ours);
        let mut theirs = values.clone();
        theirs.sort();
        let text = |v: &[Decimal]| v.iter().map(|d| d.to_string()).collect::<Vec<_>>();
        assert_eq!(text(&ours), text(&theirs));
        // Too large for one scale in an i128: the decimal sort itself.
        let mut wide = ds(&[
            "79228162514264337593543950335",
            "0.0000000000000000000000000001",
            "1",
        ]);
        sort_exactly(&mut wide);
        assert_eq!(wide[1], d("1"));
    }

    #[test]
    fn one_score_is_every_figure_and_none_is_no_distribution() {
        let one = distribution(&[d("0.4")]).unwrap();
        assert_eq!(
            (one.min, one.q1, one.median, one.q3, one.max),
            (d("0.4"), d("0.4"), d("0.4"), d("0.4"), d("0.4"))
        );
        assert_eq!(distribution(&[]), None);
    }
}
