//! A delegation's head runs their team: invitations (a one-time link, valid 7 days), members
//! changed between contributor and viewer, disabled and enabled again. Admins may do the same for
//! every delegation. Never beyond the caller's delegation, never to or from head or staff roles.
//!
//! # Invitations
//!
//! `invite` stores an invitation (the token's SHA-256 only) and enqueues a mail in the same
//! transaction ([`enqueue_mail`]), whatever the address: to an address without an account, the
//! link `/invitations/{token}`; to one that has an account, a mail saying so with the sign-in
//! page and no link to accept. The head's answer, the pending list (both invitations stay pending
//! until used or expired) and the public invitation page are the same in both cases, so nothing
//! tells whether an address has an account. `accept` takes a live link once (the row is locked,
//! used and expired links are 404), creates the account with the chosen password as a member of
//! the delegation in the invited role, and marks the invitation used; the person then signs in
//! and may set up a second factor. Mails carry no confidential text, only links.
//!
//! | operation | permission | audit action |
//! |---|---|---|
//! | `members`, `pending_invitations` (read) | `ManageTeam(participant)` | — |
//! | `invite` | `ManageTeam(participant)` | `team.invite` |
//! | `accept` | the link | `team.invitation_accept` (actor: the new user) |
//! | `change_role` (contributor ↔ viewer) | `ManageTeam` of the member's delegation | `team.member_role_change` |
//! | `set_disabled` (ends their sessions) | the same | `team.member_disable`, `team.member_enable` |

use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::ServiceError;
use crate::auth::Principal;
use crate::auth::password;
use crate::auth::policy::Permission;
use crate::auth::secrets::{random_hex, sha256};
use crate::domain::role::{DelegationRole, Role};
use crate::storage::audit::{Actor, NewEntry, RequestContext};
use crate::storage::invitations::{self as store, LiveInvitation, Member, PendingInvitation};
use crate::storage::sessions::{self, EndReason};
use crate::storage::users::{self, NewUser};
use crate::storage::{self, Scope};

/// How long an invitation link works.
pub const INVITATION_LIFETIME: time::Duration = time::Duration::days(7);

/// A mail this part sends. It carries no confidential text: names, codes and links only.
#[derive(Debug, Clone)]
pub enum TeamMail<'a> {
    /// To an address without an account: the link that sets a password.
    Invitation {
        email: &'a str,
        language: &'a str,
        participant_code: &'a str,
        /// `/invitations/{token}` (the only place the token ever is in clear: this mail)
        link: String,
    },
    /// To an address that already has an account: no link to accept, the sign-in page.
    AlreadyHasAccount {
        email: &'a str,
        language: &'a str,
        participant_code: &'a str,
    },
    /// To a member: goals of an assessment were assigned to them (a notification of the kind
    /// `goal.assigned`, mailed as they chose).
    GoalsAssigned {
        user_id: Uuid,
        actor: Uuid,
        assessment_id: Uuid,
        participant_code: &'a str,
        cycle_code: &'a str,
        goals: Vec<String>,
    },
}

/// Enqueues a mail in the caller's transaction: it is sent only if the change that causes it
/// commits. The one function that hands this part's mails to the outbox (`crate::notify`):
/// a member is notified through `notify::enqueue` (their language and choices apply); an
/// invitation goes to an address that may have no account, so it is written to the outbox
/// directly, in the invitation's language, with the same subject whether or not the address
/// has an account.
pub(crate) async fn enqueue_mail(
    conn: &mut PgConnection,
    mail: &TeamMail<'_>,
) -> Result<(), sqlx::Error> {
    use crate::presentation::i18n::Lang;
    match mail {
        TeamMail::Invitation {
            email,
            language,
            participant_code,
            link,
        } => {
            let tr = Lang::parse(language).unwrap_or_default().tr();
            let args = [("participant", *participant_code)];
            store::enqueue_address_mail(
                conn,
                &store::AddressMail {
                    recipient: email,
                    language,
                    kind: "team_invitation",
                    subject: &tr.fmt("team.mail.invitation_subject", &args),
                    body: &tr.fmt("team.mail.invitation_body", &args),
                    link,
                },
            )
            .await
        }
        TeamMail::AlreadyHasAccount {
            email,
            language,
            participant_code,
        } => {
            let tr = Lang::parse(language).unwrap_or_default().tr();
            let args = [("participant", *participant_code)];
            store::enqueue_address_mail(
                conn,
                &store::AddressMail {
                    recipient: email,
                    language,
                    kind: "team_invitation",
                    subject: &tr.fmt("team.mail.invitation_subject", &args),
                    body: &tr.fmt("team.mail.existing_account_body", &args),
                    link: "/signin",
                },
            )
            .await
        }
        TeamMail::GoalsAssigned {
            user_id,
            actor,
            assessment_id,
            participant_code,
            cycle_code,
            goals,
        } => {
            crate::notify::enqueue(
                conn,
                &crate::notify::Event::GoalAssigned {
                    assessment: *assessment_id,
                    participant: (*participant_code).to_owned(),
                    cycle: (*cycle_code).to_owned(),
                    goals: goals.clone(),
                },
                &[crate::notify::Recipient::User(*user_id)],
                Some(*actor),
            )
            .await?;
            Ok(())
        }
    }
}

fn require(principal: &Principal, participant: Uuid) -> Result<(), ServiceError> {
    if principal.may(Permission::ManageTeam(participant)) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

/// The delegation whose team a principal runs by default: a head's own.
pub fn own_team(principal: &Principal) -> Option<Uuid> {
    match principal.role {
        Role::Delegation {
            participant_id,
            role: DelegationRole::Head,
        } => Some(participant_id),
        _ => None,
    }
}

/// A delegation's team: its members (with their last sign-in), pending invitations and the
/// assessments of cycles not yet closed (to assign their goals).
pub struct Team {
    pub members: Vec<Member>,
    pub pending: Vec<PendingInvitation>,
    pub assessments: Vec<crate::storage::assignments::TeamAssessment>,
}

/// A delegation's team, in one transaction.
pub async fn team(
    pool: &PgPool,
    principal: &Principal,
    participant: Uuid,
) -> Result<Team, ServiceError> {
    require(principal, participant)?;
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let members = store::members(&mut tx, participant).await?;
    let pending = store::pending(&mut tx, participant).await?;
    let assessments =
        crate::storage::assignments::current_assessments(&mut tx, participant).await?;
    tx.commit().await?;
    Ok(Team {
        members,
        pending,
        assessments,
    })
}

/// A delegation's members (with their last sign-in) and pending invitations.
pub async fn members(
    pool: &PgPool,
    principal: &Principal,
    participant: Uuid,
) -> Result<(Vec<Member>, Vec<PendingInvitation>), ServiceError> {
    require(principal, participant)?;
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM participants WHERE id = $1)")
            .bind(participant)
            .fetch_one(&mut *tx)
            .await?;
    if !exists {
        return Err(ServiceError::NotFound);
    }
    let members = store::members(&mut tx, participant).await?;
    let pending = store::pending(&mut tx, participant).await?;
    tx.commit().await?;
    Ok((members, pending))
}

/// One member, for a principal who may manage their delegation (404 otherwise, like a user who
/// does not exist: a head learns nothing of other delegations).
pub async fn member(
    pool: &PgPool,
    principal: &Principal,
    user_id: Uuid,
) -> Result<Member, ServiceError> {
    if own_team(principal).is_none() && principal.role != Role::Admin {
        return Err(ServiceError::Forbidden);
    }
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let member = store::member(&mut tx, user_id).await?;
    tx.commit().await?;
    member
        .filter(|m| principal.may(Permission::ManageTeam(m.participant_id)))
        .ok_or(ServiceError::NotFound)
}

/// An invitation as typed.
#[derive(Debug, Clone, Default)]
pub struct InvitationInput {
    pub email: String,
    pub display_name: String,
    /// contributor or viewer
    pub role: String,
    /// en or fr: the language of the mail and of the new account
    pub language: String,
}

fn field(name: &str, key: &str) -> ServiceError {
    ServiceError::field(name, key)
}

fn team_role(role: &str) -> Result<&'static str, ServiceError> {
    match role.trim() {
        "contributor" => Ok("contributor"),
        "viewer" => Ok("viewer"),
        _ => Err(field("role", "field.team_role.invalid")),
    }
}

/// Invites an address into a delegation; the answer is the same whether or not the address has
/// an account (see the module documentation).
pub async fn invite(
    pool: &PgPool,
    principal: &Principal,
    participant: Uuid,
    input: &InvitationInput,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    require(principal, participant)?;
    let mut problems = super::FieldProblems::new();
    let email = crate::auth::accounts::check_email(&input.email)
        .map_err(|_| problems.insert("email".into(), "field.email.invalid".into()))
        .ok();
    let display_name = input.display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 200 {
        problems.insert("display_name".into(), "field.display_name.required".into());
    }
    let role = team_role(&input.role)
        .map_err(|_| problems.insert("role".into(), "field.team_role.invalid".into()))
        .ok();
    let language = match input.language.trim() {
        "" | "en" => "en",
        "fr" => "fr",
        _ => {
            problems.insert("language".into(), "field.language.invalid".into());
            "en"
        }
    };
    let (Some(email), Some(role)) = (email, role) else {
        return Err(ServiceError::Invalid(problems));
    };
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }
    let token = random_hex(32);
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    let code: Option<String> =
        sqlx::query_scalar("SELECT code FROM participants WHERE id = $1 AND active")
            .bind(participant)
            .fetch_optional(&mut *tx)
            .await?;
    let code = code.ok_or(ServiceError::NotFound)?;
    let id = store::insert(
        &mut tx,
        &store::NewInvitation {
            participant_id: participant,
            email: &email,
            display_name,
            delegation_role: role,
            language,
            token_hash: &sha256(&token),
            invited_by: Some(principal.user_id),
            lifetime: INVITATION_LIFETIME,
        },
    )
    .await?;
    // Read in the same transaction, after the invitation is written: the mail differs, the
    // rest of the request does not.
    let has_account = users::id_by_email(&mut tx, &email).await?.is_some();
    let mail = if has_account {
        TeamMail::AlreadyHasAccount {
            email: &email,
            language,
            participant_code: &code,
        }
    } else {
        TeamMail::Invitation {
            email: &email,
            language,
            participant_code: &code,
            link: format!("/invitations/{token}"),
        }
    };
    enqueue_mail(&mut tx, &mail).await?;
    tx.commit(
        &NewEntry::new(
            Actor::User(principal.user_id),
            "team.invite",
            json!({ "email": email, "role": role }),
        )
        .about("invitation", id)
        .for_participant(Some(participant))
        .from_request(context),
    )
    .await?;
    Ok(())
}

/// The invitation a link holds, while it works (404 otherwise: used, expired, unknown).
pub async fn invitation(pool: &PgPool, token: &str) -> Result<LiveInvitation, ServiceError> {
    let mut tx = storage::begin(pool, &Scope::System).await?;
    let found = store::find_live(&mut tx, &sha256(token)).await?;
    tx.commit().await?;
    found.ok_or(ServiceError::NotFound)
}

/// Takes an invitation: creates the account with this password, in the delegation and role
/// invited to; the link then no longer works. Returns the new account's e-mail address.
pub async fn accept(
    pool: &PgPool,
    token: &str,
    new_password: String,
    confirm: &str,
    context: &RequestContext,
) -> Result<String, ServiceError> {
    let hash_of_token = sha256(token);
    let invitation = invitation(pool, token).await?;
    if new_password != confirm {
        return Err(field("confirm_password", "field.confirm_password.mismatch"));
    }
    password::check_new(
        &new_password,
        &[&invitation.email, &invitation.display_name],
    )
    .map_err(|problem| field("new_password", problem.message_key()))?;
    let hash = password::hash(new_password)
        .await
        .map_err(|e| ServiceError::Sql(sqlx::Error::Protocol(e.to_string())))?;
    // The link is the authority here: the account is made on the delegation's behalf under the
    // system scope, after the token's hash matched a live invitation (locked: used once).
    let mut tx = storage::Audited::begin(pool, &Scope::System).await?;
    let invitation = store::lock_live(&mut tx, &hash_of_token)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let role = DelegationRole::parse(&invitation.delegation_role).ok_or(ServiceError::NotFound)?;
    let user_id = users::insert(
        &mut tx,
        &NewUser {
            email: invitation.email.clone(),
            display_name: invitation.display_name.clone(),
            password_hash: hash,
            must_change_password: false,
            role: Role::Delegation {
                participant_id: invitation.participant_id,
                role,
            },
        },
    )
    .await?;
    store::set_language(&mut tx, user_id, &invitation.language).await?;
    store::mark_accepted(&mut tx, invitation.id).await?;
    tx.commit(
        &NewEntry::new(
            Actor::User(user_id),
            "team.invitation_accept",
            json!({ "email": invitation.email, "role": invitation.delegation_role }),
        )
        .about("user", user_id)
        .for_participant(Some(invitation.participant_id))
        .from_request(context),
    )
    .await?;
    Ok(invitation.email)
}

/// Loads a member the principal may manage, locked out of head and staff roles.
async fn managed_member(
    tx: &mut PgConnection,
    principal: &Principal,
    user_id: Uuid,
) -> Result<Member, ServiceError> {
    if own_team(principal).is_none() && principal.role != Role::Admin {
        return Err(ServiceError::Forbidden);
    }
    let member = store::member(tx, user_id)
        .await?
        .filter(|m| principal.may(Permission::ManageTeam(m.participant_id)))
        .ok_or(ServiceError::NotFound)?;
    if member.role == "head" {
        // Heads are the secretariat's to change.
        return Err(ServiceError::Refused("error.team.head_member"));
    }
    Ok(member)
}

/// Changes a member between contributor and viewer.
pub async fn change_role(
    pool: &PgPool,
    principal: &Principal,
    user_id: Uuid,
    role: &str,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    let role = team_role(role);
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    let member = managed_member(&mut tx, principal, user_id).await?;
    let role = role?;
    if member.role == role {
        return Ok(());
    }
    if !store::set_delegation_role(&mut tx, user_id, role).await? {
        return Err(ServiceError::NotFound);
    }
    tx.commit(
        &NewEntry::new(
            Actor::User(principal.user_id),
            "team.member_role_change",
            json!({ "role": { "old": member.role, "new": role } }),
        )
        .about("user", user_id)
        .for_participant(Some(member.participant_id))
        .from_request(context),
    )
    .await?;
    Ok(())
}

/// Disables a member (ending their sessions) or enables them again.
pub async fn set_disabled(
    pool: &PgPool,
    principal: &Principal,
    user_id: Uuid,
    disabled: bool,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    let member = managed_member(&mut tx, principal, user_id).await?;
    if member.disabled == disabled {
        return Ok(());
    }
    users::set_disabled(&mut tx, user_id, disabled).await?;
    let ended = if disabled {
        sessions::end_all_for_user(&mut tx, user_id, EndReason::UserDisabled, None).await?
    } else {
        0
    };
    let action = if disabled {
        "team.member_disable"
    } else {
        "team.member_enable"
    };
    tx.commit(
        &NewEntry::new(
            Actor::User(principal.user_id),
            action,
            json!({ "sessions_ended": ended }),
        )
        .about("user", user_id)
        .for_participant(Some(member.participant_id))
        .from_request(context),
    )
    .await?;
    Ok(())
}
