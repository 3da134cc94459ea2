//! The cycle report as PDF: a cover, the method, the summary table with a chart of the
//! distributions, then one page (or more) per participant. Real text in the standard Helvetica
//! fonts (WinAnsi encoding), so the file is searchable and copyable; charts are vector shapes.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::{ExportError, ReportContent};
use crate::domain::report::comparison::ComparisonRow;
use crate::domain::report::progress::ProgressReport;
use crate::web::format::{ScoreFormat, percent};
use crate::web::i18n::Lang;

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// Pages being laid out: a cursor that starts a new page when the next line does not fit.
struct Layout {
    /// Pages already full.
    done: Vec<Content>,
    /// The page being written.
    current: Content,
    y: f32,
    footer: String,
}

impl Layout {
    fn new(footer: String) -> Self {
        Self {
            done: Vec::new(),
            current: footed_page(&footer, 1),
            y: HEIGHT - MARGIN,
            footer,
        }
    }

    fn new_page(&mut self) {
        let next = footed_page(&self.footer, self.done.len() + 2);
        self.done.push(std::mem::replace(&mut self.current, next));
        self.y = HEIGHT - MARGIN;
    }

    /// Every page, in order.
    fn into_pages(mut self) -> Vec<Content> {
        self.done.push(self.current);
        self.done
    }

    /// Makes room for `height` points, on a new page if needed.
    fn room(&mut self, height: f32) {
        if self.y - height < MARGIN {
            self.new_page();
        }
    }

    fn page(&mut self) -> &mut Content {
        &mut self.current
    }

    /// One line at the cursor.
    fn line(&mut self, size: f32, font: Name<'static>, text: &str) {
        self.room(size * 1.4);
        self.y -= size * 1.4;
        let y = self.y;
        draw_text(self.page(), MARGIN, y, size, font, text);
    }

    /// A paragraph wrapped to the page width.
    fn paragraph(&mut self, size: f32, text: &str) {
        for line in wrap(text, size, WIDTH - 2.0 * MARGIN) {
            self.line(size, REGULAR, &line);
        }
        self.y -= size * 0.6;
    }

    /// A table row: each cell at its column's x offset, cut to fit.
    fn row(&mut self, size: f32, font: Name<'static>, columns: &[f32], cells: &[String]) {
        self.room(size * 1.5);
        self.y -= size * 1.5;
        let y = self.y;
        for (index, (x, cell)) in columns.iter().zip(cells).enumerate() {
            let next = columns.get(index + 1).copied().unwrap_or(WIDTH - MARGIN);
            let fitted = fit(cell, size, next - x - 4.0);
            draw_text(self.page(), MARGIN + x, y, size, font, &fitted);
        }
    }

    fn gap(&mut self, points: f32) {
        self.y -= points;
    }
}

fn draw_text(content: &mut Content, x: f32, y: f32, size: f32, font: Name<'static>, text: &str) {
    content.begin_text();
    content.set_font(font, size);
    content.next_line(x, y);
    content.show(Str(&win_ansi(text)));
    content.end_text();
}

/// Text in the WinAnsi encoding of the standard fonts; characters it lacks become `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            'Œ' => 0x8C,
            'œ' => 0x9C,
            '−' => b'-',
            // French puts a narrow no-break space before `%`, `:` and `;`.
            '\u{202f}' => 0xA0,
            'Σ' => b'S',
            _ => b'?',
        })
        .collect()
}

/// Helvetica's average advance, as a share of the font size (good enough to wrap and cut).
const AVERAGE_ADVANCE: f32 = 0.5;

fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let per_line = ((width / (size * AVERAGE_ADVANCE)) as usize).max(10);
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > per_line {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

fn fit(text: &str, size: f32, width: f32) -> String {
    let max = ((width / (size * AVERAGE_ADVANCE)) as usize).max(3);
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

pub fn write(content: &ReportContent<'_>) -> Result<Vec<u8>, ExportError> {
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
    layout.gap(10.0);
    layout.paragraph(9.0, tr.t("export.pdf.provenance"));

    // Method: the methodology page's text.
    layout.new_page();
    layout.line(16.0, BOLD, tr.t("methodology.title"));
    layout.gap(6.0);
    layout.paragraph(9.0, tr.t("methodology.intro"));
    for (heading, body) in [
        ("methodology.goal_score", "methodology.goal_score_text"),
        (
            "methodology.section_score",
            "methodology.section_score_text",
        ),
        (
            "methodology.overall_score",
            "methodology.overall_score_text",
        ),
        ("methodology.completion", "methodology.completion_text"),
        ("methodology.rounding", "methodology.rounding_text"),
        ("methodology.ranks", "methodology.ranks_text"),
        ("methodology.distribution", "methodology.distribution_text"),
        ("methodology.change", "methodology.change_text"),
        ("methodology.snapshots", "methodology.snapshots_text"),
    ] {
        layout.line(11.0, BOLD, tr.t(heading));
        layout.paragraph(9.0, tr.t(body));
    }
    layout.paragraph(9.0, tr.t("export.pdf.formulas"));

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

    // One page per participant.
    let mut answers = content.rows.iter().peekable();
    for row in &report.rows {
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
        let previous = format.score(row.previous);
        layout.row(
            8.0,
            REGULAR,
            &columns,
            &[
                tr.fmt(
                    "export.pdf.overall_rank",
                    &[(
                        "rank",
                        &row.rank.map_or_else(
                            || tr.t("export.pdf.unranked").to_owned(),
                            |r| r.to_string(),
                        ),
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
        let unit = ScoreFormat::new(lang, 1.0);
        let goal_titles: std::collections::HashMap<&str, &str> = content
            .shape
            .goals
            .iter()
            .map(|g| (g.code.as_str(), localized(lang, &g.title_en, &g.title_fr)))
            .collect();
        while let Some(answer) = answers.next_if(|a| a.participant_code == row.participant_code) {
            let value = match answer.answer_state.as_str() {
                "not_applicable" => tr.t("export.pdf.not_applicable").to_owned(),
                "missing" => "—".to_owned(),
                _ => answer.value.clone(),
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

    Ok(assemble(layout.into_pages(), &title))
}

/// Labels `export.label.{key}` in `lang`.
fn label(lang: Lang, key: &str) -> &'static str {
    lang.tr().t_static(&format!("export.label.{key}"))
}

fn labels(lang: Lang, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|key| label(lang, key).to_owned()).collect()
}

/// The French text when asked for and present, else the English one.
fn localized<'a>(lang: Lang, english: &'a str, french: &'a str) -> &'a str {
    match lang {
        Lang::Fr if !french.trim().is_empty() => french,
        _ => english,
    }
}

/// A plain number (a weight, a target) as `lang` writes decimals.
fn plain(lang: Lang, value: f64) -> String {
    let text = value.to_string();
    match lang {
        Lang::Fr => text.replace('.', ","),
        Lang::En => text,
    }
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
fn draw_distributions(layout: &mut Layout, content: &ReportContent<'_>) {
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
        let page = layout.page();
        draw_text(
            page,
            MARGIN,
            y,
            7.5,
            REGULAR,
            &fit(&label, 7.5, label_width - 4.0),
        );
        let Some(d) = &distribution.distribution else {
            draw_text(
                page,
                plot_x,
                y,
                7.5,
                REGULAR,
                tr.t("export.pdf.no_complete_figure"),
            );
            continue;
        };
        let max = if distribution.max_score > 0.0 {
            distribution.max_score
        } else {
            1.0
        };
        let x = |v: f64| plot_x + plot_w * ((v / max).clamp(0.0, 1.0) as f32);
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
        let format = ScoreFormat::new(lang, max);
        draw_text(
            page,
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

/// One participant's progress report as PDF (the figures of the progress report page).
pub fn progress(report: &ProgressReport, generated_at: &str, lang: Lang) -> Vec<u8> {
    let tr = lang.tr();
    let format = ScoreFormat::new(lang, report.overall_max_score);
    let unit = ScoreFormat::new(lang, 1.0);
    let mut layout = Layout::new(tr.fmt(
        "export.pdf.progress_footer",
        &[
            ("participant", &report.participant.code),
            ("cycle", &report.cycle.code),
            ("time", generated_at),
        ],
    ));
    let title = tr.fmt(
        "export.pdf.progress_title",
        &[(
            "participant",
            localized(
                lang,
                &report.participant.name_en,
                &report.participant.name_fr,
            ),
        )],
    );
    layout.line(18.0, BOLD, &title);
    layout.line(
        11.0,
        REGULAR,
        &tr.fmt(
            "export.pdf.cycle_line",
            &[
                ("cycle", &report.cycle.code),
                (
                    "title",
                    localized(lang, &report.cycle.title_en, &report.cycle.title_fr),
                ),
            ],
        ),
    );
    layout.line(
        9.0,
        REGULAR,
        &tr.fmt(
            "export.pdf.version_line",
            &[
                ("version", &report.cycle.framework_version),
                ("roll_up", &report.roll_up),
                ("state", &report.assessment_state),
                ("time", generated_at),
            ],
        ),
    );
    match &report.snapshot {
        Some(snapshot) => layout.line(
            8.0,
            REGULAR,
            &tr.fmt(
                "export.pdf.from_snapshot",
                &[
                    ("revision", &snapshot.revision.to_string()),
                    ("date", &snapshot.submitted_at.date().to_string()),
                    ("digest", &snapshot.digest),
                ],
            ),
        ),
        None => layout.line(9.0, BOLD, tr.t("export.pdf.not_submitted")),
    }
    layout.gap(8.0);

    layout.line(12.0, BOLD, tr.t("export.pdf.scores"));
    let columns = [0.0, 190.0, 245.0, 305.0, 360.0, 415.0];
    let header = labels(
        lang,
        &[
            "figure",
            "score",
            "completion",
            "previous",
            "change",
            "alliance",
        ],
    );
    layout.row(8.0, BOLD, &columns, &header);
    let alliance =
        |fmt: &ScoreFormat, d: Option<&crate::domain::report::progress::AnonymousDistribution>| {
            d.map_or_else(
                || "—".to_owned(),
                |d| {
                    format!(
                        "{} ({}–{})",
                        fmt.score(Some(d.median)),
                        fmt.score(Some(d.q1)),
                        fmt.score(Some(d.q3))
                    )
                },
            )
        };
    layout.row(
        8.0,
        REGULAR,
        &columns,
        &[
            label(lang, "overall").to_owned(),
            format.score(report.overall.and_then(|o| o.score)),
            percent(lang, report.overall.and_then(|o| o.completion)),
            format.score(report.overall_previous),
            format.change(report.overall_change),
            alliance(
                &format,
                report.alliance.as_ref().and_then(|a| a.overall.as_ref()),
            ),
        ],
    );
    for line in &report.sections {
        let fmt = ScoreFormat::new(lang, line.section.max_score);
        layout.row(
            8.0,
            REGULAR,
            &columns,
            &[
                format!(
                    "{} — {}",
                    line.section.code,
                    localized(lang, &line.section.title_en, &line.section.title_fr)
                ),
                fmt.score(line.figure.score),
                percent(lang, line.figure.completion),
                fmt.score(line.previous),
                fmt.change(line.change),
                alliance(&fmt, line.alliance.as_ref()),
            ],
        );
    }
    if report.alliance.is_none() {
        layout.paragraph(8.0, tr.t("export.pdf.alliance_withheld"));
    }
    layout.gap(8.0);

    layout.line(12.0, BOLD, tr.t("export.pdf.trend"));
    let columns = [0.0, 120.0, 200.0, 300.0];
    layout.row(
        8.0,
        BOLD,
        &columns,
        &labels(
            lang,
            &["cycle", "version", "as_published", "on_this_version"],
        ),
    );
    for point in &report.trend {
        layout.row(
            8.0,
            REGULAR,
            &columns,
            &[
                point.cycle.code.clone(),
                point.cycle.framework_version.clone(),
                format.score(point.published_overall),
                if point.comparable {
                    format.score(point.overall)
                } else {
                    tr.t("export.pdf.not_comparable").to_owned()
                },
            ],
        );
    }
    layout.gap(8.0);

    layout.line(12.0, BOLD, tr.t("export.pdf.moved"));
    let columns = [0.0, 300.0, 360.0, 420.0];
    if report.moved.is_empty() {
        layout.paragraph(8.0, tr.t("export.pdf.no_moved"));
    } else {
        layout.row(
            8.0,
            BOLD,
            &columns,
            &labels(lang, &["goal", "previous", "now", "change"]),
        );
        for answer in &report.moved {
            layout.row(
                8.0,
                REGULAR,
                &columns,
                &[
                    format!(
                        "{} — {}",
                        answer.goal_code,
                        localized(lang, &answer.goal_title_en, &answer.goal_title_fr)
                    ),
                    unit.score(answer.previous_score),
                    unit.score(answer.score),
                    unit.change(answer.change),
                ],
            );
        }
    }
    layout.gap(8.0);

    layout.line(12.0, BOLD, tr.t("export.pdf.national_goals"));
    if report.national_goals.is_empty() {
        layout.paragraph(8.0, tr.t("export.pdf.no_national_goals"));
    } else {
        let columns = [0.0, 50.0, 250.0, 300.0, 350.0, 400.0, 440.0];
        layout.row(
            8.0,
            BOLD,
            &columns,
            &labels(
                lang,
                &[
                    "section",
                    "goal",
                    "baseline",
                    "current",
                    "target",
                    "year",
                    "attainment",
                ],
            ),
        );
        for goal in &report.national_goals {
            let optional = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| plain(lang, v));
            layout.row(
                8.0,
                REGULAR,
                &columns,
                &[
                    goal.section_code.clone(),
                    goal.title.clone(),
                    optional(goal.baseline_value),
                    optional(goal.current_value),
                    plain(lang, goal.target_value),
                    goal.target_year.to_string(),
                    percent(lang, goal.attainment),
                ],
            );
        }
    }
    layout.gap(8.0);

    layout.line(12.0, BOLD, tr.t("export.pdf.open_clarifications"));
    if report.clarifications.is_empty() {
        layout.paragraph(8.0, tr.t("export.pdf.none"));
    }
    for request in &report.clarifications {
        layout.paragraph(
            8.0,
            &format!(
                "{} ({}): {}",
                request.goal_code, request.state, request.question
            ),
        );
    }
    layout.gap(8.0);

    layout.line(12.0, BOLD, tr.t("export.pdf.answers"));
    let columns = [0.0, 70.0, 330.0, 380.0, 430.0];
    for (index, line) in report.sections.iter().enumerate() {
        layout.line(
            9.0,
            BOLD,
            &format!(
                "{} — {}",
                line.section.code,
                localized(lang, &line.section.title_en, &line.section.title_fr)
            ),
        );
        layout.row(
            8.0,
            BOLD,
            &columns,
            &labels(lang, &["goal", "title", "answer", "score", "weight"]),
        );
        for answer in report.answers.iter().filter(|a| a.section == index) {
            let value = match (answer.state.as_str(), answer.value()) {
                ("not_applicable", _) => tr.t("export.pdf.not_applicable").to_owned(),
                (_, Some(value)) => value.text(),
                (_, None) => "—".to_owned(),
            };
            layout.row(
                7.5,
                REGULAR,
                &columns,
                &[
                    answer.goal_code.clone(),
                    localized(lang, &answer.goal_title_en, &answer.goal_title_fr).to_owned(),
                    value,
                    unit.score(answer.score),
                    plain(lang, answer.weight),
                ],
            );
        }
    }
    assemble(layout.into_pages(), &title)
}

/// The document's objects: catalogue, page tree, pages, their contents and the two fonts.
/// A blank page with its footer ("… — page n").
fn footed_page(footer: &str, number: usize) -> Content {
    let mut content = Content::new();
    draw_text(
        &mut content,
        MARGIN,
        30.0,
        7.0,
        REGULAR,
        &format!("{footer} — page {number}"),
    );
    content
}

fn assemble(pages: Vec<Content>, title: &str) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let first_page = 6;
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(first_page + 2 * i32::try_from(i).unwrap_or(i32::MAX / 4)))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(i32::try_from(page_ids.len()).unwrap_or(i32::MAX));
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("Pledge Tracker"));
    for (content, id) in pages.into_iter().zip(&page_ids) {
        let content_id = Ref::new(id.get() + 1);
        let mut page = pdf.page(*id);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT));
        page.parent(tree);
        page.contents(content_id);
        page.resources()
            .fonts()
            .pair(REGULAR, regular)
            .pair(BOLD, bold);
        page.finish();
        // Page content compresses about tenfold (repeated operators and positions).
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&content.finish(), 6);
        pdf.stream(content_id, &compressed)
            .filter(pdf_writer::Filter::FlateDecode);
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_encoded_for_the_standard_fonts_and_wrapped_to_the_page() {
        assert_eq!(win_ansi("Défense — 2 € …"), b"D\xe9fense \x97 2 \x80 \x85");
        assert_eq!(win_ansi("−1 ≤ 2"), b"-1 ? 2");
        let lines = wrap(&"word ".repeat(100), 10.0, 200.0);
        assert!(lines.len() > 5 && lines.iter().all(|l| l.chars().count() <= 40));
        assert_eq!(fit("a long participant name", 10.0, 50.0), "a long pa…");
    }
}
