//! Probes for the load balancer and the orchestrator.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

/// How long `/readyz` waits for the database before calling it unreachable.
const READY_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The probes' routes (documented in the OpenAPI document).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(livez))
        .routes(routes!(readyz))
}

/// Answer of a probe.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProbeStatus {
    /// `ok`, `database_unreachable`, `database_restarting` (the private cluster is being started
    /// again) or `shutting_down`.
    pub status: &'static str,
}

/// The process is alive. Never touches the database.
#[utoipa::path(get, path = "/livez", tag = "health",
    responses((status = 200, description = "The process is alive", body = ProbeStatus)))]
pub async fn livez() -> Json<ProbeStatus> {
    Json(ProbeStatus { status: "ok" })
}

/// The service can take requests: the database answers and shutdown has not begun.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready", body = ProbeStatus),
        (status = 503, description = "Database unreachable or restarting, or shutting down", body = ProbeStatus)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<ProbeStatus>) {
    if state.is_shutting_down() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(ProbeStatus {
                status: "shutting_down",
            }),
        );
    }
    let restarting = || {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(ProbeStatus {
                status: "database_restarting",
            }),
        )
    };
    let watch = &state.database_restarting;
    let restarts_before = watch.restarts();
    if watch.is_restarting() {
        return restarting();
    }
    let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.db);
    let answered = matches!(
        tokio::time::timeout(READY_PROBE_TIMEOUT, probe).await,
        Ok(Ok(_))
    );
    match answered {
        // The supervisor found the cluster down while the probe waited (it waits up to two
        // seconds, about as long as a restart takes): say why. Also when the probe's retried
        // connection then reached the restarted server: the restart is what this probe saw,
        // and the next one says `ok`.
        _ if watch.is_restarting() || watch.restarts() != restarts_before => restarting(),
        true => (StatusCode::OK, Json(ProbeStatus { status: "ok" })),
        false => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(ProbeStatus {
                status: "database_unreachable",
            }),
        ),
    }
}
