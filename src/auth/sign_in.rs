//! Signing in and out, shared by the pages, the API and the tests.
//!
//! An unknown account, a wrong password, a disabled account and a throttled attempt get the same
//! answer (`Refused`) after the same work (one argon2 verification), so neither the answer nor
//! its timing tells whether an account exists. Every attempt lands in the audit log.

use serde_json::json;
use sqlx::PgPool;
use time::Duration;
use uuid::Uuid;

use super::secrets::{random_hex, sha256};
use super::{AuthConfig, AuthError, Credential, Principal, password, totp};
use crate::storage::audit::{Actor, NewEntry, RequestContext};
use crate::storage::sessions::{self, EndReason, NewSession};
use crate::storage::throttle::{self, ACCOUNT, ADDRESS};
use crate::storage::users;
use crate::storage::{self as store, Scope};

/// A session just issued: the cookie value is shown to the browser once and stored hashed.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    pub cookie_value: String,
    pub csrf_token: String,
    pub user_id: Uuid,
    /// The password is verified but the second factor is still to be given.
    pub second_factor_pending: bool,
    /// The password is a one-time password: the user must choose their own first.
    pub must_change_password: bool,
}

/// What a sign-in attempt gave.
#[derive(Debug, Clone)]
pub enum Outcome {
    Issued(IssuedSession),
    /// Unknown account, wrong password, disabled account or throttled: one answer for all.
    Refused,
}

fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

fn address_key(context: &RequestContext) -> Option<String> {
    context.client_addr.map(|addr| format!("address:{addr}"))
}

/// The throttle keys an attempt counts against: the account always; the client's address
/// unless the browser is a known device of that account's user (it completed a sign-in there
/// recently), so that a blocked address does not lock out the people behind it.
async fn throttle_keys(
    conn: &mut sqlx::PgConnection,
    email: &str,
    user_id: Option<Uuid>,
    context: &RequestContext,
) -> Result<Vec<String>, sqlx::Error> {
    let mut keys = vec![account_key(email)];
    let known = match (&context.known_device, user_id) {
        (Some(token_hash), Some(user_id)) => {
            throttle::is_known_device(conn, token_hash, user_id).await?
        }
        _ => false,
    };
    if !known {
        keys.extend(address_key(context));
    }
    Ok(keys)
}

/// A completed sign-in from a browser that is not one of the user's known devices, when they
/// have others (their very first sign-in is not news), is a security notice to them.
async fn notice_if_new_device(
    conn: &mut sqlx::PgConnection,
    user_id: Uuid,
    context: &RequestContext,
) -> Result<(), sqlx::Error> {
    let known = match &context.known_device {
        Some(token_hash) => throttle::is_known_device(conn, token_hash, user_id).await?,
        None => false,
    };
    if known || !throttle::has_known_devices(conn, user_id).await? {
        return Ok(());
    }
    super::accounts::security_notice(
        conn,
        crate::notify::Event::NewSignIn {
            at: time::OffsetDateTime::now_utc(),
        },
        user_id,
    )
    .await
}

fn lifetime(config: &AuthConfig) -> Duration {
    Duration::try_from(config.absolute_timeout).unwrap_or(Duration::hours(12))
}

async fn issue(
    conn: &mut sqlx::PgConnection,
    config: &AuthConfig,
    user_id: Uuid,
    fully_authenticated: bool,
    context: &RequestContext,
) -> Result<IssuedSession, sqlx::Error> {
    let cookie_value = random_hex(32);
    let csrf_token = random_hex(32);
    sessions::insert(
        conn,
        &NewSession {
            id_hash: &sha256(&cookie_value),
            user_id,
            csrf_token: &csrf_token,
            fully_authenticated,
            lifetime: lifetime(config),
            client_addr: context.client_addr,
            user_agent: context.user_agent.as_deref(),
        },
    )
    .await?;
    Ok(IssuedSession {
        cookie_value,
        csrf_token,
        user_id,
        second_factor_pending: !fully_authenticated,
        must_change_password: false,
    })
}

/// Checks an e-mail address and password; issues a new session (a new id, never a reused one)
/// when they match an enabled account that is not throttled.
pub async fn sign_in(
    pool: &PgPool,
    config: &AuthConfig,
    email: &str,
    password_text: String,
    context: &RequestContext,
) -> Result<Outcome, AuthError> {
    // Outside a demo the demo's published password is refused whatever the account, so demo
    // accounts left in a real deployment cannot be used (a failure like any wrong password).
    let demo_password_refused = !config.demo && password_text == crate::demo::DEMO_PASSWORD;
    let (blocked, account, keys) = {
        let mut tx = store::begin(pool, &Scope::Anonymous).await?;
        let account = users::find_for_sign_in(&mut tx, email.trim()).await?;
        let user_id = account.as_ref().map(|a| a.id);
        let keys = throttle_keys(&mut tx, email, user_id, context).await?;
        let blocked = throttle::blocked_until(&mut tx, &keys).await?.is_some();
        tx.commit().await?;
        (blocked, account, keys)
    };
    // The same verification cost whatever the case (the connection is not held meanwhile).
    let verified = password::verify_or_dummy(
        password_text,
        account.as_ref().map(|a| a.password_hash.clone()),
    )
    .await?;

    let mut tx = store::Audited::begin(pool, &Scope::Anonymous).await?;
    let refusal = match &account {
        _ if blocked => Some("throttled"),
        None => Some("unknown_account"),
        Some(_) if !verified => Some("wrong_password"),
        Some(_) if demo_password_refused => Some("demo_password"),
        Some(a) if a.disabled => Some("disabled"),
        Some(_) => None,
    };
    let (outcome, entry) = match (refusal, account) {
        (Some(reason), account) => {
            throttle::record_failure(&mut tx, &keys[0], ACCOUNT).await?;
            if let Some(address) = keys.get(1) {
                throttle::record_failure(&mut tx, address, ADDRESS).await?;
            }
            let mut entry = NewEntry::new(
                Actor::Anonymous,
                "auth.sign_in_failed",
                json!({ "reason": reason }),
            )
            .from_request(context);
            entry = match &account {
                Some(a) => entry.about("user", a.id),
                // Unknown accounts are recorded by what was typed, so attacks can be traced.
                None => NewEntry {
                    details: json!({ "reason": reason, "email": email.trim() }),
                    ..entry
                },
            };
            tracing::info!(reason, "sign-in refused");
            (Outcome::Refused, entry)
        }
        (None, Some(account)) => {
            // With a second factor the sign-in is not over: its failures must outlive this step.
            if !account.has_second_factor {
                throttle::clear(&mut tx, &keys[0]).await?;
            }
            let mut issued = issue(
                &mut tx,
                config,
                account.id,
                !account.has_second_factor,
                context,
            )
            .await?;
            if !account.has_second_factor {
                notice_if_new_device(&mut tx, account.id, context).await?;
            }
            issued.must_change_password = account.must_change_password;
            let action = if account.has_second_factor {
                "auth.password_verified"
            } else {
                "auth.sign_in"
            };
            let entry = NewEntry::new(Actor::User(account.id), action, json!({}))
                .about("user", account.id)
                .from_request(context);
            (Outcome::Issued(issued), entry)
        }
        // Not reached (no account is a refusal); nothing was written, and dropping the work
        // rolls it back.
        (None, None) => return Ok(Outcome::Refused),
    };
    tx.commit(&entry).await?;
    Ok(outcome)
}

/// A session whose password is verified and whose second factor is awaited.
#[derive(Debug, Clone)]
pub struct PendingSignIn {
    pub user_id: Uuid,
    pub email: String,
    pub session_id_hash: Vec<u8>,
}

impl PendingSignIn {
    /// The pending sign-in of a principal signed in with a session awaiting its second factor.
    pub fn of(principal: &Principal) -> Option<Self> {
        match &principal.credential {
            Credential::Session { id_hash, .. } if principal.second_factor_pending => Some(Self {
                user_id: principal.user_id,
                email: principal.email.clone(),
                session_id_hash: id_hash.clone(),
            }),
            _ => None,
        }
    }

    /// The pending sign-in of a session just issued.
    pub fn of_issued(session: &IssuedSession, email: &str) -> Self {
        Self {
            user_id: session.user_id,
            email: email.trim().to_owned(),
            session_id_hash: sha256(&session.cookie_value),
        }
    }
}

/// Completes a sign-in with a TOTP code or a recovery code: on success the pending session is
/// replaced by a new, fully authenticated one. A wrong code counts against the account and the
/// client's address; while either is blocked every code, the right one included, is refused.
pub async fn complete_second_factor(
    pool: &PgPool,
    config: &AuthConfig,
    pending: &PendingSignIn,
    code: &str,
    context: &RequestContext,
) -> Result<Option<IssuedSession>, AuthError> {
    let id_hash = &pending.session_id_hash;
    let mut tx = store::Audited::begin(pool, &Scope::Anonymous).await?;
    let keys = throttle_keys(&mut tx, &pending.email, Some(pending.user_id), context).await?;
    // One code at a time per account, so parallel guesses cannot all pass the check below.
    throttle::lock(&mut tx, &keys[0]).await?;
    let accepted = if throttle::blocked_until(&mut tx, &keys).await?.is_some() {
        false
    } else {
        match users::totp_state(&mut tx, pending.user_id).await? {
            Some((sealed, _)) => match config
                .totp_keys
                .open(pending.user_id, &sealed)
                .and_then(|secret| totp::matching_step(&secret, code))
            {
                Some(step) => users::claim_totp_step(&mut tx, pending.user_id, step).await?,
                None => {
                    let recovery = sha256(&totp::normalise_recovery_code(code));
                    users::use_recovery_code(&mut tx, pending.user_id, &recovery).await?
                }
            },
            None => false,
        }
    };
    let (issued, entry) = if accepted {
        throttle::clear(&mut tx, &keys[0]).await?;
        sessions::end(&mut tx, id_hash, EndReason::Replaced).await?;
        let issued = issue(&mut tx, config, pending.user_id, true, context).await?;
        notice_if_new_device(&mut tx, pending.user_id, context).await?;
        let entry = NewEntry::new(
            Actor::User(pending.user_id),
            "auth.sign_in",
            json!({ "second_factor": true }),
        )
        .about("user", pending.user_id)
        .from_request(context);
        (Some(issued), entry)
    } else {
        throttle::record_failure(&mut tx, &keys[0], ACCOUNT).await?;
        if let Some(address) = keys.get(1) {
            throttle::record_failure(&mut tx, address, ADDRESS).await?;
        }
        let entry = NewEntry::new(
            Actor::User(pending.user_id),
            "auth.second_factor_failed",
            json!({}),
        )
        .about("user", pending.user_id)
        .from_request(context);
        (None, entry)
    };
    tx.commit(&entry).await?;
    Ok(issued)
}

/// Ends the principal's session.
pub async fn sign_out(
    pool: &PgPool,
    principal: &Principal,
    context: &RequestContext,
) -> Result<(), AuthError> {
    let Credential::Session { id_hash, .. } = &principal.credential else {
        return Ok(());
    };
    let mut tx = store::Audited::begin(pool, &principal.scope()).await?;
    sessions::end(&mut tx, id_hash, EndReason::SignedOut).await?;
    let entry = NewEntry::new(Actor::User(principal.user_id), "auth.sign_out", json!({}))
        .about("user", principal.user_id)
        .from_request(context);
    tx.commit(&entry).await?;
    Ok(())
}
