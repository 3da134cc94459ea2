//! Clarification requests on pages: raise on an answer, reply, resolve, and the open list.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::assessments::goal_page;
use super::flash::{self, Flash};
use super::{PageContext, render};
use crate::services::RequestContext;
use crate::services::clarifications as service;
use crate::services::clarifications::ClarificationView;
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::AppError;

/// A question.
#[derive(Deserialize)]
pub struct QuestionForm {
    #[serde(default)]
    question: String,
}

/// `POST /assessments/{assessment}/goals/{goal}/clarifications`.
pub async fn raise(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path((assessment, goal)): Path<(Uuid, String)>,
    Form(form): Form<QuestionForm>,
) -> Result<Response, AppError> {
    service::raise(&state.db, &me, assessment, &goal, &form.question, &context).await?;
    back(&state, &me, assessment, &goal, "flash.clarification_raised").await
}

/// A reply.
#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    body: String,
}

/// Back to the request's goal on its section page, with a message.
async fn back(
    state: &AppState,
    me: &crate::auth::Principal,
    assessment: Uuid,
    goal: &str,
    message: &'static str,
) -> Result<Response, AppError> {
    let location = goal_page(state, me, assessment, goal, false).await?;
    Ok(flash::redirect(
        &location,
        Flash::with(message, goal),
        state.config.auth.secure_cookies,
    ))
}

async fn back_to(
    state: &AppState,
    me: &crate::auth::Principal,
    id: Uuid,
    message: &'static str,
) -> Result<Response, AppError> {
    let request = crate::services::clarifications::find(&state.db, me, id).await?;
    back(
        state,
        me,
        request.assessment_id,
        &request.goal_code,
        message,
    )
    .await
}

/// `POST /clarifications/{clarification}/reply`.
pub async fn reply(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<ReplyForm>,
) -> Result<Response, AppError> {
    service::reply(&state.db, &me, id, &form.body, &context).await?;
    back_to(&state, &me, id, "flash.clarification_replied").await
}

/// `POST /clarifications/{clarification}/resolve`.
pub async fn resolve(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    service::resolve(&state.db, &me, id, &context).await?;
    back_to(&state, &me, id, "flash.clarification_resolved").await
}

#[derive(Template)]
#[template(path = "clarifications.html")]
struct OpenPage {
    page: PageContext,
    requests: Vec<ClarificationView>,
}

/// `GET /clarifications`: the open requests the user may see.
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
) -> Result<Response, AppError> {
    let requests = service::open(&state.db, &me).await?;
    render(&OpenPage { page, requests })
}
