//! An assessment's head, its revisions, clarification requests and evidence.

use serde::Serialize;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::assessment::AssessmentState;
use crate::domain::cycle::CycleState;
use crate::domain::scoring::Decimal;
use crate::services;

/// An assessment with what the form shows around it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssessmentHead {
    pub id: Uuid,
    #[schema(value_type = String)]
    pub state: AssessmentState,
    pub revision: i32,
    pub row_version: i64,
    pub cycle_id: Uuid,
    pub cycle_code: String,
    #[schema(value_type = String)]
    pub cycle_state: CycleState,
    #[schema(value_type = String, format = Date)]
    pub deadline: Date,
    pub days_left: i32,
    pub late_submission_allowed: bool,
    pub framework_id: Uuid,
    pub participant_id: Uuid,
    pub participant_code: String,
    pub participant_name_en: String,
    pub participant_name_fr: String,
}

impl From<services::assessments::AssessmentHead> for AssessmentHead {
    fn from(row: services::assessments::AssessmentHead) -> Self {
        Self {
            id: row.id,
            state: row.state,
            revision: row.revision,
            row_version: row.row_version,
            cycle_id: row.cycle_id,
            cycle_code: row.cycle_code,
            cycle_state: row.cycle_state,
            deadline: row.deadline,
            days_left: row.days_left,
            late_submission_allowed: row.late_submission_allowed,
            framework_id: row.framework_id,
            participant_id: row.participant_id,
            participant_code: row.participant_code,
            participant_name_en: row.participant_name_en,
            participant_name_fr: row.participant_name_fr,
        }
    }
}

/// One submitted revision with the decision on it, if any.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevisionRow {
    pub revision: i32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub submitted_at: OffsetDateTime,
    pub submitted_by_name: Option<String>,
    /// SHA-256 of the snapshot document, hex.
    pub digest: String,
    #[serde(with = "crate::domain::scoring::number::option")]
    pub overall_score: Option<Decimal>,
    pub answered: i32,
    pub applicable: i32,
    pub decision: Option<String>,
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<OffsetDateTime>,
}

impl From<services::workflow::RevisionRow> for RevisionRow {
    fn from(row: services::workflow::RevisionRow) -> Self {
        Self {
            revision: row.revision,
            submitted_at: row.submitted_at,
            submitted_by_name: row.submitted_by_name,
            digest: row.digest,
            overall_score: row.overall_score,
            answered: row.answered,
            applicable: row.applicable,
            decision: row.decision,
            reason: row.reason,
            decided_at: row.decided_at,
        }
    }
}

/// A clarification request with its thread, as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClarificationView {
    pub id: Uuid,
    pub assessment_id: Uuid,
    pub participant_code: String,
    pub cycle_code: String,
    pub goal_code: String,
    pub question: String,
    /// open, answered or resolved
    pub state: String,
    pub raised_by: Option<Uuid>,
    pub raised_by_name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub raised_at: time::OffsetDateTime,
    /// Replies in order: author name, text.
    #[schema(value_type = Vec<Object>)]
    pub messages: Vec<serde_json::Value>,
}

impl From<services::clarifications::ClarificationView> for ClarificationView {
    fn from(row: services::clarifications::ClarificationView) -> Self {
        Self {
            id: row.id,
            assessment_id: row.assessment_id,
            participant_code: row.participant_code,
            cycle_code: row.cycle_code,
            goal_code: row.goal_code,
            question: row.question,
            state: row.state,
            raised_by: row.raised_by,
            raised_by_name: row.raised_by_name,
            raised_at: row.raised_at,
            messages: row.messages.0,
        }
    }
}

/// Evidence of one assessment, by kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceItem {
    pub id: Uuid,
    pub goal_code: String,
    /// link, file or action
    pub kind: String,
    /// The URL, the file name, or the action's description.
    pub text: String,
    /// The link's label, or the file's media type.
    pub detail: String,
    pub size_bytes: Option<i64>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<Date>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<services::evidence::EvidenceItem> for EvidenceItem {
    fn from(row: services::evidence::EvidenceItem) -> Self {
        Self {
            id: row.id,
            goal_code: row.goal_code,
            kind: row.kind,
            text: row.text,
            detail: row.detail,
            size_bytes: row.size_bytes,
            due_on: row.due_on,
            created_at: row.created_at,
        }
    }
}
