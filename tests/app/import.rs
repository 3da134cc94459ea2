//! Bulk imports: a cycle's export imported back into a new historical cycle gives the same
//! comparison figure by figure (CSV and XLSX); the GCI 2020 index built from its published
//! pillars in five requests reproduces the published ranks; hostile and wrong files are refused
//! with every problem at its place; a delegation's newer work is never overwritten; only admins
//! import.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::reports::{gci_framework, gci_rows, store_framework};
use crate::support::{TestApp, TestUser, body_bytes, body_json, multipart};

/// The export's column titles (English), as the tidy file's header.
fn header() -> String {
    pledge::domain::report::export::FIELDS
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(",")
}

/// One tidy row: the columns the import reads, the others left empty.
fn tidy_row(participant: &str, goal: &str, state: &str, value: &str) -> String {
    let mut cells = vec![""; 18];
    cells[0] = "X";
    cells[1] = participant;
    cells[7] = goal;
    cells[10] = state;
    cells[11] = value;
    cells.join(",")
}

/// Creates a planned cycle on a framework through the API; returns its id.
async fn new_cycle(app: &TestApp, admin: &TestUser, framework: Uuid, code: &str) -> Uuid {
    let response = app
        .request(admin.api(
            "POST",
            "/api/v1/cycles",
            Some(json!({ "framework_id": framework, "code": code, "title_en": format!("Cycle {code}"),
                         "title_fr": "", "opens_on": "2020-01-01", "deadline": "2020-03-31" })),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "creating {code}");
    body_json(response).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// participant → (overall score, complete, answered, rank, each section's score), as the
/// report API gives them.
fn figures(report: &Value) -> HashMap<String, Value> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["participant_code"].as_str().unwrap().to_owned(),
                json!({
                    "overall": row["overall"],
                    "rank": row["rank"],
                    "sections": row["sections"],
                }),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_exported_cycle_imported_into_a_new_historical_cycle_compares_figure_by_figure() {
    let app = TestApp::spawn().await;
    pledge::demo::load(&app.db.plan).await.unwrap();
    let admin = app.user("admin", None).await;
    let cycles = body_json(app.request(admin.get("/api/v1/cycles")).await).await;
    let source = cycles["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "2025")
        .unwrap();
    let source_id = source["id"].as_str().unwrap();
    let framework: Uuid = source["framework_id"].as_str().unwrap().parse().unwrap();
    let original = body_json(
        app.request(admin.get(&format!("/api/v1/cycles/{source_id}/report")))
            .await,
    )
    .await;
    let expected = figures(&original);
    assert!(
        expected.len() >= 20,
        "the demo's 2025 cycle has submissions"
    );

    for (format, code) in [("csv", "R-CSV"), ("xlsx", "R-XLSX")] {
        let export = app
            .request(admin.api(
                "POST",
                &format!("/api/v1/cycles/{source_id}/export?format={format}"),
                None,
            ))
            .await;
        assert_eq!(export.status(), StatusCode::OK);
        let file = body_bytes(export).await;
        let cycle = new_cycle(&app, &admin, framework, code).await;
        let name = format!("pledge-2025-report.{format}");

        // The preview writes nothing and counts every answer as new.
        let preview = app
            .request(multipart(
                &admin,
                &format!("/api/v1/cycles/{cycle}/import"),
                &[("purpose", "historical"), ("dry_run", "true")],
                &name,
                &file,
            ))
            .await;
        let status = preview.status();
        let preview = body_json(preview).await;
        assert_eq!(status, StatusCode::OK, "{format}: {preview}");
        assert_eq!(preview["applied"], json!(false));
        assert_eq!(
            preview["participants"].as_array().unwrap().len(),
            expected.len()
        );
        assert!(
            preview["participants"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["new"].as_u64().unwrap() > 0 && p["refused"] == json!(0))
        );
        let snapshots = format!(
            "SELECT count(*) FROM snapshots s JOIN cycles c ON c.id = s.cycle_id WHERE c.code = '{code}'"
        );
        assert_eq!(app.count(&snapshots).await, 0, "a dry run writes nothing");

        let applied = app
            .request(multipart(
                &admin,
                &format!("/api/v1/cycles/{cycle}/import"),
                &[("purpose", "historical")],
                &name,
                &file,
            ))
            .await;
        assert_eq!(applied.status(), StatusCode::OK);
        let applied = body_json(applied).await;
        assert_eq!(applied["applied"], json!(true));
        assert_eq!(app.count(&snapshots).await, expected.len() as i64);

        let imported = body_json(
            app.request(admin.get(&format!("/api/v1/cycles/{cycle}/report")))
                .await,
        )
        .await;
        let got = figures(&imported);
        assert_eq!(got.len(), expected.len(), "{format}");
        for (participant, figures) in &expected {
            assert_eq!(&got[participant], figures, "{format}: {participant}");
        }
        assert_eq!(
            imported["distributions"], original["distributions"],
            "{format}: the distributions too"
        );

        // Stored with the file's name and digest, recorded once in the audit log.
        let digest = applied["file_sha256"].as_str().unwrap().to_owned();
        assert_eq!(digest.len(), 64);
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) FROM snapshot_imports si JOIN cycle_imports i ON i.id = si.import_id
                 WHERE i.file_sha256 = '{digest}' AND i.file_name = '{name}'"
            ))
            .await,
            expected.len() as i64
        );
        // The entry names the import and its kept values (every answer written, one row each).
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) FROM audit_log l WHERE action = 'cycle.import'
                 AND details->>'file_sha256' = '{digest}'
                 AND (details->'values'->>'count')::bigint = (SELECT count(*) FROM cycle_import_values v
                      WHERE v.import_id = (l.details->>'import')::uuid)
                 AND (details->'values'->>'count')::bigint = {}",
                applied["rows"].as_u64().unwrap()
            ))
            .await,
            1
        );
        // The report page says where the figures came from.
        let page = crate::support::body_text(
            app.request(admin.get(&format!("/cycles/{cycle}/report")))
                .await,
        )
        .await;
        assert!(page.contains(&name) && page.contains(&digest), "{format}");

        // The same file again is refused: every participant now has data in the cycle.
        let again = app
            .request(multipart(
                &admin,
                &format!("/api/v1/cycles/{cycle}/import"),
                &[("purpose", "historical")],
                &name,
                &file,
            ))
            .await;
        assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}

/// Counts the requests a client makes.
struct Client<'a> {
    app: &'a TestApp,
    requests: AtomicUsize,
}

impl Client<'_> {
    async fn send(&self, request: Request<Body>) -> Response<Body> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.app.request(request).await
    }
}

#[tokio::test]
async fn the_gci_2020_index_is_built_in_five_requests_and_publishes_its_ranks() {
    let app = TestApp::spawn().await;
    let framework = gci_framework();
    let stored = store_framework(&app, &framework).await;
    let admin = app.user("admin", None).await;
    let rows = gci_rows();
    let pillars: Vec<&str> = framework
        .goals()
        .map(|(_, goal)| goal.code.as_str())
        .collect();

    // The files a secretariat would have: its participants, and the index in tidy form.
    let mut names = HashMap::new();
    for (code, name_en, name_fr, date) in sqlx::query_as::<_, (String, String, String, time::Date)>(
        "SELECT code, name_en, name_fr, accession_date FROM participants",
    )
    .fetch_all(&mut app.db.owner().await)
    .await
    .unwrap()
    {
        names.insert(code, (name_en, name_fr, date));
    }
    let mut participants = "code,name_en,name_fr,kind,accession_date\n".to_owned();
    for (code, _, _) in &rows {
        let (en, fr, date) = &names[code];
        participants.push_str(&format!("{code},\"{en} (GCI)\",\"{fr}\",ally,{date}\n"));
    }
    let mut answers = header() + "\n";
    for (code, _, values) in &rows {
        for (goal, value) in pillars.iter().zip(values) {
            match value {
                Some(v) => answers.push_str(&tidy_row(code, goal, "answered", &v.to_string())),
                None => answers.push_str(&tidy_row(code, goal, "missing", "")),
            }
            answers.push('\n');
        }
    }

    let client = Client {
        app: &app,
        requests: AtomicUsize::new(0),
    };
    let response = client
        .send(multipart(
            &admin,
            "/api/v1/participants/import",
            &[],
            "allies.csv",
            participants.as_bytes(),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let outcome = body_json(response).await;
    assert_eq!(outcome["updated"].as_array().unwrap().len(), 32);
    let response = client
        .send(admin.api(
            "POST",
            "/api/v1/cycles",
            Some(
                json!({ "framework_id": stored.id, "code": "GCI-2020", "title_en": "GCI 2020",
                         "title_fr": "", "opens_on": "2020-01-01", "deadline": "2020-06-30" }),
            ),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let cycle = body_json(response).await["id"].as_str().unwrap().to_owned();
    let response = client
        .send(multipart(
            &admin,
            &format!("/api/v1/cycles/{cycle}/import"),
            &[("purpose", "historical")],
            "gci2020.csv",
            answers.as_bytes(),
        ))
        .await;
    let status = response.status();
    let outcome = body_json(response).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["rows"], json!(160));
    let response = client
        .send(admin.api("POST", &format!("/api/v1/cycles/{cycle}/publish"), None))
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    let response = client
        .send(admin.get(&format!("/api/v1/cycles/{cycle}/report")))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let report = body_json(response).await;
    assert_eq!(client.requests.load(Ordering::SeqCst), 5);

    let ranks: HashMap<&str, Option<u64>> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["participant_code"].as_str().unwrap(), r["rank"].as_u64()))
        .collect();
    assert_eq!(ranks.len(), 32);
    for (code, rank) in [
        ("USA", 1),
        ("GBR", 2),
        ("EST", 3),
        ("ESP", 4),
        ("DEU", 9),
        ("LUX", 9),
        ("PRT", 10),
    ] {
        assert_eq!(ranks[code], Some(rank), "{code}");
    }
    assert_eq!(ranks["SVK"], None, "incomplete, not ranked");
    assert_eq!(ranks["SVN"], None, "incomplete, not ranked");
    // The renamed participants took their new names.
    assert_eq!(
        app.count("SELECT count(*) FROM participants WHERE name_en LIKE '% (GCI)'")
            .await,
        32
    );
}

/// The GCI framework and a planned cycle on it, created through the API.
async fn gci_cycle(app: &TestApp, admin: &TestUser, code: &str) -> Uuid {
    let stored = store_framework(app, &gci_framework()).await;
    new_cycle(app, admin, stored.id, code).await
}

#[tokio::test]
async fn every_problem_of_a_file_is_placed_by_row_and_column_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let cycle = gci_cycle(&app, &admin, "H-2020").await;
    let mut file = header() + ",na_justification\n";
    for line in [
        tidy_row("FRA", "legal", "answered", "18.5"),
        tidy_row("FRA", "legal", "answered", "18.5"),
        tidy_row("FRA", "technical", "answered", "25"),
        tidy_row("FRA", "nothing", "answered", "1"),
        tidy_row("ZZZ", "legal", "answered", "1"),
        tidy_row("DEU", "legal", "not_applicable", ""),
        tidy_row("DEU", "technical", "answered", "=1+1"),
        tidy_row("DEU", "cooperation", "maybe", "1"),
    ] {
        file.push_str(&line);
        file.push_str(",\n");
    }
    let response = app
        .request(multipart(
            &admin,
            &format!("/api/v1/cycles/{cycle}/import"),
            &[("purpose", "historical"), ("dry_run", "true")],
            "bad.csv",
            file.as_bytes(),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = body_json(response).await;
    let fields = body["error"]["fields"].as_object().unwrap();
    let at = |place: &str| {
        fields
            .get(place)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    assert!(at("CSV!H3").contains("repeats"), "duplicate: {fields:?}");
    assert!(!at("CSV!L4").is_empty(), "off the scale: {fields:?}");
    assert!(at("CSV!H5").contains("No goal"), "{fields:?}");
    assert!(at("CSV!B6").contains("No participant"), "{fields:?}");
    assert!(
        !at("CSV!S7").is_empty(),
        "not applicable without justification: {fields:?}"
    );
    assert!(
        !at("CSV!L8").is_empty(),
        "a formula is text, not a number: {fields:?}"
    );
    assert!(at("CSV!K9").contains("answer state"), "{fields:?}");
    assert_eq!(app.count("SELECT count(*) FROM snapshots").await, 0);

    // In French, the same places with French messages.
    let response = app
        .request({
            let mut request = multipart(
                &admin,
                &format!("/cycles/{cycle}/import"),
                &[("purpose", "historical")],
                "bad.csv",
                file.as_bytes(),
            );
            request
                .headers_mut()
                .insert("accept-language", "fr".parse().unwrap());
            request
        })
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = crate::support::body_text(response).await;
    assert!(
        page.contains("Aucun participant n"),
        "the page is in French"
    );
    assert!(
        !page.contains("import-apply"),
        "no apply button on a refused file"
    );

    // A header that is not the export's is refused at its cell.
    let response = app
        .request(multipart(
            &admin,
            &format!("/api/v1/cycles/{cycle}/import"),
            &[],
            "moved.csv",
            format!(
                "participant_code,cycle_code\n{}\n",
                tidy_row("FRA", "legal", "answered", "1")
            )
            .as_bytes(),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = body_json(response).await;
    assert!(body["error"]["fields"]["CSV!A1"].is_string(), "{body}");
}

/// A workbook with one sheet whose shared-strings part is `shared`, and one entry of `zeros`
/// bytes that compress to almost nothing.
fn workbook(shared: &str, zeros: usize) -> Vec<u8> {
    use std::io::Write;
    let mut bytes = Vec::new();
    {
        let mut archive = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        archive.start_file("xl/sharedStrings.xml", options).unwrap();
        archive.write_all(shared.as_bytes()).unwrap();
        archive
            .start_file("xl/worksheets/sheet1.xml", options)
            .unwrap();
        let block = vec![b' '; 1024 * 1024];
        for _ in 0..zeros / block.len() {
            archive.write_all(&block).unwrap();
        }
        archive.finish().unwrap();
    }
    bytes
}

#[tokio::test]
async fn hostile_files_are_refused_before_they_are_parsed() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let cycle = gci_cycle(&app, &admin, "H-2021").await;
    let refusal = |bytes: Vec<u8>, path: String| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let response = app
                .request(multipart(&admin, &path, &[], "hostile.xlsx", &bytes))
                .await;
            assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
            body_json(response).await["error"]["fields"]["file"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };
    // A forged count of shared strings would make the reader reserve memory for it.
    let forged = workbook(
        r#"<sst uniqueCount="99999999999"><si><t>a</t></si></sst>"#,
        0,
    );
    let message = refusal(forged, format!("/api/v1/cycles/{cycle}/import")).await;
    assert!(message.contains("distinct texts"), "{message}");
    // A small file that unpacks past the ceiling (participants: the offline form's 64 MiB).
    let bomb = workbook("<sst/>", 65 * 1024 * 1024);
    assert!(bomb.len() < 1024 * 1024, "the bomb is small");
    let message = refusal(bomb, "/api/v1/participants/import".to_owned()).await;
    assert!(message.contains("unpacks"), "{message}");
    // Not a spreadsheet at all: read as text, its header is not the layout's.
    let response = app
        .request(multipart(
            &admin,
            &format!("/api/v1/cycles/{cycle}/import"),
            &[],
            "report.pdf",
            b"%PDF-1.7\n\xFF\xFE binary",
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("SELECT count(*) FROM cycle_imports").await, 0);
    // Refused before the body is read: a delegation and an analyst.
    for role in ["analyst", "head"] {
        let user = app.user(role, (role == "head").then_some("FRA")).await;
        let response = app
            .request(multipart(
                &user,
                &format!("/api/v1/cycles/{cycle}/import"),
                &[],
                "a.csv",
                header().as_bytes(),
            ))
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role}");
    }
}

#[tokio::test]
async fn on_behalf_rows_never_overwrite_a_delegations_newer_answer_and_name_who_changed_it() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let cycle = gci_cycle(&app, &admin, "OB-2026").await;
    let opened = app
        .request(admin.api("POST", &format!("/api/v1/cycles/{cycle}/open"), None))
        .await;
    assert!(opened.status().is_success(), "{}", opened.status());
    let fra = app.assessment_of(cycle, "FRA").await;
    // FRA's head saves an answer after the file was made.
    let head = app.user("head", Some("FRA")).await;
    let saved = app
        .request({
            let mut request = head.api(
                "PUT",
                &format!("/api/v1/assessments/{fra}/answers/legal"),
                Some(json!({ "value": "15" })),
            );
            request
                .headers_mut()
                .insert("if-match", "\"0\"".parse().unwrap());
            request
        })
        .await;
    assert_eq!(saved.status(), StatusCode::NO_CONTENT);

    let file_with = |rows: &[(&str, &str, &str)]| {
        let mut file = header() + ",generated_at\n";
        for (participant, goal, value) in rows {
            file.push_str(&tidy_row(participant, goal, "answered", value));
            file.push_str(",2020-01-01T00:00:00Z\n");
        }
        file
    };
    let send = |file: String| {
        let admin = admin.clone();
        let app = &app;
        async move {
            app.request(multipart(
                &admin,
                &format!("/api/v1/cycles/{cycle}/import"),
                &[("purpose", "on_behalf")],
                "returns.csv",
                file.as_bytes(),
            ))
            .await
        }
    };
    let response = send(file_with(&[
        ("FRA", "legal", "18"),
        ("FRA", "technical", "10"),
        ("DEU", "legal", "12"),
    ]))
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = body_json(response).await;
    let conflict = body["error"]["fields"]["CSV!H2"]
        .as_str()
        .unwrap_or_default();
    assert!(
        conflict.contains("Test head") && conflict.contains("FRA legal"),
        "names who changed what: {body}"
    );
    let on_behalf = "SELECT count(*) FROM answers WHERE entered_on_behalf";
    assert_eq!(app.count(on_behalf).await, 0, "nothing written");

    // Without the conflicting row, the rest goes into the drafts, unconfirmed.
    let response = send(file_with(&[
        ("FRA", "legal", "15"),
        ("FRA", "technical", "10"),
        ("DEU", "legal", "12"),
    ]))
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let outcome = body_json(response).await;
    let counts: HashMap<&str, &Value> = outcome["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["participant_code"].as_str().unwrap(), p))
        .collect();
    assert_eq!(
        counts["FRA"]["unchanged"],
        json!(1),
        "the same answer is kept"
    );
    assert_eq!(counts["FRA"]["new"], json!(1));
    assert_eq!(counts["DEU"]["new"], json!(1));
    assert_eq!(app.count(on_behalf).await, 2);
    assert_eq!(
        app.count("SELECT count(*) FROM answers WHERE entered_on_behalf AND unconfirmed AND updated_by IS NOT NULL")
            .await,
        2
    );
    // The API marks it too (what the form shows), until the delegation changes the answer.
    let entered_on_behalf = async |goal: &str| {
        let response = app
            .request(head.get(&format!("/api/v1/assessments/{fra}/answers/{goal}")))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        body_json(response).await["entered_on_behalf"].clone()
    };
    assert_eq!(entered_on_behalf("technical").await, json!(true));
    assert_eq!(entered_on_behalf("legal").await, json!(false));
    // The delegation confirms by saving: the mark goes.
    let confirmed = app
        .request({
            let mut request = head.api(
                "PUT",
                &format!("/api/v1/assessments/{fra}/answers/technical"),
                Some(json!({ "value": "10" })),
            );
            request
                .headers_mut()
                .insert("if-match", "\"1\"".parse().unwrap());
            request
        })
        .await;
    assert_eq!(confirmed.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count(on_behalf).await, 1);
    assert_eq!(entered_on_behalf("technical").await, json!(false));
    // The secretariat corrects its own entry: kept with the value before and after.
    let response = send(file_with(&[("DEU", "legal", "13")])).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body_json(response).await["participants"][0]["changed"],
        json!(1)
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM cycle_import_values v JOIN audit_log l
                 ON (l.details->>'import')::uuid = v.import_id AND l.action = 'cycle.import'
             WHERE v.participant_code = 'DEU' AND v.goal_code = 'legal' AND v.change = 'changed'
               AND v.before LIKE '[\"legal\",\"12%' AND v.after LIKE '[\"legal\",\"13%'
               AND l.details->>'changed' = '1'"
        )
        .await,
        1
    );
    // History may not go into an open cycle.
    let response = app
        .request(multipart(
            &admin,
            &format!("/api/v1/cycles/{cycle}/import"),
            &[("purpose", "historical")],
            "returns.csv",
            file_with(&[("DEU", "legal", "12")]).as_bytes(),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_admin_uploads_checks_and_applies_on_pages() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let cycle = gci_cycle(&app, &admin, "P-2019").await;
    let form = app
        .request(admin.get(&format!("/cycles/{cycle}/import")))
        .await;
    assert_eq!(form.status(), StatusCode::OK);
    let form = crate::support::body_text(form).await;
    assert!(form.contains("<fieldset") && form.contains("<legend>"));
    let mut file = header() + "\n";
    for (participant, value) in [("FRA", "18"), ("DEU", "17.5")] {
        file.push_str(&tidy_row(participant, "legal", "answered", value));
        file.push('\n');
    }
    let check = app
        .request(multipart(
            &admin,
            &format!("/cycles/{cycle}/import"),
            &[("purpose", "historical")],
            "history.csv",
            file.as_bytes(),
        ))
        .await;
    assert_eq!(check.status(), StatusCode::OK);
    let check = crate::support::body_text(check).await;
    assert!(check.contains("history.csv") && check.contains("import-apply"));
    assert_eq!(
        app.count("SELECT count(*) FROM snapshots").await,
        0,
        "checked only"
    );
    let token = check
        .split("name=\"token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let applied = app
        .request(admin.post_form(
            &format!("/cycles/{cycle}/import/apply"),
            &format!("token={token}"),
        ))
        .await;
    assert_eq!(applied.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        applied.headers()["location"].to_str().unwrap(),
        format!("/cycles/{cycle}/report")
    );
    assert_eq!(app.count("SELECT count(*) FROM snapshots").await, 2);
    // The token is used up.
    let again = app
        .request(admin.post_form(
            &format!("/cycles/{cycle}/import/apply"),
            &format!("token={token}"),
        ))
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM snapshots").await, 2);
}

/// The entries' details, as stored, of the `cycle.import` entries (oldest first).
async fn import_entries(app: &TestApp) -> Vec<(i64, String)> {
    sqlx::query_as(
        "SELECT seq, details::text FROM audit_log WHERE action = 'cycle.import' ORDER BY seq",
    )
    .fetch_all(&mut app.db.owner().await)
    .await
    .unwrap()
}

/// The cycle an audit entry is about.
async fn details_cycle(app: &TestApp, seq: i64) -> Uuid {
    let id: String = sqlx::query_scalar("SELECT entity_id FROM audit_log WHERE seq = $1")
        .bind(seq)
        .fetch_one(&mut app.db.owner().await)
        .await
        .unwrap();
    id.parse().unwrap()
}

#[tokio::test]
async fn an_imports_audit_entry_does_not_grow_with_the_file_and_names_values_that_verify() {
    use sqlx::Executor;
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let framework = gci_framework();
    let stored = store_framework(&app, &framework).await;
    let goals: Vec<String> = framework
        .goals()
        .map(|(_, goal)| goal.code.clone())
        .collect();
    let participants: Vec<String> = gci_rows().into_iter().map(|(code, _, _)| code).collect();
    let file = |participants: &[String], goals: &[String]| {
        let mut file = header() + ",narrative\n";
        for participant in participants {
            for (n, goal) in goals.iter().enumerate() {
                file.push_str(&tidy_row(
                    participant,
                    goal,
                    "answered",
                    &format!("{}", n + 3),
                ));
                file.push_str(&format!(
                    ",\"{participant} {goal}: a narrative, long enough to matter\"\n"
                ));
            }
        }
        file
    };
    let import = |code: &'static str, content: String| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let cycle = new_cycle(app, &admin, stored.id, code).await;
            let response = app
                .request(multipart(
                    &admin,
                    &format!("/api/v1/cycles/{cycle}/import"),
                    &[("purpose", "historical")],
                    "returns.csv",
                    content.as_bytes(),
                ))
                .await;
            let status = response.status();
            let outcome = body_json(response).await;
            assert_eq!(status, StatusCode::OK, "{outcome}");
            outcome
        }
    };
    let small = import("S-2019", file(&participants[..1], &goals[..1])).await;
    assert_eq!(small["rows"], json!(1));
    let large = import("L-2019", file(&participants, &goals)).await;
    assert_eq!(large["rows"], json!(participants.len() * goals.len()));
    assert!(participants.len() * goals.len() >= 150);

    let entries = import_entries(&app).await;
    assert_eq!(entries.len(), 2);
    let (small_entry, large_entry) = (&entries[0].1, &entries[1].1);
    // 150 times the rows, the same entry but for the digits of its counts and digests.
    assert!(
        large_entry.len() <= small_entry.len() + 16,
        "{} bytes for 1 row, {} for {}: {large_entry}",
        small_entry.len(),
        large_entry.len(),
        large["rows"]
    );
    assert!(!large_entry.contains("a narrative"), "no value is inlined");
    let details: Value = serde_json::from_str(large_entry).unwrap();
    assert_eq!(details["file_sha256"], large["file_sha256"]);
    assert_eq!(details["new"], large["rows"]);
    assert_eq!(details["values"]["table"], json!("cycle_import_values"));
    assert_eq!(details["values"]["count"], large["rows"]);

    // Every value written is kept, in file order, with its place in the file.
    let import = details["import"].as_str().unwrap();
    let (last_participant, last_goal) = (participants.last().unwrap(), goals.last().unwrap());
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM cycle_import_values WHERE import_id = '{import}'
             AND seq = {rows} AND file_row = {rows} + 1 AND change = 'new' AND before IS NULL
             AND participant_code = '{last_participant}' AND goal_code = '{last_goal}'
             AND after = '[\"{last_goal}\",\"{n}\",null,\"\",null,\"{last_participant} {last_goal}: a narrative, long enough to matter\"]'",
            rows = large["rows"],
            n = goals.len() + 2,
        ))
        .await,
        1
    );

    // An admin downloads them from the cycle's import page (streamed CSV), one row per value.
    let cycle = details_cycle(&app, entries[1].0).await;
    let form = crate::support::body_text(
        app.request(admin.get(&format!("/cycles/{cycle}/import")))
            .await,
    )
    .await;
    assert!(form.contains(&format!("href=\"/cycles/{cycle}/import/values\"")));
    let response = app
        .request(admin.get(&format!("/cycles/{cycle}/import/values?import={import}")))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = String::from_utf8(body_bytes(response).await.to_vec()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "import,seq,participant_code,goal_code,file_row,change,before,after"
    );
    assert_eq!(lines.len() as u64, large["rows"].as_u64().unwrap() + 1);
    assert!(
        lines[1].starts_with(&format!(
            "{import},1,{},{},2,new,,\"[\"\"{}\"\",",
            participants[0], goals[0], goals[0]
        )),
        "{}",
        lines[1]
    );
    // Another cycle's import is not found there; an analyst may not read them.
    let other = details_cycle(&app, entries[0].0).await;
    let response = app
        .request(admin.get(&format!("/cycles/{other}/import/values?import={import}")))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let analyst = app.user("analyst", None).await;
    let response = app
        .request(analyst.get(&format!("/cycles/{cycle}/import/values?import={import}")))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // The chain verifies, values included; editing a kept value is caught.
    let mut owner = app.db.owner().await;
    let verified = pledge::storage::audit::verify(&mut owner).await.unwrap();
    assert_eq!(verified.first_break, None);
    let mut root = app.db.superuser().await;
    root.execute("ALTER TABLE cycle_import_values DISABLE TRIGGER cycle_import_values_immutable")
        .await
        .unwrap();
    root.execute(
        format!(
            "UPDATE cycle_import_values SET after = replace(after, 'narrative', 'story')
             WHERE import_id = '{import}' AND seq = 7"
        )
        .as_str(),
    )
    .await
    .unwrap();
    let broken = pledge::storage::audit::verify(&mut owner)
        .await
        .unwrap()
        .first_break
        .expect("an edited value breaks verification");
    assert_eq!(broken.seq, entries[1].0);
    assert!(broken.reason.contains("values kept"), "{}", broken.reason);
}

#[tokio::test]
async fn a_delegation_sees_the_answers_the_secretariat_entered_for_it_until_it_changes_them() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let cycle = gci_cycle(&app, &admin, "SEEN-2026").await;
    let opened = app
        .request(admin.api("POST", &format!("/api/v1/cycles/{cycle}/open"), None))
        .await;
    assert!(opened.status().is_success(), "{}", opened.status());
    let mut file = header() + "\n";
    for (goal, value) in [("legal", "15"), ("technical", "10")] {
        file.push_str(&tidy_row("FRA", goal, "answered", value));
        file.push('\n');
    }
    let response = app
        .request(multipart(
            &admin,
            &format!("/api/v1/cycles/{cycle}/import"),
            &[("purpose", "on_behalf")],
            "by-mail.csv",
            file.as_bytes(),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let fra = app.assessment_of(cycle, "FRA").await;
    let head = app.user("head", Some("FRA")).await;
    let page = |path: String, lang: &'static str| {
        let head = head.clone();
        let app = &app;
        async move {
            let mut request = head.get(&path);
            request
                .headers_mut()
                .insert("accept-language", lang.parse().unwrap());
            let response = app.request(request).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            crate::support::body_text(response).await
        }
    };
    // The mark sits in the goal's own block, with the day, in the page's language.
    let goal_block = |page: &str, goal: &str| -> String {
        page.split(&format!("id=\"goal-{goal}-title\""))
            .nth(1)
            .and_then(|rest| rest.split("id=\"save-").next())
            .unwrap_or_default()
            .to_owned()
    };
    let today = time::OffsetDateTime::now_utc().year().to_string();
    let legal = page(format!("/assessments/{fra}/sections/LEGAL"), "en").await;
    let block = goal_block(&legal, "legal");
    assert!(
        block.contains("Entered by the secretariat on") && block.contains(&today),
        "{block}"
    );
    assert!(
        !block.contains("Carried forward"),
        "not called a carried-forward answer: {block}"
    );
    let french = page(format!("/assessments/{fra}/sections/LEGAL"), "fr").await;
    assert!(
        goal_block(&french, "legal").contains("Saisie par le secrétariat le"),
        "{french}"
    );
    let check = page(format!("/assessments/{fra}/check"), "en").await;
    let row = |page: &str, goal: &str| -> String {
        page.split(&format!("id=\"check-goal-{goal}\""))
            .nth(1)
            .and_then(|rest| rest.split("</div>").next())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(row(&check, "legal").contains("Entered by the secretariat on"));
    assert!(row(&check, "technical").contains("Entered by the secretariat on"));
    assert!(!row(&check, "cooperation").contains("Entered by the secretariat"));

    // The delegation changes one answer: its mark goes, the other stays.
    let saved = app
        .request({
            let mut request = head.api(
                "PUT",
                &format!("/api/v1/assessments/{fra}/answers/legal"),
                Some(json!({ "value": "16" })),
            );
            request
                .headers_mut()
                .insert("if-match", "\"1\"".parse().unwrap());
            request
        })
        .await;
    assert_eq!(saved.status(), StatusCode::NO_CONTENT);
    let check = page(format!("/assessments/{fra}/check"), "en").await;
    assert!(!row(&check, "legal").contains("Entered by the secretariat"));
    assert!(row(&check, "technical").contains("Entered by the secretariat on"));
    let legal = page(format!("/assessments/{fra}/sections/LEGAL"), "en").await;
    assert!(!goal_block(&legal, "legal").contains("Entered by the secretariat"));
}
