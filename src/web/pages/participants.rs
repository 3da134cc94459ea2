//! Participants on pages: the list, adding a partner, renaming, deactivating.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::frameworks::{FormErrors, refused};
use super::{PageContext, render};
use crate::auth::Operator;
use crate::auth::policy::Permission;
use crate::services::RequestContext;
use crate::services::ServiceError;
use crate::services::participants::Participant;
use crate::services::participants::{self as service, ParticipantInput};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::AppError;
use crate::web::permitted::CatalogueManager;

#[derive(Template)]
#[template(path = "participants.html")]
struct ListPage {
    page: PageContext,
    participants: Vec<Participant>,
    can_manage: bool,
}

/// `GET /participants`.
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
) -> Result<Response, AppError> {
    let participants = service::list(&state.db).await?;
    render(&ListPage {
        page,
        participants,
        can_manage: me.may(Permission::ManageCatalogue),
    })
}

#[derive(Template)]
#[template(path = "participant_form.html")]
struct FormPage {
    page: PageContext,
    id: Option<Uuid>,
    form: ParticipantInput,
    errors: FormErrors,
}

/// `GET /participants/new`.
pub async fn show_new(_: CatalogueManager, page: PageContext) -> Result<Response, AppError> {
    render(&FormPage {
        page,
        id: None,
        form: ParticipantInput {
            active: true,
            ..ParticipantInput::default()
        },
        errors: FormErrors::default(),
    })
}

/// `POST /participants/new`: adds a partner.
pub async fn create(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Form(form): Form<ParticipantInput>,
) -> Result<Response, AppError> {
    match service::create_partner(&state.db, Operator::User(&me), &form, &context).await {
        Ok(_) => Ok(flash::redirect(
            "/participants",
            Flash::with("flash.participant_added", form.code.trim().to_uppercase()),
            state.config.auth.secure_cookies,
        )),
        Err(error) => {
            let errors = FormErrors::from_error(&page, error, |_| None)?;
            refused(&FormPage {
                page,
                id: None,
                form,
                errors,
            })
        }
    }
}

/// `GET /participants/{participant}`.
pub async fn show(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let participant = service::find(&state.db, &me.scope(), id).await?;
    let form = ParticipantInput {
        code: participant.code,
        name_en: participant.name_en,
        name_fr: participant.name_fr,
        active: participant.active,
    };
    render(&FormPage {
        page,
        id: Some(id),
        form,
        errors: FormErrors::default(),
    })
}

/// The edit form: an unticked checkbox sends nothing, so `active` is read from its presence.
#[derive(serde::Deserialize)]
pub struct EditForm {
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    name_fr: String,
    #[serde(default)]
    active: Option<String>,
}

/// `POST /participants/{participant}`: rename, deactivate or reactivate.
pub async fn update(
    State(state): State<AppState>,
    CatalogueManager(me): CatalogueManager,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<EditForm>,
) -> Result<Response, AppError> {
    let input = ParticipantInput {
        code: String::new(),
        name_en: form.name_en,
        name_fr: form.name_fr,
        active: form.active.is_some(),
    };
    match service::update(&state.db, Operator::User(&me), id, &input, &context).await {
        Ok(()) => Ok(flash::redirect(
            "/participants",
            Flash::new("flash.saved"),
            state.config.auth.secure_cookies,
        )),
        Err(ServiceError::NotFound) => Err(AppError::NotFound),
        Err(error) => {
            let errors = FormErrors::from_error(&page, error, |_| None)?;
            refused(&FormPage {
                page,
                id: Some(id),
                form: input,
                errors,
            })
        }
    }
}
