//! The JSON API under `/api/v1`, and its OpenAPI document at `/api/v1/openapi.json`.
//!
//! Routes are registered with `utoipa_axum::routes!`, which takes the path and the documentation
//! from the handler's `#[utoipa::path]`: an endpoint cannot join the router without joining the
//! document.

mod account;
mod assessments;
pub mod bodies;
mod clarifications;
mod cycles;
mod document;
mod errors;
mod etag;
mod evidence;
mod frameworks;
pub(crate) mod imports;
mod national_goals;
mod notifications;
mod offline;
pub mod pagination;
mod participants;
mod reports;
mod session;
mod team;
mod users;
mod workflow;

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use super::AppState;
use super::error::{ErrorBody, ErrorDetail};

/// Path of the OpenAPI document.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pledge Tracker API",
        description = "Cyber Defence Pledge goals, self-assessments and comparisons. \
                       Errors are `{\"error\": {\"code\", \"message\", \"fields\"}}`. \
                       Authenticate with the session cookie (state-changing calls then need the \
                       `X-CSRF-Token` header) or a personal token (`Authorization: Bearer`). \
                       Writes to versioned records need `If-Match` with the `ETag` read.",
        license(name = "MIT OR Apache-2.0")
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    tags(
        (name = "health", description = "Probes"),
        (name = "session", description = "Signing in and out"),
        (name = "account", description = "One's own password and API tokens"),
        (name = "users", description = "User management and the audit log (admins)"),
        (name = "participants", description = "Allies and partners"),
        (name = "frameworks", description = "Framework versions and mappings between them"),
        (name = "cycles", description = "Assessment cycles and their status board"),
        (name = "national goals", description = "Delegations' own goals and their history"),
        (name = "assessments", description = "Assessments and their answers"),
        (name = "notifications", description = "The caller's notifications"),
        (name = "clarifications", description = "Questions on answers and their threads"),
        (name = "evidence", description = "Links, files and planned actions on answers"),
        (name = "reports", description = "Progress reports and comparisons, from submitted snapshots"),
        (name = "team", description = "A delegation's members, invitations and assignments; one's own work")
    )
)]
struct ApiDoc;

/// Every documented route: the API and the probes.
fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(
            "/api/v1",
            participants::router()
                .merge(session::router())
                .merge(account::router())
                .merge(users::router())
                .merge(frameworks::router())
                .merge(cycles::router())
                .merge(national_goals::router())
                .merge(assessments::router())
                .merge(workflow::router())
                .merge(clarifications::router())
                .merge(notifications::router())
                .merge(evidence::router())
                .merge(offline::router())
                .merge(imports::router())
                .merge(reports::router())
                .merge(team::router()),
        )
        .merge(super::health::router())
}

/// The documented routes, plus the document itself.
pub fn router() -> Router<AppState> {
    let (router, document) = documented().split_for_parts();
    let document = Arc::new(document::complete(&document));
    router
        .route(
            OPENAPI_PATH,
            get(move || {
                let document = Arc::clone(&document);
                async move { Json(document.as_ref().clone()) }
            }),
        )
        .layer(axum::middleware::from_fn(errors::json_errors))
}

/// The OpenAPI document as served, for tests and tooling.
pub fn openapi_document() -> serde_json::Value {
    document::complete(&documented().into_openapi())
}
