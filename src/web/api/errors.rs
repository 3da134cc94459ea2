//! Every error the API answers has the JSON error body, including those written before a handler
//! runs.
//!
//! Handlers answer with `AppError`, which writes `{"error": {"code", "message", "fields"}}`. But
//! axum's extractors refuse some requests themselves, in plain text: a body that is not the JSON
//! the operation takes (422, or 400 when it is not JSON at all), a missing or wrong `Content-Type`
//! (415), a path parameter that is not a UUID (400), a body over the limit (413), a method the path
//! does not take (405). [`json_errors`] rewrites those into the same body, keeping the status and
//! the extractor's explanation as the message, so a client reads every error one way and the
//! OpenAPI document's error responses hold for all of them.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::web::error::{ErrorBody, ErrorDetail};

/// Longest plain-text explanation kept as the message.
const MESSAGE_LIMIT: usize = 4 * 1024;

/// Rewrites an error response that is not JSON into the API's JSON error body.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match to_bytes(body, MESSAGE_LIMIT).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let detail = ErrorDetail {
        code: code_for(status).to_owned(),
        message: if text.is_empty() {
            status.canonical_reason().unwrap_or("Error").to_owned()
        } else {
            text
        },
        fields: Default::default(),
    };
    let json = serde_json::to_vec(&ErrorBody { error: detail }).unwrap_or_default();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(json))
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

/// The error code for a refusal made before a handler ran.
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_input",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        status if status.is_server_error() => "internal",
        _ => "refused",
    }
}
