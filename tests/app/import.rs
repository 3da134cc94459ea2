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
use crate::support::{TestApp, TestUser, body_bytes, body_json};

/// A multipart upload with text fields and the file, as a browser or client sends it.
pub(crate) fn multipart(
    user: &TestUser,
    path: &str,
    fields: &[(&str, &str)],
    name: &str,
    content: &[u8],
) -> Request<Body> {
    let boundary = "import-test-boundary";
    let mut body = Vec::new();
    for (field, value) in fields {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n"
            )
            .into_bytes(),
        );
    }
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes(),
    );
    body.extend_from_slice(content);
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let uri = if path.starts_with("/api/") {
        path.to_owned()
    } else {
        format!("{path}?csrf_token={}", user.csrf)
    };
    Request::post(uri)
        .header("cookie", format!("pledge_session={}", user.cookie))
        .header("x-csrf-token", &user.csrf)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap()
}

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
    report["rows"]
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
    let source = cycles
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
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) FROM audit_log WHERE action = 'cycle.import'
                 AND details->>'file_sha256' = '{digest}' AND jsonb_array_length(details->'written') = {}",
                expected.len()
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

    let ranks: HashMap<&str, Option<u64>> = report["rows"]
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
