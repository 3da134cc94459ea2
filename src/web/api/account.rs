//! One's own credentials through the API: password and personal tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::bodies::{TokenSummary, all};
use crate::auth::accounts::{self, CreatedToken};
use crate::services::RequestContext;
use crate::services::users;
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};
use crate::web::permitted::{CredentialsOwner, OwnCredentials};

/// The account routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(change_password))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 12 characters, not a common or guessable password.
    pub new_password: String,
}

/// Change one's password (ends every other session). Session only: a token cannot do it.
#[utoipa::path(post, path = "/me/password", tag = "account", request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "Not with a token", body = ErrorBody),
        (status = 422, description = "`fields.current_password` or `fields.new_password` says what is wrong", body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    OwnCredentials(me): OwnCredentials,
    context: RequestContext,
    Json(change): Json<PasswordChange>,
) -> Result<StatusCode, AppError> {
    accounts::change_own_password(
        &state.db,
        &me,
        change.current_password,
        change.new_password,
        &context,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One's live personal API tokens (never their secrets).
#[utoipa::path(get, path = "/me/tokens", tag = "account",
    responses((status = 200, description = "The tokens", body = Vec<TokenSummary>)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Vec<TokenSummary>>, AppError> {
    Ok(Json(all(users::own_tokens(&state.db, &me).await?)))
}

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewToken {
    pub name: String,
    /// When the token stops working (RFC 3339); none means until revoked.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
}

/// Create a personal API token; its secret is in this answer only. Session only.
#[utoipa::path(post, path = "/me/tokens", tag = "account", request_body = NewToken,
    responses(
        (status = 201, description = "Created", body = CreatedToken),
        (status = 403, description = "Not with a token", body = ErrorBody),
        (status = 422, description = "`fields.name` says what is wrong", body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    CredentialsOwner(me): CredentialsOwner,
    context: RequestContext,
    Json(new): Json<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), AppError> {
    let created =
        accounts::create_token(&state.db, &me, &new.name, new.expires_at, &context).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revoke one of one's tokens. Session only.
#[utoipa::path(delete, path = "/me/tokens/{token}", tag = "account",
    params(("token" = Uuid, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such live token of yours", body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    CredentialsOwner(me): CredentialsOwner,
    context: RequestContext,
    Path(token): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    accounts::revoke_token(&state.db, &me, token, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}
