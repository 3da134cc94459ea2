//! Framework versions on pages: list, view, import, export, new, details, copy as new version.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::{PageContext, render};
use crate::auth::Operator;
use crate::auth::policy::Permission;
use crate::domain::framework::edit::Change;
use crate::domain::framework::{AnswerScale, Framework, Goal, RollUp, Section};
use crate::domain::text::LocalizedText;
use crate::services::RequestContext;
use crate::services::frameworks::{FrameworkRecord, FrameworkSummary, MappingSummary};
use crate::services::{ServiceError, frameworks as service};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, FieldErrors, problem_message};
use crate::web::permitted::CatalogueManager;

/// What a form shows after a refused save: messages by field, messages for the whole form.
#[derive(Debug, Default)]
pub struct FormErrors {
    pub fields: FieldErrors,
    pub messages: Vec<String>,
}

impl FormErrors {
    /// Turns a refusal into what the form shows; other failures stay errors.
    /// `field_of` names the form field a document problem's path points at, if any.
    pub fn from_error(
        page: &PageContext,
        error: ServiceError,
        field_of: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, AppError> {
        let mut errors = FormErrors::default();
        match error {
            ServiceError::Invalid(fields) => errors.fields = fields,
            ServiceError::Problems(problems) => {
                for problem in &problems {
                    let message = problem_message(&page.tr, problem);
                    match field_of(&problem.path) {
                        Some(field) => {
                            errors
                                .fields
                                .entry(field)
                                .or_insert_with(|| problem.key.to_owned());
                            errors.messages.push(message);
                        }
                        // Not a field of this form: say where in the document it is.
                        None if !problem.path.is_empty() => {
                            errors.messages.push(format!("{}: {message}", problem.path))
                        }
                        None => errors.messages.push(message),
                    }
                }
            }
            ServiceError::Conflict => errors.messages.push(page.tr.t("error.stale").to_owned()),
            ServiceError::Refused(key) => errors.messages.push(page.tr.t(key).to_owned()),
            other => return Err(other.into()),
        }
        if errors.messages.is_empty() {
            errors
                .messages
                .push(page.tr.t("error.invalid_input").to_owned());
        }
        Ok(errors)
    }

    /// Whether a field has a problem.
    pub fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }

    /// The catalogue key of a field's problem.
    pub fn key(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    /// Whether nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.messages.is_empty()
    }
}

/// Renders a form page again with 422; the page says what to fix (or that the record changed).
pub fn refused(template: &impl Template) -> Result<Response, AppError> {
    let mut response = render(template)?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

#[derive(Template)]
#[template(path = "frameworks.html")]
struct ListPage {
    page: PageContext,
    frameworks: Vec<FrameworkSummary>,
    can_manage: bool,
}

/// `GET /frameworks`.
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
) -> Result<Response, AppError> {
    let frameworks = crate::services::frameworks::list(&state.db, &me.scope()).await?;
    render(&ListPage {
        page,
        frameworks,
        can_manage: me.may(Permission::ManageCatalogue),
    })
}

#[derive(Template)]
#[template(path = "framework.html")]
struct ViewPage {
    page: PageContext,
    record: FrameworkRecord,
    mappings: Vec<MappingSummary>,
    others: Vec<FrameworkSummary>,
    editable: bool,
    can_manage: bool,
    copy_version: String,
    errors: FormErrors,
}

impl ViewPage {
    fn scale_summary(&self, goal: &Goal) -> String {
        let tr = self.page.tr;
        match &goal.scale {
            AnswerScale::Maturity { levels } => tr.fmt(
                "framework.scale_maturity",
                &[
                    ("lowest", &levels.first().map_or(0, |l| l.level).to_string()),
                    ("highest", &levels.last().map_or(0, |l| l.level).to_string()),
                ],
            ),
            AnswerScale::Numeric { min, max, unit, .. } => tr.fmt(
                "framework.scale_numeric",
                &[
                    ("min", &min.to_string()),
                    ("max", &max.to_string()),
                    ("unit", unit),
                ],
            ),
            AnswerScale::YesNo {} => tr.t("framework.scale_yes_no").to_owned(),
        }
    }

    fn text<'a>(&self, text: &'a LocalizedText) -> &'a str {
        text.get(self.page.tr.lang().code())
    }
}

pub(super) async fn view_page(
    state: &AppState,
    me: &crate::auth::Principal,
    page: PageContext,
    id: Uuid,
    copy_version: String,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let (record, mappings, others) =
        crate::services::frameworks::detail(&state.db, &me.scope(), id).await?;
    let can_manage = me.may(Permission::ManageCatalogue);
    let view = ViewPage {
        page,
        editable: can_manage && !record.frozen,
        can_manage,
        record,
        mappings,
        others,
        copy_version,
        errors,
    };
    if view.errors.is_empty() {
        render(&view)
    } else {
        refused(&view)
    }
}

/// `GET /frameworks/{framework}`.
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    view_page(&state, &me, page, id, String::new(), FormErrors::default()).await
}

/// `GET /frameworks/{framework}/export`: the JSON document, as a file.
pub async fn export(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let record = service::load(&state.db, &me.scope(), id).await?;
    let name = format!(
        "{}-{}.json",
        record.framework.family, record.framework.version
    )
    .replace(
        |c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)),
        "_",
    );
    Ok((
        [
            (CONTENT_TYPE, "application/json; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        service::export(&record),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "framework_import.html")]
struct ImportPage {
    page: PageContext,
    document: String,
    errors: FormErrors,
}

/// `GET /frameworks/import`.
pub async fn show_import(_: CatalogueManager, page: PageContext) -> Result<Response, AppError> {
    render(&ImportPage {
        page,
        document: String::new(),
        errors: FormErrors::default(),
    })
}

/// The import form: the document pasted.
#[derive(Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    document: String,
}

/// `POST /frameworks/import`: every problem listed, nothing written unless there are none.
pub async fn import(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Form(form): Form<ImportForm>,
) -> Result<Response, AppError> {
    match service::import(&state.db, Operator::User(&me), &form.document, &context).await {
        Ok(id) => Ok(flash::redirect(
            &format!("/frameworks/{id}"),
            Flash::new("flash.framework_imported"),
            state.config.auth.secure_cookies,
        )),
        Err(error) => {
            let errors = FormErrors::from_error(&page, error, |_| None)?;
            refused(&ImportPage {
                page,
                document: form.document,
                errors,
            })
        }
    }
}

#[derive(Template)]
#[template(path = "framework_details.html")]
struct DetailsPage {
    page: PageContext,
    /// None for a new framework.
    id: Option<Uuid>,
    row_version: i64,
    form: DetailsForm,
    errors: FormErrors,
}

/// The details form (also the first section and goal of a new framework).
#[derive(Debug, Default, Deserialize)]
pub struct DetailsForm {
    #[serde(default)]
    family: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    title_en: String,
    #[serde(default)]
    title_fr: String,
    #[serde(default)]
    description_en: String,
    #[serde(default)]
    description_fr: String,
    #[serde(default)]
    roll_up: String,
    #[serde(default)]
    row_version: i64,
    #[serde(default)]
    section_code: String,
    #[serde(default)]
    section_title_en: String,
    #[serde(default)]
    goal_code: String,
    #[serde(default)]
    goal_title_en: String,
}

impl DetailsForm {
    fn roll_up(&self) -> RollUp {
        RollUp::from_db(&self.roll_up).unwrap_or(RollUp::WeightedMean)
    }

    fn text(en: &str, fr: &str) -> LocalizedText {
        LocalizedText {
            en: en.trim().to_owned(),
            fr: fr.trim().to_owned(),
        }
    }
}

/// `GET /frameworks/new`.
pub async fn show_new(_: CatalogueManager, page: PageContext) -> Result<Response, AppError> {
    let form = DetailsForm {
        roll_up: "weighted_mean".into(),
        ..DetailsForm::default()
    };
    render(&DetailsPage {
        page,
        id: None,
        row_version: 0,
        form,
        errors: FormErrors::default(),
    })
}

/// `POST /frameworks/new`: a version with a first section and goal, to be completed.
pub async fn create(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Form(form): Form<DetailsForm>,
) -> Result<Response, AppError> {
    let framework = Framework {
        family: form.family.trim().to_owned(),
        version: form.version.trim().to_owned(),
        title: DetailsForm::text(&form.title_en, &form.title_fr),
        description: DetailsForm::text(&form.description_en, &form.description_fr),
        roll_up: form.roll_up(),
        sections: vec![Section {
            code: form.section_code.trim().to_owned(),
            title: DetailsForm::text(&form.section_title_en, ""),
            description: LocalizedText::default(),
            goals: vec![Goal {
                code: form.goal_code.trim().to_owned(),
                title: DetailsForm::text(&form.goal_title_en, ""),
                guidance: LocalizedText::default(),
                weight: crate::domain::scoring::Decimal::ONE,
                scale: AnswerScale::YesNo {},
            }],
        }],
    };
    let document = crate::domain::framework::document::FrameworkDocument::from(&framework);
    let problems = crate::domain::framework::document::validate(&document);
    let result = if problems.is_empty() {
        service::create(
            &state.db,
            Operator::User(&me),
            &framework,
            "framework.create",
            &context,
        )
        .await
    } else {
        Err(ServiceError::Problems(problems))
    };
    match result {
        Ok(id) => Ok(flash::redirect(
            &format!("/frameworks/{id}"),
            Flash::new("flash.framework_created"),
            state.config.auth.secure_cookies,
        )),
        Err(error) => {
            let errors = FormErrors::from_error(&page, error, details_field)?;
            refused(&DetailsPage {
                page,
                id: None,
                row_version: 0,
                form,
                errors,
            })
        }
    }
}

/// `GET /frameworks/{framework}/details`.
pub async fn show_details(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let record = service::load(&state.db, &me.scope(), id).await?;
    let f = &record.framework;
    let form = DetailsForm {
        family: f.family.clone(),
        version: f.version.clone(),
        title_en: f.title.en.clone(),
        title_fr: f.title.fr.clone(),
        description_en: f.description.en.clone(),
        description_fr: f.description.fr.clone(),
        roll_up: f.roll_up.as_str().to_owned(),
        row_version: record.row_version,
        ..DetailsForm::default()
    };
    let mut errors = FormErrors::default();
    if record.frozen {
        errors
            .messages
            .push(page.tr.t("framework.refused.frozen").to_owned());
    }
    render(&DetailsPage {
        page,
        id: Some(id),
        row_version: record.row_version,
        form,
        errors,
    })
}

/// `POST /frameworks/{framework}/details`.
pub async fn save_details(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<DetailsForm>,
) -> Result<Response, AppError> {
    let change = Change::Details {
        version: form.version.clone(),
        title: DetailsForm::text(&form.title_en, &form.title_fr),
        description: DetailsForm::text(&form.description_en, &form.description_fr),
        roll_up: form.roll_up(),
    };
    match service::change(
        &state.db,
        Operator::User(&me),
        id,
        form.row_version,
        change,
        &context,
    )
    .await
    {
        Ok(()) => Ok(flash::redirect(
            &format!("/frameworks/{id}"),
            Flash::new("flash.saved"),
            state.config.auth.secure_cookies,
        )),
        Err(ServiceError::NotFound) => Err(AppError::NotFound),
        Err(error) => {
            let errors = FormErrors::from_error(&page, error, details_field)?;
            let row_version = form.row_version;
            refused(&DetailsPage {
                page,
                id: Some(id),
                row_version,
                form,
                errors,
            })
        }
    }
}

/// The copy form.
#[derive(Deserialize)]
pub struct CopyForm {
    #[serde(default)]
    version: String,
}

/// `POST /frameworks/{framework}/copy`: a new editable version, mapped goal to goal.
pub async fn copy(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<CopyForm>,
) -> Result<Response, AppError> {
    match service::copy_as_new_version(&state.db, Operator::User(&me), id, &form.version, &context)
        .await
    {
        Ok(new_id) => Ok(flash::redirect(
            &format!("/frameworks/{new_id}"),
            Flash::with("flash.framework_copied", form.version.trim()),
            state.config.auth.secure_cookies,
        )),
        Err(ServiceError::NotFound) => Err(AppError::NotFound),
        Err(error) => {
            let errors = FormErrors::from_error(&page, error, |_| None)?;
            view_page(&state, &me, page, id, form.version, errors).await
        }
    }
}

/// The details form's field for a document problem (its first section and goal included).
fn details_field(path: &str) -> Option<String> {
    let field = match path {
        "/family" => "family",
        "/version" => "version",
        "/title/en" => "title_en",
        "/title/fr" => "title_fr",
        "/sections/0/code" => "section_code",
        "/sections/0/title/en" => "section_title_en",
        "/sections/0/goals/0/code" => "goal_code",
        "/sections/0/goals/0/title/en" => "goal_title_en",
        _ => return None,
    };
    Some(field.to_owned())
}
