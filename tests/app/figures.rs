//! One figure, one text: a property test generates frameworks (every scale kind, weights
//! including 0, both roll-ups) and answers (not applicable and missing ones among them) for a
//! handful of participants, writes the cycle, and reads every figure back from the comparison
//! page (English and French), the API, and each export file (CSV with `csv`, XLSX with
//! `calamine`, JSON, PDF text with `lopdf`). Every score, completion and rank must read the same
//! as the figure computed here, independently of the product, from the generated answers with
//! `rust_decimal` and the documented method (docs/scoring.md): quotients carried to 12 decimals,
//! sums exact, shown figures rounded once, half away from zero; ranks dense over the exact totals.
//!
//! Each case needs its own database, so there are few cases (`CASES`), from a fixed seed, with
//! no failure persistence: every run (and CI) checks the same cases. Values are drawn from small
//! grids, so ties in totals and halves at the last shown decimal (0.8125, 10.125) are common.

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;

use calamine::{Data, DataType, Reader, Xlsx, open_workbook_from_rs};
use pledge::demo::bulk::FrameworkParts;
use pledge::domain::framework::Framework;
use pledge::domain::scoring::{AnswerState, AnswerValue, Decimal};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rust_decimal::RoundingStrategy;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::reports::{cycle_row, store_framework, submission, write_cycle};
use crate::support::{TestApp, TestUser, body_bytes, body_text};

/// Cases per run: each spawns a database and renders every format (about 2 s each).
const CASES: u32 = 8;
/// The participants answering (their codes exist in every test database).
const PARTICIPANTS: [&str; 5] = ["FRA", "DEU", "EST", "POL", "ITA"];

// ---------------------------------------------------------------------------------------------
// What is generated.

#[derive(Debug, Clone)]
enum Scale {
    Maturity { lowest: i16, highest: i16 },
    Numeric { min: i64, max: i64, decimals: u32 },
    YesNo,
}

#[derive(Debug, Clone)]
struct GoalSpec {
    section: usize,
    weight: Decimal,
    scale: Scale,
}

#[derive(Debug, Clone)]
struct Case {
    sum: bool,
    sections: usize,
    goals: Vec<GoalSpec>,
    /// Per participant, per goal.
    answers: Vec<Vec<AnswerState>>,
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn weight() -> impl Strategy<Value = Decimal> {
    prop::sample::select(vec!["0", "1", "1", "2", "0.5", "3.25", "20"]).prop_map(d)
}

fn scale() -> impl Strategy<Value = Scale> {
    prop_oneof![
        (0i16..=1, 1i16..=5).prop_map(|(lowest, span)| Scale::Maturity {
            lowest,
            highest: lowest + span
        }),
        prop::sample::select(vec![
            (0, 1, 4),
            (0, 20, 3),
            (0, 100, 1),
            (-5, 5, 2),
            (0, 3, 0)
        ])
        .prop_map(|(min, max, decimals)| Scale::Numeric { min, max, decimals }),
        Just(Scale::YesNo),
    ]
}

/// An answer on `scale`: mostly answered, from a grid that makes halves at the last shown
/// decimal likely; sometimes not applicable or missing.
fn answer(scale: &Scale) -> BoxedStrategy<AnswerState> {
    let answered: BoxedStrategy<AnswerValue> = match *scale {
        Scale::Maturity { lowest, highest } => {
            (lowest..=highest).prop_map(AnswerValue::Level).boxed()
        }
        Scale::Numeric { min, max, decimals } => {
            let unit = Decimal::new(1, decimals);
            let steps = (Decimal::from(max - min) / unit)
                .to_string()
                .parse::<i64>()
                .unwrap();
            // The ends, the middle, and values ending in 5 at the last declared decimal.
            prop_oneof![
                Just(0i64),
                Just(steps),
                Just(steps / 2),
                0..=steps,
                (0..=steps / 10).prop_map(move |k| (k * 10 + 5).min(steps)),
            ]
            .prop_map(move |k| {
                let mut value = Decimal::from(min) + unit * Decimal::from(k);
                value.rescale(decimals);
                AnswerValue::Number(value)
            })
            .boxed()
        }
        Scale::YesNo => any::<bool>().prop_map(AnswerValue::Bool).boxed(),
    };
    prop_oneof![
        8 => answered.prop_map(AnswerState::Answered),
        1 => Just(AnswerState::NotApplicable),
        1 => Just(AnswerState::Missing),
    ]
    .boxed()
}

fn case() -> impl Strategy<Value = Case> {
    (any::<bool>(), 1usize..=3)
        .prop_flat_map(|(sum, sections)| {
            let goals = prop::collection::vec(
                (0..sections, weight(), scale()).prop_map(|(section, weight, scale)| GoalSpec {
                    section,
                    weight,
                    scale,
                }),
                sections..=sections + 4,
            )
            .prop_map(move |mut goals| {
                // Every section has a goal: the first goals go one to each section.
                for (index, goal) in goals.iter_mut().take(sections).enumerate() {
                    goal.section = index;
                }
                goals.sort_by_key(|g| g.section);
                goals
            });
            (Just(sum), Just(sections), goals)
        })
        .prop_flat_map(|(sum, sections, goals)| {
            let one: Vec<BoxedStrategy<AnswerState>> =
                goals.iter().map(|g| answer(&g.scale)).collect();
            let answers = prop::collection::vec(one, 3..=PARTICIPANTS.len());
            (Just(sum), Just(sections), Just(goals), answers)
        })
        .prop_map(|(sum, sections, goals, answers)| Case {
            sum,
            sections,
            goals,
            answers,
        })
}

impl Case {
    fn framework(&self) -> Framework {
        let sections: Vec<serde_json::Value> = (0..self.sections)
            .map(|s| {
                let goals: Vec<serde_json::Value> = self
                    .goals
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| g.section == s)
                    .map(|(index, goal)| {
                        let scale = match goal.scale {
                            Scale::Maturity { lowest, highest } => json!({
                                "kind": "maturity",
                                "levels": (lowest..=highest)
                                    .map(|l| json!({"level": l, "name": {"en": format!("Level {l}")}}))
                                    .collect::<Vec<_>>(),
                            }),
                            Scale::Numeric { min, max, decimals } => json!({
                                "kind": "numeric", "min": min, "max": max, "decimals": decimals,
                            }),
                            Scale::YesNo => json!({"kind": "yes_no"}),
                        };
                        json!({
                            "code": format!("g{index}"),
                            "title": {"en": format!("Goal {index}"), "fr": format!("Objectif {index}")},
                            "weight": goal.weight.to_string().parse::<f64>().unwrap(),
                            "scale": scale,
                        })
                    })
                    .collect();
                json!({
                    "code": format!("S{s}"),
                    "title": {"en": format!("Section {s}"), "fr": format!("Section {s}")},
                    "goals": goals,
                })
            })
            .collect();
        let document = json!({
            "format": "pledge-framework/1",
            "family": "figures",
            "version": "1",
            "title": {"en": "Generated", "fr": "Généré"},
            "roll_up": if self.sum { "sum" } else { "weighted_mean" },
            "sections": sections,
        });
        Framework::from_json(&document.to_string()).expect("a valid generated framework")
    }
}

// ---------------------------------------------------------------------------------------------
// The figures, computed here from the answers by the documented method.

/// A quotient carried to 12 decimals, half away from zero.
fn q12(numerator: Decimal, denominator: Decimal) -> Decimal {
    (numerator / denominator).round_dp_with_strategy(12, RoundingStrategy::MidpointAwayFromZero)
}

/// The documented display rounding: half away from zero, exactly `decimals` decimals.
fn shown_text(value: Decimal, decimals: u32) -> String {
    let mut rounded =
        value.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(decimals);
    if rounded.is_zero() {
        rounded.set_sign_positive(true);
    }
    rounded.to_string()
}

/// (goal score, points w·s) of an answered goal.
fn goal_points(goal: &GoalSpec, value: &AnswerValue) -> (Decimal, Decimal) {
    let (part, span) = match (&goal.scale, value) {
        (Scale::Maturity { lowest, highest }, AnswerValue::Level(level)) => (
            Decimal::from(level - lowest),
            Decimal::from(highest - lowest),
        ),
        (Scale::Numeric { min, max, .. }, AnswerValue::Number(n)) => {
            (n - Decimal::from(*min), Decimal::from(max - min))
        }
        (Scale::YesNo, AnswerValue::Bool(yes)) => (
            if *yes { Decimal::ONE } else { Decimal::ZERO },
            Decimal::ONE,
        ),
        other => panic!("generated a value off its scale: {other:?}"),
    };
    (q12(part, span), q12(goal.weight * part, span))
}

#[derive(Debug, Clone, PartialEq)]
struct Expected {
    /// Exact (12 decimals for quotients), before display rounding.
    score: Option<Decimal>,
    completion: Option<Decimal>,
    complete: bool,
    /// Shown decimals of the score.
    decimals: u32,
}

impl Expected {
    fn score_text(&self) -> Option<String> {
        self.score.map(|s| shown_text(s, self.decimals))
    }

    /// The completion share as the API and files give it (2 decimals).
    fn completion_text(&self) -> Option<String> {
        self.completion.map(|c| shown_text(c, 2))
    }

    /// The completion as a page or PDF prints it (a whole percentage, from the shown share).
    fn percent_text(&self, french: bool) -> String {
        match self.completion {
            None => "—".to_owned(),
            Some(c) => {
                let share: Decimal = shown_text(c, 2).parse().unwrap();
                let percent = shown_text(share * Decimal::ONE_HUNDRED, 0);
                if french {
                    format!("{percent}\u{a0}%")
                } else {
                    format!("{percent}%")
                }
            }
        }
    }
}

fn roll_up(case: &Case, answers: &[AnswerState], section: Option<usize>) -> Expected {
    let (mut points, mut weights, mut answered, mut applicable) =
        (Decimal::ZERO, Decimal::ZERO, 0u32, 0u32);
    let mut max = Decimal::ZERO;
    for (goal, answer) in case.goals.iter().zip(answers) {
        if section.is_some_and(|s| s != goal.section) {
            continue;
        }
        max += goal.weight;
        match answer {
            AnswerState::NotApplicable => {}
            AnswerState::Missing => applicable += 1,
            AnswerState::Answered(value) => {
                applicable += 1;
                answered += 1;
                points += goal_points(goal, value).1;
                weights += goal.weight;
            }
        }
    }
    let score = match (answered, case.sum) {
        (0, _) => None,
        (_, true) => Some(points),
        (_, false) if weights.is_zero() => None,
        (_, false) => Some(q12(points, weights)),
    };
    let max = if case.sum { max } else { Decimal::ONE };
    Expected {
        score,
        completion: (applicable > 0)
            .then(|| q12(Decimal::from(answered), Decimal::from(applicable))),
        complete: answered == applicable,
        decimals: if max <= Decimal::ONE { 3 } else { 2 },
    }
}

/// Dense ranks of the complete overall figures' exact totals: 1 for the highest, ties shared.
fn dense_ranks(overall: &[Expected]) -> Vec<Option<u32>> {
    let mut distinct: Vec<Decimal> = overall
        .iter()
        .filter(|e| e.complete)
        .filter_map(|e| e.score)
        .collect();
    distinct.sort_by(|a, b| b.cmp(a));
    distinct.dedup();
    overall
        .iter()
        .map(|e| {
            let score = e.score.filter(|_| e.complete)?;
            Some(distinct.iter().position(|d| *d == score).unwrap() as u32 + 1)
        })
        .collect()
}

/// Every figure of one participant, as text.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    rank: Option<u32>,
    overall: Expected,
    sections: Vec<Expected>,
    /// Per goal (document order): the goal score shown with 3 decimals.
    goals: Vec<Option<String>>,
}

fn expected(case: &Case) -> BTreeMap<&'static str, Row> {
    let overall: Vec<Expected> = case
        .answers
        .iter()
        .map(|a| roll_up(case, a, None))
        .collect();
    let ranks = dense_ranks(&overall);
    case.answers
        .iter()
        .enumerate()
        .map(|(p, answers)| {
            let row = Row {
                rank: ranks[p],
                overall: overall[p].clone(),
                sections: (0..case.sections)
                    .map(|s| roll_up(case, answers, Some(s)))
                    .collect(),
                goals: case
                    .goals
                    .iter()
                    .zip(answers)
                    .map(|(goal, answer)| match answer {
                        AnswerState::Answered(value) => {
                            Some(shown_text(goal_points(goal, value).0, 3))
                        }
                        _ => None,
                    })
                    .collect(),
            };
            (PARTICIPANTS[p], row)
        })
        .collect()
}

fn opt(text: &Option<String>) -> &str {
    text.as_deref().unwrap_or("")
}

fn french(text: &str) -> String {
    text.replace('.', ",")
}

// ---------------------------------------------------------------------------------------------
// Reading each format back.

/// A figure as the API and the JSON export write it: the number's own text.
#[derive(Deserialize)]
struct ApiFigure {
    score: Option<Box<RawValue>>,
    completion: Option<Box<RawValue>>,
    complete: bool,
}

#[derive(Deserialize)]
struct ApiRow {
    participant_code: String,
    rank: Option<u32>,
    overall: ApiFigure,
    sections: Vec<ApiFigure>,
}

#[derive(Deserialize)]
struct ApiReport {
    /// `items` in the API's pages, `rows` in the JSON export's report.
    #[serde(alias = "items")]
    rows: Vec<ApiRow>,
}

#[derive(Deserialize)]
struct ExportDocument {
    report: ApiReport,
    rows: Vec<ExportRow>,
}

#[derive(Deserialize)]
struct ExportRow {
    participant_code: String,
    goal_code: String,
    goal_score: Option<Box<RawValue>>,
    section_score: Option<Box<RawValue>>,
    overall_score: Option<Box<RawValue>>,
    rank: Option<u32>,
}

fn raw(value: &Option<Box<RawValue>>) -> Option<String> {
    value.as_ref().map(|v| v.get().to_owned())
}

/// The API's (and the JSON export's) report rows against the expected figures.
fn check_api_rows(source: &str, rows: &[ApiRow], expected: &BTreeMap<&str, Row>) {
    assert_eq!(
        rows.len(),
        expected.len(),
        "{source}: one row per participant"
    );
    for row in rows {
        let want = &expected[row.participant_code.as_str()];
        let code = &row.participant_code;
        assert_eq!(row.rank, want.rank, "{source} {code}: rank");
        assert_eq!(
            raw(&row.overall.score),
            want.overall.score_text(),
            "{source} {code}: overall"
        );
        assert_eq!(
            raw(&row.overall.completion),
            want.overall.completion_text(),
            "{source} {code}: completion"
        );
        assert_eq!(
            row.overall.complete, want.overall.complete,
            "{source} {code}: complete"
        );
        for (s, (got, want)) in row.sections.iter().zip(&want.sections).enumerate() {
            assert_eq!(raw(&got.score), want.score_text(), "{source} {code}: S{s}");
            assert_eq!(
                raw(&got.completion),
                want.completion_text(),
                "{source} {code}: S{s} completion"
            );
        }
    }
}

/// The text of every cell of every body row of the ranking table, tags removed.
fn table_rows(html: &str) -> Vec<Vec<String>> {
    let start = html
        .find(r#"<caption id="ranking-caption">"#)
        .expect("the ranking table");
    let body = &html[start..];
    let body = &body[body.find("<tbody>").unwrap()..body.find("</tbody>").unwrap()];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<t")
                .skip(1)
                .filter(|cell| cell.starts_with('d') || cell.starts_with('h'))
                .map(|cell| {
                    let mut text = String::new();
                    let mut in_tag = true;
                    for c in cell.chars() {
                        match c {
                            '<' => in_tag = true,
                            '>' => in_tag = false,
                            c if !in_tag => text.push(c),
                            _ => {}
                        }
                    }
                    text.replace("&nbsp;", "\u{a0}")
                        .replace("&#160;", "\u{a0}")
                        .trim()
                        .to_owned()
                })
                .collect()
        })
        .collect()
}

/// The comparison page's table (rank, participant, compared, previous, change, overall,
/// completion, sections…, state) against the expected figures.
fn check_page(html: &str, expected: &BTreeMap<&str, Row>, fr: bool) {
    let rows = table_rows(html);
    assert_eq!(rows.len(), expected.len(), "page rows");
    let local = |text: Option<String>| match text {
        None => "—".to_owned(),
        Some(text) if fr => french(&text),
        Some(text) => text,
    };
    for cells in rows {
        let code = cells[1].split_whitespace().next().unwrap().to_owned();
        let want = &expected[code.as_str()];
        let rank = cells[0].split_whitespace().next().unwrap_or("");
        assert_eq!(
            rank,
            want.rank.map_or("—".to_owned(), |r| r.to_string()),
            "page {code}: rank"
        );
        assert_eq!(
            cells[2],
            local(want.overall.score_text()),
            "page {code}: compared"
        );
        assert_eq!(
            cells[5],
            local(want.overall.score_text()),
            "page {code}: overall"
        );
        assert_eq!(
            cells[6],
            want.overall.percent_text(fr),
            "page {code}: completion"
        );
        for (s, want) in want.sections.iter().enumerate() {
            assert_eq!(cells[7 + s], local(want.score_text()), "page {code}: S{s}");
        }
    }
}

fn check_csv(bytes: &[u8], case: &Case, expected: &BTreeMap<&str, Row>) {
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let mut seen = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let code = &record[column("participant_code")];
        let want = &expected[code];
        let goal: usize = record[column("goal_code")][1..].parse().unwrap();
        let section = case.goals[goal].section;
        assert_eq!(
            &record[column("rank")],
            want.rank.map_or(String::new(), |r| r.to_string()),
            "CSV {code}: rank"
        );
        assert_eq!(
            &record[column("overall_score")],
            opt(&want.overall.score_text()),
            "CSV {code}: overall"
        );
        assert_eq!(
            &record[column("section_score")],
            opt(&want.sections[section].score_text()),
            "CSV {code} g{goal}: section"
        );
        assert_eq!(
            &record[column("goal_score")],
            opt(&want.goals[goal]),
            "CSV {code} g{goal}: goal score"
        );
        seen += 1;
    }
    assert_eq!(
        seen,
        expected.len() * case.goals.len(),
        "CSV: one row per answer"
    );
}

/// A number cell's value and its text under its number format (`0.000`, `0.00`, `0%`).
fn cell_text(cell: Option<&Data>, decimals: usize) -> Option<String> {
    cell.and_then(|c| c.get_float())
        .map(|v| format!("{v:.decimals$}"))
}

fn check_xlsx(bytes: Vec<u8>, case: &Case, expected: &BTreeMap<&str, Row>) {
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let summary = workbook.worksheet_range("Summary").unwrap();
    let same = |cell: Option<&Data>, want: Option<String>, what: &str| {
        let decimals = want
            .as_deref()
            .map_or(0, |t| t.split('.').nth(1).map_or(0, str::len));
        assert_eq!(
            cell_text(cell, decimals),
            want,
            "XLSX {what}: the cell's text"
        );
        if let Some(want) = want {
            assert_eq!(
                cell.and_then(|c| c.get_float()),
                Some(want.parse::<f64>().unwrap()),
                "XLSX {what}: the cell's value is the shown figure"
            );
        }
    };
    let mut seen = 0;
    for row in summary.rows().skip(1) {
        let code = row[1].to_string();
        let want = &expected[code.as_str()];
        assert_eq!(
            row[0].get_float().map(|r| r as u32),
            want.rank,
            "XLSX {code}: rank"
        );
        same(
            row.get(4),
            want.overall.score_text(),
            &format!("{code} overall"),
        );
        same(
            row.get(6),
            want.overall.completion_text(),
            &format!("{code} completion"),
        );
        for (s, want) in want.sections.iter().enumerate() {
            same(row.get(7 + s), want.score_text(), &format!("{code} S{s}"));
        }
        seen += 1;
    }
    assert_eq!(seen, expected.len());
    // Each section's sheet: the section score and its goals' scores.
    for s in 0..case.sections {
        let sheet = workbook.worksheet_range(&format!("S{s}")).unwrap();
        let goals: Vec<usize> = (0..case.goals.len())
            .filter(|g| case.goals[*g].section == s)
            .collect();
        for row in sheet.rows().skip(1) {
            let code = row[0].to_string();
            let want = &expected[code.as_str()];
            same(
                row.get(2),
                want.sections[s].score_text(),
                &format!("{code} S{s} sheet"),
            );
            for (offset, goal) in goals.iter().enumerate() {
                same(
                    row.get(4 + offset),
                    want.goals[*goal].clone(),
                    &format!("{code} g{goal}"),
                );
            }
        }
    }
}

fn check_json(text: &str, case: &Case, expected: &BTreeMap<&str, Row>) {
    let document: ExportDocument = serde_json::from_str(text).unwrap();
    check_api_rows("JSON export", &document.report.rows, expected);
    assert_eq!(document.rows.len(), expected.len() * case.goals.len());
    for row in &document.rows {
        let want = &expected[row.participant_code.as_str()];
        let goal: usize = row.goal_code[1..].parse().unwrap();
        let code = &row.participant_code;
        assert_eq!(row.rank, want.rank, "JSON {code}: rank");
        assert_eq!(
            raw(&row.overall_score),
            want.overall.score_text(),
            "JSON {code}"
        );
        assert_eq!(
            raw(&row.section_score),
            want.sections[case.goals[goal].section].score_text(),
            "JSON {code} g{goal}: section"
        );
        assert_eq!(
            raw(&row.goal_score),
            want.goals[goal],
            "JSON {code} g{goal}"
        );
    }
}

/// The PDF's text lines, page by page.
fn pdf_pages(bytes: &[u8]) -> Vec<Vec<String>> {
    crate::pdf::pages_text(bytes)
        .iter()
        .map(|page| page.lines().map(|l| l.trim().to_owned()).collect())
        .collect()
}

/// The cycle report PDF: the summary table's rows and each participant's page.
fn check_pdf(bytes: &[u8], case: &Case, expected: &BTreeMap<&str, Row>, fr: bool) {
    let local = |text: Option<String>| match text {
        None => "—".to_owned(),
        Some(text) if fr => french(&text),
        Some(text) => text,
    };
    let pages = pdf_pages(bytes);
    let summary = pages
        .iter()
        .position(|p| p.iter().any(|l| l == "Summary" || l == "Synthèse"))
        .expect("the summary page");
    for (code, want) in expected {
        // The summary row: rank, code, name, overall, completion, sections.
        let lines = &pages[summary];
        let at = lines
            .iter()
            .position(|l| l == code)
            .unwrap_or_else(|| panic!("PDF summary lists {code}: {lines:?}"));
        assert_eq!(
            lines[at - 1],
            want.rank.map_or("—".to_owned(), |r| r.to_string()),
            "PDF summary {code}: rank"
        );
        let cells = &lines[at + 2..];
        assert_eq!(
            cells[0],
            local(want.overall.score_text()),
            "PDF summary {code}: overall"
        );
        let percent = want.overall.percent_text(fr);
        if want.overall.complete {
            assert_eq!(cells[1], percent, "PDF summary {code}: completion");
        } else {
            assert!(
                cells[1].starts_with(&percent),
                "PDF summary {code}: {}",
                cells[1]
            );
        }
        for (s, want) in want.sections.iter().enumerate() {
            assert_eq!(
                cells[2 + s],
                local(want.score_text()),
                "PDF summary {code}: S{s}"
            );
        }
        // The participant's page: overall (rank), score, completion; each section; each goal.
        let page = pages[summary + 1..]
            .iter()
            .find(|p| p.iter().any(|l| l.starts_with(&format!("{code} — "))))
            .unwrap_or_else(|| panic!("PDF: {code}'s page"));
        let at = page
            .iter()
            .position(|l| l.contains("(rank ") || l.contains("(rang "))
            .expect("the overall line");
        let rank = want.rank.map_or(
            if want.overall.complete {
                "—"
            } else {
                "—, "
            }
            .to_owned(),
            |r| format!("{r})"),
        );
        assert!(
            page[at].contains(&rank),
            "PDF {code}: rank {rank} in {}",
            page[at]
        );
        assert_eq!(
            page[at + 1],
            local(want.overall.score_text()),
            "PDF {code}: overall"
        );
        assert_eq!(page[at + 2], percent, "PDF {code}: completion");
        for (s, want_section) in want.sections.iter().enumerate() {
            let at = page
                .iter()
                .position(|l| l.starts_with(&format!("S{s} — ")))
                .expect("a section line");
            assert_eq!(
                page[at + 1],
                local(want_section.score_text()),
                "PDF {code}: S{s}"
            );
            assert_eq!(
                page[at + 2],
                want_section.percent_text(fr),
                "PDF {code}: S{s} completion"
            );
        }
        for (goal, want_goal) in want.goals.iter().enumerate() {
            let at = page
                .iter()
                .position(|l| l == &format!("g{goal}"))
                .unwrap_or_else(|| panic!("PDF {code}: g{goal} in {page:?}"));
            // goal, title, answer, score, weight
            assert_eq!(
                page[at + 3],
                local(want_goal.clone()),
                "PDF {code}: g{goal} score"
            );
        }
        let _ = case;
    }
}

// ---------------------------------------------------------------------------------------------
// The property.

async fn export(
    app: &TestApp,
    analyst: &TestUser,
    cycle: Uuid,
    format: &str,
    lang: &str,
) -> Vec<u8> {
    let response = app
        .request(analyst.api(
            "POST",
            &format!("/api/v1/cycles/{cycle}/export?format={format}&lang={lang}"),
            None,
        ))
        .await;
    assert_eq!(
        response.status(),
        axum::http::StatusCode::OK,
        "{format} export"
    );
    body_bytes(response).await
}

async fn check_case(case: Case) {
    let app = TestApp::spawn().await;
    let framework = case.framework();
    let stored = store_framework(&app, &framework).await;
    let mut submissions = Vec::new();
    for (p, answers) in case.answers.iter().enumerate() {
        submissions.push(submission(&app, PARTICIPANTS[p], answers.clone()).await);
    }
    let cycle = write_cycle(
        &app,
        &FrameworkParts::new(&framework, &stored),
        &cycle_row(stored.id, "PROP", time::macros::date!(2024 - 01 - 01)),
        &submissions,
    )
    .await;
    let expected = expected(&case);
    let analyst = app.user("analyst", None).await;

    // The API.
    let api: ApiReport = serde_json::from_str(
        &body_text(
            app.request(analyst.get(&format!("/api/v1/cycles/{cycle}/report")))
                .await,
        )
        .await,
    )
    .unwrap();
    check_api_rows("API", &api.rows, &expected);

    // The comparison page, in English and in French.
    let page = body_text(
        app.request(analyst.get(&format!("/cycles/{cycle}/report")))
            .await,
    )
    .await;
    check_page(&page, &expected, false);
    let mut request = analyst.get(&format!("/cycles/{cycle}/report"));
    request
        .headers_mut()
        .insert("accept-language", "fr-FR,fr;q=0.9".parse().unwrap());
    let page = body_text(app.request(request).await).await;
    check_page(&page, &expected, true);

    // Each export file.
    check_csv(
        &export(&app, &analyst, cycle, "csv", "en").await,
        &case,
        &expected,
    );
    check_xlsx(
        export(&app, &analyst, cycle, "xlsx", "en").await,
        &case,
        &expected,
    );
    check_json(
        &String::from_utf8(export(&app, &analyst, cycle, "json", "en").await).unwrap(),
        &case,
        &expected,
    );
    for (lang, fr) in [("en", false), ("fr", true)] {
        check_pdf(
            &export(&app, &analyst, cycle, "pdf", lang).await,
            &case,
            &expected,
            fr,
        );
    }
}

#[test]
fn every_format_prints_the_same_text_for_every_figure_and_ranks_are_dense_over_exact_totals() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        // A failing case is a whole database and every format: a few shrink steps only.
        max_shrink_iters: 16,
        ..Config::default()
    };
    // A fixed seed: every run checks the same cases.
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&case(), |case| {
        // A panic inside is the failing assertion; proptest reports the case that caused it.
        runtime.block_on(check_case(case));
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

// ---------------------------------------------------------------------------------------------
// The measurement on the demo data (docs/scoring.md, "Shown figures on the demo").

/// Shown figures compared, and those that differ, by where they are shown.
#[derive(Default)]
struct Tally {
    shown: BTreeMap<&'static str, usize>,
    differ: Vec<String>,
}

impl Tally {
    fn check(&mut self, surface: &'static str, what: &str, got: &str, want: &str) {
        *self.shown.entry(surface).or_default() += 1;
        if got != want {
            self.differ.push(format!(
                "{surface} {what}: shows {got:?}, the rule gives {want:?}"
            ));
        }
    }
}

/// A figure's text as a page writes it: "—" when absent, the decimal comma in French, and a
/// change with its sign (+, − and none on zero).
fn page_text(text: Option<&str>, fr: bool, signed: bool) -> String {
    let Some(text) = text else {
        return "—".to_owned();
    };
    let value: Decimal = text.parse().unwrap();
    let digits = text.trim_start_matches('-');
    let sign = match (signed, value.is_zero(), value.is_sign_negative()) {
        (_, true, _) => "",
        (_, false, true) => "−",
        (true, false, false) => "+",
        (false, false, false) => "",
    };
    let text = format!("{sign}{digits}");
    if fr { french(&text) } else { text }
}

fn percent_of(share: Option<&str>, fr: bool) -> String {
    share.map_or("—".to_owned(), |s| {
        let percent = shown_text(s.parse::<Decimal>().unwrap() * Decimal::ONE_HUNDRED, 0);
        if fr {
            format!("{percent}\u{a0}%")
        } else {
            format!("{percent}%")
        }
    })
}

#[derive(Deserialize)]
struct DemoRow {
    participant_code: String,
    assessment_id: Uuid,
    snapshot: DemoSnapshot,
    overall: ApiFigure,
    sections: Vec<ApiFigure>,
    previous: Option<Box<RawValue>>,
    change: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct DemoSnapshot {
    id: Uuid,
}

#[derive(Deserialize)]
struct DemoSection {
    id: Uuid,
    max_score: Box<RawValue>,
}

#[derive(Deserialize)]
struct DemoReport {
    overall_max_score: Box<RawValue>,
    sections: Vec<DemoSection>,
    #[serde(alias = "items")]
    rows: Vec<DemoRow>,
}

#[derive(Deserialize)]
struct ProgressFigure {
    score: Option<Box<RawValue>>,
    completion: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct ProgressLine {
    figure: ProgressFigure,
    previous: Option<Box<RawValue>>,
    change: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct ProgressReport {
    overall: Option<ProgressFigure>,
    overall_previous: Option<Box<RawValue>>,
    overall_change: Option<Box<RawValue>>,
    sections: Vec<ProgressLine>,
}

fn decimals_of(max: &RawValue) -> u32 {
    if max.get().parse::<Decimal>().unwrap() <= Decimal::ONE {
        3
    } else {
        2
    }
}

#[tokio::test]
async fn on_the_demo_every_shown_figure_is_the_documented_rounding_of_the_exact_value() {
    let app = TestApp::spawn().await;
    pledge::demo::load(&app.db.plan).await.unwrap();
    let analyst = app.user("analyst", None).await;
    // The exact stored figures of every snapshot: overall and per section.
    let mut owner = app.db.owner().await;
    let mut tx = sqlx::Connection::begin(&mut owner).await.unwrap();
    pledge::storage::set_scope(&mut tx, &pledge::storage::Scope::System)
        .await
        .unwrap();
    let overall: HashMap<Uuid, (Option<Decimal>, i32, i32)> =
        sqlx::query_as("SELECT id, overall_score, answered, applicable FROM snapshots")
            .fetch_all(&mut *tx)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, score, answered, applicable)| (id, (score, answered, applicable)))
            .collect();
    let sections: HashMap<(Uuid, Uuid), Option<Decimal>> =
        sqlx::query_as("SELECT snapshot_id, section_id, score FROM snapshot_section_scores")
            .fetch_all(&mut *tx)
            .await
            .unwrap()
            .into_iter()
            .map(|(snapshot, section, score)| ((snapshot, section), score))
            .collect();
    let cycles: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, code FROM cycles ORDER BY opens_on")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    tx.commit().await.unwrap();
    drop(owner);

    let mut tally = Tally::default();
    let french_request = |path: &str| {
        let mut request = analyst.get(path);
        request
            .headers_mut()
            .insert("accept-language", "fr-FR,fr;q=0.9".parse().unwrap());
        request
    };
    for (cycle, cycle_code) in &cycles {
        let report: DemoReport = serde_json::from_str(
            &body_text(
                app.request(analyst.get(&format!("/api/v1/cycles/{cycle}/report")))
                    .await,
            )
            .await,
        )
        .unwrap();
        if report.rows.is_empty() {
            continue;
        }
        let decimals = decimals_of(&report.overall_max_score);
        // The API against the exact figures.
        for row in &report.rows {
            let code = &row.participant_code;
            let (score, answered, applicable) = overall[&row.snapshot.id];
            tally.check(
                "API",
                &format!("{cycle_code} {code} overall"),
                opt(&raw(&row.overall.score)),
                opt(&score.map(|s| shown_text(s, decimals))),
            );
            tally.check(
                "API",
                &format!("{cycle_code} {code} completion"),
                opt(&raw(&row.overall.completion)),
                opt(&(applicable > 0).then(|| {
                    shown_text(q12(Decimal::from(answered), Decimal::from(applicable)), 2)
                })),
            );
            for (figure, section) in row.sections.iter().zip(&report.sections) {
                let exact = sections
                    .get(&(row.snapshot.id, section.id))
                    .copied()
                    .flatten();
                tally.check(
                    "API",
                    &format!("{cycle_code} {code} section"),
                    opt(&raw(&figure.score)),
                    opt(&exact.map(|s| shown_text(s, decimals_of(&section.max_score)))),
                );
            }
        }
        let by_code: HashMap<&str, &DemoRow> = report
            .rows
            .iter()
            .map(|r| (r.participant_code.as_str(), r))
            .collect();

        // The comparison page and its heat map, in English and French (first page of rows).
        for (fr, surface, heat) in [
            (false, "comparison page", "heat map"),
            (true, "French page", "French heat map"),
        ] {
            let path = format!("/cycles/{cycle}/report");
            let request = if fr {
                french_request(&path)
            } else {
                analyst.get(&path)
            };
            let html = body_text(app.request(request).await).await;
            let mut shown_codes = Vec::new();
            for cells in table_rows(&html) {
                let code = cells[1].split_whitespace().next().unwrap().to_owned();
                let row = by_code[code.as_str()];
                let what = |figure: &str| format!("{cycle_code} {code} {figure}");
                let overall = page_text(raw(&row.overall.score).as_deref(), fr, false);
                tally.check(surface, &what("compared"), &cells[2], &overall);
                tally.check(
                    surface,
                    &what("previous"),
                    &cells[3],
                    &page_text(raw(&row.previous).as_deref(), fr, false),
                );
                tally.check(
                    surface,
                    &what("change"),
                    &cells[4],
                    &page_text(raw(&row.change).as_deref(), fr, true),
                );
                tally.check(surface, &what("overall"), &cells[5], &overall);
                tally.check(
                    surface,
                    &what("completion"),
                    &cells[6],
                    &percent_of(raw(&row.overall.completion).as_deref(), fr),
                );
                for (s, figure) in row.sections.iter().enumerate() {
                    tally.check(
                        surface,
                        &what("section"),
                        &cells[7 + s],
                        &page_text(raw(&figure.score).as_deref(), fr, false),
                    );
                }
                shown_codes.push(code);
            }
            // Heat-map cells, row by row in the table's order, a cell per section.
            let labels: Vec<&str> = html
                .split(r#"class="heat-value""#)
                .skip(1)
                .map(|piece| {
                    let text = &piece[piece.find('>').unwrap() + 1..];
                    &text[..text.find("</text>").unwrap()]
                })
                .collect();
            assert_eq!(labels.len(), shown_codes.len() * report.sections.len());
            for (label, (code, s)) in labels.iter().zip(
                shown_codes
                    .iter()
                    .flat_map(|c| (0..report.sections.len()).map(move |s| (c, s))),
            ) {
                let row = by_code[code.as_str()];
                let label = label.split("<title>").next().unwrap();
                tally.check(
                    heat,
                    &format!("{cycle_code} {code} S{s}"),
                    label,
                    &page_text(raw(&row.sections[s].score).as_deref(), fr, false),
                );
            }
        }

        // The cycle report PDF, in English and French: the summary table.
        for (lang, fr, surface) in [("en", false, "cycle PDF"), ("fr", true, "French cycle PDF")] {
            let pages = pdf_pages(&crate::pdf::cycle_pdf(&app, &analyst, *cycle, lang).await);
            let summary = pages
                .iter()
                .position(|p| p.iter().any(|l| l == "Summary" || l == "Synthèse"))
                .expect("the summary page");
            for row in &report.rows {
                let code = &row.participant_code;
                let Some(lines) = pages[summary..]
                    .iter()
                    .find(|p| p.iter().any(|l| l == code))
                else {
                    continue;
                };
                let at = lines.iter().position(|l| l == code).unwrap();
                let cells = &lines[at + 2..];
                tally.check(
                    surface,
                    &format!("{cycle_code} {code} overall"),
                    &cells[0],
                    &page_text(raw(&row.overall.score).as_deref(), fr, false),
                );
                let percent = percent_of(raw(&row.overall.completion).as_deref(), fr);
                let done = if cells[1].starts_with(&percent) {
                    percent.clone()
                } else {
                    cells[1].clone()
                };
                tally.check(
                    surface,
                    &format!("{cycle_code} {code} completion"),
                    &done,
                    &percent,
                );
                for (s, figure) in row.sections.iter().enumerate() {
                    tally.check(
                        surface,
                        &format!("{cycle_code} {code} S{s}"),
                        &cells[2 + s],
                        &page_text(raw(&figure.score).as_deref(), fr, false),
                    );
                }
            }
        }
    }

    // The progress page and PDF of every assessment of the latest cycle: the scores table.
    let (latest, latest_code) = cycles.last().unwrap();
    let report: DemoReport = serde_json::from_str(
        &body_text(
            app.request(analyst.get(&format!("/api/v1/cycles/{latest}/report")))
                .await,
        )
        .await,
    )
    .unwrap();
    for row in &report.rows {
        let code = &row.participant_code;
        let id = row.assessment_id;
        let progress: ProgressReport = serde_json::from_str(
            &body_text(
                app.request(analyst.get(&format!("/api/v1/assessments/{id}/report")))
                    .await,
            )
            .await,
        )
        .unwrap();
        // The progress API against the comparison API (itself checked against the exact value).
        let overall = progress.overall.as_ref().unwrap();
        tally.check(
            "progress API",
            &format!("{latest_code} {code} overall"),
            opt(&raw(&overall.score)),
            opt(&raw(&row.overall.score)),
        );
        let expected: Vec<[String; 4]> = std::iter::once([
            page_text(raw(&overall.score).as_deref(), false, false),
            percent_of(raw(&overall.completion).as_deref(), false),
            page_text(raw(&progress.overall_previous).as_deref(), false, false),
            page_text(raw(&progress.overall_change).as_deref(), false, true),
        ])
        .chain(progress.sections.iter().map(|line| {
            [
                page_text(raw(&line.figure.score).as_deref(), false, false),
                percent_of(raw(&line.figure.completion).as_deref(), false),
                page_text(raw(&line.previous).as_deref(), false, false),
                page_text(raw(&line.change).as_deref(), false, true),
            ]
        }))
        .collect();
        let html = body_text(
            app.request(analyst.get(&format!("/assessments/{id}/report")))
                .await,
        )
        .await;
        let start = html.find(r#"id="scores-caption""#).unwrap();
        let table = &html[start..];
        let table = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
        let rows: Vec<Vec<String>> = table
            .split("<tr>")
            .skip(1)
            .map(|row| {
                row.split("<td>")
                    .skip(1)
                    .map(|cell| cell[..cell.find("</td>").unwrap()].trim().to_owned())
                    .collect()
            })
            .collect();
        assert_eq!(rows.len(), expected.len());
        for (cells, want) in rows.iter().zip(&expected) {
            for (got, want) in cells.iter().zip(want) {
                tally.check("progress page", &format!("{latest_code} {code}"), got, want);
            }
        }
        // The progress PDF: the same four figures after each figure's label.
        let response = app
            .request(analyst.api(
                "POST",
                &format!("/api/v1/assessments/{id}/report/pdf?lang=en"),
                None,
            ))
            .await;
        let pages = pdf_pages(&body_bytes(response).await);
        let lines: Vec<&String> = pages.iter().flatten().collect();
        let at = lines
            .iter()
            .position(|l| *l == "Overall")
            .expect("the scores table");
        for (index, want) in expected.iter().enumerate() {
            // A label line, then score, completion, previous (marked † when re-scored), change,
            // then the alliance's cell.
            let base = at + index * 6;
            for (offset, want) in want.iter().enumerate() {
                let got = lines[base + 1 + offset].trim_end_matches(" †");
                tally.check("progress PDF", &format!("{latest_code} {code}"), got, want);
            }
        }
    }

    let total: usize = tally.shown.values().sum();
    eprintln!(
        "shown figures compared: {total} ({:?}); differing from the documented rounding: {}",
        tally.shown,
        tally.differ.len()
    );
    assert!(total > 900, "the demo shows many figures: {total}");
    assert!(tally.differ.is_empty(), "{:#?}", tally.differ);
}
