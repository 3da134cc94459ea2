//! Carrying goal scores from one framework version to another through the version mappings, so
//! that a trend can run across versions: every earlier cycle is re-scored on the structure of
//! the version being reported on.
//!
//! Per mapped pair of versions, each goal of the newer version takes:
//! - `equivalent` or `split`: the score of its one source goal;
//! - `merged`: the weighted mean (source weights) of its answered source goals; none (missing)
//!   when those weigh 0 together, as a weighted mean of weights 0 has no figure;
//! - `new` (no source): nothing: it counts as missing in the earlier cycle.
//!
//! `retired` goals are dropped. A goal is not applicable when every source is not applicable.
//! Versions several mappings apart are carried step by step along the shortest chain.

use std::collections::{HashMap, HashSet, VecDeque};

use uuid::Uuid;

use rust_decimal::Decimal;

use super::quotient;

/// How a goal relates to the goals of the previous version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Equivalent,
    Split,
    Merged,
    New,
    Retired,
}

impl Relation {
    /// From the database's spelling; unknown ones are treated as `new` (carry nothing).
    pub fn from_db(text: &str) -> Self {
        match text {
            "equivalent" => Self::Equivalent,
            "split" => Self::Split,
            "merged" => Self::Merged,
            "retired" => Self::Retired,
            _ => Self::New,
        }
    }
}

/// One row of a version mapping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MappingLink {
    pub from_framework: Uuid,
    pub to_framework: Uuid,
    pub from_goal: Option<Uuid>,
    pub to_goal: Option<Uuid>,
    pub relation: Relation,
}

/// What one goal's answer contributes, without its weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GoalResult {
    Missing,
    NotApplicable,
    Scored(Decimal),
}

/// Every mapping, indexed for carrying scores.
#[derive(Debug, Default)]
pub struct Translator {
    /// (from version, to version) → its links.
    links: HashMap<(Uuid, Uuid), Vec<MappingLink>>,
    next: HashMap<Uuid, Vec<Uuid>>,
}

impl Translator {
    pub fn new(links: &[MappingLink]) -> Self {
        let mut translator = Self::default();
        for link in links {
            let key = (link.from_framework, link.to_framework);
            let entry = translator.links.entry(key).or_default();
            if entry.is_empty() {
                translator
                    .next
                    .entry(link.from_framework)
                    .or_default()
                    .push(link.to_framework);
            }
            entry.push(*link);
        }
        for targets in translator.next.values_mut() {
            targets.sort();
        }
        translator
    }

    /// The shortest chain of mapped versions from `from` to `to` (both included), if any.
    pub fn chain(&self, from: Uuid, to: Uuid) -> Option<Vec<Uuid>> {
        let mut came_from: HashMap<Uuid, Uuid> = HashMap::new();
        let mut seen = HashSet::from([from]);
        let mut queue = VecDeque::from([from]);
        while let Some(version) = queue.pop_front() {
            if version == to {
                let mut chain = vec![to];
                let mut at = to;
                while let Some(previous) = came_from.get(&at) {
                    chain.push(*previous);
                    at = *previous;
                }
                chain.reverse();
                return Some(chain);
            }
            for next in self.next.get(&version).into_iter().flatten() {
                if seen.insert(*next) {
                    came_from.insert(*next, version);
                    queue.push_back(*next);
                }
            }
        }
        None
    }

    /// The results of version `from` carried to version `to`, keyed by the goals of `to`
    /// (goals without a source are absent: missing). `None` when no chain of mappings joins
    /// the versions. `weights` holds the weight of every goal of the versions on the way.
    pub fn carry(
        &self,
        from: Uuid,
        to: Uuid,
        weights: &HashMap<Uuid, Decimal>,
        results: &HashMap<Uuid, GoalResult>,
    ) -> Option<HashMap<Uuid, GoalResult>> {
        let chain = self.chain(from, to)?;
        let mut carried = results.clone();
        for step in chain.windows(2) {
            let links = self.links.get(&(step[0], step[1]))?;
            carried = carry_one_step(links, weights, &carried);
        }
        Some(carried)
    }
}

fn carry_one_step(
    links: &[MappingLink],
    weights: &HashMap<Uuid, Decimal>,
    results: &HashMap<Uuid, GoalResult>,
) -> HashMap<Uuid, GoalResult> {
    let mut sources: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for link in links {
        if let (Some(from), Some(to), Relation::Equivalent | Relation::Split | Relation::Merged) =
            (link.from_goal, link.to_goal, link.relation)
        {
            sources.entry(to).or_default().push(from);
        }
    }
    sources
        .into_iter()
        .map(|(target, from_goals)| (target, combine(&from_goals, weights, results)))
        .collect()
}

/// One target goal from its source goals.
fn combine(
    sources: &[Uuid],
    weights: &HashMap<Uuid, Decimal>,
    results: &HashMap<Uuid, GoalResult>,
) -> GoalResult {
    let states: Vec<(Decimal, GoalResult)> = sources
        .iter()
        .map(|goal| {
            (
                weights.get(goal).copied().unwrap_or(Decimal::ONE),
                results.get(goal).copied().unwrap_or(GoalResult::Missing),
            )
        })
        .collect();
    if states
        .iter()
        .all(|(_, state)| *state == GoalResult::NotApplicable)
    {
        return GoalResult::NotApplicable;
    }
    let (mut points, mut total_weight, mut answered) = (Decimal::ZERO, Decimal::ZERO, false);
    for (weight, state) in &states {
        if let GoalResult::Scored(score) = state {
            answered = true;
            points = points.saturating_add(weight.saturating_mul(*score));
            total_weight = total_weight.saturating_add(*weight);
        }
    }
    if !answered {
        return GoalResult::Missing;
    }
    // Sources that weigh 0 together give no mean: the goal has no earlier score (documented in
    // docs/scoring.md; before, an unweighted mean was silently taken).
    match quotient(points, total_weight) {
        Some(mean) if total_weight > Decimal::ZERO => GoalResult::Scored(mean),
        _ => GoalResult::Missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(
        from_fw: Uuid,
        to_fw: Uuid,
        from: Option<Uuid>,
        to: Option<Uuid>,
        relation: Relation,
    ) -> MappingLink {
        MappingLink {
            from_framework: from_fw,
            to_framework: to_fw,
            from_goal: from,
            to_goal: to,
            relation,
        }
    }

    #[test]
    fn equivalent_split_merged_new_and_retired_goals_carry_as_documented() {
        let (v1, v2) = (Uuid::new_v4(), Uuid::new_v4());
        let [a, b, c, d, r] = [(); 5].map(|_| Uuid::new_v4());
        let [a2, b2a, b2b, cd2, n2] = [(); 5].map(|_| Uuid::new_v4());
        let links = [
            link(v1, v2, Some(a), Some(a2), Relation::Equivalent),
            link(v1, v2, Some(b), Some(b2a), Relation::Split),
            link(v1, v2, Some(b), Some(b2b), Relation::Split),
            link(v1, v2, Some(c), Some(cd2), Relation::Merged),
            link(v1, v2, Some(d), Some(cd2), Relation::Merged),
            link(v1, v2, None, Some(n2), Relation::New),
            link(v1, v2, Some(r), None, Relation::Retired),
        ];
        let w = |n: i64| Decimal::from(n);
        let weights = HashMap::from([(a, w(1)), (b, w(1)), (c, w(3)), (d, w(1)), (r, w(1))]);
        let results = HashMap::from([
            (a, GoalResult::Scored(Decimal::new(4, 1))),
            (b, GoalResult::Scored(Decimal::ONE)),
            (c, GoalResult::Scored(Decimal::ONE)),
            (d, GoalResult::Scored(Decimal::ZERO)),
            (r, GoalResult::Scored(Decimal::new(2, 1))),
        ]);
        let carried = Translator::new(&links)
            .carry(v1, v2, &weights, &results)
            .unwrap();
        assert_eq!(carried[&a2], GoalResult::Scored(Decimal::new(4, 1)));
        assert_eq!(carried[&b2a], GoalResult::Scored(Decimal::ONE));
        assert_eq!(carried[&b2b], GoalResult::Scored(Decimal::ONE));
        assert_eq!(
            carried[&cd2],
            GoalResult::Scored(Decimal::new(75, 2)),
            "weighted 3:1"
        );
        assert!(
            !carried.contains_key(&n2),
            "a new goal has no earlier score"
        );
        assert_eq!(carried.len(), 4, "the retired goal is dropped");
    }

    #[test]
    fn chains_are_followed_and_unmapped_versions_are_not_comparable() {
        let [v1, v2, v3, lone] = [(); 4].map(|_| Uuid::new_v4());
        let [g1, g2, g3] = [(); 3].map(|_| Uuid::new_v4());
        let links = [
            link(v1, v2, Some(g1), Some(g2), Relation::Equivalent),
            link(v2, v3, Some(g2), Some(g3), Relation::Equivalent),
        ];
        let translator = Translator::new(&links);
        assert_eq!(translator.chain(v1, v3), Some(vec![v1, v2, v3]));
        assert_eq!(translator.chain(v3, v1), None, "mappings run one way");
        let results = HashMap::from([(g1, GoalResult::NotApplicable)]);
        let carried = translator.carry(v1, v3, &HashMap::new(), &results).unwrap();
        assert_eq!(carried[&g3], GoalResult::NotApplicable);
        assert!(
            translator
                .carry(v1, lone, &HashMap::new(), &results)
                .is_none()
        );
        assert_eq!(
            translator.chain(v2, v2),
            Some(vec![v2]),
            "a version is its own chain"
        );
    }

    #[test]
    fn merged_goals_with_some_unanswered_sources_use_the_answered_ones() {
        let (v1, v2) = (Uuid::new_v4(), Uuid::new_v4());
        let [c, d, cd] = [(); 3].map(|_| Uuid::new_v4());
        let links = [
            link(v1, v2, Some(c), Some(cd), Relation::Merged),
            link(v1, v2, Some(d), Some(cd), Relation::Merged),
        ];
        let results = HashMap::from([
            (c, GoalResult::NotApplicable),
            (d, GoalResult::Scored(Decimal::new(5, 1))),
        ]);
        let carried = Translator::new(&links)
            .carry(v1, v2, &HashMap::new(), &results)
            .unwrap();
        assert_eq!(carried[&cd], GoalResult::Scored(Decimal::new(5, 1)));
        let none = HashMap::from([(c, GoalResult::NotApplicable)]);
        let carried = Translator::new(&links)
            .carry(v1, v2, &HashMap::new(), &none)
            .unwrap();
        assert_eq!(
            carried[&cd],
            GoalResult::Missing,
            "d is missing, c not applicable"
        );
    }

    #[test]
    fn merged_sources_weighing_nothing_give_no_earlier_score() {
        let (v1, v2) = (Uuid::new_v4(), Uuid::new_v4());
        let [c, d, cd] = [(); 3].map(|_| Uuid::new_v4());
        let links = [
            link(v1, v2, Some(c), Some(cd), Relation::Merged),
            link(v1, v2, Some(d), Some(cd), Relation::Merged),
        ];
        let weights = HashMap::from([(c, Decimal::ZERO), (d, Decimal::ZERO)]);
        let results = HashMap::from([
            (c, GoalResult::Scored(Decimal::new(2, 1))),
            (d, GoalResult::Scored(Decimal::new(2, 1))),
        ]);
        let carried = Translator::new(&links)
            .carry(v1, v2, &weights, &results)
            .unwrap();
        assert_eq!(carried[&cd], GoalResult::Missing, "not an unweighted 0.2");
    }
}
