//! Server-rendered pages (askama templates under `templates/`, one per page).

mod account;
mod admin_users;
mod assessments;
mod assignments;
mod audit_log;
mod clarifications;
mod evidence;
pub mod flash;

pub use evidence::{download as download_evidence, read_upload};
mod cycles;
mod framework_edit;
mod frameworks;
mod home;
pub mod import_form;
mod imports;
mod language;
mod mappings;
mod my_work;
mod national_goals;
mod notifications;
mod offline;
mod participants;
mod reports;
mod session;
mod team;
mod workflow;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::MethodRouter;

use super::AppState;
use super::authn::{Authenticated, UnreadNotifications};
use super::error::{AppError, ErrorReport, FieldErrors};
use crate::domain::role::Role;
use crate::presentation::i18n::{Lang, Tr};

/// One page route: the table below is both what the router serves and what the authorization
/// matrix test checks, so a page cannot be added without the test noticing.
pub struct PageRoute {
    pub method: Method,
    pub path: &'static str,
    handler: MethodRouter<AppState>,
}

fn get<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> PageRoute {
    PageRoute {
        method: Method::GET,
        path,
        handler: axum::routing::get(handler),
    }
}

/// A POST that reads its own body size limit (file uploads).
fn upload<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> PageRoute {
    PageRoute {
        method: Method::POST,
        path,
        handler: axum::routing::post(handler).layer(axum::extract::DefaultBodyLimit::disable()),
    }
}

fn post<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> PageRoute {
    PageRoute {
        method: Method::POST,
        path,
        handler: axum::routing::post(handler),
    }
}

/// Every page route.
pub fn routes() -> Vec<PageRoute> {
    vec![
        get("/", home::show),
        post("/language", language::choose),
        get("/signin", session::show_sign_in),
        post("/signin", session::sign_in),
        get("/signin/second-factor", session::show_second_factor),
        post("/signin/second-factor", session::second_factor),
        post("/signout", session::sign_out),
        get("/account", account::show),
        get("/account/password", account::show_password),
        post("/account/password", account::change_password),
        get("/account/second-factor", account::show_second_factor),
        post("/account/second-factor", account::enrol_second_factor),
        post("/account/time-zone", account::change_time_zone),
        post("/account/tokens", account::create_token),
        post("/account/tokens/{token}/revoke", account::revoke_token),
        get("/admin/users", admin_users::list),
        get("/admin/users/new", admin_users::show_new),
        post("/admin/users/new", admin_users::create),
        get("/admin/users/{user}", admin_users::show),
        post("/admin/users/{user}/role", admin_users::change_role),
        get("/admin/users/{user}/disable", admin_users::confirm_disable),
        post("/admin/users/{user}/disable", admin_users::disable),
        post("/admin/users/{user}/enable", admin_users::enable),
        post(
            "/admin/users/{user}/reset-password",
            admin_users::reset_password,
        ),
        post(
            "/admin/users/{user}/second-factor/reset",
            admin_users::reset_second_factor,
        ),
        post(
            "/admin/users/{user}/sessions/end",
            admin_users::end_all_sessions,
        ),
        post("/admin/sessions/{session}/end", admin_users::end_session),
        get("/admin/audit", audit_log::show),
        get("/frameworks", frameworks::list),
        get("/frameworks/new", frameworks::show_new),
        post("/frameworks/new", frameworks::create),
        get("/frameworks/import", frameworks::show_import),
        post("/frameworks/import", frameworks::import),
        get("/frameworks/{framework}", frameworks::show),
        get("/frameworks/{framework}/export", frameworks::export),
        get("/frameworks/{framework}/details", frameworks::show_details),
        post("/frameworks/{framework}/details", frameworks::save_details),
        post("/frameworks/{framework}/copy", frameworks::copy),
        get(
            "/frameworks/{framework}/sections/new",
            framework_edit::new_section,
        ),
        post(
            "/frameworks/{framework}/sections/new",
            framework_edit::add_section,
        ),
        get(
            "/frameworks/{framework}/sections/{section}",
            framework_edit::show_section,
        ),
        post(
            "/frameworks/{framework}/sections/{section}",
            framework_edit::edit_section,
        ),
        post(
            "/frameworks/{framework}/sections/{section}/delete",
            framework_edit::delete_section,
        ),
        post(
            "/frameworks/{framework}/sections/{section}/move",
            framework_edit::move_section,
        ),
        get(
            "/frameworks/{framework}/goals/new",
            framework_edit::new_goal,
        ),
        post(
            "/frameworks/{framework}/goals/new",
            framework_edit::add_goal,
        ),
        get(
            "/frameworks/{framework}/goals/{goal}",
            framework_edit::show_goal,
        ),
        post(
            "/frameworks/{framework}/goals/{goal}",
            framework_edit::edit_goal,
        ),
        post(
            "/frameworks/{framework}/goals/{goal}/delete",
            framework_edit::delete_goal,
        ),
        post(
            "/frameworks/{framework}/goals/{goal}/move",
            framework_edit::move_goal,
        ),
        get("/frameworks/{framework}/mappings", mappings::choose),
        get("/frameworks/{framework}/mappings/{target}", mappings::show),
        post("/frameworks/{framework}/mappings/{target}", mappings::save),
        get("/participants", participants::list),
        get("/participants/import", imports::participants_form),
        upload("/participants/import", imports::participants_check),
        post("/participants/import/apply", imports::participants_apply),
        get("/participants/new", participants::show_new),
        post("/participants/new", participants::create),
        get("/participants/{participant}", participants::show),
        post("/participants/{participant}", participants::update),
        get("/cycles", cycles::list),
        get("/cycles/new", cycles::show_new),
        post("/cycles/new", cycles::create),
        get("/cycles/{cycle}", cycles::board),
        get("/cycles/{cycle}/import", imports::answers_form),
        upload("/cycles/{cycle}/import", imports::answers_check),
        post("/cycles/{cycle}/import/apply", imports::answers_apply),
        get("/cycles/{cycle}/import/values", imports::values),
        get("/cycles/{cycle}/open", cycles::confirm_open),
        post("/cycles/{cycle}/open", cycles::open),
        get("/cycles/{cycle}/close", cycles::confirm_close),
        post("/cycles/{cycle}/close", cycles::close),
        get("/cycles/{cycle}/publish", cycles::confirm_publish),
        post("/cycles/{cycle}/publish", cycles::publish),
        get("/cycles/{cycle}/reopen", cycles::confirm_reopen),
        post("/cycles/{cycle}/reopen", cycles::reopen),
        get("/cycles/{cycle}/unpublish", cycles::confirm_unpublish),
        post("/cycles/{cycle}/unpublish", cycles::unpublish),
        post("/cycles/{cycle}/deadline", cycles::extend),
        get("/assessments/{assessment}", assessments::show),
        post("/assessments/{assessment}/goals/{goal}", assessments::save),
        get(
            "/assessments/{assessment}/sections/{section}",
            assessments::show_section,
        ),
        post(
            "/assessments/{assessment}/sections/{section}",
            assessments::save_in_section,
        ),
        get("/assessments/{assessment}/check", assessments::check),
        post("/assessments/{assessment}/submit", workflow::submit),
        get("/assessments/{assessment}/submitted", workflow::submitted),
        get("/assessments/{assessment}/review", workflow::review),
        post("/assessments/{assessment}/review", workflow::review_again),
        post(
            "/assessments/{assessment}/return/confirm",
            workflow::confirm_return,
        ),
        post(
            "/assessments/{assessment}/return",
            workflow::return_to_delegation,
        ),
        post("/assessments/{assessment}/accept", workflow::accept),
        post("/assessments/{assessment}/allow-late", workflow::allow_late),
        get("/assessments/{assessment}/revisions", workflow::revisions),
        post(
            "/assessments/{assessment}/goals/{goal}/clarifications",
            clarifications::raise,
        ),
        post(
            "/clarifications/{clarification}/reply",
            clarifications::reply,
        ),
        post(
            "/clarifications/{clarification}/resolve",
            clarifications::resolve,
        ),
        get("/clarifications", clarifications::list),
        post(
            "/assessments/{assessment}/goals/{goal}/links",
            evidence::add_link,
        ),
        post(
            "/assessments/{assessment}/goals/{goal}/actions",
            evidence::add_action,
        ),
        upload(
            "/assessments/{assessment}/goals/{goal}/files",
            evidence::upload,
        ),
        post("/evidence/links/{link}/delete", evidence::remove_link),
        post("/evidence/actions/{action}/delete", evidence::remove_action),
        post("/evidence/files/{file}/delete", evidence::remove_file),
        get("/evidence/files/{file}", evidence::download),
        get("/methodology", reports::methodology),
        get("/reports", reports::index),
        get("/cycles/{cycle}/report", reports::comparison),
        post("/cycles/{cycle}/export", reports::export),
        get("/assessments/{assessment}/report", reports::progress),
        post(
            "/assessments/{assessment}/report/pdf",
            reports::progress_pdf,
        ),
        get("/assessments/{assessment}/offline", offline::show),
        post("/assessments/{assessment}/offline/form", offline::download),
        upload("/assessments/{assessment}/offline/import", offline::import),
        get("/national-goals", national_goals::list),
        get("/national-goals/new", national_goals::show_new),
        post("/national-goals/new", national_goals::create),
        get("/national-goals/{goal}", national_goals::show),
        post("/national-goals/{goal}", national_goals::update),
        // Teamwork (issue 18, part A): the head's team, assignments, my work, the calendar.
        get("/team", team::show),
        get("/team/invite", team::show_invite),
        post("/team/invite", team::invite),
        get("/team/members/{user}", team::show_member),
        post("/team/members/{user}/role", team::change_role),
        post("/team/members/{user}/disable", team::disable),
        post("/team/members/{user}/enable", team::enable),
        get("/invitations/{invitation}", team::show_invitation),
        post("/invitations/{invitation}", team::accept_invitation),
        get("/assessments/{assessment}/assignments", assignments::show),
        post("/assessments/{assessment}/assignments", assignments::assign),
        post(
            "/assessments/{assessment}/assignments/remove",
            assignments::unassign,
        ),
        post(
            "/assessments/{assessment}/assignments/confirm",
            assignments::confirm,
        ),
        get("/my-work", my_work::show),
        get("/account/calendar", my_work::show_calendar),
        post("/account/calendar", my_work::create_calendar),
        post("/account/calendar/revoke", my_work::revoke_calendar),
        get("/calendar/{feed}", my_work::feed),
        get("/notifications", notifications::list),
        post("/notifications/read", notifications::mark_all_read),
        post(
            "/notifications/{notification}/read",
            notifications::mark_read,
        ),
        get(
            "/notifications/preferences",
            notifications::show_preferences,
        ),
        post(
            "/notifications/preferences",
            notifications::save_preferences,
        ),
        get("/admin/outbox", notifications::outbox),
    ]
}

/// The page routes, with errors rendered as HTML.
pub fn router() -> Router<AppState> {
    routes()
        .into_iter()
        .fold(Router::new(), |router, route| {
            router.route(route.path, route.handler)
        })
        .layer(axum::middleware::from_fn(html_errors))
        .layer(axum::middleware::from_fn(flash::clear))
}

/// The signed-in user as the layout shows them.
pub struct PageUser {
    pub name: String,
    pub role: &'static str,
    pub is_admin: bool,
}

/// What the layout (templates/base.html) needs on every page.
pub struct PageContext {
    pub tr: Tr,
    /// The current path, where the language switch returns to.
    pub path: String,
    pub user: Option<PageUser>,
    /// The session's CSRF token, put in every form (empty when nobody is signed in).
    pub csrf: String,
    /// The message the previous action left for this page ("Answer 1.2 saved"), translated.
    pub flash: Option<String>,
    /// The zone in which this reader sees moments.
    pub zone: crate::presentation::format::TimeZone,
    /// The signed-in user's unread notifications (the layout's count).
    pub unread: i64,
}

impl PageContext {
    /// Context for a page at `uri` in `lang`, nobody signed in.
    pub fn new(lang: Lang, uri: &Uri) -> Self {
        Self {
            tr: lang.tr(),
            path: uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned()),
            user: None,
            csrf: String::new(),
            flash: None,
            zone: crate::presentation::format::TimeZone::utc(),
            unread: 0,
        }
    }

    /// A moment as this reader reads it: to the minute, in their zone and language.
    pub fn when(&self, at: &time::OffsetDateTime) -> String {
        crate::presentation::format::moment(self.tr.lang(), &self.zone, *at)
    }

    /// A calendar date in the page's language.
    pub fn day(&self, date: &time::Date) -> String {
        crate::presentation::format::date(self.tr.lang(), *date)
    }

    /// The name of a value in the page's language: `label("cycle_state", "open")` reads the
    /// catalogue key `cycle_state.open`.
    pub fn label(&self, group: &str, value: impl AsRef<str>) -> String {
        self.tr.t(&format!("{group}.{}", value.as_ref())).to_owned()
    }

    /// The role's name in the page's language.
    pub fn role_name(&self, role: &str) -> String {
        self.tr.t(&format!("role.{role}")).to_owned()
    }

    /// The message key for a field's problem, if it has one.
    pub fn field_error<'a>(&self, errors: &'a FieldErrors, field: &str) -> Option<&'a str> {
        errors.get(field).map(String::as_str)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut page =
            PageContext::new(crate::web::locale::from_headers(&parts.headers), &parts.uri);
        page.flash = flash::Flash::from_headers(&parts.headers).map(|flash| flash.text(&page.tr));
        if let Some(Authenticated(Some(principal))) = parts.extensions.get::<Authenticated>() {
            page.csrf = principal.csrf_token().unwrap_or_default().to_owned();
            page.zone = crate::presentation::format::TimeZone::or_utc(&principal.time_zone);
            if !principal.second_factor_pending {
                page.user = Some(PageUser {
                    name: principal.display_name.clone(),
                    role: principal.role.label(),
                    is_admin: principal.role == Role::Admin,
                });
                page.unread = parts
                    .extensions
                    .get::<UnreadNotifications>()
                    .map_or(0, |u| u.0);
            }
        }
        Ok(page)
    }
}

/// A file as a download that never renders in the page: `Content-Disposition: attachment` with
/// the name made ASCII without quotes, and a sandboxing `Content-Security-Policy` (evidence
/// files, exports).
pub fn attachment(content_type: &str, file_name: &str, body: Vec<u8>) -> Response {
    attachment_body(content_type, file_name, axum::body::Body::from(body))
}

/// A cycle report as a file in the format a form field or query value names (422 naming
/// `format` otherwise), its texts in `lang`: CSV and JSON streamed, XLSX and PDF whole. The
/// page and the API answer alike.
pub async fn cycle_export(
    state: &AppState,
    me: &crate::auth::Principal,
    cycle: uuid::Uuid,
    (format, lang): (&str, Lang),
    context: &crate::services::RequestContext,
) -> Result<Response, AppError> {
    use crate::services::exports;
    let format = crate::export::Format::parse(format).ok_or_else(|| {
        AppError::Validation([("format".to_owned(), "field.format.unknown".to_owned())].into())
    })?;
    let operator = crate::auth::Operator::User(me);
    // Read from the read replica when there is one (the audit entry goes to the primary).
    let reads = &state.reads;
    if format.streams() {
        let export = reads
            .run(|pool| async move {
                exports::cycle_report_streamed(&pool, operator, cycle, format, lang, context).await
            })
            .await?
            .value;
        return Ok(streamed_export(export));
    }
    // A file built already from the same snapshots is served as it is, without a slot.
    if let Some(file) =
        exports::cached_cycle_report(&state.db, operator, cycle, format, lang, context).await?
    {
        return Ok(attachment(
            file.format.content_type(),
            &file.file_name,
            file.bytes,
        ));
    }
    // At most a few XLSX or PDF built at once; one more is told to come back (503 busy).
    let Some(_slot) = state.export_slots.try_take() else {
        return Err(AppError::Busy);
    };
    let file = reads
        .run(|pool| async move {
            exports::cycle_report(&pool, operator, cycle, format, lang, context).await
        })
        .await?
        .value;
    Ok(attachment(
        file.format.content_type(),
        &file.file_name,
        file.bytes,
    ))
}

/// A cycle report's CSV or JSON, sent as it is written: the first bytes leave before the last
/// rows are read. An error midway is logged and cuts the body short, so the client sees a failed
/// transfer, never a file that looks complete.
fn streamed_export(export: crate::services::exports::StreamedExport) -> Response {
    use futures_util::StreamExt;
    let (format, file_name) = (export.format, export.file_name.clone());
    let chunks = export.into_chunks().map(|chunk| {
        chunk.map(axum::body::Bytes::from).map_err(|error| {
            tracing::error!(%error, "streamed export failed");
            std::io::Error::other(error.to_string())
        })
    });
    attachment_body(
        format.content_type(),
        &file_name,
        axum::body::Body::from_stream(chunks),
    )
}

fn attachment_body(content_type: &str, file_name: &str, body: axum::body::Body) -> Response {
    use axum::http::header::{CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
    let file_name = file_name.replace(|c: char| !c.is_ascii() || c == '"', "_");
    (
        [
            (CONTENT_TYPE, content_type.to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (
                CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_owned(),
            ),
        ],
        body,
    )
        .into_response()
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
            code: "not_found",
            message_key: "error.not_found".to_owned(),
            fields: Default::default(),
        },
    );
    *page.status_mut() = StatusCode::NOT_FOUND;
    page
}

/// On page routes: turns an error response into an HTML page in the user's language, or into a
/// redirect to the page that settles it (sign in, second factor, password change).
pub async fn html_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if super::error::wants_json(request.headers()) {
        // A page's script (autosave) asked for JSON: it reads the error, not a page.
        return next.run(request).await;
    }
    let lang = crate::web::locale::from_headers(request.headers());
    let here = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
    let response = next.run(request).await;
    let Some(report) = response.extensions().get::<ErrorReport>().cloned() else {
        return response;
    };
    let redirect_to = match report.code {
        "unauthenticated" => Some(format!("/signin?return_to={}", encode_query_value(&here))),
        "second_factor_required" => Some("/signin/second-factor".to_owned()),
        "password_change_required" => Some("/account/password".to_owned()),
        "second_factor_enrolment_required" => Some("/account/second-factor".to_owned()),
        _ => None,
    };
    if let Some(location) = redirect_to {
        let mut redirect = axum::response::Redirect::to(&location).into_response();
        for (name, value) in response.headers() {
            if name == axum::http::header::SET_COOKIE {
                redirect.headers_mut().append(name.clone(), value.clone());
            }
        }
        return redirect;
    }
    let (parts, _) = response.into_parts();
    let mut page = render_error_page(lang, &report);
    *page.status_mut() = report.status;
    for (name, value) in parts.headers.iter() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            page.headers_mut().insert(name.clone(), value.clone());
        }
    }
    page
}

/// Percent-encodes a value for a query string.
pub fn encode_query_value(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
