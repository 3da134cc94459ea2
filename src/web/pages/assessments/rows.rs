//! What the assessment's templates show: a goal with its answer form ([`GoalRow`]), a section
//! with its progress and status ([`SectionRow`]), the assessment's facts ([`Facts`]), links to
//! goals and the "mine" filter. Built by `content::form_of`.

use super::*;

/// One level offered for a maturity goal.
pub struct LevelChoice {
    pub level: i16,
    pub name: String,
    pub descriptor: String,
}

/// One goal as the section page (and the check page) shows it.
pub struct GoalRow {
    pub code: String,
    pub title: String,
    pub guidance: String,
    /// maturity, yes_no or numeric
    pub kind: &'static str,
    pub levels: Vec<LevelChoice>,
    /// For a number: its range, unit and precision in words ("A number from 0 to 20 (points),
    /// with up to 2 decimals").
    pub number_hint: String,
    pub input: AnswerInput,
    pub row_version: i64,
    /// A stored answer exists (typed or carried forward).
    pub stored: bool,
    pub unconfirmed: bool,
    /// When the secretariat entered this answer on the delegation's behalf (an import), until
    /// the delegation changes it.
    pub entered_by_secretariat: Option<String>,
    /// Still to answer: applicable and without a value.
    pub missing: bool,
    pub updated: String,
    pub errors: FieldErrors,
    /// The secretariat's note on this answer from the latest return.
    pub return_note: Option<String>,
    /// Clarification requests on this answer.
    pub clarifications: Vec<ClarificationView>,
    /// Links, files and planned actions on this answer.
    pub evidence: Vec<EvidenceItem>,
    /// What was typed into this goal's evidence forms when it was refused.
    pub draft: EvidenceDraft,
    /// The evidence block starts open: it has an error or was just changed.
    pub evidence_open: bool,
    /// Who holds this goal (assignments), by name.
    pub holders: Vec<String>,
    /// The reader holds it.
    pub mine: bool,
}

impl GoalRow {
    /// Whether the answer is chosen from radios (a fieldset whose legend is the goal).
    pub fn has_choices(&self) -> bool {
        self.kind != "numeric"
    }

    /// The open clarification requests on this goal.
    pub fn open_requests(&self) -> usize {
        self.clarifications
            .iter()
            .filter(|c| c.state != "resolved")
            .count()
    }

    /// Whether the goal needs the delegation's attention before submission.
    pub fn needs_review(&self) -> bool {
        self.unconfirmed || self.return_note.is_some() || self.open_requests() > 0
    }

    /// The id of the control an error on `field` links to (the error summary).
    pub fn anchor(&self, field: &str) -> String {
        let code = &self.code;
        match field {
            "value" => match self.levels.first() {
                Some(level) if self.kind == "maturity" => format!("value-{code}-{}", level.level),
                _ if self.kind == "yes_no" => format!("value-{code}-yes"),
                _ => format!("value-{code}"),
            },
            "not_applicable" | "na_justification" => format!("na-{code}"),
            "implementation_status" => format!("status-{code}"),
            "url" => format!("link-{code}"),
            "description" => format!("action-{code}"),
            "due_on" => format!("due-{code}"),
            other => format!("{other}-{code}"),
        }
    }

    /// The name of a value on this goal's scale: "3 — Defined", "Yes", "62.5"; "—" when empty.
    pub fn value_name(&self, value: &str, tr: &crate::presentation::i18n::Tr) -> String {
        let value = value.trim();
        if value.is_empty() {
            return "—".to_owned();
        }
        match self.kind {
            "maturity" => self
                .levels
                .iter()
                .find(|l| l.level.to_string() == value)
                .map_or_else(|| value.to_owned(), |l| format!("{} — {}", l.level, l.name)),
            "yes_no" => match value {
                "yes" => tr.t("assessment.yes").to_owned(),
                "no" => tr.t("assessment.no").to_owned(),
                other => other.to_owned(),
            },
            _ => value.to_owned(),
        }
    }
}

/// What was typed into one goal's evidence forms, kept (with its errors) when it is refused.
#[derive(Default, Clone)]
pub struct EvidenceDraft {
    pub url: String,
    pub label: String,
    pub description: String,
    pub due_on: String,
    pub errors: FieldErrors,
}

/// A section with its goals, progress and status.
pub struct SectionRow {
    pub code: String,
    pub title: String,
    pub answered: u32,
    pub applicable: u32,
    pub goals: Vec<GoalRow>,
}

impl SectionRow {
    /// How many of its goals the reader holds.
    pub fn mine(&self) -> usize {
        self.goals.iter().filter(|g| g.mine).count()
    }

    /// not_started, in_progress, completed or needs_review (an unconfirmed carried-forward
    /// answer, a reviewer's note or an open clarification request on one of its goals).
    pub fn status(&self) -> &'static str {
        if self.goals.iter().any(GoalRow::needs_review) {
            "needs_review"
        } else if !self.goals.iter().any(|g| g.stored) {
            "not_started"
        } else if self.goals.iter().any(|g| g.missing) {
            "in_progress"
        } else {
            "completed"
        }
    }

    pub(super) fn path(&self, id: Uuid) -> String {
        format!("/assessments/{id}/sections/{}", self.code)
    }
}

/// The assessment's facts, shared by its pages.
pub struct Facts {
    pub id: Uuid,
    pub participant: String,
    pub cycle: String,
    pub state: AssessmentState,
    pub deadline: time::Date,
    pub days_left: i32,
    pub editable: bool,
    pub answered: u32,
    pub applicable: u32,
}

impl Facts {
    /// Progress as a whole percentage.
    pub fn percent(&self) -> u32 {
        (self.answered * 100)
            .checked_div(self.applicable)
            .unwrap_or(100)
    }
}

/// The "mine" filter of the task list and the section pages: `?mine=1` (a plain link, no
/// JavaScript), kept by the server in the links it writes.
#[derive(Deserialize, Default)]
pub struct MineQuery {
    #[serde(default)]
    pub(super) mine: Option<String>,
}

impl MineQuery {
    pub(super) fn on(&self) -> bool {
        matches!(self.mine.as_deref(), Some("1" | "true" | "yes" | "on"))
    }
}

/// A link to one goal: its section page at the goal, with its code and title.
pub struct GoalLink {
    /// Its id on the page (`clarification-…` on the task list, where the list of open
    /// requests links), or empty.
    pub anchor: String,
    pub href: String,
    pub code: String,
    pub text: String,
}
