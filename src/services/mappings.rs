//! Recording how the goals of one framework version relate to those of another.

use std::collections::HashSet;

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::ServiceError;
use crate::auth::Operator;
use crate::domain::framework::document::Problem;
use crate::storage::audit::{NewEntry, RequestContext};
use crate::storage::mappings as store;
use crate::storage::{self, frameworks};

pub use crate::storage::frameworks::FrameworkRecord;
pub use crate::storage::mappings::{MappingRow, MappingSummary};

/// The relations a mapping row may have.
pub const RELATIONS: [&str; 5] = ["equivalent", "split", "merged", "new", "retired"];

/// Every problem of a set of rows against the goal codes of the two versions.
pub fn check(
    rows: &[MappingRow],
    from_codes: &HashSet<String>,
    to_codes: &HashSet<String>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let path = format!("/rows/{i}");
        if !RELATIONS.contains(&row.relation.as_str()) {
            problems.push(Problem::new(
                format!("{path}/relation"),
                "mapping.problem.relation",
            ));
            continue;
        }
        let wants_from = row.relation != "new";
        let wants_to = row.relation != "retired";
        match (&row.from_goal, wants_from) {
            (Some(code), true) if !from_codes.contains(code) => problems.push(Problem::with(
                format!("{path}/from_goal"),
                "mapping.problem.unknown_goal",
                code,
            )),
            (None, true) => problems.push(Problem::new(
                format!("{path}/from_goal"),
                "mapping.problem.goal_required",
            )),
            (Some(_), false) => problems.push(Problem::new(
                format!("{path}/from_goal"),
                "mapping.problem.goal_not_allowed",
            )),
            _ => {}
        }
        match (&row.to_goal, wants_to) {
            (Some(code), true) if !to_codes.contains(code) => problems.push(Problem::with(
                format!("{path}/to_goal"),
                "mapping.problem.unknown_goal",
                code,
            )),
            (None, true) => problems.push(Problem::new(
                format!("{path}/to_goal"),
                "mapping.problem.goal_required",
            )),
            (Some(_), false) => problems.push(Problem::new(
                format!("{path}/to_goal"),
                "mapping.problem.goal_not_allowed",
            )),
            _ => {}
        }
        if !seen.insert((row.from_goal.clone(), row.to_goal.clone())) {
            problems.push(Problem::new(path, "mapping.problem.duplicate"));
        }
    }
    problems
}

/// Replaces the mapping from `from` to `to` with these rows, all checked first.
pub async fn set(
    pool: &PgPool,
    operator: Operator<'_>,
    from: Uuid,
    to: Uuid,
    rows: Vec<MappingRow>,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    if from == to {
        return Err(ServiceError::field("to", "mapping.problem.same_version"));
    }
    let rows: Vec<MappingRow> = rows
        .into_iter()
        .map(|row| MappingRow {
            from_goal: row
                .from_goal
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()),
            to_goal: row
                .to_goal
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()),
            relation: row.relation.trim().to_owned(),
        })
        .collect();
    let mut tx = storage::Audited::begin(pool, &operator.scope()).await?;
    let from_version = frameworks::load(&mut tx, from)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let to_version = frameworks::load(&mut tx, to)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let codes = |record: &frameworks::FrameworkRecord| -> HashSet<String> {
        record
            .framework
            .goals()
            .map(|(_, g)| g.code.clone())
            .collect()
    };
    let problems = check(&rows, &codes(&from_version), &codes(&to_version));
    if !problems.is_empty() {
        return Err(ServiceError::Problems(problems));
    }
    store::replace(&mut tx, from, to, &rows, operator.user_id()).await?;
    tx.commit(
        &NewEntry::new(
            operator.actor(),
            "framework.mapping",
            json!({ "from": from, "to": to, "rows": rows.len() }),
        )
        .about("framework", to)
        .from_request(context),
    )
    .await?;
    Ok(())
}

/// The rows of the mapping from one version to another (empty when none is recorded);
/// `NotFound` when either version is not there.
pub async fn rows(
    pool: &PgPool,
    scope: &crate::storage::Scope,
    from: Uuid,
    to: Uuid,
) -> Result<Vec<MappingRow>, ServiceError> {
    let mut tx = storage::begin(pool, scope).await?;
    for id in [from, to] {
        frameworks::load(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
    }
    let rows = store::rows(&mut tx, from, to).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Both versions of a mapping and its rows (`rows` when given: the ones a refused form sent),
/// in one transaction; `NotFound` when either version is not there.
pub async fn pair(
    pool: &PgPool,
    scope: &crate::storage::Scope,
    from: Uuid,
    to: Uuid,
    rows: Option<Vec<MappingRow>>,
) -> Result<(FrameworkRecord, FrameworkRecord, Vec<MappingRow>), ServiceError> {
    let mut tx = storage::begin(pool, scope).await?;
    let from_record = frameworks::load(&mut tx, from)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let to_record = frameworks::load(&mut tx, to)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let rows = match rows {
        Some(rows) => rows,
        None => store::rows(&mut tx, from, to).await?,
    };
    tx.commit().await?;
    Ok((from_record, to_record, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(from: Option<&str>, to: Option<&str>, relation: &str) -> MappingRow {
        MappingRow {
            from_goal: from.map(Into::into),
            to_goal: to.map(Into::into),
            relation: relation.into(),
        }
    }

    #[test]
    fn relations_must_have_the_ends_they_describe_and_goals_must_exist() {
        let from: HashSet<String> = ["a", "b"].map(String::from).into();
        let to: HashSet<String> = ["a2", "c"].map(String::from).into();
        let rows = [
            row(Some("a"), Some("a2"), "equivalent"),
            row(None, Some("c"), "new"),
            row(Some("b"), None, "retired"),
            row(Some("a"), Some("zz"), "split"),
            row(Some("a"), None, "merged"),
            row(Some("a"), Some("c"), "renamed"),
            row(Some("a"), Some("a2"), "equivalent"),
        ];
        let problems: Vec<(String, &str)> = check(&rows, &from, &to)
            .into_iter()
            .map(|p| (p.path, p.key))
            .collect();
        assert_eq!(
            problems,
            [
                ("/rows/3/to_goal".to_owned(), "mapping.problem.unknown_goal"),
                (
                    "/rows/4/to_goal".to_owned(),
                    "mapping.problem.goal_required"
                ),
                ("/rows/5/relation".to_owned(), "mapping.problem.relation"),
                ("/rows/6".to_owned(), "mapping.problem.duplicate"),
            ]
        );
    }
}
