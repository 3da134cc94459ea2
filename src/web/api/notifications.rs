//! The caller's notifications through the API: the list (with the number unread) and marking
//! one read. Only the caller's own: another user's notification is 404.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::services::RequestContext;
use crate::services::notifications as service;
use crate::web::AppState;
use crate::web::api::bodies::NotificationView;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};

/// The notification routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(mark_read))
}

/// The caller's latest notifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    /// Newest first, at most 100.
    pub items: Vec<NotificationView>,
    /// How many of the caller's notifications are unread.
    pub unread: i64,
}

/// The caller's latest notifications (newest first) and the number unread.
#[utoipa::path(get, path = "/notifications", tag = "notifications",
    responses((status = 200, description = "The caller's notifications", body = NotificationList),
              (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<NotificationList>, AppError> {
    let (items, unread) = service::list(&state.db, &me).await?;
    Ok(Json(NotificationList {
        items: items.into_iter().map(NotificationView::from).collect(),
        unread,
    }))
}

/// Mark one of the caller's notifications read.
#[utoipa::path(post, path = "/notifications/{notification}/read", tag = "notifications",
    params(("notification" = Uuid, Path, description = "Notification id")),
    responses((status = 204, description = "Read (also when it already was)"),
              (status = 404, description = "No such notification of the caller's", body = ErrorBody)))]
pub async fn mark_read(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    service::mark_read(&state.db, &me, Some(id), &context).await?;
    Ok(StatusCode::NO_CONTENT)
}
