//! The notification pages: the signed-in user's list (`/notifications`, marking read), their
//! choices per kind (`/notifications/preferences`), and the admins' view of the mail outbox
//! (`/admin/outbox`). What writes notifications and sends mails: `crate::notify`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::{PageContext, render};
use crate::notify::{Delivery, Kind};
use crate::services::RequestContext;
use crate::services::ServiceError;
use crate::services::notifications as service;
use crate::services::notifications::{NotificationView, OutboxView};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, FieldErrors};

#[derive(Template)]
#[template(path = "notifications.html")]
struct ListPage {
    page: PageContext,
    notifications: Vec<NotificationView>,
    unread: i64,
}

impl ListPage {
    fn kind_name(&self, kind: &str) -> String {
        Kind::parse(kind).map_or_else(
            || kind.to_owned(),
            |k| self.page.tr.t(&k.label_key()).to_owned(),
        )
    }
}

/// `GET /notifications`: the user's latest notifications, newest first, unread ones marked.
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    mut page: PageContext,
) -> Result<Response, AppError> {
    let (notifications, unread) = service::list(&state.db, &me).await?;
    // The layout's count was read with the session; this one is as fresh as the list.
    page.unread = unread;
    render(&ListPage {
        page,
        notifications,
        unread,
    })
}

/// `POST /notifications/{notification}/read`: marks one read (another user's is 404).
pub async fn mark_read(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    service::mark_read(&state.db, &me, Some(id), &context).await?;
    Ok(flash::redirect(
        "/notifications",
        Flash::new("flash.notification_read"),
        state.config.auth.secure_cookies,
    ))
}

/// `POST /notifications/read`: marks every notification of the user read.
pub async fn mark_all_read(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
) -> Result<Response, AppError> {
    service::mark_read(&state.db, &me, None, &context).await?;
    Ok(flash::redirect(
        "/notifications",
        Flash::new("flash.notifications_all_read"),
        state.config.auth.secure_cookies,
    ))
}

/// One kind's row on the preferences page.
struct Choice {
    label_key: String,
    /// The field's name and the id of its fieldset (`kind.<kind>`, `kind-<kind>`).
    field: String,
    id: String,
    delivery: &'static str,
}

#[derive(Template)]
#[template(path = "notification_preferences.html")]
struct PreferencesPage {
    page: PageContext,
    choices: Vec<Choice>,
    deliveries: [&'static str; 3],
    security: Vec<String>,
    errors: FieldErrors,
}

fn preferences_page(
    page: PageContext,
    chosen: impl Fn(Kind) -> &'static str,
    errors: FieldErrors,
) -> PreferencesPage {
    let choices = Kind::CHOOSABLE
        .into_iter()
        .map(|kind| Choice {
            label_key: kind.label_key(),
            field: format!("kind.{}", kind.as_str()),
            id: format!("kind-{}", kind.as_str().replace('.', "-")),
            delivery: chosen(kind),
        })
        .collect();
    let security = [
        Kind::NewSignIn,
        Kind::SecondFactorReset,
        Kind::PasswordChanged,
    ]
    .into_iter()
    .map(|k| page.tr.t(&k.label_key()).to_owned())
    .collect();
    PreferencesPage {
        page,
        choices,
        deliveries: Delivery::ALL.map(Delivery::as_str),
        security,
        errors,
    }
}

/// `GET /notifications/preferences`: per kind, immediately, daily digest or off.
pub async fn show_preferences(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
) -> Result<Response, AppError> {
    let stored = service::preferences(&state.db, &me).await?;
    render(&preferences_page(
        page,
        |kind| {
            stored
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or("immediately", |(_, d)| d.as_str())
        },
        FieldErrors::new(),
    ))
}

/// `POST /notifications/preferences`: fields `kind.<kind>` = `immediately` | `digest` | `off`.
/// A wrong value shows the page again with the error beside that kind and the choices made.
pub async fn save_preferences(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    page: PageContext,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let choices: Vec<(String, String)> = fields
        .into_iter()
        .filter_map(|(name, value)| name.strip_prefix("kind.").map(|k| (k.to_owned(), value)))
        .collect();
    match service::set_preferences(&state.db, &me, &choices, &context).await {
        Ok(()) => Ok(flash::redirect(
            "/notifications/preferences",
            Flash::new("flash.notification_preferences_saved"),
            state.config.auth.secure_cookies,
        )),
        Err(ServiceError::Invalid(errors)) => {
            let sent = |kind: Kind| {
                choices
                    .iter()
                    .rev()
                    .find(|(k, _)| k == kind.as_str())
                    .and_then(|(_, d)| Delivery::parse(d))
                    .map_or("", Delivery::as_str)
            };
            let mut response = render(&preferences_page(page, sent, errors))?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage {
    page: PageContext,
    mails: Vec<OutboxView>,
    counts: Vec<(String, i64)>,
}

/// `GET /admin/outbox`: the newest mails of the outbox with their state (admins).
pub async fn outbox(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
) -> Result<Response, AppError> {
    let (mails, counts) = service::outbox(&state.db, &me).await?;
    render(&OutboxPage {
        page,
        mails,
        counts,
    })
}
