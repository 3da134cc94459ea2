//! National goals: a delegation's own goals under a section of the pledge, with their history.

use crate::domain::scoring::{Decimal, number};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::{FieldProblems, ServiceError};
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::storage::audit::{Actor, NewEntry, RequestContext};
use crate::storage::national_goals::{self as store, NewNationalGoal};
use crate::storage::{self};

pub use crate::storage::national_goals::{GoalVersion, NationalGoalView, SectionChoice};

/// Statuses a national goal can have.
pub const STATUSES: [&str; 5] = ["planned", "on_track", "at_risk", "achieved", "dropped"];
/// What a target is measured on.
pub const MEASURES: [&str; 2] = ["level", "number"];

/// A national goal form (as typed).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct NationalGoalInput {
    #[serde(default)]
    pub section: String,
    #[serde(default)]
    pub title: String,
    /// `level` (a maturity level) or `number`.
    #[serde(default)]
    pub measure: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub baseline_value: String,
    #[serde(default)]
    pub current_value: String,
    #[serde(default)]
    pub target_value: String,
    #[serde(default)]
    pub target_year: String,
    /// planned, on_track, at_risk, achieved or dropped.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub notes: String,
}

fn parse(
    input: &NationalGoalInput,
    participant_id: Uuid,
    user: Uuid,
) -> Result<NewNationalGoal, FieldProblems> {
    let mut problems = FieldProblems::new();
    let mut problem = |field: &str, key: &str| {
        problems.insert(field.to_owned(), key.to_owned());
    };
    let section = Uuid::parse_str(input.section.trim()).ok();
    if section.is_none() {
        problem("section", "field.section.required");
    }
    let title = crate::domain::text::trim_invisible(&input.title);
    if input.title.trim().is_empty() || title.chars().count() > 300 {
        problem("title", "field.title.required");
    } else if title.is_empty() {
        problem("title", "field.title.blank");
    }
    let measure = MEASURES
        .iter()
        .find(|m| **m == input.measure.trim())
        .copied();
    if measure.is_none() {
        problem("measure", "field.measure.unknown");
    }
    let mut number = |field: &str, text: &str, required: bool| -> Option<Decimal> {
        if text.trim().is_empty() {
            if required {
                problem(field, "field.number.required");
            }
            return None;
        }
        // Written in full, a few decimals, bounded (never `1e308`, nor `1e-400` read as 0).
        match crate::domain::input::parse_number(text) {
            Ok(value) => Some(value),
            Err(key) => {
                problem(field, key);
                None
            }
        }
    };
    let baseline = number("baseline_value", &input.baseline_value, false);
    let current = number("current_value", &input.current_value, false);
    let target = number("target_value", &input.target_value, true);
    let year = input
        .target_year
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|y| (2000..=2100).contains(y));
    if year.is_none() {
        problems.insert(
            "target_year".to_owned(),
            "field.target_year.invalid".to_owned(),
        );
    }
    let status = STATUSES
        .iter()
        .find(|s| **s == input.status.trim())
        .copied();
    if status.is_none() {
        problems.insert("status".to_owned(), "field.status.unknown".to_owned());
    }
    if input.owner.chars().count() > 200 {
        problems.insert("owner".to_owned(), "field.text.too_long".to_owned());
    }
    if input.unit.chars().count() > 40 {
        problems.insert("unit".to_owned(), "field.text.too_long".to_owned());
    }
    if input.notes.chars().count() > 5000 {
        problems.insert("notes".to_owned(), "field.text.too_long".to_owned());
    }
    match (section, measure, target, year, status, problems.is_empty()) {
        (
            Some(section_id),
            Some(measure),
            Some(target_value),
            Some(target_year),
            Some(status),
            true,
        ) => Ok(NewNationalGoal {
            participant_id,
            section_id,
            title: title.to_owned(),
            measure,
            unit: input.unit.trim().to_owned(),
            baseline_value: baseline,
            current_value: current,
            target_value,
            target_year,
            status,
            owner: input.owner.trim().to_owned(),
            notes: input.notes.trim().to_owned(),
            created_by: Some(user),
        }),
        _ => Err(problems),
    }
}

/// Each value lies in its measure's range: a maturity level within the section's scale (0 to its
/// highest level), a percentage within 0–100.
async fn check_ranges(
    conn: &mut sqlx::PgConnection,
    goal: &NewNationalGoal,
) -> Result<(), ServiceError> {
    let max_level = store::section_max_level(conn, goal.section_id)
        .await?
        .unwrap_or(0);
    let measure = crate::domain::input::Measure::of(goal.measure, &goal.unit, max_level);
    let mut problems = FieldProblems::new();
    for (field, value) in [
        ("baseline_value", goal.baseline_value),
        ("current_value", goal.current_value),
        ("target_value", Some(goal.target_value)),
    ] {
        if let Some(Err(key)) = value.map(|v| measure.check(v)) {
            problems.insert(field.to_owned(), key.to_owned());
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(problems))
    }
}

async fn section_offered(
    conn: &mut sqlx::PgConnection,
    section: Uuid,
) -> Result<bool, sqlx::Error> {
    Ok(store::section_choices(conn)
        .await?
        .iter()
        .any(|s| s.id == section))
}

/// Records a new national goal of `participant` for a principal who edits that delegation
/// (`EditParticipant`, 403; row-level security checks it again).
pub async fn create(
    pool: &PgPool,
    principal: &Principal,
    participant_id: Uuid,
    input: &NationalGoalInput,
    context: &RequestContext,
) -> Result<Uuid, ServiceError> {
    principal.require(Permission::EditParticipant(participant_id))?;
    let goal = parse(input, participant_id, principal.user_id).map_err(ServiceError::Invalid)?;
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    if !section_offered(&mut tx, goal.section_id).await? {
        return Err(ServiceError::field("section", "field.section.required"));
    }
    check_ranges(&mut tx, &goal).await?;
    let ids = store::insert_many(&mut tx, std::slice::from_ref(&goal)).await?;
    let id = *ids.first().ok_or(ServiceError::NotFound)?;
    tx.commit(
        &NewEntry::new(
            Actor::User(principal.user_id),
            "national_goal.create",
            json!({ "new": input_json(&goal) }),
        )
        .about("national_goal", id)
        .for_participant(Some(participant_id))
        .from_request(context),
    )
    .await?;
    Ok(id)
}

fn input_json(goal: &NewNationalGoal) -> serde_json::Value {
    json!({ "section": goal.section_id, "title": goal.title, "measure": goal.measure, "unit": goal.unit,
            "baseline_value": number::json(&goal.baseline_value), "current_value": number::json(&goal.current_value),
            "target_value": number::json(&goal.target_value), "target_year": goal.target_year, "status": goal.status,
            "owner": goal.owner, "notes": goal.notes })
}

/// Changes a national goal as it was read (`expected_row_version`); a concurrent change is
/// refused with [`ServiceError::Conflict`], never overwritten.
pub async fn update(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    expected_row_version: i64,
    input: &NationalGoalInput,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    let mut tx = storage::Audited::begin(pool, &principal.scope()).await?;
    let before = store::find(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    principal.require(Permission::EditParticipant(before.participant_id))?;
    // A stale form is a conflict even when it also has mistakes: the user must see the change.
    if before.row_version != expected_row_version {
        return Err(ServiceError::Conflict);
    }
    let goal =
        parse(input, before.participant_id, principal.user_id).map_err(ServiceError::Invalid)?;
    if goal.section_id != before.section_id && !section_offered(&mut tx, goal.section_id).await? {
        return Err(ServiceError::field("section", "field.section.required"));
    }
    check_ranges(&mut tx, &goal).await?;
    if !store::update(&mut tx, id, expected_row_version, &goal).await? {
        return Err(ServiceError::Conflict);
    }
    let old = json!({ "section": before.section_id, "title": before.title, "measure": before.measure,
        "unit": before.unit, "baseline_value": number::json(&before.baseline_value), "current_value": number::json(&before.current_value),
        "target_value": number::json(&before.target_value), "target_year": before.target_year, "status": before.status,
        "owner": before.owner, "notes": before.notes });
    tx.commit(
        &NewEntry::new(
            Actor::User(principal.user_id),
            "national_goal.update",
            json!({ "old": old, "new": input_json(&goal) }),
        )
        .about("national_goal", id)
        .for_participant(Some(before.participant_id))
        .from_request(context),
    )
    .await?;
    Ok(())
}

/// A participant's national goals (`ReadParticipant`, 403; 404 for a participant the caller
/// cannot see). Reads only.
pub async fn list(
    pool: &PgPool,
    principal: &Principal,
    participant: Uuid,
) -> Result<Vec<NationalGoalView>, ServiceError> {
    principal.require(Permission::ReadParticipant(participant))?;
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    crate::storage::participants::find(&mut tx, participant)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let goals = store::list(&mut tx, participant).await?;
    tx.commit().await?;
    Ok(goals)
}

/// One goal; row-level security hides other participants' goals ("not found"), then
/// `ReadParticipant` on its participant (403). Reads only.
pub async fn find(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
) -> Result<NationalGoalView, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let goal = store::find(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    tx.commit().await?;
    principal.require(Permission::ReadParticipant(goal.participant_id))?;
    Ok(goal)
}

/// [`find`] for a principal who may also change it (`EditParticipant` on its participant, 403):
/// what a change checks before reading its input. [`update`] checks again under its own read.
pub async fn find_editable(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
) -> Result<NationalGoalView, ServiceError> {
    let goal = find(pool, principal, id).await?;
    principal.require(Permission::EditParticipant(goal.participant_id))?;
    Ok(goal)
}

/// A goal's versions, oldest first ([`find`]'s 404 and 403 first). Reads only.
pub async fn history(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
) -> Result<Vec<GoalVersion>, ServiceError> {
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let goal = store::find(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    principal.require(Permission::ReadParticipant(goal.participant_id))?;
    let history = store::history(&mut tx, id).await?;
    tx.commit().await?;
    Ok(history)
}

/// What the goal form shows: the goal and its history (when it exists) and the sections a goal
/// may refer to (an older goal's own section kept on offer), in one transaction. Reads only.
/// An existing goal needs `ReadParticipant` on its participant (after the 404 of a goal hidden by
/// row-level security); the form for a new goal needs `EditParticipant` on one's own delegation
/// (403 before anything is read).
pub async fn form(
    pool: &PgPool,
    principal: &Principal,
    id: Option<Uuid>,
) -> Result<
    (
        Option<NationalGoalView>,
        Vec<GoalVersion>,
        Vec<SectionChoice>,
    ),
    ServiceError,
> {
    if id.is_none() {
        let own = principal
            .role
            .participant()
            .ok_or(ServiceError::Forbidden)?;
        principal.require(Permission::EditParticipant(own))?;
    }
    let mut tx = storage::begin(pool, &principal.scope()).await?;
    let (goal, history) = match id {
        Some(id) => {
            let goal = store::find(&mut tx, id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            principal.require(Permission::ReadParticipant(goal.participant_id))?;
            let history = store::history(&mut tx, id).await?;
            (Some(goal), history)
        }
        None => (None, Vec::new()),
    };
    let mut sections = store::section_choices(&mut tx).await?;
    if let Some(goal) = &goal
        && !sections.iter().any(|s| s.id == goal.section_id)
    {
        sections.insert(
            0,
            SectionChoice {
                id: goal.section_id,
                code: goal.section_code.clone(),
                title_en: goal.section_title_en.clone(),
                title_fr: goal.section_title_fr.clone(),
                framework_version: String::new(),
            },
        );
    }
    tx.commit().await?;
    Ok((goal, history, sections))
}
