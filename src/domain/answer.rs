//! An answer to one goal, as typed in the form or the API, checked against the goal's scale.

use std::collections::BTreeMap;

use super::framework::AnswerScale;
use super::scoring::{AnswerState, AnswerValue, Decimal};

/// Implementation statuses an answer can carry.
pub const IMPLEMENTATION_STATUSES: [&str; 4] =
    ["not_started", "planned", "in_progress", "implemented"];

/// Field name → catalogue key.
pub type FieldProblems = BTreeMap<String, String>;

/// An answer as typed (every field text, as a form sends it).
#[derive(
    Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct AnswerInput {
    /// The value on the goal's scale: a level (`3`), a number (`12.5`), or `yes`/`no`; empty when
    /// not answered yet.
    #[serde(default)]
    pub value: String,
    /// The goal does not apply; a justification is then required and the value must be empty.
    #[serde(default)]
    pub not_applicable: bool,
    #[serde(default)]
    pub na_justification: String,
    /// The target for the next cycle, on the same scale (optional).
    #[serde(default)]
    pub target: String,
    /// not_started, planned, in_progress or implemented (optional).
    #[serde(default)]
    pub implementation_status: String,
    #[serde(default)]
    pub narrative: String,
}

/// A checked answer, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedAnswer {
    pub state: AnswerState,
    pub na_justification: Option<String>,
    pub target: Option<AnswerValue>,
    pub implementation_status: Option<&'static str>,
    pub narrative: String,
}

/// Reads a value on a scale; `Ok(None)` for an empty text.
pub fn parse_value(scale: &AnswerScale, text: &str) -> Result<Option<AnswerValue>, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match scale {
        AnswerScale::Maturity { levels } => {
            let level: i16 = text.parse().map_err(|_| "field.value.level")?;
            if levels.iter().any(|l| l.level == level) {
                Ok(Some(AnswerValue::Level(level)))
            } else {
                Err("field.value.level")
            }
        }
        AnswerScale::Numeric {
            min, max, decimals, ..
        } => {
            let (number, places) = parse_number(text).ok_or("field.value.number")?;
            if number < *min || number > *max {
                return Err("field.value.out_of_range");
            }
            if places > usize::try_from(*decimals).unwrap_or(0) {
                return Err(too_many_decimals(*decimals));
            }
            Ok(Some(AnswerValue::Number(number)))
        }
        AnswerScale::YesNo {} => match text.to_ascii_lowercase().as_str() {
            "yes" | "true" | "1" | "oui" => Ok(Some(AnswerValue::Bool(true))),
            "no" | "false" | "0" | "non" => Ok(Some(AnswerValue::Bool(false))),
            _ => Err("field.value.yes_no"),
        },
    }
}

/// Reads a number as people write it: an optional sign, digits, and at most one decimal
/// separator, the point (`62.5`) or the comma (`62,5`); spaces between digit groups are ignored
/// (`1 000,5`). Returns the number and its count of significant decimals (trailing zeros do not
/// count: `62.50` has one). No exponent, no `inf`.
pub fn parse_number(text: &str) -> Option<(Decimal, usize)> {
    let compact: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .collect();
    let unsigned = compact
        .strip_prefix(['-', '+', '\u{2212}'])
        .unwrap_or(&compact);
    let negative = compact.starts_with(['-', '\u{2212}']);
    let (whole, fraction) = match unsigned.split_once(['.', ',']) {
        Some((whole, fraction)) => (whole, fraction),
        None => (unsigned, ""),
    };
    let digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    let places = fraction.trim_end_matches('0').len();
    let whole = if whole.is_empty() { "0" } else { whole };
    // Exact: the digits as typed, never a binary float (0.890 stays 0.890).
    let magnitude: Decimal = if fraction.is_empty() {
        whole.parse().ok()?
    } else {
        format!("{whole}.{fraction}").parse().ok()?
    };
    let number = if negative { -magnitude } else { magnitude };
    Some((number, places))
}

/// The problem of a number with more decimals than its goal allows, saying how many it does.
fn too_many_decimals(allowed: i16) -> &'static str {
    match allowed {
        0 => "field.value.whole_number",
        1 => "field.value.decimals_1",
        2 => "field.value.decimals_2",
        3 => "field.value.decimals_3",
        4 => "field.value.decimals_4",
        5 => "field.value.decimals_5",
        6 => "field.value.decimals_6",
        _ => "field.value.too_many_decimals",
    }
}

/// The text a stored value is shown and edited as.
pub fn value_text(value: Option<AnswerValue>) -> String {
    match value {
        Some(AnswerValue::Level(level)) => level.to_string(),
        Some(AnswerValue::Number(number)) => number.to_string(),
        Some(AnswerValue::Bool(true)) => "yes".to_owned(),
        Some(AnswerValue::Bool(false)) => "no".to_owned(),
        None => String::new(),
    }
}

impl AnswerInput {
    /// Checks every field against the scale; reports each problem by field.
    pub fn check(&self, scale: &AnswerScale) -> Result<CheckedAnswer, FieldProblems> {
        let mut problems = FieldProblems::new();
        let value = parse_value(scale, &self.value).unwrap_or_else(|key| {
            problems.insert("value".into(), key.into());
            None
        });
        let target = parse_value(scale, &self.target).unwrap_or_else(|key| {
            problems.insert("target".into(), key.into());
            None
        });
        let justification = self.na_justification.trim();
        if self.not_applicable {
            if justification.is_empty() {
                problems.insert(
                    "na_justification".into(),
                    "field.na_justification.required".into(),
                );
            }
            if !self.value.trim().is_empty() {
                problems.insert("value".into(), "field.value.not_with_na".into());
            }
        }
        let status = match self.implementation_status.trim() {
            "" => None,
            text => match IMPLEMENTATION_STATUSES.iter().find(|s| **s == text) {
                Some(status) => Some(*status),
                None => {
                    problems.insert(
                        "implementation_status".into(),
                        "field.status.unknown".into(),
                    );
                    None
                }
            },
        };
        if self.narrative.chars().count() > 20_000 {
            problems.insert("narrative".into(), "field.text.too_long".into());
        }
        if justification.chars().count() > 5_000 {
            problems.insert("na_justification".into(), "field.text.too_long".into());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let state = match (self.not_applicable, value) {
            (true, _) => AnswerState::NotApplicable,
            (false, Some(value)) => AnswerState::Answered(value),
            (false, None) => AnswerState::Missing,
        };
        Ok(CheckedAnswer {
            state,
            na_justification: self.not_applicable.then(|| justification.to_owned()),
            target,
            implementation_status: status,
            narrative: self.narrative.trim().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::framework::{AnswerScale, MaturityLevel};
    use crate::domain::text::LocalizedText;

    fn maturity() -> AnswerScale {
        AnswerScale::Maturity {
            levels: (0..=5)
                .map(|level| MaturityLevel {
                    level,
                    name: LocalizedText {
                        en: format!("L{level}"),
                        fr: String::new(),
                    },
                    descriptor: LocalizedText::default(),
                })
                .collect(),
        }
    }

    fn percent() -> AnswerScale {
        AnswerScale::Numeric {
            min: "0.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
            max: "20.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
            unit: "%".into(),
            decimals: 1,
        }
    }

    #[test]
    fn values_are_read_on_their_scale() {
        assert_eq!(
            parse_value(&maturity(), "3"),
            Ok(Some(AnswerValue::Level(3)))
        );
        assert_eq!(parse_value(&maturity(), "6"), Err("field.value.level"));
        assert_eq!(
            parse_value(&percent(), "12,5"),
            Ok(Some(AnswerValue::Number(
                "12.5".parse::<crate::domain::scoring::Decimal>().unwrap()
            )))
        );
        assert_eq!(
            parse_value(&percent(), "12.55"),
            Err("field.value.decimals_1")
        );
        assert_eq!(
            parse_value(&percent(), "21"),
            Err("field.value.out_of_range")
        );
        assert_eq!(
            parse_value(&AnswerScale::YesNo {}, "Oui"),
            Ok(Some(AnswerValue::Bool(true)))
        );
        assert_eq!(
            parse_value(&AnswerScale::YesNo {}, "maybe"),
            Err("field.value.yes_no")
        );
        assert_eq!(parse_value(&percent(), " "), Ok(None));
    }

    #[test]
    fn not_applicable_needs_a_justification_and_no_value() {
        let input = AnswerInput {
            value: "2".into(),
            not_applicable: true,
            ..AnswerInput::default()
        };
        let problems = input.check(&maturity()).unwrap_err();
        assert_eq!(
            problems.keys().collect::<Vec<_>>(),
            ["na_justification", "value"]
        );
        let input = AnswerInput {
            not_applicable: true,
            na_justification: "No deployable networks".into(),
            ..AnswerInput::default()
        };
        assert_eq!(
            input.check(&maturity()).unwrap().state,
            AnswerState::NotApplicable
        );
    }

    #[test]
    fn an_overlong_text_is_reported_on_its_own_field() {
        let input = AnswerInput {
            not_applicable: true,
            na_justification: "x".repeat(5_001),
            narrative: "y".repeat(20_001),
            ..AnswerInput::default()
        };
        let problems = input.check(&maturity()).unwrap_err();
        assert_eq!(problems["na_justification"], "field.text.too_long");
        assert_eq!(problems["narrative"], "field.text.too_long");
    }

    #[test]
    fn every_field_in_error_is_reported_at_once() {
        let input = AnswerInput {
            value: "x".into(),
            target: "99".into(),
            implementation_status: "done".into(),
            ..AnswerInput::default()
        };
        let problems = input.check(&percent()).unwrap_err();
        assert_eq!(
            problems.keys().collect::<Vec<_>>(),
            ["implementation_status", "target", "value"]
        );
    }

    #[test]
    fn a_stored_value_edits_as_the_text_that_reads_back_to_it() {
        for (scale, value) in [
            (maturity(), AnswerValue::Level(4)),
            (
                percent(),
                AnswerValue::Number("7.5".parse::<crate::domain::scoring::Decimal>().unwrap()),
            ),
            (AnswerScale::YesNo {}, AnswerValue::Bool(false)),
        ] {
            assert_eq!(
                parse_value(&scale, &value_text(Some(value))),
                Ok(Some(value))
            );
        }
    }

    fn whole_percent() -> AnswerScale {
        AnswerScale::Numeric {
            min: "0.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
            max: "100.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
            unit: "%".into(),
            decimals: 0,
        }
    }

    #[test]
    fn a_decimal_comma_reads_as_the_point() {
        let scale = AnswerScale::Numeric {
            min: "0.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
            max: "100.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
            unit: "%".into(),
            decimals: 2,
        };
        for (comma, point) in [("62,5", "62.5"), ("0,25", "0.25"), ("100,00", "100.00")] {
            assert_eq!(parse_value(&scale, comma), parse_value(&scale, point));
            assert!(parse_value(&scale, comma).unwrap().is_some(), "{comma}");
        }
        assert_eq!(
            parse_value(&scale, " 62,5 "),
            Ok(Some(AnswerValue::Number(
                "62.5".parse::<crate::domain::scoring::Decimal>().unwrap()
            )))
        );
        assert_eq!(
            parse_value(&scale, ",5"),
            Ok(Some(AnswerValue::Number(
                "0.5".parse::<crate::domain::scoring::Decimal>().unwrap()
            )))
        );
    }

    #[test]
    fn only_plain_numbers_are_numbers() {
        for text in [
            "1e2", "inf", "NaN", "1.2.3", "1,2,3", "12a", "-", ".", "0x10", "1.5%",
        ] {
            assert_eq!(
                parse_value(&percent(), text),
                Err("field.value.number"),
                "{text}"
            );
        }
        assert_eq!(
            parse_number("1 000,5"),
            Some((
                "1000.5".parse::<crate::domain::scoring::Decimal>().unwrap(),
                1
            )),
            "spaces between digit groups"
        );
        assert_eq!(
            parse_number("-2,50"),
            Some((
                "-2.5".parse::<crate::domain::scoring::Decimal>().unwrap(),
                1
            ))
        );
    }

    #[test]
    fn the_decimals_message_says_how_many_are_allowed() {
        assert_eq!(
            parse_value(&whole_percent(), "62.5"),
            Err("field.value.whole_number")
        );
        assert_eq!(
            parse_value(&whole_percent(), "62,5"),
            Err("field.value.whole_number")
        );
        assert_eq!(
            parse_value(&whole_percent(), "62.0"),
            Ok(Some(AnswerValue::Number(
                "62.0".parse::<crate::domain::scoring::Decimal>().unwrap()
            ))),
            "trailing zeros are no decimals"
        );
        assert_eq!(
            parse_value(&percent(), "12.50"),
            Ok(Some(AnswerValue::Number(
                "12.5".parse::<crate::domain::scoring::Decimal>().unwrap()
            )))
        );
        for decimals in 0..=6 {
            assert!(too_many_decimals(decimals).starts_with("field.value."));
        }
    }

    #[test]
    fn comma_and_point_store_the_same_number() {
        let scale = AnswerScale::Numeric {
            min: "0.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
            max: "1000000.0"
                .parse::<crate::domain::scoring::Decimal>()
                .unwrap(),
            unit: String::new(),
            decimals: 2,
        };
        // Every fraction, over wholes spread across the range (a property over a grid).
        for whole in (0..1_000_000u32).step_by(7_919).chain([0, 1, 999_999]) {
            for fraction in 0..100u32 {
                let point = format!("{whole}.{fraction:02}");
                let comma = format!("{whole},{fraction:02}");
                let read = parse_value(&scale, &point);
                assert_eq!(read, parse_value(&scale, &comma), "{comma}");
                let expected: crate::domain::scoring::Decimal = point.parse().unwrap();
                assert_eq!(read, Ok(Some(AnswerValue::Number(expected))), "{point}");
            }
        }
    }
}
