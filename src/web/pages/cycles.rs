//! Cycles on pages: list, create, the status board, and the secretariat's transitions.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::frameworks::{FormErrors, refused};
use super::{PageContext, render};
use crate::auth::Operator;
use crate::auth::policy::Permission;
use crate::domain::cycle::{CycleInput, Transition};
use crate::services::{ServiceError, cycles as service};
use crate::storage::audit::RequestContext;
use crate::storage::cycles::{self as store, BoardQuery, BoardRow, CycleView};
use crate::storage::frameworks::{self as framework_store, FrameworkSummary};
use crate::storage::{self};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::AppError;

/// The assessment states, in workflow order (for the board's filter).
pub const ASSESSMENT_STATES: [&str; 6] = [
    "not_started",
    "draft",
    "submitted",
    "returned",
    "resubmitted",
    "accepted",
];

#[derive(Template)]
#[template(path = "cycles.html")]
struct ListPage {
    page: PageContext,
    cycles: Vec<CycleView>,
    can_manage: bool,
}

/// `GET /cycles`.
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
) -> Result<Response, AppError> {
    let mut tx = storage::begin(&state.db, &me.scope()).await?;
    let cycles = store::list(&mut tx).await?;
    tx.commit().await?;
    render(&ListPage {
        page,
        cycles,
        can_manage: me.may(Permission::ManageCatalogue),
    })
}

#[derive(Template)]
#[template(path = "cycle_form.html")]
struct NewPage {
    page: PageContext,
    frameworks: Vec<FrameworkSummary>,
    form: NewCycleForm,
    errors: FormErrors,
}

/// The new-cycle form.
#[derive(Debug, Default, Deserialize)]
pub struct NewCycleForm {
    #[serde(default)]
    framework: String,
    #[serde(flatten)]
    cycle: CycleInput,
}

async fn new_page(
    state: &AppState,
    me: &crate::auth::Principal,
    page: PageContext,
    form: NewCycleForm,
    errors: FormErrors,
) -> Result<NewPage, AppError> {
    let mut tx = storage::begin(&state.db, &me.scope()).await?;
    let frameworks = framework_store::list(&mut tx).await?;
    tx.commit().await?;
    Ok(NewPage {
        page,
        frameworks,
        form,
        errors,
    })
}

/// `GET /cycles/new`.
pub async fn show_new(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
) -> Result<Response, AppError> {
    me.require(Permission::ManageCatalogue)?;
    render(
        &new_page(
            &state,
            &me,
            page,
            NewCycleForm::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

/// `POST /cycles/new`.
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Form(form): Form<NewCycleForm>,
) -> Result<Response, AppError> {
    me.require(Permission::ManageCatalogue)?;
    let framework = Uuid::parse_str(form.framework.trim()).ok();
    match service::create(
        &state.db,
        Operator::User(&me),
        framework,
        &form.cycle,
        &context,
    )
    .await
    {
        Ok(id) => Ok(Redirect::to(&format!("/cycles/{id}")).into_response()),
        Err(error) => {
            let errors = FormErrors::from_error(&page, error, |_| None)?;
            refused(&new_page(&state, &me, page, form, errors).await?)
        }
    }
}

#[derive(Template)]
#[template(path = "cycle_board.html")]
struct BoardPage {
    page: PageContext,
    cycle: CycleView,
    rows: Vec<BoardRow>,
    query: BoardQuery,
    states: [&'static str; 6],
    can_manage: bool,
    new_deadline: String,
    errors: FormErrors,
}

impl BoardPage {
    fn name<'a>(&self, row: &'a BoardRow) -> &'a str {
        if self.page.tr.lang().code() == "fr" {
            &row.participant_name_fr
        } else {
            &row.participant_name_en
        }
    }

    fn selected(&self, value: &str) -> bool {
        self.query.state.as_deref() == Some(value)
    }

    fn sorted_by(&self, value: &str) -> bool {
        self.query.sort.as_deref().unwrap_or("participant") == value
    }
}

async fn board_page(
    state: &AppState,
    me: &crate::auth::Principal,
    page: PageContext,
    id: Uuid,
    query: BoardQuery,
    new_deadline: String,
    errors: FormErrors,
) -> Result<BoardPage, AppError> {
    let mut tx = storage::begin(&state.db, &me.scope()).await?;
    let cycle = store::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let rows = store::board(&mut tx, id, &query).await?;
    tx.commit().await?;
    Ok(BoardPage {
        page,
        cycle,
        rows,
        query,
        states: ASSESSMENT_STATES,
        can_manage: me.may(Permission::ManageCatalogue),
        new_deadline,
        errors,
    })
}

/// `GET /cycles/{cycle}`: the status board (a delegation sees its own row only).
pub async fn board(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Path(id): Path<Uuid>,
    Query(query): Query<BoardQuery>,
) -> Result<Response, AppError> {
    render(
        &board_page(
            &state,
            &me,
            page,
            id,
            query,
            String::new(),
            FormErrors::default(),
        )
        .await?,
    )
}

async fn transition(
    state: AppState,
    me: crate::auth::Principal,
    page: PageContext,
    context: RequestContext,
    id: Uuid,
    transition: Transition,
) -> Result<Response, AppError> {
    me.require(Permission::ManageCatalogue)?;
    match service::transition(&state.db, Operator::User(&me), id, transition, &context).await {
        Ok(()) => Ok(Redirect::to(&format!("/cycles/{id}")).into_response()),
        Err(ServiceError::NotFound) => Err(AppError::NotFound),
        Err(error) => {
            let errors = FormErrors::from_error(&page, error, |_| None)?;
            let mut response = render(
                &board_page(
                    &state,
                    &me,
                    page,
                    id,
                    BoardQuery::default(),
                    String::new(),
                    errors,
                )
                .await?,
            )?;
            *response.status_mut() = axum::http::StatusCode::CONFLICT;
            Ok(response)
        }
    }
}

/// `POST /cycles/{cycle}/open`: an assessment for every active participant.
pub async fn open(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    transition(state, me, page, context, id, Transition::Open).await
}

/// `POST /cycles/{cycle}/close`.
pub async fn close(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    transition(state, me, page, context, id, Transition::Close).await
}

/// `POST /cycles/{cycle}/publish`.
pub async fn publish(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    transition(state, me, page, context, id, Transition::Publish).await
}

/// The deadline form.
#[derive(Deserialize)]
pub struct DeadlineForm {
    #[serde(default)]
    deadline: String,
}

/// `POST /cycles/{cycle}/deadline`: later only, while planned or open.
pub async fn extend(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<DeadlineForm>,
) -> Result<Response, AppError> {
    me.require(Permission::ManageCatalogue)?;
    match service::extend_deadline(&state.db, Operator::User(&me), id, &form.deadline, &context)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/cycles/{id}")).into_response()),
        Err(ServiceError::NotFound) => Err(AppError::NotFound),
        Err(error) => {
            let errors = FormErrors::from_error(&page, error, |_| None)?;
            refused(
                &board_page(
                    &state,
                    &me,
                    page,
                    id,
                    BoardQuery::default(),
                    form.deadline,
                    errors,
                )
                .await?,
            )
        }
    }
}
