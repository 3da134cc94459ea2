//! One's own account: password, second factor, API tokens, sessions.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::flash::{self, Flash};
use serde::Deserialize;
use uuid::Uuid;

use super::{PageContext, render};
use crate::auth::accounts::{self, CreatedToken};
use crate::auth::{Principal, totp};
use crate::services::RequestContext;
use crate::services::users::{self, SessionSummary, TokenSummary};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, FieldErrors};
use crate::web::permitted::{CredentialsOwner, OwnCredentials};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    page: PageContext,
    email: String,
    has_second_factor: bool,
    tokens: Vec<TokenSummary>,
    sessions: Vec<SessionSummary>,
    current_session: Option<Uuid>,
    token_name: String,
    errors: FieldErrors,
    created: Option<CreatedToken>,
    /// The zone as shown in the form (what the user typed, after a refusal).
    time_zone: String,
    zone_names: Vec<String>,
}

impl AccountPage {
    fn is_current(&self, handle: &Uuid) -> bool {
        self.current_session.as_ref() == Some(handle)
    }
}

async fn account_page(
    state: &AppState,
    principal: &Principal,
    page: PageContext,
    token_name: String,
    errors: FieldErrors,
    created: Option<CreatedToken>,
) -> Result<Response, AppError> {
    let time_zone = principal.time_zone.clone();
    account_page_with_zone(
        state, principal, page, token_name, errors, created, time_zone,
    )
    .await
}

async fn account_page_with_zone(
    state: &AppState,
    principal: &Principal,
    page: PageContext,
    token_name: String,
    errors: FieldErrors,
    created: Option<CreatedToken>,
    time_zone: String,
) -> Result<Response, AppError> {
    let (tokens, sessions) = users::own_credentials(&state.db, principal).await?;
    let current_session = match &principal.credential {
        crate::auth::Credential::Session { handle, .. } => Some(*handle),
        crate::auth::Credential::Token { .. } => None,
    };
    render(&AccountPage {
        page,
        email: principal.email.clone(),
        has_second_factor: principal.has_second_factor,
        tokens,
        sessions,
        current_session,
        token_name,
        errors,
        created,
        time_zone,
        zone_names: crate::presentation::format::TimeZone::all_names(),
    })
}

/// `GET /account`.
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
) -> Result<Response, AppError> {
    account_page(&state, &me, page, String::new(), FieldErrors::new(), None).await
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    page: PageContext,
    forced: bool,
    errors: FieldErrors,
    /// Where to go once the password is changed (after a first sign-in: where the user was going).
    return_to: String,
}

/// Where the password change leads on to.
#[derive(Deserialize)]
pub struct PasswordQuery {
    return_to: Option<String>,
}

/// `GET /account/password` (also where a one-time password leads).
pub async fn show_password(
    OwnCredentials(me): OwnCredentials,
    page: PageContext,
    axum::extract::Query(query): axum::extract::Query<PasswordQuery>,
) -> Result<Response, AppError> {
    render(&PasswordPage {
        page,
        forced: me.must_change_password,
        errors: FieldErrors::new(),
        return_to: return_target(query.return_to.as_deref()),
    })
}

/// The password form.
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
    return_to: Option<String>,
}

/// A local page to go on to after the password change; none (empty) means the account page.
fn return_target(target: Option<&str>) -> String {
    match super::language::local_path(target) {
        "/" if target != Some("/") => String::new(),
        path => path.to_owned(),
    }
}

/// `POST /account/password`: re-enter the current password, choose a new one.
pub async fn change_password(
    State(state): State<AppState>,
    OwnCredentials(me): OwnCredentials,
    page: PageContext,
    context: RequestContext,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let return_to = return_target(form.return_to.as_deref());
    let result = if form.new_password != form.confirm_password {
        Err(AppError::Validation(FieldErrors::from([(
            "confirm_password".to_owned(),
            "field.confirm_password.mismatch".to_owned(),
        )])))
    } else {
        accounts::change_own_password(
            &state.db,
            &me,
            form.current_password,
            form.new_password,
            &context,
        )
        .await
        .map_err(AppError::from)
    };
    match result {
        Ok(()) => Ok(flash::redirect(
            if return_to.is_empty() {
                "/account"
            } else {
                &return_to
            },
            Flash::new("flash.password_changed"),
            state.config.auth.secure_cookies,
        )),
        Err(AppError::Validation(errors)) => {
            let mut response = render(&PasswordPage {
                page,
                forced: me.must_change_password,
                errors,
                return_to,
            })?;
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other),
    }
}

#[derive(Template)]
#[template(path = "second_factor_enrol.html")]
struct EnrolPage {
    page: PageContext,
    enabled: bool,
    secret: String,
    qr_svg: String,
    errors: FieldErrors,
    recovery_codes: Vec<String>,
}

/// `GET /account/second-factor`: the secret and QR code to scan, or the status when enrolled.
pub async fn show_second_factor(
    State(state): State<AppState>,
    OwnCredentials(me): OwnCredentials,
    page: PageContext,
) -> Result<Response, AppError> {
    let secret = accounts::enrolment_secret(&state.config.auth.totp_keys, &me);
    enrol_page(&state, &me, page, secret, FieldErrors::new())
}

fn enrol_page(
    state: &AppState,
    me: &Principal,
    page: PageContext,
    secret: Vec<u8>,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let uri = totp::provisioning_uri(&secret, &me.email, &state.config.auth.issuer);
    render(&EnrolPage {
        page,
        enabled: me.has_second_factor,
        secret: totp::secret_base32(&secret),
        qr_svg: totp::qr_svg(&uri),
        errors,
        recovery_codes: Vec::new(),
    })
}

/// The enrolment form: a code from the app. (The secret is the server's: a `secret` the client
/// sends is ignored.)
#[derive(Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    code: String,
}

/// `POST /account/second-factor`: turns the second factor on and shows the recovery codes once.
pub async fn enrol_second_factor(
    State(state): State<AppState>,
    OwnCredentials(me): OwnCredentials,
    page: PageContext,
    context: RequestContext,
    Form(form): Form<EnrolForm>,
) -> Result<Response, AppError> {
    let keys = &state.config.auth.totp_keys;
    match accounts::enrol_second_factor(&state.db, keys, &me, &form.code, &context).await {
        Ok(recovery_codes) => render(&EnrolPage {
            page,
            enabled: true,
            secret: String::new(),
            qr_svg: String::new(),
            errors: FieldErrors::new(),
            recovery_codes,
        }),
        Err(accounts::AccountError::Invalid(errors)) => {
            let secret = accounts::enrolment_secret(keys, &me);
            let mut response = enrol_page(&state, &me, page, secret, errors)?;
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

/// The new-token form.
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
}

/// `POST /account/tokens`: the new token is shown once, on the account page.
pub async fn create_token(
    State(state): State<AppState>,
    CredentialsOwner(me): CredentialsOwner,
    page: PageContext,
    context: RequestContext,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    match accounts::create_token(&state.db, &me, &form.name, None, &context).await {
        Ok(created) => {
            account_page(
                &state,
                &me,
                page,
                String::new(),
                FieldErrors::new(),
                Some(created),
            )
            .await
        }
        Err(accounts::AccountError::Invalid(errors)) => {
            let mut response = account_page(&state, &me, page, form.name, errors, None).await?;
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /account/tokens/{token}/revoke`.
pub async fn revoke_token(
    State(state): State<AppState>,
    CredentialsOwner(me): CredentialsOwner,
    context: RequestContext,
    Path(token): Path<Uuid>,
) -> Result<Response, AppError> {
    accounts::revoke_token(&state.db, &me, token, &context).await?;
    Ok(Redirect::to("/account").into_response())
}

/// The time-zone form.
#[derive(Deserialize)]
pub struct TimeZoneForm {
    #[serde(default)]
    time_zone: String,
}

/// `POST /account/time-zone`: the zone moments are shown in; an unknown name is refused on the
/// account page with what was typed kept.
pub async fn change_time_zone(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Form(form): Form<TimeZoneForm>,
) -> Result<Response, AppError> {
    match accounts::change_own_time_zone(&state.db, &me, &form.time_zone, &context).await {
        Ok(zone) => Ok(flash::redirect(
            "/account",
            Flash::with("flash.time_zone_changed", zone),
            state.config.auth.secure_cookies,
        )),
        Err(accounts::AccountError::Invalid(errors)) => {
            let mut response = account_page_with_zone(
                &state,
                &me,
                page,
                String::new(),
                errors,
                None,
                form.time_zone,
            )
            .await?;
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}
