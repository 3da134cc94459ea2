//! Assessments through the API: read one with its answers (ETag), read and write one answer
//! with If-Match (412 when someone saved it since, 428 without it).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::etag::{etag, expected_version};
use crate::domain::answer::{AnswerInput, value_text};
use crate::services::ServiceError;
use crate::services::assessments::{self as service, AssessmentView, SaveError};
use crate::storage::answers::{AssessmentHead, StoredAnswer};
use crate::storage::audit::RequestContext;
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};

/// The assessment routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_assessment))
        .routes(routes!(get_answer, put_answer))
}

/// One goal's answer as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerView {
    pub goal: String,
    pub section: String,
    #[serde(flatten)]
    pub answer: AnswerInput,
    /// Carried forward from the last accepted cycle and not yet confirmed.
    pub unconfirmed: bool,
    /// 0 when never answered; send it back as `If-Match`.
    pub row_version: i64,
}

/// An assessment with every goal's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentDocument {
    #[serde(flatten)]
    pub head: AssessmentHead,
    pub editable: bool,
    pub answers: Vec<AnswerView>,
}

fn answer_view(section: &str, goal: &str, answer: Option<&StoredAnswer>) -> AnswerView {
    AnswerView {
        goal: goal.to_owned(),
        section: section.to_owned(),
        answer: match answer {
            Some(a) => AnswerInput {
                value: value_text(a.value()),
                not_applicable: a.not_applicable,
                na_justification: a.na_justification.clone().unwrap_or_default(),
                target: value_text(a.target()),
                implementation_status: a.implementation_status.clone().unwrap_or_default(),
                narrative: a.narrative.clone(),
            },
            None => AnswerInput::default(),
        },
        unconfirmed: answer.is_some_and(|a| a.unconfirmed),
        row_version: answer.map_or(0, |a| a.row_version),
    }
}

fn document(view: &AssessmentView) -> AssessmentDocument {
    AssessmentDocument {
        head: view.head.clone(),
        editable: view.editable,
        answers: view
            .goals()
            .map(|(section, goal, _, answer)| answer_view(&section.code, &goal.code, answer))
            .collect(),
    }
}

/// An assessment with its answers; the `ETag` is the assessment's row version.
#[utoipa::path(get, path = "/assessments/{assessment}", tag = "assessments", params(("assessment" = Uuid, Path, description = "Assessment id")),
    responses((status = 200, description = "The assessment", body = AssessmentDocument, headers(("ETag" = String, description = "The row version, for `If-Match`"))),
              (status = 403, description = "A draft, for an analyst", body = ErrorBody),
              (status = 404, description = "No such assessment (or not yours)", body = ErrorBody)))]
pub async fn get_assessment(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let view = service::load(&state.db, &me, id).await?;
    Ok(([etag(view.head.row_version)], Json(document(&view))).into_response())
}

/// One goal's answer; the `ETag` is its row version ("0" when never answered).
#[utoipa::path(get, path = "/assessments/{assessment}/answers/{goal}", tag = "assessments",
    params(("assessment" = Uuid, Path, description = "Assessment id"), ("goal" = String, Path, description = "Goal code")),
    responses((status = 200, description = "The answer", body = AnswerView, headers(("ETag" = String, description = "The row version, for `If-Match`"))), (status = 404, description = "No such assessment or goal", body = ErrorBody)))]
pub async fn get_answer(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path((id, goal)): Path<(Uuid, String)>,
) -> Result<Response, AppError> {
    let view = service::load(&state.db, &me, id).await?;
    let (section, goal, _, answer) = view
        .goals()
        .find(|(_, g, _, _)| g.code == goal)
        .ok_or(AppError::NotFound)?;
    let answer = answer_view(&section.code, &goal.code, answer);
    Ok(([etag(answer.row_version)], Json(answer)).into_response())
}

/// Save one goal's answer. Needs `If-Match` with the answer's `ETag` (412 with the current answer
/// when someone saved it since, 428 without it).
#[utoipa::path(put, path = "/assessments/{assessment}/answers/{goal}", tag = "assessments",
    params(("assessment" = Uuid, Path, description = "Assessment id"), ("goal" = String, Path, description = "Goal code"), ("If-Match" = String, Header, description = "The `ETag` read; 412 when it no longer matches, 428 without it")),
    request_body = AnswerInput,
    responses((status = 204, description = "Saved", headers(("ETag" = String, description = "The row version, for `If-Match`"))),
              (status = 403, description = "Not this delegation's editor", body = ErrorBody),
              (status = 409, description = "Submitted, or the cycle is not open", body = ErrorBody),
              (status = 412, description = "Changed since read", body = ErrorBody),
              (status = 422, description = "`fields` names what is wrong", body = ErrorBody),
              (status = 428, description = "If-Match missing", body = ErrorBody)))]
pub async fn put_answer(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    headers: HeaderMap,
    Path((id, goal)): Path<(Uuid, String)>,
    Json(input): Json<AnswerInput>,
) -> Result<Response, AppError> {
    let expected = expected_version(&headers)?;
    match service::save_answer(&state.db, &me, id, &goal, expected, &input, &context).await {
        Ok(version) => Ok((StatusCode::NO_CONTENT, [etag(version)]).into_response()),
        Err(SaveError::Invalid(fields)) => Err(AppError::Validation(fields)),
        Err(SaveError::Conflict(_)) => Err(AppError::Stale),
        Err(SaveError::Other(ServiceError::NotFound)) => Err(AppError::NotFound),
        Err(SaveError::Other(error)) => Err(error.into()),
    }
}
