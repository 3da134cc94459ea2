//! National goals through the API.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::bodies::{GoalVersion, NationalGoalView, all};
use super::etag::{etag, expected_version};
use super::frameworks::Created;
use crate::services::RequestContext;
use crate::services::national_goals::{self as service, NationalGoalInput};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};

/// The national goal routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_goals, create_goal))
        .routes(routes!(get_goal, update_goal))
        .routes(routes!(goal_history))
}

/// A participant's national goals (a delegation reads only its own).
#[utoipa::path(get, path = "/participants/{participant}/national-goals", tag = "national goals",
    params(("participant" = Uuid, Path, description = "Participant id")),
    responses((status = 200, description = "The goals", body = Vec<NationalGoalView>), (status = 403, description = "Another participant's", body = ErrorBody)))]
pub async fn list_goals(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(participant): Path<Uuid>,
) -> Result<Json<Vec<NationalGoalView>>, AppError> {
    Ok(Json(all(service::list(&state.db, &me, participant).await?)))
}

/// Record a national goal of one's own delegation (heads and contributors).
#[utoipa::path(post, path = "/participants/{participant}/national-goals", tag = "national goals",
    params(("participant" = Uuid, Path, description = "Participant id")), request_body = NationalGoalInput,
    responses((status = 201, description = "Created", body = Created), (status = 403, description = "Not this delegation's editor", body = ErrorBody),
              (status = 422, description = "`fields` names what is wrong", body = ErrorBody)))]
pub async fn create_goal(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(participant): Path<Uuid>,
    Json(input): Json<NationalGoalInput>,
) -> Result<(StatusCode, Json<Created>), AppError> {
    let id = service::create(&state.db, &me, participant, &input, &context).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// One national goal, with its row version as `ETag`.
#[utoipa::path(get, path = "/national-goals/{goal}", tag = "national goals", params(("goal" = Uuid, Path, description = "Goal id")),
    responses((status = 200, description = "The goal", body = NationalGoalView, headers(("ETag" = String, description = "The row version, for `If-Match`"))), (status = 404, description = "No such goal (or not yours)", body = ErrorBody)))]
pub async fn get_goal(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    // Row-level security hides other participants' goals: they are "not found".
    let goal = NationalGoalView::from(service::find(&state.db, &me, id).await?);
    Ok(([etag(goal.row_version)], Json(goal)).into_response())
}

/// Change a national goal; needs `If-Match` with the `ETag` read (412 when it changed since,
/// 428 without it).
#[utoipa::path(put, path = "/national-goals/{goal}", tag = "national goals", params(("goal" = Uuid, Path, description = "Goal id"), ("If-Match" = String, Header, description = "The `ETag` read; 412 when it no longer matches, 428 without it")),
    request_body = NationalGoalInput,
    responses((status = 204, description = "Changed"), (status = 404, description = "No such goal (or not yours)", body = ErrorBody),
              (status = 412, description = "Changed since read", body = ErrorBody), (status = 422, description = "`fields` names what is wrong", body = ErrorBody),
              (status = 428, description = "If-Match missing", body = ErrorBody)))]
pub async fn update_goal(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(input): Json<NationalGoalInput>,
) -> Result<StatusCode, AppError> {
    // 404, then 403, before the 428 of a missing `If-Match`.
    service::find_editable(&state.db, &me, id).await?;
    let expected = expected_version(&headers)?;
    service::update(&state.db, &me, id, expected, &input, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every version of a national goal, newest first.
#[utoipa::path(get, path = "/national-goals/{goal}/history", tag = "national goals", params(("goal" = Uuid, Path, description = "Goal id")),
    responses((status = 200, description = "The versions", body = Vec<GoalVersion>), (status = 404, description = "No such goal (or not yours)", body = ErrorBody)))]
pub async fn goal_history(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<GoalVersion>>, AppError> {
    Ok(Json(all(service::history(&state.db, &me, id).await?)))
}
