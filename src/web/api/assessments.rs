//! Assessments through the API: read one with its answers (ETag), read and write one answer
//! with If-Match (412 when someone saved it since, 428 without it).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::bodies::AssessmentHead;
use super::etag::{etag, expected_version};
use crate::domain::answer::{AnswerInput, value_text};
use crate::services::RequestContext;
use crate::services::assessments::StoredAnswer;
use crate::services::assessments::{self as service, AssessmentView};
use crate::web::AppState;
use crate::web::api::pagination::{Page, PageParams, state_filter};
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};
use crate::web::permitted::Readable;

/// The assessment routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_assessments))
        .routes(routes!(get_assessment))
        .routes(routes!(get_answer, put_answer))
}

/// Which assessments to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssessmentListParams {
    /// Only this cycle's (its id).
    pub cycle: Option<Uuid>,
    /// Only assessments in this state: `not_started`, `draft`, `submitted`, `returned`,
    /// `resubmitted` or `accepted`.
    pub state: Option<String>,
    /// Only this participant's (its code, e.g. `FRA`).
    pub participant: Option<String>,
}

/// An assessment in a listing: where to find it and where it stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssessmentSummary {
    pub id: Uuid,
    pub cycle_id: Uuid,
    pub cycle_code: String,
    /// `planned`, `open`, `closed` or `published`
    pub cycle_state: String,
    /// YYYY-MM-DD
    #[schema(value_type = String, format = Date)]
    pub deadline: time::Date,
    pub participant_id: Uuid,
    pub participant_code: String,
    pub participant_name_en: String,
    pub participant_name_fr: String,
    /// `not_started`, `draft`, `submitted`, `returned`, `resubmitted` or `accepted`
    pub state: String,
    /// Submissions so far.
    pub revision: i32,
}

impl From<crate::services::assessments::AssessmentListItem> for AssessmentSummary {
    fn from(item: crate::services::assessments::AssessmentListItem) -> Self {
        Self {
            id: item.id,
            cycle_id: item.cycle_id,
            cycle_code: item.cycle_code,
            cycle_state: item.cycle_state,
            deadline: item.deadline,
            participant_id: item.participant_id,
            participant_code: item.participant_code,
            participant_name_en: item.participant_name_en,
            participant_name_fr: item.participant_name_fr,
            state: item.state,
            revision: item.revision,
        }
    }
}

/// The assessments the caller works on, a page at a time (`cursor`, `limit`; `items`,
/// `next_cursor`, `limit`, `total`): a delegation's own across cycles, every participant's for
/// the secretariat and analysts. Newest cycle first, then by participant code.
#[utoipa::path(get, path = "/assessments", tag = "assessments", params(AssessmentListParams, PageParams),
    responses((status = 200, description = "A page of assessments", body = Page<AssessmentSummary>),
              (status = 401, description = "Not signed in", body = ErrorBody),
              (status = 422, description = "`fields` names the filter, `cursor` or `limit` that is wrong", body = ErrorBody)))]
pub async fn list_assessments(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Query(params): Query<AssessmentListParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<Page<AssessmentSummary>>, AppError> {
    let request = page.request()?;
    let filter = crate::services::assessments::AssessmentFilter {
        cycle: params.cycle,
        state: state_filter(
            params.state.as_deref(),
            crate::domain::assessment::AssessmentState::parse,
        )?,
        participant_code: params
            .participant
            .map(|code| code.trim().to_owned())
            .filter(|code| !code.is_empty()),
    };
    let (offset, limit) = request.sql();
    let (items, total) = service::list(
        &state.db,
        crate::auth::Operator::User(&me),
        &filter,
        offset,
        limit,
    )
    .await?;
    Ok(Json(Page::counted(
        items.into_iter().map(AssessmentSummary::from).collect(),
        request,
        total,
    )))
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
    /// Entered by the secretariat on the delegation's behalf (an import) and not changed by the
    /// delegation since.
    pub entered_on_behalf: bool,
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
        entered_on_behalf: answer.is_some_and(|a| a.entered_on_behalf),
        row_version: answer.map_or(0, |a| a.row_version),
    }
}

fn document(view: &AssessmentView) -> AssessmentDocument {
    AssessmentDocument {
        head: view.head.clone().into(),
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
pub async fn get_assessment(Readable(view): Readable) -> Result<Response, AppError> {
    Ok(([etag(view.head.row_version)], Json(document(&view))).into_response())
}

/// One goal's answer; the `ETag` is its row version ("0" when never answered).
#[utoipa::path(get, path = "/assessments/{assessment}/answers/{goal}", tag = "assessments",
    params(("assessment" = Uuid, Path, description = "Assessment id"), ("goal" = String, Path, description = "Goal code")),
    responses((status = 200, description = "The answer", body = AnswerView, headers(("ETag" = String, description = "The row version, for `If-Match`"))), (status = 404, description = "No such assessment or goal", body = ErrorBody)))]
pub async fn get_answer(
    Readable(view): Readable,
    Path((_, goal)): Path<(Uuid, String)>,
) -> Result<Response, AppError> {
    let (section, goal, _, answer) = view.goal(&goal).ok_or(AppError::NotFound)?;
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
    let version =
        service::save_answer(&state.db, &me, id, &goal, expected, &input, &context).await?;
    Ok((StatusCode::NO_CONTENT, [etag(version)]).into_response())
}
