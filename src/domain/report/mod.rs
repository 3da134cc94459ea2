//! Reports assembled from submitted snapshots: the comparison of a cycle (analysts) and the
//! progress report of one participant. Pure functions over loaded rows; every figure comes
//! from [`crate::domain::scoring`], so pages, JSON and exports agree.
//!
//! # Reports
//!
//! Reports read submitted snapshots only: the figures stored at submission and, when a cycle must be
//! re-scored on another framework version, the goal scores of `snapshot_answers`
//! (scoring.md (`docs/scoring.md`)). Each participant's snapshot in a cycle is its assessment's
//! `latest_snapshot_id`. Reading a report writes nothing; exporting one is audited (Exports ([`crate::export`])).
//!
//! | page | API (`…` = `/api/v1`) | who | shows |
//! |---|---|---|---|
//! | `GET /methodology` | — | any signed-in user | how figures are computed (`templates/methodology.html`) |
//! | `GET /reports` (`?framework=` a version id) | — | any signed-in user | every cycle, newest first, or those of one framework version; a link to each comparison for analysts and admins, and to its own progress report in each cycle for a delegation (`templates/reports.html`) |
//! | `GET /cycles/{cycle}/report` (`?section=`, `?page=`) | `GET …/cycles/{cycle}/report` (`?section=`, `?cursor=`, `?limit=`) | analysts and admins (`CompareParticipants`): delegations 403, an unknown cycle 404 | the comparison: heat map of section figures, ranking, distributions, movers (`templates/cycle_report.html`) |
//! | `GET /assessments/{assessment}/report` | `GET …/assessments/{assessment}/report` | `ReadAssessment` with `submitted` = the assessment has a snapshot: analysts 403 before the first submission, another delegation 404 | the progress report (`templates/progress_report.html`) |
//!
//! - **Comparison.** `?section=` takes a section id of the cycle's framework version: ranks, previous
//!   figures, changes and movers are then about that section (an id that is not one gives the overall
//!   figure). The page shows 50 rows a page (`?page=`, `pages::reports::comparison::ROWS_PER_PAGE`); the API
//!   a page at a time (`?cursor=`, `?limit=`: `web::api::pagination`), the JSON export every row.
//!   Both are served from the report cache while the cycle's snapshots stay the same
//!   (`services::report_cache`). Each row and heat-map row links to the participant's progress report.
//! - **Progress report.** The snapshot (revision, date, SHA-256 digest); the overall and section
//!   figures with completion, previous figure, change and the anonymous distribution of the cycle
//!   (from five submissions); the trend over the family's cycles; the answers that moved most; the
//!   participant's national goals with their attainment; open clarification requests (as row-level
//!   security shows them); then every goal's answer and score, by section. Before the first
//!   submission it has no figures (`snapshot` and `overall` are `null`).
//!
//! A report is built in three steps:
//!
//! 1. `services::reports` checks the permission, opens one transaction with the caller's scope and
//!    loads what the report needs through `storage::reports`: a fixed number of statements whatever
//!    the number of participants, goals or cycles (each function is one statement or a fixed few; no
//!    query per row, and the mappings are loaded only when two versions must be joined). A report
//!    starts from one read of its cycle, the previous cycle and their cache keys
//!    (`storage::reports::cycle_heads`, `assessment_heads`); a frozen framework version's
//!    structure is read once per process (`services::reports::shapes_of`). The
//!    comparison page and the index also read the list of cycles or framework versions, in a
//!    transaction of their own. The anonymous distribution comes from the database function
//!    `cycle_score_distribution` (`storage::reports::alliance_scores`;
//!    data-model.md (`docs/data-model.md#0010--report-distribution`)).
//! 2. `domain::report::comparison::build` or `domain::report::progress::build` assembles the report:
//!    pure functions over the loaded rows, every figure from `domain::scoring`. Scores from another
//!    framework version are carried with `domain::scoring::translation::Translator`, built from every
//!    mapping (`storage::reports::mappings`, one statement).
//! 3. The API returns the report as JSON (`web::api::reports`, tag `reports` in the OpenAPI
//!    document); the pages lay the same structure out (`web::pages::reports`), so both show the same
//!    figures. Pages round them for reading with `presentation::format` (scoring.md (`docs/scoring.md#display`)).
//!
//! **Charts** (`src/presentation/charts/`): heat map, bar chart, line chart and box plot, drawn on the server
//! as inline SVG, so pages work and print without JavaScript and load nothing else. Each chart is
//! `role="img"` with a `<title>` and a `<desc>` (`aria-labelledby`), and the page puts a data table with
//! the same figures beside it: the chart is never the only way to read them. The caller passes each
//! value with its label already formatted; the charts escape all text and draw a missing value as a
//! gap or a hatched cell.
//!
//! **Data at scale.** `src/demo/bulk.rs` writes whole cycles of submissions (`write_cycle`,
//! `write_submissions`): assessments and revision-1 snapshots scored by `snapshot::freeze`, 250
//! snapshots per batch of statements, never one statement per participant. The GCI 2020 test uses it,
//! and so does `pledge demo --scale alliance|stress` (`src/demo/scale.rs`), which loads, instead of the
//! demo history, a synthetic framework labelled illustrative and a history in which every participant
//! submits in every cycle: `alliance` is the 32 Allies × 60 goals × 10 cycles, `stress` 2,000
//! participants (the Allies and synthetic partners) × 150 goals × 10 cycles. It loads once (it does
//! nothing when its framework family is present) and creates the demo users if missing.
//!
//! **Benchmark** (`bench/`): `bash bench/run.sh alliance|stress [seconds] [connections]` builds in
//! release mode, loads `pledge demo --scale` into its own private cluster (`bench-data/<scale>`, kept
//! between runs), serves it, runs the load generator (`bench/load.rs`, the cargo example `load`)
//! against the report pages and API, then runs the comparison's statements (`bench/comparison.sql`,
//! kept in step with `services::reports::comparison`) under `pgbench` on the same cluster.

pub mod comparison;
pub mod export;
pub mod progress;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::framework::RollUp;
use super::scoring::translation::{GoalResult, Translator};
use super::scoring::{
    Decimal, FrameworkScores, RolledUp, ScoredGoal, maximum_score, number, score_framework, shown,
    shown_score,
};

/// A map by participant (or any other id the database made): ids are random UUIDs, so their
/// first bytes already hash well, and a report looks one up per row without SipHash's cost.
pub type ByParticipant<V> = HashMap<Uuid, V, UuidHash>;

/// Hashes a [`Uuid`] by folding its bytes (FxHash's multiply-rotate); only for ids the
/// database made, never for text from a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidHash;

impl std::hash::BuildHasher for UuidHash {
    type Hasher = UuidHasher;
    fn build_hasher(&self) -> UuidHasher {
        UuidHasher(0)
    }
}

/// The hasher of [`UuidHash`].
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidHasher(u64);

impl UuidHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for UuidHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        for byte in chunks.remainder() {
            self.add(u64::from(*byte));
        }
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A cycle as reports name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CycleRef {
    pub id: Uuid,
    pub code: String,
    pub title_en: String,
    pub title_fr: String,
    pub state: String,
    pub framework_id: Uuid,
    pub framework_version: String,
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub opens_on: time::Date,
}

mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(date: &time::Date, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(date)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<time::Date, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        time::Date::parse(
            &text,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(serde::de::Error::custom)
    }
}

/// A section of the framework being reported on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SectionRef {
    pub id: Uuid,
    pub code: String,
    pub title_en: String,
    pub title_fr: String,
    /// The highest score the section can reach (1 under a weighted mean, its points under a sum).
    #[serde(with = "number::exact")]
    pub max_score: Decimal,
}

/// A goal of a framework version.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalRef {
    pub id: Uuid,
    pub framework_id: Uuid,
    /// Index into the framework's sections.
    pub section: usize,
    pub code: String,
    pub title_en: String,
    pub title_fr: String,
    pub weight: Decimal,
    /// The decimals a numeric goal's scale declares (its values are written with them).
    pub value_decimals: Option<u32>,
}

/// The structure of one framework version, as scoring needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameworkShape {
    pub id: Uuid,
    pub version: String,
    pub roll_up: RollUp,
    pub sections: Vec<SectionRef>,
    pub goals: Vec<GoalRef>,
}

impl FrameworkShape {
    /// The highest overall score.
    pub fn max_score(&self) -> Decimal {
        maximum_score(self.roll_up, self.goals.iter().map(|g| g.weight))
    }

    /// Builds the shape, computing each section's highest score.
    pub fn new(
        id: Uuid,
        version: String,
        roll_up: RollUp,
        mut sections: Vec<SectionRef>,
        goals: Vec<GoalRef>,
    ) -> Self {
        for (index, section) in sections.iter_mut().enumerate() {
            section.max_score = maximum_score(
                roll_up,
                goals
                    .iter()
                    .filter(|g| g.section == index)
                    .map(|g| g.weight),
            );
        }
        Self {
            id,
            version,
            roll_up,
            sections,
            goals,
        }
    }

    /// Scores goal results (keyed by this version's goal ids; absent goals are missing).
    pub fn score(&self, results: &HashMap<Uuid, GoalResult>) -> FrameworkScores {
        let goals: Vec<(usize, ScoredGoal)> = self
            .goals
            .iter()
            .map(|goal| {
                let result = results
                    .get(&goal.id)
                    .copied()
                    .unwrap_or(GoalResult::Missing);
                (goal.section, ScoredGoal::from_result(goal.weight, result))
            })
            .collect();
        score_framework(self.roll_up, self.sections.len(), &goals)
    }

    /// Scores results recorded on `source` (another version, or this one) on this structure,
    /// through the mappings; `None` when no chain of mappings joins the versions.
    pub fn score_carried(
        &self,
        source: Uuid,
        translator: &Translator,
        weights: &HashMap<Uuid, Decimal>,
        results: &HashMap<Uuid, GoalResult>,
    ) -> Option<FrameworkScores> {
        if source == self.id {
            return Some(self.score(results));
        }
        let carried = translator.carry(source, self.id, weights, results)?;
        Some(self.score(&carried))
    }
}

/// A rolled-up figure as reports show it. Built exact (from the snapshot); reports give it
/// [`Figure::shown`], rounded once by the method's rule, so every page and file prints the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Figure {
    /// `null` when no applicable goal is answered (or a weighted mean's weights are all 0).
    #[serde(with = "number::exact::option")]
    pub score: Option<Decimal>,
    pub answered: u32,
    pub applicable: u32,
    /// answered ÷ applicable; `null` when nothing is applicable.
    #[serde(with = "number::exact::option")]
    pub completion: Option<Decimal>,
    /// Every applicable goal is answered (only complete figures are ranked).
    pub complete: bool,
}

impl Figure {
    /// The figure as shown, on a scale whose highest score is `max`: the score to 3 decimals
    /// (max ≤ 1) or 2, completion to a whole percentage (2 decimals of the share).
    pub fn shown(self, max: Decimal) -> Self {
        Self {
            score: self.score.map(|s| shown_score(s, max)),
            completion: self.completion.map(|c| shown(c, 2)),
            ..self
        }
    }
}

impl From<RolledUp> for Figure {
    fn from(rolled: RolledUp) -> Self {
        Self {
            score: rolled.score,
            answered: rolled.answered,
            applicable: rolled.applicable,
            completion: rolled.completion(),
            complete: rolled.is_complete(),
        }
    }
}

/// A stored figure (score, answered, applicable) as a [`Figure`].
pub fn stored_figure(score: Option<Decimal>, answered: i32, applicable: i32) -> Figure {
    RolledUp {
        score,
        answered: u32::try_from(answered).unwrap_or(0),
        applicable: u32::try_from(applicable).unwrap_or(0),
    }
    .into()
}

/// [`stored_figure`] for many rows: the completion (a division) depends only on the two
/// counts, and a cycle's rows share a few pairs of them, so each pair is divided once.
#[derive(Debug, Default)]
pub struct StoredFigures {
    completions: Vec<((i32, i32), Figure)>,
}

impl StoredFigures {
    /// The same figure as [`stored_figure`] gives.
    pub fn figure(&mut self, score: Option<Decimal>, answered: i32, applicable: i32) -> Figure {
        let counts = (answered, applicable);
        if let Some((_, known)) = self.completions.iter().find(|(c, _)| *c == counts) {
            return Figure { score, ..*known };
        }
        let figure = stored_figure(score, answered, applicable);
        // A handful of pairs in practice; past that, no search longer than this.
        if self.completions.len() < 64 {
            self.completions.push((counts, figure));
        }
        figure
    }
}

/// Which snapshot a figure was read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SnapshotRef {
    pub id: Uuid,
    pub revision: i32,
    /// SHA-256 of the snapshot document, hexadecimal.
    pub digest: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub submitted_at: time::OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_with_shared_counts_are_the_figures_read_one_by_one() {
        let mut figures = StoredFigures::default();
        for (score, answered, applicable) in [
            (Some("0.5"), 2, 3),
            (None, 0, 3),
            (Some("0.75"), 2, 3),
            (Some("1"), 3, 3),
            (None, 0, 0),
            (Some("0.25"), 2, 3),
        ] {
            let score = score.map(|s| s.parse::<Decimal>().unwrap());
            assert_eq!(
                figures.figure(score, answered, applicable),
                stored_figure(score, answered, applicable)
            );
        }
    }

    #[test]
    fn ids_hash_by_their_bytes_and_a_map_of_them_finds_each() {
        let ids: Vec<Uuid> = (0..1000).map(|_| Uuid::new_v4()).collect();
        let map: ByParticipant<usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(map.get(id), Some(&i));
        }
        assert_eq!(map.get(&Uuid::new_v4()), None);
    }
}
