//! The analysts' comparison of a cycle on a page: heat map, ranking, distributions, movers.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;
use uuid::Uuid;

use crate::domain::report::comparison::{ComparisonRow, CycleComparison};
use crate::domain::report::{CycleRef, SectionRef};
use crate::domain::scoring::Decimal;
use crate::domain::scoring::distribution::Distribution;
use crate::presentation::charts::{
    self, BoxRow, ChartText, HeatCell, HeatColumn, HeatLegend, HeatRow,
};
use crate::presentation::format::{ScoreFormat, geometry, percent};
use crate::presentation::i18n::{Lang, Tr};
use crate::services::comparison_page;
use crate::web::AppState;
use crate::web::authn::CurrentUser;
use crate::web::error::AppError;
use crate::web::fragments::{self, Fragment, FragmentCache};
use crate::web::pages::PageContext;

use super::{localized, section_title};

/// Rows of the comparison shown per page (the JSON has them all).
pub const ROWS_PER_PAGE: usize = 50;

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
        let figure = |f: fn(&Distribution) -> Decimal| format.score(figures.map(f));
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
    report: Arc<CycleComparison>,
    cycles: Vec<CycleRef>,
    focus_title: String,
    /// Where the figures go (`web::fragments`).
    fragment_marker: &'static str,
    /// Historical imports that made this cycle's snapshots (file name, digest, who, when).
    imports: Vec<crate::services::reports::ImportRecord>,
    /// Set when the figures come from a read replica that is behind: how old they are.
    stale_note: Option<String>,
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
}

/// The figures of one page of rows: heat map, ranking, distributions and movers. A function of
/// the report, the language and the page number alone (nothing of who asks), so it is rendered
/// once per report and kept deflated ([`FIGURES`]).
#[derive(Template)]
#[template(path = "cycle_report_ranking.html")]
struct ComparisonFigures {
    tr: Tr,
    report: Arc<CycleComparison>,
    section_titles: Vec<String>,
    focus_title: String,
    heat_map: String,
    heat_legend: String,
    distribution_chart: String,
    rows: Vec<RankRow>,
    distributions: Vec<DistributionRow>,
    movers: Vec<MoverRow>,
    page_number: usize,
    pages: usize,
}

impl ComparisonFigures {
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

/// The rendered figures of the comparisons this process served lately, by report (the same
/// `Arc` while the report cache holds it), language and page number.
static FIGURES: FragmentCache<CycleComparison, (Lang, usize)> = FragmentCache::new();

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
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let focus = Uuid::parse_str(query.section.trim()).ok();
    // From memory, the read replica or the primary (`services::comparison_page`).
    let read = comparison_page::comparison_page(
        &state.reads,
        &state.memos.comparison_pages,
        &me,
        cycle,
        focus,
    )
    .await?;
    let stale_note = read.stale_as_of.map(|as_of| {
        let minutes = ((time::OffsetDateTime::now_utc() - as_of).whole_seconds() / 60).max(1);
        page.tr.fmt(
            "report.replica_behind",
            &[
                ("when", &page.when(&as_of)),
                ("minutes", &minutes.to_string()),
            ],
        )
    });
    let comparison_page::ComparisonPageInputs {
        report,
        cycles,
        imports,
    } = read.value;
    let lang = page.tr.lang();
    let pages = report.rows.len().div_ceil(ROWS_PER_PAGE).max(1);
    let page_number = query.page.unwrap_or(1).clamp(1, pages);
    let figures = FIGURES.get_or_make(&report, (lang, page_number), || {
        Ok::<_, AppError>(Fragment::new(
            comparison_figures(lang, report.clone(), page_number).render()?,
        ))
    })?;
    let around = ComparisonPage {
        focus_title: focus_title(lang, &report),
        page,
        report,
        cycles,
        fragment_marker: fragments::MARKER,
        imports,
        stale_note,
    };
    Ok(figures.page(&around.render()?, &headers))
}

fn focus_title(lang: Lang, report: &CycleComparison) -> String {
    report.focus.as_ref().map_or_else(
        || lang.tr().t("report.overall").to_owned(),
        |s| section_title(lang, s),
    )
}

/// The figures of page `page_number` (1 to the number of pages).
fn comparison_figures(
    lang: Lang,
    report: Arc<CycleComparison>,
    page_number: usize,
) -> ComparisonFigures {
    let tr = lang.tr();
    let format = ScoreFormat::new(lang, report.overall_max_score);
    let section_format = |s: &SectionRef| ScoreFormat::new(lang, s.max_score);
    let pages = report.rows.len().div_ceil(ROWS_PER_PAGE).max(1);
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
                name: section_title(lang, s),
                max: geometry(s.max_score),
            })
            .collect::<Vec<_>>(),
        &shown
            .iter()
            .map(|row| HeatRow {
                label: row.participant_code.clone(),
                name: localized(lang, &row.participant_name_en, &row.participant_name_fr),
                href: Some(format!("/assessments/{}/report", row.assessment_id)),
                cells: row
                    .sections
                    .iter()
                    .zip(&report.sections)
                    .map(|(figure, section)| HeatCell {
                        value: figure.score.map(geometry),
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

    let heat_legend = charts::heat_legend(
        "heat-map-legend",
        &HeatLegend {
            title: tr.t("report.heat_legend_title"),
            steps: heat_legend_steps(lang, &report.sections),
            reading: tr.t("report.heat_legend_reading"),
            missing: tr.t("report.heat_legend_missing"),
            no_value: "—",
        },
    );

    // Each section on its own scale would not share an axis: the chart shows shares of each
    // figure's maximum, the table the figures themselves.
    let share = |value: Decimal, max: Decimal| {
        if max > Decimal::ZERO {
            geometry(value) / geometry(max)
        } else {
            0.0
        }
    };
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
    ComparisonFigures {
        tr,
        focus_title: focus_title(lang, &report),
        section_titles,
        heat_map,
        heat_legend,
        distribution_chart,
        rows,
        distributions,
        movers,
        page_number,
        pages,
        report,
    }
}

/// The legend's steps: the values themselves when every section has the same maximum (0 to 1
/// under a weighted mean), else shares of each section's maximum.
fn heat_legend_steps(lang: Lang, sections: &[SectionRef]) -> Vec<(f64, String)> {
    const QUARTERS: [i64; 5] = [0, 25, 50, 75, 100];
    let max = sections.first().map_or(Decimal::ONE, |s| s.max_score);
    let shared = sections.iter().all(|s| s.max_score == max);
    let tr = lang.tr();
    QUARTERS
        .iter()
        .map(|percent_of| {
            let share = Decimal::new(*percent_of, 2);
            let label = if shared {
                ScoreFormat::new(lang, max).score(Some(share * max))
            } else {
                tr.fmt(
                    "report.heat_legend_share",
                    &[("share", &percent(lang, Some(share)))],
                )
            };
            (geometry(share), label)
        })
        .collect()
}
