//! A delegation's team and the assignments of its assessments: members (with their last
//! sign-in) and pending invitations, inviting, changing a member between contributor and
//! viewer or disabling them, assigning goals, and one's own work. Operations:
//! [`crate::services::team`], [`crate::services::assignments`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::bodies::{Assignment, Member, PendingInvitation, WorkItem, all};
use crate::services::RequestContext;
use crate::services::assignments::{self, AssignInput};
use crate::services::team::{self, InvitationInput};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::{AppError, ErrorBody};

/// The team routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(invite))
        .routes(routes!(update_member))
        .routes(routes!(list_assignments, add_assignments))
        .routes(routes!(remove_assignment))
        .routes(routes!(my_work))
}

/// A delegation's members and its invitations still waiting.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamView {
    pub members: Vec<Member>,
    pub invitations: Vec<PendingInvitation>,
}

/// A delegation's members (with their last sign-in) and pending invitations: its head, or an
/// admin.
#[utoipa::path(get, path = "/participants/{participant}/members", tag = "team",
    params(("participant" = Uuid, Path, description = "Participant id")),
    responses((status = 200, description = "The team", body = TeamView),
              (status = 403, description = "Not this delegation's head, nor an admin", body = ErrorBody)))]
pub async fn list_members(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(participant): Path<Uuid>,
) -> Result<Json<TeamView>, AppError> {
    let (members, invitations) = team::members(&state.db, &me, participant).await?;
    Ok(Json(TeamView {
        members: all(members),
        invitations: all(invitations),
    }))
}

/// An invitation to send.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InvitationRequest {
    pub email: String,
    pub display_name: String,
    /// contributor or viewer
    pub role: String,
    /// en (default) or fr: the mail's language and the new account's
    #[serde(default)]
    pub language: Option<String>,
}

/// What an invitation request answers: the same whether or not the address has an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationAccepted {
    /// Always `accepted`.
    pub status: String,
}

/// Invite an address into the delegation (a one-time link valid 7 days goes by mail). The
/// answer never says whether the address already has an account.
#[utoipa::path(post, path = "/participants/{participant}/invitations", tag = "team",
    params(("participant" = Uuid, Path, description = "Participant id")),
    request_body = InvitationRequest,
    responses((status = 202, description = "Taken: a mail goes to the address", body = InvitationAccepted),
              (status = 403, description = "Not this delegation's head, nor an admin", body = ErrorBody)))]
pub async fn invite(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(participant): Path<Uuid>,
    Json(request): Json<InvitationRequest>,
) -> Result<(StatusCode, Json<InvitationAccepted>), AppError> {
    let input = InvitationInput {
        email: request.email,
        display_name: request.display_name,
        role: request.role,
        language: request.language.unwrap_or_default(),
    };
    team::invite(&state.db, &me, participant, &input, &context).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(InvitationAccepted {
            status: "accepted".into(),
        }),
    ))
}

/// A change to a member: the role (contributor or viewer) and/or whether they are disabled.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberChange {
    pub role: Option<String>,
    pub disabled: Option<bool>,
}

/// Change a member of one's delegation between contributor and viewer, or disable (ending
/// their sessions) or enable them. Heads are the secretariat's (409).
#[utoipa::path(patch, path = "/members/{user}", tag = "team",
    params(("user" = Uuid, Path, description = "User id")),
    request_body = MemberChange,
    responses((status = 200, description = "The member as changed", body = Member),
              (status = 403, description = "Neither a head nor an admin", body = ErrorBody),
              (status = 409, description = "The member is a head", body = ErrorBody)))]
pub async fn update_member(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(user): Path<Uuid>,
    Json(change): Json<MemberChange>,
) -> Result<Json<Member>, AppError> {
    team::member(&state.db, &me, user).await?;
    if let Some(role) = &change.role {
        team::change_role(&state.db, &me, user, role, &context).await?;
    }
    if let Some(disabled) = change.disabled {
        team::set_disabled(&state.db, &me, user, disabled, &context).await?;
    }
    Ok(Json(team::member(&state.db, &me, user).await?.into()))
}

/// Who holds each goal of an assessment (whoever may read the assessment).
#[utoipa::path(get, path = "/assessments/{assessment}/assignments", tag = "team",
    params(("assessment" = Uuid, Path, description = "Assessment id")),
    responses((status = 200, description = "The assignments, in the framework's order", body = Vec<Assignment>)))]
pub async fn list_assignments(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<Assignment>>, AppError> {
    let (_, list) = assignments::for_assessment(&state.db, &me, id).await?;
    Ok(Json(all(list)))
}

/// Goals to give to a member: by code, and/or every goal of sections by code.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignmentRequest {
    pub user_id: Uuid,
    #[serde(default)]
    pub goals: Vec<String>,
    #[serde(default)]
    pub sections: Vec<String>,
}

/// What an assignment did.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentResult {
    /// Goals the member did not hold before.
    pub new: u64,
    pub assignments: Vec<Assignment>,
}

/// Assign goals or whole sections of an assessment to a head or contributor of its
/// delegation (the delegation's head, or an admin); the member is told.
#[utoipa::path(post, path = "/assessments/{assessment}/assignments", tag = "team",
    params(("assessment" = Uuid, Path, description = "Assessment id")),
    request_body = AssignmentRequest,
    responses((status = 200, description = "Assigned", body = AssignmentResult)))]
pub async fn add_assignments(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path(id): Path<Uuid>,
    Json(request): Json<AssignmentRequest>,
) -> Result<Json<AssignmentResult>, AppError> {
    let input = AssignInput {
        user_id: Some(request.user_id),
        goals: request.goals,
        sections: request.sections,
    };
    let new = assignments::assign(&state.db, &me, id, &input, &context).await?;
    let (_, list) = assignments::for_assessment(&state.db, &me, id).await?;
    Ok(Json(AssignmentResult {
        new,
        assignments: all(list),
    }))
}

/// Take one goal from a member (204 also when they did not hold it).
#[utoipa::path(delete, path = "/assessments/{assessment}/assignments/{user}/{goal}", tag = "team",
    params(("assessment" = Uuid, Path, description = "Assessment id"),
           ("user" = Uuid, Path, description = "User id"),
           ("goal" = String, Path, description = "Goal code")),
    responses((status = 204, description = "Not assigned (any more)")))]
pub async fn remove_assignment(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: RequestContext,
    Path((id, user, goal)): Path<(Uuid, Uuid, String)>,
) -> Result<StatusCode, AppError> {
    assignments::unassign(&state.db, &me, id, user, &goal, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The goals assigned to the caller, across cycles, latest deadline first.
#[utoipa::path(get, path = "/me/work", tag = "team",
    responses((status = 200, description = "My work", body = Vec<WorkItem>)))]
pub async fn my_work(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Vec<WorkItem>>, AppError> {
    Ok(Json(all(assignments::my_work(&state.db, &me).await?)))
}
