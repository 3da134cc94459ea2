//! Optimistic concurrency over HTTP: a record's version travels as an `ETag`, and writes must
//! send it back in `If-Match` (412 when it no longer matches, 428 when it is missing).

use axum::http::header::{ETAG, IF_MATCH};
use axum::http::{HeaderMap, HeaderValue};

use crate::web::error::AppError;

/// The `ETag` for a row version.
pub fn etag(row_version: i64) -> (axum::http::HeaderName, HeaderValue) {
    let value = HeaderValue::from_str(&format!("\"{row_version}\""))
        .unwrap_or(HeaderValue::from_static("\"0\""));
    (ETAG, value)
}

/// The row version the client read, from `If-Match`.
pub fn expected_version(headers: &HeaderMap) -> Result<i64, AppError> {
    let value = headers
        .get(IF_MATCH)
        .ok_or(AppError::PreconditionRequired)?;
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .ok_or(AppError::Stale)
}
