//! Evidence on answers: links, files and planned actions added and removed by the delegation,
//! refused input kept with its field named, files typed by content, downloads only for readers.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::assessments::open_cycle;
use crate::support::{TestApp, TestUser, body_json, body_text, upload};
use pledge::config::WebConfig;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

async fn evidence(app: &TestApp, user: &TestUser, assessment: &str) -> Vec<Value> {
    let response = app
        .request(user.api(
            "GET",
            &format!("/api/v1/assessments/{assessment}/evidence"),
            None,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    body_json(response).await.as_array().unwrap().clone()
}

#[tokio::test]
async fn a_contributor_attaches_evidence_and_refused_input_is_kept_with_its_field_named() {
    let app = TestApp::spawn().await;
    let (_, assessment) = open_cycle(&app).await;
    let contributor = app.user("contributor", Some("FRA")).await;
    let goal_path = format!("/assessments/{assessment}/goals/legal");

    let added = app
        .request(contributor.post_form(
            &format!("{goal_path}/links"),
            "url=https%3A%2F%2Flegifrance.example%2Floi-2024&label=Loi+2024",
        ))
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        added.headers()[header::LOCATION],
        format!("/assessments/{assessment}/sections/LEGAL?evidence=legal#goal-legal"),
        "back to the goal on its section page, its evidence open"
    );
    assert!(
        added.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("pledge_flash="),
        "with a message"
    );
    let opened = body_text(
        app.request(contributor.get(&format!(
            "/assessments/{assessment}/sections/LEGAL?evidence=legal"
        )))
        .await,
    )
    .await;
    assert!(opened.contains(r#"<details class="evidence" id="evidence-legal" open>"#));

    let refused = app
        .request(contributor.post_form(
            &format!("{goal_path}/links"),
            "url=javascript%3Aalert(1)&label=Keep+this+label",
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body_text(refused).await;
    assert!(
        page.contains(r#"value="Keep this label""#),
        "the label is kept"
    );
    assert!(page.contains("Enter a web address starting with https://"));
    assert!(
        page.contains(r#"id="link-legal" name="url""#) && page.contains(r#"aria-invalid="true""#)
    );
    assert!(
        page.contains(r#"<details class="evidence" id="evidence-legal" open>"#)
            && page.contains(r##"<a href="#link-legal">legal: Enter a web address"##),
        "the refused evidence is open and summed up at the top"
    );

    let refused = app
        .request(contributor.post_form(
            &format!("{goal_path}/actions"),
            "description=Adopt+the+decree&due_on=next+spring",
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body_text(refused).await;
    assert!(
        page.contains(r#"value="Adopt the decree""#),
        "the description is kept"
    );
    assert!(page.contains("Enter a date as YYYY-MM-DD."));
    let added = app
        .request(contributor.post_form(
            &format!("{goal_path}/actions"),
            "description=Adopt+the+decree&due_on=2027-06-30",
        ))
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);

    let uploaded = app
        .request(upload(
            &contributor,
            &format!("{goal_path}/files"),
            "Décret final.pdf",
            PDF,
        ))
        .await;
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);

    let items = evidence(&app, &contributor, &assessment).await;
    let kinds: Vec<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["link", "action", "file"]);
    assert_eq!(items[0]["text"], "https://legifrance.example/loi-2024");
    assert_eq!(items[1]["due_on"], "2027-06-30");
    assert_eq!(items[2]["detail"], "application/pdf");
    assert_eq!(items[2]["size_bytes"], PDF.len());

    // The file comes back byte for byte, as an attachment that cannot run in the page.
    let file = items[2]["id"].as_str().unwrap();
    let download = app
        .request(contributor.get(&format!("/evidence/files/{file}")))
        .await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()[header::CONTENT_TYPE], "application/pdf");
    let disposition = download.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        download.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(
        download.into_body().collect().await.unwrap().to_bytes(),
        PDF
    );

    // The form lists all three on the goal.
    let page = body_text(
        app.request(contributor.get(&format!("/assessments/{assessment}/sections/LEGAL")))
            .await,
    )
    .await;
    assert!(page.contains("Loi 2024") && page.contains("Adopt the decree"));
    assert!(
        page.contains(r#"<details class="evidence" id="evidence-legal">"#),
        "collapsed until asked for"
    );
    assert!(page.contains(&format!(r#"href="/evidence/files/{file}""#)));

    // Every change is in the audit log, with the file's digest.
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action IN ('evidence_link.add', 'planned_action.add', 'evidence_file.add')")
            .await,
        3
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'evidence_file.add' AND length(details->>'sha256') = 64")
            .await,
        1
    );

    // Removing the link: gone from the list, and audited.
    let link = items[0]["id"].as_str().unwrap();
    let removed = app
        .request(contributor.post_form(&format!("/evidence/links/{link}/delete"), ""))
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert_eq!(evidence(&app, &contributor, &assessment).await.len(), 2);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'evidence_link.remove'")
            .await,
        1
    );
}

#[tokio::test]
async fn files_are_typed_by_content_and_limited_in_size() {
    let app = TestApp::spawn_with(WebConfig {
        max_evidence_bytes: 1024,
        ..WebConfig::default()
    })
    .await;
    let (_, assessment) = open_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    let api_path = format!("/api/v1/assessments/{assessment}/answers/legal/files");

    // A program renamed to .pdf is refused, on pages and through the API, naming the field.
    let program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00this program cannot be run in DOS mode";
    let refused = app
        .request(upload(&head, &api_path, "report.pdf", program))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body_json(refused).await["error"]["fields"]["file"],
        "This kind of file is not accepted (its content was checked)."
    );
    let refused = app
        .request(upload(
            &head,
            &format!("/assessments/{assessment}/goals/legal/files"),
            "report.pdf",
            program,
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body_text(refused)
            .await
            .contains("This kind of file is not accepted")
    );

    // A zip that is not an office document is refused too; a spreadsheet export is accepted.
    let zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00archive";
    let refused = app
        .request(upload(&head, &api_path, "bundle.zip", zip))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let csv = "goal,value\nlegal,18.75\n".as_bytes();
    let stored = app
        .request(upload(&head, &api_path, "figures.csv", csv))
        .await;
    assert_eq!(stored.status(), StatusCode::CREATED);

    // Over the limit: refused while reading, nothing stored.
    let mut large = PDF.to_vec();
    large.resize(2048, b' ');
    let refused = app
        .request(upload(&head, &api_path, "large.pdf", &large))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body_json(refused).await["error"]["fields"]["file"],
        "This file is larger than allowed."
    );
    let empty = app
        .request(upload(&head, &api_path, "empty.pdf", b""))
        .await;
    assert_eq!(
        body_json(empty).await["error"]["fields"]["file"],
        "Choose a file to attach."
    );
    assert_eq!(app.count("SELECT count(*) FROM evidence_files").await, 1);
}

#[tokio::test]
async fn only_those_who_may_read_the_answers_see_or_change_the_evidence() {
    let app = TestApp::spawn().await;
    let (admin, assessment) = open_cycle(&app).await;
    let contributor = app.user("contributor", Some("FRA")).await;
    let api_path = format!("/api/v1/assessments/{assessment}/answers/legal");
    let created = app
        .request(contributor.api(
            "POST",
            &format!("{api_path}/links"),
            Some(json!({"url": "https://example.org/law"})),
        ))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let link = body_json(created).await["id"].as_str().unwrap().to_owned();
    let stored = app
        .request(upload(
            &contributor,
            &format!("{api_path}/files"),
            "law.pdf",
            PDF,
        ))
        .await;
    let file = body_json(stored).await["id"].as_str().unwrap().to_owned();

    // Another delegation and analysts (on a draft) do not learn it exists.
    let other = app.user("contributor", Some("DEU")).await;
    let analyst = app.user("analyst", None).await;
    for user in [&other, &analyst] {
        let download = app
            .request(user.get(&format!("/evidence/files/{file}")))
            .await;
        assert_eq!(download.status(), StatusCode::NOT_FOUND);
        let removed = app
            .request(user.api("DELETE", &format!("/api/v1/evidence/links/{link}"), None))
            .await;
        assert_eq!(removed.status(), StatusCode::NOT_FOUND);
    }
    // The delegation's viewer reads but may not change; the secretariat reads.
    let viewer = app.user("viewer", Some("FRA")).await;
    assert_eq!(
        app.request(viewer.get(&format!("/evidence/files/{file}")))
            .await
            .status(),
        StatusCode::OK
    );
    let refused = app
        .request(viewer.api(
            "POST",
            &format!("{api_path}/links"),
            Some(json!({"url": "https://example.org/other"})),
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.request(viewer.api("DELETE", &format!("/api/v1/evidence/links/{link}"), None))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.request(admin.get(&format!("/evidence/files/{file}")))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.count("SELECT count(*) FROM evidence_links").await, 1);

    // Once submitted, the evidence is frozen with the answers.
    let head = app.user("head", Some("FRA")).await;
    // The evidence made an empty answer row for legal; it stays at version 0, like no row, so
    // the first save of that answer is not a conflict.
    for (goal, version) in [
        ("legal", 0),
        ("technical", 0),
        ("organizational", 0),
        ("capacity_development", 0),
        ("cooperation", 0),
    ] {
        let saved = app
            .request(head.post_form(
                &format!("/assessments/{assessment}/goals/{goal}"),
                &format!("value=10&row_version={version}"),
            ))
            .await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER, "{goal}");
    }
    let submitted = app
        .request(head.api(
            "POST",
            &format!("/api/v1/assessments/{assessment}/submit"),
            None,
        ))
        .await;
    assert!(submitted.status().is_success(), "{}", submitted.status());
    let refused = app
        .request(head.api("DELETE", &format!("/api/v1/evidence/links/{link}"), None))
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(app.count("SELECT count(*) FROM evidence_links").await, 1);
    // ... and analysts may now read it.
    assert_eq!(
        app.request(analyst.get(&format!("/evidence/files/{file}")))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn uploads_may_pass_the_usual_body_limit_up_to_the_evidence_limit_and_nothing_else_does() {
    let app = TestApp::spawn().await;
    let (_, assessment) = open_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    let mut report = PDF.to_vec();
    report.resize(3 * 1024 * 1024, b' ');
    let page = app
        .request(upload(
            &head,
            &format!("/assessments/{assessment}/goals/legal/files"),
            "report.pdf",
            &report,
        ))
        .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    let api = app
        .request(upload(
            &head,
            &format!("/api/v1/assessments/{assessment}/answers/legal/files"),
            "report.pdf",
            &report,
        ))
        .await;
    assert_eq!(api.status(), StatusCode::CREATED);
    // A JSON route on the same router keeps the ordinary limit.
    let huge_label = "x".repeat(3 * 1024 * 1024);
    let link = app
        .request(head.api(
            "POST",
            &format!("/api/v1/assessments/{assessment}/answers/legal/links"),
            Some(json!({"url": "https://example.org", "label": huge_label})),
        ))
        .await;
    assert_eq!(link.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        app.count("SELECT count(*) FROM evidence_files WHERE size_bytes = 3145728")
            .await,
        2
    );
    // Fields besides the file are not an unbounded way in.
    let boundary = "test-boundary";
    let padding = "p".repeat(100 * 1024);
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"padding\"\r\n\r\n{padding}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF-1.4\r\n--{boundary}--\r\n"
    );
    let padded = Request::post(format!(
        "/api/v1/assessments/{assessment}/answers/legal/files"
    ))
    .header("cookie", format!("pledge_session={}", head.cookie))
    .header("x-csrf-token", &head.csrf)
    .header(
        header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={boundary}"),
    )
    .body(Body::from(body))
    .unwrap();
    assert_eq!(app.request(padded).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.count("SELECT count(*) FROM evidence_files").await, 2);
}
