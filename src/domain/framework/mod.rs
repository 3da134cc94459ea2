//! A framework version: ordered sections (the commitments), each with ordered goals (the agreed
//! metrics), each goal with its answer scale; and how scores roll up.
//!
//! A [`Framework`] can only be built by [`Framework::from_json`] (or [`document::parse`]), which
//! checks every rule and reports every problem with its place in the document.

pub mod document;
pub mod edit;

use crate::domain::scoring::Decimal;
use serde::{Deserialize, Serialize};

use super::scoring::ScoreScale;
use super::text::LocalizedText;

/// How goal scores combine into section and overall scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollUp {
    /// Σ weight·score / Σ weight, over applicable answered goals; a score in 0–1.
    WeightedMean,
    /// Σ weight·score over applicable answered goals; a weight is then the goal's points.
    Sum,
}

impl RollUp {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WeightedMean => "weighted_mean",
            Self::Sum => "sum",
        }
    }

    /// Reads the name stored in the database.
    pub fn from_db(text: &str) -> Option<Self> {
        match text {
            "weighted_mean" => Some(Self::WeightedMean),
            "sum" => Some(Self::Sum),
            _ => None,
        }
    }
}

/// One level of a maturity scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaturityLevel {
    pub level: i16,
    pub name: LocalizedText,
    #[serde(default)]
    pub descriptor: LocalizedText,
}

/// The scale a goal is answered on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AnswerScale {
    /// Ordinal levels, contiguous from the lowest (0 or 1) up.
    Maturity { levels: Vec<MaturityLevel> },
    /// A number within `min..=max`, shown with `decimals` decimals and a unit.
    Numeric {
        #[serde(with = "crate::domain::scoring::number")]
        min: Decimal,
        #[serde(with = "crate::domain::scoring::number")]
        max: Decimal,
        #[serde(default)]
        unit: String,
        #[serde(default)]
        decimals: i16,
    },
    /// Yes (1) or no (0). (An empty struct variant, so unknown fields beside the kind are refused.)
    YesNo {},
}

impl AnswerScale {
    /// The name stored in the database.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Maturity { .. } => "maturity",
            Self::Numeric { .. } => "numeric",
            Self::YesNo {} => "yes_no",
        }
    }

    /// The facts of the scale that scoring needs.
    pub fn score_scale(&self) -> ScoreScale {
        match self {
            Self::Maturity { levels } => ScoreScale::Maturity {
                lowest: levels.first().map_or(0, |l| l.level),
                highest: levels.last().map_or(0, |l| l.level),
            },
            Self::Numeric { min, max, .. } => ScoreScale::Numeric {
                min: *min,
                max: *max,
            },
            Self::YesNo {} => ScoreScale::YesNo,
        }
    }
}

/// One goal (an agreed metric).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    pub code: String,
    pub title: LocalizedText,
    #[serde(default)]
    pub guidance: LocalizedText,
    #[serde(default = "default_weight", with = "crate::domain::scoring::number")]
    pub weight: Decimal,
    pub scale: AnswerScale,
}

fn default_weight() -> Decimal {
    Decimal::ONE
}

/// One section (a commitment) with its goals in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub code: String,
    pub title: LocalizedText,
    #[serde(default)]
    pub description: LocalizedText,
    pub goals: Vec<Goal>,
}

/// A validated framework version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Framework {
    pub family: String,
    pub version: String,
    pub title: LocalizedText,
    pub description: LocalizedText,
    pub roll_up: RollUp,
    pub sections: Vec<Section>,
}

impl Framework {
    /// Parses and validates a framework document (format in docs/framework-format.md).
    pub fn from_json(text: &str) -> Result<Self, Vec<document::Problem>> {
        document::parse(text)
    }

    /// Every goal with its section, in order.
    pub fn goals(&self) -> impl Iterator<Item = (&Section, &Goal)> {
        self.sections
            .iter()
            .flat_map(|section| section.goals.iter().map(move |goal| (section, goal)))
    }
}
