//! One section's page: its goals' forms, the previous/next sections, a refused save shown
//! again with what was typed, and the link to a goal on its section page.

use super::*;

/// A section's neighbour, for the previous/next links.
pub struct Neighbour {
    pub href: String,
    pub code: String,
    pub title: String,
}

/// An error in the summary at the top of a refused page: the control it links to and the
/// message (a catalogue key).
pub struct SummaryError {
    pub href: String,
    pub goal: String,
    pub key: String,
}

#[derive(Template)]
#[template(path = "assessment_section.html")]
pub(super) struct SectionPage {
    page: PageContext,
    facts: Facts,
    section: SectionRow,
    workflow: Workflow,
    previous: Option<Neighbour>,
    next: Option<Neighbour>,
    position: usize,
    count: usize,
    summary: Vec<SummaryError>,
    /// Only the goals assigned to the reader (`?mine=1`).
    mine: bool,
}

impl SectionPage {
    fn may_resolve(&self, request: &ClarificationView) -> bool {
        request.state != "resolved"
            && (self.workflow.is_admin || request.raised_by == Some(self.workflow.user))
    }

    fn message_text(message: &serde_json::Value, field: &str) -> String {
        message
            .get(field)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    }
}

/// Builds the page of the section `code`; `None` when the framework has no such section.
pub(super) fn section_page(page: PageContext, form: Content, code: &str) -> Option<SectionPage> {
    let Content {
        facts,
        mut sections,
        workflow,
    } = form;
    let position = sections.iter().position(|s| s.code == code)?;
    let neighbour = |s: &SectionRow| Neighbour {
        href: s.path(facts.id),
        code: s.code.clone(),
        title: s.title.clone(),
    };
    let previous = position
        .checked_sub(1)
        .and_then(|p| sections.get(p))
        .map(neighbour);
    let next = sections.get(position + 1).map(neighbour);
    let count = sections.len();
    let section = sections.swap_remove(position);
    let mut summary = Vec::new();
    for goal in &section.goals {
        for (field, key) in goal.errors.iter().chain(goal.draft.errors.iter()) {
            summary.push(SummaryError {
                href: format!("#{}", goal.anchor(field)),
                goal: goal.code.clone(),
                key: key.clone(),
            });
        }
    }
    Some(SectionPage {
        page,
        facts,
        section,
        workflow,
        previous,
        next,
        position: position + 1,
        count,
        summary,
        mine: false,
    })
}

/// What the section page's address may carry: the goal whose evidence just changed (its
/// evidence block starts open).
#[derive(Deserialize, Default)]
pub struct SectionQuery {
    #[serde(default)]
    evidence: Option<String>,
    /// `1`: only the goals assigned to the reader.
    #[serde(default)]
    mine: Option<String>,
}

/// `GET /assessments/{assessment}/sections/{section}`.
pub async fn show_section(
    ReadablePage(view): ReadablePage,
    page: PageContext,
    Path((_, code)): Path<(Uuid, String)>,
    Query(query): Query<SectionQuery>,
) -> Result<Response, AppError> {
    let workflow = workflow_of(&view);
    let form = form_of(&page, &view, workflow, None, query.evidence.as_deref());
    let mut shown = section_page(page, form, &code).ok_or(AppError::NotFound)?;
    shown.mine = MineQuery { mine: query.mine }.on();
    if shown.mine {
        for neighbour in [&mut shown.previous, &mut shown.next].into_iter().flatten() {
            neighbour.href.push_str("?mine=1");
        }
    }
    render(&shown)
}

/// The section page again with what was posted on one goal and its errors (422).
pub(super) async fn refused_page(
    state: &AppState,
    me: &Principal,
    page: PageContext,
    id: Uuid,
    posted: Posted<'_>,
) -> Result<Response, AppError> {
    let view = service::load_page(&state.db, me, id).await?;
    let workflow = workflow_of(&view);
    let goal = match &posted {
        Posted::Answer(goal, ..) | Posted::Evidence(goal, _) => *goal,
    };
    // The goal's own section, whichever page the form was on.
    let code = section_of(&view, goal).ok_or(AppError::NotFound)?;
    let form = form_of(&page, &view, workflow, Some(&posted), None);
    let mut response = render(&section_page(page, form, &code).ok_or(AppError::NotFound)?)?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// The code of the section holding `goal`.
pub(super) fn section_of(view: &AssessmentView, goal: &str) -> Option<String> {
    view.goal(goal).map(|(section, ..)| section.code.clone())
}

/// The address of the section page that shows `goal` of an assessment, at that goal (the
/// task list when the goal is unknown).
pub async fn goal_page(
    state: &AppState,
    me: &Principal,
    id: Uuid,
    goal: &str,
    evidence_changed: bool,
) -> Result<String, AppError> {
    let view = service::load(&state.db, me, id).await?;
    Ok(match section_of(&view, goal) {
        Some(section) if evidence_changed => {
            let goal_q: String = form_urlencoded::byte_serialize(goal.as_bytes()).collect();
            format!("/assessments/{id}/sections/{section}?evidence={goal_q}#goal-{goal}")
        }
        Some(section) => format!("/assessments/{id}/sections/{section}#goal-{goal}"),
        None => format!("/assessments/{id}"),
    })
}
