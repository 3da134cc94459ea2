//! The task list: the assessment's sections and goals, what is left to do, the workflow's
//! next step and the open clarification requests (`GET /assessments/{assessment}`).

use super::*;

#[derive(Template)]
#[template(path = "assessment.html")]
pub(super) struct TaskListPage {
    page: PageContext,
    facts: Facts,
    sections: Vec<SectionRow>,
    workflow: Workflow,
    /// Goals carrying the reviewer's notes (returned assessments).
    notes: Vec<GoalLink>,
    /// Open clarification requests.
    requests: Vec<GoalLink>,
    unconfirmed: usize,
    /// Only the sections holding goals assigned to the reader (`?mine=1`).
    mine: bool,
}

impl TaskListPage {
    fn section_href(&self, section: &SectionRow) -> String {
        if self.mine {
            format!("{}?mine=1", section.path(self.facts.id))
        } else {
            section.path(self.facts.id)
        }
    }

    fn shown(&self, section: &SectionRow) -> bool {
        !self.mine || section.mine() > 0
    }

    fn any_mine(&self) -> bool {
        self.sections.iter().any(|s| s.mine() > 0)
    }
}

pub(super) fn goal_href(id: Uuid, section: &SectionRow, goal: &GoalRow) -> String {
    format!("{}#goal-{}", section.path(id), goal.code)
}

/// `GET /assessments/{assessment}`: the task list.
pub async fn show(
    ReadablePage(view): ReadablePage,
    page: PageContext,
    Query(filter): Query<MineQuery>,
) -> Result<Response, AppError> {
    let id = view.head.id;
    let workflow = workflow_of(&view);
    let form = form_of(&page, &view, workflow, None, None);
    let mut notes = Vec::new();
    let mut requests = Vec::new();
    for (section, goal) in form.goals() {
        if let Some(note) = &goal.return_note {
            notes.push(GoalLink {
                anchor: format!("note-{}", goal.code),
                href: goal_href(id, section, goal),
                code: goal.code.clone(),
                text: note.clone(),
            });
        }
        for request in goal.clarifications.iter().filter(|c| c.state != "resolved") {
            requests.push(GoalLink {
                anchor: format!("clarification-{}", request.id),
                href: format!("{}#clarification-{}", section.path(id), request.id),
                code: goal.code.clone(),
                text: request.question.clone(),
            });
        }
    }
    let unconfirmed = form.goals().filter(|(_, g)| g.unconfirmed).count();
    render(&TaskListPage {
        page,
        facts: form.facts,
        sections: form.sections,
        workflow: form.workflow,
        notes,
        requests,
        unconfirmed,
        mine: filter.on(),
    })
}
