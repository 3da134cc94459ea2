//! Notifications, the mail outbox, preferences and scheduled reminders (migration 0017; what
//! they are for: `src/notify/mod.rs`). Every function is one statement over any number of rows.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

/// Who should receive one event: `audience` is `user` (target is the user), `editors` (the
/// heads and contributors of the participant `target`), `heads` (its heads) or `secretariat`
/// (every admin; target unused).
#[derive(Debug, Clone)]
pub struct AudienceRow {
    pub event: i32,
    pub kind: String,
    pub audience: &'static str,
    pub target: Option<Uuid>,
}

/// One recipient of one event, with what the delivery of that kind is for them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecipientRow {
    pub event: i32,
    pub user_id: Uuid,
    pub email: String,
    pub language: String,
    /// `immediately`, `digest` or `off`
    pub delivery: String,
}

/// Resolves audiences to active users, once each per event, leaving out `except` (the person
/// who acted) unless the kind is a security notice. One statement.
pub async fn recipients(
    conn: &mut PgConnection,
    audiences: &[AudienceRow],
    except: Option<Uuid>,
) -> Result<Vec<RecipientRow>, sqlx::Error> {
    sqlx::query_as(
        "WITH spec AS (
             SELECT * FROM UNNEST($1::int[], $2::text[], $3::text[], $4::uuid[])
                 AS s(event, kind, audience, target)
         ), wanted AS (
             SELECT s.event, s.kind, s.target AS user_id FROM spec s WHERE s.audience = 'user'
             UNION
             -- one index probe per participant (delegation_memberships_participant_idx)
             SELECT s.event, s.kind, m.user_id
             FROM spec s
             CROSS JOIN LATERAL (
                 SELECT m.user_id FROM delegation_memberships m
                 WHERE m.participant_id = s.target
                   AND m.delegation_role = ANY (CASE s.audience
                           WHEN 'editors' THEN ARRAY['head', 'contributor']
                           WHEN 'heads' THEN ARRAY['head']
                           ELSE ARRAY[]::text[] END)) m
             WHERE s.audience IN ('editors', 'heads')
             UNION
             SELECT s.event, s.kind, u.id
             FROM spec s JOIN users u ON u.role = 'admin'
             WHERE s.audience = 'secretariat'
         )
         SELECT w.event, u.id AS user_id, u.email, u.preferred_language AS language,
                CASE WHEN w.kind LIKE 'security.%' THEN 'immediately'
                     ELSE coalesce(p.delivery, 'immediately') END AS delivery
         FROM wanted w
         JOIN users u ON u.id = w.user_id
         LEFT JOIN notification_preferences p ON p.user_id = u.id AND p.kind = w.kind
         WHERE u.disabled_at IS NULL
           AND ($5::uuid IS NULL OR u.id <> $5 OR w.kind LIKE 'security.%')
         ORDER BY w.event, u.id",
    )
    .bind(audiences.iter().map(|a| a.event).collect::<Vec<_>>())
    .bind(audiences.iter().map(|a| a.kind.clone()).collect::<Vec<_>>())
    .bind(audiences.iter().map(|a| a.audience).collect::<Vec<_>>())
    .bind(audiences.iter().map(|a| a.target).collect::<Vec<_>>())
    .bind(except)
    .fetch_all(conn)
    .await
}

/// A notification or mail to write, already in its recipient's language.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub user_id: Uuid,
    pub email: String,
    pub language: &'static str,
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
    pub link: String,
    /// `immediately`, `digest` or `off` (no mail)
    pub delivery: String,
}

/// Writes the in-app rows (every one) and the outbox rows (unless the delivery is `off`; a
/// digest row is `held` for the recipient's next daily digest, `notify::digest`). Two
/// statements.
pub async fn insert(conn: &mut PgConnection, rows: &[NewNotification]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO notifications (user_id, kind, subject, body, link)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])",
    )
    .bind(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.kind).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.subject.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.body.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.link.clone()).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    let mails: Vec<&NewNotification> = rows.iter().filter(|r| r.delivery != "off").collect();
    if mails.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO mail_outbox (user_id, recipient, language, kind, subject, body, link, digest, status)
         SELECT m.user_id, m.recipient, m.language, m.kind, m.subject, m.body, m.link, m.digest,
                CASE WHEN m.digest THEN 'held' ELSE 'pending' END
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::bool[])
             AS m(user_id, recipient, language, kind, subject, body, link, digest)",
    )
    .bind(mails.iter().map(|r| r.user_id).collect::<Vec<_>>())
    .bind(mails.iter().map(|r| r.email.clone()).collect::<Vec<_>>())
    .bind(mails.iter().map(|r| r.language).collect::<Vec<_>>())
    .bind(mails.iter().map(|r| r.kind).collect::<Vec<_>>())
    .bind(mails.iter().map(|r| r.subject.clone()).collect::<Vec<_>>())
    .bind(mails.iter().map(|r| r.body.clone()).collect::<Vec<_>>())
    .bind(mails.iter().map(|r| r.link.clone()).collect::<Vec<_>>())
    .bind(mails.iter().map(|r| r.delivery == "digest").collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One in-app notification as its recipient sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationView {
    pub id: Uuid,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub link: String,
    pub created_at: OffsetDateTime,
    pub read_at: Option<OffsetDateTime>,
}

/// The user's latest notifications (row-level security shows only the caller's own), newest
/// first, with the number unread. One statement.
pub async fn list(
    conn: &mut PgConnection,
    user_id: Uuid,
    limit: i64,
) -> Result<(Vec<NotificationView>, i64), sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        view: NotificationView,
        unread: i64,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, kind, subject, body, link, created_at, read_at,
                count(*) FILTER (WHERE read_at IS NULL) OVER () AS unread
         FROM notifications WHERE user_id = $1
         ORDER BY created_at DESC, id LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    let unread = rows.first().map_or(0, |r| r.unread);
    Ok((rows.into_iter().map(|r| r.view).collect(), unread))
}

/// Marks the caller's notifications read: `id` one of them, or all when `None`. Returns how
/// many changed; another user's notification is not seen (row-level security), so 0.
pub async fn mark_read(
    conn: &mut PgConnection,
    user_id: Uuid,
    id: Option<Uuid>,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE notifications SET read_at = now()
         WHERE user_id = $1 AND read_at IS NULL AND ($2::uuid IS NULL OR id = $2)",
    )
    .bind(user_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Whether the caller can see the notification (row-level security: only their own).
pub async fn exists(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM notifications WHERE id = $1)")
        .bind(id)
        .fetch_one(conn)
        .await
}

/// The user's choices, by kind (kinds without a row are `immediately`).
pub async fn preferences(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT kind, delivery FROM notification_preferences WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(conn)
        .await
}

/// Replaces the user's choices. Two statements.
pub async fn set_preferences(
    conn: &mut PgConnection,
    user_id: Uuid,
    choices: &[(&str, &str)],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM notification_preferences WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO notification_preferences (user_id, kind, delivery)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[])",
    )
    .bind(user_id)
    .bind(choices.iter().map(|c| c.0).collect::<Vec<_>>())
    .bind(choices.iter().map(|c| c.1).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// An outbox row as the admins' page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxView {
    pub id: Uuid,
    pub recipient: String,
    pub language: String,
    pub kind: String,
    pub subject: String,
    pub digest: bool,
    pub status: String,
    pub attempts: i32,
    pub not_before: OffsetDateTime,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

/// The newest outbox rows (admins and the system only) and the number per status.
pub async fn outbox(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<(Vec<OutboxView>, Vec<(String, i64)>), sqlx::Error> {
    let rows = sqlx::query_as(
        "SELECT id, recipient, language, kind, subject, digest, status, attempts, not_before,
                last_error, created_at, sent_at
         FROM mail_outbox ORDER BY created_at DESC, id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let counts =
        sqlx::query_as("SELECT status, count(*) FROM mail_outbox GROUP BY status ORDER BY status")
            .fetch_all(conn)
            .await?;
    Ok((rows, counts))
}

/// A mail claimed for sending.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedMail {
    pub id: Uuid,
    pub recipient: String,
    pub language: String,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub link: String,
    pub digest: bool,
    pub attempts: i32,
}

/// Claims up to `limit` due mails for `worker` until now + `lease` (the caller commits at once,
/// then sends): rows another sender holds locked are skipped, rows with a live claim are not
/// due. Rows that used up their attempts while claimed by a sender that died are given up.
pub async fn claim(
    conn: &mut PgConnection,
    worker: Uuid,
    lease: std::time::Duration,
    limit: i64,
    max_attempts: i32,
) -> Result<Vec<ClaimedMail>, sqlx::Error> {
    sqlx::query(
        "UPDATE mail_outbox SET status = 'failed', claimed_by = NULL, claimed_until = NULL,
                last_error = coalesce(last_error, 'the sender stopped before recording an outcome')
         WHERE status = 'pending' AND attempts >= $1 AND claimed_until < now()",
    )
    .bind(max_attempts)
    .execute(&mut *conn)
    .await?;
    sqlx::query_as(
        "UPDATE mail_outbox o
         SET claimed_by = $1, claimed_until = now() + $2, attempts = o.attempts + 1
         WHERE o.id IN (
             SELECT id FROM mail_outbox
             WHERE status = 'pending' AND not_before <= now() AND attempts < $4
               AND (claimed_until IS NULL OR claimed_until < now())
             ORDER BY not_before, id
             LIMIT $3
             FOR UPDATE SKIP LOCKED)
         RETURNING o.id, o.recipient, o.language, o.kind, o.subject, o.body, o.link, o.digest,
                   o.attempts",
    )
    .bind(worker)
    .bind(lease)
    .bind(limit)
    .bind(max_attempts)
    .fetch_all(conn)
    .await
}

/// Records mails as sent (only while `worker` still holds their claim).
pub async fn mark_sent(
    conn: &mut PgConnection,
    worker: Uuid,
    ids: &[Uuid],
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE mail_outbox SET status = 'sent', sent_at = now(), claimed_by = NULL,
                claimed_until = NULL, last_error = NULL
         WHERE id = ANY($1) AND claimed_by = $2 AND status = 'pending'",
    )
    .bind(ids)
    .bind(worker)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Records a failed attempt: the rows wait `base × 2^(attempts−1)` (at most an hour) and are
/// retried, or are given up (`failed`) once they have had `max_attempts`.
pub async fn mark_failed(
    conn: &mut PgConnection,
    worker: Uuid,
    ids: &[Uuid],
    error: &str,
    base: std::time::Duration,
    max_attempts: i32,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE mail_outbox
         SET status = CASE WHEN attempts >= $4 THEN 'failed' ELSE 'pending' END,
             not_before = now() + least($3 * power(2, greatest(attempts - 1, 0))::int,
                                        interval '1 hour'),
             claimed_by = NULL, claimed_until = NULL, last_error = left($5, 2000)
         WHERE id = ANY($1) AND claimed_by = $2 AND status = 'pending'",
    )
    .bind(ids)
    .bind(worker)
    .bind(base)
    .bind(max_attempts)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// An assessment whose participant gets a deadline reminder now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueReminder {
    pub assessment_id: Uuid,
    pub participant_id: Uuid,
    pub participant_code: String,
    pub cycle_code: String,
    pub deadline: time::Date,
    pub days_left: i32,
}

/// Schedules, in one statement, the reminder of every unfinished assessment of an open cycle
/// whose deadline is at most one of `offsets` days after `today` (the smallest such offset,
/// so a reminder missed while the service was down is not sent late in a row of them): a
/// `scheduled_notices` row per cycle, participant and offset, inserted unless present. Returns
/// the reminders this call scheduled (none of them can be scheduled again).
pub async fn schedule_reminders(
    conn: &mut PgConnection,
    today: time::Date,
    offsets: &[i32],
) -> Result<Vec<DueReminder>, sqlx::Error> {
    sqlx::query_as(
        "WITH due AS (
             SELECT a.id AS assessment_id, a.participant_id, a.cycle_id, p.code AS participant_code,
                    c.code AS cycle_code, c.deadline, (c.deadline - $1::date) AS days_left,
                    (SELECT min(d) FROM unnest($2::int[]) d WHERE d >= c.deadline - $1::date)
                        AS offset_days
             FROM cycles c
             JOIN assessments a ON a.cycle_id = c.id
             JOIN participants p ON p.id = a.participant_id
             WHERE c.state = 'open' AND c.deadline >= $1::date
               AND a.state IN ('not_started', 'draft', 'returned')
         ), inserted AS (
             INSERT INTO scheduled_notices (cycle_id, participant_id, notice, days_before)
             SELECT cycle_id, participant_id, 'reminder', offset_days FROM due
             WHERE offset_days IS NOT NULL
             ON CONFLICT DO NOTHING
             RETURNING cycle_id, participant_id
         )
         -- back to the assessment by its unique key (not a join of two CTE scans)
         SELECT a.id AS assessment_id, a.participant_id, p.code AS participant_code,
                c.code AS cycle_code, c.deadline, (c.deadline - $1::date) AS days_left
         FROM inserted i
         JOIN assessments a ON a.cycle_id = i.cycle_id AND a.participant_id = i.participant_id
         JOIN cycles c ON c.id = i.cycle_id
         JOIN participants p ON p.id = i.participant_id
         ORDER BY c.code, p.code",
    )
    .bind(today)
    .bind(offsets)
    .fetch_all(conn)
    .await
}

/// A cycle with participants newly overdue.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NewlyOverdue {
    pub cycle_id: Uuid,
    pub cycle_code: String,
    pub participants: Vec<String>,
}

/// Schedules, in one statement, the overdue notice of every assessment of an open cycle whose
/// deadline has passed, that is not submitted and has no late allowance (once per cycle and
/// participant). Returns them grouped by cycle.
pub async fn schedule_overdue(
    conn: &mut PgConnection,
    today: time::Date,
) -> Result<Vec<NewlyOverdue>, sqlx::Error> {
    sqlx::query_as(
        "WITH late AS (
             SELECT a.participant_id, c.id AS cycle_id
             FROM cycles c
             JOIN assessments a ON a.cycle_id = c.id
             WHERE c.state = 'open' AND c.deadline < $1::date
               AND a.state IN ('not_started', 'draft', 'returned')
               AND NOT a.late_submission_allowed
         ), inserted AS (
             INSERT INTO scheduled_notices (cycle_id, participant_id, notice, days_before)
             SELECT cycle_id, participant_id, 'overdue', 0 FROM late
             ON CONFLICT DO NOTHING
             RETURNING cycle_id, participant_id
         )
         SELECT c.id AS cycle_id, c.code AS cycle_code,
                array_agg(p.code ORDER BY p.code) AS participants
         FROM inserted i
         JOIN cycles c ON c.id = i.cycle_id
         JOIN participants p ON p.id = i.participant_id
         GROUP BY c.id, c.code
         ORDER BY c.code",
    )
    .bind(today)
    .fetch_all(conn)
    .await
}

/// One person to remind of one assessment's deadline, with the goals assigned to them that are
/// still unfinished (empty for a head or contributor reminded of the whole assessment).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReminderRecipient {
    pub assessment_id: Uuid,
    pub user_id: Uuid,
    /// Goal codes in the framework's order.
    pub goals: Vec<String>,
}

/// Who is reminded of the deadline of each of `due` (assessment, participant), in one
/// statement: the delegation's heads; every head or contributor who holds an unfinished goal
/// of it (no answer, an answer without a value, or one carried forward or entered on the
/// delegation's behalf and not yet confirmed), with those goals; and, for an assessment where
/// nobody holds any goal, its contributors. Viewers are never reminded, nor members no longer
/// in the delegation; disabled users are left out later, with everyone else's choices.
pub async fn reminder_recipients(
    conn: &mut PgConnection,
    due: &[(Uuid, Uuid)],
) -> Result<Vec<ReminderRecipient>, sqlx::Error> {
    if due.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "WITH due AS (
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[]) AS d(assessment_id, participant_id)
         ), open_work AS (
             SELECT ga.assessment_id, ga.user_id,
                    array_agg(g.code ORDER BY s.position, g.position) AS goals
             FROM due d
             JOIN goal_assignments ga ON ga.assessment_id = d.assessment_id
             JOIN goals g ON g.id = ga.goal_id
             JOIN framework_sections s ON s.id = g.section_id
             LEFT JOIN answers an ON an.assessment_id = ga.assessment_id AND an.goal_id = ga.goal_id
             WHERE an.id IS NULL OR an.unconfirmed
                OR NOT (an.not_applicable
                        OR num_nonnulls(an.value_level, an.value_number, an.value_bool) > 0)
             GROUP BY ga.assessment_id, ga.user_id
         )
         SELECT d.assessment_id, m.user_id, coalesce(w.goals, ARRAY[]::text[]) AS goals
         FROM due d
         JOIN delegation_memberships m ON m.participant_id = d.participant_id
         LEFT JOIN open_work w ON w.assessment_id = d.assessment_id AND w.user_id = m.user_id
         WHERE m.delegation_role = 'head'
            OR (m.delegation_role = 'contributor'
                AND (w.user_id IS NOT NULL
                     OR NOT EXISTS (SELECT 1 FROM goal_assignments ga
                                    WHERE ga.assessment_id = d.assessment_id)))
         ORDER BY d.assessment_id, m.user_id",
    )
    .bind(due.iter().map(|d| d.0).collect::<Vec<_>>())
    .bind(due.iter().map(|d| d.1).collect::<Vec<_>>())
    .fetch_all(conn)
    .await
}

/// The users with notices held for their daily digest, with their time zone (IANA name).
/// Disabled users' notices wait until the account is enabled again. One statement.
pub async fn digest_candidates(
    conn: &mut PgConnection,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id, u.time_zone FROM users u
         WHERE u.disabled_at IS NULL
           AND u.id IN (SELECT user_id FROM mail_outbox WHERE status = 'held')
         ORDER BY u.id",
    )
    .fetch_all(conn)
    .await
}

/// One notice going into a digest.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DigestItem {
    pub user_id: Uuid,
    /// The user's address and language now (the digest's).
    pub email: String,
    pub language: String,
    pub subject: String,
    pub link: String,
}

/// Takes the held notices of each `(user, local day)` whose digest for that day is not made
/// yet: records the day in `mail_digests` (`ON CONFLICT DO NOTHING`: a day already taken, by
/// an earlier pass or by another process, is skipped, after waiting for that process to commit)
/// and marks the notices `digested`. Returns them by user, oldest first. One statement; the
/// caller writes the digest mails in the same transaction.
pub async fn take_digests(
    conn: &mut PgConnection,
    due: &[(Uuid, time::Date)],
) -> Result<Vec<DigestItem>, sqlx::Error> {
    if due.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "WITH keyed AS (
             INSERT INTO mail_digests (user_id, local_day)
             SELECT * FROM UNNEST($1::uuid[], $2::date[])
             ON CONFLICT DO NOTHING
             RETURNING user_id
         ), taken AS (
             UPDATE mail_outbox o SET status = 'digested', sent_at = now()
             FROM keyed k
             WHERE o.user_id = k.user_id AND o.status = 'held'
             RETURNING o.id, o.user_id, o.subject, o.link, o.created_at
         )
         SELECT t.user_id, u.email, u.preferred_language AS language, t.subject, t.link
         FROM taken t JOIN users u ON u.id = t.user_id
         ORDER BY t.user_id, t.created_at, t.id",
    )
    .bind(due.iter().map(|d| d.0).collect::<Vec<_>>())
    .bind(due.iter().map(|d| d.1).collect::<Vec<_>>())
    .fetch_all(conn)
    .await
}

/// A mail of its own (a digest) to add to the outbox, due at once.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub user_id: Uuid,
    pub recipient: String,
    pub language: String,
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
    pub link: String,
}

/// Adds mails to the outbox (`pending`, due now). One statement.
pub async fn insert_mails(conn: &mut PgConnection, mails: &[NewMail]) -> Result<(), sqlx::Error> {
    if mails.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO mail_outbox (user_id, recipient, language, kind, subject, body, link)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                              $6::text[], $7::text[])",
    )
    .bind(mails.iter().map(|m| m.user_id).collect::<Vec<_>>())
    .bind(
        mails
            .iter()
            .map(|m| m.recipient.clone())
            .collect::<Vec<_>>(),
    )
    .bind(mails.iter().map(|m| m.language.clone()).collect::<Vec<_>>())
    .bind(mails.iter().map(|m| m.kind).collect::<Vec<_>>())
    .bind(mails.iter().map(|m| m.subject.clone()).collect::<Vec<_>>())
    .bind(mails.iter().map(|m| m.body.clone()).collect::<Vec<_>>())
    .bind(mails.iter().map(|m| m.link.clone()).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes up to `limit` outbox rows no longer pending (`sent`, `failed`, `digested`) written
/// before `before`, oldest first; returns how many. `pending` and `held` rows are never
/// deleted (the row-level policy refuses it too).
pub async fn purge_outbox(
    conn: &mut PgConnection,
    before: OffsetDateTime,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM mail_outbox WHERE id IN (
             SELECT id FROM mail_outbox
             WHERE created_at < $1 AND status IN ('sent', 'failed', 'digested')
             ORDER BY created_at
             LIMIT $2
             FOR UPDATE SKIP LOCKED)",
    )
    .bind(before)
    .bind(limit)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes the digest keys of days before `before` (the retention; a key is only needed on its
/// own day). Returns how many.
pub async fn purge_digest_keys(
    conn: &mut PgConnection,
    before: time::Date,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM mail_digests WHERE local_day < $1")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
