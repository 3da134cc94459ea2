//! Editing an unfrozen framework version one section or goal at a time.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::frameworks::{FormErrors, refused};
use super::{PageContext, render};
use crate::auth::{Operator, Principal};
use crate::domain::framework::edit::{self, Change, FORM_LEVELS, GoalInput, SectionInput};
use crate::services::RequestContext;
use crate::services::frameworks::FrameworkRecord;
use crate::services::{ServiceError, frameworks as service};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::permitted::CatalogueManager;

fn section_field(path: &str) -> Option<String> {
    // A new section's first goal has its own two fields on the section form.
    match edit::form_field(path, true).as_deref() {
        Some("code") => Some("first_goal_code".to_owned()),
        Some("title_en") => Some("first_goal_title_en".to_owned()),
        _ => edit::form_field(path, false),
    }
}

fn goal_field(path: &str) -> Option<String> {
    edit::form_field(path, true)
}

async fn editable(state: &AppState, me: &Principal, id: Uuid) -> Result<FrameworkRecord, AppError> {
    Ok(service::load(&state.db, &me.scope(), id).await?)
}

/// Back to the framework, saying the change was saved.
fn back(state: &AppState, id: Uuid) -> Response {
    flash::redirect(
        &format!("/frameworks/{id}"),
        Flash::new("flash.saved"),
        state.config.auth.secure_cookies,
    )
}

#[derive(Template)]
#[template(path = "section_form.html")]
struct SectionPage {
    page: PageContext,
    framework_id: Uuid,
    framework_title: String,
    /// The code of the section edited; none for a new one.
    editing: Option<String>,
    row_version: i64,
    form: SectionInput,
    errors: FormErrors,
}

fn frozen_note(page: &PageContext, record: &FrameworkRecord) -> FormErrors {
    let mut errors = FormErrors::default();
    if record.frozen {
        errors
            .messages
            .push(page.tr.t("framework.refused.frozen").to_owned());
    }
    errors
}

/// `GET /frameworks/{framework}/sections/new`.
pub async fn new_section(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let record = editable(&state, &me, id).await?;
    let errors = frozen_note(&page, &record);
    render(&SectionPage {
        framework_title: record.framework.title.get(page.tr.lang().code()).to_owned(),
        page,
        framework_id: id,
        editing: None,
        row_version: record.row_version,
        form: SectionInput::default(),
        errors,
    })
}

/// `GET /frameworks/{framework}/sections/{section}`.
pub async fn show_section(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    Path((id, code)): Path<(Uuid, String)>,
) -> Result<Response, AppError> {
    let record = editable(&state, &me, id).await?;
    let section = record
        .framework
        .sections
        .iter()
        .find(|s| s.code == code)
        .ok_or(AppError::NotFound)?;
    let errors = frozen_note(&page, &record);
    render(&SectionPage {
        framework_title: record.framework.title.get(page.tr.lang().code()).to_owned(),
        page,
        framework_id: id,
        editing: Some(code.clone()),
        row_version: record.row_version,
        form: SectionInput::of(section),
        errors,
    })
}

/// A section form with the version it was read at.
#[derive(Deserialize)]
pub struct SectionForm {
    #[serde(flatten)]
    input: SectionInput,
    #[serde(default)]
    row_version: i64,
}

async fn save_section(
    state: &AppState,
    me: &Principal,
    page: PageContext,
    context: &RequestContext,
    id: Uuid,
    editing: Option<String>,
    form: SectionForm,
) -> Result<Response, AppError> {
    let change = match &editing {
        Some(code) => Change::EditSection {
            code: code.clone(),
            input: form.input.clone(),
        },
        None => Change::AddSection(form.input.clone()),
    };
    match service::change(
        &state.db,
        Operator::User(me),
        id,
        form.row_version,
        change,
        context,
    )
    .await
    {
        Ok(()) => Ok(back(state, id)),
        Err(ServiceError::NotFound) => Err(AppError::NotFound),
        Err(error) => {
            let errors = FormErrors::from_error(&page, error, section_field)?;
            let record = service::load(&state.db, &me.scope(), id).await?;
            refused(&SectionPage {
                framework_title: record.framework.title.get(page.tr.lang().code()).to_owned(),
                page,
                framework_id: id,
                editing,
                row_version: form.row_version,
                form: form.input,
                errors,
            })
        }
    }
}

/// `POST /frameworks/{framework}/sections/new`.
pub async fn add_section(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<SectionForm>,
) -> Result<Response, AppError> {
    save_section(&state, &me, page, &context, id, None, form).await
}

/// `POST /frameworks/{framework}/sections/{section}`.
pub async fn edit_section(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path((id, code)): Path<(Uuid, String)>,
    Form(form): Form<SectionForm>,
) -> Result<Response, AppError> {
    save_section(&state, &me, page, &context, id, Some(code), form).await
}

/// A structural change (delete or move) with the version it was read at.
#[derive(Deserialize)]
pub struct StructureForm {
    #[serde(default)]
    row_version: i64,
    /// `up` or `down`, for moves.
    #[serde(default)]
    direction: String,
}

impl StructureForm {
    fn by(&self) -> isize {
        if self.direction == "up" { -1 } else { 1 }
    }
}

async fn structural(
    state: &AppState,
    me: &Principal,
    page: PageContext,
    context: &RequestContext,
    id: Uuid,
    row_version: i64,
    change: Change,
) -> Result<Response, AppError> {
    match service::change(
        &state.db,
        Operator::User(me),
        id,
        row_version,
        change,
        context,
    )
    .await
    {
        Ok(()) => Ok(back(state, id)),
        Err(ServiceError::NotFound) => Err(AppError::NotFound),
        Err(error) => {
            // Shown on the framework page (e.g. a section cannot lose its last goal).
            let errors = FormErrors::from_error(&page, error, |_| None)?;
            super::frameworks::view_page(state, me, page, id, String::new(), errors).await
        }
    }
}

/// `POST /frameworks/{framework}/sections/{section}/delete`.
pub async fn delete_section(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path((id, code)): Path<(Uuid, String)>,
    Form(form): Form<StructureForm>,
) -> Result<Response, AppError> {
    structural(
        &state,
        &me,
        page,
        &context,
        id,
        form.row_version,
        Change::RemoveSection { code },
    )
    .await
}

/// `POST /frameworks/{framework}/sections/{section}/move`.
pub async fn move_section(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path((id, code)): Path<(Uuid, String)>,
    Form(form): Form<StructureForm>,
) -> Result<Response, AppError> {
    let by = form.by();
    structural(
        &state,
        &me,
        page,
        &context,
        id,
        form.row_version,
        Change::MoveSection { code, by },
    )
    .await
}

/// `POST /frameworks/{framework}/goals/{goal}/delete`.
pub async fn delete_goal(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path((id, code)): Path<(Uuid, String)>,
    Form(form): Form<StructureForm>,
) -> Result<Response, AppError> {
    structural(
        &state,
        &me,
        page,
        &context,
        id,
        form.row_version,
        Change::RemoveGoal { code },
    )
    .await
}

/// `POST /frameworks/{framework}/goals/{goal}/move`.
pub async fn move_goal(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path((id, code)): Path<(Uuid, String)>,
    Form(form): Form<StructureForm>,
) -> Result<Response, AppError> {
    let by = form.by();
    structural(
        &state,
        &me,
        page,
        &context,
        id,
        form.row_version,
        Change::MoveGoal { code, by },
    )
    .await
}

#[derive(Template)]
#[template(path = "goal_form.html")]
struct GoalPage {
    page: PageContext,
    framework_id: Uuid,
    framework_title: String,
    sections: Vec<(String, String)>,
    editing: Option<String>,
    row_version: i64,
    form: GoalInput,
    errors: FormErrors,
}

impl GoalPage {
    fn level_rows(&self) -> std::ops::Range<usize> {
        0..self.form.levels.len()
    }

    fn level_value(&self, row: &usize, column: usize) -> &str {
        self.form
            .levels
            .get(*row)
            .map_or("", |r| r[column].as_str())
    }

    fn level_number(&self, row: &usize) -> String {
        let lowest: i64 = self.form.lowest_level.trim().parse().unwrap_or(0);
        (lowest + *row as i64).to_string()
    }

    fn has_error(&self, field: &str) -> bool {
        self.errors.fields.contains_key(field)
    }

    fn level_error(&self, row: &usize) -> bool {
        self.errors
            .fields
            .contains_key(&format!("level_name_en_{row}"))
    }
}

fn goal_page(
    page: PageContext,
    record: &FrameworkRecord,
    editing: Option<String>,
    row_version: i64,
    form: GoalInput,
    errors: FormErrors,
) -> GoalPage {
    let lang = page.tr.lang().code();
    GoalPage {
        framework_title: record.framework.title.get(lang).to_owned(),
        sections: record
            .framework
            .sections
            .iter()
            .map(|s| (s.code.clone(), s.title.get(lang).to_owned()))
            .collect(),
        page,
        framework_id: record.id,
        editing,
        row_version,
        form,
        errors,
    }
}

/// Which section a new goal goes into.
#[derive(Deserialize)]
pub struct NewGoalQuery {
    section: Option<String>,
}

/// `GET /frameworks/{framework}/goals/new`.
pub async fn new_goal(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    Path(id): Path<Uuid>,
    Query(query): Query<NewGoalQuery>,
) -> Result<Response, AppError> {
    let record = editable(&state, &me, id).await?;
    let form = GoalInput {
        section: query.section.unwrap_or_default(),
        weight: "1".into(),
        scale: "maturity".into(),
        lowest_level: "0".into(),
        decimals: "0".into(),
        levels: vec![Default::default(); FORM_LEVELS],
        ..GoalInput::default()
    };
    let errors = frozen_note(&page, &record);
    render(&goal_page(
        page,
        &record,
        None,
        record.row_version,
        form,
        errors,
    ))
}

/// `GET /frameworks/{framework}/goals/{goal}`.
pub async fn show_goal(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    Path((id, code)): Path<(Uuid, String)>,
) -> Result<Response, AppError> {
    let record = editable(&state, &me, id).await?;
    let (section, goal) = record
        .framework
        .goals()
        .find(|(_, g)| g.code == code)
        .ok_or(AppError::NotFound)?;
    let form = GoalInput::of(&section.code, goal);
    let errors = frozen_note(&page, &record);
    render(&goal_page(
        page,
        &record,
        Some(code),
        record.row_version,
        form,
        errors,
    ))
}

async fn save_goal(
    state: &AppState,
    me: &Principal,
    page: PageContext,
    context: &RequestContext,
    id: Uuid,
    editing: Option<String>,
    pairs: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let input = GoalInput::from_pairs(&pairs);
    let row_version: i64 = pairs
        .iter()
        .find(|(k, _)| k == "row_version")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let result = match input.to_goal() {
        Ok(goal) => {
            let change = match &editing {
                Some(code) => Change::EditGoal {
                    code: code.clone(),
                    goal,
                    section: input.section.clone(),
                },
                None => Change::AddGoal(goal, input.section.clone()),
            };
            service::change(
                &state.db,
                Operator::User(me),
                id,
                row_version,
                change,
                context,
            )
            .await
        }
        Err(fields) => Err(ServiceError::Invalid(fields)),
    };
    match result {
        Ok(()) => Ok(back(state, id)),
        Err(ServiceError::NotFound) if editing.is_some() => Err(AppError::NotFound),
        Err(ServiceError::NotFound) => {
            let errors = FormErrors::from_error(
                &page,
                ServiceError::field("section", "field.section.required"),
                goal_field,
            )?;
            let record = service::load(&state.db, &me.scope(), id).await?;
            refused(&goal_page(
                page,
                &record,
                editing,
                row_version,
                input,
                errors,
            ))
        }
        Err(error) => {
            let errors = FormErrors::from_error(&page, error, goal_field)?;
            let record = service::load(&state.db, &me.scope(), id).await?;
            refused(&goal_page(
                page,
                &record,
                editing,
                row_version,
                input,
                errors,
            ))
        }
    }
}

/// `POST /frameworks/{framework}/goals/new`.
pub async fn add_goal(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    save_goal(&state, &me, page, &context, id, None, pairs).await
}

/// `POST /frameworks/{framework}/goals/{goal}`.
pub async fn edit_goal(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path((id, code)): Path<(Uuid, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    save_goal(&state, &me, page, &context, id, Some(code), pairs).await
}
