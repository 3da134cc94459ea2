//! The one check every text a person sends passes through, before any handler reads it: query
//! strings, urlencoded form bodies and JSON bodies (every string value and every key, however
//! deeply nested). The rule is [`crate::domain::text::refused_control`]. A refusal is a 422 that
//! names each field: the API's problem body (`fields`), or for a page form the same form shown
//! again, each refused field with its message beside it and the input kept (the refused
//! characters made visible), ready to be corrected and sent again. Nothing reaches a handler, so
//! nothing is written. A JSON body that is not valid JSON (e.g. a lone surrogate `"\ud800"`) goes
//! on to the handler, whose reader refuses it (400 or 422). Multipart bodies (file uploads) are checked by their readers.

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header::{CONTENT_TYPE, REFERER};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::error::wants_json;
use super::error::{AppError, FieldErrors};
use super::locale;
use super::pages::PageContext;
use crate::domain::text::{refused_control, show_controls};
use crate::presentation::i18n::Lang;

/// Largest urlencoded or JSON body read (the extractors' own default limit).
const MAX_BODY: usize = 2 * 1024 * 1024;
/// Catalogue key of the message for a refused field.
pub const REFUSED_KEY: &str = "field.text.control_character";

enum Kind {
    Form,
    Json,
    Other,
}

fn kind(request: &Request) -> Kind {
    let Some(content_type) = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return Kind::Other;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "application/x-www-form-urlencoded" {
        Kind::Form
    } else if essence == "application/json" || essence.ends_with("+json") {
        Kind::Json
    } else {
        Kind::Other
    }
}

/// The refused fields of urlencoded pairs (keys and values).
pub fn urlencoded_problems(bytes: &[u8]) -> FieldErrors {
    let mut problems = FieldErrors::new();
    for (key, value) in form_urlencoded::parse(bytes) {
        if refused_control(&key).is_some() || refused_control(&value).is_some() {
            problems.insert(show_controls(&key), REFUSED_KEY.to_owned());
        }
    }
    problems
}

/// The refused places of a JSON document: a top-level member by its name, deeper ones by their
/// path (`rows/2/label`).
pub fn json_problems(value: &serde_json::Value) -> FieldErrors {
    fn walk(value: &serde_json::Value, path: &str, problems: &mut FieldErrors) {
        let here = |name: &str| {
            if path.is_empty() {
                name.to_owned()
            } else {
                format!("{path}/{name}")
            }
        };
        match value {
            serde_json::Value::String(text) if refused_control(text).is_some() => {
                let field = if path.is_empty() { "body" } else { path };
                problems.insert(field.to_owned(), REFUSED_KEY.to_owned());
            }
            serde_json::Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    walk(item, &here(&index.to_string()), problems);
                }
            }
            serde_json::Value::Object(members) => {
                for (name, member) in members {
                    let place = here(&show_controls(name));
                    if refused_control(name).is_some() {
                        problems.insert(place.clone(), REFUSED_KEY.to_owned());
                    }
                    walk(member, &place, problems);
                }
            }
            _ => {}
        }
    }
    let mut problems = FieldErrors::new();
    walk(value, "", &mut problems);
    problems
}

/// The middleware (see the module's documentation).
pub async fn refuse_control_characters(request: Request, next: Next) -> Response {
    let is_page = !request.uri().path().starts_with("/api/") && !wants_json(request.headers());
    let lang = locale::from_headers(request.headers());
    let query_problems = request
        .uri()
        .query()
        .map(|query| urlencoded_problems(query.as_bytes()))
        .unwrap_or_default();
    if !query_problems.is_empty() {
        return refuse(is_page, lang, request.uri(), None, query_problems, &[]);
    }
    let reads_body = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let kind = kind(&request);
    if !reads_body || matches!(kind, Kind::Other) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    let problems = match kind {
        Kind::Form => urlencoded_problems(&bytes),
        Kind::Json if bytes.iter().all(u8::is_ascii_whitespace) => FieldErrors::new(),
        Kind::Json => match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(value) => json_problems(&value),
            // Not JSON (a lone surrogate `"\ud800"`, a truncated body): the handler's own reader
            // refuses it, naming the line where it can (a framework document).
            Err(_) => FieldErrors::new(),
        },
        Kind::Other => FieldErrors::new(),
    };
    if problems.is_empty() {
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    }
    let referer = parts
        .headers
        .get(REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(local_referer);
    let pairs: Vec<(String, String)> = match kind {
        Kind::Form => form_urlencoded::parse(&bytes)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        _ => Vec::new(),
    };
    refuse(is_page, lang, &parts.uri, referer, problems, &pairs)
}

/// The path of a same-site referring page (`/cycles/…`), never another site's address.
fn local_referer(referer: &str) -> Option<String> {
    let uri: Uri = referer.parse().ok()?;
    let path = uri.path_and_query()?.as_str();
    (path.starts_with('/') && !path.starts_with("//")).then(|| path.to_owned())
}

/// One field of the form shown again.
struct ShownField {
    name: String,
    value: String,
    refused: bool,
    multiline: bool,
    /// A password or code: never written into a page; typed again.
    secret: bool,
}

#[derive(Template)]
#[template(path = "input_refused.html")]
struct RefusedPage {
    page: PageContext,
    /// Where the form is sent again (the refused request's path); empty for a query string.
    action: String,
    back: String,
    fields: Vec<ShownField>,
    refused: Vec<String>,
}

fn refuse(
    is_page: bool,
    lang: Lang,
    uri: &Uri,
    referer: Option<String>,
    problems: FieldErrors,
    pairs: &[(String, String)],
) -> Response {
    if !is_page {
        return AppError::Validation(problems).into_response();
    }
    let mut page = PageContext::new(lang, uri);
    let fields: Vec<ShownField> = pairs
        .iter()
        .map(|(name, value)| {
            let refused = problems.contains_key(&show_controls(name));
            let secret = name.contains("password") || name == "code";
            ShownField {
                secret,
                name: show_controls(name),
                multiline: value.contains('\n')
                    || value.contains('\r')
                    || value.chars().count() > 80,
                value: if secret {
                    String::new()
                } else {
                    show_controls(value)
                },
                refused,
            }
        })
        .collect();
    // The form carries its own CSRF token; the layout's is not needed here.
    page.csrf = String::new();
    let refused_page = RefusedPage {
        action: if pairs.is_empty() {
            String::new()
        } else {
            uri.path().to_owned()
        },
        back: referer.unwrap_or_else(|| uri.path().to_owned()),
        refused: problems.keys().cloned().collect(),
        fields,
        page,
    };
    match refused_page.render() {
        Ok(html) => (StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response(),
        Err(error) => AppError::Internal(error.into()).into_response(),
    }
}
