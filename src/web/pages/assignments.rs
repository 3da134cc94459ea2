//! The head's assignment page of one assessment (`/assessments/{assessment}/assignments`):
//! progress per assignee, carried-forward assignments to confirm, the assignment form (one
//! member; whole sections and/or single goals, checkboxes in fieldsets) and who holds each goal,
//! with a remove button per holder. Operations: [`crate::services::assignments`].

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::{PageContext, render};
use crate::services::RequestContext;
use crate::services::ServiceError;
use crate::services::assignments::{self as service, AssignInput, AssignmentPage};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, FieldErrors};

/// One section of the form: its goals and who holds each.
pub struct SectionChoice {
    pub code: String,
    pub title: String,
    pub goals: Vec<GoalChoiceRow>,
}

/// One goal of the form.
pub struct GoalChoiceRow {
    pub code: String,
    pub title: String,
    /// (user id, name, carried forward and not confirmed)
    pub holders: Vec<(Uuid, String, bool)>,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "assignments.html")]
struct Page {
    page: PageContext,
    view: AssignmentPage,
    sections: Vec<SectionChoice>,
    member: String,
    chosen_sections: Vec<String>,
    errors: FieldErrors,
    to_review: usize,
}

fn page_of(
    page: PageContext,
    view: AssignmentPage,
    member: String,
    chosen_goals: &[String],
    chosen_sections: Vec<String>,
    errors: FieldErrors,
) -> Page {
    let fr = page.tr.lang().code() == "fr";
    let pick = |en: &str, fr_text: &str| {
        if fr && !fr_text.trim().is_empty() {
            fr_text.to_owned()
        } else {
            en.to_owned()
        }
    };
    let mut sections: Vec<SectionChoice> = Vec::new();
    for goal in &view.goals {
        if sections.last().is_none_or(|s| s.code != goal.section_code) {
            sections.push(SectionChoice {
                code: goal.section_code.clone(),
                title: pick(&goal.section_title_en, &goal.section_title_fr),
                goals: Vec::new(),
            });
        }
        let holders = view
            .assignments
            .iter()
            .filter(|a| a.goal_id == goal.id)
            .map(|a| (a.user_id, a.display_name.clone(), a.needs_review))
            .collect();
        if let Some(section) = sections.last_mut() {
            section.goals.push(GoalChoiceRow {
                code: goal.code.clone(),
                title: pick(&goal.title_en, &goal.title_fr),
                holders,
                checked: chosen_goals.contains(&goal.code),
            });
        }
    }
    let to_review = view.assignments.iter().filter(|a| a.needs_review).count();
    Page {
        page,
        view,
        sections,
        member,
        chosen_sections,
        errors,
        to_review,
    }
}

/// `GET /assessments/{assessment}/assignments`.
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let view = service::page(&state.db, &me, id).await?;
    render(&page_of(
        page,
        view,
        String::new(),
        &[],
        Vec::new(),
        FieldErrors::new(),
    ))
}

fn values(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

/// `POST /assessments/{assessment}/assignments`: `member`, any number of `goal` and `section`.
pub async fn assign(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let member = values(&pairs, "member").pop().unwrap_or_default();
    let goals = values(&pairs, "goal");
    let sections = values(&pairs, "section");
    let input = AssignInput {
        user_id: member.parse().ok(),
        goals: goals.clone(),
        sections: sections.clone(),
    };
    match service::assign(&state.db, &me, id, &input, &context).await {
        Ok(new) => Ok(flash::redirect(
            &format!("/assessments/{id}/assignments"),
            Flash::with("flash.goals_assigned", new.to_string()),
            state.config.auth.secure_cookies,
        )),
        Err(ServiceError::Invalid(errors)) => {
            let view = service::page(&state.db, &me, id).await?;
            let mut response = render(&page_of(page, view, member, &goals, sections, errors))?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /assessments/{assessment}/assignments/remove`: `member` and `goal`.
pub async fn unassign(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let member: Uuid = values(&pairs, "member")
        .pop()
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(Uuid::nil);
    let goal = values(&pairs, "goal").pop().unwrap_or_default();
    service::unassign(&state.db, &me, id, member, &goal, &context).await?;
    Ok(flash::redirect(
        &format!("/assessments/{id}/assignments"),
        Flash::with("flash.assignment_removed", goal),
        state.config.auth.secure_cookies,
    ))
}

/// `POST /assessments/{assessment}/assignments/confirm`: the carried-forward ones.
pub async fn confirm(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let confirmed = service::confirm_carried(&state.db, &me, id, &context).await?;
    Ok(flash::redirect(
        &format!("/assessments/{id}/assignments"),
        Flash::with("flash.assignments_confirmed", confirmed.to_string()),
        state.config.auth.secure_cookies,
    ))
}
