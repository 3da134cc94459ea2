//! The offline round trip through the API: the form as XLSX, and the filled-in form imported.

use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::offline::reader::MAX_FILE_BYTES;
use crate::presentation::i18n::Lang;
use crate::services::RequestContext;
use crate::services::offline::{self as service, ImportSummary};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};

/// The offline routes.
pub fn router() -> OpenApiRouter<AppState> {
    // The import reads its own limit while reading; the layer covers only the routes before it.
    OpenApiRouter::new()
        .routes(routes!(import_form))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .routes(routes!(export_form))
}

/// The form's language.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormParams {
    /// `en` or `fr`; otherwise the `Accept-Language` header decides.
    pub lang: Option<String>,
}

/// The assessment's form as XLSX, to fill in offline: one row per goal with its current answer,
/// the allowed values as drop-down lists, guidance beside each goal, and the row version each
/// answer had (the delegation's heads and contributors). Recorded in the audit log, hence a
/// POST: with a session cookie it needs the `X-CSRF-Token` header.
#[utoipa::path(post, path = "/assessments/{assessment}/offline-form", tag = "assessments",
    params(("assessment" = Uuid, Path), FormParams),
    responses((status = 200, description = "The workbook, as an attachment", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 401, description = "Not signed in", body = ErrorBody),
              (status = 403, description = "Only the delegation's heads and contributors", body = ErrorBody),
              (status = 404, description = "No such assessment (or another delegation's)", body = ErrorBody)))]
pub async fn export_form(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    headers: HeaderMap,
    Path(assessment): Path<Uuid>,
    Query(params): Query<FormParams>,
) -> Result<Response, AppError> {
    let lang = params
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(|| crate::web::locale::from_headers(&headers));
    let file = service::export_form(&state.db, &me, assessment, lang, &context).await?;
    Ok(crate::web::pages::attachment(
        file.format.content_type(),
        &file.file_name,
        file.bytes,
    ))
}

/// Imports a filled-in form (multipart field `file`). Every cell is checked; on any problem
/// nothing changes and `fields` names each problem's place (`Form!E7`: sheet, column, row). A
/// row whose answer changed on the server since the export is refused as a conflict. Rows not
/// changed offline are left as the server has them.
#[utoipa::path(post, path = "/assessments/{assessment}/offline-form/import", tag = "assessments",
    params(("assessment" = Uuid, Path)),
    request_body(content = String, description = "multipart/form-data with a `file` field (the XLSX)", content_type = "multipart/form-data"),
    responses((status = 200, description = "Imported", body = ImportSummary),
              (status = 401, description = "Not signed in", body = ErrorBody),
              (status = 403, description = "Only the delegation's heads and contributors", body = ErrorBody),
              (status = 404, description = "No such assessment (or another delegation's)", body = ErrorBody),
              (status = 409, description = "The assessment was submitted or its cycle is not open", body = ErrorBody),
              (status = 422, description = "The file was refused; `fields` maps each place to its problem", body = ErrorBody)))]
pub async fn import_form(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(assessment): Path<Uuid>,
    mut multipart: Multipart,
) -> Result<Json<ImportSummary>, AppError> {
    let (_, content) = crate::web::pages::read_upload(&mut multipart, MAX_FILE_BYTES).await?;
    Ok(Json(
        service::import_form(&state.db, &me, assessment, &content, &context).await?,
    ))
}
