//! The signed-in user's notifications (the in-app list, marking read, the choices per kind) and
//! the admins' view of the mail outbox. Writing notifications: `crate::notify`.
//!
//! Only a notification's recipient reads or marks it (row-level security, migration 0017): a
//! notification id of someone else is 404, admins included. Marking read and changing the
//! choices each append one audit entry (`notification.read`, `notification.preferences`).

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::ServiceError;
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::notify::{Delivery, Kind};
use crate::storage::audit::{Actor, NewEntry, RequestContext};
use crate::storage::notifications as store;
use crate::storage::{self};

pub use crate::storage::notifications::{NotificationView, OutboxView};

/// How many notifications the list shows.
pub const LIST_SIZE: i64 = 100;

/// The caller's latest notifications and the number unread (one statement).
pub async fn list(
    pool: &PgPool,
    principal: &Principal,
) -> Result<(Vec<NotificationView>, i64), ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let list = store::list(&mut tx, principal.user_id, LIST_SIZE).await?;
    tx.commit().await?;
    Ok(list)
}

/// Marks one of the caller's notifications read (`Some`), or all of them; another user's is
/// 404. Returns how many changed (0 when already read: nothing is recorded then).
pub async fn mark_read(
    pool: &PgPool,
    principal: &Principal,
    id: Option<Uuid>,
    context: &RequestContext,
) -> Result<u64, ServiceError> {
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    if let Some(id) = id
        && !store::exists(&mut tx, id).await?
    {
        return Err(ServiceError::NotFound);
    }
    let changed = store::mark_read(&mut tx, principal.user_id, id).await?;
    if changed == 0 {
        return Ok(0);
    }
    let mut entry = NewEntry::new(
        Actor::User(principal.user_id),
        "notification.read",
        json!({ "count": changed }),
    )
    .from_request(context);
    if let Some(id) = id {
        entry = entry.about("notification", id);
    }
    tx.commit(&entry).await?;
    Ok(changed)
}

/// The caller's delivery for every choosable kind, in page order.
pub async fn preferences(
    pool: &PgPool,
    principal: &Principal,
) -> Result<Vec<(Kind, Delivery)>, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let stored = store::preferences(&mut tx, principal.user_id).await?;
    tx.commit().await?;
    Ok(Kind::CHOOSABLE
        .into_iter()
        .map(|kind| {
            let delivery = stored
                .iter()
                .find(|(k, _)| k == kind.as_str())
                .and_then(|(_, d)| Delivery::parse(d))
                .unwrap_or(Delivery::Immediately);
            (kind, delivery)
        })
        .collect())
}

/// Replaces the caller's choices: one `(kind, delivery)` per choosable kind named in
/// `choices`; an unknown delivery is 422 naming the kind's field (`kind.<kind>`); kinds not
/// named keep `immediately`. Security kinds cannot be chosen (422).
pub async fn set_preferences(
    pool: &PgPool,
    principal: &Principal,
    choices: &[(String, String)],
    context: &RequestContext,
) -> Result<(), ServiceError> {
    let mut chosen: Vec<(&'static str, &'static str)> = Vec::new();
    let mut problems = std::collections::BTreeMap::new();
    for (name, delivery) in choices {
        let field = format!("kind.{name}");
        match (Kind::parse(name), Delivery::parse(delivery)) {
            (Some(kind), Some(delivery)) if !kind.is_security() => {
                chosen.retain(|(k, _)| *k != kind.as_str());
                if delivery != Delivery::Immediately {
                    chosen.push((kind.as_str(), delivery.as_str()));
                }
            }
            (Some(kind), _) if kind.is_security() => {
                problems.insert(field, "field.notification.security".to_owned());
            }
            _ => {
                problems.insert(field, "field.notification.delivery".to_owned());
            }
        }
    }
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    store::set_preferences(&mut tx, principal.user_id, &chosen).await?;
    let details: serde_json::Map<String, serde_json::Value> = chosen
        .iter()
        .map(|(k, d)| ((*k).to_owned(), json!(d)))
        .collect();
    tx.commit(
        &NewEntry::new(
            Actor::User(principal.user_id),
            "notification.preferences",
            serde_json::Value::Object(details),
        )
        .about("user", principal.user_id)
        .from_request(context),
    )
    .await?;
    Ok(())
}

/// The newest outbox rows and the count per status: admins only.
pub async fn outbox(
    pool: &PgPool,
    principal: &Principal,
) -> Result<(Vec<OutboxView>, Vec<(String, i64)>), ServiceError> {
    if !principal.may(Permission::ManageUsers) {
        return Err(ServiceError::Forbidden);
    }
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let outbox = store::outbox(&mut tx, 200).await?;
    tx.commit().await?;
    Ok(outbox)
}
