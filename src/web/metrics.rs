//! `/metrics` in the Prometheus text format (version 0.0.4), and the access log line.
//!
//! Every request passes [`track`] (inside the request's trace span, outside the timeout, so a
//! timeout's 503 counts too): it counts the request by method, route template (`/cycles/{cycle}`,
//! never the ids; `unmatched` for the fallback) and status, records its latency until the
//! response's head in a histogram, counts exports and imports in progress (until their body is
//! sent), and writes one `request` log line with status and latency, which carries the span's
//! `request_id` and `user_id`.
//!
//! The families:
//!
//! | family | type | labels |
//! |---|---|---|
//! | `pledge_http_requests_total` | counter | `method`, `route`, `status` |
//! | `pledge_http_request_duration_seconds` | histogram | `method`, `route`, `status` |
//! | `pledge_http_requests_in_flight` | gauge | |
//! | `pledge_db_pool_connections` | gauge | `pool` (`primary`, `replica`), `state` (`idle`, `in_use`) |
//! | `pledge_db_pool_max_connections` | gauge | `pool` |
//! | `pledge_postgres_up` | gauge | `server` (`primary`, `replica`) |
//! | `pledge_replica_lag_seconds` | gauge | |
//! | `pledge_change_listener_up` | gauge | |
//! | `pledge_memo_answers_total` | counter | `memo` (`sessions`, `comparison_pages`), `from` (`memory`, `database`) |
//! | `pledge_exports_in_progress`, `pledge_imports_in_progress` | gauge | |
//! | `pledge_build_info` | gauge | `version` |
//! | `pledge_process_start_time_seconds` | gauge | |
//!
//! Where it is served (docs/operations.md): on its own listener (`--metrics-listen`, no
//! authentication: bind it where only the scraper reaches it), or on the service's listener
//! behind `Authorization: Bearer <PLEDGE_METRICS_TOKEN>`; neither by default.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::BodyExt;

use super::AppState;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How long a scrape waits for the primary to answer before calling it down.
const UP_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The counters of one process.
#[derive(Debug)]
pub struct Metrics {
    requests: Mutex<BTreeMap<RequestKey, Histogram>>,
    in_flight: AtomicI64,
    exports: AtomicI64,
    imports: AtomicI64,
    started_at: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RequestKey {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: Mutex::default(),
            in_flight: AtomicI64::new(0),
            exports: AtomicI64::new(0),
            imports: AtomicI64::new(0),
            started_at: time::OffsetDateTime::now_utc().unix_timestamp() as f64,
        }
    }
}

impl Metrics {
    fn observe(&self, key: RequestKey, seconds: f64) {
        let Ok(mut requests) = self.requests.lock() else {
            return;
        };
        let histogram = requests.entry(key).or_default();
        for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }
}

/// What a route does, for the in-progress gauges: an export (any method) or an import (a
/// write), judged by its template.
fn kind_of(method: &axum::http::Method, route: &str) -> Option<Kind> {
    if route.contains("export") {
        Some(Kind::Export)
    } else if route.contains("import") && method != axum::http::Method::GET {
        Some(Kind::Import)
    } else {
        None
    }
}

enum Kind {
    Export,
    Import,
}

/// The middleware: counts, times and logs every request (see the module documentation).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let metrics = state.metrics.clone();
    let guard = kind_of(&method, &route).map(|kind| InProgress::start(metrics.clone(), kind));
    let started = Instant::now();
    metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let response = next.run(request).await;
    metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let status = response.status();
    tracing::info!(
        status = status.as_u16(),
        route = %route,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    metrics.observe(
        RequestKey {
            method: method.to_string(),
            route,
            status: status.as_u16(),
        },
        elapsed.as_secs_f64(),
    );
    match guard {
        // An export or import counts until its body has been sent (or abandoned).
        Some(guard) => response.map(|body| {
            Body::new(body.map_frame(move |frame| {
                let _ = &guard;
                frame
            }))
        }),
        None => response,
    }
}

/// Adds one to the exports or imports in progress until dropped (it travels with the body).
struct InProgress {
    metrics: std::sync::Arc<Metrics>,
    kind: Kind,
}

impl InProgress {
    fn start(metrics: std::sync::Arc<Metrics>, kind: Kind) -> Self {
        let guard = Self { metrics, kind };
        guard.gauge().fetch_add(1, Ordering::Relaxed);
        guard
    }

    fn gauge(&self) -> &AtomicI64 {
        match self.kind {
            Kind::Export => &self.metrics.exports,
            Kind::Import => &self.metrics.imports,
        }
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.gauge().fetch_sub(1, Ordering::Relaxed);
    }
}

/// `/metrics` without authentication, for its own listener.
pub fn open_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

/// Adds `/metrics` behind `Authorization: Bearer <token>` to the service's router (outside its
/// layers: the session and token authentication do not apply).
pub fn with_token(router: Router, state: AppState, token: String) -> Router {
    router.route(
        "/metrics",
        get(move |headers: HeaderMap| {
            let state = state.clone();
            let token = token.clone();
            async move {
                let presented = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.strip_prefix("Bearer "))
                    .unwrap_or_default();
                if !crate::auth::secrets::constant_time_eq(presented.as_bytes(), token.as_bytes()) {
                    let mut refused = (StatusCode::UNAUTHORIZED, "metrics need the bearer token\n")
                        .into_response();
                    refused.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Bearer realm=\"metrics\""),
                    );
                    return refused;
                }
                scrape(State(state)).await
            }
        }),
    )
}

/// Answers the scrape.
pub async fn scrape(State(state): State<AppState>) -> Response {
    let body = render(&state).await;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn render(state: &AppState) -> String {
    let metrics = &state.metrics;
    let mut out = String::new();
    let requests = metrics
        .requests
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();

    family(
        &mut out,
        "pledge_http_requests_total",
        "counter",
        "Requests answered, by method, route template and status.",
    );
    for (key, histogram) in &requests {
        let _ = writeln!(
            out,
            "pledge_http_requests_total{{{}}} {}",
            key.labels(),
            histogram.count
        );
    }
    family(
        &mut out,
        "pledge_http_request_duration_seconds",
        "histogram",
        "Time until the response's head, by method, route template and status.",
    );
    for (key, histogram) in &requests {
        let labels = key.labels();
        for (bound, count) in BUCKETS.iter().zip(histogram.buckets) {
            let _ = writeln!(
                out,
                "pledge_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "pledge_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            histogram.count
        );
        let _ = writeln!(
            out,
            "pledge_http_request_duration_seconds_sum{{{labels}}} {}",
            histogram.sum
        );
        let _ = writeln!(
            out,
            "pledge_http_request_duration_seconds_count{{{labels}}} {}",
            histogram.count
        );
    }
    gauge(
        &mut out,
        "pledge_http_requests_in_flight",
        "Requests being handled now.",
        metrics.in_flight.load(Ordering::Relaxed),
    );

    let primary = state.reads.primary();
    let mut pools = vec![("primary", primary)];
    pools.extend(state.reads.replica_pool().map(|pool| ("replica", pool)));
    family(
        &mut out,
        "pledge_db_pool_connections",
        "gauge",
        "Open connections of a database pool, idle or in use.",
    );
    for (name, pool) in &pools {
        let idle = pool.num_idle() as u64;
        let open = u64::from(pool.size());
        let _ = writeln!(
            out,
            "pledge_db_pool_connections{{pool=\"{name}\",state=\"idle\"}} {idle}"
        );
        let _ = writeln!(
            out,
            "pledge_db_pool_connections{{pool=\"{name}\",state=\"in_use\"}} {}",
            open.saturating_sub(idle)
        );
    }
    family(
        &mut out,
        "pledge_db_pool_max_connections",
        "gauge",
        "Largest number of connections of a database pool.",
    );
    for (name, pool) in &pools {
        let _ = writeln!(
            out,
            "pledge_db_pool_max_connections{{pool=\"{name}\"}} {}",
            pool.options().get_max_connections()
        );
    }

    let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(primary);
    let primary_up = matches!(
        tokio::time::timeout(UP_PROBE_TIMEOUT, probe).await,
        Ok(Ok(_))
    );
    family(
        &mut out,
        "pledge_postgres_up",
        "gauge",
        "Whether PostgreSQL answers (the replica: as of the replication monitor's last probe).",
    );
    let _ = writeln!(
        out,
        "pledge_postgres_up{{server=\"primary\"}} {}",
        u8::from(primary_up)
    );
    if let Some(replica) = state.reads.replica_health() {
        let _ = writeln!(
            out,
            "pledge_postgres_up{{server=\"replica\"}} {}",
            u8::from(replica.up)
        );
        if let Some(lag) = replica.lag.filter(|_| replica.up) {
            family(
                &mut out,
                "pledge_replica_lag_seconds",
                "gauge",
                "How far behind the primary the read replica's data is.",
            );
            let _ = writeln!(out, "pledge_replica_lag_seconds {}", lag.as_secs_f64());
        }
    }
    gauge(
        &mut out,
        "pledge_change_listener_up",
        "Whether the connection that hears PostgreSQL's change announcements answered its last \
         round (0: nothing is answered from memory; every request reads PostgreSQL).",
        i64::from(state.memos.coherence.listening()),
    );
    family(
        &mut out,
        "pledge_memo_answers_total",
        "counter",
        "Answers kept in memory given again, or read from PostgreSQL because none could be.",
    );
    let memos = [
        ("sessions", state.memos.sessions.answered()),
        ("comparison_pages", state.memos.comparison_pages.answered()),
    ];
    for (memo, (from_memory, from_database)) in memos {
        let _ = writeln!(
            out,
            "pledge_memo_answers_total{{memo=\"{memo}\",from=\"memory\"}} {from_memory}"
        );
        let _ = writeln!(
            out,
            "pledge_memo_answers_total{{memo=\"{memo}\",from=\"database\"}} {from_database}"
        );
    }
    gauge(
        &mut out,
        "pledge_exports_in_progress",
        "Exports being built or sent now.",
        metrics.exports.load(Ordering::Relaxed),
    );
    gauge(
        &mut out,
        "pledge_imports_in_progress",
        "Imports being read or applied now.",
        metrics.imports.load(Ordering::Relaxed),
    );
    family(
        &mut out,
        "pledge_build_info",
        "gauge",
        "The running version (always 1).",
    );
    let _ = writeln!(
        out,
        "pledge_build_info{{version=\"{}\"}} 1",
        escape(env!("CARGO_PKG_VERSION"))
    );
    gauge(
        &mut out,
        "pledge_process_start_time_seconds",
        "When this process started, in seconds since the Unix epoch.",
        metrics.started_at as i64,
    );
    out
}

impl RequestKey {
    fn labels(&self) -> String {
        format!(
            "method=\"{}\",route=\"{}\",status=\"{}\"",
            escape(&self.method),
            escape(&self.route),
            self.status
        )
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: i64) {
    family(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

/// Escapes a label value (backslash, double quote, line feed).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latency_falls_in_every_bucket_from_its_bound_up() {
        let metrics = Metrics::default();
        let key = RequestKey {
            method: "GET".into(),
            route: "/cycles/{cycle}".into(),
            status: 200,
        };
        metrics.observe(key.clone(), 0.03);
        metrics.observe(key.clone(), 2.0);
        let requests = metrics.requests.lock().unwrap();
        let histogram = &requests[&key];
        assert_eq!(histogram.count, 2);
        assert_eq!(histogram.buckets[..3], [0, 0, 0]);
        assert_eq!(histogram.buckets[3], 1, "0.05 holds 0.03");
        assert_eq!(histogram.buckets[8], 2, "2.5 holds both");
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn exports_and_imports_are_told_by_their_route() {
        use axum::http::Method;
        assert!(matches!(
            kind_of(&Method::POST, "/cycles/{cycle}/export"),
            Some(Kind::Export)
        ));
        assert!(matches!(
            kind_of(&Method::POST, "/assessments/{assessment}/offline/import"),
            Some(Kind::Import)
        ));
        assert!(kind_of(&Method::GET, "/frameworks/import").is_none());
        assert!(kind_of(&Method::GET, "/cycles/{cycle}").is_none());
    }
}
