//! Server-rendered pages (askama templates under `templates/`, one per page).

mod home;
mod language;
mod signin;

use askama::Template;
use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use super::AppState;
use super::error::{AppError, ErrorReport};
use super::i18n::{Lang, Tr};

/// The page routes, with errors rendered as HTML.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home::show))
        .route("/signin", get(signin::show))
        .route("/language", post(language::choose))
        .layer(axum::middleware::from_fn(super::middleware::html_errors))
}

/// What the layout (templates/base.html) needs on every page.
pub struct PageContext {
    pub tr: Tr,
    /// The current path, where the language switch returns to.
    pub path: String,
}

impl PageContext {
    /// Context for a page at `uri` in `lang`.
    pub fn new(lang: Lang, uri: &Uri) -> Self {
        Self {
            tr: lang.tr(),
            path: uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned()),
        }
    }
}

/// Renders a template into an HTML response.
pub fn render(template: &impl Template) -> Result<Response, AppError> {
    Ok(Html(template.render()?).into_response())
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    page: PageContext,
    title_key: &'a str,
    message_key: &'a str,
    status_line: String,
}

/// The HTML page for an error; falls back to plain text if the template itself fails.
pub fn render_error_page(lang: Lang, report: &ErrorReport) -> Response {
    let tr = lang.tr();
    let title_key = match report.status {
        StatusCode::NOT_FOUND => "error.title_not_found",
        StatusCode::FORBIDDEN => "error.title_forbidden",
        StatusCode::SERVICE_UNAVAILABLE => "error.title_unavailable",
        _ => "error.title",
    };
    let page = ErrorPage {
        page: PageContext::new(lang, &Uri::from_static("/")),
        title_key,
        message_key: &report.message_key,
        status_line: tr.fmt("error.status", &[("status", report.status.as_str())]),
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "error page failed to render");
            tr.t(&report.message_key).to_owned().into_response()
        }
    }
}

/// Fallback for unknown paths: JSON under `/api/`, an HTML page elsewhere.
pub async fn not_found(lang: Lang, uri: Uri) -> Response {
    let response = AppError::NotFound.into_response();
    if uri.path().starts_with("/api/") {
        return response;
    }
    let mut page = render_error_page(
        lang,
        &ErrorReport {
            status: StatusCode::NOT_FOUND,
            message_key: "error.not_found".to_owned(),
            fields: Default::default(),
        },
    );
    *page.status_mut() = StatusCode::NOT_FOUND;
    page
}
