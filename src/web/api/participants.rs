//! `GET /api/v1/participants`: the Allies and partners.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::bodies::{Participant, all};
use crate::auth::Operator;
use crate::services::RequestContext;
use crate::services::participants::{self as service, ParticipantInput};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};
use crate::web::permitted::CatalogueManager;

/// The participants' routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_participants, create_partner))
        .routes(routes!(update_participant))
}

/// Every participant, Allies first, by code.
#[utoipa::path(get, path = "/participants", tag = "participants",
    responses(
        (status = 200, description = "The participants", body = Vec<Participant>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody)))]
pub async fn list_participants(
    State(state): State<AppState>,
    _signed_in: CurrentUser,
) -> Result<Json<Vec<Participant>>, AppError> {
    Ok(Json(all(service::list(&state.db).await?)))
}

/// Add a partner nation.
#[utoipa::path(post, path = "/participants", tag = "participants", request_body = ParticipantInput,
    responses((status = 201, description = "Added", body = super::frameworks::Created), (status = 403, description = "Admins only", body = ErrorBody),
              (status = 422, description = "`fields` names what is wrong", body = ErrorBody)))]
pub async fn create_partner(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    context: RequestContext,
    Json(input): Json<ParticipantInput>,
) -> Result<(StatusCode, Json<super::frameworks::Created>), AppError> {
    let id = service::create_partner(&state.db, Operator::User(&me), &input, &context).await?;
    Ok((StatusCode::CREATED, Json(super::frameworks::Created { id })))
}

/// Rename a participant, or deactivate or reactivate it (participants are never deleted).
#[utoipa::path(put, path = "/participants/{participant}", tag = "participants", params(("participant" = Uuid, Path, description = "Participant id")),
    request_body = ParticipantInput,
    responses((status = 204, description = "Changed"), (status = 404, description = "No such participant", body = ErrorBody),
              (status = 422, description = "`fields` names what is wrong", body = ErrorBody)))]
pub async fn update_participant(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    context: RequestContext,
    Path(id): Path<uuid::Uuid>,
    Json(input): Json<ParticipantInput>,
) -> Result<StatusCode, AppError> {
    service::update(&state.db, Operator::User(&me), id, &input, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}
