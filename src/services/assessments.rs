//! The assessment form: reading an assessment with its answers, and saving one answer so that
//! two people editing the same answer never overwrite each other silently.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::ServiceError;
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::domain::answer::{AnswerInput, CheckedAnswer, value_text};
use crate::domain::assessment::{AssessmentState, answers_may_change};
use crate::domain::framework::{Goal, Section};
use crate::domain::scoring::AnswerState;
use crate::storage::answers as store;
use crate::storage::assessments as reviews;
use crate::storage::audit::{Actor, NewEntry, RequestContext};
use crate::storage::clarifications::{self, ClarificationView};
use crate::storage::evidence::{self, EvidenceItem};
use crate::storage::frameworks::{self, FrameworkRecord};
use crate::storage::{self};

pub use crate::storage::assessments::{AssessmentFilter, AssessmentListItem};

pub use crate::storage::answers::{AssessmentHead, StoredAnswer};

/// An assessment with everything its pages show, read once, in one transaction, with the
/// permission already checked: the read model of the task list, the section pages, the check
/// page, the review page and the API's assessment read.
///
/// **Holding one is the proof of `ReadAssessment`.** Its `reader` field is private, so no code
/// outside this module can build one: the only ways to get an `AssessmentView` are [`load`] and
/// [`load_page`], which check `Permission::ReadAssessment` (and compute `editable` from
/// `EditParticipant` and the states) for the principal they read it for. A handler that receives
/// one (the extractors `Readable` and `ReadablePage` of `web::permitted` call these two) neither
/// checks again nor reads again; a service that takes `&AssessmentView`
/// (`workflow::revisions`) reads the view with [`read_in`] in its own transaction and reads on
/// in the same one.
pub struct AssessmentView {
    pub head: AssessmentHead,
    pub framework: Arc<FrameworkRecord>,
    /// By goal id.
    pub answers: HashMap<Uuid, StoredAnswer>,
    /// Whether the principal may change answers now.
    pub editable: bool,
    /// What surrounds the answers on the pages ([`load_page`]); empty after [`load`].
    pub around: Around,
    /// Who it was read for, the permission checked: private, so only this module builds one.
    reader: Principal,
}

/// What the pages show around the answers, read with them.
#[derive(Debug, Clone, Default)]
pub struct Around {
    /// Clarification requests on this assessment's answers.
    pub clarifications: Vec<ClarificationView>,
    /// Links, files and planned actions on its answers.
    pub evidence: Vec<EvidenceItem>,
    /// While returned: the secretariat's notes on answers (goal id, note) and its reason.
    pub return_notes: Vec<(Uuid, String)>,
    pub return_reason: Option<String>,
    /// Who holds which goal (storage::assignments).
    pub assignments: Vec<crate::storage::assignments::Assignment>,
}

impl AssessmentView {
    /// The principal it was read for (and whose `ReadAssessment` was checked).
    pub fn reader(&self) -> &Principal {
        &self.reader
    }

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

/// Frozen framework versions, read once per process: a version used by a cycle can never
/// change (migration 0008's triggers), so every assessment page and save reuses it instead of
/// reading its sections, goals and levels again. Only frozen versions are kept.
static FROZEN: LazyLock<RwLock<HashMap<Uuid, Arc<FrameworkRecord>>>> =
    LazyLock::new(Default::default);

/// The framework version of an assessment (from [`FROZEN`] when it was read before).
async fn framework_of(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<Arc<FrameworkRecord>, ServiceError> {
    if let Some(found) = FROZEN.read().ok().and_then(|map| map.get(&id).cloned()) {
        return Ok(found);
    }
    let record = Arc::new(
        frameworks::load(conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?,
    );
    if record.frozen
        && let Ok(mut map) = FROZEN.write()
    {
        map.insert(id, Arc::clone(&record));
    }
    Ok(record)
}

/// Loads an assessment for a principal who may read it (analysts: only once submitted): its
/// framework and answers.
pub async fn load(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
) -> Result<AssessmentView, ServiceError> {
    read(pool, principal, id, false).await
}

/// Loads an assessment as its pages show it: [`load`] and what is [`Around`] the answers, in
/// the same transaction.
pub async fn load_page(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
) -> Result<AssessmentView, ServiceError> {
    read(pool, principal, id, true).await
}

async fn read(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    page: bool,
) -> Result<AssessmentView, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let view = read_in(&mut tx, principal, id, page).await?;
    tx.commit().await?;
    Ok(view)
}

/// [`load`] (or [`load_page`] when `page`) in the caller's transaction, opened with the
/// principal's scope: for a service that reads more of the same assessment in the same
/// transaction (`workflow::revisions`), so a page reads what it shows once, at one moment.
pub(super) async fn read_in(
    tx: &mut sqlx::PgConnection,
    principal: &Principal,
    id: Uuid,
    page: bool,
) -> Result<AssessmentView, ServiceError> {
    let head = store::head(&mut *tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !principal.may(Permission::ReadAssessment {
        participant: head.participant_id,
        submitted: head.state.is_submitted(),
    }) {
        return Err(ServiceError::Forbidden);
    }
    let framework = framework_of(&mut *tx, head.framework_id).await?;
    let answers = store::list(&mut *tx, id)
        .await?
        .into_iter()
        .map(|a| (a.goal_id, a))
        .collect();
    let mut around = Around::default();
    if page {
        around.clarifications = clarifications::for_assessment(&mut *tx, id).await?;
        around.evidence = evidence::list(&mut *tx, id).await?;
        around.assignments = crate::storage::assignments::for_assessment(&mut *tx, id).await?;
        if head.state == AssessmentState::Returned {
            around.return_notes = reviews::latest_return_notes(&mut *tx, id).await?;
            around.return_reason = reviews::revisions(&mut *tx, id)
                .await?
                .pop()
                .and_then(|r| r.reason);
        }
    }
    let editable = principal.may(Permission::EditParticipant(head.participant_id))
        && answers_may_change(head.state, head.cycle_state).is_ok();
    Ok(AssessmentView {
        head,
        framework,
        answers,
        editable,
        around,
        reader: principal.clone(),
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
    // Locked: a submission cannot slip in between this check and the write.
    let Some(head) = store::lock_head(&mut tx, assessment).await? else {
        // Not lockable: row-level security lets only editors lock it. Visible but not editable
        // is a refusal, not an absence.
        let visible = store::head(&mut tx, assessment).await?.is_some();
        return Err(SaveError::Other(if visible {
            ServiceError::Forbidden
        } else {
            ServiceError::NotFound
        }));
    };
    if !principal.may(Permission::EditParticipant(head.participant_id)) {
        return Err(SaveError::Other(ServiceError::Forbidden));
    }
    answers_may_change(head.state, head.cycle_state)
        .map_err(|key| SaveError::Other(ServiceError::Refused(key)))?;
    let framework = framework_of(&mut tx, head.framework_id)
        .await
        .map_err(SaveError::Other)?;
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

/// A page of the assessments the operator may see that the filter keeps, and the total.
pub async fn list(
    pool: &PgPool,
    operator: crate::auth::Operator<'_>,
    filter: &reviews::AssessmentFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<reviews::AssessmentListItem>, i64), ServiceError> {
    let mut tx = storage::begin(pool, &operator.scope()).await?;
    let page = reviews::list_page(&mut tx, filter, offset, limit).await?;
    tx.commit().await?;
    Ok(page)
}

/// The assessment's head (participant, state, cycle) as row-level security lets the caller see
/// it, `None` when hidden or absent; no permission is checked (the upload guard decides with it
/// before a body is read, and the operation checks again).
pub async fn head(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
) -> Result<Option<AssessmentHead>, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let head = store::head(&mut tx, id).await?;
    tx.commit().await?;
    Ok(head)
}
