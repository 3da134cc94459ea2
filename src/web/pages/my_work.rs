//! "My work" (`GET /my-work`): the goals assigned to me across cycles, with their state, open
//! clarification requests and the deadline, each linked to its place on the form; and my
//! deadline calendar (`/account/calendar`: a secret feed URL, shown once, replaceable and
//! revocable; the feed itself at `GET /calendar/{token}`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::flash::{self, Flash};
use super::{PageContext, render};
use crate::services::RequestContext;
use crate::services::assignments::WorkItem;
use crate::services::{ServiceError, assignments, calendar};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::AppError;

/// The items of one assessment on the list.
pub struct WorkGroup {
    pub assessment: Uuid,
    pub heading: String,
    pub deadline: time::Date,
    pub assessment_state: String,
    pub cycle_state: String,
    pub items: Vec<WorkItem>,
}

#[derive(Template)]
#[template(path = "my_work.html")]
struct MyWorkPage {
    page: PageContext,
    groups: Vec<WorkGroup>,
}

impl MyWorkPage {
    fn goal_title<'a>(&self, item: &'a WorkItem) -> &'a str {
        if self.page.tr.lang().code() == "fr" && !item.goal_title_fr.trim().is_empty() {
            &item.goal_title_fr
        } else {
            &item.goal_title_en
        }
    }
}

/// `GET /my-work`.
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
) -> Result<Response, AppError> {
    let items = assignments::my_work(&state.db, &me).await?;
    let fr = page.tr.lang().code() == "fr";
    let mut groups: Vec<WorkGroup> = Vec::new();
    for item in items {
        if groups
            .last()
            .is_none_or(|g| g.assessment != item.assessment_id)
        {
            let title = if fr && !item.cycle_title_fr.trim().is_empty() {
                &item.cycle_title_fr
            } else {
                &item.cycle_title_en
            };
            groups.push(WorkGroup {
                assessment: item.assessment_id,
                heading: format!("{} — {} — {title}", item.participant_code, item.cycle_code),
                deadline: item.deadline,
                assessment_state: item.assessment_state.clone(),
                cycle_state: item.cycle_state.clone(),
                items: Vec::new(),
            });
        }
        if let Some(group) = groups.last_mut() {
            group.items.push(item);
        }
    }
    render(&MyWorkPage { page, groups })
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    page: PageContext,
    made: Option<time::OffsetDateTime>,
    /// The feed's address, only right after it was made.
    url: Option<String>,
}

/// `GET /account/calendar`.
pub async fn show_calendar(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
) -> Result<Response, AppError> {
    let made = calendar::status(&state.db, &me).await?;
    render(&CalendarPage {
        page,
        made,
        url: None,
    })
}

/// `POST /account/calendar`: a new feed address (the old one stops working), shown once.
pub async fn create_calendar(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    headers: HeaderMap,
    context: RequestContext,
) -> Result<Response, AppError> {
    let token = calendar::create(&state.db, &me, &context).await?;
    let made = calendar::status(&state.db, &me).await?;
    let scheme = if state.config.auth.secure_cookies {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or("localhost");
    render(&CalendarPage {
        page,
        made,
        url: Some(format!("{scheme}://{host}/calendar/{token}")),
    })
}

/// `POST /account/calendar/revoke`.
pub async fn revoke_calendar(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
) -> Result<Response, AppError> {
    calendar::revoke(&state.db, &me, &context).await?;
    Ok(flash::redirect(
        "/account/calendar",
        Flash::new("flash.calendar_revoked"),
        state.config.auth.secure_cookies,
    ))
}

/// `GET /calendar/{token}`: the feed (public; the token is the credential; 404 otherwise).
pub async fn feed(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let token = token.strip_suffix(".ics").unwrap_or(&token);
    match calendar::feed(&state.db, token).await {
        Ok(body) => {
            let mut response = body.into_response();
            let headers = response.headers_mut();
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            );
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            Ok(response)
        }
        Err(ServiceError::NotFound) => Err(AppError::NotFound),
        Err(other) => Err(other.into()),
    }
}
