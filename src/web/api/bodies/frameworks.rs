//! Framework versions as listed, and the mappings between versions.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::services;

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
