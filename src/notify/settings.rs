//! The mail settings of `pledge serve` (flattened into its arguments) and what the sender loop
//! runs with. Without `--smtp-host` nothing is sent: notifications and the outbox are written
//! as usual and admins see the outbox on `/admin/outbox`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required; port 587 by default).
    Starttls,
    /// TLS from the first byte ("SMTPS", port 465 by default).
    Tls,
    /// No encryption: only to a server on a loopback address (a local relay; tests).
    Plain,
}

/// Mail settings on the command line (`pledge serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct MailArgs {
    /// SMTP server that sends the notification mails. Without it, mails stay in the outbox
    /// (admins see it on /admin/outbox) and nothing is sent.
    #[arg(long, env = "PLEDGE_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port (default: 587 with starttls, 465 with tls, 25 with plain).
    #[arg(long, env = "PLEDGE_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// starttls (default), tls, or plain (only to a loopback address).
    #[arg(long, env = "PLEDGE_SMTP_SECURITY", value_enum, default_value_t = SmtpSecurity::Starttls)]
    pub smtp_security: SmtpSecurity,
    /// User name for SMTP authentication (with --smtp-password-file).
    #[arg(long, env = "PLEDGE_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    /// File holding the SMTP password (its first line); kept out of the command line and the
    /// environment.
    #[arg(long, env = "PLEDGE_SMTP_PASSWORD_FILE")]
    pub smtp_password_file: Option<PathBuf>,
    /// Sender address of the mails, e.g. "Pledge Tracker <pledge@example.org>".
    #[arg(long, env = "PLEDGE_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Days before a cycle's deadline on which reminders go out (comma-separated).
    #[arg(long, env = "PLEDGE_REMINDER_DAYS", value_delimiter = ',', default_values_t = [14, 7, 1])]
    pub reminder_days: Vec<u16>,
    /// Attempts at sending one mail before it is recorded as failed.
    #[arg(long, env = "PLEDGE_MAIL_MAX_ATTEMPTS", default_value_t = 8,
          value_parser = clap::value_parser!(i32).range(1..=100))]
    pub mail_max_attempts: i32,
    /// Days a mail is kept in the outbox once sent, given up, or sent in a digest; then the
    /// scheduler deletes it. Pending mails are never deleted.
    #[arg(long, env = "PLEDGE_MAIL_RETENTION_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub mail_retention_days: u32,
}

/// The SMTP server to send through.
#[derive(Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub credentials: Option<(String, String)>,
    /// Longest time one SMTP conversation may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .finish_non_exhaustive()
    }
}

/// What the sender loop runs with.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `None`: nothing is sent.
    pub smtp: Option<Smtp>,
    /// The `From:` address.
    pub from: String,
    /// The public address links in mails start with (no trailing slash).
    pub base_url: String,
    /// Days before the deadline when reminders go out.
    pub reminder_days: Vec<i32>,
    pub max_attempts: i32,
    /// The first retry waits this long; each next one twice as long (at most an hour).
    pub retry_base: Duration,
    /// How long a claim holds a mail: a sender that dies leaves it to others after this.
    pub claim_lease: Duration,
    /// How often the loop looks for due mails.
    pub poll_interval: Duration,
    /// How often the loop schedules reminders and overdue notices.
    pub schedule_interval: Duration,
    /// Mails claimed at once.
    pub batch: i64,
    /// How long mails no longer pending stay in the outbox.
    pub retention: Duration,
    /// Outbox rows deleted per statement by the purge.
    pub purge_batch: i64,
}

impl MailSettings {
    /// Settings that send nothing (and schedule reminders at the default days).
    pub fn without_smtp(base_url: &str) -> Self {
        Self {
            smtp: None,
            from: "Pledge Tracker <pledge@localhost>".to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            reminder_days: vec![14, 7, 1],
            max_attempts: 8,
            retry_base: Duration::from_secs(60),
            claim_lease: Duration::from_secs(300),
            poll_interval: Duration::from_secs(10),
            schedule_interval: Duration::from_secs(300),
            batch: 50,
            retention: Duration::from_secs(90 * 86_400),
            purge_batch: super::retention::BATCH,
        }
    }

    /// Reads the command line's settings; `base_url` is the service's public address.
    pub fn from_args(args: &MailArgs, base_url: &str) -> anyhow::Result<Self> {
        use anyhow::Context;
        let mut settings = Self::without_smtp(base_url);
        settings.reminder_days = args.reminder_days.iter().map(|d| i32::from(*d)).collect();
        settings.max_attempts = args.mail_max_attempts;
        settings.retention = Duration::from_secs(u64::from(args.mail_retention_days) * 86_400);
        if let Some(from) = &args.mail_from {
            from.parse::<lettre::message::Mailbox>()
                .map_err(|_| anyhow::anyhow!("--mail-from {from:?} is not a mail address"))?;
            settings.from = from.clone();
        }
        let Some(host) = &args.smtp_host else {
            return Ok(settings);
        };
        if args.mail_from.is_none() {
            anyhow::bail!("--smtp-host needs --mail-from (the sender address of the mails)");
        }
        if args.smtp_security == SmtpSecurity::Plain && !is_loopback(host) {
            anyhow::bail!(
                "--smtp-security plain is only allowed to a loopback address (127.0.0.1, ::1, \
                 localhost); use starttls or tls for {host}"
            );
        }
        let credentials = match (&args.smtp_username, &args.smtp_password_file) {
            (Some(user), Some(file)) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("reading --smtp-password-file {}", file.display()))?;
                let password = text.lines().next().unwrap_or_default().to_owned();
                Some((user.clone(), password))
            }
            (None, None) => None,
            _ => anyhow::bail!("--smtp-username and --smtp-password-file go together"),
        };
        let port = args.smtp_port.unwrap_or(match args.smtp_security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::Plain => 25,
        });
        settings.smtp = Some(Smtp {
            host: host.clone(),
            port,
            security: args.smtp_security,
            credentials,
            timeout: Duration::from_secs(60),
        });
        Ok(settings)
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        mail: MailArgs,
    }

    fn settings(args: &[&str]) -> anyhow::Result<MailSettings> {
        let cli = Cli::try_parse_from(std::iter::once("pledge").chain(args.iter().copied()))?;
        MailSettings::from_args(&cli.mail, "https://pledge.example.org/")
    }

    #[test]
    fn without_a_host_nothing_is_sent_and_reminders_keep_their_default_days() {
        let s = settings(&[]).expect("defaults");
        assert!(s.smtp.is_none());
        assert_eq!(s.reminder_days, vec![14, 7, 1]);
        assert_eq!(s.base_url, "https://pledge.example.org");
        assert_eq!(s.retention, Duration::from_secs(90 * 86_400));
        let s = settings(&["--mail-retention-days", "30"]).expect("retention");
        assert_eq!(s.retention, Duration::from_secs(30 * 86_400));
        assert!(settings(&["--mail-retention-days", "0"]).is_err());
    }

    #[test]
    fn plain_smtp_is_refused_beyond_loopback_and_a_host_needs_a_sender() {
        assert!(
            settings(&[
                "--smtp-host",
                "mail.example.org",
                "--smtp-security",
                "plain",
                "--mail-from",
                "a@b.c"
            ])
            .is_err()
        );
        assert!(settings(&["--smtp-host", "mail.example.org"]).is_err());
        let s = settings(&[
            "--smtp-host",
            "127.0.0.1",
            "--smtp-security",
            "plain",
            "--mail-from",
            "a@b.c",
            "--reminder-days",
            "10,3",
        ])
        .expect("loopback plain");
        let smtp = s.smtp.expect("smtp");
        assert_eq!((smtp.port, smtp.security), (25, SmtpSecurity::Plain));
        assert_eq!(s.reminder_days, vec![10, 3]);
        let s = settings(&["--smtp-host", "mail.example.org", "--mail-from", "a@b.c"])
            .expect("starttls");
        assert_eq!(s.smtp.expect("smtp").port, 587);
    }
}
