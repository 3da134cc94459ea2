//! Reports: who may read which, and loading what they are built from in a fixed number of
//! statements (see docs/performance.md). The figures themselves come from
//! [`crate::domain::report`] and [`crate::domain::scoring`].

use crate::domain::scoring::Decimal;
use std::collections::{HashMap, HashSet};

use sqlx::PgPool;
use uuid::Uuid;

use super::ServiceError;
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::domain::report::comparison::{self, ComparisonInput, CycleComparison, PreviousFigures};
use crate::domain::report::progress::{
    self, AllianceFigures, CycleSubmission, NationalGoalLine, OpenClarification, ProgressInput,
    ProgressReport,
};
use crate::domain::report::{CycleRef, FrameworkShape};
use crate::domain::scoring::distribution::{ANONYMITY_THRESHOLD, distribution};
use crate::domain::scoring::translation::{GoalResult, Translator};
use crate::storage::{self, clarifications, national_goals, reports as store};

/// The comparison of a cycle, optionally ranked on one section (analysts and admins).
pub async fn comparison(
    pool: &PgPool,
    me: &Principal,
    cycle_id: Uuid,
    focus_section: Option<Uuid>,
) -> Result<CycleComparison, ServiceError> {
    if !me.may(Permission::CompareParticipants) {
        return Err(ServiceError::Forbidden);
    }
    let mut tx = storage::begin(pool, &me.scope()).await?;
    let (report, _) = load_comparison(&mut tx, cycle_id, focus_section).await?;
    tx.commit().await?;
    Ok(report)
}

/// Builds a cycle's comparison in the caller's transaction, with the structure of its framework
/// version (the caller has checked the permission).
pub async fn load_comparison(
    tx: &mut sqlx::PgConnection,
    cycle_id: Uuid,
    focus_section: Option<Uuid>,
) -> Result<(CycleComparison, FrameworkShape), ServiceError> {
    let cycle = store::cycle(&mut *tx, cycle_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let previous_cycle = store::previous_cycle(&mut *tx, &cycle).await?;
    let mut versions = vec![cycle.framework_id];
    versions.extend(previous_cycle.as_ref().map(|p| p.framework_id));
    let mut shapes = store::shapes(&mut *tx, &versions).await?;
    let shape = shapes
        .remove(&cycle.framework_id)
        .ok_or(ServiceError::NotFound)?;
    let submitted = store::submissions(&mut *tx, cycle.id, &shape).await?;
    let assessments = store::assessment_count(&mut *tx, cycle.id).await?;
    let previous = match &previous_cycle {
        None => HashMap::new(),
        Some(p) if p.framework_id == cycle.framework_id => {
            // Same version: the stored figures are the comparable ones.
            store::submissions(&mut *tx, p.id, &shape)
                .await?
                .into_iter()
                .map(|s| {
                    let figures = PreviousFigures {
                        overall: s.overall.score,
                        sections: s.sections.iter().map(|f| f.score).collect(),
                    };
                    (s.participant_id, figures)
                })
                .collect()
        }
        Some(p) => {
            let answers = store::cycle_answers(&mut *tx, p.id).await?;
            let translator = Translator::new(&store::mappings(&mut *tx).await?);
            let weights = store::family_weights(&mut *tx, cycle.framework_id).await?;
            carried_figures(&shape, p.framework_id, &translator, &weights, answers)
        }
    };
    let focus = focus_section.and_then(|id| shape.sections.iter().position(|s| s.id == id));
    let report = comparison::build(ComparisonInput {
        cycle,
        previous_cycle,
        shape: &shape,
        assessments: usize::try_from(assessments).unwrap_or(0),
        submitted,
        previous,
        focus,
    });
    Ok((report, shape))
}

fn weights<'a>(shapes: impl Iterator<Item = &'a FrameworkShape>) -> HashMap<Uuid, Decimal> {
    shapes
        .flat_map(|s| s.goals.iter().map(|g| (g.id, g.weight)))
        .collect()
}

fn carried_figures(
    shape: &FrameworkShape,
    source: Uuid,
    translator: &Translator,
    weights: &HashMap<Uuid, Decimal>,
    answers: HashMap<Uuid, Vec<progress::RecordedAnswer>>,
) -> HashMap<Uuid, PreviousFigures> {
    answers
        .into_iter()
        .filter_map(|(participant, answers)| {
            let results: HashMap<Uuid, GoalResult> =
                answers.iter().map(|a| (a.goal_id, a.result())).collect();
            let scores = shape.score_carried(source, translator, weights, &results)?;
            Some((
                participant,
                PreviousFigures {
                    overall: scores.overall.score,
                    sections: scores.sections.iter().map(|f| f.score).collect(),
                },
            ))
        })
        .collect()
}

/// The progress report of one assessment: the delegation its own, staff any, analysts once it
/// has been submitted.
pub async fn progress(
    pool: &PgPool,
    me: &Principal,
    assessment_id: Uuid,
) -> Result<ProgressReport, ServiceError> {
    let mut tx = storage::begin(pool, &me.scope()).await?;
    let facts = store::assessment(&mut tx, assessment_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !me.may(Permission::ReadAssessment {
        participant: facts.participant.id,
        submitted: facts.has_snapshot,
    }) {
        return Err(ServiceError::Forbidden);
    }
    let cycle = store::cycle(&mut tx, facts.cycle_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let previous_cycle = store::previous_cycle(&mut tx, &cycle).await?;
    let history = store::history(&mut tx, facts.participant.id, &cycle).await?;
    let versions: Vec<Uuid> = std::iter::once(cycle.framework_id)
        .chain(history.iter().map(|h| h.cycle.framework_id))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let shapes = store::shapes(&mut tx, &versions).await?;
    let shape = shapes
        .get(&cycle.framework_id)
        .ok_or(ServiceError::NotFound)?;
    let snapshot_ids: Vec<Uuid> = history.iter().map(|h| h.snapshot.id).collect();
    let mut answers = store::snapshot_answers(&mut tx, &snapshot_ids).await?;
    let current = history.iter().find(|h| h.cycle.id == cycle.id);
    let section_figures = current
        .map(|c| c.sections.figures(shape))
        .unwrap_or_default();
    // Scores carried along a chain of mappings need the weights of the versions in between.
    let (translator, weights) = if versions.len() > 1 {
        (
            Translator::new(&store::mappings(&mut tx).await?),
            store::family_weights(&mut tx, cycle.framework_id).await?,
        )
    } else {
        (Translator::default(), weights(shapes.values()))
    };
    let alliance = alliance(store::alliance_scores(&mut tx, cycle.id).await?, shape);
    let goals = national_goals::list(&mut tx, facts.participant.id).await?;
    let requests = clarifications::for_assessment(&mut tx, assessment_id).await?;
    tx.commit().await?;

    let current_answers = current
        .and_then(|c| answers.get(&c.snapshot.id).cloned())
        .unwrap_or_default();
    let history = history
        .into_iter()
        .map(|h| CycleSubmission {
            results: answers
                .remove(&h.snapshot.id)
                .unwrap_or_default()
                .iter()
                .map(|a| (a.goal_id, a.result()))
                .collect(),
            cycle: h.cycle,
            snapshot: h.snapshot,
            overall: h.overall,
        })
        .collect();
    Ok(progress::build(ProgressInput {
        participant: facts.participant,
        cycle,
        previous_cycle,
        assessment_id: facts.id,
        assessment_state: facts.state,
        shape,
        section_figures,
        answers: current_answers,
        history,
        weights,
        translator: &translator,
        alliance,
        national_goals: goals
            .into_iter()
            .map(|g| {
                NationalGoalLine::new(
                    g.id,
                    g.section_code,
                    g.title,
                    g.measure,
                    g.unit,
                    g.baseline_value,
                    g.current_value,
                    g.target_value,
                    g.target_year,
                    g.status,
                )
            })
            .collect(),
        clarifications: requests
            .into_iter()
            .filter(|r| r.state != "resolved")
            .map(|r| OpenClarification {
                id: r.id,
                goal_code: r.goal_code,
                question: r.question,
                state: r.state,
            })
            .collect(),
    }))
}

/// The anonymous distribution, from what the database released (nothing below the threshold).
fn alliance(
    released: Option<store::ReleasedScores>,
    shape: &FrameworkShape,
) -> Option<AllianceFigures> {
    let store::ReleasedScores {
        participants,
        scores,
    } = released?;
    if participants < ANONYMITY_THRESHOLD {
        return None;
    }
    let figure = |key: Option<Uuid>| {
        scores
            .get(&key)
            .filter(|s| s.len() >= ANONYMITY_THRESHOLD)
            .and_then(|s| distribution(s))
            .map(Into::into)
    };
    Some(AllianceFigures {
        participants,
        overall: figure(None),
        sections: shape.sections.iter().map(|s| figure(Some(s.id))).collect(),
    })
}

/// A row of the report index: a cycle and, for a delegation, its own assessment in it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IndexRow {
    pub cycle: CycleRef,
    /// The caller's own assessment (delegations): id, state, and whether it has a report.
    pub own: Option<(Uuid, String, bool)>,
}

/// Every cycle, optionally of one framework version, with the delegation's own assessments.
pub async fn index(
    pool: &PgPool,
    me: &Principal,
    framework: Option<Uuid>,
) -> Result<Vec<IndexRow>, ServiceError> {
    let mut tx = storage::begin(pool, &me.scope()).await?;
    let cycles = store::cycles(&mut tx).await?;
    let mut own = match me.role.participant() {
        Some(participant) => store::participant_assessments(&mut tx, participant).await?,
        None => HashMap::new(),
    };
    tx.commit().await?;
    Ok(cycles
        .into_iter()
        .filter(|c| framework.is_none_or(|f| c.framework_id == f))
        .map(|cycle| IndexRow {
            own: own.remove(&cycle.id),
            cycle,
        })
        .collect())
}
