//! Reports: the real GCI 2020 data reproduces the published ranks; delegations see only the
//! anonymous distribution and only from five submissions; figures come from snapshots, never
//! drafts; trends run across framework versions through the mapping.

use std::collections::HashMap;

use axum::http::StatusCode;
use pledge::demo::bulk::{self, FrameworkParts, Submission};
use pledge::domain::framework::Framework;
use pledge::domain::scoring::{AnswerState, AnswerValue};
use pledge::storage::cycles::CycleRow;
use pledge::storage::frameworks::StoredFramework;
use pledge::storage::{self, Scope, frameworks};
use serde_json::{Value, json};
use sqlx::Connection;
use uuid::Uuid;

use crate::support::{TestApp, body_json, body_text};

const PILLARS: [&str; 5] = [
    "legal",
    "technical",
    "organizational",
    "capacity_development",
    "cooperation",
];

pub(crate) fn gci_framework() -> Framework {
    let path = format!(
        "{}/fixtures/frameworks/itu-gci-2020.json",
        env!("CARGO_MANIFEST_DIR")
    );
    Framework::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The reference extraction: code → (published overall, the five pillars, missing ones `None`).
pub(crate) fn gci_rows() -> Vec<(String, f64, Vec<Option<f64>>)> {
    // ITU's terms allow use in tests read from the shared reference folder, not a copy in the
    // product: beside the checkout, or where PLEDGE_REFERENCE_DIR says.
    let candidates = [
        std::env::var("PLEDGE_REFERENCE_DIR").unwrap_or_default(),
        format!("{}/../shared/reference", env!("CARGO_MANIFEST_DIR")),
        "/work/shared/reference".to_owned(),
    ];
    let path = candidates
        .iter()
        .filter(|dir| !dir.is_empty())
        .map(|dir| std::path::Path::new(dir).join("gci2020-allies.csv"))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("gci2020-allies.csv is in none of {candidates:?}: set PLEDGE_REFERENCE_DIR")
        });
    let text = std::fs::read_to_string(path).expect("the GCI 2020 reference file");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[0], "iso3");
    assert_eq!(
        &header[2..],
        PILLARS,
        "pillars in the framework's goal order"
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let pillars = cells[2..7]
                .iter()
                .map(|c| (!c.trim().is_empty()).then(|| c.trim().parse().unwrap()))
                .collect();
            (cells[0].to_owned(), cells[1].parse().unwrap(), pillars)
        })
        .collect()
}

/// Stores a framework and returns it with its ids.
pub(crate) async fn store_framework(app: &TestApp, framework: &Framework) -> StoredFramework {
    let mut owner = app.db.owner().await;
    let mut tx = owner.begin().await.unwrap();
    storage::set_scope(&mut tx, &Scope::System).await.unwrap();
    let stored = frameworks::insert(&mut tx, framework).await.unwrap();
    tx.commit().await.unwrap();
    stored
}

pub(crate) fn cycle_row(framework: Uuid, code: &str, opens_on: time::Date) -> CycleRow {
    CycleRow {
        framework_id: framework,
        code: code.to_owned(),
        title_en: format!("Cycle {code}"),
        title_fr: String::new(),
        state: "closed",
        opens_on,
        deadline: opens_on + time::Duration::days(90),
        opened_at: None,
        closed_at: None,
        published_at: None,
    }
}

pub(crate) async fn submission(app: &TestApp, code: &str, answers: Vec<AnswerState>) -> Submission {
    Submission {
        participant_id: app.participant(code).await,
        participant_code: code.to_owned(),
        answers,
        state: "accepted",
        submitted_at: time::OffsetDateTime::now_utc(),
    }
}

pub(crate) async fn write_cycle(
    app: &TestApp,
    parts: &FrameworkParts,
    cycle: &CycleRow,
    submissions: &[Submission],
) -> Uuid {
    let mut owner = app.db.owner().await;
    let mut tx = owner.begin().await.unwrap();
    storage::set_scope(&mut tx, &Scope::System).await.unwrap();
    let id = bulk::write_cycle(&mut tx, parts, cycle, submissions)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

pub(crate) fn pillars(values: &[Option<f64>]) -> Vec<AnswerState> {
    values
        .iter()
        .map(|v| {
            v.map_or(AnswerState::Missing, |v| {
                AnswerState::Answered(AnswerValue::Number(decimal(v)))
            })
        })
        .collect()
}

/// Dense ranks computed here, independently of the product: 1 for the highest, ties shared.
fn dense(values: &HashMap<String, f64>) -> HashMap<String, u64> {
    let mut distinct: Vec<f64> = values.values().copied().collect();
    distinct.sort_by(|a, b| b.total_cmp(a));
    distinct.dedup();
    values
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                distinct.iter().position(|d| d == v).unwrap() as u64 + 1,
            )
        })
        .collect()
}

#[tokio::test]
async fn gci_2020_reproduces_the_published_dense_ranks_and_marks_incomplete_rows() {
    let app = TestApp::spawn().await;
    let framework = gci_framework();
    let stored = store_framework(&app, &framework).await;
    let parts = FrameworkParts::new(&framework, &stored);
    let rows = gci_rows();
    assert_eq!(rows.len(), 32);
    let mut submissions = Vec::new();
    for (code, _, values) in &rows {
        submissions.push(submission(&app, code, pillars(values)).await);
    }
    let cycle = write_cycle(
        &app,
        &parts,
        &cycle_row(stored.id, "GCI-2020", time::macros::date!(2020 - 01 - 01)),
        &submissions,
    )
    .await;

    // The arrays on each snapshot row agree with the normalised section rows.
    let disagreeing = app
        .count(
            "SELECT count(*) FROM snapshots s, LATERAL (
                 SELECT array_agg(ss.section_id ORDER BY fs.position) AS ids,
                        array_agg(ss.score ORDER BY fs.position) AS scores,
                        array_agg(ss.answered ORDER BY fs.position) AS answered,
                        array_agg(ss.applicable ORDER BY fs.position) AS applicable
                 FROM snapshot_section_scores ss JOIN framework_sections fs ON fs.id = ss.section_id
                 WHERE ss.snapshot_id = s.id) n
             WHERE (s.section_ids, s.section_scores, s.section_answered, s.section_applicable)
                   IS DISTINCT FROM (n.ids, n.scores, n.answered, n.applicable)",
        )
        .await;
    assert_eq!(disagreeing, 0);

    // Stored totals are exact sums of the pillars: where ITU's published overall is the exact
    // sum of its published pillars, the stored total is that figure digit for digit.
    let mut owner = app.db.owner().await;
    let mut tx = owner.begin().await.unwrap();
    storage::set_scope(&mut tx, &Scope::System).await.unwrap();
    let stored_totals: HashMap<String, String> = sqlx::query_as::<_, (String, String)>(
        "SELECT p.code, s.overall_score::text FROM snapshots s
         JOIN participants p ON p.id = s.participant_id WHERE s.cycle_id = $1",
    )
    .bind(cycle)
    .fetch_all(&mut *tx)
    .await
    .unwrap()
    .into_iter()
    .collect();
    tx.commit().await.unwrap();
    let mut exact_sums = 0;
    for (code, overall, values) in &rows {
        if values.iter().any(Option::is_none) {
            continue;
        }
        let sum: rust_decimal::Decimal = values.iter().flatten().map(|v| decimal(*v)).sum();
        if sum == decimal(*overall) {
            exact_sums += 1;
            let stored: rust_decimal::Decimal = stored_totals[code].parse().unwrap();
            assert_eq!(stored, sum, "{code}: stored {stored}, ITU {overall}");
            assert_eq!(stored.normalize().to_string(), sum.normalize().to_string());
        }
    }
    assert_eq!(
        exact_sums, 22,
        "30 complete rows, 8 of them off by ITU's own rounding"
    );

    let analyst = app.user("analyst", None).await;
    let response = app
        .request(analyst.get(&format!("/api/v1/cycles/{cycle}/report")))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let report = body_json(response).await;
    let reported: HashMap<String, &Value> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["participant_code"].as_str().unwrap().to_owned(), r))
        .collect();
    assert_eq!(reported.len(), 32);

    let complete: HashMap<String, f64> = rows
        .iter()
        .filter(|(_, _, p)| p.iter().all(Option::is_some))
        .map(|(code, overall, _)| (code.clone(), *overall))
        .collect();
    assert_eq!(complete.len(), 30);
    let published = dense(&complete);
    for (code, rank) in &published {
        let row = reported[code];
        assert_eq!(row["rank"].as_u64(), Some(*rank), "{code}'s rank");
        assert_eq!(row["overall"]["complete"], json!(true));
        // The overall score is the sum of the pillars; the published overall differs from it
        // by ITU's rounding (at most 0.01) and never changes the order.
        let score = row["overall"]["score"].as_f64().unwrap();
        assert!((score - complete[code]).abs() <= 0.0101, "{code}: {score}");
    }
    for (code, rank) in [
        ("USA", 1),
        ("GBR", 2),
        ("EST", 3),
        ("ESP", 4),
        ("DEU", 9),
        ("LUX", 9),
        ("PRT", 10),
    ] {
        assert_eq!(reported[code]["rank"].as_u64(), Some(rank), "{code}");
    }
    for code in ["SVK", "SVN"] {
        let row = reported[code];
        assert_eq!(row["rank"], Value::Null, "{code} is not ranked");
        assert_eq!(
            row["overall"]["complete"],
            json!(false),
            "{code} is marked incomplete"
        );
    }
    assert_eq!(reported["SVK"]["overall"]["answered"], json!(3));
    assert_eq!(reported["SVN"]["overall"]["answered"], json!(4));
    let ranked_last = &report["items"].as_array().unwrap()[30..];
    assert!(
        ranked_last.iter().all(|r| r["rank"].is_null()),
        "incomplete rows come last"
    );
    let overall = &report["distributions"][0]["distribution"];
    assert_eq!(
        overall["count"],
        json!(30),
        "distributions compare complete figures"
    );
    assert_eq!(overall["max"].as_f64(), Some(100.0), "USA");

    // The page shows the same figures, with the chart and its data table.
    let page = body_text(
        app.request(analyst.get(&format!("/cycles/{cycle}/report")))
            .await,
    )
    .await;
    assert!(page.contains("<svg") && page.contains("<table"));
    let svk = page.find(">SVK</a>").expect("SVK's row");
    let row_start = page[..svk].rfind("<tr>").unwrap();
    assert!(
        page[row_start..svk].contains("incomplete"),
        "SVK's row is marked incomplete"
    );
    let usa = page.find(">USA</a>").expect("USA's row");
    let usa_row = &page[page[..usa].rfind("<tr>").unwrap()..usa + 400];
    assert!(
        usa_row.contains("<td>1</td>") && usa_row.contains("100.00"),
        "{usa_row}"
    );

    // Ranked on one pillar: LEGAL has many ties at 20.
    let legal = report["sections"][0]["id"].as_str().unwrap();
    let by_legal = body_json(
        app.request(analyst.get(&format!("/api/v1/cycles/{cycle}/report?section={legal}")))
            .await,
    )
    .await;
    let legal_scores: HashMap<String, f64> = rows
        .iter()
        .filter_map(|(code, _, p)| Some((code.clone(), p[0]?)))
        .collect();
    let legal_ranks = dense(&legal_scores);
    for row in by_legal["items"].as_array().unwrap() {
        let code = row["participant_code"].as_str().unwrap();
        assert_eq!(
            row["rank"].as_u64(),
            Some(legal_ranks[code]),
            "{code} on LEGAL"
        );
    }
}

#[tokio::test]
async fn delegations_see_the_anonymous_distribution_only_from_five_submissions() {
    let app = TestApp::spawn().await;
    let framework = gci_framework();
    let stored = store_framework(&app, &framework).await;
    let parts = FrameworkParts::new(&framework, &stored);
    let rows: HashMap<String, Vec<Option<f64>>> = gci_rows()
        .into_iter()
        .map(|(code, _, pillars)| (code, pillars))
        .collect();
    let mut first = Vec::new();
    for code in ["FRA", "DEU", "ITA", "ESP"] {
        first.push(submission(&app, code, pillars(&rows[code])).await);
    }
    let cycle = write_cycle(
        &app,
        &parts,
        &cycle_row(stored.id, "C1", time::macros::date!(2025 - 01 - 01)),
        &first,
    )
    .await;
    let fra_assessment: Uuid = {
        let mut owner = app.db.owner().await;
        let mut tx = owner.begin().await.unwrap();
        storage::set_scope(&mut tx, &Scope::System).await.unwrap();
        sqlx::query_scalar("SELECT a.id FROM assessments a JOIN participants p ON p.id = a.participant_id WHERE p.code = 'FRA' AND a.cycle_id = $1")
            .bind(cycle)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };
    let viewer = app.user("viewer", Some("FRA")).await;
    let report_path = format!("/api/v1/assessments/{fra_assessment}/report");
    let report = body_json(app.request(viewer.get(&report_path)).await).await;
    assert_eq!(
        report["alliance"],
        Value::Null,
        "four submissions: withheld"
    );
    assert_eq!(
        report["overall"]["score"].as_f64(),
        Some(97.6),
        "FRA's own figure: the sum of its pillars"
    );

    // Row-level security holds the same line for the database function.
    let pool = app.db.app_pool().await;
    let delegation = pledge::storage::Scope::User {
        user_id: viewer.id,
        role: crate::support::role("viewer", Some(app.participant("FRA").await)),
    };
    let released = |pool: sqlx::PgPool, scope: pledge::storage::Scope| async move {
        let mut tx = storage::begin(&pool, &scope).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM cycle_score_distribution($1)")
            .bind(cycle)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM snapshots")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        (n, visible)
    };
    assert_eq!(released(pool.clone(), delegation).await, (0, 1));
    // The line is drawn twice, in Rust and in the database function (migration 0010): this test
    // crosses it with one submission more, so both must say the same number.
    assert_eq!(
        first.len() + 1,
        pledge::domain::scoring::distribution::ANONYMITY_THRESHOLD,
        "the Rust threshold and cycle_score_distribution's agree"
    );

    let fifth = vec![submission(&app, "USA", pillars(&rows["USA"])).await];
    {
        let mut owner = app.db.owner().await;
        let mut tx = owner.begin().await.unwrap();
        storage::set_scope(&mut tx, &Scope::System).await.unwrap();
        bulk::write_submissions(&mut tx, &parts, cycle, "C1", &fifth)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let (released_rows, visible) = released(pool, delegation).await;
    assert_eq!(
        (released_rows, visible),
        (6, 1),
        "overall and five pillars; still only its own snapshot"
    );
    let response = app.request(viewer.get(&report_path)).await;
    let text = body_text(response).await;
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["alliance"]["participants"], json!(5));
    let overall = &report["alliance"]["overall"];
    // Overall figures of FRA, DEU, ITA, ESP and USA, sorted: the median is the third.
    let mut sums: Vec<f64> = ["FRA", "DEU", "ITA", "ESP", "USA"]
        .iter()
        .map(|c| rows[*c].iter().map(|v| v.unwrap()).sum::<f64>())
        .collect();
    sums.sort_by(f64::total_cmp);
    assert!((overall["median"].as_f64().unwrap() - sums[2]).abs() < 1e-6);
    assert_eq!(overall["count"], json!(5));
    assert!(
        overall.get("min").is_none() && overall.get("max").is_none(),
        "no single participant's score: quartiles and median only"
    );
    for other in ["DEU", "ITA", "ESP", "USA", "Germany", "United States"] {
        assert!(!text.contains(other), "nothing names {other}");
    }
    let page = body_text(
        app.request(viewer.get(&format!("/assessments/{fra_assessment}/report")))
            .await,
    )
    .await;
    assert!(page.contains("id=\"position-title\"") && !page.contains("DEU"));

    // Delegations never get the comparison, on pages or through the API.
    for path in [
        format!("/cycles/{cycle}/report"),
        format!("/api/v1/cycles/{cycle}/report"),
    ] {
        assert_eq!(
            app.request(viewer.get(&path)).await.status(),
            StatusCode::FORBIDDEN
        );
    }
}

pub(crate) async fn assessment_of(app: &TestApp, cycle: Uuid, code: &str) -> Uuid {
    let mut owner = app.db.owner().await;
    let mut tx = owner.begin().await.unwrap();
    storage::set_scope(&mut tx, &Scope::System).await.unwrap();
    sqlx::query_scalar(
        "SELECT a.id FROM assessments a JOIN participants p ON p.id = a.participant_id
         WHERE p.code = $1 AND a.cycle_id = $2",
    )
    .bind(code)
    .bind(cycle)
    .fetch_one(&mut *tx)
    .await
    .unwrap()
}

fn numbers(values: &[f64]) -> Vec<AnswerState> {
    values
        .iter()
        .map(|v| AnswerState::Answered(AnswerValue::Number(decimal(*v))))
        .collect()
}

#[tokio::test]
async fn trends_and_changes_run_across_framework_versions_through_the_mapping() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin", None).await;
    let framework = gci_framework();
    let v1 = store_framework(&app, &framework).await;
    // The next version retires cooperation and adds a new goal in its place.
    let copied = body_json(
        app.request(admin.api(
            "POST",
            &format!("/api/v1/frameworks/{}/copy", v1.id),
            Some(json!({"version": "2021"})),
        ))
        .await,
    )
    .await;
    let v2_id: Uuid = copied["id"].as_str().unwrap().parse().unwrap();
    let mut mapping: Vec<Value> = PILLARS[..4]
        .iter()
        .map(|g| json!({"from_goal": g, "to_goal": g, "relation": "equivalent"}))
        .collect();
    mapping.push(json!({"from_goal": "cooperation", "to_goal": null, "relation": "retired"}));
    mapping.push(json!({"from_goal": null, "to_goal": "cooperation", "relation": "new"}));
    let put = app
        .request(admin.api(
            "PUT",
            &format!("/api/v1/frameworks/{}/mappings/{v2_id}", v1.id),
            Some(Value::Array(mapping)),
        ))
        .await;
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    let v2 = {
        let mut owner = app.db.owner().await;
        let mut tx = owner.begin().await.unwrap();
        storage::set_scope(&mut tx, &Scope::System).await.unwrap();
        let record = frameworks::load(&mut tx, v2_id).await.unwrap().unwrap();
        StoredFramework {
            id: record.id,
            section_ids: record.section_ids,
            goal_ids: record.goal_ids,
        }
    };

    let earlier = [10.0, 12.0, 14.0, 16.0, 18.0];
    let later = [15.0, 12.0, 13.0, 16.0, 20.0];
    let c1 = write_cycle(
        &app,
        &FrameworkParts::new(&framework, &v1),
        &cycle_row(v1.id, "Y2020", time::macros::date!(2020 - 01 - 01)),
        &[
            submission(&app, "FRA", numbers(&earlier)).await,
            submission(&app, "DEU", numbers(&[20.0; 5])).await,
        ],
    )
    .await;
    let c2 = write_cycle(
        &app,
        &FrameworkParts::new(&framework, &v2),
        &cycle_row(v2.id, "Y2021", time::macros::date!(2021 - 01 - 01)),
        &[
            submission(&app, "FRA", numbers(&later)).await,
            submission(&app, "DEU", numbers(&[20.0; 5])).await,
        ],
    )
    .await;
    // A cycle of another family, opened in between, is not "the previous cycle".
    let pledge = Framework::from_json(
        &std::fs::read_to_string(format!(
            "{}/fixtures/frameworks/cyber-defence-pledge-2016.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let other = store_framework(&app, &pledge).await;
    write_cycle(
        &app,
        &FrameworkParts::new(&pledge, &other),
        &cycle_row(other.id, "OTHER", time::macros::date!(2020 - 06 - 01)),
        &[],
    )
    .await;

    let head = app.user("head", Some("FRA")).await;
    let fra = assessment_of(&app, c2, "FRA").await;
    let report = body_json(
        app.request(head.get(&format!("/api/v1/assessments/{fra}/report")))
            .await,
    )
    .await;
    assert_eq!(report["previous_cycle"]["code"], json!("Y2020"));
    let trend = report["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 2);
    assert_eq!(trend[0]["cycle"]["code"], json!("Y2020"));
    assert_eq!(trend[0]["comparable"], json!(true));
    assert_eq!(
        trend[0]["published_overall"].as_f64(),
        Some(70.0),
        "as submitted on 2020"
    );
    assert_eq!(
        trend[0]["overall"].as_f64(),
        Some(52.0),
        "on 2021: cooperation is new, so only four pillars carry"
    );
    assert_eq!(trend[1]["overall"].as_f64(), Some(76.0));
    assert_eq!(report["overall"]["score"].as_f64(), Some(76.0));
    assert_eq!(report["overall_previous"].as_f64(), Some(52.0));
    assert_eq!(report["overall_change"].as_f64(), Some(24.0));
    let moved: Vec<(&str, f64)> = report["moved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["goal_code"].as_str().unwrap(),
                a["change"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        moved,
        [("legal", 0.25), ("organizational", -0.05)],
        "largest first; cooperation is new"
    );

    // The analysts' comparison carries the earlier cycle the same way.
    let analyst = app.user("analyst", None).await;
    let comparison = body_json(
        app.request(analyst.get(&format!("/api/v1/cycles/{c2}/report")))
            .await,
    )
    .await;
    let fra_row = comparison["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["participant_code"] == "FRA")
        .unwrap();
    assert_eq!(fra_row["previous"].as_f64(), Some(52.0));
    assert_eq!(fra_row["change"].as_f64(), Some(24.0));
    assert_eq!(comparison["movers"][0]["participant_code"], json!("FRA"));
    assert_eq!(
        comparison["movers"][1]["change"].as_f64(),
        Some(20.0),
        "DEU: 80 → 100"
    );
    // The earlier cycle was on the other version: its figures are re-scored, and both report
    // pages say so beside the previous cycle.
    assert_eq!(comparison["previous_rescored"], json!(true));
    for path in [
        format!("/cycles/{c2}/report"),
        format!("/assessments/{fra}/report"),
    ] {
        let page = body_text(app.request(analyst.get(&path)).await).await;
        assert!(
            page.contains("re-scored on this cycle’s framework version"),
            "{path} marks the re-scored previous figures"
        );
    }
    // The progress page's trend chart rings the re-scored point (Y2020, on the other version)
    // and says so in its title; this cycle's own point is not marked.
    let page = body_text(
        app.request(analyst.get(&format!("/assessments/{fra}/report")))
            .await,
    )
    .await;
    assert_eq!(
        page.matches(r#"class="line-point-mark""#).count(),
        2,
        "one ringed point and the legend's ring"
    );
    assert!(page.contains("Y2020: 52.00 (re-scored)</title>"), "{page}");
    assert!(page.contains("Y2021: 76.00</title>"));
    // Both PDFs mark the re-scored previous figures and explain the mark once, in English and
    // French.
    for (lang, note, previous, now) in [
        (
            "en",
            "† re-scored: a figure of an earlier cycle",
            "52.00†",
            "76.00†",
        ),
        (
            "fr",
            "† recalculé : chiffre d’un cycle antérieur",
            "52,00†",
            "76,00†",
        ),
    ] {
        let note: String = note.split_whitespace().collect();
        let cycle_pdf =
            crate::pdf::pages_text(&crate::pdf::cycle_pdf(&app, &analyst, c2, lang).await);
        let all: String = cycle_pdf.concat().split_whitespace().collect();
        assert_eq!(
            all.matches(&note).count(),
            1,
            "explained once ({lang}): {all}"
        );
        assert!(
            all.contains("Y2020(2020)†"),
            "the cover marks Y2020 ({lang}): {all}"
        );
        let fra_page: String = cycle_pdf
            .iter()
            .find(|p| p.contains("FRA —"))
            .expect("FRA's page")
            .split_whitespace()
            .collect();
        assert!(
            fra_page.contains(previous),
            "FRA's previous ({lang}): {fra_page}"
        );
        let response = app
            .request(analyst.api(
                "POST",
                &format!("/api/v1/assessments/{fra}/report/pdf?lang={lang}"),
                None,
            ))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let progress: String = crate::pdf::pages_text(&crate::support::body_bytes(response).await)
            .concat()
            .split_whitespace()
            .collect();
        assert_eq!(
            progress.matches(&note).count(),
            1,
            "explained once ({lang}): {progress}"
        );
        assert_eq!(
            progress.matches(previous).count(),
            2,
            "the previous overall and the trend's Y2020 are marked ({lang}): {progress}"
        );
        assert!(!progress.contains(now), "this cycle's figure is not marked");
    }
    let _ = c1;
}

#[tokio::test]
async fn reports_read_snapshots_so_a_draft_never_changes_a_published_figure() {
    let app = TestApp::spawn().await;
    let (admin, cycle, assessment) = crate::assessments::open_gci_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    let analyst = app.user("analyst", None).await;
    let save = |goal: &str, value: &str, version: &str| {
        let mut put = head.api(
            "PUT",
            &format!("/api/v1/assessments/{assessment}/answers/{goal}"),
            Some(json!({"value": value})),
        );
        put.headers_mut()
            .insert("if-match", format!("\"{version}\"").parse().unwrap());
        put
    };
    for goal in PILLARS {
        assert!(
            app.request(save(goal, "10", "0"))
                .await
                .status()
                .is_success()
        );
    }
    // Before submission analysts may not read the report: it is a draft.
    let report_path = format!("/api/v1/assessments/{assessment}/report");
    assert_eq!(
        app.request(analyst.get(&report_path)).await.status(),
        StatusCode::FORBIDDEN
    );
    let own = body_json(app.request(head.get(&report_path)).await).await;
    assert_eq!(
        own["snapshot"],
        Value::Null,
        "no figures before the first submission"
    );
    assert_eq!(own["overall"], Value::Null);

    let submit = head.api(
        "POST",
        &format!("/api/v1/assessments/{assessment}/submit"),
        None,
    );
    assert!(app.request(submit).await.status().is_success());
    let figure = |report: &Value| report["overall"]["score"].as_f64();
    let comparison_path = format!("/api/v1/cycles/{cycle}/report");
    let published = body_json(app.request(analyst.get(&report_path)).await).await;
    assert_eq!(figure(&published), Some(50.0));
    assert_eq!(published["snapshot"]["revision"], json!(1));

    // Returned and edited: the draft is not what reports show.
    let returned = admin.api(
        "POST",
        &format!("/api/v1/assessments/{assessment}/return"),
        Some(json!({"reason": "Check the legal score"})),
    );
    assert_eq!(app.request(returned).await.status(), StatusCode::NO_CONTENT);
    assert!(
        app.request(save("legal", "20", "1"))
            .await
            .status()
            .is_success()
    );
    let during = body_json(app.request(analyst.get(&report_path)).await).await;
    assert_eq!(
        figure(&during),
        Some(50.0),
        "the draft's 60 is not published"
    );
    let compared = body_json(app.request(analyst.get(&comparison_path)).await).await;
    assert_eq!(
        compared["items"][0]["overall"]["score"].as_f64(),
        Some(50.0)
    );

    let resubmit = head.api(
        "POST",
        &format!("/api/v1/assessments/{assessment}/submit"),
        None,
    );
    assert!(app.request(resubmit).await.status().is_success());
    let after = body_json(app.request(analyst.get(&report_path)).await).await;
    assert_eq!(figure(&after), Some(60.0));
    assert_eq!(after["snapshot"]["revision"], json!(2));
    let legal = after["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["goal_code"] == "legal")
        .unwrap();
    assert_eq!(legal["value_number"].as_f64(), Some(20.0));
    assert_eq!(legal["score"].as_f64(), Some(1.0));
}

thread_local! {
    /// Statements counted on this thread, while a count is running.
    static STATEMENTS: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Counts the statements sqlx sends (its `sqlx::query` events) on threads that are counting.
/// Installed once as the process's global subscriber: a scoped one loses events when other
/// tests' threads register the same callsites while it is in place.
struct StatementCounter;

impl tracing::Subscriber for StatementCounter {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "sqlx::query"
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() == "sqlx::query" {
            STATEMENTS.with(|count| count.set(count.get().map(|n| n + 1)));
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Runs `work` on this thread and returns how many statements it sent.
pub(crate) async fn statements<F: std::future::Future<Output = ()>>(work: F) -> usize {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(StatementCounter)
            .expect("no other global subscriber in the tests");
    });
    STATEMENTS.with(|count| count.set(Some(0)));
    work.await;
    STATEMENTS.with(|count| count.take()).unwrap_or_default()
}

#[tokio::test]
async fn reports_send_the_same_statements_for_three_participants_as_for_thirty() {
    let app = TestApp::spawn().await;
    let framework = gci_framework();
    let stored = store_framework(&app, &framework).await;
    let parts = FrameworkParts::new(&framework, &stored);
    let rows = gci_rows();
    let mut cycles = Vec::new();
    for (year, size) in [(2020, 3), (2021, 3), (2022, 30), (2023, 30)] {
        let mut submissions = Vec::new();
        for (code, _, values) in rows.iter().take(size) {
            submissions.push(submission(&app, code, pillars(values)).await);
        }
        let opens_on = time::Date::from_calendar_date(year, time::Month::January, 1).unwrap();
        cycles.push(
            write_cycle(
                &app,
                &parts,
                &cycle_row(stored.id, &format!("S{year}"), opens_on),
                &submissions,
            )
            .await,
        );
    }
    let analyst = pledge::auth::Principal {
        user_id: app.user("analyst", None).await.id,
        email: "analyst@test.example".into(),
        display_name: "Analyst".into(),
        role: pledge::domain::role::Role::Analyst,
        credential: pledge::auth::Credential::Token { id: Uuid::new_v4() },
        must_change_password: false,
        second_factor_pending: false,
        has_second_factor: false,
        time_zone: "UTC".into(),
    };
    let pool = app.state.db.clone();
    let comparison = |cycle: Uuid| {
        let (pool, analyst) = (pool.clone(), analyst.clone());
        async move {
            let report = pledge::services::reports::comparison(&pool, &analyst, cycle, None)
                .await
                .unwrap();
            assert!(report.previous_cycle.is_some());
        }
    };
    // The framework version's structure is kept in the process once read (it is frozen):
    // read it before counting, so both counts are of the same work.
    comparison(cycles[2]).await;
    let small = statements(comparison(cycles[1])).await;
    let large = statements(comparison(cycles[3])).await;
    assert!(small > 0, "the counter sees sqlx's statements");
    assert_eq!(small, large, "3 or 30 participants: the same statements");

    // A progress report with one earlier cycle or three.
    let mut counts = Vec::new();
    for cycle in [cycles[1], cycles[3]] {
        let assessment = assessment_of(&app, cycle, &rows[0].0).await;
        counts.push(
            statements(async {
                let report = pledge::services::reports::progress(&pool, &analyst, assessment)
                    .await
                    .unwrap();
                assert!(!report.trend.is_empty());
            })
            .await,
        );
    }
    assert_eq!(counts[0], counts[1], "two cycles of history or four");

    // Read again: a snapshot's answers never change, so the process does not read them twice,
    // and the report is the same as the one built from the answers read.
    // Another participant of the same cycle: the cycle's distribution is kept already.
    let assessment = assessment_of(&app, cycles[3], &rows[1].0).await;
    let progress = || async {
        serde_json::to_value(
            pledge::services::reports::progress(&pool, &analyst, assessment)
                .await
                .unwrap(),
        )
        .unwrap()
    };
    let (mut first, mut again) = (serde_json::Value::Null, serde_json::Value::Null);
    let reading = statements(async { first = progress().await }).await;
    let reading_again = statements(async { again = progress().await }).await;
    assert_eq!(reading_again, reading - 1, "the answers are not read again");
    assert_eq!(again, first);
    assert!(
        again["answers"].as_array().is_some_and(|a| !a.is_empty()),
        "{again}"
    );
}

#[tokio::test]
async fn the_heat_map_has_a_legend_and_one_named_link_per_cell() {
    let app = TestApp::spawn().await;
    let framework = gci_framework();
    let stored = store_framework(&app, &framework).await;
    let mut submissions = Vec::new();
    for (code, _, values) in gci_rows() {
        submissions.push(submission(&app, &code, pillars(&values)).await);
    }
    let cycle = write_cycle(
        &app,
        &FrameworkParts::new(&framework, &stored),
        &cycle_row(stored.id, "GCI-2020", time::macros::date!(2020 - 01 - 01)),
        &submissions,
    )
    .await;
    let analyst = app.user("analyst", None).await;
    let page = body_text(
        app.request(analyst.get(&format!("/cycles/{cycle}/report")))
            .await,
    )
    .await;
    let start = page
        .find(r#"class="chart chart-heatmap"#)
        .expect("the heat map");
    let svg = &page[page[..start].rfind("<svg").unwrap()..];
    let svg = &svg[..svg.find("</svg>").unwrap()];
    // Links are not nested in an image, nor in one another; each is named.
    assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" role="group""#));
    let mut depth = 0;
    for piece in svg.split('<').skip(1) {
        if piece.starts_with("a ") {
            assert_eq!(depth, 0, "a link inside a link");
            assert!(piece.contains(" aria-label=\"") || piece.contains("heat-row-label"));
            depth += 1;
        } else if piece.starts_with("/a>") {
            depth -= 1;
        }
    }
    assert!(!svg.contains("tabindex"));
    let usa = svg
        .split("<a ")
        .find(|link| link.contains("aria-label=\"United States"))
        .expect("a cell named by the participant's name");
    assert!(usa.contains("/report#section-"), "{usa}");
    // The legend: the scale's values and what a hatched cell means, in words.
    let legend = &page[page.find(r#"class="chart-legend""#).expect("a legend")..];
    assert!(legend.contains("Colour scale"));
    assert!(legend.contains("hatched cell: no score"));
    assert!(legend.matches("<li>").count() >= 5);
}

/// A published figure (a float in the reference data) as the decimal it was written as.
fn decimal(value: f64) -> rust_decimal::Decimal {
    value.to_string().parse().unwrap()
}

#[tokio::test]
async fn numerics_read_the_fast_way_are_the_ones_sqlx_reads_digit_for_digit() {
    use pledge::storage::reports::{Array, Numeric};
    use rust_decimal::Decimal;
    let app = TestApp::spawn().await;
    let mut owner = app.db.owner().await;
    let texts = [
        "0",
        "0.000",
        "1",
        "0.890",
        "0.5",
        "30.01",
        "100.00",
        "10000",
        "99999.9999",
        "-0.050",
        "0.000000000001",
        "0.333333333333",
        "12345678.000000000001",
        "123456789012345678",
        "0.0001",
        "1000.0001",
        "-7",
        "4.25",
    ];
    for text in texts {
        let sql = format!("SELECT {text}::numeric, ARRAY[{text}::numeric, NULL, 1.50]");
        let row = sqlx::query(&sql).fetch_one(&mut owner).await.unwrap();
        use sqlx::Row;
        let theirs: Decimal = row.get(0);
        let ours: Numeric = row.get(0);
        assert_eq!(
            (ours.0.mantissa(), ours.0.scale()),
            (theirs.mantissa(), theirs.scale()),
            "{text}"
        );
        let theirs: Vec<Option<Decimal>> = row.get(1);
        let ours: Vec<Option<Numeric>> = row.get(1);
        let ours: Vec<Option<(i128, u32)>> = ours
            .iter()
            .map(|n| n.map(|n| (n.0.mantissa(), n.0.scale())))
            .collect();
        let theirs: Vec<Option<(i128, u32)>> = theirs
            .iter()
            .map(|n| n.map(|n| (n.mantissa(), n.scale())))
            .collect();
        assert_eq!(ours, theirs, "{text}");
        let Array(ours): Array<Option<Numeric>> = row.get(1);
        let ours: Vec<Option<(i128, u32)>> = ours
            .iter()
            .map(|n| n.map(|n| (n.0.mantissa(), n.0.scale())))
            .collect();
        assert_eq!(ours, theirs, "{text}");
    }
}

#[tokio::test]
async fn arrays_read_the_fast_way_are_the_ones_sqlx_reads() {
    use pledge::storage::reports::Array;
    use sqlx::Row;
    let app = TestApp::spawn().await;
    let mut owner = app.db.owner().await;
    for (uuids, ints) in [
        ("'{}'::uuid[]", "'{}'::int[]"),
        ("ARRAY[gen_random_uuid()]", "ARRAY[0]"),
        (
            "ARRAY[gen_random_uuid(), gen_random_uuid(), gen_random_uuid()]",
            "ARRAY[1, -2, 2147483647, -2147483648, 150]",
        ),
    ] {
        let row = sqlx::query(&format!("SELECT {uuids}, {ints}"))
            .fetch_one(&mut owner)
            .await
            .unwrap();
        let theirs: Vec<uuid::Uuid> = row.get(0);
        let Array(ours): Array<uuid::Uuid> = row.get(0);
        assert_eq!(ours, theirs, "{uuids}");
        let theirs: Vec<i32> = row.get(1);
        let Array(ours): Array<i32> = row.get(1);
        assert_eq!(ours, theirs, "{ints}");
    }
    // What sqlx refuses, this refuses too: a NULL where the element cannot be one, two
    // dimensions, an array that does not start at 1.
    for sql in [
        "SELECT ARRAY[1, NULL]::int[]",
        "SELECT ARRAY[[1, 2], [3, 4]]::int[]",
        "SELECT '[0:1]={7,8}'::int[]",
    ] {
        let row = sqlx::query(sql).fetch_one(&mut owner).await.unwrap();
        let theirs = row.try_get::<Vec<i32>, _>(0).is_ok();
        let ours = row.try_get::<Array<i32>, _>(0).is_ok();
        assert_eq!(ours, theirs, "{sql}");
    }
}
