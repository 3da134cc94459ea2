//! Who a request is from: a bearer token or a session cookie, looked up once per request in the
//! `authenticator` scope (which may read memberships and nothing participant-owned), in one
//! statement outside any transaction (migration 0025's functions carry the scope): every request
//! pays this, so it is one round trip. A session that is idle, past its absolute lifetime, or
//! whose user is disabled is ended by that statement; activity is recorded at most once a
//! minute. The web layer (`web::authn`) calls these and hands the principal to handlers.
//!
//! A live session's answer is kept in memory ([`SessionMemo`]) and given again while none of
//! the tables it was read from has changed and for no longer than that statement would give the
//! same answer without writing (its lifetime, its next recorded activity): the same principal,
//! without the round trip (`storage::coherence`).

use sqlx::PgPool;

use super::secrets::sha256;
use super::{Credential, Principal};
use crate::storage::coherence::{Coherence, Memo};
use crate::storage::sessions::SessionRecord;
use crate::storage::{sessions, tokens};

/// Live sessions kept in memory, by the SHA-256 of their cookie.
pub type SessionMemo = Memo<Vec<u8>, SessionRecord>;

/// Sessions kept at most (a few hundred bytes each).
const SESSIONS_KEPT: usize = 10_000;

/// The memo of live sessions, trusted through `coherence`.
pub fn session_memo(coherence: Coherence) -> SessionMemo {
    Memo::new(coherence, sessions::RESOLVED_FROM, SESSIONS_KEPT)
}

/// What a token or cookie resolves to.
pub enum Resolution {
    /// With the unread notifications, when read with a session (pages show the count).
    Principal(Principal, Option<i64>),
    Anonymous {
        /// A cookie was sent and names no live session: the response clears it.
        stale_cookie: bool,
    },
    /// A bearer token was presented and is not valid: the request is refused, not downgraded.
    BadToken,
}

/// The owner of a bearer token (an unknown, revoked or expired token, or one of a disabled
/// user, is `BadToken`).
pub async fn bearer(pool: &PgPool, token: &str) -> Result<Resolution, sqlx::Error> {
    let owner = tokens::resolve_owner(pool, &sha256(token)).await?;
    Ok(match owner.and_then(|o| o.role.map(|role| (o, role))) {
        Some((owner, role)) => Resolution::Principal(
            Principal {
                user_id: owner.user_id,
                email: owner.email,
                display_name: owner.display_name,
                role,
                credential: Credential::Token { id: owner.token_id },
                must_change_password: owner.must_change_password,
                second_factor_pending: false,
                has_second_factor: owner.has_second_factor,
                time_zone: owner.time_zone,
            },
            None,
        ),
        None => Resolution::BadToken,
    })
}

/// The user of a session cookie, ending the session when it is idle (longer than `idle`), past
/// its absolute lifetime or its user disabled.
pub async fn session(
    pool: &PgPool,
    memo: &SessionMemo,
    cookie: &str,
    idle: std::time::Duration,
) -> Result<Resolution, sqlx::Error> {
    let idle = time::Duration::try_from(idle).unwrap_or(time::Duration::minutes(30));
    let id_hash = sha256(cookie);
    let record = match memo.get(&id_hash).await {
        Ok(kept) => kept,
        Err(ticket) => {
            let Some(record) = sessions::resolve(pool, &id_hash, idle).await? else {
                return Ok(Resolution::Anonymous { stale_cookie: true });
            };
            if record.ended_because.is_none() && record.role.is_some() {
                memo.put(
                    ticket,
                    id_hash.clone(),
                    record.clone(),
                    record.unchanged_for,
                );
            }
            record
        }
    };
    Ok(match (record.ended_because, record.role) {
        (Some(_), _) | (None, None) => Resolution::Anonymous { stale_cookie: true },
        (None, Some(role)) => Resolution::Principal(
            Principal {
                user_id: record.user_id,
                email: record.email,
                display_name: record.display_name,
                role,
                credential: Credential::Session {
                    id_hash,
                    handle: record.handle,
                    csrf_token: record.csrf_token,
                },
                must_change_password: record.must_change_password,
                second_factor_pending: !record.fully_authenticated,
                has_second_factor: record.has_second_factor,
                time_zone: record.time_zone,
            },
            Some(record.unread_notifications),
        ),
    })
}

/// Records the device a session was just made on (its cookie and a fresh device token, both
/// hashed); `false` when the device was known already. A correct sign-in from a known device is
/// not held by its address's throttle block (`auth::sign_in`).
pub async fn remember_device(
    pool: &PgPool,
    session_cookie: &str,
    device_token: &str,
) -> Result<bool, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    crate::storage::throttle::remember_device(
        &mut conn,
        &sha256(session_cookie),
        &sha256(device_token),
    )
    .await
}
