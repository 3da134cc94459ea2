//! The assessment form: reading an assessment with its answers, and saving one answer so that
//! two people editing the same answer never overwrite each other silently.

use std::collections::HashMap;

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::ServiceError;
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::domain::answer::{AnswerInput, CheckedAnswer, value_text};
use crate::domain::assessment::answers_may_change;
use crate::domain::framework::{Goal, Section};
use crate::domain::scoring::AnswerState;
use crate::storage::answers::{self as store, AssessmentHead, StoredAnswer};
use crate::storage::audit::{Actor, NewEntry, RequestContext};
use crate::storage::frameworks::{self, FrameworkRecord};
use crate::storage::{self};

/// An assessment with its framework and answers, as the form shows it.
pub struct AssessmentView {
    pub head: AssessmentHead,
    pub framework: FrameworkRecord,
    /// By goal id.
    pub answers: HashMap<Uuid, StoredAnswer>,
    /// Whether the principal may change answers now.
    pub editable: bool,
}

impl AssessmentView {
    /// The goal with this code, with its section, id and answer (if any).
    pub fn goal(&self, code: &str) -> Option<(&Section, &Goal, Uuid, Option<&StoredAnswer>)> {
        let (section, goal, id) = self.framework.goal(code)?;
        Some((section, goal, id, self.answers.get(&id)))
    }

    /// Every goal with its section and answer (if any), in order.
    pub fn goals(&self) -> impl Iterator<Item = (&Section, &Goal, Uuid, Option<&StoredAnswer>)> {
        self.framework
            .framework
            .goals()
            .zip(&self.framework.goal_ids)
            .map(|((section, goal), id)| (section, goal, *id, self.answers.get(id)))
    }
}

/// Loads an assessment for a principal who may read it (analysts: only once submitted).
pub async fn load(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
) -> Result<AssessmentView, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let head = store::head(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let submitted = head.state.is_submitted();
    if !principal.may(Permission::ReadAssessment {
        participant: head.participant_id,
        submitted,
    }) {
        return Err(ServiceError::Forbidden);
    }
    let framework = frameworks::load(&mut tx, head.framework_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let answers = store::list(&mut tx, id)
        .await?
        .into_iter()
        .map(|a| (a.goal_id, a))
        .collect();
    tx.commit().await?;
    let editable = principal.may(Permission::EditParticipant(head.participant_id))
        && answers_may_change(head.state, head.cycle_state).is_ok();
    Ok(AssessmentView {
        head,
        framework,
        answers,
        editable,
    })
}

/// Why an answer was not saved.
#[derive(Debug)]
pub enum SaveError {
    /// Fields are wrong (field → catalogue key).
    Invalid(super::FieldProblems),
    /// Someone saved this answer since it was read: theirs is returned, nothing was written.
    Conflict(Box<Option<StoredAnswer>>),
    Other(ServiceError),
}

impl From<sqlx::Error> for SaveError {
    fn from(error: sqlx::Error) -> Self {
        SaveError::Other(ServiceError::Sql(error))
    }
}

/// Saves one goal's answer if it is still at `expected_row_version` (0 for a goal not answered
/// yet); returns the new row version.
pub async fn save_answer(
    pool: &PgPool,
    principal: &Principal,
    assessment: Uuid,
    goal_code: &str,
    expected_row_version: i64,
    input: &AnswerInput,
    context: &RequestContext,
) -> Result<i64, SaveError> {
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    let head = store::head(&mut tx, assessment)
        .await?
        .ok_or(SaveError::Other(ServiceError::NotFound))?;
    if !principal.may(Permission::EditParticipant(head.participant_id)) {
        return Err(SaveError::Other(ServiceError::Forbidden));
    }
    // Locked: a submission cannot slip in between this check and the write.
    let (state, cycle_state) = store::lock(&mut tx, assessment)
        .await?
        .ok_or(SaveError::Other(ServiceError::NotFound))?;
    answers_may_change(state, cycle_state)
        .map_err(|key| SaveError::Other(ServiceError::Refused(key)))?;
    let framework = frameworks::load(&mut tx, head.framework_id)
        .await?
        .ok_or(SaveError::Other(ServiceError::NotFound))?;
    let (_, goal, goal_id) = framework
        .goal(goal_code)
        .ok_or(SaveError::Other(ServiceError::NotFound))?;
    let checked = input.check(&goal.scale).map_err(SaveError::Invalid)?;
    let before = store::lock_answer(&mut tx, assessment, goal_id).await?;
    let current_version = before.as_ref().map_or(0, |a| a.row_version);
    if current_version != expected_row_version {
        // The same save again (a double click, a retried request) finds its own work done:
        // that is success, not a conflict, and nothing is written twice.
        let repeated = before.as_ref().is_some_and(|stored| {
            current_version == expected_row_version + 1
                && !stored.unconfirmed
                && stored.input().check(&goal.scale).as_ref() == Ok(&checked)
        });
        if repeated {
            return Ok(current_version);
        }
        return Err(SaveError::Conflict(Box::new(before)));
    }
    let new_version = store::write(
        &mut tx,
        assessment,
        head.participant_id,
        goal_id,
        &checked,
        principal.user_id,
    )
    .await?;
    store::touch(&mut tx, assessment).await?;
    let old = before.as_ref().map(stored_for_audit);
    let new = checked_for_audit(&checked);
    tx.commit(
        &NewEntry::new(
            Actor::User(principal.user_id),
            "answer.update",
            json!({ "goal": goal_code, "old": old, "new": new }),
        )
        .about("answer", format!("{assessment}/{goal_code}"))
        .for_participant(Some(head.participant_id))
        .from_request(context),
    )
    .await?;
    Ok(new_version)
}

/// An answer as the audit log records what it was.
pub(super) fn stored_for_audit(answer: &StoredAnswer) -> serde_json::Value {
    json!({ "value": value_text(answer.value()), "not_applicable": answer.not_applicable,
            "na_justification": answer.na_justification, "target": value_text(answer.target()),
            "implementation_status": answer.implementation_status, "narrative": answer.narrative })
}

/// An answer as the audit log records what it became: as stored (e.g. "12.5" for a typed
/// "12,5"), so old and new compare like for like.
pub(super) fn checked_for_audit(answer: &CheckedAnswer) -> serde_json::Value {
    let value = match answer.state {
        AnswerState::Answered(value) => Some(value),
        _ => None,
    };
    json!({ "value": value_text(value), "not_applicable": answer.state == AnswerState::NotApplicable,
            "na_justification": answer.na_justification, "target": value_text(answer.target),
            "implementation_status": answer.implementation_status, "narrative": answer.narrative })
}
