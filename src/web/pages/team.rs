//! A head's team pages: the members (role, status, last sign-in), pending invitations and the
//! delegation's current assessments (`GET /team`); inviting (`/team/invite`); one member
//! (`/team/members/{user}`: contributor ↔ viewer, disable, enable; admins too, for every
//! delegation); and the public page of an invitation link (`/invitations/{token}`). Operations:
//! [`crate::services::team`].

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::{PageContext, render};
use crate::services::RequestContext;
use crate::services::ServiceError;
use crate::services::assignments::{LiveInvitation, Member};
use crate::services::team::{self as service, InvitationInput, Team};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, FieldErrors};

/// The head's own delegation, or 403.
fn own_team(me: &crate::auth::Principal) -> Result<Uuid, AppError> {
    service::own_team(me).ok_or(AppError::Forbidden)
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    page: PageContext,
    team: Team,
}

impl TeamPage {
    fn cycle_title(&self, en: &str, fr: &str) -> String {
        if self.page.tr.lang().code() == "fr" && !fr.trim().is_empty() {
            fr.to_owned()
        } else {
            en.to_owned()
        }
    }
}

/// `GET /team`: the head's delegation.
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
) -> Result<Response, AppError> {
    let participant = own_team(&me)?;
    let team = service::team(&state.db, &me, participant).await?;
    render(&TeamPage { page, team })
}

#[derive(Template)]
#[template(path = "team_invite.html")]
struct InvitePage {
    page: PageContext,
    form: InviteForm,
    errors: FieldErrors,
}

/// The invitation form (kept as typed when something is wrong).
#[derive(Debug, Default, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    language: String,
}

/// `GET /team/invite`.
pub async fn show_invite(
    CurrentUser(me): CurrentUser,
    page: PageContext,
) -> Result<Response, AppError> {
    own_team(&me)?;
    let form = InviteForm {
        role: "contributor".into(),
        language: page.tr.lang().code().into(),
        ..InviteForm::default()
    };
    render(&InvitePage {
        page,
        form,
        errors: FieldErrors::new(),
    })
}

/// `POST /team/invite`: the same answer whether or not the address has an account.
pub async fn invite(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Form(form): Form<InviteForm>,
) -> Result<Response, AppError> {
    let participant = own_team(&me)?;
    let input = InvitationInput {
        email: form.email.clone(),
        display_name: form.display_name.clone(),
        role: form.role.clone(),
        language: form.language.clone(),
    };
    match service::invite(&state.db, &me, participant, &input, &context).await {
        Ok(()) => Ok(flash::redirect(
            "/team",
            Flash::with("flash.team_invited", form.email.trim()),
            state.config.auth.secure_cookies,
        )),
        Err(ServiceError::Invalid(errors)) => {
            let mut response = render(&InvitePage { page, form, errors })?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "team_member.html")]
struct MemberPage {
    page: PageContext,
    member: Member,
    errors: FieldErrors,
}

/// `GET /team/members/{user}`.
pub async fn show_member(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Path(user): Path<Uuid>,
) -> Result<Response, AppError> {
    let member = service::member(&state.db, &me, user).await?;
    render(&MemberPage {
        page,
        member,
        errors: FieldErrors::new(),
    })
}

/// The role form.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

fn back_to_member(state: &AppState, user: Uuid, key: &'static str, name: &str) -> Response {
    flash::redirect(
        &format!("/team/members/{user}"),
        Flash::with(key, name),
        state.config.auth.secure_cookies,
    )
}

/// `POST /team/members/{user}/role`: contributor or viewer.
pub async fn change_role(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path(user): Path<Uuid>,
    Form(form): Form<RoleForm>,
) -> Result<Response, AppError> {
    match service::change_role(&state.db, &me, user, &form.role, &context).await {
        Ok(()) => {
            let member = service::member(&state.db, &me, user).await?;
            Ok(back_to_member(
                &state,
                user,
                "flash.team_role_changed",
                &member.display_name,
            ))
        }
        Err(ServiceError::Invalid(errors)) => {
            let member = service::member(&state.db, &me, user).await?;
            let mut response = render(&MemberPage {
                page,
                member,
                errors,
            })?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

async fn set_disabled(
    state: &AppState,
    me: &crate::auth::Principal,
    context: &RequestContext,
    user: Uuid,
    disabled: bool,
) -> Result<Response, AppError> {
    service::set_disabled(&state.db, me, user, disabled, context).await?;
    let member = service::member(&state.db, me, user).await?;
    let key = if disabled {
        "flash.team_member_disabled"
    } else {
        "flash.team_member_enabled"
    };
    Ok(back_to_member(state, user, key, &member.display_name))
}

/// `POST /team/members/{user}/disable`: ends their sessions too.
pub async fn disable(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(user): Path<Uuid>,
) -> Result<Response, AppError> {
    set_disabled(&state, &me, &context, user, true).await
}

/// `POST /team/members/{user}/enable`.
pub async fn enable(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(user): Path<Uuid>,
) -> Result<Response, AppError> {
    set_disabled(&state, &me, &context, user, false).await
}

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    page: PageContext,
    token: String,
    invitation: LiveInvitation,
    second_factor: bool,
    errors: FieldErrors,
}

impl InvitationPage {
    fn delegation(&self) -> String {
        let i = &self.invitation;
        let name = if self.page.tr.lang().code() == "fr" && !i.participant_name_fr.is_empty() {
            &i.participant_name_fr
        } else {
            &i.participant_name_en
        };
        format!("{} — {name}", i.participant_code)
    }
}

#[derive(Template)]
#[template(path = "invitation_invalid.html")]
struct InvalidLinkPage {
    page: PageContext,
}

/// A link that does not work (unknown, used or expired): one page for all, 404.
fn invalid_link(page: PageContext) -> Result<Response, AppError> {
    let mut response = render(&InvalidLinkPage { page })?;
    *response.status_mut() = StatusCode::NOT_FOUND;
    Ok(response)
}

/// `GET /invitations/{token}`: set a password to join (public).
pub async fn show_invitation(
    State(state): State<AppState>,
    page: PageContext,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    match service::invitation(&state.db, &token).await {
        Ok(invitation) => render(&InvitationPage {
            page,
            token,
            invitation,
            second_factor: true,
            errors: FieldErrors::new(),
        }),
        Err(ServiceError::NotFound) => invalid_link(page),
        Err(other) => Err(other.into()),
    }
}

/// The acceptance form.
#[derive(Debug, Default, Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
    /// "yes": go on to set up the second factor after signing in.
    #[serde(default)]
    second_factor: String,
}

/// `POST /invitations/{token}`: creates the account; then sign in (and, if chosen, set up the
/// second factor).
pub async fn accept_invitation(
    State(state): State<AppState>,
    page: PageContext,
    context: RequestContext,
    Path(token): Path<String>,
    Form(form): Form<AcceptForm>,
) -> Result<Response, AppError> {
    let second_factor = form.second_factor == "yes";
    match service::accept(
        &state.db,
        &token,
        form.new_password,
        &form.confirm_password,
        &context,
    )
    .await
    {
        Ok(email) => {
            let next = if second_factor {
                "/signin?return_to=%2Faccount%2Fsecond-factor"
            } else {
                "/signin"
            };
            Ok(flash::redirect(
                next,
                Flash::with("flash.invitation_accepted", email),
                state.config.auth.secure_cookies,
            ))
        }
        Err(ServiceError::Invalid(errors)) => match service::invitation(&state.db, &token).await {
            Ok(invitation) => {
                let mut response = render(&InvitationPage {
                    page,
                    token,
                    invitation,
                    second_factor,
                    errors,
                })?;
                *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                Ok(response)
            }
            Err(_) => invalid_link(page),
        },
        Err(ServiceError::NotFound) => invalid_link(page),
        Err(other) => Err(other.into()),
    }
}
