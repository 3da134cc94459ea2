//! Clarification requests: an analyst or admin asks about one answer, the delegation replies,
//! the requester (or an admin) resolves it. Open requests show on both sides.
//!
//! # Clarification requests
//!
//! An analyst or admin asks about one answer; the delegation replies; the requester or an admin
//! resolves (`services::clarifications`; states `open`, `answered`, `resolved`).
//!
//! - **Raise**: `RaiseClarification` (analysts and admins), on a goal of an assessment the user may read
//!   (`ReadAssessment`: for analysts, a submitted, resubmitted or accepted one), with a question of 1 to
//!   5,000 characters. Page: a question field under each goal, `POST
//!   /assessments/{assessment}/goals/{goal}/clarifications`; API `POST
//!   /api/v1/assessments/{assessment}/clarifications` with `{"goal", "question"}` (201 with the id). An
//!   unknown goal is 404. The request starts `open`.
//! - **Reply**: the participant's heads and contributors (`EditParticipant`), and analysts and admins
//!   (`RaiseClarification`); a viewer gets 403, another delegation's request is 404 (row-level
//!   security), and so is, for analysts, a request on an assessment that is not submitted,
//!   resubmitted or accepted. A reply from the delegation sets the request to `answered`; one from an
//!   analyst or admin sets it to `open`. A resolved request takes no reply (409). Page `POST
//!   /clarifications/{clarification}/reply`; API `POST /api/v1/clarifications/{clarification}/messages`
//!   with `{"body"}` (1 to 5,000 characters).
//! - **Resolve**: the user who raised it, or any admin (403 otherwise); a resolved request is 409. A
//!   request the caller cannot see is 404, as for replies.
//!   Page `POST /clarifications/{clarification}/resolve`; API
//!   `POST /api/v1/clarifications/{clarification}/resolve`.
//! - **Where they show**: beside each goal on its section page (open ones counted and linked on the task list), with their threads (API `GET
//!   /api/v1/assessments/{assessment}/clarifications`, which needs `ReadAssessment`), with the number
//!   still open on the task list; on `GET /clarifications` (API `GET /api/v1/clarifications`),
//!   every request not resolved that row-level security shows the user (a delegation its own
//!   participant's, admins all, analysts those of assessments that are `submitted`, `resubmitted` or
//!   `accepted`); on the status board, as a count per assessment, filtered the same way.
//!
//! Requests and their messages are read like the answers they discuss (`pledge_may_read_answers`,
//! migration 0009): after a return they leave an analyst's list and the analyst can neither reply nor
//! resolve until the assessment is resubmitted; the delegation and admins keep them. Raising, replying
//! and resolving each append one audit entry. Apart from that visibility, none of them looks at the
//! state of the assessment or the cycle.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::ServiceError;
use super::assessments;
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::domain::role::Role;
use crate::notify;
use crate::storage::audit::{Actor, NewEntry, RequestContext};
use crate::storage::clarifications::{self as store, NewClarification};
use crate::storage::{self};

pub use crate::storage::clarifications::ClarificationView;

fn text(body: &str, field: &str) -> Result<String, ServiceError> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 5000 {
        return Err(ServiceError::field(field, "field.message.required"));
    }
    Ok(body.to_owned())
}

/// Raises a request on one goal's answer of an assessment the principal may read.
pub async fn raise(
    pool: &PgPool,
    principal: &Principal,
    assessment: Uuid,
    goal_code: &str,
    question: &str,
    context: &RequestContext,
) -> Result<Uuid, ServiceError> {
    if !principal.may(Permission::RaiseClarification) {
        return Err(ServiceError::Forbidden);
    }
    let view = assessments::load(pool, principal, assessment).await?;
    let question = text(question, "question")?;
    let goal_id = view
        .goal(goal_code)
        .map(|(_, _, id, _)| id)
        .ok_or(ServiceError::NotFound)?;
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    let id = store::insert(
        &mut tx,
        &NewClarification {
            assessment_id: assessment,
            participant_id: view.head.participant_id,
            goal_id,
            question: question.clone(),
            raised_by: Some(principal.user_id),
        },
    )
    .await?;
    notify::enqueue(
        &mut tx,
        &notify::Event::ClarificationRaised {
            assessment,
            participant: view.head.participant_code.clone(),
            cycle: view.head.cycle_code.clone(),
            goal: goal_code.to_owned(),
        },
        &[notify::Recipient::DelegationEditors(
            view.head.participant_id,
        )],
        Some(principal.user_id),
    )
    .await?;
    tx.commit(
        &NewEntry::new(
            Actor::User(principal.user_id),
            "clarification.raise",
            json!({ "goal": goal_code, "question": question }),
        )
        .about("clarification", id)
        .for_participant(Some(view.head.participant_id))
        .from_request(context),
    )
    .await?;
    Ok(id)
}

async fn visible(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
) -> Result<(ClarificationView, Uuid), ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let request = store::find(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let participant: Uuid =
        sqlx::query_scalar("SELECT participant_id FROM clarification_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok((request, participant))
}

/// Adds a reply: the delegation's heads and contributors answer; the requester and admins may
/// follow up. A delegation's reply marks the request answered.
pub async fn reply(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    body: &str,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    let (request, participant) = visible(pool, principal, id).await?;
    let from_delegation = principal.may(Permission::EditParticipant(participant));
    let from_staff = principal.may(Permission::RaiseClarification);
    if !(from_delegation || from_staff) {
        return Err(ServiceError::Forbidden);
    }
    if request.state == "resolved" {
        return Err(ServiceError::Refused("clarification.refused.resolved"));
    }
    let body = text(body, "body")?;
    let state = if from_delegation { "answered" } else { "open" };
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    store::add_message(&mut tx, id, participant, principal.user_id, &body, state).await?;
    // The delegation's reply goes to whoever asked; a follow-up from the secretariat or an
    // analyst goes back to the delegation as a new request.
    let (event, recipients) = if from_delegation {
        (
            notify::Event::ClarificationAnswered {
                assessment: request.assessment_id,
                participant: request.participant_code.clone(),
                cycle: request.cycle_code.clone(),
                goal: request.goal_code.clone(),
            },
            request
                .raised_by
                .map(notify::Recipient::User)
                .into_iter()
                .collect::<Vec<_>>(),
        )
    } else {
        (
            notify::Event::ClarificationRaised {
                assessment: request.assessment_id,
                participant: request.participant_code.clone(),
                cycle: request.cycle_code.clone(),
                goal: request.goal_code.clone(),
            },
            vec![notify::Recipient::DelegationEditors(participant)],
        )
    };
    notify::enqueue(&mut tx, &event, &recipients, Some(principal.user_id)).await?;
    tx.commit(
        &NewEntry::new(
            Actor::User(principal.user_id),
            "clarification.reply",
            json!({ "body": body }),
        )
        .about("clarification", id)
        .for_participant(Some(participant))
        .from_request(context),
    )
    .await?;
    Ok(())
}

/// Resolves a request: its requester or an admin.
pub async fn resolve(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    let (request, participant) = visible(pool, principal, id).await?;
    if !(request.raised_by == Some(principal.user_id) || principal.role == Role::Admin) {
        return Err(ServiceError::Forbidden);
    }
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    if !store::resolve(&mut tx, id, principal.user_id).await? {
        return Err(ServiceError::Refused("clarification.refused.resolved"));
    }
    let mut recipients = vec![notify::Recipient::DelegationEditors(participant)];
    recipients.extend(request.raised_by.map(notify::Recipient::User));
    notify::enqueue(
        &mut tx,
        &notify::Event::ClarificationResolved {
            assessment: request.assessment_id,
            participant: request.participant_code.clone(),
            cycle: request.cycle_code.clone(),
            goal: request.goal_code.clone(),
        },
        &recipients,
        Some(principal.user_id),
    )
    .await?;
    tx.commit(
        &NewEntry::new(
            Actor::User(principal.user_id),
            "clarification.resolve",
            json!({}),
        )
        .about("clarification", id)
        .for_participant(Some(participant))
        .from_request(context),
    )
    .await?;
    Ok(())
}

/// The requests on an assessment the principal may read.
pub async fn for_assessment(
    pool: &PgPool,
    principal: &Principal,
    assessment: Uuid,
) -> Result<Vec<ClarificationView>, ServiceError> {
    Ok(assessments::load_page(pool, principal, assessment)
        .await?
        .around
        .clarifications)
}

/// The open requests the principal may see.
pub async fn open(
    pool: &PgPool,
    principal: &Principal,
) -> Result<Vec<ClarificationView>, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let list = store::open(&mut tx).await?;
    tx.commit().await?;
    Ok(list)
}

/// One clarification request, as row-level security lets the caller see it (`NotFound`
/// otherwise).
pub async fn find(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
) -> Result<ClarificationView, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let request = store::find(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    tx.commit().await?;
    Ok(request)
}
