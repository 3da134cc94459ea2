//! National goals on pages: a delegation's own goals with their history; staff read any
//! participant's.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::frameworks::{FormErrors, refused};
use super::{PageContext, render};
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::services::RequestContext;
use crate::services::ServiceError;
use crate::services::national_goals::{self as service, MEASURES, NationalGoalInput, STATUSES};
use crate::services::national_goals::{GoalVersion, NationalGoalView, SectionChoice};
use crate::services::participants::{self, Participant};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::AppError;

/// Whose goals to show (staff choose; a delegation always sees its own).
#[derive(Debug, Default, Deserialize)]
pub struct ParticipantQuery {
    participant: Option<String>,
}

async fn participant_for(
    state: &AppState,
    me: &Principal,
    query: &ParticipantQuery,
) -> Result<Option<Participant>, AppError> {
    let all = participants::list(&state.db).await?;
    let chosen = match me.role.participant() {
        Some(own) => all.into_iter().find(|p| p.id == own),
        None => match query.participant.as_deref() {
            Some(code) => Some(
                all.into_iter()
                    .find(|p| p.code.eq_ignore_ascii_case(code))
                    .ok_or(AppError::NotFound)?,
            ),
            None => None,
        },
    };
    // `ReadParticipant` on the one chosen: checked by `service::list`.
    Ok(chosen)
}

#[derive(Template)]
#[template(path = "national_goals.html")]
struct ListPage {
    page: PageContext,
    participant: Option<Participant>,
    participants: Vec<Participant>,
    goals: Vec<NationalGoalView>,
    can_edit: bool,
}

impl ListPage {
    fn section<'a>(&self, goal: &'a NationalGoalView) -> &'a str {
        if self.page.tr.lang().code() == "fr" && !goal.section_title_fr.is_empty() {
            &goal.section_title_fr
        } else {
            &goal.section_title_en
        }
    }
}

/// `GET /national-goals`.
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Query(query): Query<ParticipantQuery>,
) -> Result<Response, AppError> {
    let participant = participant_for(&state, &me, &query).await?;
    let goals = match &participant {
        Some(p) => service::list(&state.db, &me, p.id).await?,
        None => Vec::new(),
    };
    let can_edit = participant
        .as_ref()
        .is_some_and(|p| me.may(Permission::EditParticipant(p.id)));
    let participants = if me.role.participant().is_none() {
        participants::list(&state.db).await?
    } else {
        Vec::new()
    };
    render(&ListPage {
        page,
        participant,
        participants,
        goals,
        can_edit,
    })
}

#[derive(Template)]
#[template(path = "national_goal.html")]
struct GoalPage {
    page: PageContext,
    goal: Option<NationalGoalView>,
    history: Vec<GoalVersion>,
    sections: Vec<SectionChoice>,
    statuses: [&'static str; 5],
    measures: [&'static str; 2],
    can_edit: bool,
    row_version: i64,
    form: NationalGoalInput,
    errors: FormErrors,
}

impl GoalPage {
    fn section_title<'a>(&self, section: &'a SectionChoice) -> &'a str {
        if self.page.tr.lang().code() == "fr" && !section.title_fr.is_empty() {
            &section.title_fr
        } else {
            &section.title_en
        }
    }

    fn version_value(&self, version: &GoalVersion, field: &str) -> String {
        match version.data.get(field) {
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(serde_json::Value::Null) | None => "—".to_owned(),
            Some(other) => other.to_string(),
        }
    }
}

fn input_of(goal: &NationalGoalView) -> NationalGoalInput {
    let number = |value: Option<crate::domain::scoring::Decimal>| {
        value.map(|v| v.to_string()).unwrap_or_default()
    };
    NationalGoalInput {
        section: goal.section_id.to_string(),
        title: goal.title.clone(),
        measure: goal.measure.clone(),
        unit: goal.unit.clone(),
        baseline_value: number(goal.baseline_value),
        current_value: number(goal.current_value),
        target_value: goal.target_value.to_string(),
        target_year: goal.target_year.to_string(),
        status: goal.status.clone(),
        owner: goal.owner.clone(),
        notes: goal.notes.clone(),
    }
}

async fn goal_page(
    state: &AppState,
    me: &Principal,
    page: PageContext,
    id: Option<Uuid>,
    // What was typed, and the version the form should carry next.
    form: Option<(NationalGoalInput, i64)>,
    errors: FormErrors,
) -> Result<GoalPage, AppError> {
    let (goal, history, sections) = service::form(&state.db, me, id).await?;
    let participant = goal
        .as_ref()
        .map(|g| g.participant_id)
        .or(me.role.participant());
    let can_edit = participant.is_some_and(|p| me.may(Permission::EditParticipant(p)));
    let stored_version = goal.as_ref().map_or(0, |g| g.row_version);
    let (form, row_version) = form.unwrap_or_else(|| {
        let input = goal
            .as_ref()
            .map(input_of)
            .unwrap_or_else(|| NationalGoalInput {
                measure: "level".into(),
                status: "planned".into(),
                ..NationalGoalInput::default()
            });
        (input, stored_version)
    });
    Ok(GoalPage {
        page,
        goal,
        history,
        sections,
        statuses: STATUSES,
        measures: MEASURES,
        can_edit,
        row_version,
        form,
        errors,
    })
}

/// `GET /national-goals/new` (the delegation's heads and contributors).
pub async fn show_new(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
) -> Result<Response, AppError> {
    // `service::form` refuses the form of a new goal to all but one's own delegation's editors.
    render(&goal_page(&state, &me, page, None, None, FormErrors::default()).await?)
}

/// `POST /national-goals/new`.
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Form(form): Form<NationalGoalInput>,
) -> Result<Response, AppError> {
    let own = me.role.participant().ok_or(AppError::Forbidden)?;
    // `service::create` checks `EditParticipant(own)` before anything else.
    match service::create(&state.db, &me, own, &form, &context).await {
        Ok(id) => Ok(flash::redirect(
            &format!("/national-goals/{id}"),
            Flash::new("flash.national_goal_added"),
            state.config.auth.secure_cookies,
        )),
        Err(error) => {
            let errors = FormErrors::from_error(&page, error, |_| None)?;
            refused(&goal_page(&state, &me, page, None, Some((form, 0)), errors).await?)
        }
    }
}

/// `GET /national-goals/{goal}`: the goal, its history, and the form for those who may edit.
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    render(&goal_page(&state, &me, page, Some(id), None, FormErrors::default()).await?)
}

/// The edit form: the goal's fields and the version they were read at.
#[derive(Deserialize)]
pub struct EditForm {
    #[serde(flatten)]
    input: NationalGoalInput,
    #[serde(default)]
    row_version: i64,
}

/// `POST /national-goals/{goal}`: a concurrent change is shown, never overwritten.
pub async fn update(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<EditForm>,
) -> Result<Response, AppError> {
    // Permission on the goal's participant: a goal the caller cannot see is not found.
    service::find_editable(&state.db, &me, id).await?;
    match service::update(&state.db, &me, id, form.row_version, &form.input, &context).await {
        Ok(()) => Ok(flash::redirect(
            &format!("/national-goals/{id}"),
            Flash::new("flash.saved"),
            state.config.auth.secure_cookies,
        )),
        Err(ServiceError::NotFound) => Err(AppError::NotFound),
        Err(error) => {
            let stale = matches!(error, ServiceError::Conflict);
            let errors = FormErrors::from_error(&page, error, |_| None)?;
            // The page shows the stored values above the form, which keeps what was typed; the
            // form now carries the current version, so saving again is a deliberate choice.
            // After a conflict the form carries the stored version (the page shows it above), so
            // saving again is a deliberate choice; after a mistake, the version the user read.
            let version = if stale {
                current_version(&state, &me, id).await?
            } else {
                form.row_version
            };
            refused(
                &goal_page(
                    &state,
                    &me,
                    page,
                    Some(id),
                    Some((form.input, version)),
                    errors,
                )
                .await?,
            )
        }
    }
}

async fn current_version(state: &AppState, me: &Principal, id: Uuid) -> Result<i64, AppError> {
    Ok(service::find(&state.db, me, id).await?.row_version)
}
