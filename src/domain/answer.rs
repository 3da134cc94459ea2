//! An answer to one goal, as typed in the form or the API, checked against the goal's scale.

use std::collections::BTreeMap;

use super::framework::AnswerScale;
use super::scoring::{AnswerState, AnswerValue};

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
            let number: f64 = text
                .replace(',', ".")
                .parse()
                .map_err(|_| "field.value.number")?;
            if !number.is_finite() || number < *min || number > *max {
                return Err("field.value.out_of_range");
            }
            let places = text
                .replace(',', ".")
                .split_once('.')
                .map_or(0, |(_, fraction)| fraction.len());
            if places > usize::try_from(*decimals).unwrap_or(0) {
                return Err("field.value.too_many_decimals");
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
            min: 0.0,
            max: 20.0,
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
            Ok(Some(AnswerValue::Number(12.5)))
        );
        assert_eq!(
            parse_value(&percent(), "12.55"),
            Err("field.value.too_many_decimals")
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
            (percent(), AnswerValue::Number(7.5)),
            (AnswerScale::YesNo {}, AnswerValue::Bool(false)),
        ] {
            assert_eq!(
                parse_value(&scale, &value_text(Some(value))),
                Ok(Some(value))
            );
        }
    }
}
