//! Submitting, returning and accepting an assessment on pages, and its revisions.
//!
//! Reviewing happens on its own page (`GET /assessments/{id}/review`): the submitted answers by
//! section, each with its note field beside it, the overall reason, then "Accept" and "Return to
//! the delegation". A return first shows a confirmation page (`POST …/return/confirm`, which
//! changes nothing) that carries the reason and notes in hidden fields; "Go back" posts them to
//! `POST …/review`, which shows the review page again with them. A submission ends on
//! `GET …/submitted`, a confirmation page with the revision and its digest.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::flash::{self, Flash};
use super::frameworks::FormErrors;
use super::{PageContext, render};
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::domain::framework::AnswerScale;
use crate::domain::snapshot::FieldChange;
use crate::services::RequestContext;
use crate::services::assessments::{self as assessments, AssessmentView};
use crate::services::workflow::RevisionRow;
use crate::services::workflow::{self as service, AnswerNote, ReturnReasons};
use crate::services::{ServiceError, workflow::Submitted};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::AppError;

/// The participant's name in the page's language.
fn participant_name(page: &PageContext, view: &AssessmentView) -> String {
    if page.tr.lang().code() == "fr" && !view.head.participant_name_fr.is_empty() {
        view.head.participant_name_fr.clone()
    } else {
        view.head.participant_name_en.clone()
    }
}

/// Back to the assessment with a message naming the participant.
fn back_with(state: &AppState, id: Uuid, key: &'static str, arg: String) -> Response {
    flash::redirect(
        &format!("/assessments/{id}"),
        Flash::with(key, arg),
        state.config.auth.secure_cookies,
    )
}

/// `POST /assessments/{assessment}/submit`: on success, the confirmation page. A second click
/// finds it done, does nothing more, and leads to the same page.
pub async fn submit(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    match service::submit(&state.db, &me, id, &context).await? {
        Submitted::Revision(_) | Submitted::AlreadyDone => {
            Ok(Redirect::to(&format!("/assessments/{id}/submitted")).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "submitted.html")]
struct SubmittedPage {
    page: PageContext,
    id: Uuid,
    participant: String,
    cycle: String,
    revision: RevisionRow,
}

/// `GET /assessments/{assessment}/submitted`: "Assessment submitted", with the current
/// revision and its digest. Without a current submission, the assessment itself.
pub async fn submitted(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    // The assessment and its revisions: one transaction.
    let (view, revisions) = service::with_revisions(&state.db, &me, id).await?;
    let current = view.head.state.is_submitted();
    let Some(revision) = revisions
        .into_iter()
        .rev()
        .find(|r| current && r.revision == view.head.revision)
    else {
        return Ok(Redirect::to(&format!("/assessments/{id}")).into_response());
    };
    render(&SubmittedPage {
        participant: participant_name(&page, &view),
        cycle: view.head.cycle_code.clone(),
        page,
        id,
        revision,
    })
}

/// `POST /assessments/{assessment}/accept`.
pub async fn accept(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let view = service::review(&state.db, &me, id, None, &context).await?;
    Ok(back_with(
        &state,
        id,
        "flash.assessment_accepted",
        participant_name(&page, &view),
    ))
}

/// The reason and `note_{goal}` fields of a review form.
fn reasons_of(pairs: &[(String, String)]) -> ReturnReasons {
    ReturnReasons {
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
    }
}

/// `POST /assessments/{assessment}/return`: the reason, and `note_{goal}` fields for answers
/// (the confirmation page's "Yes, return it", and API-like clients).
pub async fn return_to_delegation(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let reasons = reasons_of(&pairs);
    match service::review(&state.db, &me, id, Some(&reasons), &context).await {
        Ok(view) => Ok(back_with(
            &state,
            id,
            "flash.assessment_returned",
            participant_name(&page, &view),
        )),
        // A missing reason (or a note on an unknown goal): the review page, input kept.
        Err(error @ ServiceError::Invalid(_)) => {
            review_refused(&state, &me, page, id, &reasons, error).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /assessments/{assessment}/allow-late`.
pub async fn allow_late(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let view = service::allow_late(&state.db, &me, id, &context).await?;
    Ok(back_with(
        &state,
        id,
        "flash.late_allowed",
        participant_name(&page, &view),
    ))
}

/// One goal on the review page: the submitted answer and the note typed for it.
pub struct ReviewGoal {
    pub code: String,
    pub title: String,
    /// The answer as read: a level with its name, a number with its unit, yes or no.
    pub value: String,
    pub not_applicable: bool,
    pub na_justification: String,
    pub target: String,
    /// Catalogue key of the implementation status, if any.
    pub status_key: Option<String>,
    pub narrative: String,
    pub note: String,
}

/// A section of the review page.
pub struct ReviewSection {
    pub code: String,
    pub title: String,
    pub goals: Vec<ReviewGoal>,
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    page: PageContext,
    id: Uuid,
    participant: String,
    cycle: String,
    state: crate::domain::assessment::AssessmentState,
    revision: i32,
    /// Whether it waits for a review (submitted or resubmitted): the actions are offered.
    reviewable: bool,
    sections: Vec<ReviewSection>,
    reason: String,
    errors: FormErrors,
}

/// An answer value as a reader reads it on its goal's scale.
fn value_shown(page: &PageContext, scale: &AnswerScale, text: &str) -> String {
    let lang = page.tr.lang().code();
    match scale {
        _ if text.is_empty() => String::new(),
        AnswerScale::Maturity { levels } => levels
            .iter()
            .find(|l| l.level.to_string() == text)
            .map_or_else(
                || text.to_owned(),
                |l| format!("{} — {}", l.level, l.name.get(lang)),
            ),
        AnswerScale::Numeric { unit, .. } => format!("{text} {unit}").trim_end().to_owned(),
        AnswerScale::YesNo {} => match text {
            "yes" => page.tr.t("review.yes").to_owned(),
            "no" => page.tr.t("review.no").to_owned(),
            other => other.to_owned(),
        },
    }
}

fn review_page(
    page: PageContext,
    view: &AssessmentView,
    typed: Option<&ReturnReasons>,
    errors: FormErrors,
) -> ReviewPage {
    let lang = page.tr.lang().code();
    let mut sections: Vec<ReviewSection> = Vec::new();
    for (section, goal, _, answer) in view.goals() {
        if sections.last().is_none_or(|s| s.code != section.code) {
            sections.push(ReviewSection {
                code: section.code.clone(),
                title: section.title.get(lang).to_owned(),
                goals: Vec::new(),
            });
        }
        let input = answer.map(|a| a.input()).unwrap_or_default();
        let note = typed
            .and_then(|t| t.notes.iter().find(|n| n.goal == goal.code))
            .map(|n| n.note.clone())
            .unwrap_or_default();
        let shown = ReviewGoal {
            code: goal.code.clone(),
            title: goal.title.get(lang).to_owned(),
            value: value_shown(&page, &goal.scale, &input.value),
            not_applicable: input.not_applicable,
            na_justification: input.na_justification,
            target: value_shown(&page, &goal.scale, &input.target),
            status_key: (!input.implementation_status.is_empty())
                .then(|| format!("implementation_status.{}", input.implementation_status)),
            narrative: input.narrative,
            note,
        };
        if let Some(current) = sections.last_mut() {
            current.goals.push(shown);
        }
    }
    ReviewPage {
        id: view.head.id,
        participant: participant_name(&page, view),
        cycle: view.head.cycle_code.clone(),
        state: view.head.state,
        revision: view.head.revision,
        reviewable: view.head.state.may_review(),
        sections,
        reason: typed.map(|t| t.reason.clone()).unwrap_or_default(),
        errors,
        page,
    }
}

/// Loads an assessment for its review page: admins only (403 before anything is looked up).
async fn load_for_review(
    state: &AppState,
    me: &Principal,
    id: Uuid,
) -> Result<AssessmentView, AppError> {
    if !me.may(Permission::ReviewSubmissions) {
        return Err(AppError::Forbidden);
    }
    Ok(assessments::load(&state.db, me, id).await?)
}

/// The review page again with what was typed and what is wrong (422).
async fn review_refused(
    state: &AppState,
    me: &Principal,
    page: PageContext,
    id: Uuid,
    typed: &ReturnReasons,
    error: ServiceError,
) -> Result<Response, AppError> {
    let view = load_for_review(state, me, id).await?;
    let errors = FormErrors::from_error(&page, error, |_| None)?;
    super::frameworks::refused(&review_page(page, &view, Some(typed), errors))
}

/// `GET /assessments/{assessment}/review`: the submitted answers with a note field beside each,
/// the reason, "Accept" and "Return to the delegation".
pub async fn review(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let view = load_for_review(&state, &me, id).await?;
    render(&review_page(page, &view, None, FormErrors::default()))
}

/// `POST /assessments/{assessment}/review`: the review page again with the reason and notes
/// typed before ("Go back" on the confirmation page). Changes nothing.
pub async fn review_again(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let view = load_for_review(&state, &me, id).await?;
    let typed = reasons_of(&pairs);
    render(&review_page(
        page,
        &view,
        Some(&typed),
        FormErrors::default(),
    ))
}

#[derive(Template)]
#[template(path = "return_confirm.html")]
struct ReturnConfirmPage {
    page: PageContext,
    id: Uuid,
    question: String,
    reason: String,
    /// Goal code, goal title, note: the notes that will be sent, in the framework's order.
    notes: Vec<(String, String, String)>,
}

/// `POST /assessments/{assessment}/return/confirm`: says what a return will do and to whom,
/// with the reason and notes carried in hidden fields. Changes nothing; a missing reason shows
/// the review page with the error and the input kept.
pub async fn confirm_return(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let view = load_for_review(&state, &me, id).await?;
    let typed = reasons_of(&pairs);
    if !view.head.state.may_review() {
        return Err(AppError::Refused("assessment.refused.not_submitted"));
    }
    if typed.reason.trim().is_empty() {
        let errors = FormErrors::from_error(
            &page,
            ServiceError::field("reason", "field.reason.required"),
            |_| None,
        )?;
        return super::frameworks::refused(&review_page(page, &view, Some(&typed), errors));
    }
    let lang = page.tr.lang().code();
    let notes: Vec<(String, String, String)> = view
        .goals()
        .filter_map(|(_, goal, _, _)| {
            typed
                .notes
                .iter()
                .find(|n| n.goal == goal.code && !n.note.trim().is_empty())
                .map(|n| {
                    (
                        goal.code.clone(),
                        goal.title.get(lang).to_owned(),
                        n.note.trim().to_owned(),
                    )
                })
        })
        .collect();
    let count = notes.len().to_string();
    let key = match notes.len() {
        0 => "review.confirm.question_no_notes",
        1 => "review.confirm.question_one_note",
        _ => "review.confirm.question",
    };
    let question = page.tr.fmt(
        key,
        &[
            ("participant", &participant_name(&page, &view)),
            ("cycle", &view.head.cycle_code),
            ("notes", &count),
        ],
    );
    render(&ReturnConfirmPage {
        page,
        id,
        question,
        reason: typed.reason.trim().to_owned(),
        notes,
    })
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
    // The assessment, its revisions and the difference: one transaction.
    let service::Compared {
        revisions,
        from,
        to,
        changes,
        ..
    } = service::compared(&state.db, &me, id, query.from, query.to).await?;
    render(&RevisionsPage {
        page,
        id,
        revisions,
        from,
        to,
        changes,
    })
}
