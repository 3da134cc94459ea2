//! Working offline on pages: download the form as XLSX, upload it back filled in, and see every
//! problem by sheet, row and column when the file is refused.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::frameworks::refused;
use super::{PageContext, render};
use crate::offline::{place, reader::MAX_FILE_BYTES};
use crate::services::RequestContext;
use crate::services::ServiceError;
use crate::services::assessments::AssessmentHead;
use crate::services::offline as service;
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, problem_message};

/// One problem of a refused file, placed for people.
pub struct ProblemRow {
    pub sheet: String,
    pub row: String,
    pub column: String,
    pub message: String,
}

/// What the last import did, carried in the redirect's query.
#[derive(Debug, Default, Deserialize)]
pub struct Outcome {
    changed: Option<usize>,
    unchanged: Option<usize>,
}

#[derive(Template)]
#[template(path = "offline.html")]
struct OfflinePage {
    page: PageContext,
    head: AssessmentHead,
    participant: String,
    max_megabytes: usize,
    outcome: Outcome,
    /// A refusal of the whole request (the assessment was submitted meanwhile, …).
    messages: Vec<String>,
    problems: Vec<ProblemRow>,
}

fn participant_name(page: &PageContext, head: &AssessmentHead) -> String {
    match page.tr.lang() {
        crate::presentation::i18n::Lang::Fr if !head.participant_name_fr.is_empty() => {
            head.participant_name_fr.clone()
        }
        _ => head.participant_name_en.clone(),
    }
}

/// `GET /assessments/{assessment}/offline`.
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Path(id): Path<Uuid>,
    Query(outcome): Query<Outcome>,
) -> Result<Response, AppError> {
    let head = service::form_head(&state.db, &me, id).await?;
    render(&OfflinePage {
        participant: participant_name(&page, &head),
        page,
        head,
        max_megabytes: MAX_FILE_BYTES / 1024 / 1024,
        outcome,
        messages: Vec::new(),
        problems: Vec::new(),
    })
}

/// `POST /assessments/{assessment}/offline/form`: the form as XLSX, in the page's language
/// (a form post: the export is recorded in the audit log).
pub async fn download(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let file = service::export_form(&state.db, &me, id, page.tr.lang(), &context).await?;
    Ok(super::attachment(
        file.format.content_type(),
        &file.file_name,
        file.bytes,
    ))
}

/// `POST /assessments/{assessment}/offline/import` (multipart; the CSRF token travels in the
/// query string): back to the page with what changed, or the page again with every problem.
pub async fn import(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let result = match super::read_upload(&mut multipart, MAX_FILE_BYTES).await {
        Ok((_, content)) => service::import_form(&state.db, &me, id, &content, &context).await,
        Err(AppError::Validation(fields)) => Err(ServiceError::Invalid(fields)),
        Err(error) => return Err(error),
    };
    let (messages, problems) = match result {
        Ok(summary) => {
            return Ok(Redirect::to(&format!(
                "/assessments/{id}/offline?changed={}&unchanged={}",
                summary.changed.len(),
                summary.unchanged
            ))
            .into_response());
        }
        Err(ServiceError::Problems(problems)) => (Vec::new(), problem_rows(&page, &problems)),
        Err(ServiceError::Invalid(fields)) => (
            fields
                .values()
                .map(|key| page.tr.t(key).to_owned())
                .collect(),
            Vec::new(),
        ),
        Err(ServiceError::Refused(key)) => (vec![page.tr.t(key).to_owned()], Vec::new()),
        Err(other) => return Err(other.into()),
    };
    let head = service::form_head(&state.db, &me, id).await?;
    refused(&OfflinePage {
        participant: participant_name(&page, &head),
        page,
        head,
        max_megabytes: MAX_FILE_BYTES / 1024 / 1024,
        outcome: Outcome::default(),
        messages,
        problems,
    })
}

pub(super) fn problem_rows(
    page: &PageContext,
    problems: &[crate::domain::problem::Problem],
) -> Vec<ProblemRow> {
    problems
        .iter()
        .map(|problem| {
            let place = place(&problem.path);
            ProblemRow {
                sheet: if place.sheet == "file" {
                    page.tr.t("offline.whole_file").to_owned()
                } else {
                    place.sheet
                },
                row: place.row.map(|r| r.to_string()).unwrap_or_default(),
                column: place.column.unwrap_or_default(),
                message: problem_message(&page.tr, problem),
            }
        })
        .collect()
}
