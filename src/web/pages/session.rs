//! Signing in (password, then the second factor when the account has one) and out.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::encode_query_value;
use super::language::local_path;
use super::{PageContext, render};
use crate::auth::sign_in::{self, IssuedSession, Outcome};
use crate::services::RequestContext;
use crate::web::AppState;
use crate::web::authn::{MaybeUser, PendingUser};
use crate::web::error::AppError;

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    page: PageContext,
    return_to: String,
    email: String,
    failed: bool,
}

/// Where to go after signing in.
#[derive(Debug, Deserialize)]
pub struct ReturnTo {
    return_to: Option<String>,
}

/// `GET /signin`.
pub async fn show_sign_in(
    page: PageContext,
    Query(query): Query<ReturnTo>,
) -> Result<Response, AppError> {
    render(&SignInPage {
        page,
        return_to: local_path(query.return_to.as_deref()).to_owned(),
        email: String::new(),
        failed: false,
    })
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    return_to: Option<String>,
}

/// Sets the new session's cookie on a redirect.
pub fn with_session_cookie(
    state: &AppState,
    session: &IssuedSession,
    location: &str,
) -> Result<Response, AppError> {
    let cookie = HeaderValue::from_str(
        &state
            .config
            .auth
            .session_cookie_header(&session.cookie_value),
    )
    .map_err(|e| AppError::Internal(e.into()))?;
    let mut response = Redirect::to(location).into_response();
    response.headers_mut().append(SET_COOKIE, cookie);
    Ok(response)
}

/// `POST /signin`: a new session on success; the same refusal for every kind of failure.
pub async fn sign_in(
    State(state): State<AppState>,
    page: PageContext,
    context: RequestContext,
    Form(form): Form<SignInForm>,
) -> Result<Response, AppError> {
    let return_to = local_path(form.return_to.as_deref()).to_owned();
    let outcome = sign_in::sign_in(
        &state.db,
        &state.config.auth,
        &form.email,
        form.password,
        &context,
    )
    .await?;
    match outcome {
        Outcome::Issued(session) if session.second_factor_pending => with_session_cookie(
            &state,
            &session,
            &format!(
                "/signin/second-factor?return_to={}",
                encode_query_value(&return_to)
            ),
        ),
        Outcome::Issued(session) => {
            with_session_cookie(&state, &session, &after_sign_in(&session, &return_to))
        }
        Outcome::Refused => render(&SignInPage {
            page,
            return_to,
            email: form.email,
            failed: true,
        }),
    }
}

#[derive(Template)]
#[template(path = "second_factor.html")]
struct SecondFactorPage {
    page: PageContext,
    return_to: String,
    failed: bool,
}

/// `GET /signin/second-factor`.
pub async fn show_second_factor(
    _pending: PendingUser,
    page: PageContext,
    Query(query): Query<ReturnTo>,
) -> Result<Response, AppError> {
    render(&SecondFactorPage {
        page,
        return_to: local_path(query.return_to.as_deref()).to_owned(),
        failed: false,
    })
}

/// The second-factor form.
#[derive(Deserialize)]
pub struct SecondFactorForm {
    #[serde(default)]
    code: String,
    return_to: Option<String>,
}

/// `POST /signin/second-factor`: a TOTP code or a recovery code completes the sign-in.
pub async fn second_factor(
    State(state): State<AppState>,
    PendingUser(pending): PendingUser,
    page: PageContext,
    context: RequestContext,
    Form(form): Form<SecondFactorForm>,
) -> Result<Response, AppError> {
    let return_to = local_path(form.return_to.as_deref()).to_owned();
    let must_change_password = pending.must_change_password;
    let pending = sign_in::PendingSignIn::of(&pending).ok_or(AppError::NotFound)?;
    match sign_in::complete_second_factor(
        &state.db,
        &state.config.auth,
        &pending,
        &form.code,
        &context,
    )
    .await?
    {
        Some(mut session) => {
            session.must_change_password |= must_change_password;
            with_session_cookie(&state, &session, &after_sign_in(&session, &return_to))
        }
        None => render(&SecondFactorPage {
            page,
            return_to,
            failed: true,
        }),
    }
}

/// Where a completed sign-in leads: the password change first when the password is a one-time
/// password (whatever `return_to` says), carrying `return_to` on to after it.
fn after_sign_in(session: &IssuedSession, return_to: &str) -> String {
    if session.must_change_password {
        return if return_to == "/" {
            "/account/password".to_owned()
        } else {
            format!(
                "/account/password?return_to={}",
                encode_query_value(return_to)
            )
        };
    }
    return_to.to_owned()
}

/// `POST /signout`: ends the session (whatever its state) and forgets the cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    context: RequestContext,
) -> Result<Response, AppError> {
    if let Some(principal) = &user {
        sign_in::sign_out(&state.db, principal, &context).await?;
    }
    let mut response = Redirect::to("/signin").into_response();
    let clear = HeaderValue::from_str(&state.config.auth.clear_session_cookie_header())
        .map_err(|e| AppError::Internal(e.into()))?;
    response.headers_mut().append(SET_COOKIE, clear);
    Ok(response)
}
