//! HTTP: the router, the application state, and the pieces every request passes through.
//!
//! `app(state)` builds the whole router; tests call it directly (with `oneshot`) and `serve`
//! binds it to a socket. Each area owns its `router()`: [`pages`] (HTML), [`api`] (JSON, with the
//! OpenAPI document and the [`health`] probes), [`assets`] (the stylesheet).

pub mod api;
pub mod assets;
pub mod authn;
pub mod charts;
pub mod error;
pub mod format;
pub mod health;
pub mod i18n;
pub mod middleware;
pub mod pages;

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
    pub database_restarting: Arc<AtomicBool>,
    pub config: Arc<WebConfig>,
}

impl AppState {
    /// State for a pool with the given settings.
    pub fn new(db: PgPool, config: WebConfig) -> Self {
        Self {
            db,
            shutting_down: Arc::new(AtomicBool::new(false)),
            database_restarting: Arc::new(AtomicBool::new(false)),
            config: Arc::new(config),
        }
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
        .layer(axum::middleware::from_fn(
            middleware::refuse_cross_site_writes,
        ))
        // Outermost first: a request id, a span that carries it, the id echoed in the response,
        // and a time limit answered with 503.
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(middleware::RequestSpan))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    timeout,
                )),
        )
        // Outside everything, so that even a timeout's 503 carries the headers.
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .with_state(state)
}
