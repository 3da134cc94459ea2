//! Each user's deadline calendar: a secret, revocable feed URL (`/calendar/{token}`; only the
//! token's SHA-256 is stored) serving iCalendar ([`crate::domain::ics`]) with the deadlines of
//! the user's cycles: every cycle for admins and analysts, the cycles in which their delegation
//! has an assessment for delegation members. A new feed replaces the old one; revoking ends it.
//! The feed is read with the owner's own scope, so row-level security applies as on their pages;
//! a disabled account's feed is 404.
//!
//! | operation | permission | audit action |
//! |---|---|---|
//! | `create` (returns the URL's token, shown once) | `ManageOwnCredentials` (a session) | `calendar.create` |
//! | `revoke` | `ManageOwnCredentials` | `calendar.revoke` |
//! | `feed` (read) | the token | — |

use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::ServiceError;
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::auth::secrets::{random_hex, sha256};
use crate::domain::ics;
use crate::domain::role::Role;
use crate::presentation::i18n::Lang;
use crate::storage::audit::{Actor, NewEntry, RequestContext};
use crate::storage::calendar_feeds as store;
use crate::storage::{self, Scope};

/// When the caller's feed was made, if they have one.
pub async fn status(
    pool: &PgPool,
    principal: &Principal,
) -> Result<Option<OffsetDateTime>, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let made = store::created_at(&mut tx, principal.user_id).await?;
    tx.commit().await?;
    Ok(made)
}

/// Makes a new feed token for the caller (the old one stops working); returns it.
pub async fn create(
    pool: &PgPool,
    principal: &Principal,
    context: &RequestContext,
) -> Result<String, ServiceError> {
    if !principal.may(Permission::ManageOwnCredentials) {
        return Err(ServiceError::Forbidden);
    }
    let token = format!("cal_{}", random_hex(32));
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    store::replace(&mut tx, principal.user_id, &sha256(&token)).await?;
    tx.commit(
        &NewEntry::new(Actor::User(principal.user_id), "calendar.create", json!({}))
            .about("user", principal.user_id)
            .from_request(context),
    )
    .await?;
    Ok(token)
}

/// Ends the caller's feed; false when they had none (nothing recorded then).
pub async fn revoke(
    pool: &PgPool,
    principal: &Principal,
    context: &RequestContext,
) -> Result<bool, ServiceError> {
    if !principal.may(Permission::ManageOwnCredentials) {
        return Err(ServiceError::Forbidden);
    }
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    if !store::revoke(&mut tx, principal.user_id).await? {
        return Ok(false);
    }
    tx.commit(
        &NewEntry::new(Actor::User(principal.user_id), "calendar.revoke", json!({}))
            .about("user", principal.user_id)
            .from_request(context),
    )
    .await?;
    Ok(true)
}

/// The feed of a token, as an iCalendar text in its owner's language (404 for an unknown or
/// revoked token, or a disabled account).
pub async fn feed(pool: &PgPool, token: &str) -> Result<String, ServiceError> {
    let mut tx = storage::begin(pool, &Scope::Authenticator).await?;
    let owner = store::owner(&mut tx, &sha256(token))
        .await?
        .ok_or(ServiceError::NotFound)?;
    storage::set_scope(
        &mut tx,
        &Scope::User {
            user_id: owner.user_id,
            role: owner.role,
        },
    )
    .await?;
    let staff = matches!(owner.role, Role::Admin | Role::Analyst);
    let deadlines = store::deadlines(&mut tx, staff).await?;
    tx.commit().await?;
    let lang = Lang::parse(&owner.language).unwrap_or(Lang::En);
    let tr = lang.tr();
    let events: Vec<ics::Event> = deadlines
        .iter()
        .map(|d| {
            let title = if lang == Lang::Fr && !d.title_fr.trim().is_empty() {
                &d.title_fr
            } else {
                &d.title_en
            };
            ics::Event {
                uid: format!("cycle-{}-deadline@pledge-tracker", d.cycle_id),
                day: d.deadline,
                summary: tr.fmt(
                    "calendar.event_summary",
                    &[("cycle", &format!("{} — {title}", d.code))],
                ),
                description: tr.fmt(
                    "calendar.event_description",
                    &[("state", tr.t(&format!("cycle_state.{}", d.state)))],
                ),
                stamp: d.updated_at,
            }
        })
        .collect();
    Ok(ics::calendar(tr.t("calendar.name"), &events))
}
