//! Bulk imports through the API (admins): a cycle's answers and participants, each a multipart
//! upload with a `dry_run` flag for the preview. See [`crate::import`].

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Multipart, Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Operator;
use crate::auth::policy::Permission;
use crate::import::table::Source;
use crate::import::{MAX_UPLOAD_BYTES, Purpose};
use crate::services::RequestContext;
use crate::services::imports::{self as service, AnswersOutcome, ParticipantsOutcome, Upload};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};

/// The import routes (their bodies are read within the import's own limit).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_answers))
        .routes(routes!(import_participants))
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// An upload as read: its text fields and its file.
pub struct ImportForm {
    pub fields: HashMap<String, String>,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl ImportForm {
    /// A yes/no field: `true`, `1`, `yes` or `on`.
    pub fn flag(&self, name: &str) -> bool {
        self.fields.get(name).is_some_and(|value| {
            matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "true" | "1" | "yes" | "on"
            )
        })
    }

    pub fn upload(self) -> Upload {
        Upload {
            file_name: self.file_name,
            source: Source::Bytes(self.bytes),
        }
    }
}

/// Text fields are short; more than this in all is refused.
const TEXT_FIELDS_MAX_BYTES: usize = 16 * 1024;

/// Reads a multipart upload: the `file` field (at most [`MAX_UPLOAD_BYTES`], 422 `fields.file`
/// beyond) and the short text fields beside it.
pub async fn read_form(multipart: &mut Multipart) -> Result<ImportForm, AppError> {
    let bad = |_| AppError::BadRequest("bad_form");
    let mut form = ImportForm {
        fields: HashMap::new(),
        file_name: String::new(),
        bytes: Vec::new(),
    };
    let mut has_file = false;
    let mut text_bytes = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            has_file = true;
            form.file_name = field.file_name().unwrap_or("upload").to_owned();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if form.bytes.len() + chunk.len() > MAX_UPLOAD_BYTES {
                    return Err(AppError::Validation(
                        [("file".to_owned(), "field.file.too_large".to_owned())].into(),
                    ));
                }
                form.bytes.extend_from_slice(&chunk);
            }
            continue;
        }
        let mut value = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            text_bytes += chunk.len();
            if text_bytes > TEXT_FIELDS_MAX_BYTES {
                return Err(AppError::BadRequest("bad_form"));
            }
            value.extend_from_slice(&chunk);
        }
        form.fields
            .insert(name, String::from_utf8_lossy(&value).into_owned());
    }
    if !has_file || form.bytes.is_empty() {
        return Err(AppError::Validation(
            [("file".to_owned(), "field.file.empty".to_owned())].into(),
        ));
    }
    Ok(form)
}

/// The purpose field: `historical` (the default) or `on_behalf` (`on-behalf`).
pub fn purpose_of(form: &ImportForm) -> Result<Purpose, AppError> {
    match form.fields.get("purpose").map(|p| p.trim()) {
        None | Some("") => Ok(Purpose::Historical),
        Some(text) => Purpose::parse(text).ok_or_else(|| {
            AppError::Validation([("purpose".to_owned(), "import.field.purpose".to_owned())].into())
        }),
    }
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
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(cycle): Path<Uuid>,
    mut multipart: Multipart,
) -> Result<Json<AnswersOutcome>, AppError> {
    // Refused before a byte of the body is read.
    me.require(Permission::ManageCatalogue)?;
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
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    mut multipart: Multipart,
) -> Result<Json<ParticipantsOutcome>, AppError> {
    me.require(Permission::ManageCatalogue)?;
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
