//! Where an assessment is in the workflow, and every question the code asks of that state.
//!
//! not_started → draft (first answer saved) → submitted → returned → resubmitted → … → accepted.
//! The answers may change before submission and after a return ([`AssessmentState::may_edit`]);
//! the database asks the same question in `pledge_assessment_editable` (migration 0007), and
//! `tests/app/rls.rs` tries an edit in every state to keep the two lists one.

use super::cycle::CycleState;

/// The workflow state of one assessment, stored as its lowercase name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentState {
    NotStarted,
    Draft,
    Submitted,
    Returned,
    Resubmitted,
    Accepted,
}

impl AssessmentState {
    /// Every state, in the order of the workflow (the status board's filter lists them so).
    pub const ALL: [Self; 6] = [
        Self::NotStarted,
        Self::Draft,
        Self::Submitted,
        Self::Returned,
        Self::Resubmitted,
        Self::Accepted,
    ];

    /// The name stored in the database and sent by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Returned => "returned",
            Self::Resubmitted => "resubmitted",
            Self::Accepted => "accepted",
        }
    }

    /// Reads the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The delegation may change answers (and its cycle must be open too): before the first
    /// submission and after a return. The database's `pledge_assessment_editable` agrees.
    pub fn may_edit(self) -> bool {
        matches!(self, Self::NotStarted | Self::Draft | Self::Returned)
    }

    /// The head may submit from here: an editable assessment with at least one answer saved.
    pub fn may_submit(self) -> bool {
        self.may_edit() && self != Self::NotStarted
    }

    /// It has been submitted at least once and not returned since: analysts may read it, a
    /// second submit finds the work done.
    pub fn is_submitted(self) -> bool {
        matches!(self, Self::Submitted | Self::Resubmitted | Self::Accepted)
    }

    /// Waits for the secretariat's review (accept or return).
    pub fn may_review(self) -> bool {
        matches!(self, Self::Submitted | Self::Resubmitted)
    }

    /// A late submission may be allowed: only an assessment that can still be submitted.
    pub fn may_allow_late(self) -> bool {
        self.may_edit()
    }

    /// The state a submission of `revision` (1 for the first) leads to.
    pub fn after_submission(revision: i32) -> Self {
        if revision <= 1 {
            Self::Submitted
        } else {
            Self::Resubmitted
        }
    }
}

/// Whether answers (and their evidence) may change now: an editable assessment in an open cycle.
/// The error is the catalogue key of the refusal.
pub fn answers_may_change(state: AssessmentState, cycle: CycleState) -> Result<(), &'static str> {
    if !state.may_edit() {
        return Err("assessment.refused.submitted");
    }
    if !cycle.is_open() {
        return Err("assessment.refused.cycle_not_open");
    }
    Ok(())
}

impl std::fmt::Display for AssessmentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for AssessmentState {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

super::stored_as_text!(AssessmentState);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_the_questions_hold_together() {
        for state in AssessmentState::ALL {
            assert_eq!(AssessmentState::parse(state.as_str()), Some(state));
            assert_eq!(
                serde_json::to_value(state).ok(),
                Some(serde_json::json!(state.as_str()))
            );
            assert!(!(state.may_edit() && state.is_submitted()), "{state}");
            assert!(!state.may_submit() || state.may_edit(), "{state}");
            assert!(!state.may_review() || state.is_submitted(), "{state}");
        }
        assert_eq!(AssessmentState::parse("open"), None);
        assert!(!AssessmentState::NotStarted.may_submit());
        assert!(AssessmentState::Returned.may_submit());
        assert!(!AssessmentState::Accepted.may_review());
        assert_eq!(
            AssessmentState::after_submission(1),
            AssessmentState::Submitted
        );
        assert_eq!(
            AssessmentState::after_submission(2),
            AssessmentState::Resubmitted
        );
    }
}
