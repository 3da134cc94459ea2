//! The assessment form's data: an assessment with its cycle and participant, its answers, and
//! saving one answer with optimistic locking.

use crate::domain::scoring::Decimal;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::domain::answer::CheckedAnswer;
use crate::domain::assessment::AssessmentState;
use crate::domain::cycle::CycleState;
use crate::domain::scoring::{AnswerState, AnswerValue};

/// An assessment with what the form shows around it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssessmentHead {
    pub id: Uuid,
    pub state: AssessmentState,
    pub revision: i32,
    pub row_version: i64,
    pub cycle_id: Uuid,
    pub cycle_code: String,
    pub cycle_state: CycleState,
    pub deadline: Date,
    pub days_left: i32,
    pub late_submission_allowed: bool,
    pub framework_id: Uuid,
    pub participant_id: Uuid,
    pub participant_code: String,
    pub participant_name_en: String,
    pub participant_name_fr: String,
}

/// One assessment (row-level security decides whether the caller sees it).
pub async fn head(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<AssessmentHead>, sqlx::Error> {
    sqlx::query_as(&format!("{HEAD} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// One assessment, locked for a change of its answers or state: nothing else changes it until
/// the transaction ends. Row-level security lets only those who may change it lock it.
pub async fn lock_head(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<AssessmentHead>, sqlx::Error> {
    sqlx::query_as(&format!("{HEAD} WHERE a.id = $1 FOR UPDATE OF a"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

const HEAD: &str = "SELECT a.id, a.state, a.revision, a.row_version, c.id AS cycle_id,
        c.code AS cycle_code, c.state AS cycle_state, c.deadline,
        (c.deadline - current_date) AS days_left, a.late_submission_allowed, c.framework_id,
        p.id AS participant_id, p.code AS participant_code, p.name_en AS participant_name_en,
        p.name_fr AS participant_name_fr
     FROM assessments a JOIN cycles c ON c.id = a.cycle_id JOIN participants p ON p.id = a.participant_id";

/// The assessment's state and its cycle's, locked for a change.
pub async fn lock(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(AssessmentState, CycleState)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.state, c.state FROM assessments a JOIN cycles c ON c.id = a.cycle_id
         WHERE a.id = $1 FOR UPDATE OF a",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// A stored answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct StoredAnswer {
    pub goal_id: Uuid,
    pub value_level: Option<i16>,
    #[serde(with = "crate::domain::scoring::number::option")]
    pub value_number: Option<Decimal>,
    pub value_bool: Option<bool>,
    pub not_applicable: bool,
    pub na_justification: Option<String>,
    pub target_level: Option<i16>,
    #[serde(with = "crate::domain::scoring::number::option")]
    pub target_number: Option<Decimal>,
    pub target_bool: Option<bool>,
    pub implementation_status: Option<String>,
    pub narrative: String,
    pub unconfirmed: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub updated_by_name: Option<String>,
    pub row_version: i64,
    /// Entered by the secretariat on the delegation's behalf (an import) and not changed by the
    /// delegation since: the form says so, with `updated_at` as the moment.
    #[serde(skip)]
    #[sqlx(default)]
    pub entered_on_behalf: bool,
}

impl StoredAnswer {
    /// The answer as the form shows it (and as a client would send it back).
    pub fn input(&self) -> crate::domain::answer::AnswerInput {
        use crate::domain::answer::{AnswerInput, value_text};
        AnswerInput {
            value: value_text(self.value()),
            not_applicable: self.not_applicable,
            na_justification: self.na_justification.clone().unwrap_or_default(),
            target: value_text(self.target()),
            implementation_status: self.implementation_status.clone().unwrap_or_default(),
            narrative: self.narrative.clone(),
        }
    }

    /// The stored value.
    pub fn value(&self) -> Option<AnswerValue> {
        join(self.value_level, self.value_number, self.value_bool)
    }

    /// The stored target.
    pub fn target(&self) -> Option<AnswerValue> {
        join(self.target_level, self.target_number, self.target_bool)
    }

    /// What the answer contributes to scores.
    pub fn state(&self) -> AnswerState {
        match (self.not_applicable, self.value()) {
            (true, _) => AnswerState::NotApplicable,
            (false, Some(value)) => AnswerState::Answered(value),
            (false, None) => AnswerState::Missing,
        }
    }
}

fn join(level: Option<i16>, number: Option<Decimal>, yes: Option<bool>) -> Option<AnswerValue> {
    level
        .map(AnswerValue::Level)
        .or(number.map(AnswerValue::Number))
        .or(yes.map(AnswerValue::Bool))
}

fn split(value: Option<AnswerValue>) -> (Option<i16>, Option<Decimal>, Option<bool>) {
    match value {
        Some(AnswerValue::Level(level)) => (Some(level), None, None),
        Some(AnswerValue::Number(number)) => (None, Some(number), None),
        Some(AnswerValue::Bool(yes)) => (None, None, Some(yes)),
        None => (None, None, None),
    }
}

const ANSWER_COLUMNS: &str = "a.goal_id, a.value_level, a.value_number AS value_number,
    a.value_bool, a.not_applicable, a.na_justification, a.target_level,
    a.target_number AS target_number, a.target_bool, a.implementation_status, a.narrative,
    a.unconfirmed, a.updated_at, u.display_name AS updated_by_name, a.row_version,
    a.entered_on_behalf";

/// Every answer of an assessment (row-level security hides drafts from analysts).
pub async fn list(
    conn: &mut PgConnection,
    assessment: Uuid,
) -> Result<Vec<StoredAnswer>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ANSWER_COLUMNS} FROM answers a LEFT JOIN users u ON u.id = a.updated_by WHERE a.assessment_id = $1"
    ))
    .bind(assessment)
    .fetch_all(conn)
    .await
}

/// Every answer of an assessment, locked for a change (the offline import checks them all).
pub async fn lock_all(
    conn: &mut PgConnection,
    assessment: Uuid,
) -> Result<Vec<StoredAnswer>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ANSWER_COLUMNS} FROM answers a LEFT JOIN users u ON u.id = a.updated_by
         WHERE a.assessment_id = $1 FOR UPDATE OF a"
    ))
    .bind(assessment)
    .fetch_all(conn)
    .await
}

/// One answer, locked for a change.
pub async fn lock_answer(
    conn: &mut PgConnection,
    assessment: Uuid,
    goal: Uuid,
) -> Result<Option<StoredAnswer>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ANSWER_COLUMNS} FROM answers a LEFT JOIN users u ON u.id = a.updated_by
         WHERE a.assessment_id = $1 AND a.goal_id = $2 FOR UPDATE OF a"
    ))
    .bind(assessment)
    .bind(goal)
    .fetch_optional(conn)
    .await
}

/// Writes an answer (insert or update) and returns its new row version. Confirms it: a person
/// saved it, so it is no longer an unconfirmed carried-forward answer.
pub async fn write(
    conn: &mut PgConnection,
    assessment: Uuid,
    participant: Uuid,
    goal: Uuid,
    answer: &CheckedAnswer,
    user: Uuid,
) -> Result<i64, sqlx::Error> {
    let versions = write_many(conn, assessment, participant, &[(goal, answer)], user).await?;
    versions
        .first()
        .map(|(_, version)| *version)
        .ok_or(sqlx::Error::RowNotFound)
}

/// Writes answers in one statement (insert or update) and returns each goal's new row version.
/// Confirms them: a person saved them, so none is an unconfirmed carried-forward answer.
pub async fn write_many(
    conn: &mut PgConnection,
    assessment: Uuid,
    participant: Uuid,
    answers: &[(Uuid, &CheckedAnswer)],
    user: Uuid,
) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    let mut goals = Vec::with_capacity(answers.len());
    let (mut levels, mut numbers, mut bools) = (Vec::new(), Vec::new(), Vec::new());
    let (mut target_levels, mut target_numbers, mut target_bools) =
        (Vec::new(), Vec::new(), Vec::new());
    let (mut not_applicable, mut justifications, mut statuses, mut narratives) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (goal, answer) in answers {
        let value = split(match answer.state {
            AnswerState::Answered(value) => Some(value),
            _ => None,
        });
        let target = split(answer.target);
        goals.push(*goal);
        levels.push(value.0);
        numbers.push(value.1);
        bools.push(value.2);
        target_levels.push(target.0);
        target_numbers.push(target.1);
        target_bools.push(target.2);
        not_applicable.push(answer.state == AnswerState::NotApplicable);
        justifications.push(answer.na_justification.clone());
        statuses.push(answer.implementation_status);
        narratives.push(answer.narrative.clone());
    }
    sqlx::query_as(
        "INSERT INTO answers AS a (assessment_id, participant_id, goal_id, value_level, value_number,
             value_bool, not_applicable, na_justification, target_level, target_number, target_bool,
             implementation_status, narrative, unconfirmed, updated_by, updated_at)
         SELECT $1, $2, g.goal, g.level, g.number, g.yes, g.na, g.justification, g.target_level,
                g.target_number, g.target_yes, g.status, g.narrative, false, $3, now()
         FROM unnest($4::uuid[], $5::int2[], $6::numeric[], $7::bool[], $8::bool[], $9::text[],
                     $10::int2[], $11::numeric[], $12::bool[], $13::text[], $14::text[])
              AS g(goal, level, number, yes, na, justification, target_level, target_number,
                   target_yes, status, narrative)
         ON CONFLICT (assessment_id, goal_id) DO UPDATE SET value_level = EXCLUDED.value_level,
             value_number = EXCLUDED.value_number, value_bool = EXCLUDED.value_bool,
             not_applicable = EXCLUDED.not_applicable, na_justification = EXCLUDED.na_justification,
             target_level = EXCLUDED.target_level, target_number = EXCLUDED.target_number,
             target_bool = EXCLUDED.target_bool, implementation_status = EXCLUDED.implementation_status,
             narrative = EXCLUDED.narrative, unconfirmed = false, updated_by = EXCLUDED.updated_by,
             updated_at = now(), row_version = a.row_version + 1
         RETURNING goal_id, row_version",
    )
    .bind(assessment)
    .bind(participant)
    .bind(user)
    .bind(&goals)
    .bind(&levels)
    .bind(&numbers)
    .bind(&bools)
    .bind(&not_applicable)
    .bind(&justifications)
    .bind(&target_levels)
    .bind(&target_numbers)
    .bind(&target_bools)
    .bind(&statuses)
    .bind(&narratives)
    .fetch_all(conn)
    .await
}

/// Records activity on an assessment and starts its draft on the first save.
pub async fn touch(conn: &mut PgConnection, assessment: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE assessments SET last_activity_at = now(), updated_at = now(), row_version = row_version + 1,
             state = CASE WHEN state = 'not_started' THEN 'draft' ELSE state END
         WHERE id = $1",
    )
    .bind(assessment)
    .execute(conn)
    .await?;
    Ok(())
}
