//! User management for admins, and the audit log.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::bodies::{EntryView, SessionSummary, UserSummary, all};
use crate::auth::accounts::{self, NewAccount, Operator, RoleChoice};
use crate::services::RequestContext;
use crate::services::users;
use crate::web::AppState;
use crate::web::error::{AppError, ErrorBody};
use crate::web::permitted::{AuditReader, UserAdmin};

/// The admin routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user))
        .routes(routes!(set_role))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
        .routes(routes!(reset_password))
        .routes(routes!(reset_second_factor))
        .routes(routes!(list_sessions, end_all_sessions))
        .routes(routes!(end_session))
        .routes(routes!(audit_log))
}

/// Every user.
#[utoipa::path(get, path = "/users", tag = "users",
    responses((status = 200, description = "The users", body = Vec<UserSummary>),
              (status = 403, description = "Admins only", body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
) -> Result<Json<Vec<UserSummary>>, AppError> {
    Ok(Json(all(users::list(&state.db, &me.scope()).await?)))
}

/// A role: `admin`, `analyst`, or `head`/`contributor`/`viewer` with the delegation's participant code.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RoleRequest {
    pub role: String,
    /// ISO 3166-1 alpha-3 code, for delegation roles.
    pub participant: Option<String>,
}

impl From<RoleRequest> for RoleChoice {
    fn from(request: RoleRequest) -> Self {
        RoleChoice {
            role: request.role,
            participant_code: request.participant,
        }
    }
}

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUserRequest {
    pub email: String,
    pub display_name: String,
    #[serde(flatten)]
    pub role: RoleRequest,
}

/// The new user and their one-time password (shown only here; it must be changed at first sign-in).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    pub id: Uuid,
    pub one_time_password: String,
}

/// Create a user with a one-time password.
#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUserRequest,
    responses((status = 201, description = "Created", body = CreatedUser),
              (status = 403, description = "Admins only", body = ErrorBody),
              (status = 422, description = "`fields` names what is wrong", body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    context: RequestContext,
    Json(request): Json<NewUserRequest>,
) -> Result<(StatusCode, Json<CreatedUser>), AppError> {
    let account = NewAccount {
        email: request.email,
        display_name: request.display_name,
        role: request.role.into(),
    };
    let (id, one_time_password) =
        accounts::create_user(&state.db, Operator::User(&me), &account, &context).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            id,
            one_time_password,
        }),
    ))
}

/// One user.
#[utoipa::path(get, path = "/users/{user}", tag = "users", params(("user" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The user", body = UserSummary),
              (status = 404, description = "No such user", body = ErrorBody)))]
pub async fn get_user(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    Path(user_id): Path<Uuid>,
) -> Result<Json<UserSummary>, AppError> {
    Ok(Json(
        users::find(&state.db, &me.scope(), user_id).await?.into(),
    ))
}

/// Change a user's role or delegation.
#[utoipa::path(put, path = "/users/{user}/role", tag = "users", params(("user" = Uuid, Path, description = "User id")),
    request_body = RoleRequest,
    responses((status = 204, description = "Changed"), (status = 404, description = "No such user", body = ErrorBody),
              (status = 422, description = "`fields` names what is wrong", body = ErrorBody)))]
pub async fn set_role(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    context: RequestContext,
    Path(user_id): Path<Uuid>,
    Json(request): Json<RoleRequest>,
) -> Result<StatusCode, AppError> {
    accounts::change_role(
        &state.db,
        Operator::User(&me),
        user_id,
        &request.into(),
        &context,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disable a user; their sessions end.
#[utoipa::path(post, path = "/users/{user}/disable", tag = "users", params(("user" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "Disabled"), (status = 404, description = "No such user", body = ErrorBody),
              (status = 409, description = "`cannot_disable_self`", body = ErrorBody)))]
pub async fn disable_user(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    context: RequestContext,
    Path(user_id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    if user_id == me.user_id {
        return Err(AppError::Conflict("cannot_disable_self"));
    }
    accounts::set_disabled(&state.db, Operator::User(&me), user_id, true, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enable a disabled user.
#[utoipa::path(post, path = "/users/{user}/enable", tag = "users", params(("user" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "Enabled"), (status = 404, description = "No such user", body = ErrorBody)))]
pub async fn enable_user(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    context: RequestContext,
    Path(user_id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    accounts::set_disabled(&state.db, Operator::User(&me), user_id, false, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The new one-time password.
#[derive(Debug, Serialize, ToSchema)]
pub struct OneTimePassword {
    pub one_time_password: String,
}

/// Reset a user's password to a one-time password; their sessions end.
#[utoipa::path(post, path = "/users/{user}/reset-password", tag = "users", params(("user" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "Reset", body = OneTimePassword), (status = 404, description = "No such user", body = ErrorBody)))]
pub async fn reset_password(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    context: RequestContext,
    Path(user_id): Path<Uuid>,
) -> Result<Json<OneTimePassword>, AppError> {
    let one_time_password =
        accounts::reset_password(&state.db, Operator::User(&me), user_id, &context).await?;
    Ok(Json(OneTimePassword { one_time_password }))
}

/// Remove a user's second factor (a lost device); their sessions end.
#[utoipa::path(post, path = "/users/{user}/second-factor/reset", tag = "users", params(("user" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "Removed"), (status = 404, description = "No such user", body = ErrorBody)))]
pub async fn reset_second_factor(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    context: RequestContext,
    Path(user_id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    accounts::reset_second_factor(&state.db, Operator::User(&me), user_id, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's live sessions.
#[utoipa::path(get, path = "/users/{user}/sessions", tag = "users", params(("user" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The sessions", body = Vec<SessionSummary>), (status = 404, description = "No such user", body = ErrorBody)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    Path(user_id): Path<Uuid>,
) -> Result<Json<Vec<SessionSummary>>, AppError> {
    let (_, sessions) = users::with_sessions(&state.db, &me.scope(), user_id).await?;
    Ok(Json(all(sessions)))
}

/// End every session of a user.
#[utoipa::path(delete, path = "/users/{user}/sessions", tag = "users", params(("user" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "Ended"), (status = 404, description = "No such user", body = ErrorBody)))]
pub async fn end_all_sessions(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    context: RequestContext,
    Path(user_id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    accounts::end_all_sessions(&state.db, Operator::User(&me), user_id, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End one session by its handle.
#[utoipa::path(delete, path = "/sessions/{session}", tag = "users", params(("session" = Uuid, Path, description = "Session handle")),
    responses((status = 204, description = "Ended"), (status = 404, description = "No such live session", body = ErrorBody)))]
pub async fn end_session(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    context: RequestContext,
    Path(handle): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    accounts::end_session(&state.db, Operator::User(&me), handle, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Paging through the audit log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries before this sequence number (for the next page).
    pub before: Option<i64>,
    /// At most this many entries (1–1000, default 100).
    pub limit: Option<i64>,
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/audit-log", tag = "users", params(AuditQuery),
    responses((status = 200, description = "Entries", body = Vec<EntryView>), (status = 403, description = "Admins only", body = ErrorBody)))]
pub async fn audit_log(
    State(state): State<AppState>,
    AuditReader(me): AuditReader,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<EntryView>>, AppError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let entries = users::audit_entries(&state.db, &me.scope(), query.before, limit).await?;
    Ok(Json(all(entries)))
}
