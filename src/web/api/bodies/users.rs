//! Users, their sessions and tokens, and the audit log's entries, as admins and owners see them.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::services;

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
