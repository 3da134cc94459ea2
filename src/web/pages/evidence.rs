//! Evidence on pages: links, planned actions and files added to an answer, removed, downloaded.

use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::PageContext;
use super::assessments::{EvidenceDraft, evidence_refused, goal_page};
use super::flash::{self, Flash};
use crate::auth::Principal;
use crate::domain::evidence::EvidenceKind;
use crate::services::RequestContext;
use crate::services::ServiceError;
use crate::services::evidence as service;
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::AppError;

/// Back to the goal on its section page, its evidence open, with a message.
async fn back(
    state: &AppState,
    me: &Principal,
    assessment: Uuid,
    goal: &str,
    message: &'static str,
) -> Result<Response, AppError> {
    let location = goal_page(state, me, assessment, goal, true).await?;
    Ok(flash::redirect(
        &location,
        Flash::with(message, goal),
        state.config.auth.secure_cookies,
    ))
}

/// A link form.
#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    label: String,
}

/// Back to the goal with `message` when it worked; the form again with what was typed when it
/// was refused.
async fn answer(
    state: &AppState,
    me: &Principal,
    page: PageContext,
    (id, goal): (Uuid, &str),
    result: Result<Uuid, ServiceError>,
    draft: EvidenceDraft,
    message: &'static str,
) -> Result<Response, AppError> {
    match result {
        Ok(_) => back(state, me, id, goal, message).await,
        Err(ServiceError::Invalid(errors)) => {
            evidence_refused(state, me, page, id, goal, EvidenceDraft { errors, ..draft }).await
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /assessments/{assessment}/goals/{goal}/links`.
pub async fn add_link(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path((id, goal)): Path<(Uuid, String)>,
    Form(form): Form<LinkForm>,
) -> Result<Response, AppError> {
    let result =
        service::add_link(&state.db, &me, id, &goal, &form.url, &form.label, &context).await;
    answer(
        &state,
        &me,
        page,
        (id, &goal),
        result,
        EvidenceDraft {
            url: form.url,
            label: form.label,
            ..EvidenceDraft::default()
        },
        "flash.link_added",
    )
    .await
}

/// A planned action form.
#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    description: String,
    #[serde(default)]
    due_on: String,
}

/// `POST /assessments/{assessment}/goals/{goal}/actions`.
pub async fn add_action(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path((id, goal)): Path<(Uuid, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    let result = service::add_action(
        &state.db,
        &me,
        id,
        &goal,
        &form.description,
        &form.due_on,
        &context,
    )
    .await;
    answer(
        &state,
        &me,
        page,
        (id, &goal),
        result,
        EvidenceDraft {
            description: form.description,
            due_on: form.due_on,
            ..EvidenceDraft::default()
        },
        "flash.action_added",
    )
    .await
}

/// How much an upload may carry besides its file.
const OTHER_FIELDS_MAX_BYTES: usize = 64 * 1024;

/// Reads the `file` field of a multipart upload, refusing it as soon as it passes the limit.
pub async fn read_upload(
    multipart: &mut Multipart,
    max_bytes: usize,
) -> Result<(String, Vec<u8>), AppError> {
    let mut other_bytes = 0;
    let too_large =
        || AppError::Validation([("file".to_owned(), "field.file.too_large".to_owned())].into());
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest("bad_form"))?
    {
        if field.name() != Some("file") {
            // Other fields are unused; they are read only to reach the file, and not without bound.
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|_| AppError::BadRequest("bad_form"))?
            {
                other_bytes += chunk.len();
                if other_bytes > OTHER_FIELDS_MAX_BYTES {
                    return Err(AppError::BadRequest("bad_form"));
                }
            }
            continue;
        }
        let name = field.file_name().unwrap_or("evidence").to_owned();
        let mut content = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|_| AppError::BadRequest("bad_form"))?
        {
            if content.len() + chunk.len() > max_bytes {
                return Err(too_large());
            }
            content.extend_from_slice(&chunk);
        }
        return Ok((name, content));
    }
    Err(AppError::Validation(
        [("file".to_owned(), "field.file.empty".to_owned())].into(),
    ))
}

/// `POST /assessments/{assessment}/goals/{goal}/files` (multipart; the CSRF token travels in
/// the query string).
pub async fn upload(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path((id, goal)): Path<(Uuid, String)>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let max = state.config.max_evidence_bytes;
    let result = match read_upload(&mut multipart, max).await {
        Ok((name, content)) => {
            service::add_file(
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
            .await
        }
        Err(AppError::Validation(errors)) => Err(ServiceError::Invalid(errors)),
        Err(error) => return Err(error),
    };
    answer(
        &state,
        &me,
        page,
        (id, &goal),
        result,
        EvidenceDraft::default(),
        "flash.file_added",
    )
    .await
}

/// A removal form: the goal it was shown on, to go back to.
#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    goal: String,
}

async fn remove(
    state: &AppState,
    me: &Principal,
    kind: EvidenceKind,
    id: Uuid,
    goal: &str,
    context: &RequestContext,
) -> Result<Response, AppError> {
    let assessment = service::remove(&state.db, me, kind, id, context).await?;
    back(state, me, assessment, goal, "flash.evidence_removed").await
}

/// `POST /evidence/links/{link}/delete`.
pub async fn remove_link(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<RemoveForm>,
) -> Result<Response, AppError> {
    remove(&state, &me, EvidenceKind::Link, id, &form.goal, &context).await
}

/// `POST /evidence/files/{file}/delete`.
pub async fn remove_file(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<RemoveForm>,
) -> Result<Response, AppError> {
    remove(&state, &me, EvidenceKind::File, id, &form.goal, &context).await
}

/// `POST /evidence/actions/{action}/delete`.
pub async fn remove_action(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<RemoveForm>,
) -> Result<Response, AppError> {
    remove(&state, &me, EvidenceKind::Action, id, &form.goal, &context).await
}

/// `GET /evidence/files/{file}`: the file, as an attachment that never renders in the page.
pub async fn download(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let file = service::download(&state.db, &me, id).await?;
    Ok(super::attachment(
        &file.media_type,
        &file.file_name,
        file.content,
    ))
}
