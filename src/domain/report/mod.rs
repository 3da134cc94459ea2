//! Reports assembled from submitted snapshots: the comparison of a cycle (analysts) and the
//! progress report of one participant. Pure functions over loaded rows; every figure comes
//! from [`crate::domain::scoring`], so pages, JSON and exports agree.

pub mod comparison;
pub mod export;
pub mod progress;

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

use super::framework::RollUp;
use super::scoring::translation::{GoalResult, Translator};
use super::scoring::{
    Decimal, FrameworkScores, RolledUp, ScoredGoal, maximum_score, number, score_framework, shown,
    shown_score,
};

/// A cycle as reports name it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
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
    use serde::Serializer;

    pub fn serialize<S: Serializer>(date: &time::Date, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(date)
    }
}

/// A section of the framework being reported on.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SectionRef {
    pub id: Uuid,
    pub code: String,
    pub title_en: String,
    pub title_fr: String,
    /// The highest score the section can reach (1 under a weighted mean, its points under a sum).
    #[serde(with = "number")]
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
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Figure {
    /// `null` when no applicable goal is answered (or a weighted mean's weights are all 0).
    #[serde(with = "number::option")]
    pub score: Option<Decimal>,
    pub answered: u32,
    pub applicable: u32,
    /// answered ÷ applicable; `null` when nothing is applicable.
    #[serde(with = "number::option")]
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

/// Which snapshot a figure was read from.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SnapshotRef {
    pub id: Uuid,
    pub revision: i32,
    /// SHA-256 of the snapshot document, hexadecimal.
    pub digest: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub submitted_at: time::OffsetDateTime,
}
