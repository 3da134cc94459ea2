//! The progress report: one participant's scores over cycles.

use super::cycle_report::marked;
use super::layout::*;
use super::{label, labels, localized, plain};
use crate::domain::report::progress::ProgressReport;
use crate::presentation::format::{ScoreFormat, percent};
use crate::presentation::i18n::Lang;

/// One participant's progress report as PDF (the figures of the progress report page).
pub fn progress(report: &ProgressReport, generated_at: &str, lang: Lang) -> Vec<u8> {
    let tr = lang.tr();
    let format = ScoreFormat::new(lang, report.overall_max_score);
    let unit = ScoreFormat::new(lang, crate::domain::scoring::Decimal::ONE);
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
    // Figures of earlier cycles re-scored on this cycle's framework version are marked; the
    // mark is explained here, once.
    let previous_rescored = report.previous_rescored;
    if previous_rescored || report.trend.iter().any(|p| p.rescored) {
        layout.paragraph(8.0, tr.t("export.pdf.rescored_note"));
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
            marked(format.score(report.overall_previous), previous_rescored),
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
                marked(fmt.score(line.previous), previous_rescored),
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
                    marked(format.score(point.overall), point.rescored)
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
                    marked(unit.score(answer.previous_score), previous_rescored),
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
            let optional = |v: Option<crate::domain::scoring::Decimal>| {
                v.map_or_else(|| "—".to_owned(), |v| plain(lang, v))
            };
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
                (_, Some(value)) => super::answer_text(lang, &value.text()),
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
    layout.finish(&title)
}
