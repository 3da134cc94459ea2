//! Notifications: people are told what needs them, in the product (a list with an unread count)
//! and by e-mail, in their own language.
//!
//! # Writing an event
//!
//! Code that changes something calls [`enqueue`] with the connection of its own transaction,
//! before it commits: the notifications exist exactly when the change does.
//!
//! ```ignore
//! let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
//! // … the change …
//! notify::enqueue(&mut tx, &Event::GoalAssigned { .. }, &[Recipient::User(member)], Some(principal.user_id)).await?;
//! tx.commit(&entry).await?;
//! ```
//!
//! [`enqueue`] resolves the recipients (a user, a delegation's heads and contributors, its
//! heads, the secretariat — every admin; disabled users and the person who acted are left out),
//! reads each one's language and choice for the kind, renders the subject and text from the
//! catalogue (`notify.<kind>.subject`, `notify.<kind>.body`) and writes one `notifications` row
//! per recipient and, unless they turned the kind off, one `mail_outbox` row. Three statements
//! for any number of recipients; [`enqueue_many`] does the same for many events at once
//! (reminders).
//!
//! # Choices
//!
//! Per user and kind ([`Kind::CHOOSABLE`]): `immediately` (the default), `digest` (one mail a
//! day from 06:00 in the user's own time zone with every such notice, [`digest`]) or `off` (no mail). The in-app list always shows
//! every notice. Security notices ([`Kind::is_security`]: a sign-in from a new device, the
//! second factor reset, the password changed) are always mailed at once.
//!
//! # What a notice says
//!
//! Codes (participant, cycle, goal), dates, the revision and, for a return, the secretariat's
//! reason; never an answer, a note on an answer, a clarification's question or reply: the text
//! links to the page, where the reader's rights apply (docs/security.md, "What mails contain").
//!
//! # Sending and scheduling
//!
//! [`sender`]: the loop inside `pledge serve` that claims outbox rows (`FOR UPDATE SKIP
//! LOCKED`, a lease), sends them over SMTP and records the outcome, with retries. [`schedule`]:
//! deadline reminders and overdue notices, one set-based pass, once per key. [`digest`]: daily
//! digests at each user's local morning, once per user and local day. [`retention`]: the outbox
//! purged of old mails no longer pending.

pub mod digest;
pub mod retention;
pub mod schedule;
pub mod sender;
pub mod settings;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::presentation::i18n::Lang;
use crate::storage::notifications::{self as store, AudienceRow, NewNotification};

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    AssessmentReturned,
    AssessmentAccepted,
    SubmissionReceived,
    ClarificationRaised,
    ClarificationAnswered,
    ClarificationResolved,
    GoalAssigned,
    DeadlineReminder,
    Overdue,
    NewSignIn,
    SecondFactorReset,
    PasswordChanged,
}

impl Kind {
    /// The kinds a user chooses a delivery for, in the order the preferences page lists them.
    pub const CHOOSABLE: [Kind; 9] = [
        Kind::AssessmentReturned,
        Kind::AssessmentAccepted,
        Kind::SubmissionReceived,
        Kind::ClarificationRaised,
        Kind::ClarificationAnswered,
        Kind::ClarificationResolved,
        Kind::GoalAssigned,
        Kind::DeadlineReminder,
        Kind::Overdue,
    ];

    /// The stored name (`notifications.kind`, `notification_preferences.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AssessmentReturned => "assessment_returned",
            Kind::AssessmentAccepted => "assessment_accepted",
            Kind::SubmissionReceived => "assessment_submitted",
            Kind::ClarificationRaised => "clarification_raised",
            Kind::ClarificationAnswered => "clarification_answered",
            Kind::ClarificationResolved => "clarification_resolved",
            Kind::GoalAssigned => "goal_assigned",
            Kind::DeadlineReminder => "deadline_reminder",
            Kind::Overdue => "deadline_overdue",
            Kind::NewSignIn => "security.new_sign_in",
            Kind::SecondFactorReset => "security.second_factor_reset",
            Kind::PasswordChanged => "security.password_changed",
        }
    }

    /// Reads a stored name.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::CHOOSABLE
            .into_iter()
            .chain([
                Kind::NewSignIn,
                Kind::SecondFactorReset,
                Kind::PasswordChanged,
            ])
            .find(|k| k.as_str() == name)
    }

    /// A security notice: always sent at once, cannot be turned off.
    pub fn is_security(self) -> bool {
        matches!(
            self,
            Kind::NewSignIn | Kind::SecondFactorReset | Kind::PasswordChanged
        )
    }

    /// The catalogue key of the kind's name (`notify.kind.<kind>`).
    pub fn label_key(self) -> String {
        format!("notify.kind.{}", self.as_str())
    }
}

/// How a user wants one kind delivered by e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Immediately,
    Digest,
    Off,
}

impl Delivery {
    pub const ALL: [Delivery; 3] = [Delivery::Immediately, Delivery::Digest, Delivery::Off];

    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Immediately => "immediately",
            Delivery::Digest => "digest",
            Delivery::Off => "off",
        }
    }

    pub fn parse(text: &str) -> Option<Delivery> {
        Delivery::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

/// Something that happened, with what its notice may say. Texts here are codes, dates and the
/// return's reason: never answer text.
#[derive(Debug, Clone)]
pub enum Event {
    /// The secretariat returned an assessment, with its reason.
    AssessmentReturned {
        assessment: Uuid,
        participant: String,
        cycle: String,
        reason: String,
    },
    AssessmentAccepted {
        assessment: Uuid,
        participant: String,
        cycle: String,
    },
    /// A delegation submitted (to the secretariat).
    SubmissionReceived {
        assessment: Uuid,
        participant: String,
        cycle: String,
        revision: i32,
    },
    /// A clarification was asked (or followed up by the secretariat or an analyst).
    ClarificationRaised {
        assessment: Uuid,
        participant: String,
        cycle: String,
        goal: String,
    },
    /// The delegation replied to a clarification.
    ClarificationAnswered {
        assessment: Uuid,
        participant: String,
        cycle: String,
        goal: String,
    },
    ClarificationResolved {
        assessment: Uuid,
        participant: String,
        cycle: String,
        goal: String,
    },
    /// Goals (or whole sections, by code) were assigned to the recipient.
    GoalAssigned {
        assessment: Uuid,
        participant: String,
        cycle: String,
        goals: Vec<String>,
    },
    /// The deadline is near. `goals`: the unfinished goals assigned to the recipient (the
    /// notice then names them and links to the form filtered to "mine"); empty for a reminder
    /// of the whole assessment.
    DeadlineReminder {
        assessment: Uuid,
        participant: String,
        cycle: String,
        deadline: time::Date,
        days_left: i32,
        goals: Vec<String>,
    },
    /// Participants of a cycle passed its deadline without submitting.
    Overdue {
        cycle: Uuid,
        cycle_code: String,
        participants: Vec<String>,
    },
    /// A sign-in completed in a browser not seen before for this account.
    NewSignIn {
        at: time::OffsetDateTime,
    },
    SecondFactorReset,
    PasswordChanged,
}

impl Event {
    pub fn kind(&self) -> Kind {
        match self {
            Event::AssessmentReturned { .. } => Kind::AssessmentReturned,
            Event::AssessmentAccepted { .. } => Kind::AssessmentAccepted,
            Event::SubmissionReceived { .. } => Kind::SubmissionReceived,
            Event::ClarificationRaised { .. } => Kind::ClarificationRaised,
            Event::ClarificationAnswered { .. } => Kind::ClarificationAnswered,
            Event::ClarificationResolved { .. } => Kind::ClarificationResolved,
            Event::GoalAssigned { .. } => Kind::GoalAssigned,
            Event::DeadlineReminder { .. } => Kind::DeadlineReminder,
            Event::Overdue { .. } => Kind::Overdue,
            Event::NewSignIn { .. } => Kind::NewSignIn,
            Event::SecondFactorReset => Kind::SecondFactorReset,
            Event::PasswordChanged => Kind::PasswordChanged,
        }
    }

    /// The page the notice links to (a path inside the service).
    pub fn link(&self) -> String {
        match self {
            Event::AssessmentReturned { assessment, .. }
            | Event::AssessmentAccepted { assessment, .. }
            | Event::SubmissionReceived { assessment, .. }
            | Event::GoalAssigned { assessment, .. } => format!("/assessments/{assessment}"),
            Event::DeadlineReminder {
                assessment, goals, ..
            } => {
                if goals.is_empty() {
                    format!("/assessments/{assessment}")
                } else {
                    format!("/assessments/{assessment}?mine=1")
                }
            }
            Event::ClarificationRaised { .. }
            | Event::ClarificationAnswered { .. }
            | Event::ClarificationResolved { .. } => "/clarifications".to_owned(),
            Event::Overdue { cycle, .. } => format!("/cycles/{cycle}"),
            Event::NewSignIn { .. } | Event::SecondFactorReset | Event::PasswordChanged => {
                "/account".to_owned()
            }
        }
    }

    /// The placeholders of the kind's texts.
    fn args(&self, lang: Lang) -> Vec<(&'static str, String)> {
        match self {
            Event::AssessmentReturned {
                participant,
                cycle,
                reason,
                ..
            } => vec![
                ("participant", participant.clone()),
                ("cycle", cycle.clone()),
                ("reason", reason.clone()),
            ],
            Event::AssessmentAccepted {
                participant, cycle, ..
            } => vec![
                ("participant", participant.clone()),
                ("cycle", cycle.clone()),
            ],
            Event::SubmissionReceived {
                participant,
                cycle,
                revision,
                ..
            } => vec![
                ("participant", participant.clone()),
                ("cycle", cycle.clone()),
                ("revision", revision.to_string()),
            ],
            Event::ClarificationRaised {
                participant,
                cycle,
                goal,
                ..
            }
            | Event::ClarificationAnswered {
                participant,
                cycle,
                goal,
                ..
            }
            | Event::ClarificationResolved {
                participant,
                cycle,
                goal,
                ..
            } => vec![
                ("participant", participant.clone()),
                ("cycle", cycle.clone()),
                ("goal", goal.clone()),
            ],
            Event::GoalAssigned {
                participant,
                cycle,
                goals,
                ..
            } => vec![
                ("participant", participant.clone()),
                ("cycle", cycle.clone()),
                ("goals", goals.join(", ")),
            ],
            Event::DeadlineReminder {
                participant,
                cycle,
                deadline,
                days_left,
                goals,
                ..
            } => vec![
                ("participant", participant.clone()),
                ("cycle", cycle.clone()),
                (
                    "deadline",
                    crate::presentation::format::date(lang, *deadline),
                ),
                ("days", days_left.to_string()),
                ("count", goals.len().to_string()),
                ("goals", goals.join(", ")),
            ],
            Event::Overdue {
                cycle_code,
                participants,
                ..
            } => vec![
                ("cycle", cycle_code.clone()),
                ("count", participants.len().to_string()),
                ("participants", participants.join(", ")),
            ],
            Event::NewSignIn { at } => vec![(
                "at",
                crate::presentation::format::moment(
                    lang,
                    &crate::presentation::format::TimeZone::utc(),
                    *at,
                ),
            )],
            Event::SecondFactorReset | Event::PasswordChanged => vec![],
        }
    }

    /// The subject and text in `lang`.
    pub fn render(&self, lang: Lang) -> (String, String) {
        let tr = lang.tr();
        let kind = match self {
            // A reminder of one's own assigned goals has texts of its own.
            Event::DeadlineReminder { goals, .. } if !goals.is_empty() => {
                "deadline_reminder.assigned"
            }
            _ => self.kind().as_str(),
        };
        let args = self.args(lang);
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        (
            tr.fmt(&format!("notify.{kind}.subject"), &args),
            tr.fmt(&format!("notify.{kind}.body"), &args),
        )
    }
}

/// Who receives an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// One user.
    User(Uuid),
    /// The heads and contributors of a participant's delegation.
    DelegationEditors(Uuid),
    /// The heads of a participant's delegation.
    DelegationHeads(Uuid),
    /// The secretariat: every admin.
    Secretariat,
}

impl Recipient {
    fn audience(self) -> (&'static str, Option<Uuid>) {
        match self {
            Recipient::User(id) => ("user", Some(id)),
            Recipient::DelegationEditors(participant) => ("editors", Some(participant)),
            Recipient::DelegationHeads(participant) => ("heads", Some(participant)),
            Recipient::Secretariat => ("secretariat", None),
        }
    }
}

/// Records one event for its recipients inside the caller's transaction (see the module
/// documentation). `actor`, the person who acted, is not notified of their own action (security
/// notices excepted). Returns the number of in-app notifications written.
pub async fn enqueue(
    conn: &mut PgConnection,
    event: &Event,
    recipients: &[Recipient],
    actor: Option<Uuid>,
) -> Result<usize, sqlx::Error> {
    enqueue_many(conn, &[(event.clone(), recipients.to_vec())], actor).await
}

/// [`enqueue`] for many events at once: three statements whatever their number.
pub async fn enqueue_many(
    conn: &mut PgConnection,
    events: &[(Event, Vec<Recipient>)],
    actor: Option<Uuid>,
) -> Result<usize, sqlx::Error> {
    let audiences: Vec<AudienceRow> = events
        .iter()
        .enumerate()
        .flat_map(|(index, (event, recipients))| {
            let kind = event.kind().as_str().to_owned();
            recipients.iter().map(move |r| {
                let (audience, target) = r.audience();
                AudienceRow {
                    event: i32::try_from(index).unwrap_or(i32::MAX),
                    kind: kind.clone(),
                    audience,
                    target,
                }
            })
        })
        .collect();
    if audiences.is_empty() {
        return Ok(0);
    }
    let found = store::recipients(conn, &audiences, actor).await?;
    // Each event is rendered once per language it is read in.
    let mut rendered: std::collections::HashMap<(usize, &'static str), (String, String)> =
        std::collections::HashMap::new();
    let mut rows = Vec::with_capacity(found.len());
    for recipient in found {
        let index = usize::try_from(recipient.event).unwrap_or(usize::MAX);
        let Some((event, _)) = events.get(index) else {
            continue;
        };
        let lang = Lang::parse(&recipient.language).unwrap_or_default();
        let (subject, body) = rendered
            .entry((index, lang.code()))
            .or_insert_with(|| event.render(lang))
            .clone();
        rows.push(NewNotification {
            user_id: recipient.user_id,
            email: recipient.email,
            language: lang.code(),
            kind: event.kind().as_str(),
            subject,
            body,
            link: event.link(),
            delivery: recipient.delivery,
        });
    }
    store::insert(conn, &rows).await?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_name_and_texts_in_both_languages() {
        let all = Kind::CHOOSABLE.into_iter().chain([
            Kind::NewSignIn,
            Kind::SecondFactorReset,
            Kind::PasswordChanged,
        ]);
        for kind in all {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            for lang in Lang::ALL {
                let tr = lang.tr();
                for key in [
                    kind.label_key(),
                    format!("notify.{}.subject", kind.as_str()),
                    format!("notify.{}.body", kind.as_str()),
                ] {
                    assert!(
                        crate::presentation::i18n::keys(lang).contains(&key.as_str()),
                        "{key} missing in {}",
                        lang.code()
                    );
                    assert!(!tr.t(&key).is_empty());
                }
            }
        }
    }

    #[test]
    fn a_return_says_its_reason_and_links_to_the_assessment_in_the_readers_language() {
        let id = Uuid::nil();
        let event = Event::AssessmentReturned {
            assessment: id,
            participant: "FRA".into(),
            cycle: "2026".into(),
            reason: "Please justify 1.2".into(),
        };
        let (subject_en, body_en) = event.render(Lang::En);
        let (subject_fr, body_fr) = event.render(Lang::Fr);
        assert!(subject_en.contains("FRA") && subject_en.contains("2026"));
        assert_ne!(subject_en, subject_fr);
        assert!(body_en.contains("Please justify 1.2") && body_fr.contains("Please justify 1.2"));
        assert_eq!(event.link(), format!("/assessments/{id}"));
        assert!(!subject_en.contains('{') && !body_fr.contains('{'));
    }
}
