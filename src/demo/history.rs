//! Generates the demo's assessment history: believable trends (each Ally has its own starting
//! point and pace), varied states in the open cycle, and everything a report needs. The numbers
//! come from a fixed-seed generator, so every load gives the same history.

use sqlx::PgConnection;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::framework::{AnswerScale, Framework};
use crate::domain::scoring::{AnswerState, AnswerValue, Decimal};
use crate::domain::snapshot::{self, SnapshotHeader};
use crate::storage::assessments::{self, AnswerRow, AssessmentRow, ReviewRow, SnapshotRow};
use crate::storage::clarifications::{self, NewClarification};
use crate::storage::cycles::{self, CycleRow};
use crate::storage::frameworks::StoredFramework;
use crate::storage::national_goals::{self, NewNationalGoal};

/// The demo users who act in the history.
pub struct Actors {
    pub admin: Uuid,
    pub analyst: Uuid,
    pub head: Uuid,
    pub contributor: Uuid,
}

/// How much was written.
pub struct Counts {
    pub cycles: usize,
    pub answers: usize,
    pub snapshots: usize,
    pub national_goals: usize,
}

/// A small deterministic generator (SplitMix64) so the demo is the same on every machine.
pub(super) fn noise(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

pub(super) fn seed(parts: &[u64]) -> u64 {
    parts.iter().fold(0xC0FFEE, |acc, part| {
        acc.wrapping_mul(0x100_0000_01B3).wrapping_add(*part)
    })
}

struct DemoCycle {
    code: &'static str,
    title_en: &'static str,
    title_fr: &'static str,
    state: &'static str,
    opens_on: time::Date,
    deadline: time::Date,
    closed_at: Option<OffsetDateTime>,
    published_at: Option<OffsetDateTime>,
}

fn cycle_plan() -> [DemoCycle; 3] {
    [
        DemoCycle {
            code: "2024",
            title_en: "2024 annual assessment",
            title_fr: "Évaluation annuelle 2024",
            state: "published",
            opens_on: date!(2024 - 09 - 02),
            deadline: date!(2024 - 12 - 13),
            closed_at: Some(datetime!(2025-01-17 17:00 UTC)),
            published_at: Some(datetime!(2025-02-14 10:00 UTC)),
        },
        DemoCycle {
            code: "2025",
            title_en: "2025 annual assessment",
            title_fr: "Évaluation annuelle 2025",
            state: "published",
            opens_on: date!(2025 - 09 - 01),
            deadline: date!(2025 - 12 - 12),
            closed_at: Some(datetime!(2026-01-16 17:00 UTC)),
            published_at: Some(datetime!(2026-02-13 10:00 UTC)),
        },
        DemoCycle {
            code: "2026",
            title_en: "2026 annual assessment",
            title_fr: "Évaluation annuelle 2026",
            state: "open",
            opens_on: date!(2026 - 09 - 01),
            deadline: date!(2026 - 12 - 11),
            closed_at: None,
            published_at: None,
        },
    ]
}

/// The states of the open cycle, by participant position (varied, each state present).
const OPEN_CYCLE_STATES: [&str; 8] = [
    "accepted",
    "submitted",
    "draft",
    "returned",
    "draft",
    "resubmitted",
    "not_started",
    "submitted",
];

/// A value on the scale for a latent capability in 0–1.
pub(super) fn value_for(scale: &AnswerScale, latent: f64) -> AnswerValue {
    match scale {
        AnswerScale::Maturity { levels } => {
            let lowest = levels.first().map_or(0, |l| l.level);
            let highest = levels.last().map_or(0, |l| l.level);
            let span = f64::from(highest - lowest);
            AnswerValue::Level(lowest + (latent * span).round() as i16)
        }
        AnswerScale::Numeric {
            min, max, decimals, ..
        } => {
            // Demo data only: the latent capability is a float; the value is written as the
            // decimal a delegate would type, with the scale's decimals.
            use rust_decimal::prelude::ToPrimitive;
            let (min, max) = (min.to_f64().unwrap_or(0.0), max.to_f64().unwrap_or(0.0));
            let factor = 10f64.powi(i32::from(*decimals));
            let value = ((min + latent * (max - min)) * factor).round() / factor;
            AnswerValue::Number(demo_decimal(value, *decimals))
        }
        AnswerScale::YesNo {} => AnswerValue::Bool(latent >= 0.5),
    }
}

/// A demo float as the decimal with `decimals` decimals a person would write.
pub(super) fn demo_decimal(value: f64, decimals: i16) -> Decimal {
    let places = usize::try_from(decimals).unwrap_or(0);
    format!("{value:.places$}").parse().unwrap_or_default()
}

/// Writes cycles, assessments, answers, snapshots, reviews, national goals and clarification
/// requests, each kind in one bulk statement.
pub async fn write(
    conn: &mut PgConnection,
    framework: &Framework,
    stored: &StoredFramework,
    participants: &[(Uuid, String)],
    actors: &Actors,
) -> anyhow::Result<Counts> {
    let parts = super::bulk::FrameworkParts::new(framework, stored);
    let (sections, goals) = (&parts.sections, &parts.goals);
    let scales: Vec<&AnswerScale> = framework.goals().map(|(_, goal)| &goal.scale).collect();

    let mut assessment_rows = Vec::new();
    let mut answer_rows = Vec::new();
    let mut snapshot_rows = Vec::new();
    let mut review_rows = Vec::new();
    let mut clarification_rows = Vec::new();
    let mut final_states = Vec::new();

    let demo_cycles = cycle_plan();
    for (c, cycle) in demo_cycles.iter().enumerate() {
        let opened_at = cycle.opens_on.midnight().assume_utc() + Duration::hours(9);
        let cycle_id = cycles::insert(
            conn,
            &CycleRow {
                framework_id: stored.id,
                code: cycle.code.to_owned(),
                title_en: cycle.title_en.to_owned(),
                title_fr: cycle.title_fr.to_owned(),
                state: cycle.state,
                opens_on: cycle.opens_on,
                deadline: cycle.deadline,
                opened_at: Some(opened_at),
                closed_at: cycle.closed_at,
                published_at: cycle.published_at,
            },
        )
        .await?;
        for (p, (participant_id, code)) in participants.iter().enumerate() {
            let p = p as u64;
            let state = if cycle.state == "open" {
                OPEN_CYCLE_STATES[(p as usize) % OPEN_CYCLE_STATES.len()]
            } else {
                "accepted"
            };
            // Each Ally starts somewhere between 0.25 and 0.75 and moves at its own pace.
            let base = 0.25 + 0.5 * noise(seed(&[p, 1]));
            let pace = -0.03 + 0.13 * noise(seed(&[p, 2]));
            let submitted_at =
                opened_at + Duration::days(30 + (noise(seed(&[p, c as u64, 3])) * 60.0) as i64);
            let assessment_id = Uuid::new_v4();
            if !matches!(state, "not_started" | "draft") {
                final_states.push((assessment_id, state));
            }
            assessment_rows.push(AssessmentRow {
                id: assessment_id,
                cycle_id,
                participant_id: *participant_id,
                state: if state == "not_started" {
                    state
                } else {
                    "draft"
                },
                last_activity_at: (state != "not_started").then_some(submitted_at),
            });
            if state == "not_started" {
                continue;
            }
            let draft = state == "draft";
            let answers: Vec<AnswerState> = goals
                .iter()
                .enumerate()
                .map(|(g, _)| {
                    let g = g as u64;
                    if noise(seed(&[p, g, 4])) < 0.03 {
                        return AnswerState::NotApplicable;
                    }
                    // Drafts are partly filled in.
                    if draft && noise(seed(&[p, g, c as u64, 5])) < 0.35 {
                        return AnswerState::Missing;
                    }
                    let latent = (base
                        + pace * c as f64
                        + 0.18 * (noise(seed(&[p, g, 6])) - 0.5)
                        + 0.06 * (noise(seed(&[p, g, c as u64, 7])) - 0.5))
                        .clamp(0.0, 1.0);
                    AnswerState::Answered(value_for(scales[g as usize], latent))
                })
                .collect();
            for (g, (goal, answer)) in goals.iter().zip(&answers).enumerate() {
                if *answer == AnswerState::Missing {
                    continue;
                }
                let target = match answer {
                    AnswerState::Answered(_) => {
                        let latent = (base + pace * (c as f64 + 1.5) + 0.1).clamp(0.0, 1.0);
                        Some(value_for(scales[g], latent))
                    }
                    _ => None,
                };
                answer_rows.push(AnswerRow {
                    assessment_id,
                    participant_id: *participant_id,
                    goal_id: goal.id,
                    answer: *answer,
                    na_justification: (*answer == AnswerState::NotApplicable).then(|| {
                        "Illustrative: this capability is provided by a multinational arrangement.".to_owned()
                    }),
                    target,
                    implementation_status: Some(
                        ["not_started", "planned", "in_progress", "implemented"]
                            [(noise(seed(&[p, g as u64, c as u64, 8])) * 4.0) as usize % 4],
                    ),
                    narrative: format!(
                        "Illustrative narrative for {code}, goal {}, cycle {}.",
                        goal.code, cycle.code
                    ),
                    // In the open cycle, drafts still hold answers carried forward unconfirmed.
                    unconfirmed: draft && noise(seed(&[p, g as u64, 9])) < 0.4,
                    updated_by: Some(actors.contributor),
                    updated_at: submitted_at - Duration::days(3),
                });
            }
            let returned_once = state == "returned"
                || state == "resubmitted"
                || (cycle.state != "open" && p % 11 == 3);
            let revisions: &[i32] = match state {
                "draft" => &[],
                "returned" | "submitted" => &[1],
                _ if returned_once => &[1, 2],
                _ => &[1],
            };
            for &revision in revisions {
                let frozen = snapshot::freeze(
                    &SnapshotHeader {
                        participant_code: code,
                        cycle_code: cycle.code,
                        revision,
                    },
                    framework.roll_up,
                    sections,
                    goals,
                    &answers,
                );
                let at = submitted_at + Duration::days(i64::from(revision - 1) * 14);
                snapshot_rows.push(SnapshotRow {
                    id: Uuid::new_v4(),
                    assessment_id,
                    participant_id: *participant_id,
                    cycle_id,
                    revision,
                    frozen,
                    submitted_by: Some(actors.head),
                    submitted_at: at,
                });
                let last = revision == *revisions.last().unwrap_or(&1);
                let decision = if !last || state == "returned" {
                    Some((
                        "returned",
                        "Illustrative: please add evidence for the budget figures.",
                    ))
                } else if state == "accepted" {
                    Some(("accepted", ""))
                } else {
                    None
                };
                if let Some((decision, reason)) = decision {
                    review_rows.push(ReviewRow {
                        assessment_id,
                        participant_id: *participant_id,
                        revision,
                        decision,
                        reason: reason.to_owned(),
                        decided_by: Some(actors.admin),
                        decided_at: at + Duration::days(7),
                    });
                }
            }
            if cycle.state == "open" && matches!(state, "submitted" | "resubmitted") {
                clarification_rows.push(NewClarification {
                    assessment_id,
                    participant_id: *participant_id,
                    goal_id: goals[1].id,
                    question: "Illustrative: could you say which networks this figure covers?"
                        .to_owned(),
                    raised_by: Some(actors.analyst),
                });
            }
        }
    }

    assessments::insert_assessments(conn, &assessment_rows).await?;
    assessments::insert_answers(conn, &answer_rows).await?;
    assessments::insert_snapshots(conn, &snapshot_rows).await?;
    assessments::set_states(conn, &final_states).await?;
    assessments::insert_reviews(conn, &review_rows).await?;
    clarifications::insert_many(conn, &clarification_rows).await?;
    let national = national_goal_rows(participants, &stored.section_ids, actors);
    national_goals::insert_many(conn, &national).await?;
    Ok(Counts {
        cycles: demo_cycles.len(),
        answers: answer_rows.len(),
        snapshots: snapshot_rows.len(),
        national_goals: national.len(),
    })
}

fn national_goal_rows(
    participants: &[(Uuid, String)],
    section_ids: &[Uuid],
    actors: &Actors,
) -> Vec<NewNationalGoal> {
    const STATUSES: [&str; 5] = ["planned", "on_track", "at_risk", "achieved", "on_track"];
    participants
        .iter()
        .enumerate()
        .flat_map(|(p, (participant_id, _))| {
            let p = p as u64;
            let budget_now = 4.0 + (noise(seed(&[p, 20])) * 60.0).round() / 10.0;
            [
                NewNationalGoal {
                    participant_id: *participant_id,
                    section_id: section_ids[1 % section_ids.len()],
                    title:
                        "Illustrative: raise the share of the defence budget spent on cyber defence"
                            .into(),
                    measure: "number",
                    unit: "%".into(),
                    baseline_value: Some(demo_decimal(budget_now - 1.0, 1)),
                    current_value: Some(demo_decimal(budget_now, 1)),
                    target_value: demo_decimal(budget_now + 2.0, 1),
                    target_year: 2028,
                    status: STATUSES[(p % 5) as usize],
                    owner: "Ministry of Defence, cyber directorate".into(),
                    notes: String::new(),
                    created_by: Some(actors.head),
                },
                NewNationalGoal {
                    participant_id: *participant_id,
                    section_id: section_ids[0],
                    title: "Illustrative: reach maturity level 4 for deployable network monitoring"
                        .into(),
                    measure: "level",
                    unit: String::new(),
                    baseline_value: Some(Decimal::from(2)),
                    current_value: Some(demo_decimal(
                        2.0 + (noise(seed(&[p, 21])) * 2.0).round(),
                        0,
                    )),
                    target_value: Decimal::from(4),
                    target_year: 2027,
                    status: STATUSES[((p + 2) % 5) as usize],
                    owner: "Joint cyber command".into(),
                    notes: String::new(),
                    created_by: Some(actors.head),
                },
            ]
        })
        .collect()
}
