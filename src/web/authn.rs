//! Who is asking: resolves the session cookie or bearer token once per request, checks the CSRF
//! token of state-changing requests made with a session, and hands the result to handlers
//! through extractors that say what state of sign-in a route accepts.

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, SET_COOKIE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::AppError;
use super::locale::cookie_value;
use super::{AppState, REQUEST_ID};
use crate::auth::Principal;
use crate::auth::resolve::Resolution;
use crate::auth::secrets::constant_time_eq;
use crate::domain::role::Role;
use crate::services::RequestContext;

/// Largest form body read for its CSRF token (forms with files carry the token in the query).
const MAX_FORM_BODY: usize = 2 * 1024 * 1024;
/// Header that carries the CSRF token for API calls made with a session cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Form field (or query parameter) that carries the CSRF token from pages.
pub const CSRF_FIELD: &str = "csrf_token";

/// The signed-in user's unread notifications, read with the session (pages show the count).
#[derive(Debug, Clone, Copy)]
pub struct UnreadNotifications(pub i64);

/// On an error answered here, before routing: `middleware::early_error_pages` (the layer around
/// this one) turns it into the HTML page outside `/api/`. This module does not render pages
/// itself, since pages read who is signed in from it.
#[derive(Debug, Clone, Copy)]
pub struct AnsweredBeforeRouting;

fn before_routing(mut response: Response) -> Response {
    response.extensions_mut().insert(AnsweredBeforeRouting);
    response
}

/// The request's principal, if any, as resolved by [`authenticate`].
#[derive(Debug, Clone, Default)]
pub struct Authenticated(pub Option<Principal>);

/// Middleware: resolves the caller and enforces CSRF protection for sessions.
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.starts_with("/static/") || path == "/livez" || path == "/readyz" {
        return next.run(request).await;
    }
    // Only owned values cross the awaits below (a request body is not Sync).
    let bearer = bearer_token(&request).map(str::to_owned);
    let cookie = cookie_value(request.headers(), state.config.auth.session_cookie());
    let resolved = match resolve(&state, bearer, cookie).await {
        Ok(resolved) => resolved,
        Err(error) => return before_routing(error.into_response()),
    };
    let mut unread = None;
    let (principal, clear_cookie) = match resolved {
        Resolution::Principal(principal, count) => {
            unread = count;
            (Some(principal), false)
        }
        Resolution::Anonymous { stale_cookie } => (None, stale_cookie),
        Resolution::BadToken => {
            return before_routing(AppError::Unauthenticated.into_response());
        }
    };
    if let Some(principal) = &principal {
        tracing::Span::current().record("user_id", tracing::field::display(principal.user_id));
    }
    let mut request = request;
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if let (true, Some(expected)) = (
        unsafe_method,
        principal.as_ref().and_then(|p| p.csrf_token()),
    ) {
        let (checked, presented) = csrf_token_of(request).await;
        request = checked;
        let valid =
            presented.is_some_and(|token| constant_time_eq(token.as_bytes(), expected.as_bytes()));
        if !valid {
            tracing::warn!("state-changing request without a valid CSRF token refused");
            return before_routing(AppError::Csrf.into_response());
        }
    }
    request.extensions_mut().insert(Authenticated(principal));
    if let Some(count) = unread {
        request.extensions_mut().insert(UnreadNotifications(count));
    }
    let mut response = next.run(request).await;
    if clear_cookie
        && let Ok(value) = HeaderValue::from_str(&state.config.auth.clear_session_cookie_header())
    {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

async fn resolve(
    state: &AppState,
    bearer: Option<String>,
    cookie: Option<String>,
) -> Result<Resolution, AppError> {
    if let Some(token) = bearer {
        return Ok(crate::auth::resolve::bearer(&state.db, &token).await?);
    }
    let Some(cookie) = cookie else {
        return Ok(Resolution::Anonymous {
            stale_cookie: false,
        });
    };
    let idle = state.config.auth.idle_timeout;
    Ok(crate::auth::resolve::session(&state.db, &state.memos.sessions, &cookie, idle).await?)
}

fn bearer_token(request: &Request) -> Option<&str> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The CSRF token presented: the header, else the query parameter, else the field of a
/// urlencoded form body (which is read and put back).
async fn csrf_token_of(request: Request) -> (Request, Option<String>) {
    if let Some(token) = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        let token = token.to_owned();
        return (request, Some(token));
    }
    if let Some(token) = request
        .uri()
        .query()
        .and_then(|query| field(query.as_bytes(), CSRF_FIELD))
    {
        return (request, Some(token));
    }
    let is_form = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (request, None);
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, MAX_FORM_BODY).await {
        Ok(bytes) => {
            let token = field(&bytes, CSRF_FIELD);
            (Request::from_parts(parts, Body::from(bytes)), token)
        }
        Err(_) => (Request::from_parts(parts, Body::empty()), None),
    }
}

fn field(urlencoded: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(urlencoded)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn principal_of(parts: &Parts) -> Option<Principal> {
    parts
        .extensions
        .get::<Authenticated>()
        .and_then(|authenticated| authenticated.0.clone())
}

/// A signed-in user with nothing left to do before using the service.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Principal);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = principal_of(parts).ok_or(AppError::Unauthenticated)?;
        if principal.second_factor_pending {
            return Err(AppError::SecondFactorRequired);
        }
        if principal.must_change_password {
            return Err(AppError::PasswordChangeRequired);
        }
        if state.config.auth.require_admin_second_factor
            && principal.role == Role::Admin
            && !principal.has_second_factor
        {
            return Err(AppError::SecondFactorEnrolmentRequired);
        }
        Ok(CurrentUser(principal))
    }
}

/// A user who has signed in fully but may still owe a password change or a second factor:
/// the routes that settle those accept them.
#[derive(Debug, Clone)]
pub struct AccountUser(pub Principal);

impl FromRequestParts<AppState> for AccountUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = principal_of(parts).ok_or(AppError::Unauthenticated)?;
        if principal.second_factor_pending {
            return Err(AppError::SecondFactorRequired);
        }
        Ok(AccountUser(principal))
    }
}

/// A session whose password is verified and whose second factor is awaited.
#[derive(Debug, Clone)]
pub struct PendingUser(pub Principal);

impl FromRequestParts<AppState> for PendingUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match principal_of(parts) {
            Some(principal) if principal.second_factor_pending => Ok(PendingUser(principal)),
            Some(_) => Err(AppError::NotFound),
            None => Err(AppError::Unauthenticated),
        }
    }
}

/// Anyone: the principal when there is one (sign-out accepts every state of sign-in).
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(principal_of(parts)))
    }
}

/// The client's address: the TCP peer, or — when the peer is one of the trusted proxies — the
/// last entry the proxy added to `X-Forwarded-For`. Earlier entries are whatever the client
/// claimed, so when the last one is not a plain address the peer is used rather than any earlier
/// entry. A request that does not come from a trusted proxy has its header ignored.
pub fn client_addr(
    parts: &Parts,
    trusted_proxies: &[std::net::IpAddr],
) -> Option<std::net::IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    if !peer.is_some_and(|peer| trusted_proxies.contains(&peer)) {
        return peer;
    }
    parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|line| line.to_str().ok())
        .and_then(|line| line.rsplit(',').next())
        .and_then(|entry| entry.trim().parse().ok())
        .or(peer)
}

impl FromRequestParts<AppState> for RequestContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(RequestContext {
            client_addr: client_addr(parts, &state.config.auth.trusted_proxies),
            request_id: header(REQUEST_ID),
            user_agent: header(USER_AGENT),
            known_device: cookie_value(&parts.headers, state.config.auth.device_cookie())
                .map(|value| crate::auth::secrets::sha256(&value)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::client_addr;
    use axum::extract::ConnectInfo;

    fn parts(forwarded: &[&str]) -> axum::http::request::Parts {
        let mut builder = axum::http::Request::builder();
        for value in forwarded {
            builder = builder.header("x-forwarded-for", *value);
        }
        let (mut parts, ()) = builder.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(std::net::SocketAddr::from((
                [10, 0, 0, 1],
                443,
            ))));
        parts
    }

    #[test]
    fn only_the_entry_the_proxy_added_counts() {
        let ip = |text: &str| Some(text.parse().unwrap());
        let proxy: &[std::net::IpAddr] = &["10.0.0.1".parse().unwrap()];
        let another: &[std::net::IpAddr] = &["10.0.0.2".parse().unwrap()];
        assert_eq!(client_addr(&parts(&["203.0.113.7"]), &[]), ip("10.0.0.1"));
        assert_eq!(
            client_addr(&parts(&["198.51.100.1, 203.0.113.7"]), proxy),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_addr(&parts(&["198.51.100.1", "203.0.113.7"]), proxy),
            ip("203.0.113.7")
        );
        // A last entry that is not an address never lets a client-written one through.
        assert_eq!(
            client_addr(&parts(&["198.51.100.1, unknown"]), proxy),
            ip("10.0.0.1")
        );
        assert_eq!(client_addr(&parts(&[]), proxy), ip("10.0.0.1"));
        // Nor does a last line that is not text.
        let mut odd = parts(&["198.51.100.1"]);
        odd.headers.append(
            "x-forwarded-for",
            axum::http::HeaderValue::from_bytes(b"\xff").unwrap(),
        );
        assert_eq!(client_addr(&odd, proxy), ip("10.0.0.1"));
        // From a peer that is not a trusted proxy, the header is ignored.
        assert_eq!(
            client_addr(&parts(&["203.0.113.7"]), another),
            ip("10.0.0.1")
        );
    }
}
