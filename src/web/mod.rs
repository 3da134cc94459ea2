//! HTTP: the router, the application state, and the pieces every request passes through.
//!
//! # One request
//!
//! `web::app(state)` builds the router. Layers, from the outside in:
//!
//! 1. **Security headers** (`middleware::security_headers`): CSP, `nosniff`, `X-Frame-Options: DENY`,
//!    `Referrer-Policy: no-referrer`, COOP, Permissions-Policy, and `Cache-Control: no-store` on
//!    everything but `/static/`. A header that a handler set is kept. This layer is outermost, so every
//!    response carries them, the timeout's 503 included.
//! 2. **Request id.** `SetRequestIdLayer` gives the request a UUID in `x-request-id`, unless a proxy
//!    already set one.
//! 3. **Trace span.** `TraceLayer` opens one `request` span with `method`, `path`, `request_id` and
//!    `user_id` (empty until step 7 finds the user). Every log line of the request carries these fields.
//!    Inside it, `metrics::track` counts and times the request by route template and status for
//!    `/metrics` and writes the one `request` log line (status, latency) that carries those fields.
//! 4. **Id in the response.** `PropagateRequestIdLayer` copies `x-request-id` to the response.
//! 5. **Timeout.** `TimeoutLayer` answers 503 after `PLEDGE_REQUEST_TIMEOUT` seconds (default 30), with
//!    an empty body.
//! 6. **Cross-site write refusal** (`middleware::refuse_cross_site_writes`): a method other than GET,
//!    HEAD or OPTIONS passes only when `Sec-Fetch-Site` is `same-origin` or `none`, or, without that
//!    header, when `Origin` is absent or names the `Host`. Otherwise 403: the HTML error page on page
//!    routes, the JSON error under `/api/`.
//! 7. **Authentication** (`authn::authenticate`; skipped for `/static/`, `/livez`, `/readyz`):
//!    - an `Authorization: Bearer` token is looked up (`auth::resolve::bearer`); an unknown,
//!      revoked or expired token, or one of a disabled user, is refused with 401 at once;
//!    - otherwise the session cookie is looked up (`auth::resolve::session`). A session that is idle,
//!      past its absolute lifetime, or whose user is disabled is ended there; the request goes on
//!      anonymous and the response clears the cookie. A live session's look-up is kept in memory
//!      while none of its tables changes (`services::Coherence`, `AppState::memos`);
//!    - both look-ups run in the `authenticator` scope (`Scope::Authenticator`), which may read
//!      memberships and nothing participant-owned;
//!    - the user id goes into the span;
//!    - for a method other than GET, HEAD or OPTIONS made with a session, the session's CSRF token must
//!      come in `X-CSRF-Token`, the `csrf_token` query parameter or the `csrf_token` form field;
//!      otherwise 403 `csrf`;
//!    - the result goes into the request as the `Authenticated(Option<Principal>)` extension.
//!
//!    Refusals and database errors at this step answer with the JSON error body, on page routes too
//!    (the page layer is further in).
//! 8. **Router area.**
//!    - pages under the `pages::html_errors` layer: `/`, `POST /language`, `/signin`,
//!      `/signin/second-factor`, `POST /signout`, `/account` (password, second factor, tokens),
//!      `/admin/users…`, `POST /admin/sessions/{session}/end`, `/admin/audit`, `/frameworks…`
//!      (with sections, goals and mappings), `/participants…`, `/cycles…`, `/assessments/{assessment}…`
//!      (the form, answers, submit, return, accept, allow late, revisions, raising a clarification
//!      request, adding links, files and planned actions, the progress report, the offline form),
//!      `/evidence/…` (downloading a file, removing evidence), `/clarifications…`, `/national-goals…`,
//!      `/methodology`, `/reports` and `/cycles/{cycle}/report`. `pages::routes()` is the one table of
//!      page routes (96 routes);
//!    - `/api/v1/…` (`participants`, `session`, `me`, `me/password`, `me/tokens`, `users`, `sessions`,
//!      `audit-log`, `frameworks`, `cycles`, `participants/{participant}/national-goals`,
//!      `national-goals`, `assessments`, `clarifications`, `evidence`; the reports are
//!      `cycles/{cycle}/report` and `assessments/{assessment}/report`) and `/api/v1/openapi.json`,
//!      errors as `{"error": {"code", "message", "fields"}}`;
//!    - probes `/livez` and `/readyz`;
//!    - `/static/app.css` and `/static/autosave.js`;
//!    - the fallback: a JSON 404 under `/api/`, an HTML 404 page elsewhere.
//! 9. **Handler.** Extractors give it the state, the language (`Lang`: cookie `pledge_lang`, then
//!    `Accept-Language`, then English), the page context (`PageContext`: layout, the CSRF token for
//!    forms), the request context for audit entries (`RequestContext`: client address, request id,
//!    user agent; the address is the TCP peer, or the last `X-Forwarded-For` entry with
//!    `PLEDGE_TRUST_FORWARDED_FOR`) and its input. The caller comes from one of:
//!
//!    | extractor | accepts |
//!    |---|---|
//!    | `CurrentUser` | a fully signed-in user with nothing left to settle |
//!    | `AccountUser` | also one who must still change a one-time password or (admins) enrol a second factor |
//!    | `PendingUser` | only a session whose second factor is awaited |
//!    | `MaybeUser` | anyone (sign-out) |
//!
//!    A permission that depends on no record is an extractor of its own (`web::permitted`:
//!    `CatalogueManager`, `UserAdmin`, `AuditReader`, `CredentialsOwner` on `CurrentUser`,
//!    `OwnCredentials` on `AccountUser`), refused (403) before the handler runs; one about a record
//!    is checked by the service that reads the record (section Services ([`crate::services`])). An
//!    assessment already read with `ReadAssessment` checked comes as `Readable`/`ReadablePage`
//!    (`web::permitted`). No handler calls `require` itself (`web::floors` fails when one does).
//! 10. **Services, then storage.** A handler never reads or writes the database itself: it calls a
//!     service (`crate::services`, or `crate::auth` for accounts and sessions) with `AppState.db`, the
//!     pool of the service role `pledge_app`, and the principal; the service opens the transaction in
//!     the principal's scope, which sets `pledge.role`, `pledge.user_id`, `pledge.participant_id` and
//!     `pledge.delegation_role` for that transaction only. A request waits at most 3 s for a connection.
//! 11. **Errors.** `AppError::into_response` logs internal and database-unavailable causes once, then
//!     answers with the status and the JSON body (message from the English catalogue; never the
//!     internal cause). It also puts an `ErrorReport` in the response extensions. On page routes,
//!     `html_errors` turns `unauthenticated`, `second_factor_required`, `password_change_required`
//!     and `second_factor_enrolment_required` into redirects (to `/signin?return_to=…`,
//!     `/signin/second-factor`, `/account/password`, `/account/second-factor`), and any other error
//!     into an HTML error page in the user's language, keeping status and headers. A lost database
//!     (`PoolTimedOut`, I/O errors, SQLSTATE 57P01–57P03) is 503, anything else internal is 500.
//!
//! `app(state)` builds the whole router; tests call it directly (with `oneshot`) and `serve`
//! binds it to a socket. Each area owns its `router()`: [`pages`] (HTML), [`api`] (JSON, with the
//! OpenAPI document and the [`health`] probes), [`assets`] (the stylesheet).

pub mod api;
pub mod assets;
pub mod authn;
pub mod compression;
pub mod error;
pub mod export_slots;
pub mod fragments;
pub mod health;
pub mod input;
pub mod locale;
pub mod metrics;
pub mod middleware;
pub mod pages;
pub mod permitted;

#[cfg(test)]
mod floors;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::http::{HeaderName, StatusCode};
use sqlx::PgPool;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::WebConfig;

pub use error::AppError;

/// Header that carries the request id, in requests (from a proxy) and responses.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The service role's pool.
    pub db: PgPool,
    /// Set when shutdown begins, so that `/readyz` takes the process out of rotation.
    pub shutting_down: Arc<AtomicBool>,
    /// Set while the private cluster is being started again (`cluster::Supervisor`).
    pub database_restarting: Arc<crate::cluster::RestartState>,
    pub config: Arc<WebConfig>,
    /// At most this many XLSX or PDF cycle exports are built at once (`export_slots`).
    pub export_slots: export_slots::ExportSlots,
    /// Where report and export reads go: the read replica, or `db` (`services::ReadPool`).
    pub reads: crate::services::ReadPool,
    /// Request counters and latencies for `/metrics` (`web::metrics`).
    pub metrics: Arc<metrics::Metrics>,
    /// Answers kept in memory while PostgreSQL announces no change to what they were read
    /// from (`services::Coherence`).
    pub memos: Arc<Memos>,
}

/// What this process answers from memory, each while the tables it was read from are unchanged.
pub struct Memos {
    /// Live sessions (`auth::resolve`).
    pub sessions: crate::auth::resolve::SessionMemo,
    /// What the comparison page reads besides its figures (`services::comparison_page`); kept only
    /// when the report cache is on.
    pub comparison_pages: crate::services::comparison_page::ComparisonPageMemo,
    /// Whether the process hears PostgreSQL's announcements (for `/metrics`).
    pub coherence: crate::services::Coherence,
}

impl Memos {
    fn new(db: &PgPool) -> Self {
        let coherence = crate::services::Coherence::new(db);
        let for_reports = if crate::services::report_cache::enabled() {
            coherence.clone()
        } else {
            crate::services::Coherence::off()
        };
        Self {
            sessions: crate::auth::resolve::session_memo(coherence.clone()),
            comparison_pages: crate::services::comparison_page::comparison_page_memo(for_reports),
            coherence,
        }
    }
}

impl AppState {
    /// State for a pool with the given settings.
    pub fn new(db: PgPool, config: WebConfig) -> Self {
        Self {
            reads: crate::services::ReadPool::primary_only(db.clone()),
            memos: Arc::new(Memos::new(&db)),
            db,
            shutting_down: Arc::new(AtomicBool::new(false)),
            database_restarting: Arc::default(),
            config: Arc::new(config),
            export_slots: export_slots::ExportSlots::new(export_slots::EXPORT_SLOTS),
            metrics: Arc::default(),
        }
    }

    /// The same, with report and export reads sent to a read replica.
    pub fn with_reads(mut self, reads: crate::services::ReadPool) -> Self {
        self.reads = reads;
        self
    }

    /// Marks the start of shutdown.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}

/// The whole application router.
pub fn app(state: AppState) -> Router {
    let timeout = state.config.request_timeout;
    Router::new()
        .merge(pages::router())
        .merge(api::router())
        .merge(assets::router())
        .fallback(pages::not_found)
        // Every text sent (query, form, JSON) passes one check before any handler reads it;
        // inside authentication and the CSRF check, so those answer first.
        .layer(axum::middleware::from_fn(input::refuse_control_characters))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::refuse_unauthorised_uploads,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::remember_device,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authn::authenticate,
        ))
        // Authentication's own refusals become HTML pages outside /api/ (authn renders none).
        .layer(axum::middleware::from_fn(middleware::early_error_pages))
        .layer(axum::middleware::from_fn(
            middleware::refuse_cross_site_writes,
        ))
        // Outermost first: a request id, a span that carries it, the id echoed in the response,
        // and a time limit answered with 503.
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(middleware::RequestSpan))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    metrics::track,
                ))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    timeout,
                )),
        )
        // gzip or Brotli when the client asks (compression.rs).
        .layer(compression::layer())
        // Outside everything, so that even a timeout's 503 carries the headers.
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .with_state(state)
}
