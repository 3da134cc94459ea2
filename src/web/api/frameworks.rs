//! Framework versions through the API: list, import, read (with an ETag), replace (If-Match),
//! copy as a new version, and mappings between versions.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::bodies::{FrameworkSummary, MappingRow, all};
use super::etag::{etag, expected_version};
use crate::auth::Operator;
use crate::services::RequestContext;
use crate::services::{frameworks as service, mappings as mapping_service};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};
use crate::web::permitted::CatalogueManager;

/// The framework routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_frameworks, import_framework))
        .routes(routes!(get_framework, replace_framework))
        .routes(routes!(copy_framework))
        .routes(routes!(get_mapping, set_mapping))
}

/// Every framework version.
#[utoipa::path(get, path = "/frameworks", tag = "frameworks",
    responses((status = 200, description = "The versions", body = Vec<FrameworkSummary>), (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn list_frameworks(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Vec<FrameworkSummary>>, AppError> {
    Ok(Json(all(service::list(&state.db, &me.scope()).await?)))
}

/// The id of a stored version.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Created {
    pub id: Uuid,
}

/// Import a framework document (docs/framework-format.md). Every problem is listed in
/// `error.fields` by JSON pointer; nothing is stored unless there are none.
#[utoipa::path(post, path = "/frameworks", tag = "frameworks",
    request_body(content = ref("#/components/schemas/FrameworkDocument"), description = "A framework document (docs/framework.schema.json)", content_type = "application/json"),
    responses((status = 201, description = "Stored", body = Created),
              (status = 403, description = "Admins only", body = ErrorBody),
              (status = 422, description = "Problems, by JSON pointer", body = ErrorBody)))]
pub async fn import_framework(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    context: RequestContext,
    body: Bytes,
) -> Result<(StatusCode, Json<Created>), AppError> {
    let text = std::str::from_utf8(&body).map_err(|_| AppError::BadRequest("bad_form"))?;
    let id = service::import(&state.db, Operator::User(&me), text, &context).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// A version as a framework document, with its row version as `ETag` (and `X-Frozen: true` when
/// a cycle uses it).
#[utoipa::path(get, path = "/frameworks/{framework}", tag = "frameworks", params(("framework" = Uuid, Path, description = "Framework id")),
    responses((status = 200, description = "The document", body = ref("#/components/schemas/FrameworkDocument"),
                headers(("ETag" = String, description = "The version's row version, for `If-Match`"),
                        ("X-Frozen" = String, description = "`true` when the version is frozen (a cycle uses it)"))),
              (status = 404, description = "No such version", body = ErrorBody)))]
pub async fn get_framework(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let record = service::load(&state.db, &me.scope(), id).await?;
    let frozen = if record.frozen { "true" } else { "false" };
    Ok((
        [etag(record.row_version)],
        [("x-frozen", frozen), ("content-type", "application/json")],
        service::export(&record),
    )
        .into_response())
}

/// Replace an unfrozen version with a new document. Needs `If-Match` with the `ETag` read
/// (412 when someone changed it since, 428 without it); 409 when the version is frozen.
#[utoipa::path(put, path = "/frameworks/{framework}", tag = "frameworks", params(("framework" = Uuid, Path, description = "Framework id"), ("If-Match" = String, Header, description = "The `ETag` read; 412 when it no longer matches, 428 without it")),
    request_body(content = ref("#/components/schemas/FrameworkDocument"), description = "A framework document (docs/framework.schema.json)", content_type = "application/json"),
    responses((status = 204, description = "Replaced"),
              (status = 409, description = "Frozen: copy it as a new version", body = ErrorBody),
              (status = 412, description = "Changed since read", body = ErrorBody),
              (status = 422, description = "Problems, by JSON pointer", body = ErrorBody),
              (status = 428, description = "If-Match missing", body = ErrorBody)))]
pub async fn replace_framework(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    context: RequestContext,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<StatusCode, AppError> {
    let expected = expected_version(&headers)?;
    let text = std::str::from_utf8(&body).map_err(|_| AppError::BadRequest("bad_form"))?;
    service::replace(&state.db, Operator::User(&me), id, expected, text, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The name of the new version.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CopyRequest {
    pub version: String,
}

/// Copy a version (frozen or not) as a new, editable version; every goal is mapped to its copy.
#[utoipa::path(post, path = "/frameworks/{framework}/copy", tag = "frameworks", params(("framework" = Uuid, Path, description = "Framework id")),
    request_body = CopyRequest,
    responses((status = 201, description = "Copied", body = Created), (status = 404, description = "No such version", body = ErrorBody),
              (status = 422, description = "`fields.version` says what is wrong", body = ErrorBody)))]
pub async fn copy_framework(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Json(request): Json<CopyRequest>,
) -> Result<(StatusCode, Json<Created>), AppError> {
    let id = service::copy_as_new_version(
        &state.db,
        Operator::User(&me),
        id,
        &request.version,
        &context,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// The mapping from one version to another (empty when none is recorded).
#[utoipa::path(get, path = "/frameworks/{framework}/mappings/{target}", tag = "frameworks",
    params(("framework" = Uuid, Path, description = "Earlier version"), ("target" = Uuid, Path, description = "Later version")),
    responses((status = 200, description = "The rows", body = Vec<MappingRow>), (status = 404, description = "No such version", body = ErrorBody)))]
pub async fn get_mapping(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path((from, to)): Path<(Uuid, Uuid)>,
) -> Result<Json<Vec<MappingRow>>, AppError> {
    Ok(Json(all(mapping_service::rows(
        &state.db,
        &me.scope(),
        from,
        to,
    )
    .await?)))
}

/// Replace the mapping from one version to another; every row is checked first.
#[utoipa::path(put, path = "/frameworks/{framework}/mappings/{target}", tag = "frameworks",
    params(("framework" = Uuid, Path, description = "Earlier version"), ("target" = Uuid, Path, description = "Later version")),
    request_body = Vec<MappingRow>,
    responses((status = 204, description = "Replaced"), (status = 404, description = "No such version", body = ErrorBody),
              (status = 422, description = "Problems by row (`/rows/3/to_goal`)", body = ErrorBody)))]
pub async fn set_mapping(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    context: RequestContext,
    Path((from, to)): Path<(Uuid, Uuid)>,
    Json(rows): Json<Vec<MappingRow>>,
) -> Result<StatusCode, AppError> {
    mapping_service::set(
        &state.db,
        Operator::User(&me),
        from,
        to,
        all(rows),
        &context,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
