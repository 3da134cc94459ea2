//! The one application error type. Handlers return `Result<T, AppError>`; the API gets
//! `{"error": {"code", "message", "fields"}}` and pages get an HTML page in the user's language
//! (see [`super::pages::html_errors`]). Internal causes are logged once, here, and never sent.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::presentation::i18n::Lang;

/// Field name → catalogue key of the message for that field.
pub type FieldErrors = BTreeMap<String, String>;

/// Everything that can go wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("not signed in")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    #[error("missing or wrong CSRF token")]
    Csrf,
    #[error("sign-in failed")]
    SignInFailed,
    #[error("the second factor is required")]
    SecondFactorRequired,
    #[error("a second factor must be set up first")]
    SecondFactorEnrolmentRequired,
    #[error("the password must be changed first")]
    PasswordChangeRequired,
    #[error("invalid input")]
    Validation(FieldErrors),
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A rule refuses the request; the key names the explanation (e.g. a frozen framework).
    #[error("refused: {0}")]
    Refused(&'static str),
    /// The record changed since the client read it (a stale form or If-Match).
    #[error("changed since read")]
    Stale,
    /// A document breaks rules, each with its place in the document.
    #[error("invalid document")]
    Problems(Vec<crate::domain::problem::Problem>),
    /// `If-Match` is required on this write.
    #[error("precondition required")]
    PreconditionRequired,
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Every export worker is busy: 503 with `Retry-After` (`web::export_slots`).
    #[error("busy")]
    Busy,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        if crate::services::is_unavailable(&error) {
            AppError::Unavailable(error)
        } else {
            AppError::Internal(error.into())
        }
    }
}

impl From<crate::auth::AuthError> for AppError {
    fn from(error: crate::auth::AuthError) -> Self {
        match error {
            crate::auth::AuthError::Sql(error) => error.into(),
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<crate::auth::accounts::AccountError> for AppError {
    fn from(error: crate::auth::accounts::AccountError) -> Self {
        use crate::auth::accounts::AccountError;
        match error {
            AccountError::Invalid(fields) => AppError::Validation(fields),
            AccountError::NotFound => AppError::NotFound,
            AccountError::Auth(error) => error.into(),
        }
    }
}

impl From<crate::auth::policy::Denied> for AppError {
    fn from(_: crate::auth::policy::Denied) -> Self {
        AppError::Forbidden
    }
}

impl From<crate::services::ServiceError> for AppError {
    fn from(error: crate::services::ServiceError) -> Self {
        use crate::services::ServiceError;
        match error {
            ServiceError::Invalid(fields) => AppError::Validation(fields),
            ServiceError::Problems(problems) => AppError::Problems(problems),
            ServiceError::NotFound => AppError::NotFound,
            ServiceError::Forbidden => AppError::Forbidden,
            ServiceError::Conflict => AppError::Stale,
            ServiceError::Refused(key) => AppError::Refused(key),
            ServiceError::Sql(error) => error.into(),
            ServiceError::Export(error) => AppError::Internal(error.into()),
        }
    }
}

/// A refused save of one answer: wrong fields (422), someone else's save since it was read
/// (409/412 as `Stale`), or any other service error. Pages that show the conflict or the form
/// again match the first two themselves; everything else comes here.
impl From<crate::services::assessments::SaveError> for AppError {
    fn from(error: crate::services::assessments::SaveError) -> Self {
        use crate::services::assessments::SaveError;
        match error {
            SaveError::Invalid(fields) => AppError::Validation(fields),
            SaveError::Conflict(_) => AppError::Stale,
            SaveError::Other(error) => error.into(),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(error: askama::Error) -> Self {
        AppError::Internal(error.into())
    }
}

impl AppError {
    /// The HTTP status of this error.
    pub fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden
            | AppError::Csrf
            | AppError::SecondFactorEnrolmentRequired
            | AppError::PasswordChangeRequired => StatusCode::FORBIDDEN,
            AppError::SignInFailed | AppError::SecondFactorRequired => StatusCode::UNAUTHORIZED,
            AppError::Validation(_) | AppError::Problems(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Refused(_) => StatusCode::CONFLICT,
            AppError::Stale => StatusCode::PRECONDITION_FAILED,
            AppError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unavailable(_) | AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::Csrf => "csrf",
            AppError::SignInFailed => "sign_in_failed",
            AppError::SecondFactorRequired => "second_factor_required",
            AppError::SecondFactorEnrolmentRequired => "second_factor_enrolment_required",
            AppError::PasswordChangeRequired => "password_change_required",
            AppError::Validation(_) | AppError::Problems(_) => "invalid_input",
            AppError::Refused(_) => "refused",
            AppError::Stale => "stale",
            AppError::PreconditionRequired => "precondition_required",
            AppError::BadRequest(code) | AppError::Conflict(code) => code,
            AppError::Unavailable(_) => "unavailable",
            AppError::Busy => "busy",
            AppError::Internal(_) => "internal",
        }
    }

    /// Catalogue key of the message shown to people.
    pub fn message_key(&self) -> String {
        match self {
            AppError::BadRequest(code) | AppError::Conflict(code) => format!("error.{code}"),
            AppError::Refused(key) => (*key).to_owned(),
            other => format!("error.{}", other.code()),
        }
    }
}

/// What the page layer needs to render an error as HTML; travels in the response extensions.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub status: StatusCode,
    pub code: &'static str,
    pub message_key: String,
    pub fields: FieldErrors,
}

/// The JSON error body of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// Detail of an API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid_input`.
    pub code: String,
    /// Human-readable message (English).
    pub message: String,
    /// Per-field messages for `invalid_input`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        // Logged once, here, at the boundary where the failure is handled.
        match &self {
            AppError::Internal(cause) => tracing::error!(error = ?cause, "request failed"),
            AppError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable")
            }
            _ => {}
        }
        let tr = Lang::En.tr();
        let message_key = self.message_key();
        let fields = match &self {
            AppError::Validation(fields) => fields.clone(),
            _ => FieldErrors::new(),
        };
        let mut messages: BTreeMap<String, String> = fields
            .iter()
            .map(|(field, key)| (field.clone(), tr.t(key).to_owned()))
            .collect();
        if let AppError::Problems(problems) = &self {
            for problem in problems {
                // Several problems at one place (the whole file, say) are all kept.
                let message = problem_message(&tr, problem);
                messages
                    .entry(problem_field(&problem.path))
                    .and_modify(|earlier| {
                        earlier.push_str("; ");
                        earlier.push_str(&message);
                    })
                    .or_insert(message);
            }
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: tr.t(&message_key).to_owned(),
                fields: messages,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if matches!(self, AppError::Busy) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(crate::web::export_slots::RETRY_AFTER_SECONDS),
            );
        }
        response.extensions_mut().insert(ErrorReport {
            status,
            code: self.code(),
            message_key,
            fields,
        });
        response
    }
}

/// The `fields` key of a document problem: its JSON pointer, or `document` for the whole.
fn problem_field(path: &str) -> String {
    if path.is_empty() {
        "document".to_owned()
    } else {
        path.to_owned()
    }
}

/// A document problem in words: the message, then its detail (a code, a parser's report).
pub fn problem_message(
    tr: &crate::presentation::i18n::Tr,
    problem: &crate::domain::problem::Problem,
) -> String {
    match &problem.detail {
        Some(detail) => format!("{}: {detail}", tr.t(problem.key)),
        None => tr.t(problem.key).to_owned(),
    }
}

/// Whether a request to a page asks for JSON first (the autosave script does), so that its
/// errors come back as the API's JSON rather than an HTML page or a redirect.
pub fn wants_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .and_then(|accept| accept.split(',').next())
        .is_some_and(|first| first.trim().starts_with("application/json"))
}
