//! Assessment cycles: one round on one framework version, planned → open → closed → published.
//!
//! Two steps go back, for an admin who closed or published too early: reopening (closed → open)
//! and withdrawing a publication (published → closed). Their rules ("within the cycle's rules"):
//!
//! - Only one step back at a time: a published cycle is first withdrawn, then reopened; a planned
//!   cycle never comes back, and nothing goes back to planned (its assessments exist).
//! - Reopening keeps the deadline rule: when the deadline has passed, a reopening must name a new
//!   deadline, today or later ([`reopen_deadline`]); otherwise the cycle would be open with nobody
//!   able to submit. A new deadline, when given, is always later than the current one.
//! - Reopening changes no assessment: drafts become editable again, submitted ones stay submitted,
//!   and late submissions still need "allow late" once the (new) deadline passes.

use time::Date;

/// Where a cycle is in its life.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CycleState {
    Planned,
    Open,
    Closed,
    Published,
}

impl CycleState {
    /// Every state, in the order a cycle passes through them.
    pub const ALL: [CycleState; 4] = [Self::Planned, Self::Open, Self::Closed, Self::Published];

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

    /// Open: delegations answer, submit and are reviewed; nothing of an assessment changes in
    /// any other state.
    pub fn is_open(self) -> bool {
        self == Self::Open
    }

    /// The deadline may still move (later): planned or open.
    pub fn may_extend(self) -> bool {
        matches!(self, Self::Planned | Self::Open)
    }

    /// Whether `transition` starts from this state.
    pub fn allows(self, transition: Transition) -> bool {
        transition.states().0 == self
    }
}

impl std::fmt::Display for CycleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for CycleState {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

super::stored_as_text!(CycleState);

/// A change of state an admin can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Creates an assessment for every active participant.
    Open,
    Close,
    Publish,
    /// Back from closed to open (see the module's rules).
    Reopen,
    /// Withdraws a publication: back from published to closed.
    Unpublish,
}

impl Transition {
    /// The state before and after: a transition is valid from exactly one state.
    pub fn states(self) -> (CycleState, CycleState) {
        match self {
            Self::Open => (CycleState::Planned, CycleState::Open),
            Self::Close => (CycleState::Open, CycleState::Closed),
            Self::Publish => (CycleState::Closed, CycleState::Published),
            Self::Reopen => (CycleState::Closed, CycleState::Open),
            Self::Unpublish => (CycleState::Published, CycleState::Closed),
        }
    }

    /// The name used in URLs and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Close => "close",
            Self::Publish => "publish",
            Self::Reopen => "reopen",
            Self::Unpublish => "unpublish",
        }
    }

    /// Catalogue key of the refusal when the cycle is not in the state this needs.
    pub fn refusal_key(self) -> &'static str {
        match self {
            Self::Open => "cycle.refused.open",
            Self::Close => "cycle.refused.close",
            Self::Publish => "cycle.refused.publish",
            Self::Reopen => "cycle.refused.reopen",
            Self::Unpublish => "cycle.refused.unpublish",
        }
    }

    /// Reads the name used in URLs.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Open,
            Self::Close,
            Self::Publish,
            Self::Reopen,
            Self::Unpublish,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
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
    if !state.may_extend() {
        return Err("cycle.refused.extend");
    }
    if new <= current {
        return Err("field.deadline.not_later");
    }
    Ok(())
}

/// The deadline a reopened cycle gets: `None` keeps the current one. When the current deadline
/// has passed (before `today`), a new one is required; a new one is never earlier than today
/// and always later than the current one. Errors are catalogue keys for the `deadline` field.
pub fn reopen_deadline(
    current: Date,
    today: Date,
    new: Option<Date>,
) -> Result<Option<Date>, &'static str> {
    match new {
        None if current < today => Err("field.deadline.required_to_reopen"),
        None => Ok(None),
        Some(new) if new <= current => Err("field.deadline.not_later"),
        Some(new) if new < today => Err("field.deadline.past"),
        Some(new) => Ok(Some(new)),
    }
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
    fn closing_and_publishing_go_back_one_step_at_a_time() {
        assert_eq!(
            Transition::Reopen.apply(CycleState::Closed),
            Ok(CycleState::Open)
        );
        assert_eq!(
            Transition::Unpublish.apply(CycleState::Published),
            Ok(CycleState::Closed)
        );
        assert_eq!(
            Transition::Reopen.apply(CycleState::Published),
            Err("cycle.refused.reopen"),
            "withdraw the publication first"
        );
        assert_eq!(
            Transition::Reopen.apply(CycleState::Open),
            Err("cycle.refused.reopen")
        );
        assert_eq!(
            Transition::Unpublish.apply(CycleState::Closed),
            Err("cycle.refused.unpublish")
        );
        assert_eq!(Transition::parse("unpublish"), Some(Transition::Unpublish));
        assert_eq!(Transition::parse("plan"), None);
    }

    #[test]
    fn reopening_after_the_deadline_needs_a_new_one_from_today() {
        let deadline = date!(2026 - 12 - 11);
        let before = date!(2026 - 12 - 01);
        let after = date!(2026 - 12 - 20);
        assert_eq!(reopen_deadline(deadline, before, None), Ok(None));
        assert_eq!(reopen_deadline(deadline, deadline, None), Ok(None));
        assert_eq!(
            reopen_deadline(deadline, after, None),
            Err("field.deadline.required_to_reopen")
        );
        assert_eq!(
            reopen_deadline(deadline, after, Some(date!(2026 - 12 - 15))),
            Err("field.deadline.past")
        );
        assert_eq!(
            reopen_deadline(deadline, after, Some(date!(2027 - 01 - 15))),
            Ok(Some(date!(2027 - 01 - 15)))
        );
        assert_eq!(
            reopen_deadline(deadline, before, Some(deadline)),
            Err("field.deadline.not_later")
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
