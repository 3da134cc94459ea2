//! The cycle report: a cover, the method, the summary table with a chart of the distributions,
//! then one page (or more) per participant.

use super::layout::*;
use super::{label, labels, localized, plain};
use crate::domain::report::comparison::ComparisonRow;
use crate::domain::report::export::ExportRow;
use crate::export::ReportHead;
use crate::presentation::format::{ScoreFormat, percent};
use crate::presentation::i18n::Lang;

/// The mark beside a figure of an earlier cycle re-scored on this cycle's framework version;
/// `export.pdf.rescored_note` explains it once per document.
pub(super) const RESCORED_MARK: &str = "†";

/// `text` with the re-scored mark when `rescored` (and there is a figure to mark).
pub(super) fn marked(text: String, rescored: bool) -> String {
    if rescored && text != "—" {
        format!("{text} {RESCORED_MARK}")
    } else {
        text
    }
}

/// The cycle report being laid out, a chunk of participants at a time ([`Writer::participants`]):
/// the cover, the method and the summary come from the comparison (a row per participant); the
/// participants' pages follow from their rows as they arrive, each page compressed into the
/// document when full ([`Layout`]).
pub struct Writer<'a> {
    head: ReportHead<'a>,
    layout: Layout,
    format: ScoreFormat,
    title: String,
    goal_titles: std::collections::HashMap<&'a str, &'a str>,
}

impl<'a> Writer<'a> {
    /// The cover, the method and the summary.
    pub fn begin(head: ReportHead<'a>) -> Self {
        let (layout, title) = cover_method_and_summary(head);
        let lang = head.lang;
        Self {
            head,
            layout,
            format: ScoreFormat::new(lang, head.report.overall_max_score),
            title,
            goal_titles: head
                .shape
                .goals
                .iter()
                .map(|g| (g.code.as_str(), localized(lang, &g.title_en, &g.title_fr)))
                .collect(),
        }
    }

    /// The pages of the next participants of the report (in its order), from their rows.
    pub fn participants(&mut self, participants: &[ComparisonRow], rows: &[ExportRow]) {
        let mut answers = rows.iter().peekable();
        for row in participants {
            self.participant(row, &mut answers);
        }
    }

    pub fn finish(self) -> Vec<u8> {
        self.layout.finish(&self.title)
    }

    /// One participant's page (or more): its figures, then its answers.
    fn participant<'r>(
        &mut self,
        row: &ComparisonRow,
        answers: &mut std::iter::Peekable<impl Iterator<Item = &'r ExportRow>>,
    ) {
        let report = self.head.report;
        let lang = self.head.lang;
        let tr = lang.tr();
        let format = &self.format;
        let layout = &mut self.layout;
        let goal_titles = &self.goal_titles;
        layout.new_page();
        layout.line(
            14.0,
            BOLD,
            &format!(
                "{} — {}",
                row.participant_code,
                localized(lang, &row.participant_name_en, &row.participant_name_fr)
            ),
        );
        layout.line(
            8.0,
            REGULAR,
            &tr.fmt(
                "export.pdf.participant_line",
                &[
                    ("state", &row.assessment_state),
                    ("revision", &row.snapshot.revision.to_string()),
                    ("date", &row.snapshot.submitted_at.date().to_string()),
                    ("digest", &row.snapshot.digest),
                ],
            ),
        );
        layout.gap(6.0);
        let columns = [0.0, 200.0, 260.0, 320.0, 380.0];
        layout.row(
            8.0,
            BOLD,
            &columns,
            &labels(
                lang,
                &["figure", "score", "completion", "previous", "change"],
            ),
        );
        let previous = marked(format.score(row.previous), report.previous_rescored);
        layout.row(
            8.0,
            REGULAR,
            &columns,
            &[
                tr.fmt(
                    "export.pdf.overall_rank",
                    &[(
                        "rank",
                        &match row.rank {
                            Some(rank) => rank.to_string(),
                            // Marked incomplete only when it is (as the API's `complete`): a
                            // complete figure without a score (all weights 0, nothing
                            // applicable) is unranked but not incomplete.
                            None if !row.compared.complete => {
                                tr.t("export.pdf.unranked").to_owned()
                            }
                            None => "—".to_owned(),
                        },
                    )],
                ),
                format.score(row.overall.score),
                percent(lang, row.overall.completion),
                previous,
                format.change(row.change),
            ],
        );
        for (figure, section) in row.sections.iter().zip(&report.sections) {
            let section_format = ScoreFormat::new(lang, section.max_score);
            layout.row(
                8.0,
                REGULAR,
                &columns,
                &[
                    format!(
                        "{} — {}",
                        section.code,
                        localized(lang, &section.title_en, &section.title_fr)
                    ),
                    section_format.score(figure.score),
                    percent(lang, figure.completion),
                    String::new(),
                    String::new(),
                ],
            );
        }
        layout.gap(8.0);
        let columns = [0.0, 70.0, 330.0, 380.0, 430.0];
        layout.row(
            8.0,
            BOLD,
            &columns,
            &labels(lang, &["goal", "title", "answer", "score", "weight"]),
        );
        let unit = ScoreFormat::new(lang, crate::domain::scoring::Decimal::ONE);
        while let Some(answer) = answers.next_if(|a| a.participant_code == row.participant_code) {
            let value = match answer.answer_state.as_str() {
                "not_applicable" => tr.t("export.pdf.not_applicable").to_owned(),
                "missing" => "—".to_owned(),
                _ => super::answer_text(lang, &answer.value),
            };
            layout.row(
                7.5,
                REGULAR,
                &columns,
                &[
                    answer.goal_code.clone(),
                    goal_titles
                        .get(answer.goal_code.as_str())
                        .map_or_else(|| answer.goal_title.clone(), |t| (*t).to_owned()),
                    value,
                    unit.score(answer.goal_score),
                    plain(lang, answer.weight),
                ],
            );
        }
    }
}

/// The cover, the method and the summary table with the distributions; the document's title.
fn cover_method_and_summary(content: ReportHead<'_>) -> (Layout, String) {
    let report = content.report;
    let stamp = content.stamp;
    let lang = content.lang;
    let tr = lang.tr();
    let format = ScoreFormat::new(lang, report.overall_max_score);
    let mut layout = Layout::new(tr.fmt(
        "export.pdf.footer",
        &[("cycle", &stamp.cycle_code), ("time", &stamp.generated_at)],
    ));

    // Cover.
    let title = tr.fmt("export.pdf.cycle_report", &[("cycle", &stamp.cycle_code)]);
    layout.gap(120.0);
    layout.line(22.0, BOLD, tr.t("export.pdf.pledge"));
    layout.line(18.0, BOLD, &title);
    layout.line(
        12.0,
        REGULAR,
        localized(lang, &report.cycle.title_en, &report.cycle.title_fr),
    );
    layout.gap(20.0);
    for (name, value) in [
        (
            label(lang, "framework_version"),
            stamp.framework_version.clone(),
        ),
        (label(lang, "roll_up"), report.roll_up.clone()),
        (
            tr.t("export.pdf.submitted"),
            tr.fmt(
                "export.pdf.submitted_of",
                &[
                    ("submitted", &report.submitted.to_string()),
                    ("total", &report.assessments.to_string()),
                ],
            ),
        ),
        (label(lang, "generated_at"), stamp.generated_at.clone()),
        (tr.t("export.pdf.fingerprint"), stamp.fingerprint.clone()),
    ] {
        layout.line(10.0, BOLD, name);
        layout.line(10.0, REGULAR, &value);
    }
    // The previous cycle, marked (as the report page marks it) when its figures are re-scored
    // on this cycle's framework version; the mark is explained here, once.
    if let Some(previous) = &report.previous_cycle {
        layout.line(10.0, BOLD, tr.t("report.previous_cycle"));
        layout.line(
            10.0,
            REGULAR,
            &marked(
                format!("{} ({})", previous.code, previous.framework_version),
                report.previous_rescored,
            ),
        );
        if report.previous_rescored {
            layout.paragraph(9.0, tr.t("export.pdf.rescored_note"));
        }
    }
    layout.gap(10.0);
    layout.paragraph(9.0, tr.t("export.pdf.provenance"));

    // Method: the methodology page itself.
    layout.new_page();
    super::method::print(&mut layout, lang);

    // Summary table and the distribution chart.
    layout.new_page();
    layout.line(16.0, BOLD, tr.t("export.pdf.summary"));
    layout.paragraph(9.0, tr.t("report.ranking_rule"));
    draw_distributions(&mut layout, content);
    let mut columns = vec![0.0, 30.0, 62.0, 190.0, 240.0];
    let mut header = labels(lang, &["rank", "code", "participant", "overall", "done"]);
    let section_width =
        ((WIDTH - 2.0 * MARGIN - 285.0) / report.sections.len().max(1) as f32).min(60.0);
    for (index, section) in report.sections.iter().enumerate() {
        columns.push(285.0 + index as f32 * section_width);
        header.push(section.code.clone());
    }
    layout.row(7.5, BOLD, &columns, &header);
    for row in &report.rows {
        layout.row(
            7.5,
            REGULAR,
            &columns,
            &summary_cells(row, &format, report, lang),
        );
    }

    (layout, title)
}

fn summary_cells(
    row: &ComparisonRow,
    format: &ScoreFormat,
    report: &crate::domain::report::comparison::CycleComparison,
    lang: Lang,
) -> Vec<String> {
    let mut cells = vec![
        row.rank.map_or_else(|| "—".to_owned(), |r| r.to_string()),
        row.participant_code.clone(),
        row.participant_name_en.clone(),
        format.score(row.overall.score),
        if row.overall.complete {
            percent(lang, row.overall.completion)
        } else {
            lang.tr().fmt(
                "export.pdf.incomplete_share",
                &[("share", &percent(lang, row.overall.completion))],
            )
        },
    ];
    for (figure, section) in row.sections.iter().zip(&report.sections) {
        cells.push(ScoreFormat::new(lang, section.max_score).score(figure.score));
    }
    cells
}

/// Box plots of every figure's distribution, on shares of each figure's maximum.
fn draw_distributions(layout: &mut Layout, content: ReportHead<'_>) {
    let report = content.report;
    let lang = content.lang;
    let tr = lang.tr();
    let rows = report.distributions.len() as f32;
    let height = 14.0 * rows + 30.0;
    layout.room(height);
    layout.line(10.0, BOLD, tr.t("export.pdf.distribution"));
    let label_width = 110.0;
    let plot_x = MARGIN + label_width;
    let plot_w = WIDTH - 2.0 * MARGIN - label_width - 60.0;
    for distribution in &report.distributions {
        layout.room(14.0);
        layout.y -= 14.0;
        let y = layout.y;
        let label = match report
            .sections
            .iter()
            .find(|s| Some(s.id) == distribution.section_id)
        {
            Some(section) => section.code.clone(),
            None => label(lang, "overall").to_owned(),
        };
        layout.text(
            MARGIN,
            y,
            7.5,
            REGULAR,
            &fit(REGULAR, &label, 7.5, label_width - 4.0),
        );
        let Some(d) = &distribution.distribution else {
            layout.text(
                plot_x,
                y,
                7.5,
                REGULAR,
                tr.t("export.pdf.no_complete_figure"),
            );
            continue;
        };
        // Geometry only: the figures' texts come from the report.
        use crate::presentation::format::geometry;
        let max = if distribution.max_score > crate::domain::scoring::Decimal::ZERO {
            geometry(distribution.max_score)
        } else {
            1.0
        };
        let x = |v: crate::domain::scoring::Decimal| {
            plot_x + plot_w * ((geometry(v) / max).clamp(0.0, 1.0) as f32)
        };
        let page = layout.page();
        page.set_stroke_gray(0.0);
        page.set_line_width(0.6);
        page.move_to(x(d.min), y + 3.0);
        page.line_to(x(d.max), y + 3.0);
        page.stroke();
        page.set_fill_gray(0.8);
        page.rect(x(d.q1), y - 1.0, (x(d.q3) - x(d.q1)).max(0.8), 8.0);
        page.fill_nonzero_and_stroke();
        page.set_line_width(1.5);
        page.move_to(x(d.median), y - 1.0);
        page.line_to(x(d.median), y + 7.0);
        page.stroke();
        page.set_fill_gray(0.0);
        let format = ScoreFormat::new(lang, distribution.max_score);
        layout.text(
            plot_x + plot_w + 6.0,
            y,
            7.0,
            REGULAR,
            &tr.fmt(
                "export.pdf.median",
                &[("value", &format.score(Some(d.median)))],
            ),
        );
    }
    layout.gap(8.0);
}
