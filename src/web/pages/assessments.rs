//! The assessment form: goals grouped by section, progress and what is missing, one form per
//! goal (works without JavaScript), and a conflict page when someone saved the same answer first.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::ACCEPT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{PageContext, render};
use crate::auth::Principal;
use crate::domain::answer::AnswerInput;
use crate::domain::framework::AnswerScale;
use crate::domain::scoring::{ScoredGoal, roll_up};
use crate::services::ServiceError;
use crate::services::assessments::{self as service, AssessmentView, SaveError};
use crate::storage::answers::StoredAnswer;
use crate::storage::audit::RequestContext;
use crate::storage::clarifications::ClarificationView;
use crate::storage::evidence::EvidenceItem;
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, FieldErrors};

/// One level offered for a maturity goal.
pub struct LevelChoice {
    pub level: i16,
    pub name: String,
    pub descriptor: String,
}

/// One goal as the form shows it.
pub struct GoalRow {
    pub code: String,
    pub title: String,
    pub guidance: String,
    pub kind: &'static str,
    pub levels: Vec<LevelChoice>,
    pub range: String,
    pub input: AnswerInput,
    pub row_version: i64,
    pub unconfirmed: bool,
    pub updated: String,
    pub errors: FieldErrors,
    /// The secretariat's note on this answer from the latest return.
    pub return_note: Option<String>,
    /// Clarification requests on this answer.
    pub clarifications: Vec<ClarificationView>,
    /// Links, files and planned actions on this answer.
    pub evidence: Vec<EvidenceItem>,
    /// What was typed into this goal's evidence forms when it was refused.
    pub draft: EvidenceDraft,
}

/// What was typed into one goal's evidence forms, kept (with its errors) when it is refused.
#[derive(Default, Clone)]
pub struct EvidenceDraft {
    pub url: String,
    pub label: String,
    pub description: String,
    pub due_on: String,
    pub errors: FieldErrors,
}

/// A refused post on one goal, shown in place of what is stored.
enum Posted<'a> {
    Answer(&'a str, AnswerInput, FieldErrors),
    Evidence(&'a str, EvidenceDraft),
}

/// What the workflow panel offers the principal.
#[derive(Default)]
pub struct Workflow {
    pub can_submit: bool,
    pub can_review: bool,
    pub can_allow_late: bool,
    pub revisions: i32,
    pub return_reason: Option<String>,
    notes: Vec<(Uuid, String)>,
    /// Raise clarification requests (staff).
    pub can_raise: bool,
    /// Reply to requests (the delegation's editors, and staff).
    pub can_reply: bool,
    /// Resolve requests: own ones, or any for admins.
    pub user: Uuid,
    pub is_admin: bool,
    clarifications: Vec<ClarificationView>,
    evidence: Vec<EvidenceItem>,
}

async fn workflow_of(
    state: &AppState,
    me: &Principal,
    view: &AssessmentView,
) -> Result<Workflow, AppError> {
    use crate::auth::policy::Permission;
    let head = &view.head;
    let submitted = matches!(head.state.as_str(), "submitted" | "resubmitted");
    let mut workflow = Workflow {
        can_submit: me.may(Permission::SubmitForParticipant(head.participant_id))
            && view.editable
            && head.state != "not_started",
        can_review: me.may(Permission::ReviewSubmissions) && submitted,
        can_allow_late: me.may(Permission::ReviewSubmissions)
            && head.days_left < 0
            && head.cycle_state == "open"
            && !head.late_submission_allowed
            && !submitted
            && head.state != "accepted",
        revisions: head.revision,
        can_raise: me.may(Permission::RaiseClarification),
        can_reply: me.may(Permission::RaiseClarification)
            || me.may(Permission::EditParticipant(head.participant_id)),
        user: me.user_id,
        is_admin: me.role == crate::domain::role::Role::Admin,
        clarifications: crate::services::clarifications::for_assessment(&state.db, me, head.id)
            .await?,
        evidence: crate::services::evidence::list(&state.db, me, head.id).await?,
        ..Workflow::default()
    };
    if head.state == "returned" {
        workflow.notes = crate::services::workflow::return_notes(&state.db, me, head.id).await?;
        let revisions = crate::services::workflow::revisions(&state.db, me, head.id).await?;
        workflow.return_reason = revisions.last().and_then(|r| r.reason.clone());
    }
    Ok(workflow)
}

/// A section with its goals and progress.
pub struct SectionRow {
    pub code: String,
    pub title: String,
    pub answered: u32,
    pub applicable: u32,
    pub goals: Vec<GoalRow>,
}

/// Progress as a whole percentage.
fn percent(answered: u32, applicable: u32) -> u32 {
    (answered * 100).checked_div(applicable).unwrap_or(100)
}

#[derive(Template)]
#[template(path = "assessment.html")]
struct AssessmentPage {
    page: PageContext,
    id: Uuid,
    participant: String,
    cycle: String,
    state: String,
    deadline: String,
    days_left: i32,
    editable: bool,
    answered: u32,
    applicable: u32,
    unconfirmed: usize,
    missing: Vec<(String, String)>,
    sections: Vec<SectionRow>,
    workflow: Workflow,
}

impl AssessmentPage {
    fn may_resolve(&self, request: &ClarificationView) -> bool {
        request.state != "resolved"
            && (self.workflow.is_admin || request.raised_by == Some(self.workflow.user))
    }

    fn open_requests(&self) -> usize {
        self.workflow
            .clarifications
            .iter()
            .filter(|c| c.state != "resolved")
            .count()
    }

    fn message_text(message: &serde_json::Value, field: &str) -> String {
        message
            .get(field)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    }

    fn percent(&self) -> u32 {
        percent(self.answered, self.applicable)
    }

    fn section_percent(&self, section: &SectionRow) -> u32 {
        percent(section.answered, section.applicable)
    }
}

fn input_of(answer: Option<&StoredAnswer>) -> AnswerInput {
    answer.map(StoredAnswer::input).unwrap_or_default()
}

/// Builds the page; `posted` shows what was typed on one goal (and its errors) instead of
/// what is stored.
fn page_of(
    page: PageContext,
    view: &AssessmentView,
    workflow: Workflow,
    posted: Option<Posted>,
) -> AssessmentPage {
    let lang = page.tr.lang().code();
    let method = view.framework.framework.roll_up;
    let mut sections: Vec<SectionRow> = Vec::new();
    let mut all = Vec::new();
    let mut missing = Vec::new();
    let mut unconfirmed = 0;
    for (section, goal, goal_id, answer) in view.goals() {
        if sections.last().is_none_or(|s| s.code != section.code) {
            sections.push(SectionRow {
                code: section.code.clone(),
                title: section.title.get(lang).to_owned(),
                answered: 0,
                applicable: 0,
                goals: Vec::new(),
            });
        }
        let scored = ScoredGoal::new(
            goal.weight,
            goal.scale.score_scale(),
            answer.map_or(
                crate::domain::scoring::AnswerState::Missing,
                StoredAnswer::state,
            ),
        );
        all.push(scored);
        let rolled = roll_up(method, [&scored]);
        if let Some(current) = sections.last_mut() {
            current.answered += rolled.answered;
            current.applicable += rolled.applicable;
        }
        if rolled.applicable > rolled.answered {
            missing.push((goal.code.clone(), goal.title.get(lang).to_owned()));
        }
        if answer.is_some_and(|a| a.unconfirmed) {
            unconfirmed += 1;
        }
        let (input, errors) = match &posted {
            Some(Posted::Answer(code, input, errors)) if *code == goal.code => {
                (input.clone(), errors.clone())
            }
            _ => (input_of(answer), FieldErrors::new()),
        };
        let draft = match &posted {
            Some(Posted::Evidence(code, draft)) if *code == goal.code => draft.clone(),
            _ => EvidenceDraft::default(),
        };
        let (kind, levels, range) = match &goal.scale {
            AnswerScale::Maturity { levels } => (
                "maturity",
                levels
                    .iter()
                    .map(|l| LevelChoice {
                        level: l.level,
                        name: l.name.get(lang).to_owned(),
                        descriptor: l.descriptor.get(lang).to_owned(),
                    })
                    .collect(),
                String::new(),
            ),
            AnswerScale::Numeric { min, max, unit, .. } => {
                ("numeric", Vec::new(), format!("{min}–{max} {unit}"))
            }
            AnswerScale::YesNo {} => ("yes_no", Vec::new(), String::new()),
        };
        if let Some(section) = sections.last_mut() {
            section.goals.push(GoalRow {
                code: goal.code.clone(),
                title: goal.title.get(lang).to_owned(),
                guidance: goal.guidance.get(lang).to_owned(),
                kind,
                levels,
                range,
                input,
                row_version: answer.map_or(0, |a| a.row_version),
                unconfirmed: answer.is_some_and(|a| a.unconfirmed),
                updated: answer
                    .map(|a| {
                        format!(
                            "{} {}",
                            a.updated_at.date(),
                            a.updated_by_name.clone().unwrap_or_default()
                        )
                    })
                    .unwrap_or_default(),
                errors,
                return_note: workflow
                    .notes
                    .iter()
                    .find(|(g, _)| *g == goal_id)
                    .map(|(_, n)| n.clone()),
                clarifications: workflow
                    .clarifications
                    .iter()
                    .filter(|c| c.goal_code == goal.code)
                    .cloned()
                    .collect(),
                evidence: workflow
                    .evidence
                    .iter()
                    .filter(|e| e.goal_code == goal.code)
                    .cloned()
                    .collect(),
                draft,
            });
        }
    }
    let overall = roll_up(method, &all);
    let head = &view.head;
    AssessmentPage {
        id: head.id,
        participant: format!(
            "{} — {}",
            head.participant_code,
            if lang == "fr" {
                &head.participant_name_fr
            } else {
                &head.participant_name_en
            }
        ),
        cycle: head.cycle_code.clone(),
        state: head.state.clone(),
        deadline: head.deadline.to_string(),
        days_left: head.days_left,
        editable: view.editable,
        answered: overall.answered,
        applicable: overall.applicable,
        unconfirmed,
        missing,
        sections,
        workflow,
        page,
    }
}

/// `GET /assessments/{assessment}`.
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let view = service::load(&state.db, &me, id).await?;
    let workflow = workflow_of(&state, &me, &view).await?;
    render(&page_of(page, &view, workflow, None))
}

/// One goal's form: the answer and the version it was read at.
#[derive(Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    value: String,
    #[serde(default)]
    not_applicable: Option<String>,
    #[serde(default)]
    na_justification: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    implementation_status: String,
    #[serde(default)]
    narrative: String,
    #[serde(default)]
    row_version: i64,
}

impl AnswerForm {
    fn input(&self) -> AnswerInput {
        AnswerInput {
            value: self.value.clone(),
            not_applicable: self.not_applicable.is_some(),
            na_justification: self.na_justification.clone(),
            target: self.target.clone(),
            implementation_status: self.implementation_status.clone(),
            narrative: self.narrative.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "answer_conflict.html")]
struct ConflictPage {
    page: PageContext,
    id: Uuid,
    goal: String,
    mine: AnswerInput,
    theirs: AnswerInput,
    theirs_by: String,
    theirs_version: i64,
}

/// `POST /assessments/{assessment}/goals/{goal}`: saves one answer; a concurrent save shows both
/// versions and lets the user choose.
pub async fn save(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    context: RequestContext,
    Path((id, goal)): Path<(Uuid, String)>,
    headers: HeaderMap,
    Form(form): Form<AnswerForm>,
) -> Result<Response, AppError> {
    let input = form.input();
    let result = service::save_answer(
        &state.db,
        &me,
        id,
        &goal,
        form.row_version,
        &input,
        &context,
    )
    .await;
    if wants_json(&headers) {
        return autosave_answer(&page, result);
    }
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/assessments/{id}#goal-{goal}")).into_response()),
        Err(SaveError::Invalid(errors)) => {
            refused_with(&state, &me, page, id, &goal, input, errors).await
        }
        Err(SaveError::Conflict(theirs)) => {
            let theirs = *theirs;
            let mut response = render(&ConflictPage {
                theirs: input_of(theirs.as_ref()),
                theirs_by: theirs
                    .as_ref()
                    .map(|a| {
                        format!(
                            "{} ({})",
                            a.updated_by_name.clone().unwrap_or_default(),
                            a.updated_at.date()
                        )
                    })
                    .unwrap_or_default(),
                theirs_version: theirs.as_ref().map_or(0, |a| a.row_version),
                page,
                id,
                goal,
                mine: input,
            })?;
            *response.status_mut() = axum::http::StatusCode::CONFLICT;
            Ok(response)
        }
        Err(SaveError::Other(ServiceError::NotFound)) => Err(AppError::NotFound),
        Err(SaveError::Other(error)) => Err(error.into()),
    }
}

/// Whether the request comes from the autosave script, which reads JSON.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.starts_with("application/json"))
}

/// The autosave script's answer: the new version to send next time, or what stopped the save
/// (in the user's language). A conflict is only reported: the Save button shows both versions.
fn autosave_answer(
    page: &PageContext,
    result: Result<i64, SaveError>,
) -> Result<Response, AppError> {
    match result {
        Ok(row_version) => {
            let now = time::OffsetDateTime::now_utc();
            let saved_at = format!("{:02}:{:02} UTC", now.hour(), now.minute());
            Ok(Json(json!({ "row_version": row_version, "saved_at": saved_at })).into_response())
        }
        Err(SaveError::Invalid(errors)) => {
            let fields: serde_json::Map<String, serde_json::Value> = errors
                .iter()
                .map(|(field, key)| (field.clone(), page.tr.t(key).into()))
                .collect();
            let body = json!({ "error": { "code": "invalid_input", "fields": fields } });
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response())
        }
        Err(SaveError::Conflict(_)) => {
            let body = json!({ "error": { "code": "stale" } });
            Ok((StatusCode::CONFLICT, Json(body)).into_response())
        }
        // A refusal the user can act on (submitted meanwhile, cycle closed) is said in words;
        // anything else takes the normal error path (and its logging).
        Err(SaveError::Other(
            error @ (ServiceError::Refused(_) | ServiceError::Forbidden | ServiceError::NotFound),
        )) => {
            let error = AppError::from(error);
            let body = json!({ "error": { "code": error.code(), "message": page.tr.t(&error.message_key()) } });
            Ok((error.status_code(), Json(body)).into_response())
        }
        Err(SaveError::Other(error)) => Err(error.into()),
    }
}

async fn refused_with(
    state: &AppState,
    me: &Principal,
    page: PageContext,
    id: Uuid,
    goal: &str,
    input: AnswerInput,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let view = service::load(&state.db, me, id).await?;
    let workflow = workflow_of(state, me, &view).await?;
    let posted = Posted::Answer(goal, input, errors);
    let mut response = render(&page_of(page, &view, workflow, Some(posted)))?;
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// The form again, with a goal's refused evidence input kept and its errors shown (422).
pub async fn evidence_refused(
    state: &AppState,
    me: &Principal,
    page: PageContext,
    id: Uuid,
    goal: &str,
    draft: EvidenceDraft,
) -> Result<Response, AppError> {
    let view = service::load(&state.db, me, id).await?;
    let workflow = workflow_of(state, me, &view).await?;
    let posted = Posted::Evidence(goal, draft);
    let mut response = render(&page_of(page, &view, workflow, Some(posted)))?;
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}
