//! Middleware every request passes through: the request span, security headers, the refusal of
//! cross-site writes, the known-device cookie after a sign-in, and the HTML rendering of errors
//! on pages.

use axum::extract::Request;
use axum::http::Method;
use axum::http::header::{self, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::trace::MakeSpan;

use super::REQUEST_ID;
use super::authn::AnsweredBeforeRouting;
use super::error::{AppError, ErrorReport, wants_json};
use super::pages::render_error_page;

/// Opens one span per request with the request id; `user_id` is filled in once known.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &axum::http::Request<B>) -> tracing::Span {
        let request_id = request
            .headers()
            .get(REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.uri().path(),
            request_id = %request_id,
            user_id = tracing::field::Empty,
        )
    }
}

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Baseline security headers on every response. Everything but the stylesheet is `no-store`:
/// pages and API answers carry confidential data and must not sit in caches.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let cacheable = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name, value: &'static str| {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    // Browsers honour this only over HTTPS, so it is harmless on a plain-HTTP loopback.
    set(
        headers,
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=31536000",
    );
    set(
        headers,
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        headers,
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    if !cacheable {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}

/// Refuses state-changing requests that a browser marks as coming from another site, or whose
/// `Origin` is not this service's. (Token-based CSRF protection bound to the session sits on top
/// of this for signed-in pages; see docs/security.md.)
pub async fn refuse_cross_site_writes(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || is_same_origin(&request) {
        return next.run(request).await;
    }
    tracing::warn!("cross-site state-changing request refused");
    let mut response = AppError::Forbidden.into_response();
    if let Some(report) = response.extensions_mut().get_mut::<ErrorReport>() {
        report.message_key = "error.bad_origin".to_owned();
    }
    for_area(&request, response)
}

/// An error answered before routing: an HTML page outside `/api/`, the JSON body inside.
pub fn for_area(request: &Request, response: Response) -> Response {
    if request.uri().path().starts_with("/api/") || wants_json(request.headers()) {
        return response;
    }
    as_page(
        crate::web::locale::from_headers(request.headers()),
        response,
    )
}

fn as_page(lang: crate::presentation::i18n::Lang, response: Response) -> Response {
    let Some(report) = response.extensions().get::<ErrorReport>().cloned() else {
        return response;
    };
    let mut page = render_error_page(lang, &report);
    *page.status_mut() = report.status;
    page
}

/// Around authentication (`authn::authenticate`), which cannot render pages itself (pages read
/// who is signed in from it): an error it answered (`AnsweredBeforeRouting`) becomes, outside
/// `/api/`, the HTML page [`for_area`] gives.
pub async fn early_error_pages(request: Request, next: Next) -> Response {
    let page_lang = (!request.uri().path().starts_with("/api/") && !wants_json(request.headers()))
        .then(|| crate::web::locale::from_headers(request.headers()));
    let response = next.run(request).await;
    match page_lang {
        Some(lang)
            if response
                .extensions()
                .get::<AnsweredBeforeRouting>()
                .is_some() =>
        {
            as_page(lang, response)
        }
        _ => response,
    }
}

fn is_same_origin(request: &Request) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        // Browsers send this on every request; "none" is a user typing the address.
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    match headers.get(header::ORIGIN) {
        // Non-browser clients (API scripts, the CLI's tests) send neither header.
        None => true,
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
            let origin = origin.to_str().ok();
            match (origin, host) {
                (Some(origin), Some(host)) => origin
                    .split_once("://")
                    .is_some_and(|(_, authority)| authority == host),
                _ => false,
            }
        }
    }
}

/// After a response that starts a fully signed-in session (sign-in, second factor, password
/// change), marks the browser as a known device of that user: a random cookie whose hash is
/// stored. A correct sign-in from a known device is not held by its address's throttle block
/// (`auth::sign_in`). Failing to record it never fails the sign-in.
pub async fn remember_device(
    axum::extract::State(state): axum::extract::State<super::AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let auth = &state.config.auth;
    let prefix = format!("{}=", auth.session_cookie());
    let session = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.strip_prefix(prefix.as_str()))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        .find(|value| !value.is_empty());
    let Some(session) = session else {
        return response;
    };
    let token = crate::auth::secrets::random_hex(32);
    let recorded = crate::auth::resolve::remember_device(&state.db, &session, &token).await;
    match recorded {
        Ok(true) => {
            if let Ok(value) = HeaderValue::from_str(&auth.device_cookie_header(&token)) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        Ok(false) => {}
        Err(error) => tracing::warn!(%error, "the known device was not recorded"),
    }
    response
}

/// The assessment a multipart upload is for: `/assessments/{id}/…` or `/api/v1/assessments/{id}/…`
/// (evidence files and the offline form, pages and API; no other route takes multipart).
fn upload_target(request: &Request) -> Option<uuid::Uuid> {
    if request.method() != Method::POST {
        return None;
    }
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        });
    if !multipart {
        return None;
    }
    let path = request.uri().path();
    let rest = path
        .strip_prefix("/api/v1/assessments/")
        .or_else(|| path.strip_prefix("/assessments/"))?;
    let (id, tail) = rest.split_once('/')?;
    (!tail.is_empty()).then_some(())?;
    id.parse().ok()
}

/// Refuses an upload its sender may not make before a byte of its body is read: without a
/// principal the route's own extractor answers 401 (it runs before the body is read); with one,
/// the assessment must be visible (404 otherwise) and editable by them (403 otherwise). The
/// service checks again in its transaction; this only spares the server the body.
pub async fn refuse_unauthorised_uploads(
    axum::extract::State(state): axum::extract::State<super::AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(assessment) = upload_target(&request) else {
        return next.run(request).await;
    };
    let principal = request
        .extensions()
        .get::<super::authn::Authenticated>()
        .and_then(|authenticated| authenticated.0.clone());
    let Some(principal) = principal else {
        return next.run(request).await;
    };
    if principal.second_factor_pending || principal.must_change_password {
        return next.run(request).await;
    }
    let head = crate::services::assessments::head(&state.db, &principal, assessment).await;
    let refusal = match head {
        Ok(None) => AppError::NotFound,
        Ok(Some(head))
            if !principal.may(crate::auth::policy::Permission::EditParticipant(
                head.participant_id,
            )) =>
        {
            AppError::Forbidden
        }
        // Allowed, or the lookup failed: the route decides (and reports a failure itself).
        _ => return next.run(request).await,
    };
    tracing::warn!(%assessment, "upload refused before its body was read");
    let response = refusal.into_response();
    for_area(&request, response)
}
