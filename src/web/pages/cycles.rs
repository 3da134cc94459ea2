//! Cycles on pages: list, create, the status board, and the secretariat's transitions, each
//! behind a confirmation page that says what will happen and to whom (and the two steps back:
//! reopen, withdraw a publication).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::frameworks::{FormErrors, refused};
use super::{PageContext, render};
use crate::auth::Operator;
use crate::auth::policy::Permission;
use crate::domain::assessment::AssessmentState;
use crate::domain::cycle::{CycleInput, Transition};
use crate::services::RequestContext;
use crate::services::cycles::{BoardQuery, BoardRow, Census, CycleView};
use crate::services::frameworks::FrameworkSummary;
use crate::services::{ServiceError, cycles as service};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::AppError;
use crate::web::permitted::CatalogueManager;

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
    let cycles = service::list(&state.db, Operator::User(&me)).await?;
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
    let frameworks = crate::services::frameworks::list(&state.db, &me.scope()).await?;
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
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
) -> Result<Response, AppError> {
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
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Form(form): Form<NewCycleForm>,
) -> Result<Response, AppError> {
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
    /// Where carried-forward answers came from (empty when nothing was carried).
    carried: Vec<crate::services::cycles::CarriedSource>,
    query: BoardQuery,
    states: [AssessmentState; 6],
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

    fn selected(&self, value: &AssessmentState) -> bool {
        self.query.state.as_deref() == Some(value.as_str())
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
    let board = service::board(&state.db, Operator::User(me), id, &query).await?;
    Ok(BoardPage {
        page,
        cycle: board.cycle,
        rows: board.rows,
        carried: board.carried,
        query,
        states: AssessmentState::ALL,
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
    match service::transition(&state.db, Operator::User(&me), id, transition, &context).await {
        Ok(()) => done(&state, &me, id, transition).await,
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
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    transition(state, me, page, context, id, Transition::Open).await
}

/// `POST /cycles/{cycle}/close`.
pub async fn close(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    transition(state, me, page, context, id, Transition::Close).await
}

/// `POST /cycles/{cycle}/publish`.
pub async fn publish(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
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
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<DeadlineForm>,
) -> Result<Response, AppError> {
    match service::extend_deadline(&state.db, Operator::User(&me), id, &form.deadline, &context)
        .await
    {
        Ok(()) => Ok(flash::redirect(
            &format!("/cycles/{id}"),
            Flash::with("flash.cycle_deadline", form.deadline.trim()),
            state.config.auth.secure_cookies,
        )),
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

/// Back to the board with the message of a done transition ("Cycle 2026 closed.").
async fn done(
    state: &AppState,
    me: &crate::auth::Principal,
    id: Uuid,
    transition: Transition,
) -> Result<Response, AppError> {
    let code = match service::find(&state.db, Operator::User(me), id).await {
        Ok(cycle) => cycle.code,
        Err(ServiceError::NotFound) => String::new(),
        Err(other) => return Err(other.into()),
    };
    let key = match transition {
        Transition::Open => "flash.cycle_open",
        Transition::Close => "flash.cycle_close",
        Transition::Publish => "flash.cycle_publish",
        Transition::Reopen => "flash.cycle_reopen",
        Transition::Unpublish => "flash.cycle_unpublish",
    };
    Ok(flash::redirect(
        &format!("/cycles/{id}"),
        Flash::with(key, code),
        state.config.auth.secure_cookies,
    ))
}

#[derive(Template)]
#[template(path = "cycle_confirm.html")]
struct ConfirmPage {
    page: PageContext,
    cycle: CycleView,
    census: Census,
    /// open, close, publish, reopen or unpublish.
    action: &'static str,
    /// The question, the consequences, and the button's label, in the page's language.
    heading: String,
    consequences: Vec<String>,
    button: &'static str,
    /// Why the action cannot be done from the cycle's state (no button then).
    refusal: Option<&'static str>,
    /// Reopening: whether a new deadline is required, and what was typed.
    deadline_required: bool,
    new_deadline: String,
    errors: FormErrors,
}

fn n(value: i64) -> String {
    value.to_string()
}

/// What a transition will do, in sentences for the page's language.
fn consequences(
    page: &PageContext,
    transition: Transition,
    cycle: &CycleView,
    census: &Census,
) -> Vec<String> {
    let tr = &page.tr;
    let deadline = page.day(&cycle.deadline);
    let days = n(i64::from(cycle.days_left.abs()));
    let when = if cycle.days_left >= 0 {
        tr.fmt(
            "cycle_confirm.deadline_ahead",
            &[("deadline", &deadline), ("days", &days)],
        )
    } else {
        tr.fmt(
            "cycle_confirm.deadline_passed",
            &[("deadline", &deadline), ("days", &days)],
        )
    };
    let counts = [
        ("participants", n(census.assessments)),
        ("unsubmitted", n(census.unsubmitted())),
        ("not_started", n(census.not_started)),
        ("draft", n(census.draft)),
        ("returned", n(census.returned)),
        ("submitted", n(census.submitted)),
        ("accepted", n(census.accepted)),
        ("submissions", n(census.submitted + census.accepted)),
        ("active", n(census.active_participants)),
        ("deadline", deadline.clone()),
    ];
    let args: Vec<(&str, &str)> = counts.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let say = |key: &str| tr.fmt(key, &args);
    match transition {
        Transition::Open => vec![
            say("cycle_confirm.open.who"),
            say("cycle_confirm.open.carry"),
            say("cycle_confirm.open.deadline"),
        ],
        Transition::Close => vec![
            say("cycle_confirm.close.who"),
            say("cycle_confirm.close.unsubmitted"),
            say("cycle_confirm.close.submitted"),
            when,
            say("cycle_confirm.close.undo"),
        ],
        Transition::Publish => vec![
            say("cycle_confirm.publish.who"),
            say("cycle_confirm.publish.figures"),
            say("cycle_confirm.publish.undo"),
        ],
        Transition::Reopen => vec![
            say("cycle_confirm.reopen.who"),
            say("cycle_confirm.reopen.submitted"),
            when,
        ],
        Transition::Unpublish => vec![
            say("cycle_confirm.unpublish.who"),
            say("cycle_confirm.unpublish.nothing_else"),
        ],
    }
}

async fn confirm_page(
    state: &AppState,
    me: &crate::auth::Principal,
    page: PageContext,
    id: Uuid,
    transition: Transition,
    new_deadline: String,
    errors: FormErrors,
) -> Result<ConfirmPage, AppError> {
    let (cycle, census) = match service::impact(&state.db, Operator::User(me), id).await {
        Ok(found) => found,
        Err(ServiceError::NotFound) => return Err(AppError::NotFound),
        Err(other) => return Err(other.into()),
    };
    let refusal = transition.apply(cycle.state).err();
    let heading = page.tr.fmt(
        &format!("cycle_confirm.{}.heading", transition.as_str()),
        &[("code", &cycle.code)],
    );
    let consequences = consequences(&page, transition, &cycle, &census);
    let button = page
        .tr
        .t_static(&format!("cycle_confirm.{}.button", transition.as_str()));
    Ok(ConfirmPage {
        deadline_required: transition == Transition::Reopen && cycle.days_left < 0,
        page,
        cycle,
        census,
        action: transition.as_str(),
        heading,
        consequences,
        button,
        refusal,
        new_deadline,
        errors,
    })
}

/// A confirmation page: 200 when the step can be taken, 409 (and no button) otherwise.
async fn show_confirm(
    state: AppState,
    me: crate::auth::Principal,
    page: PageContext,
    id: Uuid,
    transition: Transition,
) -> Result<Response, AppError> {
    let confirm = confirm_page(
        &state,
        &me,
        page,
        id,
        transition,
        String::new(),
        FormErrors::default(),
    )
    .await?;
    let refused = confirm.refusal.is_some();
    let mut response = render(&confirm)?;
    if refused {
        *response.status_mut() = axum::http::StatusCode::CONFLICT;
    }
    Ok(response)
}

/// `GET /cycles/{cycle}/open`: what opening will do (an assessment for every active participant).
pub async fn confirm_open(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    show_confirm(state, me, page, id, Transition::Open).await
}

/// `GET /cycles/{cycle}/close`: who will no longer be able to submit.
pub async fn confirm_close(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    show_confirm(state, me, page, id, Transition::Close).await
}

/// `GET /cycles/{cycle}/publish`: who will see the figures.
pub async fn confirm_publish(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    show_confirm(state, me, page, id, Transition::Publish).await
}

/// `GET /cycles/{cycle}/reopen`: who can submit again, and the deadline.
pub async fn confirm_reopen(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    show_confirm(state, me, page, id, Transition::Reopen).await
}

/// `GET /cycles/{cycle}/unpublish`: withdrawing a publication.
pub async fn confirm_unpublish(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    show_confirm(state, me, page, id, Transition::Unpublish).await
}

/// `POST /cycles/{cycle}/reopen`: closed → open, with a new deadline once the old one passed.
pub async fn reopen(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<DeadlineForm>,
) -> Result<Response, AppError> {
    match service::reopen(&state.db, Operator::User(&me), id, &form.deadline, &context).await {
        Ok(()) => done(&state, &me, id, Transition::Reopen).await,
        Err(ServiceError::NotFound) => Err(AppError::NotFound),
        Err(error) => {
            let conflict = matches!(error, ServiceError::Refused(_));
            let errors = FormErrors::from_error(&page, error, |_| None)?;
            let confirm = confirm_page(
                &state,
                &me,
                page,
                id,
                Transition::Reopen,
                form.deadline,
                errors,
            )
            .await?;
            let mut response = render(&confirm)?;
            *response.status_mut() = if conflict {
                axum::http::StatusCode::CONFLICT
            } else {
                axum::http::StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok(response)
        }
    }
}

/// `POST /cycles/{cycle}/unpublish`: published → closed.
pub async fn unpublish(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    transition(state, me, page, context, id, Transition::Unpublish).await
}
