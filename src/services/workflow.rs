//! The assessment workflow: the head submits (freezing an immutable snapshot), the secretariat
//! returns with reasons or accepts; each submission is a new revision, earlier ones stay readable.
//!
//! # The workflow
//!
//! `services::workflow`; pages in `src/web/pages/workflow.rs` (each answers `303` back to the
//! assessment), API in `src/web/api/workflow.rs`. Every step locks the assessment row
//! (`storage::assessments::lock_for_workflow`, `SELECT … FOR UPDATE`) and checks the state under the
//! lock.
//!
//! | step | who | page / API (`…` = `/assessments/{assessment}`) | from | to |
//! |---|---|---|---|---|
//! | submit | the delegation's head (`SubmitForParticipant`) | `POST …/submit` / `POST /api/v1…/submit` | `draft`, `returned` | `submitted` (revision 1) or `resubmitted` (later revisions) |
//! | return | admins (`ReviewSubmissions`) | `POST …/return` / `POST /api/v1…/return` | `submitted`, `resubmitted` | `returned` |
//! | accept | admins (`ReviewSubmissions`) | `POST …/accept` / `POST /api/v1…/accept` | `submitted`, `resubmitted` | `accepted` |
//! | allow late | admins (`ReviewSubmissions`) | `POST …/allow-late` / `POST /api/v1…/allow-late` | `not_started`, `draft`, `returned` | unchanged; sets `late_submission_allowed` |
//!
//! **Submit** (`workflow::submit`):
//!
//! 1. Loads the assessment (`ReadAssessment`) and checks `SubmitForParticipant` (403).
//! 2. In one transaction, locks the assessment row. If the state is already `submitted`, `resubmitted`
//!    or `accepted`, it stops and reports that nothing was done: of two clicks or calls at once, the
//!    second waits for the first's lock and then finds it done. The page redirects either way; the API
//!    answers 200 `{"revision": n, "submitted_now": true}` the first time and
//!    `{"revision": null, "submitted_now": false}` after.
//! 3. Refuses (409, with the reason) when the cycle is not `open`; when the deadline has passed
//!    (`deadline < current_date` in the database) and no late submission is allowed; when a goal has no
//!    answer ("not applicable" counts as an answer); when an answer is unconfirmed. (A `not_started`
//!    assessment therefore never passes: it holds no answer a person saved.)
//! 4. Reads the answers again under the lock and freezes them with
//!    `domain::snapshot::freeze_detailed`: goal scores, section and overall figures, the canonical
//!    document and its SHA-256 digest (data-model.md (`docs/data-model.md#the-snapshot-document-pledge-snapshot1`)).
//!    The revision is the assessment's `revision` + 1.
//! 5. Stores the snapshot with its rows (`storage::assessments::insert_snapshots`: `snapshots`,
//!    `snapshot_section_scores`, `snapshot_answers`, then the assessment's `revision` and
//!    `latest_snapshot_id`), sets the state, records activity, and appends `assessment.submit` with the
//!    revision and the digest (hex).
//!
//! The check-your-answers page (`GET /assessments/{assessment}/check`, the head only) offers the
//! submit button while the goals are editable, the state is not `not_started`, nothing is missing and
//! nothing is unconfirmed; otherwise it lists what is missing and unconfirmed, linked to the goals.
//!
//! **Return and accept** (`workflow::review`): `ReviewSubmissions` first (403 for anyone but an admin).
//! A return needs a reason that is not blank (422 `fields.reason`) and may carry notes on answers, by
//! goal code (an unknown code is 422 `fields.notes`; blank notes are dropped; two notes on one goal,
//! possible through the API, are joined into one, separated by a blank line). Under the lock the state
//! must be `submitted` or `resubmitted` (409 otherwise, so a second accept gets 409). The review is one
//! `assessment_reviews` row for the current revision (decision, reason, who, when) plus one
//! `review_answer_notes` row per note; then the state changes and `assessment.return` or
//! `assessment.accept` is appended (revision, reason, number of notes). Neither looks at the cycle's
//! state. On the page, the return form has the reason and a note field beside each answer
//! (`note_{goal}`); the API takes `{"reason": …, "notes": [{"goal": …, "note": …}]}`. While the
//! assessment is `returned`, its task list shows the reason of the latest revision's review and the
//! goals carrying notes (linked), each section page shows each note beside its answer, and the delegation edits and submits again: a new revision.
//!
//! **Allow late** (`workflow::allow_late`): `ReviewSubmissions`; under the lock, refuses (409,
//! `assessment.refused.nothing_late`) an assessment that is `submitted`, `resubmitted` or `accepted`; when the allowance is already set it
//! does nothing (no second audit entry); otherwise it sets `late_submission_allowed` and appends
//! `assessment.allow_late`. A cycle that is not open is refused (409, `cycle_not_open`); the
//! deadline is not checked, so an allowance may be given ahead of it. The page offers it
//! only once the deadline has passed and while the assessment is not submitted, resubmitted or
//! accepted.
//!
//! **Revisions.** Every submission is a new revision; earlier ones stay. `GET …/revisions` lists them
//! (number, submitted when and by whom, answered / applicable, decision and reason, digest) and, when
//! there are two or more, the difference between two (`?from=&to=`, by default the last two). The API
//! has `GET /api/v1…/revisions` (the same, with `overall_score`), `GET /api/v1…/revisions/{revision}`
//! (the document, its digest, and `verified`: whether the stored bytes still hash to the digest) and
//! `GET /api/v1…/diff?from=&to=`. All need `ReadAssessment`. The API's `content` is the stored document
//! parsed and written out again, so its key order differs from the stored bytes; `verified` is computed
//! on the stored bytes. The difference (`domain::snapshot::diff`) compares the `answers` of the two
//! documents goal by goal, in the later one's order, and lists each field that differs: `state`,
//! `value`, `score`, `na_justification`, `target`, `implementation_status`, `narrative`, with the text
//! before and after.

use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::ServiceError;
use super::assessments::{self, AssessmentView};
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::domain::answer::value_text;
use crate::domain::assessment::AssessmentState;
use crate::domain::scoring::AnswerState;
use crate::domain::snapshot::{self, AnswerDetails, SnapshotGoal, SnapshotHeader, SnapshotSection};
use crate::notify;
use crate::storage::assessments::{self as store, ReviewRow, SnapshotRow};
use crate::storage::audit::{Actor, NewEntry, RequestContext};
use crate::storage::{self, answers};

pub use crate::storage::assessments::RevisionRow;

/// What a submission did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// A new revision was frozen.
    Revision(i32),
    /// It was already submitted (a double click): nothing more was done.
    AlreadyDone,
}

/// Submits an assessment: every applicable goal answered, no unconfirmed carried-forward
/// answer, the cycle open and the deadline not passed (unless a late submission is allowed).
pub async fn submit(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    context: &RequestContext,
) -> Result<Submitted, ServiceError> {
    let view = assessments::load(pool, principal, id).await?;
    if !principal.may(Permission::SubmitForParticipant(view.head.participant_id)) {
        return Err(ServiceError::Forbidden);
    }
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    // Locked: of two submits at once, the second waits and then finds it done.
    let locked = store::lock_for_workflow(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if locked.state.is_submitted() {
        return Ok(Submitted::AlreadyDone);
    }
    if !locked.cycle_state.is_open() {
        return Err(ServiceError::Refused("assessment.refused.cycle_not_open"));
    }
    if locked.past_deadline && !locked.late_submission_allowed {
        return Err(ServiceError::Refused("assessment.refused.deadline"));
    }
    // Read the answers again under the lock: nothing can change them now.
    let stored: std::collections::HashMap<Uuid, answers::StoredAnswer> = answers::list(&mut tx, id)
        .await?
        .into_iter()
        .map(|a| (a.goal_id, a))
        .collect();
    let framework = &view.framework;
    let states: Vec<AnswerState> = framework
        .goal_ids
        .iter()
        .map(|g| stored.get(g).map_or(AnswerState::Missing, |a| a.state()))
        .collect();
    if states.contains(&AnswerState::Missing) {
        return Err(ServiceError::Refused("assessment.refused.incomplete"));
    }
    if stored.values().any(|a| a.unconfirmed) {
        return Err(ServiceError::Refused("assessment.refused.unconfirmed"));
    }
    let details: Vec<AnswerDetails> = framework
        .goal_ids
        .iter()
        .map(|g| {
            stored
                .get(g)
                .map_or_else(AnswerDetails::default, |a| AnswerDetails {
                    na_justification: a.na_justification.clone(),
                    target: a.target().map(|t| value_text(Some(t))),
                    implementation_status: a.implementation_status.clone(),
                    narrative: a.narrative.clone(),
                })
        })
        .collect();
    let sections: Vec<SnapshotSection> = framework
        .framework
        .sections
        .iter()
        .zip(&framework.section_ids)
        .map(|(s, id)| SnapshotSection {
            id: *id,
            code: s.code.clone(),
        })
        .collect();
    let goals: Vec<SnapshotGoal> = framework
        .framework
        .sections
        .iter()
        .enumerate()
        .flat_map(|(index, s)| s.goals.iter().map(move |g| (index, g)))
        .zip(&framework.goal_ids)
        .map(|((section, g), id)| SnapshotGoal {
            id: *id,
            code: g.code.clone(),
            section,
            weight: g.weight,
            scale: g.scale.score_scale(),
        })
        .collect();
    let revision = locked.revision + 1;
    let frozen = snapshot::freeze_detailed(
        &SnapshotHeader {
            participant_code: &view.head.participant_code,
            cycle_code: &view.head.cycle_code,
            revision,
        },
        framework.framework.roll_up,
        &sections,
        &goals,
        &states,
        &details,
    );
    let digest = hex::encode(frozen.digest);
    store::insert_snapshots(
        &mut tx,
        &[SnapshotRow {
            id: Uuid::new_v4(),
            assessment_id: id,
            participant_id: view.head.participant_id,
            cycle_id: view.head.cycle_id,
            revision,
            frozen,
            submitted_by: Some(principal.user_id),
            submitted_at: OffsetDateTime::now_utc(),
        }],
    )
    .await?;
    let state = AssessmentState::after_submission(revision);
    store::set_states(&mut tx, &[(id, state.as_str())]).await?;
    answers::touch(&mut tx, id).await?;
    notify::enqueue(
        &mut tx,
        &notify::Event::SubmissionReceived {
            assessment: id,
            participant: view.head.participant_code.clone(),
            cycle: view.head.cycle_code.clone(),
            revision,
        },
        &[notify::Recipient::Secretariat],
        Some(principal.user_id),
    )
    .await?;
    tx.commit(
        &NewEntry::new(
            Actor::User(principal.user_id),
            "assessment.submit",
            json!({ "revision": revision, "digest": digest }),
        )
        .about("assessment", id)
        .for_participant(Some(view.head.participant_id))
        .from_request(context),
    )
    .await?;
    Ok(Submitted::Revision(revision))
}

/// A return's reasons: overall, and per answer (goal code → note).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ReturnReasons {
    pub reason: String,
    #[serde(default)]
    pub notes: Vec<AnswerNote>,
}

/// A note on one answer.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct AnswerNote {
    pub goal: String,
    pub note: String,
}

/// Returns a submitted assessment to its delegation, with reasons; or accepts it. Gives back the
/// assessment as it was read before the decision (who it belongs to does not change), so the
/// caller need not read it again to say whose it was.
pub async fn review(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    reasons: Option<&ReturnReasons>,
    context: &RequestContext,
) -> Result<AssessmentView, ServiceError> {
    if !principal.may(Permission::ReviewSubmissions) {
        return Err(ServiceError::Forbidden);
    }
    let view = assessments::load(pool, principal, id).await?;
    let decision = if reasons.is_some() {
        AssessmentState::Returned
    } else {
        AssessmentState::Accepted
    };
    let mut notes = Vec::new();
    if let Some(reasons) = reasons {
        if reasons.reason.trim().is_empty() {
            return Err(ServiceError::field("reason", "field.reason.required"));
        }
        for note in reasons.notes.iter().filter(|n| !n.note.trim().is_empty()) {
            let goal = view
                .goal(&note.goal)
                .map(|(_, _, goal_id, _)| goal_id)
                .ok_or_else(|| ServiceError::field("notes", "field.goal.unknown"))?;
            // Two notes on one answer (possible through the API) become one note.
            match notes
                .iter_mut()
                .find(|(g, _): &&mut (Uuid, String)| *g == goal)
            {
                Some((_, text)) => {
                    text.push_str("\n\n");
                    text.push_str(note.note.trim());
                }
                None => notes.push((goal, note.note.trim().to_owned())),
            }
        }
    }
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    let locked = store::lock_for_workflow(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !locked.state.may_review() {
        return Err(ServiceError::Refused("assessment.refused.not_submitted"));
    }
    store::insert_review(
        &mut tx,
        &ReviewRow {
            assessment_id: id,
            participant_id: view.head.participant_id,
            revision: locked.revision,
            decision: decision.as_str(),
            reason: reasons
                .map(|r| r.reason.trim().to_owned())
                .unwrap_or_default(),
            decided_by: Some(principal.user_id),
            decided_at: OffsetDateTime::now_utc(),
        },
        &notes,
    )
    .await?;
    store::set_states(&mut tx, &[(id, decision.as_str())]).await?;
    let (participant, cycle) = (
        view.head.participant_code.clone(),
        view.head.cycle_code.clone(),
    );
    let event = match reasons {
        Some(reasons) => notify::Event::AssessmentReturned {
            assessment: id,
            participant,
            cycle,
            reason: reasons.reason.trim().to_owned(),
        },
        None => notify::Event::AssessmentAccepted {
            assessment: id,
            participant,
            cycle,
        },
    };
    notify::enqueue(
        &mut tx,
        &event,
        &[notify::Recipient::DelegationEditors(
            view.head.participant_id,
        )],
        Some(principal.user_id),
    )
    .await?;
    tx.commit(&NewEntry::new(
            Actor::User(principal.user_id),
            if reasons.is_some() { "assessment.return" } else { "assessment.accept" },
            json!({ "revision": locked.revision, "reason": reasons.map(|r| r.reason.trim()), "notes": notes.len() }),
        )
        .about("assessment", id)
        .for_participant(Some(view.head.participant_id))
        .from_request(context)).await?;
    Ok(view)
}

/// Lets the delegation submit after the deadline. Gives back the assessment as read before.
pub async fn allow_late(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    context: &RequestContext,
) -> Result<AssessmentView, ServiceError> {
    if !principal.may(Permission::ReviewSubmissions) {
        return Err(ServiceError::Forbidden);
    }
    let view = assessments::load(pool, principal, id).await?;
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    let locked = store::lock_for_workflow(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    // Only an assessment that can still be submitted needs it; allowing twice changes nothing.
    if !locked.state.may_allow_late() {
        return Err(ServiceError::Refused("assessment.refused.nothing_late"));
    }
    if !locked.cycle_state.is_open() {
        return Err(ServiceError::Refused("assessment.refused.cycle_not_open"));
    }
    if locked.late_submission_allowed {
        return Ok(view);
    }
    store::set_late_allowed(&mut tx, id, true).await?;
    tx.commit(
        &NewEntry::new(
            Actor::User(principal.user_id),
            "assessment.allow_late",
            json!({}),
        )
        .about("assessment", id)
        .for_participant(Some(view.head.participant_id))
        .from_request(context),
    )
    .await?;
    Ok(view)
}

/// Every revision of an assessment the principal may read.
pub async fn revisions(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
) -> Result<Vec<store::RevisionRow>, ServiceError> {
    Ok(with_revisions(pool, principal, id).await?.1)
}

/// The assessment (checked for `ReadAssessment`) and every revision of it, read in one
/// transaction: the "submitted" page.
pub async fn with_revisions(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
) -> Result<(AssessmentView, Vec<store::RevisionRow>), ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let view = assessments::read_in(&mut tx, principal, id, false).await?;
    let rows = store::revisions(&mut tx, id).await?;
    tx.commit().await?;
    Ok((view, rows))
}

/// One revision's stored document, and whether it still matches its digest.
pub async fn revision(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    revision: i32,
) -> Result<(String, String, bool), ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    assessments::read_in(&mut tx, principal, id, false).await?;
    let (content, digest) = document(&mut tx, id, revision).await?;
    tx.commit().await?;
    let verified = snapshot::verify_digest(&content, &digest);
    Ok((content, hex::encode(digest), verified))
}

/// The field-by-field difference between two revisions.
pub async fn difference(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    from: i32,
    to: i32,
) -> Result<Vec<snapshot::FieldChange>, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    assessments::read_in(&mut tx, principal, id, false).await?;
    let changes = difference_in(&mut tx, id, from, to).await?;
    tx.commit().await?;
    Ok(changes)
}

/// What the revisions page shows: the assessment, its revisions, the two compared (by default
/// the last and the one before it) and the difference between them when both exist.
pub struct Compared {
    pub view: AssessmentView,
    pub revisions: Vec<store::RevisionRow>,
    pub from: i32,
    pub to: i32,
    pub changes: Vec<snapshot::FieldChange>,
}

/// [`Compared`], read in one transaction.
pub async fn compared(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    from: Option<i32>,
    to: Option<i32>,
) -> Result<Compared, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let view = assessments::read_in(&mut tx, principal, id, false).await?;
    let revisions = store::revisions(&mut tx, id).await?;
    let last = revisions.last().map_or(0, |r| r.revision);
    let to = to.unwrap_or(last);
    let from = from.unwrap_or((to - 1).max(1));
    let exists = |n: i32| revisions.iter().any(|r| r.revision == n);
    let changes = if from != to && exists(from) && exists(to) {
        difference_in(&mut tx, id, from, to).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok(Compared {
        view,
        revisions,
        from,
        to,
        changes,
    })
}

/// A revision's stored document and digest (404 when there is no such revision).
async fn document(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    revision: i32,
) -> Result<(String, Vec<u8>), ServiceError> {
    store::snapshot_document(tx, id, revision)
        .await?
        .ok_or(ServiceError::NotFound)
}

async fn difference_in(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    from: i32,
    to: i32,
) -> Result<Vec<snapshot::FieldChange>, ServiceError> {
    let (before, _) = document(&mut *tx, id, from).await?;
    let (after, _) = document(&mut *tx, id, to).await?;
    let read = |content: &str| {
        snapshot::recorded_answers(content)
            .map_err(|e| ServiceError::Sql(sqlx::Error::Decode(Box::new(e))))
    };
    Ok(snapshot::diff(&read(&before)?, &read(&after)?))
}

/// The notes of the latest return, by goal id (shown beside the answers while returned).
pub async fn return_notes(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
) -> Result<Vec<(Uuid, String)>, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let notes = store::latest_return_notes(&mut tx, id).await?;
    tx.commit().await?;
    Ok(notes)
}
