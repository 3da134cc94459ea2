//! Clarification requests through the API.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::bodies::{ClarificationView, all};
use super::frameworks::Created;
use crate::services::RequestContext;
use crate::services::clarifications as service;
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};

/// The clarification routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open_requests))
        .routes(routes!(list_for_assessment, raise))
        .routes(routes!(reply))
        .routes(routes!(resolve))
}

/// The open requests the caller may see, newest first.
#[utoipa::path(get, path = "/clarifications", tag = "clarifications",
    responses((status = 200, description = "Open requests", body = Vec<ClarificationView>), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn open_requests(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Vec<ClarificationView>>, AppError> {
    Ok(Json(all(service::open(&state.db, &me).await?)))
}

/// The requests on an assessment.
#[utoipa::path(get, path = "/assessments/{assessment}/clarifications", tag = "clarifications", params(("assessment" = Uuid, Path, description = "Assessment id")),
    responses((status = 200, description = "The requests", body = Vec<ClarificationView>), (status = 404, description = "No such assessment (or not yours)", body = ErrorBody)))]
pub async fn list_for_assessment(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<ClarificationView>>, AppError> {
    Ok(Json(
        all(service::for_assessment(&state.db, &me, id).await?),
    ))
}

/// A question on one goal's answer.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RaiseRequest {
    pub goal: String,
    pub question: String,
}

/// Raise a request on one answer (analysts and admins).
#[utoipa::path(post, path = "/assessments/{assessment}/clarifications", tag = "clarifications", params(("assessment" = Uuid, Path, description = "Assessment id")),
    request_body = RaiseRequest,
    responses((status = 201, description = "Raised", body = Created), (status = 403, description = "Analysts and admins only", body = ErrorBody),
              (status = 422, description = "`fields.question` is required", body = ErrorBody)))]
pub async fn raise(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Json(request): Json<RaiseRequest>,
) -> Result<(StatusCode, Json<Created>), AppError> {
    let id = service::raise(
        &state.db,
        &me,
        id,
        &request.goal,
        &request.question,
        &context,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// A reply.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReplyRequest {
    pub body: String,
}

/// Reply to a request (the delegation's editors, or staff).
#[utoipa::path(post, path = "/clarifications/{clarification}/messages", tag = "clarifications", params(("clarification" = Uuid, Path, description = "Request id")),
    request_body = ReplyRequest,
    responses((status = 204, description = "Added"), (status = 403, description = "Not allowed", body = ErrorBody), (status = 409, description = "Resolved", body = ErrorBody)))]
pub async fn reply(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Json(request): Json<ReplyRequest>,
) -> Result<StatusCode, AppError> {
    service::reply(&state.db, &me, id, &request.body, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resolve a request (its requester, or an admin).
#[utoipa::path(post, path = "/clarifications/{clarification}/resolve", tag = "clarifications", params(("clarification" = Uuid, Path, description = "Request id")),
    responses((status = 204, description = "Resolved"), (status = 403, description = "Not the requester", body = ErrorBody), (status = 409, description = "Already resolved", body = ErrorBody)))]
pub async fn resolve(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    service::resolve(&state.db, &me, id, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}
