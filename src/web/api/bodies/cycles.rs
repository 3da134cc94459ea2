//! Cycles, the status board's rows and participants.

use serde::Serialize;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::assessment::AssessmentState;
use crate::domain::cycle::CycleState;
use crate::services;

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
