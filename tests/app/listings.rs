//! Listings of the API in one page shape: what a delegation works on (its own assessments across
//! cycles) and cycles with filters, walked page by page with `cursor` and `limit`.

use axum::http::StatusCode;
use serde_json::Value;

use crate::support::{TestApp, TestUser, body_json};

/// Every item of a listing, following `next_cursor` with pages of `limit`; checks that every
/// page says the same total and the limit used.
async fn walk(app: &TestApp, user: &TestUser, path: &str, limit: u32) -> (Vec<Value>, u64) {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut total = None;
    loop {
        let mut uri = format!("{path}{separator}limit={limit}");
        if let Some(cursor) = &cursor {
            uri.push_str(&format!("&cursor={cursor}"));
        }
        let response = app.request(user.get(&uri)).await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        let page = body_json(response).await;
        assert_eq!(page["limit"], limit, "{uri}");
        let page_total = page["total"].as_u64().unwrap();
        assert_eq!(*total.get_or_insert(page_total), page_total, "{uri}");
        let got = page["items"].as_array().unwrap();
        assert!(got.len() <= limit as usize);
        items.extend(got.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    (items, total.unwrap_or(0))
}

#[tokio::test]
async fn a_delegation_lists_its_own_assessments_and_staff_filter_every_participants() {
    let app = TestApp::spawn().await;
    pledge::demo::load(&app.db.plan).await.unwrap();

    let head = app.user("head", Some("FRA")).await;
    let (mine, total) = walk(&app, &head, "/api/v1/assessments", 2).await;
    assert_eq!(
        total, 3,
        "FRA has one assessment in each of the demo's three cycles"
    );
    assert_eq!(mine.len(), 3);
    assert!(mine.iter().all(|item| item["participant_code"] == "FRA"));
    let cycles: Vec<&str> = mine
        .iter()
        .map(|item| item["cycle_code"].as_str().unwrap())
        .collect();
    assert_eq!(cycles, ["2026", "2025", "2024"], "newest cycle first");
    // The head finds the assessment of the open cycle to work on.
    let open: Vec<&Value> = mine
        .iter()
        .filter(|item| item["cycle_state"] == "open")
        .collect();
    assert_eq!(open.len(), 1);

    let analyst = app.user("analyst", None).await;
    let (all, total) = walk(&app, &analyst, "/api/v1/assessments", 40).await;
    let in_database = app.count("SELECT count(*) FROM assessments").await;
    assert_eq!(total as i64, in_database);
    assert_eq!(all.len() as i64, in_database, "every item exactly once");
    let mut ids: Vec<&str> = all.iter().map(|i| i["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len() as i64, in_database);

    let cycle_2025 = all
        .iter()
        .find(|item| item["cycle_code"] == "2025")
        .unwrap()["cycle_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (accepted, total) = walk(
        &app,
        &analyst,
        &format!("/api/v1/assessments?cycle={cycle_2025}&state=accepted"),
        500,
    )
    .await;
    let expected = app
        .count(&format!(
            "SELECT count(*) FROM assessments WHERE cycle_id = '{cycle_2025}' AND state = 'accepted'"
        ))
        .await;
    assert!(expected > 0);
    assert_eq!((total as i64, accepted.len() as i64), (expected, expected));
    assert!(
        accepted
            .iter()
            .all(|i| i["state"] == "accepted" && i["cycle_code"] == "2025")
    );

    let (deu, _) = walk(&app, &analyst, "/api/v1/assessments?participant=deu", 10).await;
    assert!(deu.len() == 3 && deu.iter().all(|i| i["participant_code"] == "DEU"));
    // A delegation asking for another's gets nothing, not an error.
    let (none, total) = walk(&app, &head, "/api/v1/assessments?participant=DEU", 10).await;
    assert_eq!((none.len(), total), (0, 0));

    for (query, field) in [
        ("state=finished", "state"),
        ("limit=0", "limit"),
        ("cursor=not-a-cursor", "cursor"),
    ] {
        let response = app
            .request(analyst.get(&format!("/api/v1/assessments?{query}")))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        let body = body_json(response).await;
        assert!(
            body["error"]["fields"][field].is_string(),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn cycles_are_listed_a_page_at_a_time_with_state_and_framework_filters() {
    let app = TestApp::spawn().await;
    pledge::demo::load(&app.db.plan).await.unwrap();
    let viewer = app.user("viewer", Some("FRA")).await;

    let (cycles, total) = walk(&app, &viewer, "/api/v1/cycles", 1).await;
    assert_eq!((cycles.len(), total), (3, 3));
    let codes: Vec<&str> = cycles.iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["2026", "2025", "2024"]);

    let (open, total) = walk(&app, &viewer, "/api/v1/cycles?state=open", 10).await;
    assert_eq!(total, 1);
    assert_eq!(open[0]["code"], "2026");
    let (_, published) = walk(&app, &viewer, "/api/v1/cycles?state=published", 10).await;
    let expected = app
        .count("SELECT count(*) FROM cycles WHERE state = 'published'")
        .await;
    assert_eq!(published as i64, expected);

    let framework = cycles[0]["framework_id"].as_str().unwrap();
    let (same, _) = walk(
        &app,
        &viewer,
        &format!("/api/v1/cycles?framework={framework}"),
        10,
    )
    .await;
    assert!(!same.is_empty() && same.iter().all(|c| c["framework_id"] == framework));
    let (none, total) = walk(
        &app,
        &viewer,
        "/api/v1/cycles?framework=00000000-0000-0000-0000-000000000000",
        10,
    )
    .await;
    assert_eq!((none.len(), total), (0, 0));

    let response = app
        .request(viewer.get("/api/v1/cycles?state=ongoing"))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body_json(response).await["error"]["fields"]["state"].is_string());
}
