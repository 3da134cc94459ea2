//! The JSON API under `/api/v1`, and its OpenAPI document at `/api/v1/openapi.json`.
//!
//! Routes are registered with `utoipa_axum::routes!`, which takes the path and the documentation
//! from the handler's `#[utoipa::path]`: an endpoint cannot join the router without joining the
//! document.

mod participants;

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
                       Errors are `{\"error\": {\"code\", \"message\", \"fields\"}}`."
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    tags(
        (name = "health", description = "Probes"),
        (name = "participants", description = "Allies and partners")
    )
)]
struct ApiDoc;

/// Every documented route: the API and the probes.
fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", participants::router())
        .merge(super::health::router())
}

/// The documented routes, plus the document itself.
pub fn router() -> Router<AppState> {
    let (router, document) = documented().split_for_parts();
    let document = Arc::new(document);
    router.route(
        OPENAPI_PATH,
        get(move || {
            let document = Arc::clone(&document);
            async move { Json(document.as_ref().clone()) }
        }),
    )
}

/// The OpenAPI document, for tests and tooling.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    documented().into_openapi()
}
