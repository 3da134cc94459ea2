//! `GET /api/v1/participants`: the Allies and partners.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::storage::participants::{self, Participant};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};

/// The participants' routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_participants))
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
    Ok(Json(participants::list(&state.db).await?))
}
