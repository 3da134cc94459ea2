//! The sender loop inside `pledge serve`: schedules reminders, claims due outbox rows, sends
//! them over SMTP and records each outcome.
//!
//! - **Claim** (`storage::notifications::claim`): one short transaction marks up to
//!   [`MailSettings::batch`] due rows as claimed by this loop until now + the lease, counting an
//!   attempt; rows another loop is claiming at that moment are skipped (`FOR UPDATE SKIP
//!   LOCKED`), rows with a live claim are not due. Several `serve` processes therefore never
//!   claim the same row at once.
//! - **Send**, outside any transaction; then **record**: `sent`, or a failed attempt that waits
//!   `retry_base × 2^(attempts−1)` (at most an hour) before the next, until `max_attempts`
//!   attempts make it `failed` with the last error. An outcome is recorded only while this loop
//!   still holds the claim.
//! - **A loop that dies** between claiming and recording leaves a claim that expires after the
//!   lease (5 minutes, longer than the SMTP timeout); the row is then claimed again. A mail the
//!   server accepted just before such a death is sent again: delivery is at least once, and a
//!   duplicate needs a crash in that window.
//! - **Every `schedule_interval`** (5 minutes) the loop also schedules deadline reminders and
//!   overdue notices ([`super::schedule`]), writes the daily digests that are due in their
//!   users' time zones ([`super::digest`]; a digest is then an ordinary mail here) and purges
//!   old mails no longer pending ([`super::retention`]).

use std::sync::Arc;
use std::time::Instant;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgPool;
use uuid::Uuid;

use super::settings::{MailSettings, SmtpSecurity};
use crate::presentation::i18n::Lang;
use crate::storage::notifications::{self as store, ClaimedMail};
use crate::storage::{self, Scope};

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Mails handed to the SMTP server.
    pub sent: usize,
    /// Mails whose attempt failed (to be retried, or given up).
    pub failed: usize,
}

/// Runs until the task is aborted: schedules reminders, writes due digests and purges old mails
/// every `schedule_interval`, sends due mails every `poll_interval` (when SMTP is configured).
/// Errors are logged and the loop goes on.
pub async fn run(pool: PgPool, settings: Arc<MailSettings>) {
    let worker = Uuid::new_v4();
    let mut last_schedule: Option<Instant> = None;
    loop {
        if last_schedule.is_none_or(|at| at.elapsed() >= settings.schedule_interval) {
            let today = time::OffsetDateTime::now_utc().date();
            match super::schedule::run(&pool, today, &settings.reminder_days).await {
                Ok(done) if done.reminders + done.overdue_cycles > 0 => tracing::info!(
                    reminders = done.reminders,
                    overdue_cycles = done.overdue_cycles,
                    "scheduled deadline notices"
                ),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "scheduling deadline notices failed"),
            }
            let now = time::OffsetDateTime::now_utc();
            match super::digest::run(&pool, now, &settings.base_url).await {
                Ok(done) if done.mails > 0 => tracing::info!(
                    mails = done.mails,
                    notices = done.notices,
                    "wrote daily digests"
                ),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "writing daily digests failed"),
            }
            match super::retention::purge(&pool, now, settings.retention, settings.purge_batch)
                .await
            {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "purged old mails from the outbox"),
                Err(error) => tracing::warn!(%error, "purging the outbox failed"),
            }
            last_schedule = Some(Instant::now());
        }
        if settings.smtp.is_some() {
            match send_due(&pool, &settings, worker).await {
                Ok(pass) if pass.sent + pass.failed > 0 => {
                    tracing::info!(sent = pass.sent, failed = pass.failed, "outbox pass")
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "the outbox pass failed"),
            }
        }
        tokio::time::sleep(settings.poll_interval).await;
    }
}

/// Claims and sends due mails until none is left to claim (or SMTP is not configured).
pub async fn send_due(
    pool: &PgPool,
    settings: &MailSettings,
    worker: Uuid,
) -> Result<Pass, sqlx::Error> {
    let mut total = Pass::default();
    let Some(transport) = transport(settings) else {
        return Ok(total);
    };
    loop {
        let claimed = claim(pool, settings, worker).await?;
        if claimed.is_empty() {
            return Ok(total);
        }
        let pass = deliver(pool, settings, worker, &transport, claimed).await?;
        total.sent += pass.sent;
        total.failed += pass.failed;
    }
}

/// One claim: commits at once, so that the claim is seen by other senders while this one sends.
pub async fn claim(
    pool: &PgPool,
    settings: &MailSettings,
    worker: Uuid,
) -> Result<Vec<ClaimedMail>, sqlx::Error> {
    let mut tx = storage::begin(pool, &Scope::System).await?;
    let claimed = store::claim(
        &mut tx,
        worker,
        settings.claim_lease,
        settings.batch,
        settings.max_attempts,
    )
    .await?;
    tx.commit().await?;
    Ok(claimed)
}

type Transport = AsyncSmtpTransport<Tokio1Executor>;

fn transport(settings: &MailSettings) -> Option<Transport> {
    let smtp = settings.smtp.as_ref()?;
    let builder = match smtp.security {
        SmtpSecurity::Starttls => Transport::starttls_relay(&smtp.host),
        SmtpSecurity::Tls => Transport::relay(&smtp.host),
        SmtpSecurity::Plain => Ok(Transport::builder_dangerous(&smtp.host)),
    };
    let builder = match builder {
        Ok(builder) => builder,
        Err(error) => {
            tracing::error!(%error, host = %smtp.host, "the SMTP settings cannot be used");
            return None;
        }
    };
    let mut builder = builder.port(smtp.port).timeout(Some(smtp.timeout));
    if let Some((user, password)) = &smtp.credentials {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Some(builder.build())
}

/// Sends claimed mails, one by one, and records each outcome.
async fn deliver(
    pool: &PgPool,
    settings: &MailSettings,
    worker: Uuid,
    transport: &Transport,
    claimed: Vec<ClaimedMail>,
) -> Result<Pass, sqlx::Error> {
    let mut pass = Pass::default();
    for mail in claimed {
        let ids = [mail.id];
        let outcome = match compose(settings, &mail) {
            Ok(message) => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(error) => Err(error),
        };
        let mut tx = storage::begin(pool, &Scope::System).await?;
        match outcome {
            Ok(()) => {
                store::mark_sent(&mut tx, worker, &ids).await?;
                pass.sent += ids.len();
            }
            Err(error) => {
                tracing::warn!(%error, mails = ids.len(), "sending a mail failed");
                store::mark_failed(
                    &mut tx,
                    worker,
                    &ids,
                    &error,
                    settings.retry_base,
                    settings.max_attempts,
                )
                .await?;
                pass.failed += ids.len();
            }
        }
        tx.commit().await?;
    }
    Ok(pass)
}

/// The mail for one outbox row (a digest is one too): plain text in the row's language, the
/// notice's link made absolute with the public address.
pub fn compose(settings: &MailSettings, mail: &ClaimedMail) -> Result<Message, String> {
    let lang = Lang::parse(&mail.language).unwrap_or_default();
    let tr = lang.tr();
    let base = &settings.base_url;
    let subject = mail.subject.clone();
    let text = format!(
        "{}\n\n{}\n{base}{}",
        mail.body,
        tr.t("notify.mail.open"),
        mail.link
    );
    let footer = if mail.kind.starts_with("security.") {
        tr.t("notify.mail.footer_security").to_owned()
    } else {
        tr.fmt(
            "notify.mail.footer",
            &[("url", &format!("{base}/notifications/preferences"))],
        )
    };
    let from = settings
        .from
        .parse()
        .map_err(|_| format!("the sender address {:?} is not valid", settings.from))?;
    let to = mail
        .recipient
        .parse()
        .map_err(|_| format!("the address {:?} is not valid", mail.recipient))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Content-Language"),
            lang.code().to_owned(),
        ))
        .body(format!("{text}\n\n-- \n{footer}\n"))
        .map_err(|e| e.to_string())
}
