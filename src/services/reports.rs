//! Reports: who may read which, and loading what they are built from in a fixed number of
//! statements (see docs/performance.md). The figures themselves come from
//! [`crate::domain::report`] and [`crate::domain::scoring`].

use crate::domain::scoring::Decimal;
use std::collections::{HashMap, HashSet};

use sqlx::PgPool;
use uuid::Uuid;

use super::ServiceError;
use super::report_cache::{self, Memo};
use crate::auth::Principal;
use crate::auth::policy::Permission;
use crate::domain::report::comparison::{self, ComparisonInput, CycleComparison, PreviousFigures};
use crate::domain::report::progress::{
    self, AllianceFigures, CycleSubmission, NationalGoalLine, OpenClarification, ProgressInput,
    ProgressReport,
};
use crate::domain::report::{ByParticipant, CycleRef, FrameworkShape};
use crate::domain::scoring::distribution::{ANONYMITY_THRESHOLD, Distribution, distribution};
use crate::domain::scoring::translation::{GoalResult, Translator};
use crate::storage::report_cache as cache_store;
use crate::storage::{self, clarifications, national_goals, reports as store};
use std::sync::Arc;

/// A historical import that made a cycle's snapshots (file name, digest, who, when).
pub use crate::storage::imports::ImportRecord;

/// Comparisons built in this process, by cycle, kind and key ([`super::report_cache`]).
static COMPARISONS: Memo<CycleComparison> = Memo::new(8);

/// The comparison of a cycle, optionally ranked on one section (analysts and admins): from the
/// cache when it holds the one of the cycle's current snapshots, else built and cached.
pub async fn comparison(
    pool: &PgPool,
    me: &Principal,
    cycle_id: Uuid,
    focus_section: Option<Uuid>,
) -> Result<Arc<CycleComparison>, ServiceError> {
    if !me.may(Permission::CompareParticipants) {
        return Err(ServiceError::Forbidden);
    }
    let mut tx = storage::begin(pool, &me.scope()).await?;
    let report = cached_comparison(&mut tx, cycle_id, focus_section).await?;
    tx.commit().await?;
    Ok(report)
}

/// The cache's kind for a comparison on `focus`.
fn comparison_kind(focus: Option<Uuid>) -> String {
    focus.map_or_else(|| "comparison".to_owned(), |id| format!("comparison:{id}"))
}

/// A cycle's comparison in the caller's transaction (the caller has checked the permission):
/// this process's copy or the shared cache's when its key is the cycle's current one, else
/// built from the precomputed figures and stored under that key. Returns it with its key.
pub async fn cached_comparison(
    tx: &mut sqlx::PgConnection,
    cycle_id: Uuid,
    focus_section: Option<Uuid>,
) -> Result<Arc<CycleComparison>, ServiceError> {
    Ok(cached_comparison_with_inputs(tx, cycle_id, focus_section)
        .await?
        .0)
}

/// What a cycle's cached reports and files are keyed by, as read in one transaction.
#[derive(Debug, Clone)]
pub struct CacheInputs {
    pub current: cache_store::CycleInputs,
    pub previous: Option<cache_store::CycleInputs>,
}

/// [`cached_comparison`], with the inputs its key was made of (exports key their files by
/// the same).
pub async fn cached_comparison_with_inputs(
    tx: &mut sqlx::PgConnection,
    cycle_id: Uuid,
    focus_section: Option<Uuid>,
) -> Result<(Arc<CycleComparison>, CacheInputs), ServiceError> {
    // The cycle, its previous cycle and the cache's key in one statement: a cached comparison
    // is BEGIN, this read and COMMIT.
    let store::CycleHeads {
        cycle,
        previous: previous_cycle,
        inputs: current,
        previous_inputs: previous,
        frozen,
    } = store::cycle_heads(&mut *tx, cycle_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let inputs = CacheInputs {
        current: current.clone(),
        previous: previous.clone(),
    };
    if !report_cache::enabled() {
        let (report, _) =
            build_comparison(&mut *tx, cycle, previous_cycle, &frozen, focus_section).await?;
        return Ok((Arc::new(report), inputs));
    }
    let kind = comparison_kind(focus_section);
    let key = report_cache::key(&current, previous.as_ref(), &kind);
    if let Some(report) = COMPARISONS.get(cycle.id, &kind, &key) {
        return Ok((report, inputs));
    }
    if let Some((body, _)) = cache_store::get(&mut *tx, cycle.id, &kind, &key).await?
        && let Ok(report) = CycleComparison::from_json(&body)
    {
        let report = Arc::new(report);
        COMPARISONS.put(cycle.id, &kind, &key, Arc::clone(&report));
        return Ok((report, inputs));
    }
    let (report, _) =
        build_comparison(&mut *tx, cycle, previous_cycle, &frozen, focus_section).await?;
    // A section that is not one of the version's gives the overall comparison: it is stored
    // under that kind, so made-up section ids add no entries.
    let stored_kind = comparison_kind(report.focus.as_ref().map(|f| f.id));
    let stored_key = report_cache::key(&current, previous.as_ref(), &stored_kind);
    let body = serde_json::to_vec(&report).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    cache_store::put(&mut *tx, report.cycle.id, &stored_kind, &stored_key, &body).await?;
    let report = Arc::new(report);
    COMPARISONS.put(
        report.cycle.id,
        &stored_kind,
        &stored_key,
        Arc::clone(&report),
    );
    Ok((report, inputs))
}

/// Builds a cycle's comparison in the caller's transaction, with the structure of its framework
/// version (the caller has checked the permission).
pub async fn load_comparison(
    tx: &mut sqlx::PgConnection,
    cycle_id: Uuid,
    focus_section: Option<Uuid>,
) -> Result<(CycleComparison, FrameworkShape), ServiceError> {
    let heads = store::cycle_heads(&mut *tx, cycle_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let (report, shape) = build_comparison(
        tx,
        heads.cycle,
        heads.previous,
        &heads.frozen,
        focus_section,
    )
    .await?;
    Ok((report, Arc::unwrap_or_clone(shape)))
}

/// Recorded answers of snapshots, kept in this process by snapshot: a snapshot's answers never
/// change (the database refuses any update or delete, migration 0004), so answers read once stay
/// true. Served only for snapshots the request's own transaction found (the participant's
/// history, read under row-level security), so who may see them is decided as before.
struct KeptAnswers {
    by_snapshot: HashMap<Uuid, Arc<Vec<progress::RecordedAnswer>>>,
    /// Oldest first: the first to go when the process keeps too many.
    order: std::collections::VecDeque<Uuid>,
}

static KEPT_ANSWERS: std::sync::Mutex<Option<KeptAnswers>> = std::sync::Mutex::new(None);

/// How many snapshots' answers the process keeps (150 goals' answers are about 12 KB).
const KEPT_ANSWERS_SNAPSHOTS: usize = 512;

/// The recorded answers of `snapshots`, by snapshot: those this process kept, and the others in
/// one statement (none when every one was kept).
async fn answers_of(
    tx: &mut sqlx::PgConnection,
    snapshots: &[Uuid],
) -> Result<HashMap<Uuid, Vec<progress::RecordedAnswer>>, ServiceError> {
    if !report_cache::enabled() {
        return Ok(store::snapshot_answers(tx, snapshots).await?);
    }
    let mut found = HashMap::with_capacity(snapshots.len());
    let mut missing = Vec::new();
    {
        let kept = KEPT_ANSWERS.lock().unwrap_or_else(|e| e.into_inner());
        for id in snapshots {
            match kept.as_ref().and_then(|k| k.by_snapshot.get(id)) {
                // As the statement gives them: a snapshot without answers is not in the map.
                Some(answers) if answers.is_empty() => {}
                Some(answers) => {
                    found.insert(*id, answers.as_ref().clone());
                }
                None => missing.push(*id),
            }
        }
    }
    if missing.is_empty() {
        return Ok(found);
    }
    let mut read = store::snapshot_answers(tx, &missing).await?;
    let mut kept = KEPT_ANSWERS.lock().unwrap_or_else(|e| e.into_inner());
    let kept = kept.get_or_insert_with(|| KeptAnswers {
        by_snapshot: HashMap::new(),
        order: std::collections::VecDeque::new(),
    });
    for id in missing {
        // A snapshot without answers is kept as such: it has none for good.
        let answers = read.remove(&id).unwrap_or_default();
        if kept
            .by_snapshot
            .insert(id, Arc::new(answers.clone()))
            .is_none()
        {
            kept.order.push_back(id);
        }
        while kept.order.len() > KEPT_ANSWERS_SNAPSHOTS {
            if let Some(oldest) = kept.order.pop_front() {
                kept.by_snapshot.remove(&oldest);
            }
        }
        if !answers.is_empty() {
            found.insert(id, answers);
        }
    }
    Ok(found)
}

/// Structures of frozen framework versions, kept in this process by id and the moment they
/// were frozen: the database refuses any change to a frozen version's content (migration
/// 0008), so a structure read once stays true. Served only for versions the request's own
/// transaction read as frozen at that moment (and could read at all), so row-level security
/// still decides who sees one.
type FrozenShape = ((Uuid, time::OffsetDateTime), Arc<FrameworkShape>);
static FROZEN_SHAPES: std::sync::Mutex<Vec<FrozenShape>> = std::sync::Mutex::new(Vec::new());

/// How many frozen structures the process keeps (the newest replace the oldest).
const FROZEN_SHAPES_KEPT: usize = 16;

/// The structures of `versions`: frozen ones (`frozen`) from this process when it has them,
/// the others read (three statements, none when every one was kept).
async fn shapes_of(
    tx: &mut sqlx::PgConnection,
    versions: &[Uuid],
    frozen: &[(Uuid, time::OffsetDateTime)],
) -> Result<HashMap<Uuid, Arc<FrameworkShape>>, ServiceError> {
    let frozen_key = |id: &Uuid| frozen.iter().find(|(f, _)| f == id).copied();
    let mut found = HashMap::with_capacity(versions.len());
    let mut missing = Vec::new();
    {
        let kept = FROZEN_SHAPES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for id in versions {
            let shape = frozen_key(id)
                .and_then(|key| kept.iter().find(|(k, _)| *k == key))
                .map(|(_, shape)| Arc::clone(shape));
            match shape {
                Some(shape) => {
                    found.insert(*id, shape);
                }
                None => missing.push(*id),
            }
        }
    }
    if missing.is_empty() {
        return Ok(found);
    }
    let read = store::shapes(&mut *tx, &missing).await?;
    let mut kept = FROZEN_SHAPES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (id, shape) in read {
        let shape = Arc::new(shape);
        if let Some(key) = frozen_key(&id) {
            kept.retain(|(k, _)| k.0 != id);
            if kept.len() >= FROZEN_SHAPES_KEPT {
                kept.remove(0);
            }
            kept.push((key, Arc::clone(&shape)));
        }
        found.insert(id, shape);
    }
    Ok(found)
}

async fn build_comparison(
    tx: &mut sqlx::PgConnection,
    cycle: CycleRef,
    previous_cycle: Option<CycleRef>,
    frozen: &[(Uuid, time::OffsetDateTime)],
    focus_section: Option<Uuid>,
) -> Result<(CycleComparison, Arc<FrameworkShape>), ServiceError> {
    let mut versions = vec![cycle.framework_id];
    versions.extend(previous_cycle.as_ref().map(|p| p.framework_id));
    let mut shapes = shapes_of(&mut *tx, &versions, frozen).await?;
    let shape = shapes
        .remove(&cycle.framework_id)
        .ok_or(ServiceError::NotFound)?;
    let submitted = store::submissions(&mut *tx, cycle.id, &shape).await?;
    let assessments = store::assessment_count(&mut *tx, cycle.id).await?;
    let previous = match &previous_cycle {
        None => ByParticipant::default(),
        // Same version: the stored figures are the comparable ones, read as the few numbers
        // they are.
        Some(p) if p.framework_id == cycle.framework_id => {
            store::previous_scores(&mut *tx, p.id, &shape).await?
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
) -> ByParticipant<PreviousFigures> {
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
    // The assessment, its cycle, the previous cycle and the cache's key: one statement.
    let (facts, heads) = store::assessment_heads(&mut tx, assessment_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !me.may(Permission::ReadAssessment {
        participant: facts.participant.id,
        submitted: facts.has_snapshot,
    }) {
        return Err(ServiceError::Forbidden);
    }
    let store::CycleHeads {
        cycle,
        previous: previous_cycle,
        inputs: cycle_inputs,
        frozen,
        ..
    } = heads.ok_or(ServiceError::NotFound)?;
    let history = store::history(&mut tx, facts.participant.id, &cycle).await?;
    let versions: Vec<Uuid> = std::iter::once(cycle.framework_id)
        .chain(history.iter().map(|h| h.cycle.framework_id))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let shapes = shapes_of(&mut tx, &versions, &frozen).await?;
    let shape = shapes
        .get(&cycle.framework_id)
        .ok_or(ServiceError::NotFound)?;
    // Answers are read for the current cycle (its answer lines), the previous one (moved
    // answers, previous figures) and cycles on another version (re-scored through the
    // mappings); the trend takes the others' stored figures.
    let stored_sections = |h: &store::HistoryRow| {
        (h.cycle.framework_id == cycle.framework_id)
            .then(|| h.sections.scores_of(shape))
            .flatten()
    };
    let previous_id = previous_cycle.as_ref().map(|p| p.id);
    let snapshot_ids: Vec<Uuid> = history
        .iter()
        .filter(|h| {
            h.cycle.id == cycle.id
                || Some(h.cycle.id) == previous_id
                || stored_sections(h).is_none()
        })
        .map(|h| h.snapshot.id)
        .collect();
    let mut answers = answers_of(&mut tx, &snapshot_ids).await?;
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
        (
            Translator::default(),
            weights(shapes.values().map(|s| &**s)),
        )
    };
    let released = cached_distribution(&mut tx, cycle.id, &cycle_inputs).await?;
    let alliance = alliance(&released, shape);
    let goals = national_goals::list(&mut tx, facts.participant.id).await?;
    let requests = clarifications::for_assessment(&mut tx, assessment_id).await?;
    tx.commit().await?;

    let current_answers = current
        .and_then(|c| answers.get(&c.snapshot.id).cloned())
        .unwrap_or_default();
    let history = history
        .into_iter()
        .map(|h| CycleSubmission {
            stored_sections: stored_sections(&h),
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

/// A cycle's anonymous distribution as released (nothing below the threshold): the same for
/// every progress report of the cycle, so computed once per snapshot set.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReleasedDistribution {
    /// Participants that submitted in the cycle.
    pub participants: usize,
    /// Per figure (`None` = overall), from at least the threshold's number of complete figures.
    pub figures: Vec<(Option<Uuid>, Distribution)>,
}

/// Distributions built in this process, by cycle and key.
static DISTRIBUTIONS: Memo<ReleasedDistribution> = Memo::new(32);

/// The cycle's released distribution, from the cache when its key is current, else from
/// `cycle_score_distribution` (one statement) and cached: a progress report's cost does not
/// grow with the participants.
async fn cached_distribution(
    tx: &mut sqlx::PgConnection,
    cycle: Uuid,
    current: &cache_store::CycleInputs,
) -> Result<Arc<ReleasedDistribution>, ServiceError> {
    const KIND: &str = "distribution";
    if !report_cache::enabled() {
        let released = store::alliance_scores(&mut *tx, cycle).await?;
        return Ok(Arc::new(released_distribution(released)));
    }
    let key = report_cache::key(current, None, KIND);
    if let Some(released) = DISTRIBUTIONS.get(cycle, KIND, &key) {
        return Ok(released);
    }
    if let Some((body, _)) = cache_store::get(&mut *tx, cycle, KIND, &key).await?
        && let Ok(released) = serde_json::from_slice::<ReleasedDistribution>(&body)
    {
        let released = Arc::new(released);
        DISTRIBUTIONS.put(cycle, KIND, &key, Arc::clone(&released));
        return Ok(released);
    }
    let released = released_distribution(store::alliance_scores(&mut *tx, cycle).await?);
    let body = serde_json::to_vec(&released).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    cache_store::put(&mut *tx, cycle, KIND, &key, &body).await?;
    let released = Arc::new(released);
    DISTRIBUTIONS.put(cycle, KIND, &key, Arc::clone(&released));
    Ok(released)
}

/// The distributions of what the database released.
fn released_distribution(released: Option<store::ReleasedScores>) -> ReleasedDistribution {
    match released {
        None => ReleasedDistribution {
            participants: 0,
            figures: Vec::new(),
        },
        Some(store::ReleasedScores {
            participants,
            scores,
        }) => ReleasedDistribution {
            participants,
            figures: scores
                .iter()
                .filter(|(_, s)| s.len() >= ANONYMITY_THRESHOLD)
                .filter_map(|(key, s)| Some((*key, distribution(s)?)))
                .collect(),
        },
    }
}

/// The anonymous distribution, from what the database released (nothing below the threshold).
fn alliance(released: &ReleasedDistribution, shape: &FrameworkShape) -> Option<AllianceFigures> {
    if released.participants < ANONYMITY_THRESHOLD {
        return None;
    }
    let figure = |key: Option<Uuid>| {
        released
            .figures
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, d)| (*d).into())
    };
    Some(AllianceFigures {
        participants: released.participants,
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
