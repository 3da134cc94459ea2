//! Backup and restore with real programs: pg_dump/pg_restore on a demo database, `pledge backup`
//! and `pledge restore` through DATABASE_URL, and on the private cluster of a running `pledge
//! serve` under a write load, with WAL archiving and point-in-time recovery.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pledge::cluster::{Durability, PgBinaries, PrivateCluster, SUPERUSER};
use pledge::storage::{DATABASE, OWNER_ROLE};
use sqlx::{Connection, Executor, PgConnection};

use crate::support::TestDb;

const PLEDGE: &str = env!("CARGO_BIN_EXE_pledge");

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Rows of the demo that a restore must bring back, read as the system.
async fn demo_figures(conn: &mut PgConnection) -> Vec<i64> {
    conn.execute("SET pledge.role = 'system'").await.unwrap();
    let mut figures = Vec::new();
    for table in [
        "answers",
        "snapshots",
        "users",
        "audit_log",
        "_sqlx_migrations",
    ] {
        figures.push(
            sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&mut *conn)
                .await
                .unwrap(),
        );
    }
    figures
}

#[tokio::test]
async fn a_plain_pg_dump_of_a_demo_database_restores_cleanly() {
    let db = TestDb::new().await;
    let Some((owner_url, _)) = db.urls_for_binary() else {
        return; // runs on the private test cluster only
    };
    pledge::demo::load(&db.plan).await.unwrap();
    let binaries = PgBinaries::locate().unwrap();
    let dump = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{}.dump", db.name));
    // The recipe operators used before `pledge backup`: it stopped with
    // `function pledge_role() does not exist` until migration 0019.
    let dumped = Command::new(binaries.program("pg_dump"))
        .args(["--enable-row-security", "--format=custom", "--file"])
        .arg(&dump)
        .arg(&owner_url)
        .env("PGOPTIONS", "-c pledge.role=system")
        .output()
        .unwrap();
    assert!(dumped.status.success(), "{}", text(&dumped.stderr));

    let mut empty = TestDb::unmigrated().await;
    let name: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(&mut empty)
        .await
        .unwrap();
    let target_url = owner_url.replace(&db.name, &name);
    let restored = Command::new(binaries.program("pg_restore"))
        .args(["--exit-on-error", "--single-transaction", "--dbname"])
        .arg(&target_url)
        .arg(&dump)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&dump);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    let mut source = db.owner().await;
    assert_eq!(
        demo_figures(&mut empty).await,
        demo_figures(&mut source).await
    );
}

#[tokio::test]
async fn the_row_level_security_helpers_stay_inlinable_and_the_other_functions_set_search_path() {
    let db = TestDb::new().await;
    let mut owner = db.owner().await;
    let functions: Vec<(String, String, bool, String)> = sqlx::query_as(
        "SELECT p.proname::text, l.lanname::text,
                coalesce(array_to_string(p.proconfig, ',') LIKE '%search_path=%', false),
                pg_get_functiondef(p.oid)
         FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
         WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1",
    )
    .fetch_all(&mut owner)
    .await
    .unwrap();
    assert!(functions.iter().any(|(name, ..)| name == "pledge_may_read"));
    for (name, language, sets_search_path, definition) in functions {
        // A security-definer function is never inlined, and must fix its search_path anyway
        // (someone else's objects must not be found first).
        if name.starts_with("pledge_") && !definition.contains("SECURITY DEFINER") {
            // Called for every filtered row: a `SET` would stop the planner inlining them
            // (measured 38 times slower), so they name our objects with `public.` instead.
            assert!(!sets_search_path, "{name} must stay inlinable");
        }
        if sets_search_path {
            continue;
        }
        assert_eq!(
            language, "sql",
            "{name} must `SET search_path = public, pg_temp` (pg_dump and pg_restore run with an \
             empty search_path)"
        );
        // A SQL body is checked when it is created: create it again under an empty search_path.
        let mut tx = owner.begin().await.unwrap();
        tx.execute("SET LOCAL search_path = ''").await.unwrap();
        let recreated = tx.execute(definition.as_str()).await;
        assert!(
            recreated.is_ok(),
            "{name} must name our functions and tables with `public.`: {recreated:?}"
        );
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn backup_and_restore_through_database_url_refuse_a_database_with_tables_unless_forced() {
    let source = TestDb::new().await;
    let Some((source_url, _)) = source.urls_for_binary() else {
        return;
    };
    pledge::demo::load(&source.plan).await.unwrap();
    let target = TestDb::new().await; // migrated: it has tables
    let (target_url, _) = target.urls_for_binary().unwrap();
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{}.zip", source.name));
    let pledge = |url: &str, args: &[&str]| {
        Command::new(PLEDGE)
            .args(args)
            .env("DATABASE_URL", url)
            .env_remove("PLEDGE_APP_DATABASE_URL")
            .output()
            .unwrap()
    };
    let file_arg = file.to_str().unwrap();
    let backup = pledge(&source_url, &["backup", "--output", file_arg]);
    assert!(backup.status.success(), "{}", text(&backup.stderr));
    assert!(text(&backup.stdout).contains("backup written to"));

    let refused = pledge(&target_url, &["restore", file_arg]);
    assert_eq!(refused.status.code(), Some(1));
    let message = text(&refused.stderr);
    assert!(
        message.contains("is not empty") && message.contains("--force"),
        "{message}"
    );
    let mut conn = target.owner().await;
    let before = demo_figures(&mut conn).await;
    assert_eq!(before[1], 0, "the refused restore changed nothing");
    conn.close().await.unwrap();

    let forced = pledge(&target_url, &["restore", file_arg, "--force"]);
    let _ = std::fs::remove_file(&file);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    let report = text(&forced.stdout);
    assert!(
        report.contains("verified:") && report.contains("audit log intact"),
        "{report}"
    );
    let mut restored = target.owner().await;
    let mut original = source.owner().await;
    assert_eq!(
        demo_figures(&mut restored).await,
        demo_figures(&mut original).await
    );
}

/// A minimal HTTP/1.1 client: one request per connection.
struct Http {
    addr: String,
    cookie: String,
    csrf: String,
}

struct Reply {
    status: u16,
    etag: Option<String>,
    cookie: Option<String>,
    body: String,
}

impl Http {
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if !self.cookie.is_empty() {
            request.push_str(&format!(
                "Cookie: {}\r\nX-CSRF-Token: {}\r\n",
                self.cookie, self.csrf
            ));
        }
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let header = |wanted: &str| {
            head.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case(wanted)
                    .then(|| value.trim().to_owned())
            })
        };
        Reply {
            status,
            etag: header("etag"),
            cookie: header("set-cookie").and_then(|c| c.split(';').next().map(str::to_owned)),
            body: body.to_owned(),
        }
    }

    fn sign_in(addr: &str, email: &str) -> Self {
        let mut http = Self {
            addr: addr.to_owned(),
            cookie: String::new(),
            csrf: String::new(),
        };
        let reply = http.send(
            "POST",
            "/api/v1/session",
            &[],
            &serde_json::json!({"email": email, "password": pledge::demo::DEMO_PASSWORD})
                .to_string(),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        let me: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        http.cookie = reply.cookie.expect("a session cookie");
        http.csrf = me["csrf_token"].as_str().unwrap().to_owned();
        http
    }

    fn etag(&self, assessment: &str, goal: &str) -> String {
        let reply = self.send(
            "GET",
            &format!("/api/v1/assessments/{assessment}/answers/{goal}"),
            &[],
            "",
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.etag.unwrap()
    }

    /// Saves a narrative; the new ETag when acknowledged.
    fn save(&self, assessment: &str, goal: &str, etag: &str, narrative: &str) -> Option<String> {
        let reply = self.send(
            "PUT",
            &format!("/api/v1/assessments/{assessment}/answers/{goal}"),
            &[("If-Match", etag)],
            &serde_json::json!({"narrative": narrative}).to_string(),
        );
        (reply.status == 204).then(|| reply.etag.unwrap())
    }
}

fn pledge(args: &[&str], dirs: &[(&str, &Path)]) -> std::process::Output {
    let mut command = Command::new(PLEDGE);
    command.args(args).env_remove("DATABASE_URL");
    for (flag, dir) in dirs {
        command.arg(flag).arg(dir);
    }
    command.output().unwrap()
}

/// The narrative of each goal of FRA's open assessment in the cluster of `data_dir`.
async fn narratives(data_dir: &Path, goals: &[String]) -> Vec<String> {
    let cluster = PrivateCluster::new(data_dir, Durability::Durable).unwrap();
    cluster.start().unwrap();
    let mut conn = PgConnection::connect_with(&cluster.connect_options(OWNER_ROLE, DATABASE))
        .await
        .unwrap();
    conn.execute("SET pledge.role = 'system'").await.unwrap();
    let mut found = Vec::new();
    for goal in goals {
        let narrative: Option<String> = sqlx::query_scalar(
            "SELECT an.narrative FROM answers an
             JOIN goals g ON g.id = an.goal_id
             JOIN assessments a ON a.id = an.assessment_id
             JOIN cycles c ON c.id = a.cycle_id
             JOIN participants p ON p.id = a.participant_id
             WHERE c.code = '2026' AND p.code = 'FRA' AND g.code = $1",
        )
        .bind(goal)
        .fetch_optional(&mut conn)
        .await
        .unwrap();
        found.push(narrative.unwrap_or_default());
    }
    conn.close().await.unwrap();
    cluster.stop().unwrap();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_every_acknowledged_write_and_pitr_stops_between_two_saves()
 {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("backup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (data, archive) = (dir.join("data"), dir.join("archive"));
    let mut server = Command::new(PLEDGE)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .arg("--archive-dir")
        .arg(&archive)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let banner = lines.next().expect("a banner line").unwrap();
    let addr = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("unexpected banner {banner}"))
        .to_owned();
    std::thread::spawn(move || for _ in lines {});

    let base = pledge(
        &["backup", "--base"],
        &[("--data-dir", &data), ("--archive-dir", &archive)],
    );
    assert!(base.status.success(), "{}", text(&base.stderr));

    // FRA's open assessment and four of its goals, read from the live cluster.
    let live = PrivateCluster::new(&data, Durability::Durable).unwrap();
    let mut conn = PgConnection::connect_with(&live.connect_options(OWNER_ROLE, DATABASE))
        .await
        .unwrap();
    conn.execute("SET pledge.role = 'system'").await.unwrap();
    let (assessment, framework): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "SELECT a.id, c.framework_id FROM assessments a JOIN cycles c ON c.id = a.cycle_id
         JOIN participants p ON p.id = a.participant_id WHERE c.code = '2026' AND p.code = 'FRA'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let goals: Vec<String> = sqlx::query_scalar(
        "SELECT code FROM goals WHERE framework_id = $1 ORDER BY position, code LIMIT 4",
    )
    .bind(framework)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let assessment = assessment.to_string();

    // The load: write i saves "load i" on goal i % 4, one after the other.
    let http = Arc::new(Http::sign_in(&addr, "contributor.fra@demo.pledge.example"));
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (http, acked, stop, goals, assessment) = (
            http.clone(),
            acked.clone(),
            stop.clone(),
            goals.clone(),
            assessment.clone(),
        );
        std::thread::spawn(move || {
            let mut etags: Vec<String> = goals.iter().map(|g| http.etag(&assessment, g)).collect();
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                let slot = (i % 4) as usize;
                let etag = http
                    .save(
                        &assessment,
                        &goals[slot],
                        &etags[slot],
                        &format!("load {i}"),
                    )
                    .unwrap_or_else(|| panic!("save {i} refused"));
                etags[slot] = etag;
                acked.store(i, Ordering::SeqCst);
            }
            etags
        })
    };
    let started = Instant::now();
    while acked.load(Ordering::SeqCst) < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the load does not run"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let acked_before = acked.load(Ordering::SeqCst);
    let file = dir.join("load.zip");
    let backup = pledge(
        &["backup", "--output", file.to_str().unwrap()],
        &[("--data-dir", &data)],
    );
    assert!(backup.status.success(), "{}", text(&backup.stderr));
    let acked_during = acked.load(Ordering::SeqCst);
    assert!(
        acked_during > acked_before,
        "the load ran during the backup"
    );
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    let mut etags = writer.join().unwrap();

    let restored_dir = dir.join("restored");
    let restored = pledge(
        &["restore", file.to_str().unwrap()],
        &[("--data-dir", &restored_dir)],
    );
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    assert!(text(&restored.stdout).contains("verified:"));
    let audit = pledge(&["audit", "verify"], &[("--data-dir", &restored_dir)]);
    assert!(audit.status.success(), "{}", text(&audit.stderr));
    assert!(text(&audit.stdout).contains("audit log intact"));

    // One snapshot: the restored writes are exactly writes 1..=k, with k at least every write
    // acknowledged before the backup started.
    let found = narratives(&restored_dir, &goals).await;
    let numbers: Vec<u64> = found
        .iter()
        .map(|n| {
            n.strip_prefix("load ")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        })
        .collect();
    let k = *numbers.iter().max().unwrap();
    assert!(
        k >= acked_before,
        "write {acked_before} was acknowledged before the backup; restored up to {k}"
    );
    for (slot, number) in numbers.iter().enumerate() {
        let expected = (1..=k)
            .rev()
            .find(|i| (i % 4) as usize == slot)
            .unwrap_or(0);
        assert_eq!(
            *number, expected,
            "goal {slot}: restored {found:?}, k = {k}"
        );
    }

    let again = pledge(
        &["restore", file.to_str().unwrap()],
        &[("--data-dir", &restored_dir)],
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("--force"),
        "{}",
        text(&again.stderr)
    );

    // Point in time: a save, the moment, another save.
    let first = http
        .save(&assessment, &goals[0], &etags[0], "first save")
        .unwrap();
    etags[0] = first;
    std::thread::sleep(Duration::from_millis(1100));
    let moment = time::OffsetDateTime::now_utc();
    std::thread::sleep(Duration::from_millis(1100));
    http.save(&assessment, &goals[1], &etags[1], "second save")
        .unwrap();
    // Archive the WAL that holds the second save.
    let mut superuser = PgConnection::connect_with(&live.connect_options(SUPERUSER, "postgres"))
        .await
        .unwrap();
    let segment: String = sqlx::query_scalar("SELECT pg_walfile_name(pg_switch_wal())")
        .fetch_one(&mut superuser)
        .await
        .unwrap();
    superuser.close().await.unwrap();
    let started = Instant::now();
    while !archive.join(format!("{segment}.gz")).exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{segment} was not archived"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let until = moment
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let pitr_dir = dir.join("pitr");
    let recovered = pledge(
        &["restore", "--until", &until],
        &[("--data-dir", &pitr_dir), ("--archive-dir", &archive)],
    );
    assert!(recovered.status.success(), "{}", text(&recovered.stderr));
    assert!(text(&recovered.stdout).contains("audit log intact"));
    let found = narratives(&pitr_dir, &goals[..2]).await;
    assert_eq!(found[0], "first save");
    assert_ne!(found[1], "second save");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(server.wait().unwrap().success());
    let _ = std::fs::remove_dir_all(&dir);
}
