//! The stylesheet and the one small script, built into the binary (no front-end build chain).

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;

const APP_CSS: &str = include_str!("../../static/app.css");
const AUTOSAVE_JS: &str = include_str!("../../static/autosave.js");

/// `GET /static/app.css` and `GET /static/autosave.js`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/app.css", get(app_css))
        .route("/static/autosave.js", get(autosave_js))
}

async fn autosave_js() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        AUTOSAVE_JS,
    )
}

async fn app_css() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
}
