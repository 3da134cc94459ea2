//! `pledge demo --scale alliance|stress`: synthetic histories at the sizes the benchmark
//! measures (PRODUCT.md §7), on a synthetic, clearly labelled framework:
//! - alliance: the 32 Allies × 60 goals × 10 cycles;
//! - stress: 2,000 participants (the Allies and synthetic partners) × 150 goals × 10 cycles.
//!
//! Every participant submits in every cycle; scores follow each participant's own level and
//! pace, from the same fixed-seed generator as the demo history.

use anyhow::Context;
use sqlx::{Connection, Row};
use time::macros::date;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::bulk::{self, FrameworkParts, Submission};
use super::history::{noise, seed, value_for};
use super::{DEMO_DELEGATION, DemoOutcome};
use crate::domain::framework::{AnswerScale, Framework, Goal, MaturityLevel, RollUp, Section};
use crate::domain::scoring::{AnswerState, Decimal};
use crate::domain::text::LocalizedText;
use crate::storage::audit::{self, Actor, NewEntry};
use crate::storage::cycles::CycleRow;
use crate::storage::{ConnectionPlan, frameworks};

/// How much synthetic data to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// 32 Allies × 60 goals × 10 cycles.
    Alliance,
    /// 2,000 participants × 150 goals × 10 cycles.
    Stress,
}

/// Cycles in every synthetic history.
pub const CYCLES: usize = 10;

impl Scale {
    fn participants(self) -> usize {
        match self {
            Scale::Alliance => 32,
            Scale::Stress => 2_000,
        }
    }

    /// Sections × goals per section.
    fn shape(self) -> (usize, usize) {
        match self {
            Scale::Alliance => (6, 10),
            Scale::Stress => (10, 15),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scale::Alliance => "alliance",
            Scale::Stress => "stress",
        }
    }

    /// The framework family, which also marks the data as loaded.
    pub fn family(self) -> String {
        format!("synthetic-{}", self.name())
    }

    /// The code of cycle `index` (0 = oldest).
    pub fn cycle_code(self, index: usize) -> String {
        format!("{}-{}", self.name().to_uppercase(), 2017 + index)
    }
}

fn text(en: String, fr: String) -> LocalizedText {
    LocalizedText { en, fr }
}

/// The synthetic framework: maturity 0–5, numeric 0–100 % and yes/no goals, weighted mean.
pub fn framework(scale: Scale) -> Framework {
    let (sections, goals_per_section) = scale.shape();
    let levels: Vec<MaturityLevel> = (0..=5)
        .map(|level| MaturityLevel {
            level,
            name: text(format!("Level {level}"), format!("Niveau {level}")),
            descriptor: LocalizedText::default(),
        })
        .collect();
    Framework {
        family: scale.family(),
        version: "1".to_owned(),
        title: text(
            format!(
                "Synthetic benchmark framework ({}) — illustrative",
                scale.name()
            ),
            format!(
                "Référentiel synthétique de mesure ({}) — illustratif",
                scale.name()
            ),
        ),
        description: text(
            "Generated for load tests; not a real catalogue.".to_owned(),
            "Généré pour les essais de charge ; ce n'est pas un vrai catalogue.".to_owned(),
        ),
        roll_up: RollUp::WeightedMean,
        sections: (0..sections)
            .map(|s| Section {
                code: format!("S{:02}", s + 1),
                title: text(format!("Section {}", s + 1), format!("Section {}", s + 1)),
                description: LocalizedText::default(),
                goals: (0..goals_per_section)
                    .map(|g| Goal {
                        code: format!("S{:02}.G{:02}", s + 1, g + 1),
                        title: text(
                            format!("Goal {}.{}", s + 1, g + 1),
                            format!("Objectif {}.{}", s + 1, g + 1),
                        ),
                        guidance: LocalizedText::default(),
                        weight: Decimal::from(1 + g % 3),
                        scale: match g % 5 {
                            3 => AnswerScale::Numeric {
                                min: Decimal::ZERO,
                                max: Decimal::ONE_HUNDRED,
                                unit: "%".to_owned(),
                                decimals: 1,
                            },
                            4 => AnswerScale::YesNo {},
                            _ => AnswerScale::Maturity {
                                levels: levels.clone(),
                            },
                        },
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Synthetic partner codes: three letters starting with Q, W, X or Z (no Ally's code does).
fn partner_code(index: usize) -> String {
    let first = ['Q', 'W', 'X', 'Z'][index / 676 % 4];
    let second = (b'A' + (index / 26 % 26) as u8) as char;
    let third = (b'A' + (index % 26) as u8) as char;
    format!("{first}{second}{third}")
}

/// Loads the synthetic history unless it is there already.
pub async fn load(plan: &ConnectionPlan, scale: Scale) -> anyhow::Result<DemoOutcome> {
    let framework = framework(scale);
    let mut conn = plan.owner_connection().await?;
    let mut tx = conn.begin().await?;
    crate::storage::set_scope(&mut tx, &crate::storage::Scope::System).await?;
    if super::already_loaded(&mut tx, &framework.family, None).await? {
        return Ok(DemoOutcome {
            already_loaded: true,
            summary: String::new(),
        });
    }
    let wanted = scale.participants();
    let allies: i64 =
        sqlx::query_scalar("SELECT count(*) FROM participants WHERE kind = 'ally' AND active")
            .fetch_one(&mut *tx)
            .await?;
    let partners = wanted.saturating_sub(usize::try_from(allies)?);
    let codes: Vec<String> = (0..partners).map(partner_code).collect();
    let names: Vec<String> = codes
        .iter()
        .map(|c| format!("Synthetic partner {c}"))
        .collect();
    sqlx::query(
        "INSERT INTO participants (code, name_en, name_fr, kind)
         SELECT code, name, name, 'partner' FROM UNNEST($1::text[], $2::text[]) AS p(code, name)
         ON CONFLICT (code) DO NOTHING",
    )
    .bind(&codes)
    .bind(&names)
    .execute(&mut *tx)
    .await?;
    let participants: Vec<(Uuid, String)> = sqlx::query(
        "SELECT id, code FROM participants WHERE active AND (kind = 'ally' OR code = ANY($1))
         ORDER BY kind, code LIMIT $2",
    )
    .bind(&codes)
    .bind(i64::try_from(wanted)?)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|row| Ok((row.try_get("id")?, row.try_get("code")?)))
    .collect::<Result<_, sqlx::Error>>()?;
    participants
        .iter()
        .find(|(_, code)| code == DEMO_DELEGATION)
        .context("the demo delegation's participant is missing")?;
    let users_present: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)")
            .bind(super::DEMO_USERS[0].email)
            .fetch_one(&mut *tx)
            .await?;
    if !users_present {
        let delegation = participants
            .iter()
            .find(|(_, code)| code == DEMO_DELEGATION)
            .map(|(id, _)| *id)
            .context("the demo delegation's participant is missing")?;
        super::create_users(&mut tx, delegation).await?;
    }
    let stored = frameworks::insert(&mut tx, &framework).await?;
    tx.commit().await?;

    // One transaction per cycle: a stress cycle is 300,000 answers.
    let parts = FrameworkParts::new(&framework, &stored);
    let scales: Vec<&AnswerScale> = framework.goals().map(|(_, goal)| &goal.scale).collect();
    for index in 0..CYCLES {
        let mut tx = conn.begin().await?;
        crate::storage::set_scope(&mut tx, &crate::storage::Scope::System).await?;
        let opens_on = date!(2017 - 01 - 15)
            .replace_year(2017 + i32::try_from(index)?)
            .context("cycle year")?;
        let opened_at = opens_on.midnight().assume_utc();
        let last = index + 1 == CYCLES;
        let cycle = CycleRow {
            framework_id: stored.id,
            code: scale.cycle_code(index),
            title_en: format!("Synthetic cycle {}", 2017 + index),
            title_fr: format!("Cycle synthétique {}", 2017 + index),
            state: if last { "open" } else { "published" },
            opens_on,
            deadline: opens_on + Duration::days(120),
            opened_at: Some(opened_at),
            closed_at: (!last).then(|| opened_at + Duration::days(121)),
            published_at: (!last).then(|| opened_at + Duration::days(150)),
        };
        let submissions: Vec<Submission> = participants
            .iter()
            .enumerate()
            .map(|(p, (id, code))| {
                synthetic_submission(p as u64, index as u64, *id, code, &scales, opened_at, last)
            })
            .collect();
        bulk::write_cycle(&mut tx, &parts, &cycle, &submissions).await?;
        tx.commit().await?;
    }

    let mut tx = conn.begin().await?;
    crate::storage::set_scope(&mut tx, &crate::storage::Scope::System).await?;
    let goals = parts.goals.len();
    audit::append(
        &mut tx,
        &NewEntry::new(
            Actor::Cli,
            "demo.scale",
            serde_json::json!({"scale": scale.name(), "participants": participants.len(),
                               "goals": goals, "cycles": CYCLES}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(DemoOutcome {
        already_loaded: false,
        summary: format!(
            "{} scale: {} participants × {goals} goals × {CYCLES} cycles ({} snapshots, {} answers)",
            scale.name(),
            participants.len(),
            participants.len() * CYCLES,
            participants.len() * CYCLES * goals
        ),
    })
}

fn synthetic_submission(
    p: u64,
    c: u64,
    participant_id: Uuid,
    code: &str,
    scales: &[&AnswerScale],
    opened_at: OffsetDateTime,
    last: bool,
) -> Submission {
    let base = 0.2 + 0.5 * noise(seed(&[p, 11]));
    let pace = -0.01 + 0.05 * noise(seed(&[p, 12]));
    let answers = scales
        .iter()
        .enumerate()
        .map(|(g, scale)| {
            let g = g as u64;
            if noise(seed(&[p, g, 13])) < 0.02 {
                return AnswerState::NotApplicable;
            }
            let latent = (base + pace * c as f64 + 0.25 * (noise(seed(&[p, g, c, 14])) - 0.5))
                .clamp(0.0, 1.0);
            AnswerState::Answered(value_for(scale, latent))
        })
        .collect();
    Submission {
        participant_id,
        participant_code: code.to_owned(),
        answers,
        state: if last { "submitted" } else { "accepted" },
        submitted_at: opened_at + Duration::days(20 + (noise(seed(&[p, c, 15])) * 90.0) as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::framework::document::{FrameworkDocument, validate};

    #[test]
    fn sizes_and_codes_are_as_documented() {
        assert_eq!(framework(Scale::Alliance).goals().count(), 60);
        assert_eq!(framework(Scale::Stress).goals().count(), 150);
        let codes: std::collections::BTreeSet<String> = (0..1968).map(partner_code).collect();
        assert_eq!(codes.len(), 1968, "distinct");
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase()))
        );
        for scale in [Scale::Alliance, Scale::Stress] {
            let document = FrameworkDocument::from(&framework(scale));
            assert_eq!(validate(&document), [], "a valid framework document");
        }
    }
}
