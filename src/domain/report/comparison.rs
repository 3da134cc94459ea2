//! The analysts' comparison of one cycle: every submitted participant's overall and section
//! figures (the heat map), dense ranks, the distribution of each figure, and the movers since
//! the previous cycle.
//!
//! Ranks and distributions compare complete figures only (every applicable goal answered): an
//! incomplete figure is shown, marked incomplete, and left out, because under a sum it is
//! lower only for want of answers.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ByParticipant, CycleRef, Figure, FrameworkShape, SectionRef, SnapshotRef};
use crate::domain::scoring::distribution::{Distribution, distribution};
use crate::domain::scoring::{Decimal, change, dense_ranks, number, shown_decimals, shown_score};

/// How many movers a comparison lists.
pub const MOVERS: usize = 10;

/// One participant's latest submission in the cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub participant_id: Uuid,
    pub code: String,
    pub name_en: String,
    pub name_fr: String,
    pub assessment_id: Uuid,
    pub assessment_state: String,
    pub snapshot: SnapshotRef,
    pub overall: Figure,
    /// In the framework's section order.
    pub sections: Vec<Figure>,
}

/// A participant's figures in the previous cycle, on this cycle's structure.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousFigures {
    pub overall: Option<Decimal>,
    pub sections: Vec<Option<Decimal>>,
}

/// What a comparison is built from.
pub struct ComparisonInput<'a> {
    pub cycle: CycleRef,
    pub previous_cycle: Option<CycleRef>,
    pub shape: &'a FrameworkShape,
    /// Participants with an assessment in the cycle (submitted or not).
    pub assessments: usize,
    pub submitted: Vec<Submitted>,
    /// By participant; empty without a previous cycle.
    pub previous: ByParticipant<PreviousFigures>,
    /// Rank and compare on one section instead of the overall figure.
    pub focus: Option<usize>,
}

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComparisonRow {
    pub participant_id: Uuid,
    pub participant_code: String,
    pub participant_name_en: String,
    pub participant_name_fr: String,
    pub assessment_id: Uuid,
    pub assessment_state: String,
    pub snapshot: SnapshotRef,
    pub overall: Figure,
    /// In the order of `sections` of the report.
    pub sections: Vec<Figure>,
    /// Dense rank of the compared figure among complete ones; `null` when incomplete.
    pub rank: Option<u32>,
    /// The compared figure (overall, or the focused section); not serialised, since it repeats
    /// `overall` or one of `sections` (the report's `focus` says which).
    #[serde(skip)]
    pub compared: Figure,
    /// The compared figure in the previous cycle, on this cycle's structure (re-scored when
    /// the report's `previous_rescored` says so).
    #[serde(with = "number::exact::option")]
    pub previous: Option<Decimal>,
    /// `compared.score` − `previous`, from the exact figures, rounded once.
    #[serde(with = "number::exact::option")]
    pub change: Option<Decimal>,
}

/// The spread of one figure over complete submissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FigureDistribution {
    /// `null` for the overall figure.
    pub section_id: Option<Uuid>,
    pub label: String,
    #[serde(with = "number::exact")]
    pub max_score: Decimal,
    /// `null` when no complete figure exists.
    pub distribution: Option<Distribution>,
}

/// A participant whose compared figure moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mover {
    pub participant_id: Uuid,
    pub participant_code: String,
    pub assessment_id: Uuid,
    #[serde(with = "number::exact")]
    pub previous: Decimal,
    #[serde(with = "number::exact")]
    pub current: Decimal,
    #[serde(with = "number::exact")]
    pub change: Decimal,
}

/// The comparison of one cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CycleComparison {
    pub cycle: CycleRef,
    pub previous_cycle: Option<CycleRef>,
    /// The previous cycle used another framework version: its figures (`previous`, `change`,
    /// movers) are re-scored on this cycle's version through the mapping, and differ from
    /// what that cycle's own report shows.
    pub previous_rescored: bool,
    pub roll_up: String,
    #[serde(with = "number::exact")]
    pub overall_max_score: Decimal,
    pub sections: Vec<SectionRef>,
    /// The section ranks and changes are about; `null` for the overall figure.
    pub focus: Option<SectionRef>,
    pub assessments: usize,
    pub submitted: usize,
    /// Ranked rows first (by rank, then code), then incomplete ones by code.
    pub rows: Vec<ComparisonRow>,
    /// Overall first, then each section.
    pub distributions: Vec<FigureDistribution>,
    /// Up to ten participants whose compared figure changed most since the previous cycle.
    pub movers: Vec<Mover>,
}

impl CycleComparison {
    /// Reads back a comparison written as JSON (the report cache), exactly: the compared
    /// figures, which are not written, are taken again from `focus`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let mut report: Self = serde_json::from_slice(bytes)?;
        let focus = report
            .focus
            .as_ref()
            .and_then(|f| report.sections.iter().position(|s| s.id == f.id));
        for row in &mut report.rows {
            row.compared = match focus {
                Some(index) => row.sections.get(index).copied().unwrap_or(row.overall),
                None => row.overall,
            };
        }
        Ok(report)
    }
}

/// Builds the comparison: one pass over the submissions for the figures each row needs (the
/// previous figure looked up once), the rows moved out of the input rather than copied, ranks
/// from one sort, and the movers chosen among the rows before any of them is copied.
pub fn build(input: ComparisonInput<'_>) -> CycleComparison {
    let shape = input.shape;
    let focus = input.focus;
    let compared = |s: &Submitted| match focus {
        Some(index) => s.sections.get(index).copied().unwrap_or(s.overall),
        None => s.overall,
    };
    let max_of = |focus: Option<usize>| match focus {
        Some(index) => shape
            .sections
            .get(index)
            .map_or_else(|| shape.max_score(), |s| s.max_score),
        None => shape.max_score(),
    };
    let overall_max = shape.max_score();
    let compared_max = max_of(focus);
    let compared_decimals = shown_decimals(compared_max);
    let submitted = input.submitted;
    let ranked_scores: Vec<Option<Decimal>> = submitted
        .iter()
        .map(|s| {
            let figure = compared(s);
            figure.score.filter(|_| figure.complete)
        })
        .collect();
    let ranks = dense_ranks(&ranked_scores);

    // The complete figures of every participant, per figure (overall, then each section), in
    // the submissions' order (the distributions sort them).
    let mut complete: Vec<Vec<Decimal>> = (0..=shape.sections.len())
        .map(|_| Vec::with_capacity(submitted.len()))
        .collect();
    for s in &submitted {
        if s.overall.complete
            && let Some(score) = s.overall.score
        {
            complete[0].push(score);
        }
        for (index, list) in complete.iter_mut().enumerate().skip(1) {
            let figure = s.sections.get(index - 1).copied().unwrap_or(s.overall);
            if figure.complete
                && let Some(score) = figure.score
            {
                list.push(score);
            }
        }
    }

    let submitted_count = submitted.len();
    // Each row with the exact change of its compared figure (movers are ordered by it).
    let mut rows: Vec<(ComparisonRow, Option<Decimal>)> = submitted
        .into_iter()
        .zip(ranks)
        .map(|(s, rank)| {
            let figure = compared(&s);
            let previous = input
                .previous
                .get(&s.participant_id)
                .and_then(|p| match focus {
                    Some(index) => p.sections.get(index).copied().flatten(),
                    None => p.overall,
                });
            let exact_change = change(figure.score, previous);
            let sections = s
                .sections
                .iter()
                .zip(&shape.sections)
                .map(|(f, section)| f.shown(section.max_score))
                .collect();
            let row = ComparisonRow {
                participant_id: s.participant_id,
                participant_code: s.code,
                participant_name_en: s.name_en,
                participant_name_fr: s.name_fr,
                assessment_id: s.assessment_id,
                assessment_state: s.assessment_state,
                snapshot: s.snapshot,
                overall: s.overall.shown(overall_max),
                sections,
                rank,
                compared: figure.shown(compared_max),
                previous: previous.map(|p| shown_score(p, compared_max)),
                change: exact_change.map(|c| crate::domain::scoring::shown(c, compared_decimals)),
            };
            (row, exact_change)
        })
        .collect();
    rows.sort_by(|(a, _), (b, _)| {
        (a.rank.is_none(), a.rank, &a.participant_code).cmp(&(
            b.rank.is_none(),
            b.rank,
            &b.participant_code,
        ))
    });

    let mut distributions = Vec::with_capacity(shape.sections.len() + 1);
    let mut lists = complete.into_iter();
    distributions.push(FigureDistribution {
        section_id: None,
        label: "overall".to_owned(),
        max_score: overall_max,
        distribution: distribution(&lists.next().unwrap_or_default())
            .map(|d| d.shown(shown_decimals(overall_max))),
    });
    for (section, scores) in shape.sections.iter().zip(lists) {
        distributions.push(FigureDistribution {
            section_id: Some(section.id),
            label: section.code.clone(),
            max_score: section.max_score,
            distribution: distribution(&scores).map(|d| d.shown(shown_decimals(section.max_score))),
        });
    }

    // Ordered by the size of the exact change, then code; listed when the change as shown is
    // not 0. Only the few listed are copied.
    let mut candidates: Vec<(Decimal, usize)> = rows
        .iter()
        .enumerate()
        .filter(|(_, (row, _))| {
            row.previous.is_some()
                && row.compared.score.is_some()
                && row.change.is_some_and(|c| !c.is_zero())
        })
        .map(|(index, (_, exact))| (exact.map(|c| c.abs()).unwrap_or_default(), index))
        .collect();
    let order = |a: &(Decimal, usize), b: &(Decimal, usize)| {
        b.0.cmp(&a.0)
            .then_with(|| {
                rows[a.1]
                    .0
                    .participant_code
                    .cmp(&rows[b.1].0.participant_code)
            })
            .then_with(|| a.1.cmp(&b.1))
    };
    if candidates.len() > MOVERS {
        candidates.select_nth_unstable_by(MOVERS - 1, order);
        candidates.truncate(MOVERS);
    }
    candidates.sort_by(order);
    let movers: Vec<Mover> = candidates
        .iter()
        .filter_map(|(_, index)| {
            let row = &rows[*index].0;
            Some(Mover {
                participant_id: row.participant_id,
                participant_code: row.participant_code.clone(),
                assessment_id: row.assessment_id,
                previous: row.previous?,
                current: row.compared.score?,
                change: row.change?,
            })
        })
        .collect();

    let previous_rescored = input
        .previous_cycle
        .as_ref()
        .is_some_and(|p| p.framework_id != input.cycle.framework_id);
    CycleComparison {
        cycle: input.cycle,
        previous_rescored,
        previous_cycle: input.previous_cycle,
        roll_up: shape.roll_up.as_str().to_owned(),
        overall_max_score: overall_max,
        sections: shape.sections.clone(),
        focus: focus.and_then(|i| shape.sections.get(i).cloned()),
        assessments: input.assessments,
        submitted: submitted_count,
        rows: rows.into_iter().map(|(row, _)| row).collect(),
        distributions,
        movers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::framework::RollUp;
    use crate::domain::report::{GoalRef, stored_figure};

    fn shape() -> FrameworkShape {
        let id = Uuid::new_v4();
        let section = |code: &str| SectionRef {
            id: Uuid::new_v4(),
            code: code.into(),
            title_en: code.into(),
            title_fr: code.into(),
            max_score: Decimal::ZERO,
        };
        let goal = |section: usize| GoalRef {
            id: Uuid::new_v4(),
            framework_id: id,
            section,
            code: format!("G{section}"),
            title_en: String::new(),
            title_fr: String::new(),
            weight: Decimal::from(20),
            value_decimals: None,
        };
        FrameworkShape::new(
            id,
            "1".into(),
            RollUp::Sum,
            vec![section("A"), section("B")],
            vec![goal(0), goal(1)],
        )
    }

    fn submitted(code: &str, a: Option<i64>, b: Option<i64>) -> Submitted {
        let (a, b) = (a.map(Decimal::from), b.map(Decimal::from));
        let figure = |s: Option<Decimal>| stored_figure(s, i32::from(s.is_some()), 1);
        let overall = match (a, b) {
            (None, None) => stored_figure(None, 0, 2),
            _ => stored_figure(
                Some(a.unwrap_or_default() + b.unwrap_or_default()),
                i32::from(a.is_some()) + i32::from(b.is_some()),
                2,
            ),
        };
        Submitted {
            participant_id: Uuid::new_v4(),
            code: code.into(),
            name_en: code.into(),
            name_fr: code.into(),
            assessment_id: Uuid::new_v4(),
            assessment_state: "submitted".into(),
            snapshot: SnapshotRef {
                id: Uuid::new_v4(),
                revision: 1,
                digest: String::new(),
                submitted_at: time::OffsetDateTime::UNIX_EPOCH,
            },
            overall,
            sections: vec![figure(a), figure(b)],
        }
    }

    fn cycle() -> CycleRef {
        CycleRef {
            id: Uuid::new_v4(),
            code: "C".into(),
            title_en: "C".into(),
            title_fr: "C".into(),
            state: "open".into(),
            framework_id: Uuid::new_v4(),
            framework_version: "1".into(),
            opens_on: time::macros::date!(2026 - 01 - 01),
        }
    }

    #[test]
    fn complete_figures_are_ranked_densely_and_incomplete_ones_are_marked() {
        let shape = shape();
        let rows = vec![
            submitted("AAA", Some(20), Some(10)),
            submitted("BBB", Some(10), Some(20)),
            submitted("CCC", Some(20), Some(20)),
            submitted("DDD", Some(20), None),
            submitted("EEE", Some(5), Some(5)),
        ];
        let previous = ByParticipant::from_iter([(
            rows[4].participant_id,
            PreviousFigures {
                overall: Some(Decimal::from(2)),
                sections: vec![Some(Decimal::ONE), Some(Decimal::ONE)],
            },
        )]);
        let report = build(ComparisonInput {
            cycle: cycle(),
            previous_cycle: Some(cycle()),
            shape: &shape,
            assessments: 6,
            submitted: rows,
            previous,
            focus: None,
        });
        let ranks: Vec<(&str, Option<u32>)> = report
            .rows
            .iter()
            .map(|r| (r.participant_code.as_str(), r.rank))
            .collect();
        assert_eq!(
            ranks,
            [
                ("CCC", Some(1)),
                ("AAA", Some(2)),
                ("BBB", Some(2)),
                ("EEE", Some(3)),
                ("DDD", None)
            ]
        );
        assert_eq!(report.overall_max_score, Decimal::from(40));
        assert_eq!(report.sections[0].max_score, Decimal::from(20));
        let overall = report.distributions[0].distribution.unwrap();
        assert_eq!(
            (overall.count, overall.min, overall.median, overall.max),
            (4, Decimal::from(10), Decimal::from(30), Decimal::from(40))
        );
        assert_eq!(report.movers.len(), 1);
        assert_eq!(report.movers[0].change.to_string(), "8.00");
        assert_eq!(
            report.rows[0]
                .overall
                .score
                .map(|s| s.to_string())
                .as_deref(),
            Some("40.00")
        );
    }

    #[test]
    fn a_focused_section_ranks_on_that_section() {
        let shape = shape();
        let report = build(ComparisonInput {
            cycle: cycle(),
            previous_cycle: None,
            shape: &shape,
            assessments: 3,
            submitted: vec![
                submitted("AAA", Some(20), Some(10)),
                submitted("BBB", Some(10), Some(20)),
                submitted("DDD", Some(20), None),
            ],
            previous: ByParticipant::default(),
            focus: Some(1),
        });
        let ranks: Vec<(&str, Option<u32>)> = report
            .rows
            .iter()
            .map(|r| (r.participant_code.as_str(), r.rank))
            .collect();
        assert_eq!(ranks, [("BBB", Some(1)), ("AAA", Some(2)), ("DDD", None)]);
        assert_eq!(report.focus.as_ref().map(|s| s.code.as_str()), Some("B"));
        assert!(report.movers.is_empty());
    }

    #[test]
    fn a_comparison_read_back_from_json_is_the_same_to_the_last_digit() {
        let shape = shape();
        for focus in [None, Some(1)] {
            let report = build(ComparisonInput {
                cycle: cycle(),
                previous_cycle: Some(cycle()),
                shape: &shape,
                assessments: 4,
                submitted: vec![
                    submitted("AAA", Some(20), Some(10)),
                    submitted("BBB", Some(10), Some(20)),
                    submitted("DDD", Some(20), None),
                ],
                previous: ByParticipant::default(),
                focus,
            });
            let json = serde_json::to_vec(&report).unwrap();
            let back = CycleComparison::from_json(&json).unwrap();
            assert_eq!(back, report);
            assert_eq!(serde_json::to_vec(&back).unwrap(), json);
            assert!(String::from_utf8(json).unwrap().contains("\"score\":30.00"));
        }
    }
}
