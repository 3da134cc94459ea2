//! Cycles: create on a framework version, open (an assessment for every active participant),
//! extend the deadline, close, publish; and back: reopen a closed cycle, withdraw a publication
//! (the rules are in `domain::cycle`).

use serde_json::json;
use sqlx::PgPool;
use time::Date;
use uuid::Uuid;

use super::ServiceError;
use crate::auth::Operator;
use crate::domain::cycle::{self, CycleInput, CycleState, NewCycle, Transition};
use crate::storage::audit::{NewEntry, RequestContext};
use crate::storage::cycles::{self as store, CycleRow};
use crate::storage::{self};

pub use crate::storage::cycles::{
    BoardQuery, BoardRow, CarriedSource, Census, CycleFilter, CycleView,
};

/// Creates a planned cycle on a framework version (which freezes the version).
pub async fn create(
    pool: &PgPool,
    operator: Operator<'_>,
    framework_id: Option<Uuid>,
    input: &CycleInput,
    context: &RequestContext,
) -> Result<Uuid, ServiceError> {
    let parsed = NewCycle::parse(input);
    let mut problems: super::FieldProblems = match &parsed {
        Ok(_) => Default::default(),
        Err(list) => list
            .iter()
            .map(|(f, k)| ((*f).to_owned(), (*k).to_owned()))
            .collect(),
    };
    let mut tx = storage::Audited::begin(pool, &operator.scope()).await?;
    let framework_exists = match framework_id {
        Some(id) => {
            sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM frameworks WHERE id = $1)")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
        }
        None => false,
    };
    if !framework_exists {
        problems.insert(
            "framework".to_owned(),
            "field.framework.required".to_owned(),
        );
    }
    let (Ok(new), Some(framework_id), true) = (parsed, framework_id, problems.is_empty()) else {
        return Err(ServiceError::Invalid(problems));
    };
    let row = CycleRow {
        framework_id,
        code: new.code.clone(),
        title_en: new.title_en.clone(),
        title_fr: new.title_fr.clone(),
        state: CycleState::Planned.as_str(),
        opens_on: new.opens_on,
        deadline: new.deadline,
        opened_at: None,
        closed_at: None,
        published_at: None,
    };
    let id = store::insert(&mut tx, &row).await.map_err(|error| {
        match error.as_database_error().and_then(|e| e.constraint()) {
            Some("cycles_code_key") => ServiceError::field("code", "field.cycle_code.taken"),
            _ => ServiceError::Sql(error),
        }
    })?;
    tx.commit(&NewEntry::new(
            operator.actor(),
            "cycle.create",
            json!({ "code": new.code, "framework": framework_id, "opens_on": new.opens_on.to_string(),
                    "deadline": new.deadline.to_string() }),
        )
        .about("cycle", id)
        .from_request(context)).await?;
    Ok(id)
}

/// Opens, closes, publishes, reopens or withdraws a cycle's publication; opening creates an
/// assessment for every active participant. Refused (with the reason) from any other state. A
/// reopening keeps the current deadline (refused once it has passed: use [`reopen`]).
pub async fn transition(
    pool: &PgPool,
    operator: Operator<'_>,
    id: Uuid,
    transition: Transition,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    change_state(pool, operator, id, transition, "", context).await
}

/// Reopens a closed cycle, with a new deadline (`YYYY-MM-DD`, empty to keep the current one;
/// required once the current one has passed).
pub async fn reopen(
    pool: &PgPool,
    operator: Operator<'_>,
    id: Uuid,
    new_deadline: &str,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    change_state(
        pool,
        operator,
        id,
        Transition::Reopen,
        new_deadline,
        context,
    )
    .await
}

async fn change_state(
    pool: &PgPool,
    operator: Operator<'_>,
    id: Uuid,
    transition: Transition,
    new_deadline: &str,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    let typed = match new_deadline.trim() {
        "" => None,
        text => Some(
            cycle::parse_date(text)
                .ok_or_else(|| ServiceError::field("deadline", "field.date.invalid"))?,
        ),
    };
    let mut tx = storage::Audited::begin(pool, &operator.scope()).await?;
    let (state, deadline) = store::lock(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let from = state;
    let to = transition.apply(from).map_err(ServiceError::Refused)?;
    let moved = if transition == Transition::Reopen {
        let today = time::OffsetDateTime::now_utc().date();
        cycle::reopen_deadline(deadline, today, typed)
            .map_err(|key| ServiceError::field("deadline", key))?
    } else {
        None
    };
    store::set_state(&mut tx, id, to).await?;
    if let Some(new) = moved {
        store::set_deadline(&mut tx, id, new).await?;
    }
    let (created, carried, assigned) = if transition == Transition::Open {
        let created = store::create_assessments(&mut tx, id).await?;
        // The answers belong to the delegations; copying them forward is the service's own act
        // on the admin's behalf, under the system scope for this one statement's transaction.
        storage::set_scope(&mut tx, &crate::storage::Scope::System).await?;
        let carried = store::carry_forward(&mut tx, id).await?;
        // Who held which goal, too, marked for review (storage::assignments).
        let assigned = crate::storage::assignments::carry_forward(&mut tx, id).await?;
        (created, carried, assigned)
    } else {
        (0, 0, 0)
    };
    let mut detail = json!({ "old": from.as_str(), "new": to.as_str(), "assessments_created": created, "answers_carried_forward": carried });
    if assigned > 0 {
        detail["assignments_carried_forward"] = json!(assigned);
    }
    if let Some(new) = moved {
        detail["deadline"] = json!({ "old": deadline.to_string(), "new": new.to_string() });
    }
    tx.commit(
        &NewEntry::new(
            operator.actor(),
            &format!("cycle.{}", transition.as_str()),
            detail,
        )
        .about("cycle", id)
        .from_request(context),
    )
    .await?;
    Ok(())
}

/// A cycle and how many of its assessments are in each state: what a confirmation page says a
/// change of state will affect. Reads only.
pub async fn impact(
    pool: &PgPool,
    operator: Operator<'_>,
    id: Uuid,
) -> Result<(store::CycleView, store::Census), ServiceError> {
    let mut tx = storage::begin(pool, &operator.scope()).await?;
    let cycle = store::find(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let census = store::census(&mut tx, id).await?;
    tx.commit().await?;
    Ok((cycle, census))
}

/// Moves the deadline later, while the cycle is planned or open.
pub async fn extend_deadline(
    pool: &PgPool,
    operator: Operator<'_>,
    id: Uuid,
    new_deadline: &str,
    context: &RequestContext,
) -> Result<(), ServiceError> {
    let new: Date = cycle::parse_date(new_deadline)
        .ok_or_else(|| ServiceError::field("deadline", "field.date.invalid"))?;
    let mut tx = storage::Audited::begin(pool, &operator.scope()).await?;
    let (state, current) = store::lock(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    cycle::check_new_deadline(state, current, new).map_err(|key| {
        if key.starts_with("field.") {
            ServiceError::field("deadline", key)
        } else {
            ServiceError::Refused(key)
        }
    })?;
    store::set_deadline(&mut tx, id, new).await?;
    tx.commit(
        &NewEntry::new(
            operator.actor(),
            "cycle.extend_deadline",
            json!({ "old": current.to_string(), "new": new.to_string() }),
        )
        .about("cycle", id)
        .from_request(context),
    )
    .await?;
    Ok(())
}

/// Every cycle the caller may see, newest first. Reads only.
pub async fn list(pool: &PgPool, operator: Operator<'_>) -> Result<Vec<CycleView>, ServiceError> {
    let mut tx = storage::begin(pool, &operator.scope()).await?;
    let cycles = store::list(&mut tx).await?;
    tx.commit().await?;
    Ok(cycles)
}

/// A page of the cycles the filter keeps, newest first, and the total. Reads only.
pub async fn list_page(
    pool: &PgPool,
    operator: Operator<'_>,
    filter: &store::CycleFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<CycleView>, i64), ServiceError> {
    let mut tx = storage::begin(pool, &operator.scope()).await?;
    let page = store::list_page(&mut tx, filter, offset, limit).await?;
    tx.commit().await?;
    Ok(page)
}

/// One cycle. Reads only.
pub async fn find(
    pool: &PgPool,
    operator: Operator<'_>,
    id: Uuid,
) -> Result<CycleView, ServiceError> {
    let mut tx = storage::begin(pool, &operator.scope()).await?;
    let cycle = store::find(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    tx.commit().await?;
    Ok(cycle)
}

/// A cycle and its status board (row-level security shows a delegation its own row only), in
/// one transaction. Reads only.
pub async fn board(
    pool: &PgPool,
    operator: Operator<'_>,
    id: Uuid,
    query: &BoardQuery,
) -> Result<Board, ServiceError> {
    let mut tx = storage::begin(pool, &operator.scope()).await?;
    let cycle = store::find(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let rows = store::board(&mut tx, id, query).await?;
    let carried = store::carried_sources(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Board {
        cycle,
        rows,
        carried,
    })
}

/// The cycle's page: the cycle, its status board, and where carried-forward answers came from.
pub struct Board {
    pub cycle: CycleView,
    pub rows: Vec<BoardRow>,
    pub carried: Vec<store::CarriedSource>,
}
