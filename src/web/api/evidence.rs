//! Evidence through the API: list, add a link, a planned action or a file, download, remove.

use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::bodies::{EvidenceItem, all};
use super::frameworks::Created;
use crate::domain::evidence::EvidenceKind;
use crate::services::RequestContext;
use crate::services::evidence as service;
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};

/// The evidence routes.
pub fn router() -> OpenApiRouter<AppState> {
    // Only the upload reads its own limit (the configured evidence size, checked while reading);
    // a layer covers the routes added before it, so the JSON routes keep the default limit.
    OpenApiRouter::new()
        .routes(routes!(upload_file))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .routes(routes!(list_evidence))
        .routes(routes!(add_link))
        .routes(routes!(add_action))
        .routes(routes!(download_file))
        .routes(routes!(remove_evidence))
}

/// Links, files and planned actions of an assessment.
#[utoipa::path(get, path = "/assessments/{assessment}/evidence", tag = "evidence", params(("assessment" = Uuid, Path, description = "Assessment id")),
    responses((status = 200, description = "The evidence", body = Vec<EvidenceItem>), (status = 404, description = "No such assessment (or not yours)", body = ErrorBody)))]
pub async fn list_evidence(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<EvidenceItem>>, AppError> {
    Ok(Json(all(service::list(&state.db, &me, id).await?)))
}

/// A link.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LinkRequest {
    pub url: String,
    #[serde(default)]
    pub label: String,
}

/// Add a link to an answer.
#[utoipa::path(post, path = "/assessments/{assessment}/answers/{goal}/links", tag = "evidence",
    params(("assessment" = Uuid, Path, description = "Assessment id"), ("goal" = String, Path, description = "Goal code")), request_body = LinkRequest,
    responses((status = 201, description = "Added", body = Created), (status = 403, description = "Not this delegation's editor", body = ErrorBody),
              (status = 409, description = "Submitted or cycle not open", body = ErrorBody), (status = 422, description = "`fields.url`", body = ErrorBody)))]
pub async fn add_link(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path((id, goal)): Path<(Uuid, String)>,
    Json(request): Json<LinkRequest>,
) -> Result<(StatusCode, Json<Created>), AppError> {
    let id = service::add_link(
        &state.db,
        &me,
        id,
        &goal,
        &request.url,
        &request.label,
        &context,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// A planned action.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ActionRequest {
    pub description: String,
    /// YYYY-MM-DD
    #[serde(default)]
    pub due_on: String,
}

/// Add a planned action to an answer.
#[utoipa::path(post, path = "/assessments/{assessment}/answers/{goal}/actions", tag = "evidence",
    params(("assessment" = Uuid, Path, description = "Assessment id"), ("goal" = String, Path, description = "Goal code")), request_body = ActionRequest,
    responses((status = 201, description = "Added", body = Created), (status = 403, description = "Not this delegation's editor", body = ErrorBody),
              (status = 409, description = "Submitted or cycle not open", body = ErrorBody),
              (status = 422, description = "`fields` names what is wrong", body = ErrorBody)))]
pub async fn add_action(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path((id, goal)): Path<(Uuid, String)>,
    Json(request): Json<ActionRequest>,
) -> Result<(StatusCode, Json<Created>), AppError> {
    let id = service::add_action(
        &state.db,
        &me,
        id,
        &goal,
        &request.description,
        &request.due_on,
        &context,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Attach a file (multipart field `file`); its type is checked from its content, its size
/// against the configured limit.
#[utoipa::path(post, path = "/assessments/{assessment}/answers/{goal}/files", tag = "evidence",
    params(("assessment" = Uuid, Path, description = "Assessment id"), ("goal" = String, Path, description = "Goal code")),
    request_body(content = String, description = "multipart/form-data with a `file` field", content_type = "multipart/form-data"),
    responses((status = 201, description = "Stored", body = Created), (status = 403, description = "Not this delegation's editor", body = ErrorBody),
              (status = 409, description = "Submitted or cycle not open", body = ErrorBody),
              (status = 422, description = "`fields.file`: empty, too large or not an accepted type", body = ErrorBody)))]
pub async fn upload_file(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path((id, goal)): Path<(Uuid, String)>,
    mut multipart: Multipart,
) -> Result<(StatusCode, Json<Created>), AppError> {
    let max = state.config.max_evidence_bytes;
    let (name, content) = crate::web::pages::read_upload(&mut multipart, max).await?;
    let id = service::add_file(
        &state.db,
        &me,
        id,
        &goal,
        &service::Upload {
            file_name: &name,
            content: &content,
            max_bytes: max,
        },
        &context,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Download a file (only for those who may read its answer).
#[utoipa::path(get, path = "/evidence/files/{file}", tag = "evidence", params(("file" = Uuid, Path, description = "File id")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 404, description = "No such file (or not yours)", body = ErrorBody)))]
pub async fn download_file(
    state: State<AppState>,
    user: CurrentUser,
    path: Path<Uuid>,
) -> Result<Response, AppError> {
    crate::web::pages::download_evidence(state, user, path).await
}

/// Remove a link, file or planned action (`kind`: links, files or actions).
#[utoipa::path(delete, path = "/evidence/{kind}/{id}", tag = "evidence", params(("kind" = String, Path, description = "links, files or actions"), ("id" = Uuid, Path, description = "Id")),
    responses((status = 204, description = "Removed"), (status = 403, description = "Not this delegation's editor", body = ErrorBody), (status = 404, description = "No such item", body = ErrorBody)))]
pub async fn remove_evidence(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path((kind, id)): Path<(String, Uuid)>,
) -> Result<StatusCode, AppError> {
    let kind = EvidenceKind::from_route(&kind).ok_or(AppError::NotFound)?;
    service::remove(&state.db, &me, kind, id, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}
