//! The framework document (JSON) and its validation: every problem is reported with a JSON
//! pointer to where it is, and nothing is accepted unless there are none.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{AnswerScale, Framework, RollUp, Section};
use crate::domain::scoring::Decimal;
use crate::domain::text::LocalizedText;

/// The format name every document carries, so that later formats can be told apart.
pub const FORMAT: &str = "pledge-framework/1";

pub use crate::domain::problem::Problem;

/// The document as written, before validation.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameworkDocument {
    pub format: String,
    pub family: String,
    pub version: String,
    pub title: LocalizedText,
    #[serde(default)]
    pub description: LocalizedText,
    pub roll_up: RollUp,
    pub sections: Vec<Section>,
}

impl From<&Framework> for FrameworkDocument {
    fn from(framework: &Framework) -> Self {
        Self {
            format: FORMAT.to_owned(),
            family: framework.family.clone(),
            version: framework.version.clone(),
            title: framework.title.clone(),
            description: framework.description.clone(),
            roll_up: framework.roll_up,
            sections: framework.sections.clone(),
        }
    }
}

/// Parses and validates a document.
pub fn parse(text: &str) -> Result<Framework, Vec<Problem>> {
    let document: FrameworkDocument = serde_json::from_str(text)
        .map_err(|error| vec![Problem::with("", "framework.problem.not_a_document", error)])?;
    let problems = validate(&document);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Framework {
        family: document.family,
        version: document.version,
        title: document.title,
        description: document.description,
        roll_up: document.roll_up,
        sections: document.sections,
    })
}

fn is_code(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && text.len() <= 40
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn check_text(problems: &mut Vec<Problem>, path: &str, text: &LocalizedText, max: usize) {
    if text.en.trim().is_empty() {
        problems.push(Problem::new(
            format!("{path}/en"),
            "framework.problem.text_empty",
        ));
    }
    for (lang, value) in [("en", &text.en), ("fr", &text.fr)] {
        if value.chars().count() > max {
            problems.push(Problem::with(
                format!("{path}/{lang}"),
                "framework.problem.text_too_long",
                max,
            ));
        }
    }
}

/// Every problem of a document; empty when it is valid.
pub fn validate(document: &FrameworkDocument) -> Vec<Problem> {
    let mut problems = Vec::new();
    if document.format != FORMAT {
        problems.push(Problem::with("/format", "framework.problem.format", FORMAT));
    }
    let family_ok = document.family.len() <= 63
        && document
            .family
            .starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && document
            .family
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !family_ok {
        problems.push(Problem::new("/family", "framework.problem.family"));
    }
    let version = document.version.trim();
    if version.is_empty() || version.len() > 40 {
        problems.push(Problem::new("/version", "framework.problem.version"));
    }
    check_text(&mut problems, "/title", &document.title, 300);
    if document.sections.is_empty() {
        problems.push(Problem::new("/sections", "framework.problem.no_sections"));
    }
    let mut section_codes = HashSet::new();
    let mut goal_codes = HashSet::new();
    for (s, section) in document.sections.iter().enumerate() {
        let path = format!("/sections/{s}");
        if !is_code(&section.code) {
            problems.push(Problem::new(
                format!("{path}/code"),
                "framework.problem.code",
            ));
        } else if !section_codes.insert(section.code.as_str()) {
            problems.push(Problem::with(
                format!("{path}/code"),
                "framework.problem.duplicate_section",
                &section.code,
            ));
        }
        check_text(&mut problems, &format!("{path}/title"), &section.title, 500);
        if section.goals.is_empty() {
            problems.push(Problem::new(
                format!("{path}/goals"),
                "framework.problem.no_goals",
            ));
        }
        for (g, goal) in section.goals.iter().enumerate() {
            let path = format!("{path}/goals/{g}");
            if !is_code(&goal.code) {
                problems.push(Problem::new(
                    format!("{path}/code"),
                    "framework.problem.code",
                ));
            } else if !goal_codes.insert(goal.code.as_str()) {
                problems.push(Problem::with(
                    format!("{path}/code"),
                    "framework.problem.duplicate_goal",
                    &goal.code,
                ));
            }
            check_text(&mut problems, &format!("{path}/title"), &goal.title, 500);
            if !(Decimal::ZERO..=Decimal::from(1_000_000)).contains(&goal.weight) {
                problems.push(Problem::new(
                    format!("{path}/weight"),
                    "framework.problem.weight",
                ));
            }
            check_scale(&mut problems, &format!("{path}/scale"), &goal.scale);
        }
    }
    problems
}

fn check_scale(problems: &mut Vec<Problem>, path: &str, scale: &AnswerScale) {
    match scale {
        AnswerScale::Maturity { levels } => {
            if levels.len() < 2 {
                problems.push(Problem::new(
                    format!("{path}/levels"),
                    "framework.problem.levels_count",
                ));
                return;
            }
            if levels.len() > 101 || levels.iter().any(|l| !(0..=100).contains(&l.level)) {
                problems.push(Problem::new(
                    format!("{path}/levels"),
                    "framework.problem.levels_range",
                ));
                return;
            }
            let first = levels[0].level;
            if first != 0 && first != 1 {
                problems.push(Problem::new(
                    format!("{path}/levels/0/level"),
                    "framework.problem.lowest_level",
                ));
            }
            for (i, level) in levels.iter().enumerate() {
                let expected = i64::from(first) + i as i64;
                if i64::from(level.level) != expected {
                    problems.push(Problem::with(
                        format!("{path}/levels/{i}/level"),
                        "framework.problem.level_gap",
                        expected,
                    ));
                }
                check_text(
                    problems,
                    &format!("{path}/levels/{i}/name"),
                    &level.name,
                    200,
                );
            }
        }
        AnswerScale::Numeric {
            min, max, decimals, ..
        } => {
            if min >= max {
                problems.push(Problem::new(
                    format!("{path}/max"),
                    "framework.problem.numeric_range",
                ));
            }
            if !(0..=6).contains(decimals) {
                problems.push(Problem::new(
                    format!("{path}/decimals"),
                    "framework.problem.decimals",
                ));
            }
        }
        AnswerScale::YesNo {} => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal(scale: &str) -> String {
        format!(
            r#"{{"format":"pledge-framework/1","family":"test","version":"1","title":{{"en":"T"}},
               "roll_up":"sum","sections":[{{"code":"A","title":{{"en":"S"}},
               "goals":[{{"code":"A.1","title":{{"en":"G"}},"scale":{scale}}}]}}]}}"#
        )
    }

    #[test]
    fn a_minimal_numeric_framework_is_accepted() {
        let framework = parse(&minimal(r#"{"kind":"numeric","min":0,"max":20}"#)).unwrap();
        assert_eq!(framework.roll_up, RollUp::Sum);
        assert_eq!(framework.goals().count(), 1);
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let text = minimal(r#"{"kind":"numeric","min":5,"max":1,"decimals":9}"#)
            .replace(r#""family":"test""#, r#""family":"Bad Family""#);
        let problems = parse(&text).unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/family",
                "/sections/0/goals/0/scale/max",
                "/sections/0/goals/0/scale/decimals"
            ]
        );
    }

    #[test]
    fn maturity_levels_must_run_without_gaps() {
        let scale = r#"{"kind":"maturity","levels":[{"level":0,"name":{"en":"a"}},{"level":2,"name":{"en":"b"}}]}"#;
        let problems = parse(&minimal(scale)).unwrap_err();
        assert_eq!(problems[0].path, "/sections/0/goals/0/scale/levels/1/level");
    }

    #[test]
    fn unknown_fields_beside_a_yes_no_kind_are_refused() {
        assert!(parse(&minimal(r#"{"kind":"yes_no","min":1}"#)).is_err());
        assert!(parse(&minimal(r#"{"kind":"yes_no"}"#)).is_ok());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text =
            minimal(r#"{"kind":"yes_no"}"#).replace(r#""roll_up""#, r#""colour":1,"roll_up""#);
        let problem = &parse(&text).unwrap_err()[0];
        assert_eq!(problem.key, "framework.problem.not_a_document");
        assert!(problem.detail.as_deref().unwrap().contains("colour"));
    }
}
