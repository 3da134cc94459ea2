//! Reports at scale (issue 20): the comparison API a page at a time in the shared page shape,
//! compressed for clients that ask, cached by the fingerprint of the cycle's snapshots and never
//! stale, exports bounded in number; precomputed figures kept by row-level security.

use std::io::Read;

use axum::http::{StatusCode, header};
use serde_json::Value;

use crate::exports::gci_cycle;
use crate::support::{TestApp, body_bytes, body_json};

#[tokio::test]
async fn the_comparison_api_gives_every_row_once_a_page_at_a_time_with_totals() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let analyst = app.user("analyst", None).await;

    let mut rows: Vec<Value> = Vec::new();
    let mut path = format!("/api/v1/cycles/{cycle}/report?limit=10");
    let mut pages = 0;
    loop {
        let page = body_json(app.request(analyst.get(&path)).await).await;
        pages += 1;
        assert_eq!(
            (page["limit"].as_u64(), page["total"].as_u64()),
            (Some(10), Some(32))
        );
        assert_eq!(
            page["cycle"]["id"],
            cycle.to_string(),
            "the cycle's fields on every page"
        );
        assert_eq!(page["submitted"], 32);
        assert!(page["items"].as_array().unwrap().len() <= 10);
        rows.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/v1/cycles/{cycle}/report?limit=10&cursor={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(pages, 4);
    // The whole set, in order, is the JSON export's.
    let export = body_json(
        app.request(analyst.api(
            "POST",
            &format!("/api/v1/cycles/{cycle}/export?format=json"),
            None,
        ))
        .await,
    )
    .await;
    let exported = export["report"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 32);
    assert_eq!(&rows, exported);

    // Without a limit: 50 a page, so these 32 in one.
    let first = body_json(
        app.request(analyst.get(&format!("/api/v1/cycles/{cycle}/report")))
            .await,
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 32);
    assert_eq!(
        (first["limit"].as_u64(), first["next_cursor"].is_null()),
        (Some(50), true)
    );

    // A made-up cursor or a limit out of range is refused, naming the field.
    for (query, field) in [
        ("cursor=not-a-cursor", "cursor"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
    ] {
        let response = app
            .request(analyst.get(&format!("/api/v1/cycles/{cycle}/report?{query}")))
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
async fn a_client_that_asks_gets_the_comparison_compressed_and_it_reads_the_same() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let analyst = app.user("analyst", None).await;
    let path = format!("/api/v1/cycles/{cycle}/report");

    let plain = app.request(analyst.get(&path)).await;
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    let plain = body_bytes(plain).await;
    let expected: Value = serde_json::from_slice(&plain).unwrap();

    for encoding in ["gzip", "br"] {
        let mut request = analyst.get(&path);
        request
            .headers_mut()
            .insert(header::ACCEPT_ENCODING, encoding.parse().unwrap());
        let response = app.request(request).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response
                .headers()
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap()),
            Some(encoding)
        );
        let compressed = body_bytes(response).await;
        assert!(
            compressed.len() < plain.len() / 3,
            "{encoding}: {} of {}",
            compressed.len(),
            plain.len()
        );
        let mut decoded = Vec::new();
        match encoding {
            "gzip" => flate2::read::GzDecoder::new(compressed.as_slice())
                .read_to_end(&mut decoded)
                .unwrap(),
            _ => brotli_decompressor::Decompressor::new(compressed.as_slice(), 4096)
                .read_to_end(&mut decoded)
                .unwrap(),
        };
        let decoded: Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(decoded, expected, "{encoding}");
    }
}

/// A page's body as text: gunzipped when it came gzipped (exactly one gzip member, nothing after).
async fn page_text(response: axum::response::Response) -> (bool, String) {
    assert_eq!(response.status(), StatusCode::OK);
    let gzipped = response.headers().get(header::CONTENT_ENCODING).is_some();
    let bytes = body_bytes(response).await;
    if !gzipped {
        return (false, String::from_utf8(bytes).unwrap());
    }
    let mut decoder = flate2::read::GzDecoder::new(bytes.as_slice());
    let mut text = String::new();
    decoder.read_to_string(&mut text).unwrap();
    assert!(
        decoder.into_inner().is_empty(),
        "bytes after the gzip member"
    );
    (true, text)
}

#[tokio::test]
async fn the_comparison_page_is_the_same_gzipped_or_not_and_each_reader_gets_their_own_forms() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let first = app.user("analyst", None).await;
    let second = app.user("analyst", None).await;
    let read = |user: &crate::support::TestUser, path: &str, accept: Option<&str>| {
        let mut request = user.get(path);
        if let Some(accept) = accept {
            request
                .headers_mut()
                .insert(header::ACCEPT_ENCODING, accept.parse().unwrap());
        }
        app.request(request)
    };
    for path in [
        format!("/cycles/{cycle}/report"),
        format!("/cycles/{cycle}/report?page=1"),
    ] {
        let mut figures = Vec::new();
        for (user, other) in [(&first, &second), (&second, &first)] {
            let (was_gzipped, plain) = page_text(read(user, &path, None).await).await;
            assert!(!was_gzipped, "gzip only for a client that asks");
            // A browser's header: gzip (the page is not Brotli; the client accepts both).
            let response = read(user, &path, Some("gzip, deflate, br, zstd")).await;
            assert_eq!(response.headers()[header::VARY], "accept-encoding");
            let (was_gzipped, gzipped) = page_text(response).await;
            assert!(was_gzipped);
            assert_eq!(gzipped, plain, "the gzipped page reads as the plain one");
            // Refused gzip is plain.
            let (was_gzipped, _) =
                page_text(read(user, &path, Some("gzip;q=0, identity")).await).await;
            assert!(!was_gzipped);
            // The forms carry this reader's CSRF token, never the other's.
            assert!(plain.contains(&format!(r#"name="csrf_token" value="{}""#, user.csrf)));
            assert!(!plain.contains(&other.csrf));
            assert!(plain.contains(r#"id="ranking-heading""#) && plain.contains("USA"));
            let start = plain
                .find(r#"<section aria-labelledby="ranking-heading">"#)
                .unwrap();
            let end = plain
                .find(r#"<form class="inline-form no-print" method="post""#)
                .unwrap();
            figures.push(plain[start..end].to_owned());
        }
        assert_eq!(
            figures[0], figures[1],
            "the figures are the same for both readers"
        );
    }
}

/// An analyst as the services see one (for counting a service's statements).
async fn analyst_principal(app: &TestApp) -> pledge::auth::Principal {
    pledge::auth::Principal {
        user_id: app.user("analyst", None).await.id,
        email: "analyst@test.example".into(),
        display_name: "Analyst".into(),
        role: pledge::domain::role::Role::Analyst,
        credential: pledge::auth::Credential::Token {
            id: uuid::Uuid::new_v4(),
        },
        must_change_password: false,
        second_factor_pending: false,
        has_second_factor: false,
        time_zone: "UTC".into(),
    }
}

#[tokio::test]
async fn a_cached_comparison_is_never_stale_a_submission_shows_at_once() {
    let app = TestApp::spawn().await;
    let (admin, cycle, assessment) = crate::assessments::open_gci_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    let analyst = app.user("analyst", None).await;
    let comparison_path = format!("/api/v1/cycles/{cycle}/report");
    let read = || async { body_json(app.request(analyst.get(&comparison_path)).await).await };
    let save = |goal: &str, value: &str, version: &str| {
        let mut put = head.api(
            "PUT",
            &format!("/api/v1/assessments/{assessment}/answers/{goal}"),
            Some(serde_json::json!({"value": value})),
        );
        put.headers_mut()
            .insert("if-match", format!("\"{version}\"").parse().unwrap());
        put
    };
    let submit = || {
        head.api(
            "POST",
            &format!("/api/v1/assessments/{assessment}/submit"),
            None,
        )
    };

    // The page too, as a browser asks for it: its figures are kept rendered in the process.
    let page_path = format!("/cycles/{cycle}/report");
    let page = || async {
        let mut request = analyst.get(&page_path);
        request
            .headers_mut()
            .insert(header::ACCEPT_ENCODING, "gzip".parse().unwrap());
        let (_, text) = page_text(app.request(request).await).await;
        let ranking = text
            .find(r#"id="ranking-caption""#)
            .expect("the ranking table");
        text[ranking..].to_owned()
    };

    // Read twice: the second is the cached one, and the same.
    let empty = read().await;
    assert_eq!(empty["total"], 0);
    assert_eq!(read().await, empty);
    assert!(!page().await.contains(">FRA</a>"));
    assert!(!page().await.contains(">FRA</a>"));

    for goal in [
        "legal",
        "technical",
        "organizational",
        "capacity_development",
        "cooperation",
    ] {
        assert!(
            app.request(save(goal, "10", "0"))
                .await
                .status()
                .is_success()
        );
    }
    assert!(app.request(submit()).await.status().is_success());
    let submitted = read().await;
    assert_eq!(
        submitted["total"], 1,
        "the submission shows at once: {submitted}"
    );
    assert_eq!(submitted["items"][0]["participant_code"], "FRA");
    assert_eq!(
        submitted["items"][0]["overall"]["score"].as_f64(),
        Some(50.0)
    );
    assert_eq!(submitted["items"][0]["assessment_state"], "submitted");
    let shown = page().await;
    assert!(
        shown.contains(">FRA</a>") && shown.contains("<td>Submitted</td>"),
        "the page shows the submission at once"
    );

    // Returned: the state a row shows follows at once too.
    let returned = admin.api(
        "POST",
        &format!("/api/v1/assessments/{assessment}/return"),
        Some(serde_json::json!({"reason": "Check the legal score"})),
    );
    assert_eq!(app.request(returned).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(read().await["items"][0]["assessment_state"], "returned");
    assert!(page().await.contains("<td>Returned</td>"));

    // Superseded by a second revision: the new figure, at once.
    assert!(
        app.request(save("legal", "20", "1"))
            .await
            .status()
            .is_success()
    );
    assert!(app.request(submit()).await.status().is_success());
    let resubmitted = read().await;
    assert_eq!(
        resubmitted["items"][0]["overall"]["score"].as_f64(),
        Some(60.0)
    );
    assert_eq!(resubmitted["items"][0]["snapshot"]["revision"], 2);

    // The cache's fingerprint is the one stamped on exports.
    let export = body_json(
        app.request(analyst.api(
            "POST",
            &format!("/api/v1/cycles/{cycle}/export?format=json"),
            None,
        ))
        .await,
    )
    .await;
    let mut owner = app.db.owner().await;
    let kept: String =
        sqlx::query_scalar("SELECT fingerprint FROM cycle_report_state WHERE cycle_id = $1::uuid")
            .bind(&cycle)
            .fetch_one(&mut owner)
            .await
            .unwrap();
    assert_eq!(export["stamp"]["fingerprint"].as_str(), Some(kept.as_str()));
}

#[tokio::test]
async fn a_comparison_read_again_is_served_from_the_cache_in_fewer_statements() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let analyst = analyst_principal(&app).await;
    let pool = app.state.db.clone();
    let read = || {
        let (pool, analyst) = (pool.clone(), analyst.clone());
        async move {
            let report = pledge::services::reports::comparison(&pool, &analyst, cycle, None)
                .await
                .unwrap();
            assert_eq!(report.rows.len(), 32);
        }
    };
    let built = crate::reports::statements(read()).await;
    let cached = crate::reports::statements(read()).await;
    assert!(cached < built, "cached {cached}, built {built}");
    // BEGIN (with the settings; sqlx sends it without logging it, so it is not counted), one
    // read of the cycle, its previous cycle and the cache's key, and COMMIT: three round trips.
    assert_eq!(cached, 2, "{cached} statements");
}

#[tokio::test]
async fn a_frozen_versions_structure_is_read_once_and_a_rebuilt_comparison_reads_no_more_than_it_needs()
 {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let analyst = analyst_principal(&app).await;
    let pool = app.state.db.clone();
    let build = || {
        let (pool, analyst) = (pool.clone(), analyst.clone());
        async move {
            let mut tx = pledge::storage::begin(&pool, &analyst.scope())
                .await
                .unwrap();
            let (report, shape) = pledge::services::reports::load_comparison(&mut tx, cycle, None)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert_eq!(report.rows.len(), 32);
            assert_eq!(shape.sections.len(), report.sections.len());
        }
    };
    let first = crate::reports::statements(build()).await;
    let again = crate::reports::statements(build()).await;
    // The version is frozen (a cycle uses it): its heads, sections and goals are not read
    // again. What is left: the cycle's heads, the submissions, the assessment count, COMMIT.
    assert_eq!(first - again, 3, "first {first}, again {again}");
    assert_eq!(again, 4, "{again} statements");
}

#[tokio::test]
async fn a_cached_export_is_served_as_built_without_rebuilding_until_what_it_shows_changes() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let analyst = analyst_principal(&app).await;
    let pool = app.state.db.clone();
    let export = || {
        let (pool, analyst) = (pool.clone(), analyst.clone());
        async move {
            pledge::services::exports::cycle_report(
                &pool,
                pledge::auth::Operator::User(&analyst),
                cycle,
                pledge::export::Format::Xlsx,
                pledge::presentation::i18n::Lang::En,
                &Default::default(),
            )
            .await
            .unwrap()
            .bytes
        }
    };
    let (mut built, mut cached) = (Vec::new(), Vec::new());
    let built_statements = crate::reports::statements(async { built = export().await }).await;
    let cached_statements = crate::reports::statements(async { cached = export().await }).await;
    // A rebuilt file would carry a new time of generation: the same bytes are the same file.
    assert_eq!(cached, built, "served as it was built");
    assert!(
        cached_statements < built_statements,
        "no answers read: {cached_statements} statements, {built_statements} to build"
    );
    let mut owner = app.db.owner().await;
    let mut tx = sqlx::Connection::begin(&mut owner).await.unwrap();
    pledge::storage::set_scope(&mut tx, &pledge::storage::Scope::System)
        .await
        .unwrap();
    let details: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'cycle.export' ORDER BY seq",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(details.len(), 2, "both exports are recorded");
    assert_eq!(details[1]["cached"], true);
    assert_eq!(
        details[0]["snapshots_fingerprint"],
        details[1]["snapshots_fingerprint"]
    );

    // A participant renamed: what the file shows changed, so it is built again.
    sqlx::query("UPDATE participants SET name_en = name_en || ' (renamed)' WHERE code = 'FRA'")
        .execute(&mut owner)
        .await
        .unwrap();
    assert_ne!(export().await, built, "built again");
}

/// A file stored in the cache in pieces (through a large object, so that no statement carries
/// the whole file) is the body one statement would store, byte for byte, whatever the piece
/// size against the file's; it is stored as the service's role, and no large object is left.
#[tokio::test]
async fn a_file_stored_in_pieces_is_the_body_one_statement_would_store() {
    use pledge::storage::report_cache::{get, put, put_in_pieces};
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let pool = app.state.db.clone();
    let header = b"\x00\x00\x00\x02{}".to_vec();
    for (length, piece) in [
        (0, 4),
        (1, 4),
        (100, 1),
        (100, 7),
        (100, 100),
        (1000, 999),
        (3000, 1024),
    ] {
        // Bytes that are not text: every value, in an order that is not periodic in the piece.
        let file: Vec<u8> = (0..length).map(|i: usize| (i * 7 + i / 13) as u8).collect();
        let mut tx = pledge::storage::begin(&pool, &pledge::storage::Scope::System)
            .await
            .unwrap();
        put_in_pieces(
            &mut tx,
            cycle,
            "export:test:en",
            "key-a",
            &header,
            &file,
            piece,
        )
        .await
        .unwrap();
        let (stored, _) = get(&mut tx, cycle, "export:test:en", "key-a")
            .await
            .unwrap()
            .unwrap();
        put(
            &mut tx,
            cycle,
            "export:one:en",
            "key-b",
            &[header.clone(), file.clone()].concat(),
        )
        .await
        .unwrap();
        let (whole, _) = get(&mut tx, cycle, "export:one:en", "key-b")
            .await
            .unwrap()
            .unwrap();
        let objects: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_largeobject_metadata")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(stored, whole, "{length} bytes in pieces of {piece}");
        assert_eq!(stored.len(), header.len() + length);
        assert_eq!(objects, 0, "the large object is unlinked");
    }
}

#[tokio::test]
async fn exports_built_whole_are_bounded_and_one_more_is_told_when_to_come_back() {
    let app = TestApp::spawn().await;
    let cycle = gci_cycle(&app).await;
    let analyst = app.user("analyst", None).await;
    let export = |format: &str| {
        analyst.api(
            "POST",
            &format!("/api/v1/cycles/{cycle}/export?format={format}"),
            None,
        )
    };
    // One XLSX built (and cached) while the slots are free.
    assert_eq!(app.request(export("xlsx")).await.status(), StatusCode::OK);

    let held = app.state.export_slots.take_all();
    assert_eq!(held.len(), pledge::web::export_slots::EXPORT_SLOTS);
    let busy = app.request(export("pdf")).await;
    assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        busy.headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned()),
        Some(pledge::web::export_slots::RETRY_AFTER_SECONDS.to_string())
    );
    assert_eq!(body_json(busy).await["error"]["code"], "busy");
    // What takes no slot still goes: a file the cache holds, and the streamed formats.
    assert_eq!(app.request(export("xlsx")).await.status(), StatusCode::OK);
    assert_eq!(app.request(export("csv")).await.status(), StatusCode::OK);

    drop(held);
    let pdf = app.request(export("pdf")).await;
    assert_eq!(pdf.status(), StatusCode::OK);
    assert!(body_bytes(pdf).await.starts_with(b"%PDF"));
}

/// What the comparison page reads besides its figures (the cycles, the report's key, the
/// imports) is kept in memory while none of its tables changes (`storage::coherence`): a read
/// again sends no statement, yet a change committed by another connection, as another process
/// or an operator would make it, shows on the very next read, thirty times over.
#[tokio::test]
async fn the_comparison_page_kept_in_memory_shows_a_change_made_elsewhere_at_once() {
    let app = TestApp::spawn().await;
    let (admin, cycle, _) = crate::assessments::open_gci_cycle(&app).await;
    let analyst = app.user("analyst", None).await;
    let mut owner = app.db.owner().await;
    let framework: uuid::Uuid =
        sqlx::query_scalar("SELECT framework_id FROM cycles WHERE id = $1::uuid")
            .bind(&cycle)
            .fetch_one(&mut owner)
            .await
            .unwrap();
    let other = serde_json::json!({"framework_id": framework, "code": "2027", "title_en": "2027",
        "opens_on": "2026-09-01", "deadline": "2099-12-31"});
    let created = app
        .request(admin.api("POST", "/api/v1/cycles", Some(other)))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let other = body_json(created).await["id"].as_str().unwrap().to_owned();
    let path = format!("/cycles/{cycle}/report");
    let page = || async {
        let response = app.request(analyst.get(&path)).await;
        assert_eq!(response.status(), StatusCode::OK);
        String::from_utf8(body_bytes(response).await).unwrap()
    };
    assert!(page().await.contains(">2027</a>"));
    for round in 0..30 {
        let code = format!("R{round}");
        sqlx::query("UPDATE cycles SET code = $1 WHERE id = $2::uuid")
            .bind(&code)
            .bind(&other)
            .execute(&mut owner)
            .await
            .unwrap();
        let link = format!(">{code}</a>");
        // Twice: the first read keeps what it read, the second answers from memory.
        assert!(page().await.contains(&link), "round {round}");
        assert!(page().await.contains(&link), "round {round}, kept");
    }
    let kept = crate::reports::statements(async {
        page().await;
    })
    .await;
    assert_eq!(kept, 0, "a kept page and session send no statement");
}
