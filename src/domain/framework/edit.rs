//! Editing a framework version one section or goal at a time, from forms. A change is applied to
//! the whole document, which is then validated as a whole: the rules live in one place
//! ([`super::document::validate`]), and a form only adds the problems of reading its fields.
//!
//! # Editing a framework
//!
//! A framework version is one document (`domain::framework::Framework`,
//! framework-format.md (`docs/framework-format.md`)). The pages edit it a section or a goal at a time, but
//! every save handles the whole document:
//!
//! 1. The page form becomes one `domain::framework::edit::Change`: `Details`, `AddSection`,
//!    `EditSection`, `RemoveSection`, `MoveSection`, `AddGoal`, `EditGoal` (which may also move the goal
//!    to another section), `RemoveGoal` or `MoveGoal`. Reading the goal form (`GoalInput::to_goal`, up to
//!    11 level rows) reports numbers it cannot read as field problems before any change.
//! 2. `edit::apply` applies the change to a copy of the whole document and validates the result with
//!    `domain::framework::document::validate`: the same rules as an import. The rules live in one place;
//!    a form adds only the problems of reading its own fields.
//! 3. Each problem carries a JSON pointer (`/sections/2/goals/1/scale/max`). `edit::form_field` maps it
//!    back to the field of the section or goal form (`max`; `level_name_en_3` for a level row). Every
//!    problem is also listed above the form, including those with no field (a section left without a
//!    goal). The details form has its own map (`details_field` in `src/web/pages/frameworks.rs`).
//! 4. `services::frameworks::change` refuses a frozen version and a stale `row_version`, writes the
//!    document with `storage::frameworks::replace`, and records `framework.update` with the change
//!    (`{"change": "edit_goal", "code": …}`).
//!
//! The API edits whole documents only: `PUT /api/v1/frameworks/{framework}` goes through the same
//! validation and the same storage. How content is written (by code, keeping ids) is in
//! data-model.md (`docs/data-model.md#how-framework-content-is-written`).

use std::collections::BTreeMap;

use super::document::{FrameworkDocument, Problem, validate};
use super::{AnswerScale, Framework, Goal, MaturityLevel, Section};
use crate::domain::scoring::Decimal;
use crate::domain::text::LocalizedText;
use rust_decimal::prelude::ToPrimitive;

/// Field name → catalogue key, for the fields of one form.
pub type FieldProblems = BTreeMap<String, String>;

/// Level rows a goal form offers at least (more when the goal has more levels).
pub const FORM_LEVELS: usize = 11;

fn pairs_get<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// A section form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SectionInput {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub title_en: String,
    #[serde(default)]
    pub title_fr: String,
    #[serde(default)]
    pub description_en: String,
    #[serde(default)]
    pub description_fr: String,
    /// A new section's first goal (a section always holds one): its code and title; it starts
    /// as a yes/no goal, edited afterwards.
    #[serde(default)]
    pub first_goal_code: String,
    #[serde(default)]
    pub first_goal_title_en: String,
}

impl SectionInput {
    /// The form for an existing section.
    pub fn of(section: &Section) -> Self {
        Self {
            code: section.code.clone(),
            title_en: section.title.en.clone(),
            title_fr: section.title.fr.clone(),
            description_en: section.description.en.clone(),
            description_fr: section.description.fr.clone(),
            ..Self::default()
        }
    }

    fn apply(&self, section: &mut Section) {
        section.code = self.code.trim().to_owned();
        section.title = LocalizedText {
            en: self.title_en.trim().to_owned(),
            fr: self.title_fr.trim().to_owned(),
        };
        section.description = LocalizedText {
            en: self.description_en.trim().to_owned(),
            fr: self.description_fr.trim().to_owned(),
        };
    }
}

/// A goal form, read from its fields (levels come as numbered rows).
#[derive(Debug, Clone, Default)]
pub struct GoalInput {
    pub section: String,
    pub code: String,
    pub title_en: String,
    pub title_fr: String,
    pub guidance_en: String,
    pub guidance_fr: String,
    pub weight: String,
    /// `maturity`, `numeric` or `yes_no`.
    pub scale: String,
    pub min: String,
    pub max: String,
    pub unit: String,
    pub decimals: String,
    pub lowest_level: String,
    /// (name en, name fr, descriptor en, descriptor fr) per row.
    pub levels: Vec<[String; 4]>,
}

impl GoalInput {
    /// Reads the form's fields.
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |name: &str| pairs_get(pairs, name).to_owned();
        // Every numbered row sent, however many: a goal may have more levels than the default.
        let rows = pairs
            .iter()
            .filter_map(|(key, _)| key.strip_prefix("level_name_en_")?.parse::<usize>().ok())
            .max()
            .map_or(0, |last| last + 1);
        let levels = (0..rows)
            .map(|i| {
                [
                    get(&format!("level_name_en_{i}")),
                    get(&format!("level_name_fr_{i}")),
                    get(&format!("level_descriptor_en_{i}")),
                    get(&format!("level_descriptor_fr_{i}")),
                ]
            })
            .collect();
        Self {
            section: get("section"),
            code: get("code"),
            title_en: get("title_en"),
            title_fr: get("title_fr"),
            guidance_en: get("guidance_en"),
            guidance_fr: get("guidance_fr"),
            weight: get("weight"),
            scale: get("scale"),
            min: get("min"),
            max: get("max"),
            unit: get("unit"),
            decimals: get("decimals"),
            lowest_level: get("lowest_level"),
            levels,
        }
    }

    /// The form for an existing goal of `section`.
    pub fn of(section: &str, goal: &Goal) -> Self {
        let mut input = Self {
            section: section.to_owned(),
            code: goal.code.clone(),
            title_en: goal.title.en.clone(),
            title_fr: goal.title.fr.clone(),
            guidance_en: goal.guidance.en.clone(),
            guidance_fr: goal.guidance.fr.clone(),
            weight: goal.weight.to_string(),
            scale: goal.scale.kind().to_owned(),
            levels: vec![Default::default(); FORM_LEVELS],
            lowest_level: "0".to_owned(),
            decimals: "0".to_owned(),
            ..Self::default()
        };
        match &goal.scale {
            AnswerScale::Maturity { levels } => {
                input
                    .levels
                    .resize(FORM_LEVELS.max(levels.len() + 2), Default::default());
                input.lowest_level = levels.first().map_or(0, |l| l.level).to_string();
                for (row, level) in input.levels.iter_mut().zip(levels) {
                    *row = [
                        level.name.en.clone(),
                        level.name.fr.clone(),
                        level.descriptor.en.clone(),
                        level.descriptor.fr.clone(),
                    ];
                }
            }
            AnswerScale::Numeric {
                min,
                max,
                unit,
                decimals,
            } => {
                input.min = min.to_string();
                input.max = max.to_string();
                input.unit = unit.clone();
                input.decimals = decimals.to_string();
            }
            AnswerScale::YesNo {} => {}
        }
        input
    }

    /// The goal the form describes, or the fields that cannot be read.
    pub fn to_goal(&self) -> Result<Goal, FieldProblems> {
        let mut problems = FieldProblems::new();
        let mut number = |field: &str, text: &str, default: Decimal| -> Decimal {
            let text = text.trim().replace(',', ".");
            if text.is_empty() {
                return default;
            }
            text.parse::<Decimal>().unwrap_or_else(|_| {
                problems.insert(field.to_owned(), "field.number.invalid".to_owned());
                default
            })
        };
        let weight = number("weight", &self.weight, Decimal::ONE);
        let scale = match self.scale.as_str() {
            "maturity" => {
                let lowest = number("lowest_level", &self.lowest_level, Decimal::ZERO)
                    .trunc()
                    .to_i16()
                    .unwrap_or(i16::MAX);
                // Rows after the last named one are unused; a blank row before it is a gap.
                let used = self
                    .levels
                    .iter()
                    .rposition(|row| !row[0].trim().is_empty())
                    .map_or(0, |i| i + 1);
                let levels = self.levels[..used]
                    .iter()
                    .enumerate()
                    .map(|(i, row)| MaturityLevel {
                        level: lowest + i as i16,
                        name: LocalizedText {
                            en: row[0].trim().to_owned(),
                            fr: row[1].trim().to_owned(),
                        },
                        descriptor: LocalizedText {
                            en: row[2].trim().to_owned(),
                            fr: row[3].trim().to_owned(),
                        },
                    })
                    .collect();
                AnswerScale::Maturity { levels }
            }
            "numeric" => {
                // An empty bound is refused by the framework's checks (min must be below max).
                let min = number("min", &self.min, Decimal::ZERO);
                let max = number("max", &self.max, Decimal::ZERO);
                let decimals = number("decimals", &self.decimals, Decimal::ZERO);
                AnswerScale::Numeric {
                    min,
                    max,
                    unit: self.unit.trim().to_owned(),
                    decimals: if decimals.fract().is_zero() {
                        decimals.to_i16().unwrap_or(-1)
                    } else {
                        -1
                    },
                }
            }
            "yes_no" => AnswerScale::YesNo {},
            _ => {
                problems.insert("scale".to_owned(), "field.scale.unknown".to_owned());
                AnswerScale::YesNo {}
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Goal {
            code: self.code.trim().to_owned(),
            title: LocalizedText {
                en: self.title_en.trim().to_owned(),
                fr: self.title_fr.trim().to_owned(),
            },
            guidance: LocalizedText {
                en: self.guidance_en.trim().to_owned(),
                fr: self.guidance_fr.trim().to_owned(),
            },
            weight,
            scale,
        })
    }
}

/// A change to a framework version.
#[derive(Debug, Clone)]
pub enum Change {
    /// Title, description, roll-up, version name.
    Details {
        version: String,
        title: LocalizedText,
        description: LocalizedText,
        roll_up: super::RollUp,
    },
    /// A new section at the end.
    AddSection(SectionInput),
    /// Edit the section with this code.
    EditSection {
        code: String,
        input: SectionInput,
    },
    RemoveSection {
        code: String,
    },
    /// Move a section one place up (-1) or down (+1).
    MoveSection {
        code: String,
        by: isize,
    },
    /// A new goal at the end of its section.
    AddGoal(Goal, String),
    /// Edit the goal with this code (possibly moving it to another section).
    EditGoal {
        code: String,
        goal: Goal,
        section: String,
    },
    RemoveGoal {
        code: String,
    },
    MoveGoal {
        code: String,
        by: isize,
    },
}

/// Why a change cannot be made.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeError {
    /// The section or goal named does not exist.
    NotFound,
    /// The document would break these rules.
    Invalid(Vec<Problem>),
}

fn locate_goal(framework: &Framework, code: &str) -> Option<(usize, usize)> {
    framework
        .sections
        .iter()
        .enumerate()
        .find_map(|(s, section)| {
            section
                .goals
                .iter()
                .position(|g| g.code == code)
                .map(|g| (s, g))
        })
}

/// Applies a change and validates the whole result; the framework is untouched on error.
pub fn apply(framework: &Framework, change: Change) -> Result<Framework, ChangeError> {
    let mut next = framework.clone();
    let section_index =
        |next: &Framework, code: &str| next.sections.iter().position(|s| s.code == code);
    match change {
        Change::Details {
            version,
            title,
            description,
            roll_up,
        } => {
            next.version = version.trim().to_owned();
            next.title = title;
            next.description = description;
            next.roll_up = roll_up;
        }
        Change::AddSection(input) => {
            let mut section = Section {
                code: String::new(),
                title: LocalizedText::default(),
                description: LocalizedText::default(),
                goals: Vec::new(),
            };
            input.apply(&mut section);
            section.goals.push(Goal {
                code: input.first_goal_code.trim().to_owned(),
                title: LocalizedText {
                    en: input.first_goal_title_en.trim().to_owned(),
                    fr: String::new(),
                },
                guidance: LocalizedText::default(),
                weight: Decimal::ONE,
                scale: AnswerScale::YesNo {},
            });
            next.sections.push(section);
        }
        Change::EditSection { code, input } => {
            let index = section_index(&next, &code).ok_or(ChangeError::NotFound)?;
            input.apply(&mut next.sections[index]);
        }
        Change::RemoveSection { code } => {
            let index = section_index(&next, &code).ok_or(ChangeError::NotFound)?;
            next.sections.remove(index);
        }
        Change::MoveSection { code, by } => {
            let index = section_index(&next, &code).ok_or(ChangeError::NotFound)?;
            let target = index
                .checked_add_signed(by)
                .filter(|t| *t < next.sections.len());
            if let Some(target) = target {
                next.sections.swap(index, target);
            }
        }
        Change::AddGoal(goal, section) => {
            let index = section_index(&next, &section).ok_or(ChangeError::NotFound)?;
            next.sections[index].goals.push(goal);
        }
        Change::EditGoal {
            code,
            goal,
            section,
        } => {
            let (s, g) = locate_goal(&next, &code).ok_or(ChangeError::NotFound)?;
            let target = section_index(&next, &section).ok_or(ChangeError::NotFound)?;
            if target == s {
                next.sections[s].goals[g] = goal;
            } else {
                next.sections[s].goals.remove(g);
                next.sections[target].goals.push(goal);
            }
        }
        Change::RemoveGoal { code } => {
            let (s, g) = locate_goal(&next, &code).ok_or(ChangeError::NotFound)?;
            next.sections[s].goals.remove(g);
        }
        Change::MoveGoal { code, by } => {
            let (s, g) = locate_goal(&next, &code).ok_or(ChangeError::NotFound)?;
            let target = g
                .checked_add_signed(by)
                .filter(|t| *t < next.sections[s].goals.len());
            if let Some(target) = target {
                next.sections[s].goals.swap(g, target);
            }
        }
    }
    let problems = validate(&FrameworkDocument::from(&next));
    if problems.is_empty() {
        Ok(next)
    } else {
        Err(ChangeError::Invalid(problems))
    }
}

/// The form field a problem points at. A form changes one section or goal of a valid document,
/// so a problem under any section (`/sections/{s}/…`, for a section form) or goal
/// (`/sections/{s}/goals/{g}/…`, for a goal form) is about that form's fields.
pub fn form_field(problem_path: &str, goal_form: bool) -> Option<String> {
    let rest = problem_path.strip_prefix("/sections/")?;
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = if goal_form {
        let rest = rest.strip_prefix("/goals/")?;
        rest.trim_start_matches(|c: char| c.is_ascii_digit())
    } else if rest.starts_with("/goals/") {
        return None;
    } else {
        rest
    };
    let field = match rest {
        "/code" => "code".to_owned(),
        "/title/en" => "title_en".to_owned(),
        "/title/fr" => "title_fr".to_owned(),
        "/description/en" => "description_en".to_owned(),
        "/guidance/en" => "guidance_en".to_owned(),
        "/weight" => "weight".to_owned(),
        "/scale/max" => "max".to_owned(),
        "/scale/decimals" => "decimals".to_owned(),
        "/scale/levels" | "/scale/levels/0/level" => "lowest_level".to_owned(),
        other => {
            let level = other.strip_prefix("/scale/levels/")?;
            let (index, tail) = level.split_once('/')?;
            match tail {
                "name/en" | "level" => format!("level_name_en_{index}"),
                "name/fr" => format!("level_name_fr_{index}"),
                _ => return None,
            }
        }
    };
    Some(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Framework {
        Framework::from_json(include_str!(
            "../../../fixtures/frameworks/itu-gci-2020.json"
        ))
        .unwrap()
    }

    #[test]
    fn a_goal_form_round_trips_every_scale() {
        let pledge = Framework::from_json(include_str!(
            "../../../fixtures/frameworks/cyber-defence-pledge-2016.json"
        ))
        .unwrap();
        for (section, goal) in pledge.goals() {
            let input = GoalInput::of(&section.code, goal);
            assert_eq!(&input.to_goal().unwrap(), goal, "{}", goal.code);
        }
    }

    #[test]
    fn a_new_section_comes_with_its_first_goal() {
        let input = SectionInput {
            code: "NEW".into(),
            title_en: "New".into(),
            first_goal_code: "new.1".into(),
            first_goal_title_en: "First".into(),
            ..SectionInput::default()
        };
        let next = apply(&sample(), Change::AddSection(input)).unwrap();
        assert_eq!(next.sections[5].goals[0].code, "new.1");
    }

    #[test]
    fn a_goal_with_many_levels_keeps_them_all_through_the_form() {
        let levels = (0..=14)
            .map(|level| MaturityLevel {
                level,
                name: LocalizedText {
                    en: format!("L{level}"),
                    fr: String::new(),
                },
                descriptor: LocalizedText::default(),
            })
            .collect();
        let goal = Goal {
            code: "g".into(),
            title: LocalizedText {
                en: "G".into(),
                fr: String::new(),
            },
            guidance: LocalizedText::default(),
            weight: "1.0".parse::<crate::domain::scoring::Decimal>().unwrap(),
            scale: AnswerScale::Maturity { levels },
        };
        let input = GoalInput::of("S", &goal);
        let mut pairs = vec![
            ("scale".to_owned(), "maturity".to_owned()),
            ("code".to_owned(), "g".to_owned()),
            ("title_en".to_owned(), "G".to_owned()),
            ("lowest_level".to_owned(), "0".to_owned()),
        ];
        for (i, row) in input.levels.iter().enumerate() {
            pairs.push((format!("level_name_en_{i}"), row[0].clone()));
        }
        assert_eq!(GoalInput::from_pairs(&pairs).to_goal().unwrap(), goal);
    }

    #[test]
    fn unreadable_numbers_are_reported_at_their_fields() {
        let mut input = GoalInput::of("LEGAL", &sample().sections[0].goals[0]);
        input.weight = "heavy".into();
        input.max = "twenty".into();
        let problems = input.to_goal().unwrap_err();
        assert_eq!(problems.keys().collect::<Vec<_>>(), ["max", "weight"]);
    }

    #[test]
    fn changes_are_validated_as_a_whole_and_leave_the_original_alone() {
        let gci = sample();
        let duplicate = SectionInput {
            code: "LEGAL".into(),
            title_en: "Again".into(),
            ..SectionInput::default()
        };
        match apply(&gci, Change::AddSection(duplicate)) {
            Err(ChangeError::Invalid(problems)) => {
                let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
                assert_eq!(
                    paths,
                    [
                        "/sections/5/code",
                        "/sections/5/goals/0/code",
                        "/sections/5/goals/0/title/en"
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        let moved = apply(
            &gci,
            Change::MoveSection {
                code: "COOPERATION".into(),
                by: -1,
            },
        )
        .unwrap();
        assert_eq!(moved.sections[3].code, "COOPERATION");
        assert_eq!(gci.sections[4].code, "COOPERATION");
        let removed = apply(
            &gci,
            Change::RemoveGoal {
                code: "legal".into(),
            },
        );
        assert!(
            matches!(removed, Err(ChangeError::Invalid(_))),
            "a section keeps at least one goal"
        );
        assert_eq!(
            apply(
                &gci,
                Change::RemoveSection {
                    code: "NOPE".into()
                }
            ),
            Err(ChangeError::NotFound)
        );
    }

    #[test]
    fn problem_paths_map_to_form_fields() {
        assert_eq!(
            form_field("/sections/2/goals/1/scale/max", true).as_deref(),
            Some("max")
        );
        assert_eq!(
            form_field("/sections/2/goals/11/scale/levels/3/level", true).as_deref(),
            Some("level_name_en_3")
        );
        assert_eq!(
            form_field("/sections/12/code", false).as_deref(),
            Some("code")
        );
        assert_eq!(form_field("/sections/3/goals/0/code", false), None);
        assert_eq!(form_field("/family", true), None);
    }
}
