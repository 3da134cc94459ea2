//! Frameworks, mappings, participants, cycles and national goals: the secretariat's side and the
//! delegations' own goals.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use pledge::domain::framework::Framework;
use serde_json::{Value, json};

use crate::support::{TestApp, TestUser, body_json, body_text};

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/fixtures/frameworks/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn raw_json(user: &TestUser, method: &str, path: &str, body: String) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("cookie", format!("pledge_session={}", user.cookie))
        .header("x-csrf-token", &user.csrf)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

pub(crate) async fn import(app: &TestApp, admin: &TestUser, name: &str) -> String {
    let response = app
        .request(raw_json(
            admin,
            "POST",
            "/api/v1/frameworks",
            fixture_text(name),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "{name}");
    body_json(response).await["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn create_cycle(
    app: &TestApp,
    admin: &TestUser,
    framework: &str,
    code: &str,
) -> String {
    let body = json!({"framework_id": framework, "code": code, "title_en": format!("Cycle {code}"),
                      "opens_on": "2027-09-01", "deadline": "2027-12-10"});
    let response = app
        .request(admin.api("POST", "/api/v1/cycles", Some(body)))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    body_json(response).await["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_exported_framework_imports_back_identically_and_all_example_shapes_import() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    for name in [
        "cyber-defence-pledge-2016.json",
        "itu-gci-2020.json",
        "enisa-ncaf.json",
    ] {
        let id = import(&app, &admin, name).await;
        let response = app
            .request(admin.api("GET", &format!("/api/v1/frameworks/{id}"), None))
            .await;
        assert_eq!(response.headers()[header::ETAG], "\"1\"");
        let exported = body_text(response).await;
        let original = Framework::from_json(&fixture_text(name)).unwrap();
        assert_eq!(
            Framework::from_json(&exported).unwrap(),
            original,
            "{name} round trip"
        );
    }
    let page = body_text(app.request(admin.get("/frameworks")).await).await;
    assert!(page.contains("itu-gci") && page.contains("enisa-ncaf"));
}

#[tokio::test]
async fn an_invalid_document_is_refused_with_every_problem_by_path_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let mut document: Value = serde_json::from_str(&fixture_text("itu-gci-2020.json")).unwrap();
    document["family"] = json!("Not A Family");
    document["sections"][1]["code"] = json!("LEGAL");
    document["sections"][2]["goals"][0]["scale"]["max"] = json!(-5);
    let response = app
        .request(raw_json(
            &admin,
            "POST",
            "/api/v1/frameworks",
            document.to_string(),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fields = body_json(response).await["error"]["fields"].clone();
    for path in [
        "/family",
        "/sections/1/code",
        "/sections/2/goals/0/scale/max",
    ] {
        assert!(fields[path].is_string(), "{path} missing from {fields}");
    }
    assert!(
        fields["/sections/1/code"]
            .as_str()
            .unwrap()
            .contains("LEGAL")
    );
    assert_eq!(app.count("SELECT count(*) FROM frameworks").await, 0);
    let not_json = app
        .request(raw_json(
            &admin,
            "POST",
            "/api/v1/frameworks",
            "{\"format\": ".into(),
        ))
        .await;
    assert!(
        body_json(not_json).await["error"]["fields"]["document"]
            .as_str()
            .unwrap()
            .contains("line 1")
    );

    // The page lists the same problems and keeps the pasted text.
    let form = format!("document={}", crate::support::enc(&document.to_string()));
    let response = app
        .request(admin.post_form("/frameworks/import", &form))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body_text(response).await;
    assert!(
        html.contains("Another section already has this code: LEGAL"),
        "{html}"
    );
    assert!(html.contains("Not A Family"), "the document is kept");
}

#[tokio::test]
async fn a_version_used_by_a_cycle_is_frozen_and_a_copy_is_editable_and_mapped() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let id = import(&app, &admin, "itu-gci-2020.json").await;
    create_cycle(&app, &admin, &id, "2027").await;

    let mut put = raw_json(
        &admin,
        "PUT",
        &format!("/api/v1/frameworks/{id}"),
        fixture_text("itu-gci-2020.json"),
    );
    put.headers_mut()
        .insert(header::IF_MATCH, "\"1\"".parse().unwrap());
    let response = app.request(put).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        body_json(response).await["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Copy as new version")
    );
    let page = app
        .request(admin.post_form(
            &format!("/frameworks/{id}/sections/LEGAL"),
            "code=LEGAL&title_en=Renamed&row_version=1",
        ))
        .await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body_text(page)
            .await
            .contains("used by a cycle and cannot change")
    );
    let mut root = app.db.superuser().await;
    let direct = sqlx::query("UPDATE goals SET title_en = 'x'")
        .execute(&mut root)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        direct.contains("frozen"),
        "the database refuses too: {direct}"
    );

    let copy = app
        .request(admin.api(
            "POST",
            &format!("/api/v1/frameworks/{id}/copy"),
            Some(json!({"version": "2021"})),
        ))
        .await;
    assert_eq!(copy.status(), StatusCode::CREATED);
    let copy_id = body_json(copy).await["id"].as_str().unwrap().to_owned();
    let edited = app
        .request(admin.post_form(
            &format!("/frameworks/{copy_id}/sections/LEGAL"),
            "code=LEGAL&title_en=Legal+and+regulatory&row_version=1",
        ))
        .await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    let mapping = body_json(
        app.request(admin.api(
            "GET",
            &format!("/api/v1/frameworks/{id}/mappings/{copy_id}"),
            None,
        ))
        .await,
    )
    .await;
    assert_eq!(mapping.as_array().unwrap().len(), 5);
    assert!(
        mapping
            .as_array()
            .unwrap()
            .iter()
            .all(|row| row["relation"] == "equivalent")
    );
    let taken = app
        .request(admin.api(
            "POST",
            &format!("/api/v1/frameworks/{id}/copy"),
            Some(json!({"version": "2021"})),
        ))
        .await;
    assert_eq!(
        body_json(taken).await["error"]["fields"]["version"],
        "This family already has a version with this name."
    );
}

#[tokio::test]
async fn framework_writes_need_the_version_read_and_refuse_a_stale_one() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let id = import(&app, &admin, "itu-gci-2020.json").await;
    let path = format!("/api/v1/frameworks/{id}");
    let without = app
        .request(raw_json(
            &admin,
            "PUT",
            &path,
            fixture_text("itu-gci-2020.json"),
        ))
        .await;
    assert_eq!(without.status(), StatusCode::PRECONDITION_REQUIRED);
    for (etag, status) in [
        ("\"1\"", StatusCode::NO_CONTENT),
        ("\"1\"", StatusCode::PRECONDITION_FAILED),
    ] {
        let mut put = raw_json(&admin, "PUT", &path, fixture_text("itu-gci-2020.json"));
        put.headers_mut()
            .insert(header::IF_MATCH, etag.parse().unwrap());
        assert_eq!(app.request(put).await.status(), status);
    }
    // A page form read before the change is refused the same way, keeping what was typed.
    let stale = app
        .request(admin.post_form(
            &format!("/frameworks/{id}/sections/new"),
            "code=EXTRA&title_en=Kept+title&row_version=1",
        ))
        .await;
    assert_eq!(stale.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body_text(stale).await;
    assert!(html.contains("Someone else changed this") && html.contains("Kept title"));
}

#[tokio::test]
async fn goals_and_sections_are_edited_on_pages_with_problems_at_their_fields() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let id = import(&app, &admin, "cyber-defence-pledge-2016.json").await;
    let bad = "section=I&code=I.9&title_en=Kept+goal&scale=numeric&min=10&max=twenty&decimals=1&weight=1&row_version=1";
    let response = app
        .request(admin.post_form(&format!("/frameworks/{id}/goals/new"), bad))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body_text(response).await;
    assert!(
        html.contains(r#"id="max-error""#)
            && html.contains(r#"value="twenty""#)
            && html.contains(r#"value="Kept goal""#)
    );

    let levels = "section=II&code=II.9&title_en=Maturity+goal&scale=maturity&lowest_level=1&weight=2&row_version=1\
        &level_name_en_0=Initial&level_name_en_1=Defined&level_name_en_2=Optimised&level_descriptor_en_1=Written+down";
    let response = app
        .request(admin.post_form(&format!("/frameworks/{id}/goals/new"), levels))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let moved = app
        .request(admin.post_form(
            &format!("/frameworks/{id}/sections/VII/move"),
            "direction=up&row_version=2",
        ))
        .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    let last_goal = app
        .request(admin.post_form(
            &format!("/frameworks/{id}/sections/VII/delete"),
            "row_version=3",
        ))
        .await;
    assert_eq!(
        last_goal.status(),
        StatusCode::SEE_OTHER,
        "a whole section may go"
    );
    let exported = body_text(
        app.request(admin.api("GET", &format!("/api/v1/frameworks/{id}"), None))
            .await,
    )
    .await;
    let framework = Framework::from_json(&exported).unwrap();
    let codes: Vec<&str> = framework.sections.iter().map(|s| s.code.as_str()).collect();
    assert_eq!(codes, ["I", "II", "III", "IV", "V", "VI"]);
    let goal = framework.goals().find(|(_, g)| g.code == "II.9").unwrap().1;
    assert_eq!(goal.weight, rust_decimal::Decimal::TWO);
    assert_eq!(
        serde_json::to_value(&goal.scale).unwrap()["levels"][1]["descriptor"]["en"],
        "Written down"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'framework.update'")
            .await,
        3
    );
}

#[tokio::test]
async fn mapping_rows_are_checked_against_both_versions() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let pledge = import(&app, &admin, "cyber-defence-pledge-2016.json").await;
    let gci = import(&app, &admin, "itu-gci-2020.json").await;
    let rows = json!([
        {"from_goal": "I.1", "to_goal": "legal", "relation": "equivalent"},
        {"from_goal": "I.2", "to_goal": "nope", "relation": "split"},
        {"from_goal": null, "to_goal": "technical", "relation": "new"},
        {"from_goal": "I.3", "to_goal": "technical", "relation": "retired"}
    ]);
    let path = format!("/api/v1/frameworks/{pledge}/mappings/{gci}");
    let refused = app.request(admin.api("PUT", &path, Some(rows))).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fields = body_json(refused).await["error"]["fields"].clone();
    assert!(fields["/rows/1/to_goal"].as_str().unwrap().contains("nope"));
    assert!(fields["/rows/3/to_goal"].is_string());
    let good = json!([{"from_goal": "I.1", "to_goal": "legal", "relation": "equivalent"}, {"from_goal": null, "to_goal": "technical", "relation": "new"}]);
    assert_eq!(
        app.request(admin.api("PUT", &path, Some(good)))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let page = body_text(
        app.request(admin.get(&format!("/frameworks/{pledge}/mappings/{gci}")))
            .await,
    )
    .await;
    assert!(page.contains(r#"<option value="legal" selected>"#));
}

#[tokio::test]
async fn a_cycle_opens_for_every_active_participant_and_refuses_invalid_transitions() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let framework = import(&app, &admin, "itu-gci-2020.json").await;
    let backwards = json!({"framework_id": framework, "code": "2027", "title_en": "2027", "opens_on": "2027-09-01", "deadline": "2027-08-01"});
    let refused = app
        .request(admin.api("POST", "/api/v1/cycles", Some(backwards)))
        .await;
    assert_eq!(
        body_json(refused).await["error"]["fields"]["deadline"],
        "The deadline cannot come before the opening date."
    );
    let cycle = create_cycle(&app, &admin, &framework, "2027").await;

    // A partner joins, an Ally is deactivated: opening creates assessments for the active ones.
    let partner = app
        .request(admin.api(
            "POST",
            "/api/v1/participants",
            Some(json!({"code": "UKR", "name_en": "Ukraine", "name_fr": "Ukraine"})),
        ))
        .await;
    assert_eq!(partner.status(), StatusCode::CREATED);
    let isl = app.participant("ISL").await;
    let deactivated = app
        .request(admin.api(
            "PUT",
            &format!("/api/v1/participants/{isl}"),
            Some(json!({"name_en": "Iceland", "name_fr": "Islande", "active": false})),
        ))
        .await;
    assert_eq!(deactivated.status(), StatusCode::NO_CONTENT);

    let step = |action: &str| admin.api("POST", &format!("/api/v1/cycles/{cycle}/{action}"), None);
    let early = app.request(step("publish")).await;
    assert_eq!(early.status(), StatusCode::CONFLICT);
    assert_eq!(
        body_json(early).await["error"]["message"],
        "Only a closed cycle can be published."
    );
    assert_eq!(
        app.request(step("open")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM assessments WHERE cycle_id = '{cycle}'"
        ))
        .await,
        32
    );
    assert_eq!(app.count(&format!("SELECT count(*) FROM assessments a JOIN participants p ON p.id = a.participant_id WHERE cycle_id = '{cycle}' AND p.code IN ('UKR', 'ISL')")).await, 1);
    assert_eq!(
        app.request(step("open")).await.status(),
        StatusCode::CONFLICT
    );

    let deadline = |date: &str| {
        admin.api(
            "PUT",
            &format!("/api/v1/cycles/{cycle}/deadline"),
            Some(json!({"deadline": date})),
        )
    };
    let earlier = app.request(deadline("2027-11-01")).await;
    assert_eq!(
        body_json(earlier).await["error"]["fields"]["deadline"],
        "A new deadline must be later than the current one."
    );
    assert_eq!(
        app.request(deadline("2028-01-15")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.request(step("close")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.request(deadline("2028-02-15")).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.request(step("publish")).await.status(),
        StatusCode::NO_CONTENT
    );
    let actions = app.count("SELECT count(*) FROM audit_log WHERE action IN ('cycle.create', 'cycle.open', 'cycle.extend_deadline', 'cycle.close', 'cycle.publish')").await;
    assert_eq!(actions, 5);
}

#[tokio::test]
async fn the_status_board_filters_sorts_and_shows_a_delegation_only_its_own_row() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let framework = import(&app, &admin, "itu-gci-2020.json").await;
    let cycle = create_cycle(&app, &admin, &framework, "2027").await;
    app.request(admin.api("POST", &format!("/api/v1/cycles/{cycle}/open"), None))
        .await;
    let board = |user: &TestUser, query: &str| {
        user.api(
            "GET",
            &format!("/api/v1/cycles/{cycle}/status{query}"),
            None,
        )
    };
    let all = body_json(app.request(board(&admin, "")).await).await;
    assert_eq!(all.as_array().unwrap().len(), 32);
    assert_eq!(all[0]["participant_code"], "ALB", "sorted by participant");
    let searched = body_json(app.request(board(&admin, "?search=fran")).await).await;
    assert_eq!(
        searched
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["participant_code"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["FRA"]
    );
    let drafts = body_json(app.request(board(&admin, "?state=draft")).await).await;
    assert_eq!(drafts.as_array().unwrap().len(), 0);
    let head = app.user("head", Some("FRA")).await;
    let own = body_json(app.request(board(&head, "")).await).await;
    assert_eq!(own.as_array().unwrap().len(), 1);
    assert_eq!(own[0]["participant_code"], "FRA");
    let page = body_text(app.request(head.get(&format!("/cycles/{cycle}"))).await).await;
    assert!(page.contains("FRA — France") && !page.contains("DEU — Germany"));
    let analyst = app.user("analyst", None).await;
    let analyst_page = body_text(
        app.request(analyst.get(&format!("/cycles/{cycle}?sort=state&search=DE")))
            .await,
    )
    .await;
    assert!(analyst_page.contains("DEU — Germany") && !analyst_page.contains("FRA — France"));
}

#[tokio::test]
async fn partners_are_added_renamed_and_deactivated_with_field_messages() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let bad = app
        .request(admin.post_form("/participants/new", "code=U1&name_en=&name_fr="))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body_text(bad).await;
    assert!(
        html.contains(r#"id="code-error""#)
            && html.contains(r#"id="name_en-error""#)
            && html.contains(r#"value="U1""#)
    );
    let taken = app
        .request(admin.post_form("/participants/new", "code=fra&name_en=Again"))
        .await;
    assert!(
        body_text(taken)
            .await
            .contains("A participant has this code already.")
    );
    assert_eq!(
        app.request(admin.post_form("/participants/new", "code=ukr&name_en=Ukraine"))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let ukr = app.participant("UKR").await;
    let renamed = app
        .request(admin.post_form(
            &format!("/participants/{ukr}"),
            "name_en=Ukraine+(partner)&name_fr=Ukraine+(partenaire)",
        ))
        .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM participants WHERE code = 'UKR' AND NOT active AND name_fr = 'Ukraine (partenaire)'").await, 1);
    let log = app.count("SELECT count(*) FROM audit_log WHERE action IN ('participant.create', 'participant.update')").await;
    assert_eq!(log, 2);
}

#[tokio::test]
async fn national_goals_are_kept_by_their_delegation_with_history_and_never_overwritten() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let framework = import(&app, &admin, "cyber-defence-pledge-2016.json").await;
    create_cycle(&app, &admin, &framework, "2027").await;
    let section: String = {
        let mut owner = app.db.owner().await;
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM framework_sections WHERE code = 'II'")
            .fetch_one(&mut owner)
            .await
            .unwrap()
            .to_string()
    };
    let fra = app.participant("FRA").await;
    let head = app.user("head", Some("FRA")).await;
    let viewer = app.user("viewer", Some("FRA")).await;
    let other = app.user("head", Some("DEU")).await;
    let analyst = app.user("analyst", None).await;
    let goal = json!({"section": section, "title": "Raise cyber spending", "measure": "number", "unit": "%",
                      "baseline_value": "2", "current_value": "2.5", "target_value": "4", "target_year": "2028",
                      "status": "on_track", "owner": "MoD"});
    let list = format!("/api/v1/participants/{fra}/national-goals");
    assert_eq!(
        app.request(viewer.api("POST", &list, Some(goal.clone())))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let bad = app.request(head.api("POST", &list, Some(json!({"section": section, "title": "", "measure": "weight", "target_value": "x", "target_year": "1999", "status": "planned"})))).await;
    let fields = body_json(bad).await["error"]["fields"].clone();
    for field in ["title", "measure", "target_value", "target_year"] {
        assert!(fields[field].is_string(), "{field}: {fields}");
    }
    let created = app
        .request(head.api("POST", &list, Some(goal.clone())))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = body_json(created).await["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/national-goals/{id}");

    assert_eq!(
        app.request(other.api("GET", &path, None)).await.status(),
        StatusCode::NOT_FOUND,
        "another delegation never sees it"
    );
    assert_eq!(
        app.request(other.api("GET", &list, None)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.request(analyst.api("GET", &path, None)).await.status(),
        StatusCode::OK
    );
    let read = app.request(viewer.api("GET", &path, None)).await;
    assert_eq!(read.headers()[header::ETAG], "\"1\"");

    let mut update = goal.clone();
    update["current_value"] = json!("3.1");
    let mut put = head.api("PUT", &path, Some(update.clone()));
    put.headers_mut()
        .insert(header::IF_MATCH, "\"1\"".parse().unwrap());
    assert_eq!(app.request(put).await.status(), StatusCode::NO_CONTENT);
    let mut stale = head.api("PUT", &path, Some(goal.clone()));
    stale
        .headers_mut()
        .insert(header::IF_MATCH, "\"1\"".parse().unwrap());
    assert_eq!(
        app.request(stale).await.status(),
        StatusCode::PRECONDITION_FAILED,
        "a concurrent edit is refused"
    );

    let contributor = app.user("contributor", Some("FRA")).await;
    let form = format!(
        "section={section}&title=Typed+meanwhile&measure=number&target_value=5&target_year=2029&status=at_risk&row_version=1"
    );
    let conflict = app
        .request(contributor.post_form(&format!("/national-goals/{id}"), &form))
        .await;
    assert_eq!(conflict.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body_text(conflict).await;
    assert!(
        html.contains("Someone else changed this")
            && html.contains("Typed meanwhile")
            && html.contains("3.1"),
        "both versions shown"
    );

    let history = body_json(
        app.request(analyst.api("GET", &format!("{path}/history"), None))
            .await,
    )
    .await;
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_eq!(history[0]["data"]["current_value"], 3.1);
    assert_eq!(history[1]["data"]["current_value"], 2.5);
    let audit = {
        let mut owner = app.db.owner().await;
        sqlx::query_scalar::<_, Value>(
            "SELECT details FROM audit_log WHERE action = 'national_goal.update'",
        )
        .fetch_one(&mut owner)
        .await
        .unwrap()
    };
    assert_eq!(
        (
            audit["old"]["current_value"].clone(),
            audit["new"]["current_value"].clone()
        ),
        (json!(2.5), json!(3.1))
    );
    let page = body_text(
        app.request(viewer.get(&format!("/national-goals/{id}")))
            .await,
    )
    .await;
    assert!(
        page.contains("History") && !page.contains(r#"name="row_version""#),
        "viewers read, without a form"
    );
}

#[test]
fn the_framework_commands_import_export_and_refuse_a_bad_file() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(crate::support::TestDb::new());
    let Some((owner_url, app_url)) = db.urls_for_binary() else {
        return;
    };
    let pledge = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_pledge"))
            .args(args)
            .env("DATABASE_URL", &owner_url)
            .env("PLEDGE_APP_DATABASE_URL", &app_url)
            .output()
            .unwrap()
    };
    let fixture = format!(
        "{}/fixtures/frameworks/enisa-ncaf.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let imported = pledge(&["framework", "import", &fixture]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let out = std::env::temp_dir().join(format!("ncaf-{}.json", std::process::id()));
    let exported = pledge(&[
        "framework",
        "export",
        "enisa-ncaf:2020-shape",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let back = Framework::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        back,
        Framework::from_json(&std::fs::read_to_string(&fixture).unwrap()).unwrap()
    );

    let bad = std::env::temp_dir().join(format!("bad-{}.json", std::process::id()));
    std::fs::write(
        &bad,
        fixture_text("enisa-ncaf.json")
            .replace("\"version\": \"2020-shape\"", "\"version\": \"\"")
            .replace("\"roll_up\": \"weighted_mean\"", "\"roll_up\": \"sum\"")
            .replace("\"C1.O1\"", "\"C1.O2\""),
    )
    .unwrap();
    let refused = pledge(&["framework", "import", bad.to_str().unwrap()]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("nothing was stored")
            && message.contains("/version")
            && message.contains("C1.O2"),
        "{message}"
    );
    let _ = (std::fs::remove_file(out), std::fs::remove_file(bad));
}

#[tokio::test]
async fn a_section_is_added_on_its_page_with_its_first_goal() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let id = import(&app, &admin, "itu-gci-2020.json").await;
    let missing_goal = app
        .request(admin.post_form(
            &format!("/frameworks/{id}/sections/new"),
            "code=EXTRA&title_en=Extra&row_version=1",
        ))
        .await;
    assert_eq!(missing_goal.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body_text(missing_goal)
            .await
            .contains(r#"id="first_goal_code-error""#)
    );
    let added = app
        .request(admin.post_form(&format!("/frameworks/{id}/sections/new"), "code=EXTRA&title_en=Extra&first_goal_code=extra.1&first_goal_title_en=First&row_version=1"))
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let exported = body_text(
        app.request(admin.api("GET", &format!("/api/v1/frameworks/{id}"), None))
            .await,
    )
    .await;
    assert_eq!(
        Framework::from_json(&exported).unwrap().sections[5].goals[0].code,
        "extra.1"
    );
}

#[tokio::test]
async fn a_stale_national_goal_form_is_a_conflict_even_with_mistakes_in_it() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let framework = import(&app, &admin, "cyber-defence-pledge-2016.json").await;
    create_cycle(&app, &admin, &framework, "2027").await;
    let section: String = {
        let mut owner = app.db.owner().await;
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM framework_sections WHERE code = 'I'")
            .fetch_one(&mut owner)
            .await
            .unwrap()
            .to_string()
    };
    let fra = app.participant("FRA").await;
    let head = app.user("head", Some("FRA")).await;
    let goal = json!({"section": section, "title": "Goal", "measure": "level", "target_value": "4", "target_year": "2028", "status": "planned"});
    let id = body_json(
        app.request(head.api(
            "POST",
            &format!("/api/v1/participants/{fra}/national-goals"),
            Some(goal.clone()),
        ))
        .await,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut put = head.api("PUT", &format!("/api/v1/national-goals/{id}"), Some(goal));
    put.headers_mut()
        .insert(header::IF_MATCH, "\"1\"".parse().unwrap());
    assert_eq!(app.request(put).await.status(), StatusCode::NO_CONTENT);
    // A form read at version 1, with a mistake in it, after someone saved version 2.
    let form = format!(
        "section={section}&title=&measure=level&target_value=4&target_year=2028&status=planned&row_version=1"
    );
    let html = body_text(
        app.request(head.post_form(&format!("/national-goals/{id}"), &form))
            .await,
    )
    .await;
    assert!(
        html.contains("Someone else changed this"),
        "the change is shown first"
    );
    assert!(html.contains(r#"name="row_version" value="2""#));
}
