//! Daily digests at each user's own local morning.
//!
//! A notice of a kind the user chose to receive as a *daily digest* is written to the outbox as
//! `held` ([`super::enqueue`]). Every scheduler pass (inside `pledge serve`, every 5 minutes)
//! runs [`run`] with the current moment:
//!
//! 1. `storage::notifications::digest_candidates`: the users with held notices and their time
//!    zone (the one `page.when` shows moments in), one statement.
//! 2. Here, with the zone database the pages use: a user is due when it is [`DIGEST_HOUR`]
//!    o'clock or later on their local day; the day is the key.
//! 3. `take_digests`: one statement records `(user, local day)` in `mail_digests` unless
//!    present and marks that user's held notices `digested`.
//! 4. One digest mail per user (their language: a count, each notice's subject and link) added
//!    to the outbox (`insert_mails`), due at once; the sender sends it like any other mail.
//!
//! All in one transaction: the day's key, the notices taken and the mail commit together. A
//! user therefore gets at most one digest per local day, however many passes or processes run:
//! a second pass that day finds the key taken (after waiting for the first to commit) and
//! leaves later notices held for the next morning. Four statements whatever the number of
//! users.

use std::collections::BTreeMap;

use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::time_zone::TimeZone;
use crate::presentation::i18n::Lang;
use crate::storage::notifications::{self as store, DigestItem, NewMail};
use crate::storage::{self, Scope};

/// The local hour from which a user's digest of the day is sent.
pub const DIGEST_HOUR: u8 = 6;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Digests {
    /// Digest mails written (one per user).
    pub mails: usize,
    /// Notices they gather.
    pub notices: usize,
}

/// The local day whose digest is due for a user in `zone` at `now`: today (in the zone) once it
/// is [`DIGEST_HOUR`] o'clock there, otherwise none yet.
pub fn due_day(zone: &TimeZone, now: OffsetDateTime) -> Option<time::Date> {
    let (offset, _) = zone.at(now);
    let local = now.to_offset(offset);
    (local.hour() >= DIGEST_HOUR).then(|| local.date())
}

/// One pass at `now`; links in the mails start with `base_url` (no trailing slash).
pub async fn run(
    pool: &PgPool,
    now: OffsetDateTime,
    base_url: &str,
) -> Result<Digests, sqlx::Error> {
    let mut tx = storage::begin(pool, &Scope::System).await?;
    let candidates = store::digest_candidates(&mut tx).await?;
    let due: Vec<(Uuid, time::Date)> = candidates
        .iter()
        .filter_map(|(user, zone)| Some((*user, due_day(&TimeZone::or_utc(zone), now)?)))
        .collect();
    let items = store::take_digests(&mut tx, &due).await?;
    let notices = items.len();
    let mut by_user: BTreeMap<Uuid, Vec<DigestItem>> = BTreeMap::new();
    for item in items {
        by_user.entry(item.user_id).or_default().push(item);
    }
    let mails: Vec<NewMail> = by_user
        .into_values()
        .filter_map(|items| compose(&items, base_url))
        .collect();
    store::insert_mails(&mut tx, &mails).await?;
    tx.commit().await?;
    Ok(Digests {
        mails: mails.len(),
        notices,
    })
}

/// The digest mail of one user's notices, in the user's language.
fn compose(items: &[DigestItem], base_url: &str) -> Option<NewMail> {
    let first = items.first()?;
    let lang = Lang::parse(&first.language).unwrap_or_default();
    let tr = lang.tr();
    let count = items.len().to_string();
    let mut body = tr.fmt("notify.mail.digest_intro", &[("count", &count)]);
    for item in items {
        body.push_str(&format!(
            "\n\n- {}\n  {base_url}{}",
            item.subject, item.link
        ));
    }
    Some(NewMail {
        user_id: first.user_id,
        recipient: first.email.clone(),
        language: lang.code().to_owned(),
        kind: "digest",
        subject: tr.fmt("notify.mail.digest_subject", &[("count", &count)]),
        body,
        link: "/notifications".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_digest_day_starts_at_six_in_the_users_own_zone() {
        let paris = TimeZone::named("Europe/Paris").unwrap();
        let toronto = TimeZone::named("America/Toronto").unwrap();
        let auckland = TimeZone::named("Pacific/Auckland").unwrap();
        // 04:30 UTC in January: 05:30 in Paris, 23:30 the day before in Toronto, 17:30 in
        // Auckland.
        let now = datetime!(2026-01-15 04:30 UTC);
        assert_eq!(due_day(&paris, now), None);
        assert_eq!(
            due_day(&toronto, now),
            Some(time::macros::date!(2026 - 01 - 14))
        );
        assert_eq!(
            due_day(&auckland, now),
            Some(time::macros::date!(2026 - 01 - 15))
        );
        let now = datetime!(2026-01-15 05:00 UTC);
        assert_eq!(
            due_day(&paris, now),
            Some(time::macros::date!(2026 - 01 - 15))
        );
        // Summer time: 06:00 in Paris is 04:00 UTC.
        assert_eq!(
            due_day(&paris, datetime!(2026-07-01 04:00 UTC)),
            Some(time::macros::date!(2026 - 07 - 01))
        );
        assert_eq!(due_day(&paris, datetime!(2026-07-01 03:59 UTC)), None);
    }
}
