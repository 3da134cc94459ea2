//! Assessment cycles: one round on one framework version, planned → open → closed → published.

use time::Date;

/// Where a cycle is in its life.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CycleState {
    Planned,
    Open,
    Closed,
    Published,
}

impl CycleState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Published => "published",
        }
    }

    /// Reads the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "planned" => Some(Self::Planned),
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            "published" => Some(Self::Published),
            _ => None,
        }
    }
}

/// A change of state an admin can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Creates an assessment for every active participant.
    Open,
    Close,
    Publish,
}

impl Transition {
    /// The state before and after: a transition is valid from exactly one state.
    pub fn states(self) -> (CycleState, CycleState) {
        match self {
            Self::Open => (CycleState::Planned, CycleState::Open),
            Self::Close => (CycleState::Open, CycleState::Closed),
            Self::Publish => (CycleState::Closed, CycleState::Published),
        }
    }

    /// The name used in URLs and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Close => "close",
            Self::Publish => "publish",
        }
    }

    /// Catalogue key of the refusal when the cycle is not in the state this needs.
    pub fn refusal_key(self) -> &'static str {
        match self {
            Self::Open => "cycle.refused.open",
            Self::Close => "cycle.refused.close",
            Self::Publish => "cycle.refused.publish",
        }
    }

    /// Where a cycle may go from `state`, or the key of the refusal.
    pub fn apply(self, state: CycleState) -> Result<CycleState, &'static str> {
        let (from, to) = self.states();
        if state == from {
            Ok(to)
        } else {
            Err(self.refusal_key())
        }
    }
}

/// A deadline may move later (never earlier) while the cycle is planned or open.
pub fn check_new_deadline(state: CycleState, current: Date, new: Date) -> Result<(), &'static str> {
    if !matches!(state, CycleState::Planned | CycleState::Open) {
        return Err("cycle.refused.extend");
    }
    if new <= current {
        return Err("field.deadline.not_later");
    }
    Ok(())
}

/// A cycle as typed, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCycle {
    pub code: String,
    pub title_en: String,
    pub title_fr: String,
    pub opens_on: Date,
    pub deadline: Date,
}

/// The fields of a cycle form, as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CycleInput {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub title_en: String,
    #[serde(default)]
    pub title_fr: String,
    #[serde(default)]
    pub opens_on: String,
    #[serde(default)]
    pub deadline: String,
}

/// Reads an ISO date (`2026-09-01`).
pub fn parse_date(text: &str) -> Option<Date> {
    Date::parse(
        text.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

impl NewCycle {
    /// Checks every field; returns field → catalogue key for each problem.
    pub fn parse(input: &CycleInput) -> Result<Self, Vec<(&'static str, &'static str)>> {
        let mut problems = Vec::new();
        let code = input.code.trim();
        let code_ok = !code.is_empty()
            && code.len() <= 40
            && code.starts_with(|c: char| c.is_ascii_alphanumeric())
            && code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !code_ok {
            problems.push(("code", "field.cycle_code.invalid"));
        }
        let title = input.title_en.trim();
        if title.is_empty() || title.chars().count() > 300 {
            problems.push(("title_en", "field.title.required"));
        }
        let opens_on = parse_date(&input.opens_on);
        let deadline = parse_date(&input.deadline);
        if opens_on.is_none() {
            problems.push(("opens_on", "field.date.invalid"));
        }
        if deadline.is_none() {
            problems.push(("deadline", "field.date.invalid"));
        }
        if let (Some(opens_on), Some(deadline)) = (opens_on, deadline)
            && deadline < opens_on
        {
            problems.push(("deadline", "field.deadline.before_opening"));
        }
        match (problems.is_empty(), opens_on, deadline) {
            (true, Some(opens_on), Some(deadline)) => Ok(Self {
                code: code.to_owned(),
                title_en: title.to_owned(),
                title_fr: input.title_fr.trim().to_owned(),
                opens_on,
                deadline,
            }),
            _ => Err(problems),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn transitions_run_planned_open_closed_published_and_nothing_else() {
        assert_eq!(
            Transition::Open.apply(CycleState::Planned),
            Ok(CycleState::Open)
        );
        assert_eq!(
            Transition::Close.apply(CycleState::Open),
            Ok(CycleState::Closed)
        );
        assert_eq!(
            Transition::Publish.apply(CycleState::Closed),
            Ok(CycleState::Published)
        );
        assert_eq!(
            Transition::Publish.apply(CycleState::Open),
            Err("cycle.refused.publish")
        );
        assert_eq!(
            Transition::Open.apply(CycleState::Closed),
            Err("cycle.refused.open")
        );
        assert_eq!(
            Transition::Close.apply(CycleState::Published),
            Err("cycle.refused.close")
        );
    }

    #[test]
    fn a_deadline_only_moves_later_and_only_before_closing() {
        let d = date!(2026 - 12 - 11);
        assert_eq!(
            check_new_deadline(CycleState::Open, d, date!(2027 - 01 - 15)),
            Ok(())
        );
        assert_eq!(
            check_new_deadline(CycleState::Open, d, d),
            Err("field.deadline.not_later")
        );
        assert_eq!(
            check_new_deadline(CycleState::Closed, d, date!(2027 - 01 - 15)),
            Err("cycle.refused.extend")
        );
    }

    #[test]
    fn a_cycle_form_reports_every_field_in_error() {
        let input = CycleInput {
            code: "bad code".into(),
            title_en: " ".into(),
            opens_on: "2026-13-01".into(),
            deadline: "2026-12-11".into(),
            ..CycleInput::default()
        };
        let fields: Vec<&str> = NewCycle::parse(&input)
            .unwrap_err()
            .iter()
            .map(|(f, _)| *f)
            .collect();
        assert_eq!(fields, ["code", "title_en", "opens_on"]);
        let backwards = CycleInput {
            code: "2027".into(),
            title_en: "2027".into(),
            opens_on: "2027-09-01".into(),
            deadline: "2027-08-01".into(),
            ..CycleInput::default()
        };
        assert_eq!(
            NewCycle::parse(&backwards).unwrap_err(),
            [("deadline", "field.deadline.before_opening")]
        );
    }
}
