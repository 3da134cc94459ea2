//! What reports read: submitted snapshots and the structures and mappings to interpret them.
//! Every function is one statement (or a fixed few) whatever the number of participants or
//! goals: reports never query per row.

use std::collections::HashMap;

use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::domain::scoring::Decimal;

use crate::domain::framework::RollUp;
use crate::domain::report::ByParticipant;
use crate::domain::report::comparison::{PreviousFigures, Submitted};
use crate::domain::report::progress::{ParticipantRef, RecordedAnswer};
use crate::domain::report::{
    CycleRef, Figure, FrameworkShape, GoalRef, SectionRef, SnapshotRef, StoredFigures,
    stored_figure,
};
use crate::domain::scoring::translation::{MappingLink, Relation};
use crate::storage::report_cache::CycleInputs;

const CYCLE: &str = "SELECT c.id, c.code, c.title_en, c.title_fr, c.state, c.framework_id,
        f.version AS framework_version, c.opens_on
     FROM cycles c JOIN frameworks f ON f.id = c.framework_id";

fn cycle_ref(row: &sqlx::postgres::PgRow) -> Result<CycleRef, sqlx::Error> {
    Ok(CycleRef {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        title_en: row.try_get("title_en")?,
        title_fr: row.try_get("title_fr")?,
        state: row.try_get("state")?,
        framework_id: row.try_get("framework_id")?,
        framework_version: row.try_get("framework_version")?,
        opens_on: row.try_get("opens_on")?,
    })
}

/// A cycle, the one before it (the cycle of the same framework family that opened last before
/// it, by opening date then code) and what their cached reports are keyed by
/// (`cycle_report_state`):
/// what every report of a cycle starts from, read in one statement.
#[derive(Debug, Clone)]
pub struct CycleHeads {
    pub cycle: CycleRef,
    pub previous: Option<CycleRef>,
    pub inputs: CycleInputs,
    /// The previous cycle's inputs (the default ones when it has no submission yet).
    pub previous_inputs: Option<CycleInputs>,
    /// The framework versions of the two cycles that are frozen (their content can no longer
    /// change: migration 0008), with when they were frozen.
    pub frozen: Vec<(Uuid, time::OffsetDateTime)>,
}

/// [`CycleHeads`] of a cycle (one statement; nothing when the cycle is not there or hidden).
pub async fn cycle_heads(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<CycleHeads>, sqlx::Error> {
    let Some(row) = sqlx::query(&format!("{HEADS} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?
    else {
        return Ok(None);
    };
    heads_of(&row)
}

/// [`CycleHeads`]' columns: the cycle, its state row, the previous cycle (the lateral join
/// [`CycleHeads`] describes) and its state row; the caller adds the condition on `c.id`.
const HEADS: &str = "SELECT c.id, c.code, c.title_en, c.title_fr, c.state, c.framework_id,
        f.version AS framework_version, c.opens_on, f.frozen_at AS frozen,
        s.fingerprint, s.submitted, s.generation,
        p.id AS p_id, p.code AS p_code, p.title_en AS p_title_en,
        p.title_fr AS p_title_fr, p.state AS p_state, p.framework_id AS p_framework_id,
        p.framework_version AS p_framework_version, p.opens_on AS p_opens_on,
        p.frozen AS p_frozen, ps.fingerprint AS p_fingerprint, ps.submitted AS p_submitted,
        ps.generation AS p_generation
     FROM cycles c JOIN frameworks f ON f.id = c.framework_id
     LEFT JOIN cycle_report_state s ON s.cycle_id = c.id
     LEFT JOIN LATERAL (
         SELECT pc.id, pc.code, pc.title_en, pc.title_fr, pc.state, pc.framework_id,
                pf.version AS framework_version, pc.opens_on,
                pf.frozen_at AS frozen
         FROM cycles pc JOIN frameworks pf ON pf.id = pc.framework_id
         WHERE (pc.opens_on, pc.code) < (c.opens_on, c.code) AND pf.family = f.family
         ORDER BY pc.opens_on DESC, pc.code DESC LIMIT 1
     ) p ON true
     LEFT JOIN cycle_report_state ps ON ps.cycle_id = p.id";

fn heads_of(row: &sqlx::postgres::PgRow) -> Result<Option<CycleHeads>, sqlx::Error> {
    if row.try_get::<Option<Uuid>, _>("id")?.is_none() {
        return Ok(None);
    }
    let inputs = |prefix: &str| -> Result<CycleInputs, sqlx::Error> {
        Ok(CycleInputs {
            fingerprint: row
                .try_get::<Option<String>, _>(format!("{prefix}fingerprint").as_str())?
                .unwrap_or_default(),
            submitted: row
                .try_get::<Option<i32>, _>(format!("{prefix}submitted").as_str())?
                .unwrap_or_default(),
            generation: row
                .try_get::<Option<i64>, _>(format!("{prefix}generation").as_str())?
                .unwrap_or_default(),
        })
    };
    let previous = match row.try_get::<Option<Uuid>, _>("p_id")? {
        None => None,
        Some(previous_id) => Some(CycleRef {
            id: previous_id,
            code: row.try_get("p_code")?,
            title_en: row.try_get("p_title_en")?,
            title_fr: row.try_get("p_title_fr")?,
            state: row.try_get("p_state")?,
            framework_id: row.try_get("p_framework_id")?,
            framework_version: row.try_get("p_framework_version")?,
            opens_on: row.try_get("p_opens_on")?,
        }),
    };
    let mut frozen = Vec::new();
    if let Some(at) = row.try_get::<Option<time::OffsetDateTime>, _>("frozen")? {
        frozen.push((row.try_get("framework_id")?, at));
    }
    if let Some(previous) = &previous
        && let Some(at) = row.try_get::<Option<time::OffsetDateTime>, _>("p_frozen")?
    {
        frozen.push((previous.framework_id, at));
    }
    Ok(Some(CycleHeads {
        frozen,
        cycle: cycle_ref(row)?,
        previous_inputs: previous.as_ref().map(|_| inputs("p_")).transpose()?,
        previous,
        inputs: inputs("")?,
    }))
}

/// An assessment (row-level security hides what the caller may not read) with the
/// [`CycleHeads`] of its cycle, in one statement: what a progress report starts from. The
/// heads are `None` when the cycle is hidden.
pub async fn assessment_heads(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(AssessmentFacts, Option<CycleHeads>)>, sqlx::Error> {
    let Some(row) = sqlx::query(&format!(
        "SELECT a.id AS a_id, a.cycle_id AS a_cycle_id, a.state AS a_state,
                a.latest_snapshot_id IS NOT NULL AS a_has_snapshot,
                pt.id AS pt_id, pt.code AS pt_code, pt.name_en AS pt_name_en,
                pt.name_fr AS pt_name_fr, h.*
         FROM assessments a JOIN participants pt ON pt.id = a.participant_id
         LEFT JOIN LATERAL ({HEADS} WHERE c.id = a.cycle_id) h ON true
         WHERE a.id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let facts = AssessmentFacts {
        id: row.try_get("a_id")?,
        cycle_id: row.try_get("a_cycle_id")?,
        state: row.try_get("a_state")?,
        has_snapshot: row.try_get("a_has_snapshot")?,
        participant: ParticipantRef {
            id: row.try_get("pt_id")?,
            code: row.try_get("pt_code")?,
            name_en: row.try_get("pt_name_en")?,
            name_fr: row.try_get("pt_name_fr")?,
        },
    };
    Ok(Some((facts, heads_of(&row)?)))
}

/// Every cycle, newest first (for the report index and the cycle filter).
pub async fn cycles(conn: &mut PgConnection) -> Result<Vec<CycleRef>, sqlx::Error> {
    sqlx::query(&format!("{CYCLE} ORDER BY c.opens_on DESC, c.code DESC"))
        .fetch_all(conn)
        .await?
        .iter()
        .map(cycle_ref)
        .collect()
}

/// The structures of these framework versions (three statements).
pub async fn shapes(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, FrameworkShape>, sqlx::Error> {
    let heads = sqlx::query("SELECT id, version, roll_up FROM frameworks WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?;
    let sections = sqlx::query(
        "SELECT id, framework_id, code, title_en, title_fr FROM framework_sections
         WHERE framework_id = ANY($1) ORDER BY framework_id, position",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let goals = sqlx::query(
        "SELECT g.id, g.framework_id, g.section_id, g.code, g.title_en, g.title_fr, g.weight, g.numeric_decimals
         FROM goals g JOIN framework_sections s ON s.id = g.section_id
         WHERE g.framework_id = ANY($1) ORDER BY g.framework_id, s.position, g.position",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;

    let mut section_refs: HashMap<Uuid, Vec<SectionRef>> = HashMap::new();
    let mut section_index: HashMap<Uuid, usize> = HashMap::new();
    for row in &sections {
        let framework: Uuid = row.try_get("framework_id")?;
        let list = section_refs.entry(framework).or_default();
        section_index.insert(row.try_get("id")?, list.len());
        list.push(SectionRef {
            id: row.try_get("id")?,
            code: row.try_get("code")?,
            title_en: row.try_get("title_en")?,
            title_fr: row.try_get("title_fr")?,
            max_score: Decimal::ZERO,
        });
    }
    let mut goal_refs: HashMap<Uuid, Vec<GoalRef>> = HashMap::new();
    for row in &goals {
        let framework: Uuid = row.try_get("framework_id")?;
        let section: Uuid = row.try_get("section_id")?;
        goal_refs.entry(framework).or_default().push(GoalRef {
            id: row.try_get("id")?,
            framework_id: framework,
            section: section_index.get(&section).copied().unwrap_or_default(),
            code: row.try_get("code")?,
            title_en: row.try_get("title_en")?,
            title_fr: row.try_get("title_fr")?,
            weight: row.try_get("weight")?,
            value_decimals: row
                .try_get::<Option<i16>, _>("numeric_decimals")?
                .and_then(|d| u32::try_from(d).ok()),
        });
    }
    heads
        .iter()
        .map(|row| {
            let id: Uuid = row.try_get("id")?;
            let roll_up = RollUp::from_db(&row.try_get::<String, _>("roll_up")?)
                .unwrap_or(RollUp::WeightedMean);
            Ok((
                id,
                FrameworkShape::new(
                    id,
                    row.try_get("version")?,
                    roll_up,
                    section_refs.remove(&id).unwrap_or_default(),
                    goal_refs.remove(&id).unwrap_or_default(),
                ),
            ))
        })
        .collect()
}

/// Every goal-to-goal mapping between versions.
pub async fn mappings(conn: &mut PgConnection) -> Result<Vec<MappingLink>, sqlx::Error> {
    sqlx::query(
        "SELECT m.from_framework_id, m.to_framework_id, g.from_goal_id, g.to_goal_id, g.relation
         FROM goal_mappings g JOIN framework_mappings m ON m.id = g.mapping_id",
    )
    .fetch_all(conn)
    .await?
    .iter()
    .map(|row| {
        Ok(MappingLink {
            from_framework: row.try_get("from_framework_id")?,
            to_framework: row.try_get("to_framework_id")?,
            from_goal: row.try_get("from_goal_id")?,
            to_goal: row.try_get("to_goal_id")?,
            relation: Relation::from_db(&row.try_get::<String, _>("relation")?),
        })
    })
    .collect()
}

/// How many participants have an assessment in the cycle (that the caller may see).
pub async fn assessment_count(conn: &mut PgConnection, cycle: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM assessments WHERE cycle_id = $1")
        .bind(cycle)
        .fetch_one(conn)
        .await
}

fn snapshot_ref(row: &sqlx::postgres::PgRow) -> Result<SnapshotRef, sqlx::Error> {
    Ok(SnapshotRef {
        id: row.try_get("snapshot_id")?,
        revision: row.try_get("revision")?,
        digest: hex::encode(row.try_get::<Vec<u8>, _>("digest")?),
        submitted_at: row.try_get("submitted_at")?,
    })
}

/// The columns that carry a snapshot's section figures (migration 0011).
const SECTION_ARRAYS: &str =
    "s.section_ids, s.section_scores, s.section_answered, s.section_applicable";

/// A snapshot's section figures as stored on its row (migration 0011): aligned arrays.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SectionArrays {
    ids: Vec<Uuid>,
    scores: Vec<Option<Decimal>>,
    answered: Vec<i32>,
    applicable: Vec<i32>,
}

impl SectionArrays {
    fn from_row(row: &sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            ids: row.try_get("section_ids")?,
            scores: row.try_get("section_scores")?,
            answered: row.try_get("section_answered")?,
            applicable: row.try_get("section_applicable")?,
        })
    }

    /// The section scores in the shape's order, when the arrays hold every section of the
    /// shape (`None` otherwise: the caller re-scores from the answers).
    pub fn scores_of(&self, shape: &FrameworkShape) -> Option<Vec<Option<Decimal>>> {
        shape
            .sections
            .iter()
            .map(|section| {
                let index = self.ids.iter().position(|id| *id == section.id)?;
                Some(self.scores.get(index).copied().flatten())
            })
            .collect()
    }

    /// The figures in the shape's order (sections the shape does not know are skipped;
    /// sections the snapshot lacks are empty).
    pub fn figures(&self, shape: &FrameworkShape) -> Vec<Figure> {
        let mut figures = vec![stored_figure(None, 0, 0); shape.sections.len()];
        for (index, id) in self.ids.iter().enumerate() {
            if let Some(position) = shape.sections.iter().position(|s| s.id == *id) {
                figures[position] = stored_figure(
                    self.scores.get(index).copied().flatten(),
                    self.answered.get(index).copied().unwrap_or(0),
                    self.applicable.get(index).copied().unwrap_or(0),
                );
            }
        }
        figures
    }
}

/// The latest submission of every participant in the cycle, with its section figures in the
/// shape's order (one statement, one row per participant): the narrow precomputed rows of
/// `cycle_figures` through `cycle_comparison_figures` (migration 0018), which checks the caller
/// once (analysts, admins, commands; nothing for anyone else) instead of a policy per row.
pub async fn submissions(
    conn: &mut PgConnection,
    cycle: Uuid,
    shape: &FrameworkShape,
) -> Result<Vec<Submitted>, sqlx::Error> {
    // Columns by position (a name is a hash lookup per column and row), numerics through
    // `Numeric` (no arithmetic per digit), every row's arrays straight into the shape's order.
    let positions = SectionPositions::of(shape);
    let rows = sqlx::query(
        "SELECT participant_id, code, name_en, name_fr, assessment_id, assessment_state AS state,
                snapshot_id, revision, digest, submitted_at, overall_score, answered, applicable,
                section_ids, section_scores, section_answered, section_applicable
         FROM cycle_comparison_figures($1)",
    )
    .bind(cycle)
    .fetch_all(&mut *conn)
    .await?;
    let mut submitted = Vec::with_capacity(rows.len());
    let mut figures = StoredFigures::default();
    for row in &rows {
        let Array(ids): Array<Uuid> = row.try_get(13)?;
        let Array(scores): Array<Option<Numeric>> = row.try_get(14)?;
        let Array(answered): Array<i32> = row.try_get(15)?;
        let Array(applicable): Array<i32> = row.try_get(16)?;
        let mut sections = vec![stored_figure(None, 0, 0); shape.sections.len()];
        for (index, id) in ids.iter().enumerate() {
            if let Some(position) = positions.get(id) {
                sections[position] = figures.figure(
                    scores.get(index).copied().flatten().map(|n| n.0),
                    answered.get(index).copied().unwrap_or(0),
                    applicable.get(index).copied().unwrap_or(0),
                );
            }
        }
        submitted.push(Submitted {
            participant_id: row.try_get(0)?,
            code: row.try_get(1)?,
            name_en: row.try_get(2)?,
            name_fr: row.try_get(3)?,
            assessment_id: row.try_get(4)?,
            assessment_state: row.try_get(5)?,
            snapshot: SnapshotRef {
                id: row.try_get(6)?,
                revision: row.try_get(7)?,
                digest: hex::encode(row.try_get::<&[u8], _>(8)?),
                submitted_at: row.try_get(9)?,
            },
            overall: figures.figure(
                row.try_get::<Option<Numeric>, _>(10)?.map(|n| n.0),
                row.try_get(11)?,
                row.try_get(12)?,
            ),
            sections,
        });
    }
    Ok(submitted)
}

/// Where each section of a shape is, by id (a handful: a scan beats hashing).
struct SectionPositions<'a>(&'a [crate::domain::report::SectionRef]);

impl<'a> SectionPositions<'a> {
    fn of(shape: &'a FrameworkShape) -> Self {
        Self(&shape.sections)
    }

    fn get(&self, id: &Uuid) -> Option<usize> {
        self.0.iter().position(|s| s.id == *id)
    }
}

/// The previous cycle as the few numbers a comparison needs: each participant's overall score
/// and section scores in the shape's order (`cycle_previous_scores`, migration 0018).
pub async fn previous_scores(
    conn: &mut PgConnection,
    cycle: Uuid,
    shape: &FrameworkShape,
) -> Result<ByParticipant<PreviousFigures>, sqlx::Error> {
    let positions = SectionPositions::of(shape);
    let rows = sqlx::query(
        "SELECT participant_id, overall_score, section_ids, section_scores
         FROM cycle_previous_scores($1)",
    )
    .bind(cycle)
    .fetch_all(&mut *conn)
    .await?;
    let mut previous = ByParticipant::with_capacity_and_hasher(rows.len(), Default::default());
    for row in &rows {
        let Array(ids): Array<Uuid> = row.try_get(2)?;
        let Array(scores): Array<Option<Numeric>> = row.try_get(3)?;
        let mut sections = vec![None; shape.sections.len()];
        for (id, score) in ids.iter().zip(scores) {
            if let Some(index) = positions.get(id) {
                sections[index] = score.map(|n| n.0);
            }
        }
        previous.insert(
            row.try_get(0)?,
            PreviousFigures {
                overall: row.try_get::<Option<Numeric>, _>(1)?.map(|n| n.0),
                sections,
            },
        );
    }
    Ok(previous)
}

/// The recorded answers of the latest submission of every participant in the cycle, by
/// participant (used when the previous cycle ran on another framework version).
pub async fn cycle_answers(
    conn: &mut PgConnection,
    cycle: Uuid,
) -> Result<HashMap<Uuid, Vec<RecordedAnswer>>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT a.participant_id AS owner, {ANSWER_COLUMNS}
         FROM assessments a JOIN snapshot_answers sa ON sa.snapshot_id = a.latest_snapshot_id
         WHERE a.cycle_id = $1"
    ))
    .bind(cycle)
    .fetch_all(conn)
    .await?;
    let mut by_participant: HashMap<Uuid, Vec<RecordedAnswer>> = HashMap::new();
    for row in &rows {
        by_participant
            .entry(row.try_get(0)?)
            .or_default()
            .push(recorded_answer(row)?);
    }
    Ok(by_participant)
}

const ANSWER_COLUMNS: &str = "sa.goal_id, sa.not_applicable, sa.value_level,
    sa.value_number AS value_number, sa.value_bool, sa.goal_score AS goal_score";

/// An answer from a row of `owner, {ANSWER_COLUMNS}` (by position, numerics as [`Numeric`]).
fn recorded_answer(row: &sqlx::postgres::PgRow) -> Result<RecordedAnswer, sqlx::Error> {
    Ok(RecordedAnswer {
        goal_id: row.try_get(1)?,
        not_applicable: row.try_get(2)?,
        value_level: row.try_get(3)?,
        value_number: row.try_get::<Option<Numeric>, _>(4)?.map(|n| n.0),
        value_bool: row.try_get(5)?,
        goal_score: row.try_get::<Option<Numeric>, _>(6)?.map(|n| n.0),
    })
}

/// An assessment as the progress report needs it.
#[derive(Debug, Clone)]
pub struct AssessmentFacts {
    pub id: Uuid,
    pub cycle_id: Uuid,
    pub participant: ParticipantRef,
    pub state: String,
    /// Whether it has been submitted at least once (has a snapshot).
    pub has_snapshot: bool,
}

/// A participant's latest submission in one cycle.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub cycle: CycleRef,
    pub snapshot: SnapshotRef,
    pub overall: Figure,
    pub sections: SectionArrays,
}

/// The participant's latest submission in every cycle of the same framework family that
/// opened no later than `up_to`.
pub async fn history(
    conn: &mut PgConnection,
    participant: Uuid,
    up_to: &CycleRef,
) -> Result<Vec<HistoryRow>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT c.id, c.code, c.title_en, c.title_fr, c.state, c.framework_id,
                f.version AS framework_version, c.opens_on,
                s.id AS snapshot_id, s.revision, s.digest, s.submitted_at,
                s.overall_score AS overall_score, s.answered, s.applicable,
                {SECTION_ARRAYS}
         FROM assessments a
         JOIN snapshots s ON s.id = a.latest_snapshot_id
         JOIN cycles c ON c.id = a.cycle_id
         JOIN frameworks f ON f.id = c.framework_id
         WHERE a.participant_id = $1 AND (c.opens_on, c.code) <= ($2, $3)
           AND f.family = (SELECT family FROM frameworks WHERE id = $4)
         ORDER BY c.opens_on, c.code",
    ))
    .bind(participant)
    .bind(up_to.opens_on)
    .bind(&up_to.code)
    .bind(up_to.framework_id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|row| {
        Ok(HistoryRow {
            cycle: cycle_ref(row)?,
            snapshot: snapshot_ref(row)?,
            overall: stored_figure(
                row.try_get("overall_score")?,
                row.try_get("answered")?,
                row.try_get("applicable")?,
            ),
            sections: SectionArrays::from_row(row)?,
        })
    })
    .collect()
}

/// The recorded answers of these snapshots, by snapshot.
pub async fn snapshot_answers(
    conn: &mut PgConnection,
    snapshots: &[Uuid],
) -> Result<HashMap<Uuid, Vec<RecordedAnswer>>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT sa.snapshot_id AS owner, {ANSWER_COLUMNS} FROM snapshot_answers sa
         WHERE sa.snapshot_id = ANY($1)"
    ))
    .bind(snapshots)
    .fetch_all(conn)
    .await?;
    let mut by_snapshot: HashMap<Uuid, Vec<RecordedAnswer>> = HashMap::new();
    for row in &rows {
        by_snapshot
            .entry(row.try_get(0)?)
            .or_default()
            .push(recorded_answer(row)?);
    }
    Ok(by_snapshot)
}

/// The anonymous distribution's inputs, as the database releases them.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleasedScores {
    /// Participants that submitted in the cycle.
    pub participants: usize,
    /// Per figure (`None` = overall), the sorted complete scores; empty when fewer than five.
    pub scores: HashMap<Option<Uuid>, Vec<Decimal>>,
}

/// The anonymous distribution's inputs; nothing when fewer than five participants submitted
/// (migration 0010).
pub async fn alliance_scores(
    conn: &mut PgConnection,
    cycle: Uuid,
) -> Result<Option<ReleasedScores>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT section_id, participants, scores FROM cycle_score_distribution($1)")
            .bind(cycle)
            .fetch_all(conn)
            .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let participants = usize::try_from(first.try_get::<i32, _>("participants")?).unwrap_or(0);
    let scores = rows
        .iter()
        .map(|row| Ok((row.try_get("section_id")?, row.try_get("scores")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(Some(ReleasedScores {
        participants,
        scores,
    }))
}

/// A participant's assessments, by cycle: (assessment, state, submitted at least once).
pub async fn participant_assessments(
    conn: &mut PgConnection,
    participant: Uuid,
) -> Result<HashMap<Uuid, (Uuid, String, bool)>, sqlx::Error> {
    sqlx::query(
        "SELECT cycle_id, id, state, latest_snapshot_id IS NOT NULL AS has_snapshot
         FROM assessments WHERE participant_id = $1",
    )
    .bind(participant)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|row| {
        Ok((
            row.try_get("cycle_id")?,
            (
                row.try_get("id")?,
                row.try_get("state")?,
                row.try_get("has_snapshot")?,
            ),
        ))
    })
    .collect()
}

/// The weight of every goal of every version in the framework family of `framework`: carrying
/// scores along a chain of mappings needs the versions in between too.
pub async fn family_weights(
    conn: &mut PgConnection,
    framework: Uuid,
) -> Result<HashMap<Uuid, Decimal>, sqlx::Error> {
    sqlx::query(
        "SELECT g.id, g.weight AS weight FROM goals g JOIN frameworks f ON f.id = g.framework_id
         WHERE f.family = (SELECT family FROM frameworks WHERE id = $1)",
    )
    .bind(framework)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|row| Ok((row.try_get("id")?, row.try_get("weight")?)))
    .collect()
}

/// A `numeric` read exactly as sqlx reads it into a [`Decimal`] (same value, same scale:
/// `dscale`), without sqlx's arithmetic per base-10000 digit (a power and a product each, the
/// largest share of decoding a comparison): the digits are gathered into one integer and
/// scaled once. Anything that does not fit that way (NaN, more than 28 decimals, more than 96
/// bits, text format) goes through sqlx's own decoding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Numeric(pub Decimal);

impl sqlx::Type<sqlx::Postgres> for Numeric {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <Decimal as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl sqlx::postgres::PgHasArrayType for Numeric {
    fn array_type_info() -> sqlx::postgres::PgTypeInfo {
        <Decimal as sqlx::postgres::PgHasArrayType>::array_type_info()
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Numeric {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        if value.format() == sqlx::postgres::PgValueFormat::Binary
            && let Some(decimal) = numeric_from_binary(value.as_bytes()?)
        {
            return Ok(Self(decimal));
        }
        <Decimal as sqlx::Decode<sqlx::Postgres>>::decode(value).map(Self)
    }
}

/// A one-dimensional array read from PostgreSQL's binary form straight into a `Vec`: the
/// header, then each element's length and bytes, decoded by [`BinaryElement`]. sqlx's own
/// decoding of a `Vec<T>` builds a value reference and checks the type of every element; the
/// comparison reads four arrays on each of 2,000 rows, and that was most of the time spent
/// decoding it. Anything else (text format, several dimensions, an element that does not
/// decode this way) goes through sqlx's own decoding, so the result is always sqlx's.
#[derive(Debug, Clone, PartialEq)]
pub struct Array<T>(pub Vec<T>);

/// An array element read from its binary bytes (`None`: SQL NULL).
pub trait BinaryElement: Sized {
    fn from_binary(bytes: Option<&[u8]>) -> Option<Self>;
}

impl BinaryElement for Uuid {
    fn from_binary(bytes: Option<&[u8]>) -> Option<Self> {
        Uuid::from_slice(bytes?).ok()
    }
}

impl BinaryElement for i32 {
    fn from_binary(bytes: Option<&[u8]>) -> Option<Self> {
        Some(i32::from_be_bytes(bytes?.try_into().ok()?))
    }
}

impl BinaryElement for Option<Numeric> {
    fn from_binary(bytes: Option<&[u8]>) -> Option<Self> {
        match bytes {
            None => Some(None),
            Some(bytes) => numeric_from_binary(bytes).map(|d| Some(Numeric(d))),
        }
    }
}

impl<T> sqlx::Type<sqlx::Postgres> for Array<T>
where
    Vec<T>: sqlx::Type<sqlx::Postgres>,
{
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <Vec<T> as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <Vec<T> as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl<'r, T> sqlx::Decode<'r, sqlx::Postgres> for Array<T>
where
    T: BinaryElement,
    Vec<T>: sqlx::Decode<'r, sqlx::Postgres>,
{
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        if value.format() == sqlx::postgres::PgValueFormat::Binary
            && let Some(elements) = array_from_binary(value.as_bytes()?)
        {
            return Ok(Self(elements));
        }
        <Vec<T> as sqlx::Decode<sqlx::Postgres>>::decode(value).map(Self)
    }
}

/// PostgreSQL's binary array (dimensions, a has-nulls flag, the element type, each
/// dimension's length and lower bound, then each element as its length, -1 for NULL, and its
/// bytes); `None` for more than one dimension, a lower bound other than 1 or an element that
/// does not decode.
fn array_from_binary<T: BinaryElement>(bytes: &[u8]) -> Option<Vec<T>> {
    let int = |at: usize| -> Option<i32> {
        Some(i32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    match int(0)? {
        0 => return Some(Vec::new()),
        1 => {}
        _ => return None,
    }
    // sqlx refuses arrays that do not start at 1: so does this, by leaving them to it.
    if int(16)? != 1 {
        return None;
    }
    let length = usize::try_from(int(12)?).ok()?;
    let mut at = 20;
    let mut elements = Vec::with_capacity(length);
    for _ in 0..length {
        let size = int(at)?;
        at += 4;
        let element = match usize::try_from(size) {
            Ok(size) => {
                let element = bytes.get(at..at + size)?;
                at += size;
                Some(element)
            }
            Err(_) => None,
        };
        elements.push(T::from_binary(element)?);
    }
    (at == bytes.len()).then_some(elements)
}

/// PostgreSQL's binary `numeric` (ndigits, weight, sign, dscale, then base-10000 digits, most
/// significant first) as a `Decimal` with scale `dscale`; `None` when it does not fit.
fn numeric_from_binary(bytes: &[u8]) -> Option<Decimal> {
    let word = |at: usize| -> Option<i16> {
        Some(i16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
    };
    let digits = usize::try_from(word(0)?).ok()?;
    let weight = i32::from(word(2)?);
    let sign = u16::from_be_bytes([*bytes.get(4)?, *bytes.get(5)?]);
    let scale = u32::try_from(word(6)?).ok()?;
    if bytes.len() != 8 + 2 * digits || scale > 28 || !matches!(sign, 0x0000 | 0x4000) {
        return None;
    }
    if digits == 0 {
        // sqlx gives zero at scale 0 whatever the stored scale; so does this.
        return Some(Decimal::ZERO);
    }
    let mut mantissa: i128 = 0;
    for index in 0..digits {
        let digit = i128::from(word(8 + 2 * index)?);
        mantissa = mantissa.checked_mul(10_000)?.checked_add(digit)?;
    }
    // The last digit is worth 10000^(weight − digits + 1); the result has `scale` decimals.
    let last = weight - i32::try_from(digits).ok()? + 1;
    let shift = 4 * last + i32::try_from(scale).ok()?;
    if shift >= 0 {
        mantissa = mantissa.checked_mul(10i128.checked_pow(u32::try_from(shift).ok()?)?)?;
    } else {
        let divisor = 10i128.checked_pow(u32::try_from(-shift).ok()?)?;
        if mantissa % divisor != 0 {
            return None;
        }
        mantissa /= divisor;
    }
    if sign == 0x4000 {
        mantissa = -mantissa;
    }
    Decimal::try_from_i128_with_scale(mantissa, scale).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` encoded as PostgreSQL sends a `numeric` with `dscale` decimals.
    fn binary(text: &str, dscale: u16) -> Vec<u8> {
        let negative = text.starts_with('-');
        let text = text.trim_start_matches('-');
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        // Pad to whole groups of four on both sides of the point.
        let whole = format!("{}{whole}", "0".repeat((4 - whole.len() % 4) % 4));
        let fraction = format!("{fraction}{}", "0".repeat((4 - fraction.len() % 4) % 4));
        let mut groups: Vec<i16> = whole
            .as_bytes()
            .chunks(4)
            .chain(fraction.as_bytes().chunks(4))
            .map(|g| std::str::from_utf8(g).unwrap().parse().unwrap())
            .collect();
        let mut weight = i16::try_from(whole.len() / 4).unwrap() - 1;
        while groups.first() == Some(&0) {
            groups.remove(0);
            weight -= 1;
        }
        while groups.last() == Some(&0) {
            groups.pop();
        }
        let mut out = Vec::new();
        out.extend(i16::try_from(groups.len()).unwrap().to_be_bytes());
        out.extend(if groups.is_empty() { 0 } else { weight }.to_be_bytes());
        out.extend(if negative { 0x4000u16 } else { 0 }.to_be_bytes());
        out.extend(dscale.to_be_bytes());
        for group in groups {
            out.extend(group.to_be_bytes());
        }
        out
    }

    #[test]
    fn numerics_read_with_their_stored_scale_as_sqlx_reads_them() {
        for (text, dscale, expected) in [
            ("0.890", 3, "0.890"),
            ("0.5", 1, "0.5"),
            ("30.01", 2, "30.01"),
            ("100", 0, "100"),
            ("12345678.000000000001", 12, "12345678.000000000001"),
            ("0.000000000001", 12, "0.000000000001"),
            ("-0.050", 3, "-0.050"),
            ("10000", 2, "10000.00"),
            ("0.000", 3, "0"),
            ("0.333333333333", 12, "0.333333333333"),
        ] {
            let bytes = binary(text, dscale);
            let read = numeric_from_binary(&bytes).unwrap();
            assert_eq!(read.to_string(), expected, "{text}");
            let parsed: Decimal = expected.parse().unwrap();
            assert_eq!(
                (read.mantissa(), read.scale()),
                (parsed.mantissa(), parsed.scale()),
                "{text}"
            );
        }
        // NaN is left to sqlx (which refuses it).
        assert_eq!(numeric_from_binary(&[0, 0, 0, 0, 0xC0, 0, 0, 0]), None);
    }
}
