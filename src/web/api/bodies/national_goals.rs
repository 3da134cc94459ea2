//! National goals and their versions.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::scoring::Decimal;
use crate::services;

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
