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
