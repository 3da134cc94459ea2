//! Assignments: a delegation's head gives sections or single goals of an assessment to members
//! (several per goal); everyone in the delegation sees who holds each goal; each member has a
//! "My work" list across cycles. Storage and carry-forward: [`crate::storage::assignments`].
//!
//! | operation | permission | audit action |
//! |---|---|---|
//! | `for_assessment` (read) | `ReadAssessment` | — |
//! | `page` (read: members, goals, assignments, progress per assignee) | `ManageTeam` | — |
//! | `assign` (a member, goals and/or whole sections) | `ManageTeam` | `assignment.add` |
//! | `unassign` (a member from one goal) | `ManageTeam` | `assignment.remove` |
//! | `confirm_carried` (carried-forward assignments confirmed) | `ManageTeam` | `assignment.confirm` |
//! | `my_work` (read, one statement) | the caller's own | — |
//!
//! Only the delegation's enabled heads and contributors may hold goals (viewers cannot answer).
//! The assignee is told through the outbox ([`super::team::enqueue_mail`]), in the same
//! transaction.

use std::collections::BTreeSet;

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::ServiceError;
use super::team::{TeamMail, enqueue_mail};
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::storage::answers::{self, AssessmentHead};
use crate::storage::assignments::{self as store, AssigneeProgress, GoalChoice};
use crate::storage::audit::{Actor, NewEntry, RequestContext};
use crate::storage::invitations as members;
use crate::storage::{self};

pub use crate::storage::assignments::{Assignment, WorkItem};
/// A team's members and pending invitations, as `services::team` returns them.
pub use crate::storage::invitations::{LiveInvitation, Member, PendingInvitation};

/// The assessment's assignments, for whoever may read the assessment.
pub async fn for_assessment(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
) -> Result<(AssessmentHead, Vec<Assignment>), ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let head = answers::head(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !principal.may(Permission::ReadAssessment {
        participant: head.participant_id,
        submitted: head.state.is_submitted(),
    }) {
        return Err(ServiceError::Forbidden);
    }
    let list = store::for_assessment(&mut tx, id).await?;
    tx.commit().await?;
    Ok((head, list))
}

/// What the head's assignment page shows.
pub struct AssignmentPage {
    pub head: AssessmentHead,
    /// Who may hold goals: the delegation's enabled heads and contributors.
    pub assignable: Vec<Member>,
    pub goals: Vec<GoalChoice>,
    pub assignments: Vec<Assignment>,
    pub progress: Vec<AssigneeProgress>,
}

/// The assessment's head when the principal runs its delegation's team: 404 when there is no
/// such assessment (or row-level security hides it), 403 when it is another delegation's.
async fn team_head(
    conn: &mut sqlx::PgConnection,
    principal: &Principal,
    id: Uuid,
) -> Result<AssessmentHead, ServiceError> {
    let head = answers::head(conn, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !principal.may(Permission::ManageTeam(head.participant_id)) {
        return Err(ServiceError::Forbidden);
    }
    Ok(head)
}

/// The assignment page's content, in one transaction.
pub async fn page(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
) -> Result<AssignmentPage, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let head = team_head(&mut tx, principal, id).await?;
    let assignable = members::members(&mut tx, head.participant_id)
        .await?
        .into_iter()
        .filter(|m| !m.disabled && m.role != "viewer")
        .collect();
    let goals = store::goals_of(&mut tx, head.framework_id).await?;
    let assignments = store::for_assessment(&mut tx, id).await?;
    let progress = store::progress(&mut tx, id).await?;
    tx.commit().await?;
    Ok(AssignmentPage {
        head,
        assignable,
        goals,
        assignments,
        progress,
    })
}

/// An assignment as typed: one member, goals by code and whole sections by code.
#[derive(Debug, Clone, Default)]
pub struct AssignInput {
    pub user_id: Option<Uuid>,
    pub goals: Vec<String>,
    pub sections: Vec<String>,
}

/// Gives goals (and every goal of the sections named) to a member; returns how many goals
/// they newly hold. Goals they already hold are confirmed, not duplicated.
pub async fn assign(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    input: &AssignInput,
    context: &RequestContext,
) -> Result<u64, ServiceError> {
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    let head = team_head(&mut tx, principal, id).await?;
    let mut problems = super::FieldProblems::new();
    let member = match input.user_id {
        Some(user) => members::member(&mut tx, user).await?.filter(|m| {
            m.participant_id == head.participant_id && !m.disabled && m.role != "viewer"
        }),
        None => None,
    };
    if member.is_none() {
        problems.insert("member".into(), "field.assignment.member".into());
    }
    let goals = store::goals_of(&mut tx, head.framework_id).await?;
    let wanted_goals: BTreeSet<&str> = input.goals.iter().map(|g| g.trim()).collect();
    let wanted_sections: BTreeSet<&str> = input.sections.iter().map(|s| s.trim()).collect();
    let chosen: Vec<&GoalChoice> = goals
        .iter()
        .filter(|g| {
            wanted_goals.contains(g.code.as_str())
                || wanted_sections.contains(g.section_code.as_str())
        })
        .collect();
    let unknown = wanted_goals
        .iter()
        .any(|code| !goals.iter().any(|g| g.code == *code))
        || wanted_sections
            .iter()
            .any(|code| !goals.iter().any(|g| g.section_code == *code));
    if unknown {
        problems.insert("goals".into(), "field.assignment.unknown_goal".into());
    } else if chosen.is_empty() {
        problems.insert("goals".into(), "field.assignment.goals_required".into());
    }
    let Some(member) = member.filter(|_| problems.is_empty()) else {
        return Err(ServiceError::Invalid(problems));
    };
    let ids: Vec<Uuid> = chosen.iter().map(|g| g.id).collect();
    let new = store::assign(
        &mut tx,
        id,
        head.participant_id,
        member.id,
        &ids,
        Some(principal.user_id),
    )
    .await?;
    let codes: Vec<&str> = chosen.iter().map(|g| g.code.as_str()).collect();
    if new > 0 {
        // The member is told (not when heads assign goals to themselves: notify leaves out
        // the person who acted).
        enqueue_mail(
            &mut tx,
            &TeamMail::GoalsAssigned {
                user_id: member.id,
                actor: principal.user_id,
                assessment_id: id,
                participant_code: &head.participant_code,
                cycle_code: &head.cycle_code,
                goals: codes.iter().map(|c| (*c).to_owned()).collect(),
            },
        )
        .await?;
    }
    tx.commit(
        &NewEntry::new(
            Actor::User(principal.user_id),
            "assignment.add",
            json!({ "user": member.id, "name": member.display_name, "goals": codes, "new": new }),
        )
        .about("assessment", id)
        .for_participant(Some(head.participant_id))
        .from_request(context),
    )
    .await?;
    Ok(new)
}

/// Takes one goal from a member; false (nothing written, nothing recorded) when they did not
/// hold it, so a repeated removal is not an error. An unknown goal is 404.
pub async fn unassign(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    user_id: Uuid,
    goal_code: &str,
    context: &RequestContext,
) -> Result<bool, ServiceError> {
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    let head = team_head(&mut tx, principal, id).await?;
    let goal = store::goals_of(&mut tx, head.framework_id)
        .await?
        .into_iter()
        .find(|g| g.code == goal_code.trim())
        .ok_or(ServiceError::NotFound)?;
    if !store::unassign(&mut tx, id, user_id, goal.id).await? {
        return Ok(false);
    }
    tx.commit(
        &NewEntry::new(
            Actor::User(principal.user_id),
            "assignment.remove",
            json!({ "user": user_id, "goal": goal.code }),
        )
        .about("assessment", id)
        .for_participant(Some(head.participant_id))
        .from_request(context),
    )
    .await?;
    Ok(true)
}

/// Confirms every assignment carried forward from the previous cycle; returns how many.
pub async fn confirm_carried(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    context: &RequestContext,
) -> Result<u64, ServiceError> {
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    let head = team_head(&mut tx, principal, id).await?;
    let confirmed = store::confirm_all(&mut tx, id).await?;
    tx.commit(
        &NewEntry::new(
            Actor::User(principal.user_id),
            "assignment.confirm",
            json!({ "confirmed": confirmed }),
        )
        .about("assessment", id)
        .for_participant(Some(head.participant_id))
        .from_request(context),
    )
    .await?;
    Ok(confirmed)
}

/// The goals assigned to the caller, across cycles (one statement in one transaction).
pub async fn my_work(pool: &PgPool, principal: &Principal) -> Result<Vec<WorkItem>, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let items = store::work_of(&mut tx, principal.user_id).await?;
    tx.commit().await?;
    Ok(items)
}
