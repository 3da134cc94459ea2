//! Deadline reminders and overdue notices, scheduled in one set-based pass.
//!
//! One transaction (system scope) per pass:
//!
//! 1. `storage::notifications::schedule_reminders`: every unfinished assessment (`not_started`,
//!    `draft`, `returned`) of an open cycle whose deadline is at most one of the configured
//!    offsets away (default 14, 7 and 1 days) gets a `scheduled_notices` row for the smallest
//!    such offset, inserted `ON CONFLICT DO NOTHING`; only the rows this pass inserted come back.
//! 2. `schedule_overdue`: the same for assessments past the deadline without a late allowance,
//!    grouped by cycle.
//! 3. [`reminder_audience`]: who is reminded of each newly scheduled assessment, one
//!    statement for all of them (`storage::notifications::reminder_recipients`).
//! 4. One [`super::enqueue_many`] for all of them: reminders to that audience, overdue notices
//!    to the secretariat (one per cycle, naming the participants newly overdue).
//!
//! The key rows and the notices commit together: a pass that fails writes neither, and of two
//! passes at once (two processes, a restart) the second finds the keys taken (it waits on the
//! first's uncommitted keys, then skips them). Six statements for any number of participants.

use sqlx::PgPool;
use uuid::Uuid;

use super::{Event, Recipient};
use crate::storage::notifications as store;
use crate::storage::{self, Scope};

/// What one pass scheduled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scheduled {
    /// Reminders (one per assessment; each to several people).
    pub reminders: usize,
    /// Cycles with an overdue notice.
    pub overdue_cycles: usize,
    /// In-app notifications written.
    pub notifications: usize,
}

/// Who gets a deadline reminder for each unfinished assessment of `due`, and what it says,
/// in one statement whatever their number:
///
/// - each **head** of the delegation, of the whole assessment (or, when the head holds
///   unfinished goals of it, of those goals, like an assignee);
/// - each **assignee** (head or contributor) who holds goals of it that are not finished (no
///   answer, an answer without a value, or one not yet confirmed), naming those goals and
///   linking to the form filtered to "mine";
/// - where nobody holds any goal of the assessment, its **contributors**, of the whole
///   assessment (so a delegation that does not assign work is reminded as before).
///
/// Assignees whose goals are all finished, contributors of an assessment whose work is
/// assigned to others, and viewers get nothing. One reminder per person and assessment.
pub async fn reminder_audience(
    conn: &mut sqlx::PgConnection,
    due: &[store::DueReminder],
) -> Result<Vec<(Event, Vec<Recipient>)>, sqlx::Error> {
    let keys: Vec<(Uuid, Uuid)> = due
        .iter()
        .map(|r| (r.assessment_id, r.participant_id))
        .collect();
    let people = store::reminder_recipients(conn, &keys).await?;
    let by_assessment: std::collections::HashMap<Uuid, &store::DueReminder> =
        due.iter().map(|r| (r.assessment_id, r)).collect();
    Ok(people
        .into_iter()
        .filter_map(|person| {
            let r = by_assessment.get(&person.assessment_id)?;
            Some((
                Event::DeadlineReminder {
                    assessment: r.assessment_id,
                    participant: r.participant_code.clone(),
                    cycle: r.cycle_code.clone(),
                    deadline: r.deadline,
                    days_left: r.days_left,
                    goals: person.goals,
                },
                vec![Recipient::User(person.user_id)],
            ))
        })
        .collect())
}

/// One pass for `today` (UTC) with reminders `offsets` days before the deadline.
pub async fn run(
    pool: &PgPool,
    today: time::Date,
    offsets: &[i32],
) -> Result<Scheduled, sqlx::Error> {
    let mut tx = storage::begin(pool, &Scope::System).await?;
    let reminders = store::schedule_reminders(&mut tx, today, offsets).await?;
    let overdue = store::schedule_overdue(&mut tx, today).await?;
    let mut events = reminder_audience(&mut tx, &reminders).await?;
    events.extend(overdue.iter().map(|o| {
        (
            Event::Overdue {
                cycle: o.cycle_id,
                cycle_code: o.cycle_code.clone(),
                participants: o.participants.clone(),
            },
            vec![Recipient::Secretariat],
        )
    }));
    let notifications = super::enqueue_many(&mut tx, &events, None).await?;
    tx.commit().await?;
    Ok(Scheduled {
        reminders: reminders.len(),
        overdue_cycles: overdue.len(),
        notifications,
    })
}
