//! Framework versions: create, import, edit, copy as a new version, export.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::ServiceError;
use crate::auth::Operator;
use crate::domain::framework::Framework;
use crate::domain::framework::document::{FrameworkDocument, Problem};
use crate::domain::framework::edit::{self, Change, ChangeError};
use crate::storage::audit::{NewEntry, RequestContext};
use crate::storage::frameworks::{self as store, FrameworkWriteError};
use crate::storage::{self, Scope};

pub use crate::storage::frameworks::{FrameworkRecord, FrameworkSummary};
pub use crate::storage::mappings::MappingSummary;

impl From<FrameworkWriteError> for ServiceError {
    fn from(error: FrameworkWriteError) -> Self {
        match error {
            FrameworkWriteError::NotFound => ServiceError::NotFound,
            FrameworkWriteError::Frozen => ServiceError::Refused("framework.refused.frozen"),
            FrameworkWriteError::Conflict => ServiceError::Conflict,
            FrameworkWriteError::DuplicateVersion => {
                ServiceError::field("version", "field.version.taken")
            }
            FrameworkWriteError::GoalInMapping => {
                ServiceError::Refused("framework.refused.goal_in_mapping")
            }
            FrameworkWriteError::SectionInUse => {
                ServiceError::Refused("framework.refused.section_in_use")
            }
            FrameworkWriteError::Sql(error) => ServiceError::Sql(error),
        }
    }
}

/// Stores a new version from a JSON document (the format of docs/framework-format.md); nothing
/// is written unless the whole document is valid.
pub async fn import(
    pool: &PgPool,
    operator: Operator<'_>,
    json: &str,
    context: &RequestContext,
) -> Result<Uuid, ServiceError> {
    let framework = Framework::from_json(json).map_err(ServiceError::Problems)?;
    create(pool, operator, &framework, "framework.import", context).await
}

/// Stores a new, valid version.
pub async fn create(
    pool: &PgPool,
    operator: Operator<'_>,
    framework: &Framework,
    action: &str,
    context: &RequestContext,
) -> Result<Uuid, ServiceError> {
    let mut tx = storage::Audited::begin(pool, &operator.scope()).await?;
    let stored = store::insert(&mut tx, framework).await?;
    tx.commit(
        &NewEntry::new(
            operator.actor(),
            action,
            json!({ "family": framework.family, "version": framework.version,
                    "sections": framework.sections.len(), "goals": framework.goals().count() }),
        )
        .about("framework", stored.id)
        .from_request(context),
    )
    .await?;
    Ok(stored.id)
}

/// Loads a version.
pub async fn load(pool: &PgPool, scope: &Scope, id: Uuid) -> Result<FrameworkRecord, ServiceError> {
    let mut tx = storage::begin(pool, scope).await?;
    let record = store::load(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    tx.commit().await?;
    Ok(record)
}

/// Every version, by family and creation. Reads only.
pub async fn list(
    pool: &PgPool,
    scope: &Scope,
) -> Result<Vec<store::FrameworkSummary>, ServiceError> {
    let mut tx = storage::begin(pool, scope).await?;
    let list = store::list(&mut tx).await?;
    tx.commit().await?;
    Ok(list)
}

/// A version with the mappings from and to it and every other version (the framework page), in
/// one transaction.
pub async fn detail(
    pool: &PgPool,
    scope: &Scope,
    id: Uuid,
) -> Result<(FrameworkRecord, Vec<MappingSummary>, Vec<FrameworkSummary>), ServiceError> {
    let mut tx = storage::begin(pool, scope).await?;
    let record = store::load(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let mappings = crate::storage::mappings::list_for(&mut tx, id).await?;
    let others = store::list(&mut tx)
        .await?
        .into_iter()
        .filter(|f| f.id != id)
        .collect();
    tx.commit().await?;
    Ok((record, mappings, others))
}

/// The version as a JSON document; importing it gives an identical framework.
pub fn export(record: &FrameworkRecord) -> String {
    // Serialising plain structs cannot fail.
    serde_json::to_string_pretty(&FrameworkDocument::from(&record.framework)).unwrap_or_default()
}

/// Replaces a version with a whole new document (the API's PUT), refusing a frozen version and a
/// concurrent edit.
pub async fn replace(
    pool: &PgPool,
    operator: Operator<'_>,
    id: Uuid,
    expected_row_version: i64,
    json: &str,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    let framework = Framework::from_json(json).map_err(ServiceError::Problems)?;
    write(
        pool,
        operator,
        id,
        expected_row_version,
        &framework,
        json!({ "change": "replace" }),
        context,
    )
    .await
}

/// Applies one change (a form on the pages) to the version as it was read.
pub async fn change(
    pool: &PgPool,
    operator: Operator<'_>,
    id: Uuid,
    expected_row_version: i64,
    change: Change,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    let record = load(pool, &operator.scope(), id).await?;
    if record.frozen {
        return Err(ServiceError::Refused("framework.refused.frozen"));
    }
    if record.row_version != expected_row_version {
        return Err(ServiceError::Conflict);
    }
    let summary = describe(&change);
    let framework = edit::apply(&record.framework, change).map_err(|error| match error {
        ChangeError::NotFound => ServiceError::NotFound,
        ChangeError::Invalid(problems) => ServiceError::Problems(problems),
    })?;
    write(
        pool,
        operator,
        id,
        expected_row_version,
        &framework,
        summary,
        context,
    )
    .await
}

fn describe(change: &Change) -> serde_json::Value {
    match change {
        Change::Details { version, .. } => json!({ "change": "details", "version": version }),
        Change::AddSection(input) => json!({ "change": "add_section", "code": input.code }),
        Change::EditSection { code, input } => {
            json!({ "change": "edit_section", "code": code, "new_code": input.code })
        }
        Change::RemoveSection { code } => json!({ "change": "remove_section", "code": code }),
        Change::MoveSection { code, by } => {
            json!({ "change": "move_section", "code": code, "by": by })
        }
        Change::AddGoal(goal, section) => {
            json!({ "change": "add_goal", "code": goal.code, "section": section })
        }
        Change::EditGoal {
            code,
            goal,
            section,
        } => {
            json!({ "change": "edit_goal", "code": code, "new_code": goal.code, "section": section })
        }
        Change::RemoveGoal { code } => json!({ "change": "remove_goal", "code": code }),
        Change::MoveGoal { code, by } => json!({ "change": "move_goal", "code": code, "by": by }),
    }
}

async fn write(
    pool: &PgPool,
    operator: Operator<'_>,
    id: Uuid,
    expected_row_version: i64,
    framework: &Framework,
    details: serde_json::Value,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    let mut tx = storage::Audited::begin(pool, &operator.scope()).await?;
    store::replace(&mut tx, id, expected_row_version, framework).await?;
    tx.commit(
        &NewEntry::new(operator.actor(), "framework.update", details)
            .about("framework", id)
            .from_request(context),
    )
    .await?;
    Ok(())
}

/// Copies a version (frozen or not) as a new, editable version, and maps every goal of the old
/// version to its copy as equivalent, so that trends run across the two.
pub async fn copy_as_new_version(
    pool: &PgPool,
    operator: Operator<'_>,
    id: Uuid,
    new_version: &str,
    context: &RequestContext,
) -> Result<Uuid, ServiceError> {
    let source = load(pool, &operator.scope(), id).await?;
    let mut copy = source.framework.clone();
    copy.version = new_version.trim().to_owned();
    let problems: Vec<Problem> =
        crate::domain::framework::document::validate(&FrameworkDocument::from(&copy));
    if let Some(problem) = problems.iter().find(|p| p.path == "/version") {
        return Err(ServiceError::field("version", problem.key));
    }
    let mut tx = storage::Audited::begin(pool, &operator.scope()).await?;
    let stored = store::insert(&mut tx, &copy).await?;
    crate::storage::mappings::insert_equivalent_by_code(&mut tx, id, stored.id, operator.user_id())
        .await?;
    tx.commit(
        &NewEntry::new(
            operator.actor(),
            "framework.copy",
            json!({ "from": id, "family": copy.family, "version": copy.version }),
        )
        .about("framework", stored.id)
        .from_request(context),
    )
    .await?;
    Ok(stored.id)
}
