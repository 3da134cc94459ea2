//! A delegation's team: members, invitations, assignments and "My work".

use serde::Serialize;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::services;

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
