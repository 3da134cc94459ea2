//! The assessment workflow through the API: submit, return, accept, allow a late submission,
//! revisions and the difference between two.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::bodies::{RevisionRow, all};
use crate::domain::snapshot::FieldChange;
use crate::services::RequestContext;
use crate::services::workflow::{self as service, ReturnReasons, Submitted};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};

/// The workflow routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit))
        .routes(routes!(return_assessment))
        .routes(routes!(accept))
        .routes(routes!(allow_late))
        .routes(routes!(list_revisions))
        .routes(routes!(get_revision))
        .routes(routes!(difference))
}

/// What a submission did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmitResult {
    /// The revision frozen by this call; null when it was already submitted.
    pub revision: Option<i32>,
    /// False when it was already submitted (a repeated call does nothing more).
    pub submitted_now: bool,
}

/// Submit (the delegation's head): freezes a snapshot as a new revision. Repeating the call does
/// nothing more.
#[utoipa::path(post, path = "/assessments/{assessment}/submit", tag = "assessments", params(("assessment" = Uuid, Path, description = "Assessment id")),
    responses((status = 200, description = "Submitted (or already)", body = SubmitResult),
              (status = 403, description = "Not this delegation's head", body = ErrorBody),
              (status = 409, description = "Incomplete, unconfirmed answers, past the deadline, or the cycle not open", body = ErrorBody)))]
pub async fn submit(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Json<SubmitResult>, AppError> {
    Ok(Json(
        match service::submit(&state.db, &me, id, &context).await? {
            Submitted::Revision(revision) => SubmitResult {
                revision: Some(revision),
                submitted_now: true,
            },
            Submitted::AlreadyDone => SubmitResult {
                revision: None,
                submitted_now: false,
            },
        },
    ))
}

/// Return a submission to its delegation with a reason (and notes on answers).
#[utoipa::path(post, path = "/assessments/{assessment}/return", tag = "assessments", params(("assessment" = Uuid, Path, description = "Assessment id")),
    request_body = ReturnReasons,
    responses((status = 204, description = "Returned"), (status = 403, description = "Admins only", body = ErrorBody),
              (status = 409, description = "Not submitted", body = ErrorBody), (status = 422, description = "`fields.reason` is required", body = ErrorBody)))]
pub async fn return_assessment(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Json(reasons): Json<ReturnReasons>,
) -> Result<StatusCode, AppError> {
    service::review(&state.db, &me, id, Some(&reasons), &context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accept a submission.
#[utoipa::path(post, path = "/assessments/{assessment}/accept", tag = "assessments", params(("assessment" = Uuid, Path, description = "Assessment id")),
    responses((status = 204, description = "Accepted"), (status = 403, description = "Admins only", body = ErrorBody), (status = 409, description = "Not submitted", body = ErrorBody)))]
pub async fn accept(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    service::review(&state.db, &me, id, None, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Let the delegation submit after the deadline.
#[utoipa::path(post, path = "/assessments/{assessment}/allow-late", tag = "assessments", params(("assessment" = Uuid, Path, description = "Assessment id")),
    responses((status = 204, description = "Allowed"), (status = 403, description = "Admins only", body = ErrorBody)))]
pub async fn allow_late(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    service::allow_late(&state.db, &me, id, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every revision, with the decision on each.
#[utoipa::path(get, path = "/assessments/{assessment}/revisions", tag = "assessments", params(("assessment" = Uuid, Path, description = "Assessment id")),
    responses((status = 200, description = "The revisions", body = Vec<RevisionRow>), (status = 404, description = "No such assessment (or not yours)", body = ErrorBody)))]
pub async fn list_revisions(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<RevisionRow>>, AppError> {
    Ok(Json(all(service::revisions(&state.db, &me, id).await?)))
}

/// One revision's frozen document.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionDocument {
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    /// SHA-256 of the stored document, hex.
    pub digest: String,
    /// Whether the stored document still matches its digest.
    pub verified: bool,
}

/// One revision's frozen snapshot, with its digest checked.
#[utoipa::path(get, path = "/assessments/{assessment}/revisions/{revision}", tag = "assessments",
    params(("assessment" = Uuid, Path, description = "Assessment id"), ("revision" = i32, Path, description = "Revision number")),
    responses((status = 200, description = "The snapshot", body = RevisionDocument), (status = 404, description = "No such revision", body = ErrorBody)))]
pub async fn get_revision(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path((id, revision)): Path<(Uuid, i32)>,
) -> Result<Json<RevisionDocument>, AppError> {
    let (content, digest, verified) = service::revision(&state.db, &me, id, revision).await?;
    let content = serde_json::from_str(&content).map_err(|e| AppError::Internal(e.into()))?;
    Ok(Json(RevisionDocument {
        content,
        digest,
        verified,
    }))
}

/// Which revisions to compare.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompareQuery {
    pub from: i32,
    pub to: i32,
}

/// The field-by-field difference between two revisions.
#[utoipa::path(get, path = "/assessments/{assessment}/diff", tag = "assessments", params(("assessment" = Uuid, Path, description = "Assessment id"), CompareQuery),
    responses((status = 200, description = "Changed fields", body = Vec<FieldChange>), (status = 404, description = "No such revision", body = ErrorBody)))]
pub async fn difference(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
    Query(query): Query<CompareQuery>,
) -> Result<Json<Vec<FieldChange>>, AppError> {
    Ok(Json(
        service::difference(&state.db, &me, id, query.from, query.to).await?,
    ))
}
