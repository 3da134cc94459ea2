//! Cycles through the API: list, create, read, transitions (and back: reopen, unpublish),
//! deadline, status board.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::bodies::{BoardRow, CycleView, all};
use super::frameworks::Created;
use crate::auth::Operator;
use crate::domain::cycle::CycleState;
use crate::domain::cycle::{CycleInput, Transition};
use crate::services::RequestContext;
use crate::services::cycles as service;
use crate::services::cycles::{BoardQuery, CycleFilter};
use crate::web::AppState;
use crate::web::api::pagination::{Page, PageParams, state_filter};
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};
use crate::web::permitted::CatalogueManager;

/// The cycle routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_cycles, create_cycle))
        .routes(routes!(get_cycle))
        .routes(routes!(open_cycle))
        .routes(routes!(close_cycle))
        .routes(routes!(publish_cycle))
        .routes(routes!(reopen_cycle))
        .routes(routes!(unpublish_cycle))
        .routes(routes!(set_deadline))
        .routes(routes!(status_board))
}

/// Which cycles to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CycleListParams {
    /// Only cycles in this state: `planned`, `open`, `closed` or `published`.
    pub state: Option<String>,
    /// Only cycles on this framework version (its id).
    pub framework: Option<Uuid>,
}

/// The cycles, newest first, a page at a time (`cursor`, `limit`; `items`, `next_cursor`,
/// `limit`, `total`), filtered by state and framework version.
#[utoipa::path(get, path = "/cycles", tag = "cycles", params(CycleListParams, PageParams),
    responses((status = 200, description = "A page of cycles", body = Page<CycleView>),
              (status = 401, description = "Not signed in", body = ErrorBody),
              (status = 422, description = "`fields` names the filter, `cursor` or `limit` that is wrong", body = ErrorBody)))]
pub async fn list_cycles(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Query(params): Query<CycleListParams>,
    Query(page): Query<PageParams>,
) -> Result<Json<Page<CycleView>>, AppError> {
    let request = page.request()?;
    let filter = CycleFilter {
        state: state_filter(params.state.as_deref(), CycleState::parse)?,
        framework: params.framework,
    };
    let (offset, limit) = request.sql();
    let (items, total) =
        service::list_page(&state.db, Operator::User(&me), &filter, offset, limit).await?;
    Ok(Json(Page::counted(all(items), request, total)))
}

/// A cycle to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCycleRequest {
    pub framework_id: Uuid,
    pub code: String,
    pub title_en: String,
    #[serde(default)]
    pub title_fr: String,
    /// YYYY-MM-DD
    pub opens_on: String,
    /// YYYY-MM-DD, not before the opening
    pub deadline: String,
}

/// Create a planned cycle on a framework version (which becomes frozen).
#[utoipa::path(post, path = "/cycles", tag = "cycles", request_body = NewCycleRequest,
    responses((status = 201, description = "Created", body = Created), (status = 403, description = "Admins only", body = ErrorBody),
              (status = 422, description = "`fields` names what is wrong", body = ErrorBody)))]
pub async fn create_cycle(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    context: RequestContext,
    Json(request): Json<NewCycleRequest>,
) -> Result<(StatusCode, Json<Created>), AppError> {
    let input = CycleInput {
        code: request.code,
        title_en: request.title_en,
        title_fr: request.title_fr,
        opens_on: request.opens_on,
        deadline: request.deadline,
    };
    let id = service::create(
        &state.db,
        Operator::User(&me),
        Some(request.framework_id),
        &input,
        &context,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// One cycle.
#[utoipa::path(get, path = "/cycles/{cycle}", tag = "cycles", params(("cycle" = Uuid, Path, description = "Cycle id")),
    responses((status = 200, description = "The cycle", body = CycleView), (status = 404, description = "No such cycle", body = ErrorBody)))]
pub async fn get_cycle(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<CycleView>, AppError> {
    Ok(Json(
        service::find(&state.db, Operator::User(&me), id)
            .await?
            .into(),
    ))
}

async fn transition(
    state: AppState,
    me: crate::auth::Principal,
    context: RequestContext,
    id: Uuid,
    transition: Transition,
) -> Result<StatusCode, AppError> {
    service::transition(&state.db, Operator::User(&me), id, transition, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Open a planned cycle: every active participant gets an assessment.
#[utoipa::path(post, path = "/cycles/{cycle}/open", tag = "cycles", params(("cycle" = Uuid, Path, description = "Cycle id")),
    responses((status = 204, description = "Opened"), (status = 409, description = "Not planned", body = ErrorBody), (status = 404, description = "No such cycle", body = ErrorBody)))]
pub async fn open_cycle(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    transition(state, me, context, id, Transition::Open).await
}

/// Close an open cycle.
#[utoipa::path(post, path = "/cycles/{cycle}/close", tag = "cycles", params(("cycle" = Uuid, Path, description = "Cycle id")),
    responses((status = 204, description = "Closed"), (status = 409, description = "Not open", body = ErrorBody), (status = 404, description = "No such cycle", body = ErrorBody)))]
pub async fn close_cycle(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    transition(state, me, context, id, Transition::Close).await
}

/// Publish a closed cycle.
#[utoipa::path(post, path = "/cycles/{cycle}/publish", tag = "cycles", params(("cycle" = Uuid, Path, description = "Cycle id")),
    responses((status = 204, description = "Published"), (status = 409, description = "Not closed", body = ErrorBody), (status = 404, description = "No such cycle", body = ErrorBody)))]
pub async fn publish_cycle(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    transition(state, me, context, id, Transition::Publish).await
}

/// How to reopen a cycle.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReopenRequest {
    /// YYYY-MM-DD, later than the current deadline and not before today; required when the
    /// current deadline has passed, otherwise optional (the deadline stays).
    #[serde(default)]
    pub deadline: Option<String>,
}

/// Reopen a closed cycle (closed → open): delegations that have not submitted can edit and
/// submit again. Once the deadline has passed, a new deadline is required. Admins only; audited
/// as `cycle.reopen`. The body is optional.
#[utoipa::path(post, path = "/cycles/{cycle}/reopen", tag = "cycles", params(("cycle" = Uuid, Path, description = "Cycle id")),
    request_body(content = ReopenRequest, description = "Optional"),
    responses((status = 204, description = "Reopened"), (status = 409, description = "Not closed", body = ErrorBody),
              (status = 422, description = "`fields.deadline` says what is wrong (required once the deadline has passed)", body = ErrorBody),
              (status = 403, description = "Admins only", body = ErrorBody), (status = 404, description = "No such cycle", body = ErrorBody)))]
pub async fn reopen_cycle(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    context: RequestContext,
    Path(id): Path<Uuid>,
    request: Option<Json<ReopenRequest>>,
) -> Result<StatusCode, AppError> {
    let request = request.map(|Json(r)| r).unwrap_or_default();
    service::reopen(
        &state.db,
        Operator::User(&me),
        id,
        request.deadline.as_deref().unwrap_or_default(),
        &context,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Withdraw a cycle's publication (published → closed). Admins only; audited as
/// `cycle.unpublish`.
#[utoipa::path(post, path = "/cycles/{cycle}/unpublish", tag = "cycles", params(("cycle" = Uuid, Path, description = "Cycle id")),
    responses((status = 204, description = "Withdrawn: the cycle is closed"), (status = 409, description = "Not published", body = ErrorBody),
              (status = 403, description = "Admins only", body = ErrorBody), (status = 404, description = "No such cycle", body = ErrorBody)))]
pub async fn unpublish_cycle(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    transition(state, me, context, id, Transition::Unpublish).await
}

/// A new deadline.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DeadlineRequest {
    /// YYYY-MM-DD, later than the current deadline
    pub deadline: String,
}

/// Move the deadline later (planned or open cycles only).
#[utoipa::path(put, path = "/cycles/{cycle}/deadline", tag = "cycles", params(("cycle" = Uuid, Path, description = "Cycle id")),
    request_body = DeadlineRequest,
    responses((status = 204, description = "Moved"), (status = 409, description = "Closed or published", body = ErrorBody),
              (status = 422, description = "`fields.deadline` says what is wrong", body = ErrorBody)))]
pub async fn set_deadline(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Json(request): Json<DeadlineRequest>,
) -> Result<StatusCode, AppError> {
    service::extend_deadline(
        &state.db,
        Operator::User(&me),
        id,
        &request.deadline,
        &context,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How the board is filtered and sorted.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoardParams {
    /// Only this state (not_started, draft, submitted, returned, resubmitted, accepted).
    pub state: Option<String>,
    /// Participants whose code or name contains this text.
    pub search: Option<String>,
    /// participant (default), state or activity.
    pub sort: Option<String>,
}

impl From<BoardParams> for BoardQuery {
    fn from(params: BoardParams) -> Self {
        BoardQuery {
            state: params.state,
            search: params.search,
            sort: params.sort,
        }
    }
}

/// The status board: every assessment the caller may see (a delegation sees its own row).
#[utoipa::path(get, path = "/cycles/{cycle}/status", tag = "cycles", params(("cycle" = Uuid, Path, description = "Cycle id"), BoardParams),
    responses((status = 200, description = "One row per assessment", body = Vec<BoardRow>), (status = 404, description = "No such cycle", body = ErrorBody)))]
pub async fn status_board(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
    Query(params): Query<BoardParams>,
) -> Result<Json<Vec<BoardRow>>, AppError> {
    let rows = service::board(&state.db, Operator::User(&me), id, &params.into())
        .await?
        .rows;
    Ok(Json(all(rows)))
}
