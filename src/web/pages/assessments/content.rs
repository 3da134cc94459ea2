//! The pages' content, built from one read: `form_of` turns a `services::assessments::AssessmentView`
//! (read with `ReadAssessment` checked, `web::permitted::ReadablePage`) into the sections and
//! goals the templates show, with progress computed by `domain::scoring::roll_up` and what was
//! posted on one goal in place of what is stored; `workflow_of` says what the view's reader may
//! do on it (submit, review, allow late, raise and answer requests, assign).

use super::*;

/// A refused post on one goal, shown in place of what is stored.
pub(super) enum Posted<'a> {
    Answer(&'a str, AnswerInput, FieldErrors),
    Evidence(&'a str, EvidenceDraft),
}

/// What the workflow parts of the pages offer the principal.
#[derive(Default)]
pub struct Workflow {
    /// May submit for this delegation (the head), whatever the state.
    pub may_submit: bool,
    /// May submit now: the permission, and the assessment is editable and started.
    pub can_submit: bool,
    /// Edits answers but does not submit (a contributor): told that the head submits.
    pub contributes: bool,
    pub can_review: bool,
    pub can_allow_late: bool,
    pub revisions: i32,
    pub return_reason: Option<String>,
    pub(super) notes: Vec<(Uuid, String)>,
    /// Raise clarification requests (staff).
    pub can_raise: bool,
    /// Reply to requests (the delegation's editors, and staff).
    pub can_reply: bool,
    /// Resolve requests: own ones, or any for admins.
    pub user: Uuid,
    pub is_admin: bool,
    pub(super) clarifications: Vec<ClarificationView>,
    pub(super) evidence: Vec<EvidenceItem>,
    pub(super) assignments: Vec<crate::services::assignments::Assignment>,
    /// May assign goals to members (the delegation's head, admins).
    pub can_assign: bool,
}

/// What the view's reader may do on it (the permissions about this record, decided from the
/// head read with it).
pub(super) fn workflow_of(view: &AssessmentView) -> Workflow {
    let me = view.reader();
    let head = &view.head;
    let may_submit = me.may(Permission::SubmitForParticipant(head.participant_id));
    Workflow {
        may_submit,
        can_submit: may_submit && view.editable && head.state.may_submit(),
        contributes: view.editable && !may_submit,
        can_review: me.may(Permission::ReviewSubmissions) && head.state.may_review(),
        can_allow_late: me.may(Permission::ReviewSubmissions)
            && head.days_left < 0
            && head.cycle_state.is_open()
            && !head.late_submission_allowed
            && head.state.may_allow_late(),
        revisions: head.revision,
        return_reason: view.around.return_reason.clone(),
        notes: view.around.return_notes.clone(),
        can_raise: me.may(Permission::RaiseClarification),
        can_reply: me.may(Permission::RaiseClarification)
            || me.may(Permission::EditParticipant(head.participant_id)),
        user: me.user_id,
        is_admin: me.role == crate::domain::role::Role::Admin,
        clarifications: view.around.clarifications.clone(),
        evidence: view.around.evidence.clone(),
        assignments: view.around.assignments.clone(),
        can_assign: me.may(Permission::ManageTeam(head.participant_id)),
    }
}

/// Everything the assessment's pages are built from.
pub(super) struct Content {
    pub(super) facts: Facts,
    pub(super) sections: Vec<SectionRow>,
    pub(super) workflow: Workflow,
}

impl Content {
    pub(super) fn goals(&self) -> impl Iterator<Item = (&SectionRow, &GoalRow)> {
        self.sections
            .iter()
            .flat_map(|s| s.goals.iter().map(move |g| (s, g)))
    }

    pub(super) fn ready(&self) -> bool {
        !self.goals().any(|(_, g)| g.missing || g.unconfirmed)
    }
}

/// The number's range, unit and precision in words.
pub(super) fn number_hint(
    page: &PageContext,
    min: crate::domain::scoring::Decimal,
    max: crate::domain::scoring::Decimal,
    unit: &str,
    decimals: i16,
) -> String {
    let lang = page.tr.lang();
    let unit = if unit.trim().is_empty() {
        String::new()
    } else {
        format!(" ({})", unit.trim())
    };
    let min = crate::presentation::format::plain(lang, Some(min));
    let max = crate::presentation::format::plain(lang, Some(max));
    let decimals = decimals.to_string();
    let key = match decimals.as_str() {
        "0" => "assessment.number_whole",
        "1" => "assessment.number_one_decimal",
        _ => "assessment.number_decimals",
    };
    page.tr.fmt(
        key,
        &[
            ("min", &min),
            ("max", &max),
            ("unit", &unit),
            ("decimals", &decimals),
        ],
    )
}

pub(super) fn input_of(answer: Option<&StoredAnswer>) -> AnswerInput {
    answer.map(StoredAnswer::input).unwrap_or_default()
}

/// Builds the pages' content; `posted` shows what was typed on one goal (and its errors)
/// instead of what is stored; `changed` names a goal whose evidence just changed.
pub(super) fn form_of(
    page: &PageContext,
    view: &AssessmentView,
    workflow: Workflow,
    posted: Option<&Posted>,
    changed: Option<&str>,
) -> Content {
    let lang = page.tr.lang().code();
    let method = view.framework.framework.roll_up;
    let mut sections: Vec<SectionRow> = Vec::new();
    let mut all = Vec::new();
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
        let (input, errors) = match posted {
            Some(Posted::Answer(code, input, errors)) if *code == goal.code => {
                (input.clone(), errors.clone())
            }
            _ => (input_of(answer), FieldErrors::new()),
        };
        let draft = match posted {
            Some(Posted::Evidence(code, draft)) if *code == goal.code => draft.clone(),
            _ => EvidenceDraft::default(),
        };
        let (kind, levels, hint) = match &goal.scale {
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
            AnswerScale::Numeric {
                min,
                max,
                unit,
                decimals,
            } => (
                "numeric",
                Vec::new(),
                number_hint(page, *min, *max, unit, *decimals),
            ),
            AnswerScale::YesNo {} => ("yes_no", Vec::new(), String::new()),
        };
        let evidence_open = !draft.errors.is_empty() || changed == Some(goal.code.as_str());
        if let Some(section) = sections.last_mut() {
            section.goals.push(GoalRow {
                code: goal.code.clone(),
                title: goal.title.get(lang).to_owned(),
                guidance: goal.guidance.get(lang).to_owned(),
                kind,
                levels,
                number_hint: hint,
                input,
                row_version: answer.map_or(0, |a| a.row_version),
                stored: answer.is_some(),
                unconfirmed: answer.is_some_and(|a| a.unconfirmed),
                entered_by_secretariat: answer
                    .filter(|a| a.entered_on_behalf)
                    .map(|a| page.when(&a.updated_at)),
                missing: rolled.applicable > rolled.answered,
                updated: answer
                    .map(|a| {
                        format!(
                            "{} {}",
                            page.when(&a.updated_at),
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
                evidence_open,
                holders: workflow
                    .assignments
                    .iter()
                    .filter(|a| a.goal_id == goal_id)
                    .map(|a| a.display_name.clone())
                    .collect(),
                mine: workflow
                    .assignments
                    .iter()
                    .any(|a| a.goal_id == goal_id && a.user_id == workflow.user),
            });
        }
    }
    let overall = roll_up(method, &all);
    let head = &view.head;
    Content {
        facts: Facts {
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
            state: head.state,
            deadline: head.deadline,
            days_left: head.days_left,
            editable: view.editable,
            answered: overall.answered,
            applicable: overall.applicable,
        },
        sections,
        workflow,
    }
}
