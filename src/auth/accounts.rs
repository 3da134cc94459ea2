//! Managing accounts: what admins do to users (create, change role, disable, reset password,
//! end sessions) and what users do to their own credentials (password, second factor, tokens).
//! Shared by the pages, the API and the command line; every change lands in the audit log in the
//! same transaction.

use std::collections::BTreeMap;

use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

pub use super::Operator;
use super::password::{self, PasswordProblem};
use super::secrets::{one_time_password, random_hex, sha256};
use super::{AuthError, Credential, Principal, totp};
use crate::domain::role::{DelegationRole, Role};
use crate::storage::audit::{self, Actor, NewEntry, RequestContext};
use crate::storage::sessions::{self, EndReason};
use crate::storage::users::{self, NewUser};
use crate::storage::{self as store, tokens};

/// Field name → catalogue key of what is wrong with it.
pub type FieldProblems = BTreeMap<String, String>;

/// Why an account operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("invalid input")]
    Invalid(FieldProblems),
    #[error("no such user")]
    NotFound,
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl From<sqlx::Error> for AccountError {
    fn from(error: sqlx::Error) -> Self {
        AccountError::Auth(AuthError::Sql(error))
    }
}

fn invalid(field: &str, key: &str) -> AccountError {
    AccountError::Invalid(BTreeMap::from([(field.to_owned(), key.to_owned())]))
}

/// A role as typed in a form, the API or the command line: `admin`, `analyst`, or a delegation
/// role with the participant's code.
#[derive(Debug, Clone)]
pub struct RoleChoice {
    pub role: String,
    pub participant_code: Option<String>,
}

async fn resolve_role(
    conn: &mut sqlx::PgConnection,
    choice: &RoleChoice,
) -> Result<Role, AccountError> {
    match choice.role.trim() {
        "admin" => Ok(Role::Admin),
        "analyst" => Ok(Role::Analyst),
        other => {
            let role = DelegationRole::parse(other)
                .ok_or_else(|| invalid("role", "field.role.unknown"))?;
            let code = choice
                .participant_code
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| invalid("participant", "field.participant.required"))?;
            let participant_id: Option<Uuid> =
                sqlx::query_scalar("SELECT id FROM participants WHERE code = upper($1) AND active")
                    .bind(code)
                    .fetch_optional(&mut *conn)
                    .await?;
            let participant_id = participant_id
                .ok_or_else(|| invalid("participant", "field.participant.unknown"))?;
            Ok(Role::Delegation {
                participant_id,
                role,
            })
        }
    }
}

/// A new account as typed.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub display_name: String,
    pub role: RoleChoice,
}

/// A trimmed e-mail address, or the field problem `email`.
pub fn check_email(email: &str) -> Result<String, AccountError> {
    let email = email.trim();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.matches('@').count() == 1;
    if valid {
        Ok(email.to_owned())
    } else {
        Err(invalid("email", "field.email.invalid"))
    }
}

/// Creates an account with a one-time password that must be changed at first sign-in; returns
/// the new user's id and that password (shown once, never stored in clear).
pub async fn create_user(
    pool: &PgPool,
    operator: Operator<'_>,
    account: &NewAccount,
    context: &RequestContext,
) -> Result<(Uuid, String), AccountError> {
    let email = check_email(&account.email)?;
    let display_name = account.display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 200 {
        return Err(invalid("display_name", "field.display_name.required"));
    }
    let one_time = one_time_password();
    let hash = password::hash(one_time.clone())
        .await
        .map_err(AuthError::from)?;
    let mut tx = store::Audited::begin(pool, &operator.scope()).await?;
    let role = resolve_role(&mut tx, &account.role).await?;
    if users::id_by_email(&mut tx, &email).await?.is_some() {
        return Err(invalid("email", "field.email.taken"));
    }
    let new = NewUser {
        email: email.clone(),
        display_name: display_name.to_owned(),
        password_hash: hash,
        must_change_password: true,
        role,
    };
    let id = users::insert(&mut tx, &new).await?;
    let entry = NewEntry::new(
        operator.actor(),
        "user.create",
        json!({ "email": email, "role": role.label() }),
    )
    .about("user", id)
    .for_participant(role.participant())
    .from_request(context);
    tx.commit(&entry).await?;
    Ok((id, one_time))
}

/// Changes a user's role (and delegation membership).
pub async fn change_role(
    pool: &PgPool,
    operator: Operator<'_>,
    user_id: Uuid,
    choice: &RoleChoice,
    context: &RequestContext,
) -> Result<(), AccountError> {
    let mut tx = store::Audited::begin(pool, &operator.scope()).await?;
    let before = users::find(&mut tx, user_id)
        .await?
        .ok_or(AccountError::NotFound)?;
    let role = resolve_role(&mut tx, choice).await?;
    users::set_role(&mut tx, user_id, role).await?;
    let entry = NewEntry::new(
        operator.actor(),
        "user.role_change",
        json!({ "old": { "role": before.role, "participant": before.participant_code },
                "new": { "role": role.label(), "participant": choice.participant_code } }),
    )
    .about("user", user_id)
    .for_participant(role.participant())
    .from_request(context);
    tx.commit(&entry).await?;
    Ok(())
}

/// Disables a user (ending every session) or enables them again.
pub async fn set_disabled(
    pool: &PgPool,
    operator: Operator<'_>,
    user_id: Uuid,
    disabled: bool,
    context: &RequestContext,
) -> Result<(), AccountError> {
    let mut tx = store::Audited::begin(pool, &operator.scope()).await?;
    if !users::set_disabled(&mut tx, user_id, disabled).await? {
        return Err(AccountError::NotFound);
    }
    let ended = if disabled {
        sessions::end_all_for_user(&mut tx, user_id, EndReason::UserDisabled, None).await?
    } else {
        0
    };
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    let entry = NewEntry::new(operator.actor(), action, json!({ "sessions_ended": ended }))
        .about("user", user_id)
        .from_request(context);
    tx.commit(&entry).await?;
    Ok(())
}

/// Gives a user a new one-time password (ending their sessions); returns it.
pub async fn reset_password(
    pool: &PgPool,
    operator: Operator<'_>,
    user_id: Uuid,
    context: &RequestContext,
) -> Result<String, AccountError> {
    let one_time = one_time_password();
    let hash = password::hash(one_time.clone())
        .await
        .map_err(AuthError::from)?;
    let mut tx = store::Audited::begin(pool, &operator.scope()).await?;
    if !users::set_password(&mut tx, user_id, &hash, true).await? {
        return Err(AccountError::NotFound);
    }
    let ended =
        sessions::end_all_for_user(&mut tx, user_id, EndReason::PasswordChanged, None).await?;
    // A reset answers a lost or leaked password: no token issued under the old one survives.
    let revoked = tokens::revoke_all(&mut tx, user_id).await?;
    let entry = NewEntry::new(
        operator.actor(),
        "user.password_reset",
        json!({ "sessions_ended": ended, "tokens_revoked": revoked }),
    )
    .about("user", user_id)
    .from_request(context);
    security_notice(&mut tx, crate::notify::Event::PasswordChanged, user_id).await?;
    tx.commit(&entry).await?;
    Ok(one_time)
}

/// Removes a user's second factor and recovery codes (a lost device); ends their sessions, so
/// the next sign-in sets a new one up (admins must, others may).
pub async fn reset_second_factor(
    pool: &PgPool,
    operator: Operator<'_>,
    user_id: Uuid,
    context: &RequestContext,
) -> Result<(), AccountError> {
    let mut tx = store::Audited::begin(pool, &operator.scope()).await?;
    if !users::clear_totp(&mut tx, user_id).await? {
        return Err(AccountError::NotFound);
    }
    let ended = sessions::end_all_for_user(&mut tx, user_id, EndReason::Revoked, None).await?;
    let entry = NewEntry::new(
        operator.actor(),
        "user.second_factor_reset",
        json!({ "sessions_ended": ended }),
    )
    .about("user", user_id)
    .from_request(context);
    security_notice(&mut tx, crate::notify::Event::SecondFactorReset, user_id).await?;
    tx.commit(&entry).await?;
    Ok(())
}

/// Ends one session by its handle (an admin revoking it).
pub async fn end_session(
    pool: &PgPool,
    operator: Operator<'_>,
    handle: Uuid,
    context: &RequestContext,
) -> Result<(), AccountError> {
    let mut tx = store::Audited::begin(pool, &operator.scope()).await?;
    let user = sessions::end_by_handle(&mut tx, handle, EndReason::Revoked)
        .await?
        .ok_or(AccountError::NotFound)?;
    let entry = NewEntry::new(
        operator.actor(),
        "auth.session_revoked",
        json!({ "session": handle }),
    )
    .about("user", user)
    .from_request(context);
    tx.commit(&entry).await?;
    Ok(())
}

/// Ends every session of a user.
pub async fn end_all_sessions(
    pool: &PgPool,
    operator: Operator<'_>,
    user_id: Uuid,
    context: &RequestContext,
) -> Result<u64, AccountError> {
    let mut tx = store::Audited::begin(pool, &operator.scope()).await?;
    if users::find(&mut tx, user_id).await?.is_none() {
        return Err(AccountError::NotFound);
    }
    let ended = sessions::end_all_for_user(&mut tx, user_id, EndReason::Revoked, None).await?;
    let entry = NewEntry::new(
        operator.actor(),
        "auth.sessions_revoked",
        json!({ "sessions_ended": ended }),
    )
    .about("user", user_id)
    .from_request(context);
    tx.commit(&entry).await?;
    Ok(ended)
}

/// Changes one's own password after re-entering the current one; ends every other session.
pub async fn change_own_password(
    pool: &PgPool,
    principal: &Principal,
    current: String,
    new: String,
    context: &RequestContext,
) -> Result<(), AccountError> {
    password::check_new(&new, &[&principal.email, &principal.display_name])
        .map_err(|problem: PasswordProblem| invalid("new_password", problem.message_key()))?;
    let stored = {
        let mut tx = store::begin(pool, &principal.scope()).await?;
        let stored = users::password_hash(&mut tx, principal.user_id).await?;
        tx.commit().await?;
        stored
    };
    if !password::verify_or_dummy(current, stored)
        .await
        .map_err(AuthError::from)?
    {
        return Err(invalid("current_password", "field.current_password.wrong"));
    }
    let hash = password::hash(new).await.map_err(AuthError::from)?;
    let keep = match &principal.credential {
        Credential::Session { id_hash, .. } => Some(id_hash.as_slice()),
        Credential::Token { .. } => None,
    };
    let mut tx = store::Audited::begin(pool, &principal.scope()).await?;
    users::set_password(&mut tx, principal.user_id, &hash, false).await?;
    let ended =
        sessions::end_all_for_user(&mut tx, principal.user_id, EndReason::PasswordChanged, keep)
            .await?;
    let entry = NewEntry::new(
        Actor::User(principal.user_id),
        "user.password_change",
        json!({ "other_sessions_ended": ended }),
    )
    .about("user", principal.user_id)
    .from_request(context);
    security_notice(
        &mut tx,
        crate::notify::Event::PasswordChanged,
        principal.user_id,
    )
    .await?;
    tx.commit(&entry).await?;
    Ok(())
}

/// The secret offered to `principal` for enrolment: chosen by the server (derived from the key
/// that seals secrets, the user and their session), never by the client.
pub fn enrolment_secret(keys: &super::totp_key::TotpKeys, principal: &Principal) -> Vec<u8> {
    keys.pending_secret(
        principal.user_id,
        principal.csrf_token().unwrap_or_default(),
    )
}

/// Turns on the second factor once the user proves their app holds the secret the server offered
/// ([`enrolment_secret`]); stores it sealed; returns the recovery codes (shown once, stored
/// hashed).
pub async fn enrol_second_factor(
    pool: &PgPool,
    keys: &super::totp_key::TotpKeys,
    principal: &Principal,
    code: &str,
    context: &RequestContext,
) -> Result<Vec<String>, AccountError> {
    let secret = enrolment_secret(keys, principal);
    let secret = secret.as_slice();
    if principal.has_second_factor {
        // Replacing a second factor takes more than a session: an admin removes it first.
        return Err(invalid("code", "field.totp_code.already_on"));
    }
    let step = totp::matching_step(secret, code)
        .ok_or_else(|| invalid("code", "field.totp_code.wrong"))?;
    let codes = totp::new_recovery_codes();
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .map(|c| sha256(&totp::normalise_recovery_code(c)))
        .collect();
    let mut tx = store::Audited::begin(pool, &principal.scope()).await?;
    let sealed = keys.seal(principal.user_id, secret);
    users::enable_totp(&mut tx, principal.user_id, &sealed, step, &hashes).await?;
    let entry = NewEntry::new(
        Actor::User(principal.user_id),
        "user.second_factor_enrol",
        json!({}),
    )
    .about("user", principal.user_id)
    .from_request(context);
    tx.commit(&entry).await?;
    Ok(codes)
}

/// A token just created: the secret is shown once.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub id: Uuid,
    pub name: String,
    /// `Authorization: Bearer <token>`; shown only now.
    pub token: String,
}

/// Creates a personal API token for the principal.
pub async fn create_token(
    pool: &PgPool,
    principal: &Principal,
    name: &str,
    expires_at: Option<OffsetDateTime>,
    context: &RequestContext,
) -> Result<CreatedToken, AccountError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid("name", "field.token_name.required"));
    }
    let secret = format!("pt_{}", random_hex(32));
    let mut tx = store::Audited::begin(pool, &principal.scope()).await?;
    let id = tokens::insert(
        &mut tx,
        principal.user_id,
        name,
        &sha256(&secret),
        expires_at,
    )
    .await?;
    let entry = NewEntry::new(
        Actor::User(principal.user_id),
        "token.create",
        json!({ "name": name }),
    )
    .about("api_token", id)
    .from_request(context);
    tx.commit(&entry).await?;
    Ok(CreatedToken {
        id,
        name: name.to_owned(),
        token: secret,
    })
}

/// Revokes one of the principal's tokens.
pub async fn revoke_token(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    context: &RequestContext,
) -> Result<(), AccountError> {
    let mut tx = store::Audited::begin(pool, &principal.scope()).await?;
    if !tokens::revoke(&mut tx, principal.user_id, id).await? {
        return Err(AccountError::NotFound);
    }
    let entry = NewEntry::new(Actor::User(principal.user_id), "token.revoke", json!({}))
        .about("api_token", id)
        .from_request(context);
    tx.commit(&entry).await?;
    Ok(())
}

/// Sets one's own time zone (an IANA name this build's zone database knows; `time_zone` names
/// the field otherwise; the database's spelling is kept). Audited with the old and new zone;
/// returns the zone as stored.
pub async fn change_own_time_zone(
    pool: &PgPool,
    principal: &Principal,
    zone: &str,
    context: &RequestContext,
) -> Result<String, AccountError> {
    let zone = crate::domain::time_zone::TimeZone::named(zone)
        .ok_or_else(|| invalid("time_zone", "field.time_zone.unknown"))?;
    // The zone's row changes even when it is the same zone (its row version moves), and only a
    // different zone is audited: the one write here that is not an `Audited` unit of work.
    let mut tx = store::begin(pool, &principal.scope()).await?;
    let old = users::set_time_zone(&mut tx, principal.user_id, zone.name())
        .await?
        .ok_or(AccountError::NotFound)?;
    if old != zone.name() {
        audit::append(
            &mut tx,
            &NewEntry::new(
                Actor::User(principal.user_id),
                "user.time_zone_change",
                json!({ "time_zone": { "old": old, "new": zone.name() } }),
            )
            .about("user", principal.user_id)
            .from_request(context),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(zone.name().to_owned())
}

/// A security notice to the account's owner, in the transaction of the change (always mailed;
/// it cannot be turned off: `crate::notify`).
pub(crate) async fn security_notice(
    conn: &mut sqlx::PgConnection,
    event: crate::notify::Event,
    user_id: Uuid,
) -> Result<(), sqlx::Error> {
    crate::notify::enqueue(
        conn,
        &event,
        &[crate::notify::Recipient::User(user_id)],
        None,
    )
    .await?;
    Ok(())
}
