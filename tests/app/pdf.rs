//! The PDF reports read back with a PDF text extractor (lopdf, through the embedded fonts'
//! ToUnicode maps): every name and sign as written, the whole methodology page, completeness as
//! the API says it, and a size that subsetting keeps small.

use axum::http::StatusCode;
use pledge::demo::bulk::FrameworkParts;
use pledge::domain::framework::Framework;
use pledge::domain::scoring::AnswerState;
use pledge::presentation::i18n::Lang;
use serde_json::Value;
use uuid::Uuid;

use crate::exports::gci_cycle;
use crate::reports::{
    assessment_of, cycle_row, gci_rows, pillars, store_framework, submission, write_cycle,
};
use crate::support::{TestApp, TestUser, body_bytes, body_json, body_text};

/// The text of every page, in order.
pub(crate) fn pages_text(bytes: &[u8]) -> Vec<String> {
    let pdf = lopdf::Document::load_mem(bytes).unwrap();
    pdf.get_pages()
        .keys()
        .map(|page| pdf.extract_text(&[*page]).unwrap())
        .collect()
}

/// Text with every run of whitespace removed: wrapping puts line ends where the page had
/// spaces, and the extractor does not always write them back.
fn squeezed(text: &str) -> String {
    text.split_whitespace().collect()
}

pub(crate) async fn cycle_pdf(
    app: &TestApp,
    analyst: &TestUser,
    cycle: Uuid,
    lang: &str,
) -> Vec<u8> {
    let response = app
        .request(analyst.api(
            "POST",
            &format!("/api/v1/cycles/{cycle}/export?format=pdf&lang={lang}"),
            None,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    body_bytes(response).await
}

#[tokio::test]
async fn names_texts_and_answers_are_written_as_each_language_writes_them_in_both_pdfs() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let name = "Țară Českå Łódź Győr";
    let narrative = "Σ w·s ≥ 0.5 — “coverage” of ș, ő, € and œ…";
    let mut owner = app.db.owner().await;
    sqlx::query("UPDATE participants SET name_en = $1, name_fr = $1 WHERE code = 'EST'")
        .bind(name)
        .execute(&mut owner)
        .await
        .unwrap();
    sqlx::query("UPDATE cycles SET title_en = $1, title_fr = $1 WHERE id = $2")
        .bind(narrative)
        .bind(cycle)
        .execute(&mut owner)
        .await
        .unwrap();
    let analyst = app.user("analyst", None).await;

    for lang in ["en", "fr"] {
        let pages = pages_text(&cycle_pdf(&app, &analyst, cycle, lang).await);
        assert!(pages[0].contains(narrative), "the cover: {}", pages[0]);
        let all = pages.concat();
        assert!(
            all.contains(&format!("EST — {name}")),
            "EST's page ({lang})"
        );
        assert!(all.contains("Σ w·s ÷ Σ w"), "the method's formula ({lang})");
        // Answers are written as the language writes numbers, every digit kept: EST's
        // capacity-development answer is 19.48 (only an answer: its score is 97.4).
        let (written, foreign) = match lang {
            "fr" => ("19,48", "19.48"),
            _ => ("19.48", "19,48"),
        };
        assert!(
            all.contains(written) && !all.contains(foreign),
            "EST's answer as {written} ({lang})"
        );
        assert!(
            !all.contains("T?r?") && !all.contains("??"),
            "nothing replaced"
        );
    }

    // The progress report: the name in its title, the cycle's title beside its code.
    let est = assessment_of(&app, cycle, "EST").await;
    let response = app
        .request(analyst.api(
            "POST",
            &format!("/api/v1/assessments/{est}/report/pdf"),
            None,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let all = pages_text(&body_bytes(response).await).concat();
    assert!(all.contains(&format!("{name} — progress report")), "{all}");
    assert!(all.contains(narrative), "{all}");
}

/// The texts of the methodology page's content: every text node from its title to the end of
/// `main`, entities decoded.
fn page_texts(html: &str) -> Vec<String> {
    let start = html.find("<h1").expect("the page's title");
    let end = html[start..]
        .find("</main>")
        .map_or(html.len(), |e| start + e);
    let mut texts = Vec::new();
    for piece in html[start..end].split('<') {
        let text = piece.split_once('>').map_or(piece, |(_, text)| text);
        let text = text
            .replace("&#39;", "'")
            .replace("&#x27;", "'")
            .replace("&quot;", "\"")
            .replace("&#34;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() {
            texts.push(text);
        }
    }
    texts
}

#[tokio::test]
async fn the_pdf_carries_every_text_of_the_methodology_page() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let analyst = app.user("analyst", None).await;
    let page = app.request(analyst.get("/methodology")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let texts = page_texts(&body_text(page).await);
    // The rules the cut-short PDF lacked are on the page, so they must be in the file.
    for rule in [
        "not applicable",
        "there is no score",
        "version mapping",
        "at least 5",
        "baseline",
        "Σ w·s ÷ Σ w",
    ] {
        assert!(texts.iter().any(|t| t.contains(rule)), "{rule} on the page");
    }

    let pages = pages_text(&cycle_pdf(&app, &analyst, cycle, "en").await);
    let summary = pages
        .iter()
        .position(|p| p.contains("Summary"))
        .expect("a summary page");
    // The method's pages, without their footers (which may fall inside a paragraph).
    let method: String = pages[1..summary]
        .iter()
        .flat_map(|p| p.lines())
        .filter(|line| !line.contains("Pledge Tracker — cycle"))
        .collect();
    let method = squeezed(&method);
    let missing: Vec<&String> = texts
        .iter()
        .filter(|text| !method.contains(&squeezed(text)))
        .collect();
    assert!(missing.is_empty(), "not in the PDF: {missing:#?}");
    assert!(texts.len() > 40, "{} texts compared", texts.len());
}

/// The GCI framework rolled up as a weighted mean with every weight 0.
fn weightless_framework() -> Framework {
    let path = format!(
        "{}/fixtures/frameworks/itu-gci-2020.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut document: Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    document["roll_up"] = "weighted_mean".into();
    document["version"] = "2020-weightless".into();
    for section in document["sections"].as_array_mut().unwrap() {
        for goal in section["goals"].as_array_mut().unwrap() {
            goal["weight"] = 0.into();
        }
    }
    Framework::from_json(&document.to_string()).unwrap()
}

#[tokio::test]
async fn complete_figures_without_a_score_are_not_marked_incomplete() {
    let app = TestApp::spawn().await;
    let framework = weightless_framework();
    let stored = store_framework(&app, &framework).await;
    let mut submissions = Vec::new();
    // Complete participants (every pillar answered), and one with every goal not applicable.
    let complete = gci_rows()
        .into_iter()
        .filter(|(code, _, values)| code != "ISL" && values.iter().all(Option::is_some))
        .take(6);
    for (code, _, values) in complete {
        submissions.push(submission(&app, &code, pillars(&values)).await);
    }
    let goals = framework.sections.iter().map(|s| s.goals.len()).sum();
    submissions.push(submission(&app, "ISL", vec![AnswerState::NotApplicable; goals]).await);
    let cycle = write_cycle(
        &app,
        &FrameworkParts::new(&framework, &stored),
        &cycle_row(stored.id, "ZERO-2020", time::macros::date!(2020 - 01 - 01)),
        &submissions,
    )
    .await;
    let analyst = app.user("analyst", None).await;

    // The API: every figure complete, none with a score, none ranked.
    let report = body_json(
        app.request(analyst.get(&format!("/api/v1/cycles/{cycle}/report")))
            .await,
    )
    .await;
    let rows = report["items"].as_array().unwrap();
    assert_eq!(rows.len(), submissions.len());
    for row in rows {
        assert_eq!(row["overall"]["complete"], Value::Bool(true), "{row}");
        assert_eq!(row["overall"]["score"], Value::Null);
        assert_eq!(row["rank"], Value::Null);
    }

    // The PDF says the same: no row, no participant marked incomplete.
    for lang in [Lang::En, Lang::Fr] {
        let tr = lang.tr();
        let code = if lang == Lang::En { "en" } else { "fr" };
        let pages = pages_text(&cycle_pdf(&app, &analyst, cycle, code).await);
        let summary = pages
            .iter()
            .position(|p| p.contains(tr.t("export.pdf.summary")))
            .expect("a summary page");
        // The summary states the rule (which names incomplete figures); its table and every
        // page after it mark figures.
        let rule = squeezed(tr.t("report.ranking_rule"));
        let marks = [
            squeezed(tr.t("report.incomplete")),
            squeezed(&tr.fmt("export.pdf.incomplete_share", &[("share", "")])),
        ];
        for page in &pages[summary..] {
            let figures = squeezed(page).replace(&rule, "");
            for mark in &marks {
                assert!(!figures.contains(mark.as_str()), "{mark} in {code}: {page}");
            }
        }
        assert!(pages[summary].contains(tr.t("export.pdf.no_complete_figure")));
        assert_eq!(pages.len() - summary - 1, submissions.len(), "a page each");
    }
}

#[tokio::test]
async fn the_cycle_pdf_embeds_only_the_glyphs_it_uses() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let analyst = app.user("analyst", None).await;
    let bytes = cycle_pdf(&app, &analyst, cycle, "en").await;
    let pdf = lopdf::Document::load_mem(&bytes).unwrap();
    let mut font_files = 0;
    for object in pdf.objects.values() {
        if let Ok(stream) = object.as_stream()
            && let Ok(length) = stream.dict.get(b"Length1").and_then(lopdf::Object::as_i64)
        {
            font_files += 1;
            // DejaVu Sans is 757 KB whole; the subset holds a few hundred glyphs.
            assert!(length < 120_000, "a font program of {length} bytes");
        }
    }
    assert_eq!(font_files, 2, "regular and bold, embedded");
    // 35 pages with 32 participants: well under a megabyte.
    assert!(bytes.len() < 400_000, "{} bytes", bytes.len());
}
