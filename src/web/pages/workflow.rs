//! Submitting, returning and accepting an assessment on pages, and its revisions.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::{PageContext, render};
use crate::domain::snapshot::FieldChange;
use crate::services::workflow::{self as service, AnswerNote, ReturnReasons};
use crate::storage::assessments::RevisionRow;
use crate::storage::audit::RequestContext;
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::AppError;

fn back(id: Uuid) -> Response {
    Redirect::to(&format!("/assessments/{id}")).into_response()
}

/// `POST /assessments/{assessment}/submit`: a second click finds it done and does nothing more.
pub async fn submit(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    service::submit(&state.db, &me, id, &context).await?;
    Ok(back(id))
}

/// `POST /assessments/{assessment}/accept`.
pub async fn accept(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    service::review(&state.db, &me, id, None, &context).await?;
    Ok(back(id))
}

/// `POST /assessments/{assessment}/return`: the reason, and `note_{goal}` fields for answers.
pub async fn return_to_delegation(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let reasons = ReturnReasons {
        reason: pairs
            .iter()
            .find(|(k, _)| k == "reason")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        notes: pairs
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("note_").map(|goal| AnswerNote {
                    goal: goal.to_owned(),
                    note: v.clone(),
                })
            })
            .collect(),
    };
    service::review(&state.db, &me, id, Some(&reasons), &context).await?;
    Ok(back(id))
}

/// `POST /assessments/{assessment}/allow-late`.
pub async fn allow_late(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    service::allow_late(&state.db, &me, id, &context).await?;
    Ok(back(id))
}

#[derive(Template)]
#[template(path = "revisions.html")]
struct RevisionsPage {
    page: PageContext,
    id: Uuid,
    revisions: Vec<RevisionRow>,
    from: i32,
    to: i32,
    changes: Vec<FieldChange>,
}

/// Which revisions to compare.
#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    from: Option<i32>,
    to: Option<i32>,
}

/// `GET /assessments/{assessment}/revisions`: every revision, and the difference between two.
pub async fn revisions(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Path(id): Path<Uuid>,
    Query(query): Query<CompareQuery>,
) -> Result<Response, AppError> {
    let revisions = service::revisions(&state.db, &me, id).await?;
    let last = revisions.last().map_or(0, |r| r.revision);
    let to = query.to.unwrap_or(last);
    let from = query.from.unwrap_or((to - 1).max(1));
    let changes = if from != to
        && revisions.iter().any(|r| r.revision == from)
        && revisions.iter().any(|r| r.revision == to)
    {
        service::difference(&state.db, &me, id, from, to).await?
    } else {
        Vec::new()
    };
    render(&RevisionsPage {
        page,
        id,
        revisions,
        from,
        to,
        changes,
    })
}
