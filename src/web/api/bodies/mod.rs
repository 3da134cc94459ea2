//! What the API sends: its own response types, one per shape, each with a `From` the service's
//! record. The storage rows stay out of the API: a column added to a query changes no response,
//! and a response changes only here (the OpenAPI document is generated from these, under the
//! same names and fields as before: `tests/app/openapi.rs` validates it).
//!
//! One file per resource; every type is re-exported here, so handlers name `bodies::CycleView`.
//! A component of the OpenAPI document is named after its type alone (not its module), so moving
//! a type between these files changes nothing in the document.

mod assessments;
mod cycles;
mod frameworks;
mod national_goals;
mod notifications;
mod team;
mod users;

pub use assessments::{AssessmentHead, ClarificationView, EvidenceItem, RevisionRow};
pub use cycles::{BoardRow, CycleView, Participant};
pub use frameworks::{FrameworkSummary, MappingRow, MappingSummary};
pub use national_goals::{GoalVersion, NationalGoalView};
pub use notifications::NotificationView;
pub use team::{Assignment, Member, PendingInvitation, WorkItem};
pub use users::{EntryView, SessionSummary, TokenSummary, UserSummary};

/// Every record of a list as its response type.
pub fn all<T, U: From<T>>(rows: Vec<T>) -> Vec<U> {
    rows.into_iter().map(U::from).collect()
}
