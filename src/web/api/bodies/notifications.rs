//! In-app notifications.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::services;

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
