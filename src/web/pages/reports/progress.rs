//! A participant's progress report on a page: figures against the alliance, trend, moved
//! answers, national goals, clarifications and the answers behind every figure.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use uuid::Uuid;

use crate::auth::policy::Permission;
use crate::domain::report::progress::{AnonymousDistribution, AnswerLine, ProgressReport};
use crate::domain::scoring::AnswerValue;
use crate::domain::scoring::Decimal;
use crate::presentation::charts::{self, Bar, BoxRow, ChartText, Point, Series};
use crate::presentation::format::{ScoreFormat, geometry, percent, plain};
use crate::presentation::i18n::Tr;
use crate::services::reports::{self as service};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::AppError;
use crate::web::pages::{PageContext, render};

use super::{localized, section_title};

/// One line of the progress report's summary.
struct SummaryRow {
    label: String,
    anchor: Option<String>,
    score: String,
    completion: String,
    previous: String,
    change: String,
    alliance: String,
}

struct AnswerRow {
    code: String,
    title: String,
    state: String,
    value: String,
    score: String,
    weight: String,
    previous: String,
    change: String,
}

struct SectionAnswers {
    anchor: String,
    title: String,
    score: String,
    answers: Vec<AnswerRow>,
}

struct TrendRow {
    cycle: String,
    version: String,
    published: String,
    comparable: String,
}

struct GoalRow {
    section: String,
    title: String,
    baseline: String,
    current: String,
    target: String,
    year: i32,
    status: String,
    attainment: String,
}

#[derive(Template)]
#[template(path = "progress_report.html")]
struct ProgressPage {
    page: PageContext,
    report: ProgressReport,
    cycle_title: String,
    participant_name: String,
    can_compare: bool,
    summary: Vec<SummaryRow>,
    position_chart: String,
    trend_chart: String,
    trend: Vec<TrendRow>,
    sections: Vec<SectionAnswers>,
    moved: Vec<AnswerRow>,
    goals: Vec<GoalRow>,
}

/// `GET /assessments/{assessment}/report`.
pub async fn progress(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Path(assessment): Path<Uuid>,
) -> Result<Response, AppError> {
    let report = service::progress(&state.db, &me, assessment).await?;
    let can_compare = me.may(Permission::CompareParticipants);
    render(&progress_page(page, report, can_compare))
}

fn answer_row(tr: &Tr, line: &AnswerLine) -> AnswerRow {
    let lang = tr.lang();
    let value = match (line.state.as_str(), line.value()) {
        ("not_applicable", _) => tr.t("report.not_applicable").to_owned(),
        (_, Some(AnswerValue::Number(number))) => plain(lang, Some(number)),
        (_, Some(AnswerValue::Bool(true))) => tr.t("report.yes").to_owned(),
        (_, Some(AnswerValue::Bool(false))) => tr.t("report.no").to_owned(),
        (_, Some(level)) => level.text(),
        (_, None) => "—".to_owned(),
    };
    // Goal scores are always on 0–1.
    let unit = ScoreFormat::new(lang, Decimal::ONE);
    AnswerRow {
        code: line.goal_code.clone(),
        title: localized(lang, &line.goal_title_en, &line.goal_title_fr),
        state: tr
            .t(&format!("report.answer_state.{}", line.state))
            .to_owned(),
        value,
        score: unit.score(line.score),
        weight: plain(lang, Some(line.weight)),
        previous: unit.score(line.previous_score),
        change: unit.change(line.change),
    }
}

fn progress_page(page: PageContext, report: ProgressReport, can_compare: bool) -> ProgressPage {
    let tr = page.tr;
    let lang = tr.lang();
    let format = ScoreFormat::new(lang, report.overall_max_score);
    let alliance_text = |fmt: &ScoreFormat, d: Option<&AnonymousDistribution>| match d {
        Some(d) => tr.fmt(
            "report.alliance_cell",
            &[
                ("median", &fmt.score(Some(d.median))),
                ("q1", &fmt.score(Some(d.q1))),
                ("q3", &fmt.score(Some(d.q3))),
            ],
        ),
        None => "—".to_owned(),
    };
    let mut summary = vec![SummaryRow {
        label: tr.t("report.overall").to_owned(),
        anchor: None,
        score: format.score(report.overall.and_then(|o| o.score)),
        completion: percent(lang, report.overall.and_then(|o| o.completion)),
        previous: format.score(report.overall_previous),
        change: format.change(report.overall_change),
        alliance: alliance_text(
            &format,
            report.alliance.as_ref().and_then(|a| a.overall.as_ref()),
        ),
    }];
    for line in &report.sections {
        let fmt = ScoreFormat::new(lang, line.section.max_score);
        summary.push(SummaryRow {
            label: section_title(lang, &line.section),
            anchor: Some(format!("section-{}", line.section.code)),
            score: fmt.score(line.figure.score),
            completion: percent(lang, line.figure.completion),
            previous: fmt.score(line.previous),
            change: fmt.change(line.change),
            alliance: alliance_text(&fmt, line.alliance.as_ref()),
        });
    }

    // Own figures against the alliance's quartiles when they may be shown, else plain bars;
    // both on shares of each figure's maximum so that sections share one axis.
    let share = |value: Decimal, max: Decimal| {
        if max > Decimal::ZERO {
            geometry(value) / geometry(max)
        } else {
            0.0
        }
    };
    let position_chart = match &report.alliance {
        Some(alliance) => {
            let mut rows = Vec::new();
            let mut push = |label: String,
                            own: Option<Decimal>,
                            d: Option<&AnonymousDistribution>,
                            max: Decimal,
                            fmt: &ScoreFormat| {
                // No whiskers: delegations see quartiles and median only.
                if let Some(d) = d {
                    rows.push(BoxRow {
                        label,
                        min: share(d.q1, max),
                        q1: share(d.q1, max),
                        median: share(d.median, max),
                        q3: share(d.q3, max),
                        max: share(d.q3, max),
                        marker: own.map(|v| (share(v, max), fmt.score(Some(v)))),
                        whiskers: false,
                        summary_label: format!(
                            "{} {}",
                            tr.t("report.median"),
                            fmt.score(Some(d.median))
                        ),
                    });
                }
            };
            push(
                tr.t("report.overall").to_owned(),
                report.overall.and_then(|o| o.score),
                alliance.overall.as_ref(),
                report.overall_max_score,
                &format,
            );
            for line in &report.sections {
                push(
                    line.section.code.clone(),
                    line.figure.score,
                    line.alliance.as_ref(),
                    line.section.max_score,
                    &ScoreFormat::new(lang, line.section.max_score),
                );
            }
            charts::box_plot(
                "position",
                &ChartText {
                    title: tr.t("report.position"),
                    description: tr.t("report.position_description"),
                    no_value: "—",
                },
                1.0,
                &rows,
            )
        }
        None => charts::bar_chart(
            "position",
            &ChartText {
                title: tr.t("report.section_scores"),
                description: tr.t("report.section_scores_description"),
                no_value: "—",
            },
            1.0,
            &report
                .sections
                .iter()
                .map(|line| Bar {
                    label: line.section.code.clone(),
                    value: line.figure.score.map(|v| share(v, line.section.max_score)),
                    value_label: ScoreFormat::new(lang, line.section.max_score)
                        .score(line.figure.score),
                    highlight: false,
                })
                .collect::<Vec<_>>(),
        ),
    };

    let trend_chart = charts::line_chart(
        "trend",
        &ChartText {
            title: tr.t("report.trend"),
            description: tr.t("report.trend_description"),
            no_value: "—",
        },
        geometry(report.overall_max_score),
        &[Series {
            name: tr.t("report.overall").to_owned(),
            points: report
                .trend
                .iter()
                .map(|p| Point {
                    label: p.cycle.code.clone(),
                    value: p.overall.map(geometry),
                    value_label: format.score(p.overall),
                    // Re-scored on this cycle's framework version: ringed, and said in the
                    // point's title and the chart's legend.
                    mark: p.rescored.then(|| tr.t("report.rescored").to_owned()),
                })
                .collect(),
        }],
    );
    let trend = report
        .trend
        .iter()
        .map(|p| TrendRow {
            cycle: p.cycle.code.clone(),
            version: p.cycle.framework_version.clone(),
            published: format.score(p.published_overall),
            comparable: if p.comparable {
                format.score(p.overall)
            } else {
                tr.t("report.not_comparable").to_owned()
            },
        })
        .collect();
    let sections = report
        .sections
        .iter()
        .enumerate()
        .map(|(index, line)| SectionAnswers {
            anchor: format!("section-{}", line.section.code),
            title: section_title(lang, &line.section),
            score: ScoreFormat::new(lang, line.section.max_score).score(line.figure.score),
            answers: report
                .answers
                .iter()
                .filter(|a| a.section == index)
                .map(|a| answer_row(&tr, a))
                .collect(),
        })
        .collect();
    let moved = report.moved.iter().map(|a| answer_row(&tr, a)).collect();
    let goals = report
        .national_goals
        .iter()
        .map(|g| GoalRow {
            section: g.section_code.clone(),
            title: g.title.clone(),
            baseline: plain(lang, g.baseline_value),
            current: plain(lang, g.current_value),
            target: plain(lang, Some(g.target_value)),
            year: g.target_year,
            status: tr.t(&format!("goal_status.{}", g.status)).to_owned(),
            attainment: percent(lang, g.attainment),
        })
        .collect();
    ProgressPage {
        cycle_title: localized(lang, &report.cycle.title_en, &report.cycle.title_fr),
        participant_name: localized(
            lang,
            &report.participant.name_en,
            &report.participant.name_fr,
        ),
        page,
        can_compare,
        summary,
        position_chart,
        trend_chart,
        trend,
        sections,
        moved,
        goals,
        report,
    }
}
