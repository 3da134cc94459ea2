//! Signing in and out through the API, and who am I.

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::sign_in::{self, Outcome};
use crate::services::RequestContext;
use crate::web::AppState;
use crate::web::authn::{CurrentUser, MaybeUser};
use crate::web::error::{AppError, ErrorBody};

/// The session routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_session, delete_session))
        .routes(routes!(me))
}

/// Credentials for a new session.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignInRequest {
    pub email: String,
    pub password: String,
    /// The TOTP code (or a recovery code) when the account has a second factor.
    pub second_factor: Option<String>,
}

/// The user behind the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// admin, analyst, head, contributor or viewer.
    pub role: String,
    pub participant_id: Option<Uuid>,
    pub second_factor: bool,
    /// The session's CSRF token: send it as `X-CSRF-Token` on state-changing calls made with the
    /// session cookie (not needed with a bearer token).
    pub csrf_token: Option<String>,
}

/// Sign in: sets the session cookie. Accounts with a second factor give its code in the same call.
#[utoipa::path(post, path = "/session", tag = "session", request_body = SignInRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = Me),
        (status = 401, description = "`sign_in_failed` (same for every cause) or `second_factor_required`", body = ErrorBody)))]
pub async fn create_session(
    State(state): State<AppState>,
    context: RequestContext,
    Json(request): Json<SignInRequest>,
) -> Result<Response, AppError> {
    let config = &state.config.auth;
    let Outcome::Issued(mut session) = sign_in::sign_in(
        &state.db,
        config,
        &request.email,
        request.password,
        &context,
    )
    .await?
    else {
        return Err(AppError::SignInFailed);
    };
    if session.second_factor_pending {
        let pending = sign_in::PendingSignIn::of_issued(&session, &request.email);
        let code = request.second_factor.unwrap_or_default();
        session = sign_in::complete_second_factor(&state.db, config, &pending, &code, &context)
            .await?
            .ok_or(AppError::SecondFactorRequired)?;
    }
    let me = me_for(&state, session.user_id, Some(session.csrf_token.clone())).await?;
    let cookie = HeaderValue::from_str(&config.session_cookie_header(&session.cookie_value))
        .map_err(|e| AppError::Internal(e.into()))?;
    let mut response = Json(me).into_response();
    response.headers_mut().append(SET_COOKIE, cookie);
    Ok(response)
}

async fn me_for(
    state: &AppState,
    user_id: Uuid,
    csrf_token: Option<String>,
) -> Result<Me, AppError> {
    let user = crate::services::users::signed_in(&state.db, user_id).await?;
    Ok(Me {
        id: user.id,
        email: user.email,
        display_name: user.display_name,
        role: user.role,
        participant_id: user.participant_id,
        second_factor: user.second_factor,
        csrf_token,
    })
}

/// Sign out: ends the session of the cookie.
#[utoipa::path(delete, path = "/session", tag = "session",
    responses((status = 204, description = "Signed out (also when there was no session)")))]
pub async fn delete_session(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    context: RequestContext,
) -> Result<Response, AppError> {
    if let Some(principal) = &user {
        sign_in::sign_out(&state.db, principal, &context).await?;
    }
    let clear = HeaderValue::from_str(&state.config.auth.clear_session_cookie_header())
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, clear)]).into_response())
}

/// The signed-in user.
#[utoipa::path(get, path = "/me", tag = "session",
    responses(
        (status = 200, description = "The user", body = Me),
        (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn me(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Me>, AppError> {
    Ok(Json(
        me_for(&state, me.user_id, me.csrf_token().map(str::to_owned)).await?,
    ))
}
