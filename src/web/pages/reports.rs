//! Reports on pages: the methodology, the report index, a cycle's comparison (analysts) and a
//! participant's progress report. The figures come from [`crate::services::reports`]; this
//! module only lays them out, with the charts beside their data tables.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::{PageContext, render};
use crate::auth::policy::Permission;
use crate::domain::report::comparison::{ComparisonRow, CycleComparison};
use crate::domain::report::progress::{AnonymousDistribution, AnswerLine, ProgressReport};
use crate::domain::report::{CycleRef, SectionRef};
use crate::domain::scoring::AnswerValue;
use crate::domain::scoring::distribution::Distribution;
use crate::services::reports::{self as service, IndexRow};
use crate::storage::{self, frameworks::FrameworkSummary};
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::charts::{
    self, Bar, BoxRow, ChartText, HeatCell, HeatColumn, HeatRow, Point, Series,
};
use crate::web::error::AppError;
use crate::web::format::{ScoreFormat, percent, plain};
use crate::web::i18n::{Lang, Tr};

/// Rows of the comparison shown per page (the JSON has them all).
pub const ROWS_PER_PAGE: usize = 50;

#[derive(Template)]
#[template(path = "methodology.html")]
struct MethodologyPage {
    page: PageContext,
}

/// `GET /methodology`.
pub async fn methodology(
    CurrentUser(_me): CurrentUser,
    page: PageContext,
) -> Result<Response, AppError> {
    render(&MethodologyPage { page })
}

#[derive(Template)]
#[template(path = "reports.html")]
struct IndexPage {
    page: PageContext,
    rows: Vec<IndexRow>,
    frameworks: Vec<FrameworkSummary>,
    framework: Option<Uuid>,
    can_compare: bool,
}

impl IndexPage {
    fn chosen(&self, id: &Uuid) -> bool {
        self.framework == Some(*id)
    }

    fn title(&self, cycle: &CycleRef) -> String {
        localized(self.page.tr.lang(), &cycle.title_en, &cycle.title_fr)
    }
}

/// The report index's filter.
#[derive(Debug, Default, Deserialize)]
pub struct IndexQuery {
    #[serde(default)]
    framework: String,
}

/// `GET /reports`.
pub async fn index(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Query(query): Query<IndexQuery>,
) -> Result<Response, AppError> {
    let framework = Uuid::parse_str(query.framework.trim()).ok();
    let rows = service::index(&state.db, &me, framework).await?;
    let mut tx = storage::begin(&state.db, &me.scope()).await?;
    let frameworks = storage::frameworks::list(&mut tx).await?;
    tx.commit().await?;
    render(&IndexPage {
        page,
        rows,
        frameworks,
        framework,
        can_compare: me.may(Permission::CompareParticipants),
    })
}

fn localized(lang: Lang, en: &str, fr: &str) -> String {
    if lang == Lang::Fr && !fr.is_empty() {
        fr
    } else {
        en
    }
    .to_owned()
}

fn section_title(lang: Lang, section: &SectionRef) -> String {
    format!(
        "{} — {}",
        section.code,
        localized(lang, &section.title_en, &section.title_fr)
    )
}

/// The five figures of a distribution as text.
struct DistributionRow {
    label: String,
    count: String,
    min: String,
    q1: String,
    median: String,
    q3: String,
    max: String,
}

impl DistributionRow {
    fn new(label: String, format: &ScoreFormat, figures: Option<&Distribution>) -> Self {
        let figure = |f: fn(&Distribution) -> f64| format.score(figures.map(f));
        Self {
            label,
            count: figures.map_or_else(|| "0".to_owned(), |d| d.count.to_string()),
            min: figure(|d| d.min),
            q1: figure(|d| d.q1),
            median: figure(|d| d.median),
            q3: figure(|d| d.q3),
            max: figure(|d| d.max),
        }
    }
}

/// One line of the ranking and heat-map data table.
struct RankRow {
    rank: String,
    code: String,
    name: String,
    href: String,
    state: String,
    complete: bool,
    overall: String,
    completion: String,
    /// Each section's figure with the link to the answers behind it.
    sections: Vec<(String, String)>,
    compared: String,
    previous: String,
    change: String,
}

struct MoverRow {
    code: String,
    href: String,
    previous: String,
    current: String,
    change: String,
}

#[derive(Template)]
#[template(path = "cycle_report.html")]
struct ComparisonPage {
    page: PageContext,
    report: CycleComparison,
    cycles: Vec<CycleRef>,
    section_titles: Vec<String>,
    focus_title: String,
    heat_map: String,
    distribution_chart: String,
    rows: Vec<RankRow>,
    distributions: Vec<DistributionRow>,
    movers: Vec<MoverRow>,
    page_number: usize,
    pages: usize,
}

impl ComparisonPage {
    fn cycle_title(&self, cycle: &CycleRef) -> String {
        localized(self.page.tr.lang(), &cycle.title_en, &cycle.title_fr)
    }

    fn focused(&self, section: &SectionRef) -> bool {
        self.report
            .focus
            .as_ref()
            .is_some_and(|f| f.id == section.id)
    }

    /// The link to another page of the same comparison.
    fn page_link(&self, number: &usize) -> String {
        match &self.report.focus {
            Some(section) => format!(
                "/cycles/{}/report?section={}&page={number}",
                self.report.cycle.id, section.id
            ),
            None => format!("/cycles/{}/report?page={number}", self.report.cycle.id),
        }
    }
}

/// The comparison's filters.
#[derive(Debug, Default, Deserialize)]
pub struct ComparisonQuery {
    #[serde(default)]
    section: String,
    #[serde(default)]
    page: Option<usize>,
}

/// `GET /cycles/{cycle}/report`.
pub async fn comparison(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    page: PageContext,
    Path(cycle): Path<Uuid>,
    Query(query): Query<ComparisonQuery>,
) -> Result<Response, AppError> {
    let focus = Uuid::parse_str(query.section.trim()).ok();
    let report = service::comparison(&state.db, &me, cycle, focus).await?;
    let mut tx = storage::begin(&state.db, &me.scope()).await?;
    let cycles = storage::reports::cycles(&mut tx).await?;
    tx.commit().await?;
    render(&comparison_page(
        page,
        report,
        cycles,
        query.page.unwrap_or(1),
    ))
}

fn comparison_page(
    page: PageContext,
    report: CycleComparison,
    cycles: Vec<CycleRef>,
    page_number: usize,
) -> ComparisonPage {
    let tr = page.tr;
    let lang = tr.lang();
    let format = ScoreFormat::new(lang, report.overall_max_score);
    let section_format = |s: &SectionRef| ScoreFormat::new(lang, s.max_score);
    let pages = report.rows.len().div_ceil(ROWS_PER_PAGE).max(1);
    let page_number = page_number.clamp(1, pages);
    let shown: Vec<&ComparisonRow> = report
        .rows
        .iter()
        .skip((page_number - 1) * ROWS_PER_PAGE)
        .take(ROWS_PER_PAGE)
        .collect();
    let section_titles: Vec<String> = report
        .sections
        .iter()
        .map(|s| section_title(lang, s))
        .collect();
    let compared_format = report.focus.as_ref().map_or(format, &section_format);
    let rows: Vec<RankRow> = shown
        .iter()
        .map(|row| RankRow {
            rank: row.rank.map_or_else(|| "—".to_owned(), |r| r.to_string()),
            code: row.participant_code.clone(),
            name: localized(lang, &row.participant_name_en, &row.participant_name_fr),
            href: format!("/assessments/{}/report", row.assessment_id),
            state: tr
                .t(&format!("assessment_state.{}", row.assessment_state))
                .to_owned(),
            complete: row.compared.complete,
            overall: format.score(row.overall.score),
            completion: percent(lang, row.overall.completion),
            sections: row
                .sections
                .iter()
                .zip(&report.sections)
                .map(|(figure, section)| {
                    (
                        section_format(section).score(figure.score),
                        format!(
                            "/assessments/{}/report#section-{}",
                            row.assessment_id, section.code
                        ),
                    )
                })
                .collect(),
            compared: compared_format.score(row.compared.score),
            previous: compared_format.score(row.previous),
            change: compared_format.change(row.change),
        })
        .collect();

    let heat_text = tr.fmt(
        "report.heat_map_description",
        &[("cycle", &report.cycle.code)],
    );
    let heat_map = charts::heat_map(
        "heat-map",
        &ChartText {
            title: tr.t("report.heat_map"),
            description: &heat_text,
            no_value: "—",
        },
        &report
            .sections
            .iter()
            .map(|s| HeatColumn {
                label: s.code.clone(),
                max: s.max_score,
            })
            .collect::<Vec<_>>(),
        &shown
            .iter()
            .map(|row| HeatRow {
                label: row.participant_code.clone(),
                href: Some(format!("/assessments/{}/report", row.assessment_id)),
                cells: row
                    .sections
                    .iter()
                    .zip(&report.sections)
                    .map(|(figure, section)| HeatCell {
                        value: figure.score,
                        label: section_format(section).score(figure.score),
                        href: Some(format!(
                            "/assessments/{}/report#section-{}",
                            row.assessment_id, section.code
                        )),
                    })
                    .collect(),
            })
            .collect::<Vec<_>>(),
    );

    // Each section on its own scale would not share an axis: the chart shows shares of each
    // figure's maximum, the table the figures themselves.
    let share = |value: f64, max: f64| if max > 0.0 { value / max } else { 0.0 };
    let distributions: Vec<DistributionRow> = report
        .distributions
        .iter()
        .map(|d| {
            let (label, fmt) = match report.sections.iter().find(|s| Some(s.id) == d.section_id) {
                Some(section) => (section_title(lang, section), section_format(section)),
                None => (tr.t("report.overall").to_owned(), format),
            };
            DistributionRow::new(label, &fmt, d.distribution.as_ref())
        })
        .collect();
    let distribution_text = tr.t("report.distribution_description");
    let distribution_chart = charts::box_plot(
        "distribution",
        &ChartText {
            title: tr.t("report.distribution"),
            description: distribution_text,
            no_value: "—",
        },
        1.0,
        &report
            .distributions
            .iter()
            .zip(&distributions)
            .filter_map(|(d, row)| {
                let figures = d.distribution.as_ref()?;
                let max = d.max_score;
                Some(BoxRow {
                    label: row.label.clone(),
                    min: share(figures.min, max),
                    q1: share(figures.q1, max),
                    median: share(figures.median, max),
                    q3: share(figures.q3, max),
                    max: share(figures.max, max),
                    marker: None,
                    whiskers: true,
                    summary_label: format!("{} {}", tr.t("report.median"), row.median),
                })
            })
            .collect::<Vec<_>>(),
    );
    let movers = report
        .movers
        .iter()
        .map(|m| MoverRow {
            code: m.participant_code.clone(),
            href: format!("/assessments/{}/report", m.assessment_id),
            previous: compared_format.score(Some(m.previous)),
            current: compared_format.score(Some(m.current)),
            change: compared_format.change(Some(m.change)),
        })
        .collect();
    let focus_title = report.focus.as_ref().map_or_else(
        || tr.t("report.overall").to_owned(),
        |s| section_title(lang, s),
    );
    ComparisonPage {
        page,
        cycles,
        section_titles,
        focus_title,
        heat_map,
        distribution_chart,
        rows,
        distributions,
        movers,
        page_number,
        pages,
        report,
    }
}

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
    let unit = ScoreFormat::new(lang, 1.0);
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
    let share = |value: f64, max: f64| if max > 0.0 { value / max } else { 0.0 };
    let position_chart = match &report.alliance {
        Some(alliance) => {
            let mut rows = Vec::new();
            let mut push = |label: String,
                            own: Option<f64>,
                            d: Option<&AnonymousDistribution>,
                            max: f64,
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
        report.overall_max_score,
        &[Series {
            name: tr.t("report.overall").to_owned(),
            points: report
                .trend
                .iter()
                .map(|p| Point {
                    label: p.cycle.code.clone(),
                    value: p.overall,
                    value_label: format.score(p.overall),
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

/// The export form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    format: String,
}

/// `POST /cycles/{cycle}/export`: the cycle report as a file (a form post, since every export
/// is recorded in the audit log).
pub async fn export(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: crate::storage::audit::RequestContext,
    Path(cycle): Path<Uuid>,
    axum::Form(form): axum::Form<ExportForm>,
) -> Result<Response, AppError> {
    let format = crate::export::Format::parse(&form.format).ok_or_else(|| {
        AppError::Validation([("format".to_owned(), "field.format.unknown".to_owned())].into())
    })?;
    let file = crate::services::exports::cycle_report(
        &state.db,
        crate::auth::Operator::User(&me),
        cycle,
        format,
        &context,
    )
    .await?;
    Ok(super::attachment(
        file.format.content_type(),
        &file.file_name,
        file.bytes,
    ))
}

/// `POST /assessments/{assessment}/report/pdf`: the progress report as PDF (a form post: the
/// export is recorded in the audit log).
pub async fn progress_pdf(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    context: crate::storage::audit::RequestContext,
    Path(assessment): Path<Uuid>,
) -> Result<Response, AppError> {
    let file =
        crate::services::exports::progress_report_pdf(&state.db, &me, assessment, &context).await?;
    Ok(super::attachment(
        file.format.content_type(),
        &file.file_name,
        file.bytes,
    ))
}
