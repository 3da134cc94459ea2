//! What Home shows, by who is reading: one transaction, a fixed number of statements per role
//! whatever the data size. Row-level security limits a delegation to its own rows.

use sqlx::PgPool;

use super::ServiceError;
use crate::auth::Principal;
use crate::domain::role::Role;
use crate::storage::{self, home};

pub use crate::storage::home::{
    AwaitingReview, CycleSummary, DelegationAssessment, GoalDue, RecentEvent, Setup,
    WaitingClarification,
};

/// What Home shows, by who is reading.
pub enum Work {
    Anonymous,
    Delegation {
        assessments: Vec<DelegationAssessment>,
        clarifications: Vec<WaitingClarification>,
        goals: Vec<GoalDue>,
    },
    Analyst {
        setup: Setup,
        cycles: Vec<CycleSummary>,
        recent: Vec<RecentEvent>,
    },
    Admin {
        setup: Setup,
        cycles: Vec<CycleSummary>,
        awaiting: Vec<AwaitingReview>,
    },
}

/// A signed-in user's work.
pub async fn work_of(pool: &PgPool, me: &Principal) -> Result<Work, ServiceError> {
    let mut tx = storage::begin(pool, &me.scope()).await?;
    let work = match me.role {
        Role::Delegation { participant_id, .. } => Work::Delegation {
            assessments: home::delegation_assessments(&mut tx, participant_id).await?,
            clarifications: home::waiting_clarifications(&mut tx, participant_id).await?,
            goals: home::goals_due(&mut tx, participant_id).await?,
        },
        Role::Analyst => Work::Analyst {
            setup: home::setup(&mut tx).await?,
            cycles: home::cycle_summaries(&mut tx, true).await?,
            recent: home::recent_events(&mut tx).await?,
        },
        Role::Admin => Work::Admin {
            setup: home::setup(&mut tx).await?,
            cycles: home::cycle_summaries(&mut tx, false).await?,
            awaiting: home::awaiting_review(&mut tx).await?,
        },
    };
    tx.commit().await?;
    Ok(work)
}
