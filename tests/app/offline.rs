//! The offline round trip: the form exported as XLSX, filled in by another spreadsheet writer,
//! imported back; bad files refused with every problem placed and nothing changed; rows changed
//! on the server since the export refused as conflicts.

use std::io::{Cursor, Read};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use serde_json::{Value, json};

use crate::assessments::open_cycle_of;
use crate::support::{TestApp, TestUser, body_bytes, body_json, body_text};

/// The filled-in form as uploaded from a page or through the API.
fn upload(user: &TestUser, path: &str, content: &[u8]) -> Request<Body> {
    crate::support::upload(user, path, "form.xlsx", content)
}

async fn export(app: &TestApp, user: &TestUser, assessment: &str, lang: &str) -> Vec<u8> {
    let response = app
        .request(user.api(
            "POST",
            &format!("/api/v1/assessments/{assessment}/offline-form?lang={lang}"),
            None,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    body_bytes(response).await
}

/// A change made in a spreadsheet program.
enum Edit {
    Text(&'static str),
    Number(f64),
    Clear,
}

/// The workbook as another program saves it after edits: every cell read with calamine and
/// written anew with rust_xlsxwriter (no styles, validations or hidden columns kept), with
/// `edits` (sheet, zero-based row and column) applied and sheets renamed.
fn rewrite(original: &[u8], edits: &[(&str, u32, u16, Edit)], renames: &[(&str, &str)]) -> Vec<u8> {
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(original.to_vec())).unwrap();
    let mut out = rust_xlsxwriter::Workbook::new();
    for name in workbook.sheet_names() {
        let range = workbook.worksheet_range(&name).unwrap();
        let (top, left) = range.start().unwrap_or((0, 0));
        let sheet = out.add_worksheet();
        let new_name = renames
            .iter()
            .find(|(from, _)| *from == name)
            .map_or(name.as_str(), |(_, to)| to);
        sheet.set_name(new_name).unwrap();
        let edited = |r: u32, c: u16| {
            edits
                .iter()
                .any(|(sheet, er, ec, _)| *sheet == name && (*er, *ec) == (r, c))
        };
        for (r, c, value) in range.used_cells() {
            let (r, c) = (top + r as u32, (left + c as u32) as u16);
            if edited(r, c) {
                continue;
            }
            match value {
                Data::String(text) => sheet.write_string(r, c, text).map(|_| ()),
                Data::Float(number) => sheet.write_number(r, c, *number).map(|_| ()),
                Data::Int(number) => sheet.write_number(r, c, *number as f64).map(|_| ()),
                Data::Bool(yes) => sheet.write_boolean(r, c, *yes).map(|_| ()),
                _ => Ok(()),
            }
            .unwrap();
        }
        for (_, r, c, edit) in edits.iter().filter(|(sheet, ..)| *sheet == name) {
            match edit {
                Edit::Text(text) => sheet.write_string(*r, *c, *text).map(|_| ()),
                Edit::Number(number) => sheet.write_number(*r, *c, *number).map(|_| ()),
                Edit::Clear => Ok(()),
            }
            .unwrap();
        }
    }
    out.save_to_buffer().unwrap()
}

/// Goal rows of the Cyber Defence Pledge 2016 form (zero-based; row 0 is the header).
const I1: u32 = 1; // maturity 0–5
const I3: u32 = 3; // numeric 0–100 %, no decimals
const I4: u32 = 4; // yes/no
const II1: u32 = 5; // numeric 0–20 %, 1 decimal
/// Columns (zero-based): A goal … E value, F not applicable, G why, H target, I status,
/// J narrative, K confirm, L version, M check.
const VALUE: u16 = 4;
const NA: u16 = 5;
const WHY: u16 = 6;
const STATUS: u16 = 8;
const NARRATIVE: u16 = 9;

async fn answers(app: &TestApp, user: &TestUser, assessment: &str) -> Vec<Value> {
    let document = body_json(
        app.request(user.api("GET", &format!("/api/v1/assessments/{assessment}"), None))
            .await,
    )
    .await;
    document["answers"].as_array().unwrap().clone()
}

fn answer<'a>(answers: &'a [Value], goal: &str) -> Option<&'a Value> {
    answers.iter().find(|a| a["goal"] == goal)
}

/// Saves one answer through the API (If-Match: its current version).
async fn save(
    app: &TestApp,
    user: &TestUser,
    assessment: &str,
    goal: &str,
    body: Value,
    version: i64,
) {
    let mut request = user.api(
        "PUT",
        &format!("/api/v1/assessments/{assessment}/answers/{goal}"),
        Some(body),
    );
    request
        .headers_mut()
        .insert(header::IF_MATCH, format!("\"{version}\"").parse().unwrap());
    assert_eq!(app.request(request).await.status(), StatusCode::NO_CONTENT);
}

/// A digest of every answer of the database, to show nothing changed.
async fn answers_digest(app: &TestApp) -> String {
    let mut owner = app.db.owner().await;
    sqlx::query_scalar(
        "SELECT coalesce(md5(string_agg(a::text, '|' ORDER BY goal_id)), '') FROM answers a",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_form_filled_in_offline_is_imported_back() {
    let app = TestApp::spawn().await;
    let (_, _, assessment) = open_cycle_of(&app, "cyber-defence-pledge-2016.json").await;
    let contributor = app.user("contributor", Some("FRA")).await;
    save(
        &app,
        &contributor,
        &assessment,
        "I.3",
        json!({"value": "40", "narrative": "Budget line"}),
        0,
    )
    .await;

    let file = export(&app, &contributor, &assessment, "fr").await;
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(file.clone())).unwrap();
    assert_eq!(workbook.sheet_names(), ["Formulaire", "À propos"]);
    let form = workbook.worksheet_range("Formulaire").unwrap();
    assert_eq!(
        form.get_value((0, 0)),
        Some(&Data::String("Objectif".into()))
    );
    assert_eq!(
        form.get_value((0, 4)),
        Some(&Data::String("Réponse".into()))
    );
    assert_eq!(form.height(), 1 + 28, "a header and one row per goal");
    assert_eq!(form.get_value((I3, 0)), Some(&Data::String("I.3".into())));
    assert_eq!(
        form.get_value((I3, 4)),
        Some(&Data::Float(40.0)),
        "a number cell"
    );
    assert_eq!(
        form.get_value((I3, 11)),
        Some(&Data::Float(1.0)),
        "the row version"
    );
    let guidance = form.get_value((I1, 3)).unwrap().to_string();
    assert!(
        guidance.contains("0 — Non commencé") && guidance.contains("5 — Optimisé"),
        "{guidance}"
    );
    let about = workbook.worksheet_range("À propos").unwrap();
    assert_eq!(
        about.get_value((1, 1)),
        Some(&Data::String(assessment.clone()))
    );
    // The drop-down lists and range checks, as the sheet's XML declares them.
    let mut archive = zip::ZipArchive::new(Cursor::new(file.clone())).unwrap();
    let mut sheet_xml = String::new();
    archive
        .by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut sheet_xml)
        .unwrap();
    assert!(
        sheet_xml.contains(r#"<formula1>"0,1,2,3,4,5"</formula1>"#),
        "levels as a list"
    );
    assert!(
        sheet_xml.contains(r#"<formula1>"oui,non"</formula1>"#),
        "yes/no as a list"
    );
    assert!(
        sheet_xml.contains(r#"type="decimal""#),
        "numbers as a range"
    );
    assert!(
        sheet_xml.contains("<sheetProtection"),
        "codes and versions locked"
    );

    // Filled in elsewhere: a level typed as a number, a yes/no word, a French status label, a
    // comma decimal, and a goal marked not applicable; I.3 left as it was.
    let filled = rewrite(
        &file,
        &[
            ("Formulaire", I1, VALUE, Edit::Number(3.0)),
            ("Formulaire", I1, STATUS, Edit::Text("En cours")),
            ("Formulaire", I1, NARRATIVE, Edit::Text("Plan approuvé")),
            ("Formulaire", I4, VALUE, Edit::Text("oui")),
            ("Formulaire", II1, VALUE, Edit::Text("12,5")),
            ("Formulaire", 6, NA, Edit::Text("oui")),
            (
                "Formulaire",
                6,
                WHY,
                Edit::Text("Traité par un organisme régional"),
            ),
        ],
        &[],
    );
    let before_imports = app
        .count("SELECT count(*) FROM audit_log WHERE action = 'assessment.import'")
        .await;
    let imported = app
        .request(upload(
            &contributor,
            &format!("/assessments/{assessment}/offline/import"),
            &filled,
        ))
        .await;
    assert_eq!(imported.status(), StatusCode::SEE_OTHER);
    let location = imported.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        location,
        format!("/assessments/{assessment}/offline?changed=4&unchanged=24")
    );
    let page = body_text(app.request(contributor.get(&location)).await).await;
    assert!(
        page.contains("Answers changed: 4"),
        "the page says what changed"
    );

    let stored = answers(&app, &contributor, &assessment).await;
    let i1 = answer(&stored, "I.1").unwrap();
    assert_eq!(
        (i1["value"].as_str(), i1["implementation_status"].as_str()),
        (Some("3"), Some("in_progress"))
    );
    assert_eq!(answer(&stored, "I.4").unwrap()["value"], "yes");
    assert_eq!(answer(&stored, "II.1").unwrap()["value"], "12.5");
    assert_eq!(answer(&stored, "II.2").unwrap()["not_applicable"], true);
    let i3 = answer(&stored, "I.3").unwrap();
    assert_eq!(
        (i3["value"].as_str(), i3["row_version"].as_i64()),
        (Some("40"), Some(1)),
        "untouched"
    );

    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'assessment.import'")
            .await,
        before_imports + 1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'assessment.form_export'")
            .await,
        1
    );
    let mut owner = app.db.owner().await;
    let details: Value = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'assessment.import' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    let changed: Vec<&str> = details["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["goal"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["I.1", "I.4", "II.1", "II.2"]);
    assert_eq!(details["changed"][0]["new"]["value"], "3");

    // The same file again changes nothing: its rows equal what the server now has.
    let again = app
        .request(upload(
            &contributor,
            &format!("/api/v1/assessments/{assessment}/offline-form/import"),
            &filled,
        ))
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        body_json(again).await,
        json!({"changed": [], "unchanged": 28})
    );
}

#[tokio::test]
async fn a_bad_file_changes_nothing_and_every_problem_is_placed() {
    let app = TestApp::spawn().await;
    let (_, _, assessment) = open_cycle_of(&app, "cyber-defence-pledge-2016.json").await;
    let head = app.user("head", Some("FRA")).await;
    let file = export(&app, &head, &assessment, "en").await;
    let api = format!("/api/v1/assessments/{assessment}/offline-form/import");
    let before = answers_digest(&app).await;
    let refused = |response: axum::response::Response| async move {
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        body_json(response).await["error"]["fields"].clone()
    };

    // Values out of range and a good row beside them: nothing is written.
    let bad = rewrite(
        &file,
        &[
            ("Form", I1, VALUE, Edit::Number(7.0)),
            ("Form", I3, VALUE, Edit::Number(140.0)),
            ("Form", I4, VALUE, Edit::Text("perhaps")),
            ("Form", II1, VALUE, Edit::Number(12.55)),
            ("Form", 6, NA, Edit::Text("yes")),
            ("Form", 7, STATUS, Edit::Text("soon")),
            ("Form", 8, VALUE, Edit::Number(2.0)),
            ("Form", 29, 0, Edit::Text("IX.9")),
            ("Form", 2, 13, Edit::Text("my notes")),
        ],
        &[],
    );
    let fields = refused(app.request(upload(&head, &api, &bad)).await).await;
    let expect = [
        ("Form!E2", "Choose one of the levels."),
        ("Form!E4", "This number is outside the goal's range."),
        ("Form!E5", "Answer yes or no."),
        ("Form!E6", "Too many decimals: this goal allows up to 1."),
        ("Form!G7", "Say why the goal does not apply."),
        ("Form!I8", "Choose one of the listed statuses."),
        ("Form!E9", "Answer yes or no."),
        ("Form!A30", "No goal of this framework has this code: IX.9"),
        (
            "Form!N3",
            "This column is not part of the form; remove it: N",
        ),
    ];
    for (place, message) in expect {
        assert_eq!(fields[place], message, "{place} in {fields}");
    }
    assert_eq!(fields.as_object().unwrap().len(), expect.len(), "{fields}");
    assert_eq!(answers_digest(&app).await, before);

    // The page lists them by sheet, row and column.
    let page = app
        .request(upload(
            &head,
            &format!("/assessments/{assessment}/offline/import"),
            &bad,
        ))
        .await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body_text(page).await;
    assert!(page.contains("nothing was changed"));
    assert!(
        page.contains(
            "<td>Form</td><td>4</td><td>E</td><td>This number is outside the goal&#39;s range.</td>"
        ),
        "{page}"
    );

    // Not a workbook; a renamed sheet; a moved column; a form for another assessment.
    let fields = refused(
        app.request(upload(&head, &api, b"%PDF-1.7 not a workbook"))
            .await,
    )
    .await;
    assert!(
        fields["file"]
            .as_str()
            .unwrap()
            .starts_with("This file is not an XLSX workbook")
    );
    let renamed = rewrite(&file, &[], &[("Form", "Sheet1")]);
    let fields = refused(app.request(upload(&head, &api, &renamed)).await).await;
    assert!(
        fields["file"]
            .as_str()
            .unwrap()
            .starts_with("The workbook has no form sheet"),
        "{fields}"
    );
    let moved = rewrite(&file, &[("Form", 0, VALUE, Edit::Text("Score"))], &[]);
    let fields = refused(app.request(upload(&head, &api, &moved)).await).await;
    assert_eq!(
        fields["Form!E1"],
        "This column's heading is not the form's; expected: Answer / Réponse"
    );
    let other = rewrite(
        &file,
        &[(
            "About",
            1,
            1,
            Edit::Text("00000000-0000-0000-0000-000000000000"),
        )],
        &[],
    );
    let fields = refused(app.request(upload(&head, &api, &other)).await).await;
    assert_eq!(
        fields["About!B2"],
        "This form was exported for another assessment."
    );
    let cleared = rewrite(
        &file,
        &[
            ("Form", I3, 11, Edit::Clear),
            ("Form", I3, VALUE, Edit::Number(5.0)),
        ],
        &[],
    );
    let fields = refused(app.request(upload(&head, &api, &cleared)).await).await;
    assert!(
        fields["Form!L4"]
            .as_str()
            .unwrap()
            .starts_with("The version column was changed")
    );

    // A huge file is refused while it is read.
    let huge = vec![b'x'; 10 * 1024 * 1024 + 1];
    let fields = refused(app.request(upload(&head, &api, &huge)).await).await;
    assert_eq!(fields["file"], "This file is larger than allowed.");

    assert_eq!(answers_digest(&app).await, before);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'assessment.import'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_row_changed_on_the_server_since_the_export_is_refused_as_a_conflict() {
    let app = TestApp::spawn().await;
    let (admin, cycle, assessment) = open_cycle_of(&app, "cyber-defence-pledge-2016.json").await;
    let offline = app.user("contributor", Some("FRA")).await;
    let online = app.user("head", Some("FRA")).await;
    let file = export(&app, &offline, &assessment, "en").await;
    // Meanwhile, a colleague saves I.1 and I.3 online.
    save(&app, &online, &assessment, "I.1", json!({"value": "2"}), 0).await;
    save(&app, &online, &assessment, "I.3", json!({"value": "55"}), 0).await;

    // The offline copy changes I.1 too: refused, and nothing of the file is written.
    let both = rewrite(
        &file,
        &[
            ("Form", I1, VALUE, Edit::Number(4.0)),
            ("Form", I4, VALUE, Edit::Text("no")),
        ],
        &[],
    );
    let api = format!("/api/v1/assessments/{assessment}/offline-form/import");
    let response = app.request(upload(&offline, &api, &both)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fields = body_json(response).await["error"]["fields"].clone();
    let conflict = fields["Form!A2"].as_str().unwrap();
    assert!(
        conflict.starts_with("Conflict: this answer was changed on the server"),
        "{conflict}"
    );
    assert!(conflict.contains("I.1"), "{conflict}");
    let stored = answers(&app, &offline, &assessment).await;
    assert_eq!(
        answer(&stored, "I.1").unwrap()["value"],
        "2",
        "the colleague's answer stays"
    );
    let i4 = answer(&stored, "I.4").unwrap();
    assert_eq!(
        (i4["value"].as_str(), i4["row_version"].as_i64()),
        (Some(""), Some(0)),
        "nothing of the file was written"
    );

    // Without the conflicting row, the file goes in; I.3, untouched offline, keeps the
    // colleague's 55 although the file still says nothing for it.
    let one = rewrite(&file, &[("Form", I4, VALUE, Edit::Text("no"))], &[]);
    let response = app.request(upload(&offline, &api, &one)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(response).await["changed"], json!(["I.4"]));
    let stored = answers(&app, &offline, &assessment).await;
    assert_eq!(answer(&stored, "I.3").unwrap()["value"], "55");
    assert_eq!(answer(&stored, "I.4").unwrap()["value"], "no");

    // Viewers, analysts and other delegations cannot export or import this form.
    let viewer = app.user("viewer", Some("FRA")).await;
    let german = app.user("contributor", Some("DEU")).await;
    let analyst = app.user("analyst", None).await;
    for (user, status) in [
        (&viewer, StatusCode::FORBIDDEN),
        (&analyst, StatusCode::FORBIDDEN),
        (&german, StatusCode::NOT_FOUND),
    ] {
        let response = app
            .request(user.api(
                "POST",
                &format!("/api/v1/assessments/{assessment}/offline-form"),
                None,
            ))
            .await;
        assert_eq!(response.status(), status);
        assert_eq!(app.request(upload(user, &api, &one)).await.status(), status);
    }

    // Once the cycle is closed, a good file is refused as such and changes nothing.
    assert_eq!(
        app.request(admin.api("POST", &format!("/api/v1/cycles/{cycle}/close"), None))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let before = answers_digest(&app).await;
    let late = rewrite(&file, &[("Form", II1, VALUE, Edit::Number(3.5))], &[]);
    let response = app.request(upload(&offline, &api, &late)).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(body_json(response).await["error"]["code"], "refused");
    assert_eq!(answers_digest(&app).await, before);
}
