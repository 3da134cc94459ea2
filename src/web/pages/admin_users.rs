//! The secretariat's user management: list, create (with a one-time password), change role or
//! delegation, disable and enable, reset passwords, see and end sessions.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::{PageContext, render};
use crate::auth::accounts::{self, AccountError, NewAccount, Operator, RoleChoice};
use crate::services::RequestContext;
use crate::services::participants::{self, Participant};
use crate::services::users::{self, SessionSummary, UserSummary};
use crate::web::AppState;
use crate::web::error::{AppError, FieldErrors};
use crate::web::permitted::UserAdmin;

/// The roles offered in forms, in order.
pub const ROLES: [&str; 5] = ["admin", "analyst", "head", "contributor", "viewer"];

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    page: PageContext,
    users: Vec<UserSummary>,
}

/// `GET /admin/users`.
pub async fn list(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    page: PageContext,
) -> Result<Response, AppError> {
    let users = users::list(&state.db, &me.scope()).await?;
    render(&UsersPage { page, users })
}

#[derive(Template)]
#[template(path = "admin_user_new.html")]
struct NewUserPage {
    page: PageContext,
    participants: Vec<Participant>,
    roles: [&'static str; 5],
    form: NewUserForm,
    errors: FieldErrors,
}

/// The new-user form (kept as typed when something is wrong).
#[derive(Debug, Default, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    participant: String,
}

async fn new_user_page(
    state: &AppState,
    page: PageContext,
    form: NewUserForm,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let participants = participants::list(&state.db).await?;
    render(&NewUserPage {
        page,
        participants,
        roles: ROLES,
        form,
        errors,
    })
}

/// `GET /admin/users/new`.
pub async fn show_new(
    State(state): State<AppState>,
    _: UserAdmin,
    page: PageContext,
) -> Result<Response, AppError> {
    new_user_page(&state, page, NewUserForm::default(), FieldErrors::new()).await
}

#[derive(Template)]
#[template(path = "one_time_password.html")]
struct OneTimePasswordPage {
    page: PageContext,
    user_id: Uuid,
    email: String,
    password: String,
    created: bool,
}

/// `POST /admin/users/new`: creates the account and shows its one-time password once.
pub async fn create(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    page: PageContext,
    context: RequestContext,
    Form(form): Form<NewUserForm>,
) -> Result<Response, AppError> {
    let account = NewAccount {
        email: form.email.clone(),
        display_name: form.display_name.clone(),
        role: RoleChoice {
            role: form.role.clone(),
            participant_code: Some(form.participant.clone()),
        },
    };
    match accounts::create_user(&state.db, Operator::User(&me), &account, &context).await {
        Ok((user_id, password)) => render(&OneTimePasswordPage {
            page,
            user_id,
            email: form.email.trim().to_owned(),
            password,
            created: true,
        }),
        Err(AccountError::Invalid(errors)) => {
            let mut response = new_user_page(&state, page, form, errors).await?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    page: PageContext,
    user: UserSummary,
    sessions: Vec<SessionSummary>,
    participants: Vec<Participant>,
    roles: [&'static str; 5],
    errors: FieldErrors,
}

async fn user_page(
    state: &AppState,
    me: &crate::auth::Principal,
    page: PageContext,
    user_id: Uuid,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let (user, sessions) = users::with_sessions(&state.db, &me.scope(), user_id).await?;
    let participants = participants::list(&state.db).await?;
    render(&UserPage {
        page,
        user,
        sessions,
        participants,
        roles: ROLES,
        errors,
    })
}

/// Back to the user's page with a message naming them.
async fn back_to_user(
    state: &AppState,
    me: &crate::auth::Principal,
    user_id: Uuid,
    key: &'static str,
) -> Result<Response, AppError> {
    let name = users::display_name(&state.db, &me.scope(), user_id).await?;
    Ok(flash::redirect(
        &format!("/admin/users/{user_id}"),
        Flash::with(key, name),
        state.config.auth.secure_cookies,
    ))
}

/// `GET /admin/users/{user}`.
pub async fn show(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    page: PageContext,
    Path(user_id): Path<Uuid>,
) -> Result<Response, AppError> {
    user_page(&state, &me, page, user_id, FieldErrors::new()).await
}

/// The role form.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    participant: String,
}

/// `POST /admin/users/{user}/role`.
pub async fn change_role(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    page: PageContext,
    context: RequestContext,
    Path(user_id): Path<Uuid>,
    Form(form): Form<RoleForm>,
) -> Result<Response, AppError> {
    let choice = RoleChoice {
        role: form.role,
        participant_code: Some(form.participant),
    };
    match accounts::change_role(&state.db, Operator::User(&me), user_id, &choice, &context).await {
        Ok(()) => back_to_user(&state, &me, user_id, "flash.user_role_changed").await,
        Err(AccountError::Invalid(errors)) => {
            let mut response = user_page(&state, &me, page, user_id, errors).await?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "admin_user_disable.html")]
struct DisablePage {
    page: PageContext,
    user: UserSummary,
    /// The delegation's name, for heads, contributors and viewers.
    delegation: Option<String>,
    /// Why it cannot be done (oneself, or already disabled): no button then.
    refusal: Option<&'static str>,
    sessions: String,
}

/// `GET /admin/users/{user}/disable`: who will be disabled and what it does. Changes nothing.
pub async fn confirm_disable(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    page: PageContext,
    Path(user_id): Path<Uuid>,
) -> Result<Response, AppError> {
    let user = users::find(&state.db, &me.scope(), user_id).await?;
    let delegation = match user.participant_id {
        Some(id) => participants::list(&state.db)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .map(|p| {
                let name = if page.tr.lang().code() == "fr" && !p.name_fr.is_empty() {
                    p.name_fr
                } else {
                    p.name_en
                };
                format!("{} — {name}", p.code)
            }),
        None => None,
    };
    let refusal = if user_id == me.user_id {
        Some("error.cannot_disable_self")
    } else if user.disabled {
        Some("users.disable_confirm.already")
    } else {
        None
    };
    let sessions = page.tr.fmt(
        if user.live_sessions == 1 {
            "users.disable_confirm.sessions_one"
        } else {
            "users.disable_confirm.sessions"
        },
        &[("n", &user.live_sessions.to_string())],
    );
    let mut response = render(&DisablePage {
        page,
        user,
        delegation,
        refusal,
        sessions,
    })?;
    if refusal.is_some() {
        *response.status_mut() = StatusCode::CONFLICT;
    }
    Ok(response)
}

/// `POST /admin/users/{user}/disable`: ends their sessions too.
pub async fn disable(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    context: RequestContext,
    Path(user_id): Path<Uuid>,
) -> Result<Response, AppError> {
    if user_id == me.user_id {
        return Err(AppError::Conflict("cannot_disable_self"));
    }
    accounts::set_disabled(&state.db, Operator::User(&me), user_id, true, &context).await?;
    back_to_user(&state, &me, user_id, "flash.user_disabled").await
}

/// `POST /admin/users/{user}/enable`.
pub async fn enable(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    context: RequestContext,
    Path(user_id): Path<Uuid>,
) -> Result<Response, AppError> {
    accounts::set_disabled(&state.db, Operator::User(&me), user_id, false, &context).await?;
    back_to_user(&state, &me, user_id, "flash.user_enabled").await
}

/// `POST /admin/users/{user}/reset-password`: shows the new one-time password once.
pub async fn reset_password(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    page: PageContext,
    context: RequestContext,
    Path(user_id): Path<Uuid>,
) -> Result<Response, AppError> {
    let password =
        accounts::reset_password(&state.db, Operator::User(&me), user_id, &context).await?;
    let user = users::find(&state.db, &me.scope(), user_id).await?;
    render(&OneTimePasswordPage {
        page,
        user_id,
        email: user.email,
        password,
        created: false,
    })
}

/// `POST /admin/users/{user}/second-factor/reset`: for a user who lost their device.
pub async fn reset_second_factor(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    context: RequestContext,
    Path(user_id): Path<Uuid>,
) -> Result<Response, AppError> {
    accounts::reset_second_factor(&state.db, Operator::User(&me), user_id, &context).await?;
    back_to_user(&state, &me, user_id, "flash.user_second_factor_reset").await
}

/// `POST /admin/users/{user}/sessions/end`: signs the user out everywhere.
pub async fn end_all_sessions(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    context: RequestContext,
    Path(user_id): Path<Uuid>,
) -> Result<Response, AppError> {
    accounts::end_all_sessions(&state.db, Operator::User(&me), user_id, &context).await?;
    back_to_user(&state, &me, user_id, "flash.user_sessions_ended").await
}

/// `POST /admin/sessions/{session}/end`: ends one session.
pub async fn end_session(
    State(state): State<AppState>,
    UserAdmin(me): UserAdmin,
    context: RequestContext,
    Path(handle): Path<Uuid>,
) -> Result<Response, AppError> {
    accounts::end_session(&state.db, Operator::User(&me), handle, &context).await?;
    Ok(flash::redirect(
        "/admin/users",
        Flash::new("flash.session_ended"),
        state.config.auth.secure_cookies,
    ))
}
