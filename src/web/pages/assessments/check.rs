//! The check page before submitting: what is missing, what is unconfirmed, whether it is
//! ready (`GET /assessments/{assessment}/check`).

use super::*;

#[derive(Template)]
#[template(path = "assessment_check.html")]
pub(super) struct CheckPage {
    page: PageContext,
    facts: Facts,
    sections: Vec<SectionRow>,
    workflow: Workflow,
    /// Still to answer, then unconfirmed.
    missing: Vec<GoalLink>,
    unconfirmed: Vec<GoalLink>,
    ready: bool,
}

impl CheckPage {
    fn goal_href(&self, section: &SectionRow, goal: &GoalRow) -> String {
        goal_href(self.facts.id, section, goal)
    }
}

/// `GET /assessments/{assessment}/check`: every answer by section before submitting, what is
/// missing or unconfirmed first. Only for those who may submit (403 otherwise, as the submit).
pub async fn check(
    ReadablePage(view): ReadablePage,
    page: PageContext,
) -> Result<Response, AppError> {
    let id = view.head.id;
    let workflow = workflow_of(&view);
    if !workflow.may_submit {
        return Err(AppError::Forbidden);
    }
    let form = form_of(&page, &view, workflow, None, None);
    let link = |section: &SectionRow, goal: &GoalRow| GoalLink {
        anchor: String::new(),
        href: goal_href(id, section, goal),
        code: goal.code.clone(),
        text: goal.title.clone(),
    };
    let missing = form
        .goals()
        .filter(|(_, g)| g.missing)
        .map(|(s, g)| link(s, g))
        .collect();
    let unconfirmed = form
        .goals()
        .filter(|(_, g)| g.unconfirmed)
        .map(|(s, g)| link(s, g))
        .collect();
    let ready = form.ready();
    render(&CheckPage {
        page,
        facts: form.facts,
        sections: form.sections,
        workflow: form.workflow,
        missing,
        unconfirmed,
        ready,
    })
}
