//! What the API sends: its own response types, one per shape, each with a `From` the service's
//! record. The storage rows stay out of the API: a column added to a query changes no response,
//! and a response changes only here (the OpenAPI document is generated from these, under the
//! same names and fields as before: `tests/app/openapi.rs` validates it).

use serde::{Deserialize, Serialize};
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

/// One goal-to-goal relation, by goal code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MappingRow {
    /// The goal in the earlier version (none for `new`).
    pub from_goal: Option<String>,
    /// The goal in the later version (none for `retired`).
    pub to_goal: Option<String>,
    /// equivalent, split, merged, new or retired.
    pub relation: String,
}

impl From<services::mappings::MappingRow> for MappingRow {
    fn from(row: services::mappings::MappingRow) -> Self {
        Self {
            from_goal: row.from_goal,
            to_goal: row.to_goal,
            relation: row.relation,
        }
    }
}

impl From<MappingRow> for services::mappings::MappingRow {
    fn from(row: MappingRow) -> Self {
        Self {
            from_goal: row.from_goal,
            to_goal: row.to_goal,
            relation: row.relation,
        }
    }
}

/// The versions a version is mapped to or from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MappingSummary {
    pub from_framework_id: Uuid,
    pub from_version: String,
    pub to_framework_id: Uuid,
    pub to_version: String,
    pub rows: i64,
}

impl From<services::mappings::MappingSummary> for MappingSummary {
    fn from(row: services::mappings::MappingSummary) -> Self {
        Self {
            from_framework_id: row.from_framework_id,
            from_version: row.from_version,
            to_framework_id: row.to_framework_id,
            to_version: row.to_version,
            rows: row.rows,
        }
    }
}

/// One goal held by one member.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Assignment {
    pub goal_id: Uuid,
    pub goal_code: String,
    pub user_id: Uuid,
    pub display_name: String,
    /// Carried forward from the previous cycle and not yet confirmed by a head.
    pub needs_review: bool,
}

impl From<services::assignments::Assignment> for Assignment {
    fn from(row: services::assignments::Assignment) -> Self {
        Self {
            goal_id: row.goal_id,
            goal_code: row.goal_code,
            user_id: row.user_id,
            display_name: row.display_name,
            needs_review: row.needs_review,
        }
    }
}

/// One goal on someone's "My work" list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkItem {
    pub assessment_id: Uuid,
    pub participant_code: String,
    pub cycle_code: String,
    pub cycle_title_en: String,
    pub cycle_title_fr: String,
    /// planned, open, closed or published
    pub cycle_state: String,
    #[schema(value_type = String, format = Date)]
    pub deadline: Date,
    /// The assessment's state (not_started, draft, submitted, returned, resubmitted, accepted).
    pub assessment_state: String,
    pub section_code: String,
    pub goal_code: String,
    pub goal_title_en: String,
    pub goal_title_fr: String,
    /// not_started (no answer), in_progress (stored without a value), unconfirmed (carried
    /// forward), answered.
    pub goal_state: String,
    /// Carried forward from the previous cycle and not yet confirmed by a head.
    pub needs_review: bool,
    pub open_clarifications: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub assigned_at: OffsetDateTime,
}

impl From<services::assignments::WorkItem> for WorkItem {
    fn from(row: services::assignments::WorkItem) -> Self {
        Self {
            assessment_id: row.assessment_id,
            participant_code: row.participant_code,
            cycle_code: row.cycle_code,
            cycle_title_en: row.cycle_title_en,
            cycle_title_fr: row.cycle_title_fr,
            cycle_state: row.cycle_state,
            deadline: row.deadline,
            assessment_state: row.assessment_state,
            section_code: row.section_code,
            goal_code: row.goal_code,
            goal_title_en: row.goal_title_en,
            goal_title_fr: row.goal_title_fr,
            goal_state: row.goal_state,
            needs_review: row.needs_review,
            open_clarifications: row.open_clarifications,
            assigned_at: row.assigned_at,
        }
    }
}

/// A live session as listed to its user or to an admin.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionSummary {
    pub handle: Uuid,
    pub user_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: OffsetDateTime,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

impl From<services::users::SessionSummary> for SessionSummary {
    fn from(row: services::users::SessionSummary) -> Self {
        Self {
            handle: row.handle,
            user_id: row.user_id,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            client_addr: row.client_addr,
            user_agent: row.user_agent,
        }
    }
}

/// A version as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FrameworkSummary {
    pub id: Uuid,
    pub family: String,
    pub version: String,
    pub title_en: String,
    pub title_fr: String,
    pub roll_up: String,
    pub frozen: bool,
    pub sections: i64,
    pub goals: i64,
    pub cycles: i64,
}

impl From<services::frameworks::FrameworkSummary> for FrameworkSummary {
    fn from(row: services::frameworks::FrameworkSummary) -> Self {
        Self {
            id: row.id,
            family: row.family,
            version: row.version,
            title_en: row.title_en,
            title_fr: row.title_fr,
            roll_up: row.roll_up,
            frozen: row.frozen,
            sections: row.sections,
            goals: row.goals,
            cycles: row.cycles,
        }
    }
}

/// A cycle as listed and shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CycleView {
    pub id: Uuid,
    pub code: String,
    pub title_en: String,
    pub title_fr: String,
    #[schema(value_type = String)]
    pub state: CycleState,
    pub framework_id: Uuid,
    pub framework_version: String,
    pub framework_title_en: String,
    #[schema(value_type = String, format = Date)]
    pub opens_on: Date,
    #[schema(value_type = String, format = Date)]
    pub deadline: Date,
    /// Days from today to the deadline (negative once passed).
    pub days_left: i32,
    pub assessments: i64,
    pub submitted: i64,
    pub row_version: i64,
}

impl From<services::cycles::CycleView> for CycleView {
    fn from(row: services::cycles::CycleView) -> Self {
        Self {
            id: row.id,
            code: row.code,
            title_en: row.title_en,
            title_fr: row.title_fr,
            state: row.state,
            framework_id: row.framework_id,
            framework_version: row.framework_version,
            framework_title_en: row.framework_title_en,
            opens_on: row.opens_on,
            deadline: row.deadline,
            days_left: row.days_left,
            assessments: row.assessments,
            submitted: row.submitted,
            row_version: row.row_version,
        }
    }
}

/// One row of the cycle status board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardRow {
    pub assessment_id: Uuid,
    pub participant_id: Uuid,
    pub participant_code: String,
    pub participant_name_en: String,
    pub participant_name_fr: String,
    #[schema(value_type = String)]
    pub state: AssessmentState,
    pub revision: i32,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_activity_at: Option<OffsetDateTime>,
    pub open_clarifications: i64,
}

impl From<services::cycles::BoardRow> for BoardRow {
    fn from(row: services::cycles::BoardRow) -> Self {
        Self {
            assessment_id: row.assessment_id,
            participant_id: row.participant_id,
            participant_code: row.participant_code,
            participant_name_en: row.participant_name_en,
            participant_name_fr: row.participant_name_fr,
            state: row.state,
            revision: row.revision,
            last_activity_at: row.last_activity_at,
            open_clarifications: row.open_clarifications,
        }
    }
}

/// A user as admins see them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserSummary {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// admin, analyst, head, contributor or viewer.
    pub role: String,
    pub participant_code: Option<String>,
    pub participant_id: Option<Uuid>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub second_factor: bool,
    pub live_sessions: i64,
}

impl From<services::users::UserSummary> for UserSummary {
    fn from(row: services::users::UserSummary) -> Self {
        Self {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            role: row.role,
            participant_code: row.participant_code,
            participant_id: row.participant_id,
            disabled: row.disabled,
            must_change_password: row.must_change_password,
            second_factor: row.second_factor,
            live_sessions: row.live_sessions,
        }
    }
}

/// An entry as admins read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntryView {
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: OffsetDateTime,
    pub actor_label: String,
    pub actor_email: Option<String>,
    pub action: String,
    pub participant_code: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
}

impl From<services::users::EntryView> for EntryView {
    fn from(row: services::users::EntryView) -> Self {
        Self {
            seq: row.seq,
            occurred_at: row.occurred_at,
            actor_label: row.actor_label,
            actor_email: row.actor_email,
            action: row.action,
            participant_code: row.participant_code,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            details: row.details,
            client_addr: row.client_addr,
            request_id: row.request_id,
        }
    }
}

/// A participant as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Participant {
    pub id: Uuid,
    /// ISO 3166-1 alpha-3 code.
    pub code: String,
    pub name_en: String,
    pub name_fr: String,
    /// `ally` or `partner`.
    pub kind: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub accession_date: Option<time::Date>,
    pub active: bool,
}

impl From<services::participants::Participant> for Participant {
    fn from(row: services::participants::Participant) -> Self {
        Self {
            id: row.id,
            code: row.code,
            name_en: row.name_en,
            name_fr: row.name_fr,
            kind: row.kind,
            accession_date: row.accession_date,
            active: row.active,
        }
    }
}

/// A token as listed to its owner (never the secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenSummary {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<services::users::TokenSummary> for TokenSummary {
    fn from(row: services::users::TokenSummary) -> Self {
        Self {
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
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

/// An invitation as the delegation's head sees it: whether the address had an account is not
/// shown (an invitation to such an address simply stays pending until it expires).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PendingInvitation {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// contributor or viewer
    pub role: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

impl From<services::assignments::PendingInvitation> for PendingInvitation {
    fn from(row: services::assignments::PendingInvitation) -> Self {
        Self {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            role: row.role,
            created_at: row.created_at,
            expires_at: row.expires_at,
        }
    }
}

/// A member of a delegation as its head sees them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Member {
    pub id: Uuid,
    pub participant_id: Uuid,
    pub email: String,
    pub display_name: String,
    /// head, contributor or viewer
    pub role: String,
    pub disabled: bool,
    pub second_factor: bool,
    /// When they last completed a sign-in; absent if never.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_sign_in: Option<OffsetDateTime>,
}

impl From<services::assignments::Member> for Member {
    fn from(row: services::assignments::Member) -> Self {
        Self {
            id: row.id,
            participant_id: row.participant_id,
            email: row.email,
            display_name: row.display_name,
            role: row.role,
            disabled: row.disabled,
            second_factor: row.second_factor,
            last_sign_in: row.last_sign_in,
        }
    }
}

/// A national goal as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NationalGoalView {
    pub id: Uuid,
    pub participant_id: Uuid,
    pub participant_code: String,
    pub section_id: Uuid,
    pub section_code: String,
    pub section_title_en: String,
    pub section_title_fr: String,
    pub title: String,
    pub measure: String,
    pub unit: String,
    #[serde(with = "crate::domain::scoring::number::option")]
    pub baseline_value: Option<Decimal>,
    #[serde(with = "crate::domain::scoring::number::option")]
    pub current_value: Option<Decimal>,
    #[serde(with = "crate::domain::scoring::number")]
    pub target_value: Decimal,
    pub target_year: i32,
    pub status: String,
    pub owner: String,
    pub notes: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: time::OffsetDateTime,
    pub updated_by_name: Option<String>,
    pub row_version: i64,
}

impl From<services::national_goals::NationalGoalView> for NationalGoalView {
    fn from(row: services::national_goals::NationalGoalView) -> Self {
        Self {
            id: row.id,
            participant_id: row.participant_id,
            participant_code: row.participant_code,
            section_id: row.section_id,
            section_code: row.section_code,
            section_title_en: row.section_title_en,
            section_title_fr: row.section_title_fr,
            title: row.title,
            measure: row.measure,
            unit: row.unit,
            baseline_value: row.baseline_value,
            current_value: row.current_value,
            target_value: row.target_value,
            target_year: row.target_year,
            status: row.status,
            owner: row.owner,
            notes: row.notes,
            updated_at: row.updated_at,
            updated_by_name: row.updated_by_name,
            row_version: row.row_version,
        }
    }
}

/// One earlier (or the current) version of a goal.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GoalVersion {
    pub version: i64,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub changed_by_name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub changed_at: time::OffsetDateTime,
}

impl From<services::national_goals::GoalVersion> for GoalVersion {
    fn from(row: services::national_goals::GoalVersion) -> Self {
        Self {
            version: row.version,
            data: row.data,
            changed_by_name: row.changed_by_name,
            changed_at: row.changed_at,
        }
    }
}

/// Every record of a list as its response type.
pub fn all<T, U: From<T>>(rows: Vec<T>) -> Vec<U> {
    rows.into_iter().map(U::from).collect()
}

/// One in-app notification as its recipient sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub link: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub read_at: Option<OffsetDateTime>,
}

impl From<services::notifications::NotificationView> for NotificationView {
    fn from(row: services::notifications::NotificationView) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            subject: row.subject,
            body: row.body,
            link: row.link,
            created_at: row.created_at,
            read_at: row.read_at,
        }
    }
}
