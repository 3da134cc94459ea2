//! Numbers people type outside an answer's scale (national goals' values), read at the input
//! boundary: written in full (no exponent, no `inf`/`NaN`), at most [`MAX_DECIMALS`] decimals,
//! at most [`MAX_MAGNITUDE`] in size, and within the range of what they measure.

use rust_decimal::Decimal;

/// Decimals a typed number may carry.
pub const MAX_DECIMALS: usize = 6;
/// Largest size of a typed number (10¹²).
pub const MAX_MAGNITUDE: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);

/// Reads a typed number: an optional sign, digits, at most one decimal separator (`.` or `,`),
/// spaces between digit groups ignored. Errors are catalogue keys.
pub fn parse_number(text: &str) -> Result<Decimal, &'static str> {
    let compact: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .collect();
    if compact.contains(['e', 'E']) && compact.chars().any(|c| c.is_ascii_digit()) {
        return Err("field.number.exponent");
    }
    let negative = compact.starts_with(['-', '\u{2212}']);
    let unsigned = compact
        .strip_prefix(['-', '+', '\u{2212}'])
        .unwrap_or(&compact);
    let (whole, fraction) = unsigned.split_once(['.', ',']).unwrap_or((unsigned, ""));
    let digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err("field.number.invalid");
    }
    if fraction.trim_end_matches('0').len() > MAX_DECIMALS {
        return Err("field.number.decimals");
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > 13 {
        return Err("field.number.too_large");
    }
    let whole = if whole.is_empty() { "0" } else { whole };
    let fraction = fraction.trim_end_matches('0');
    let text = if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    };
    let magnitude = Decimal::from_str_exact(&text).map_err(|_| "field.number.invalid")?;
    if magnitude > MAX_MAGNITUDE {
        return Err("field.number.too_large");
    }
    Ok(if negative { -magnitude } else { magnitude })
}

/// What a national goal's values are measured on, with its range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    /// A maturity level: a whole number from 0 to the section's highest level.
    Level { max: i16 },
    /// A percentage: 0 to 100.
    Percent,
    /// Any other number (within [`MAX_MAGNITUDE`]).
    Number,
}

impl Measure {
    /// The measure of a national goal: `level`, or `number` in `unit` (`%` is a percentage).
    pub fn of(measure: &str, unit: &str, max_level: i16) -> Self {
        match (measure, unit.trim()) {
            ("level", _) => Measure::Level { max: max_level },
            (_, "%" | "percent" | "pourcent") => Measure::Percent,
            _ => Measure::Number,
        }
    }

    /// The problem (catalogue key) of a value outside this measure's range.
    pub fn check(self, value: Decimal) -> Result<(), &'static str> {
        match self {
            Measure::Level { max } => {
                if value.fract().is_zero() && value >= Decimal::ZERO && value <= Decimal::from(max)
                {
                    Ok(())
                } else {
                    Err("field.number.level_range")
                }
            }
            Measure::Percent if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED => {
                Err("field.number.percent_range")
            }
            Measure::Percent | Measure::Number => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn the_largest_magnitude_is_ten_to_the_twelfth() {
        assert_eq!(MAX_MAGNITUDE, Decimal::from(1_000_000_000_000_i64));
    }

    #[test]
    fn typed_numbers_are_written_in_full_and_bounded() {
        assert_eq!(parse_number("62,5"), Ok(d("62.5")));
        assert_eq!(parse_number("-1 000.25"), Ok(d("-1000.25")));
        assert_eq!(parse_number("1e308"), Err("field.number.exponent"));
        assert_eq!(parse_number("1e-320"), Err("field.number.exponent"));
        assert_eq!(parse_number("1e-400"), Err("field.number.exponent"));
        assert_eq!(parse_number("inf"), Err("field.number.invalid"));
        assert_eq!(parse_number("NaN"), Err("field.number.invalid"));
        let tiny = format!("0.{}1", "0".repeat(399));
        assert_eq!(parse_number(&tiny), Err("field.number.decimals"));
        let huge = format!("1{}", "0".repeat(308));
        assert_eq!(parse_number(&huge), Err("field.number.too_large"));
        assert_eq!(parse_number("0.000001"), Ok(d("0.000001")));
    }

    #[test]
    fn measures_keep_their_ranges() {
        let level = Measure::of("level", "", 4);
        assert_eq!(level.check(d("4")), Ok(()));
        assert_eq!(level.check(d("0")), Ok(()));
        assert!(level.check(d("-5")).is_err());
        assert!(level.check(d("99")).is_err());
        assert!(level.check(d("2.5")).is_err());
        let percent = Measure::of("number", " % ", 4);
        assert!(percent.check(d("100.5")).is_err());
        assert_eq!(percent.check(d("55")), Ok(()));
        assert_eq!(Measure::of("number", "km", 4).check(d("-3")), Ok(()));
    }
}
