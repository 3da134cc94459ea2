//! Bulk imports through the API (admins): a cycle's answers and participants, each a multipart
//! upload with a `dry_run` flag for the preview. See [`crate::import`].

use axum::Json;
use axum::extract::{Multipart, Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Operator;
use crate::services::RequestContext;
use crate::services::imports::{self as service, AnswersOutcome, ParticipantsOutcome};
use crate::web::AppState;
use crate::web::error::{AppError, ErrorBody};
use crate::web::pages::import_form::{purpose_of, read_form};
use crate::web::permitted::CatalogueManager;

/// The import routes (their bodies are read within the import's own limit).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_answers))
        .routes(routes!(import_participants))
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// Imports a cycle's answers from one tidy file (multipart: `file`, the CSV or XLSX in the
/// cycle report's layout; `purpose`, `historical` or `on_behalf`; `dry_run`, `true` for the
/// preview). Any problem refuses the whole file: 422 with `fields` mapping each place
/// (`CSV!B7`, `Answers!L12`, `file`) to its problem. Otherwise 200 with the counts per
/// participant, `applied` telling whether anything was written (one transaction, one audit
/// entry with the file's SHA-256, the counts, and the digest of the values kept for the import).
#[utoipa::path(post, path = "/cycles/{cycle}/import", tag = "cycles",
    params(("cycle" = Uuid, Path, description = "Cycle id")),
    request_body(content = String, description = "multipart/form-data: `file` (CSV or XLSX), `purpose` (historical | on_behalf), `dry_run` (true | false)", content_type = "multipart/form-data"),
    responses((status = 200, description = "Imported (or, with `dry_run`, what would be)", body = AnswersOutcome),
              (status = 401, description = "Not signed in", body = ErrorBody),
              (status = 403, description = "Admins only", body = ErrorBody),
              (status = 404, description = "No such cycle", body = ErrorBody),
              (status = 409, description = "The cycle's state does not take this purpose", body = ErrorBody),
              (status = 422, description = "The file was refused; `fields` maps each place to its problem", body = ErrorBody)))]
pub async fn import_answers(
    State(state): State<AppState>,
    // Refused before a byte of the body is read.
    CatalogueManager(me): CatalogueManager,
    context: RequestContext,
    Path(cycle): Path<Uuid>,
    mut multipart: Multipart,
) -> Result<Json<AnswersOutcome>, AppError> {
    let form = read_form(&mut multipart).await?;
    let purpose = purpose_of(&form)?;
    let dry_run = form.flag("dry_run");
    let outcome = service::import_answers(
        &state.db,
        Operator::User(&me),
        cycle,
        purpose,
        form.upload(),
        dry_run,
        &context,
    )
    .await?;
    if !outcome.problems.is_empty() {
        return Err(AppError::Problems(outcome.problems));
    }
    Ok(Json(outcome))
}

/// Adds and updates participants from a CSV or XLSX file (multipart: `file` with the columns
/// `code`, `name_en`, `name_fr`, `kind`, `accession_date`; `dry_run`). Existing codes are
/// updated, new ones added; any problem refuses the file (422, `fields` by place).
#[utoipa::path(post, path = "/participants/import", tag = "participants",
    request_body(content = String, description = "multipart/form-data: `file` (CSV or XLSX), `dry_run` (true | false)", content_type = "multipart/form-data"),
    responses((status = 200, description = "Imported (or, with `dry_run`, what would be)", body = ParticipantsOutcome),
              (status = 401, description = "Not signed in", body = ErrorBody),
              (status = 403, description = "Admins only", body = ErrorBody),
              (status = 422, description = "The file was refused; `fields` maps each place to its problem", body = ErrorBody)))]
pub async fn import_participants(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    context: RequestContext,
    mut multipart: Multipart,
) -> Result<Json<ParticipantsOutcome>, AppError> {
    let form = read_form(&mut multipart).await?;
    let dry_run = form.flag("dry_run");
    let outcome = service::import_participants(
        &state.db,
        Operator::User(&me),
        form.upload(),
        dry_run,
        &context,
    )
    .await?;
    if !outcome.problems.is_empty() {
        return Err(AppError::Problems(outcome.problems));
    }
    Ok(Json(outcome))
}
