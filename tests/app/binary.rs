//! The `pledge` binary end to end: serve on a private cluster, refuse a second server on the same
//! data directory, stop cleanly on SIGTERM leaving no PostgreSQL behind, and fail fast and
//! clearly on an unreachable DATABASE_URL.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PLEDGE: &str = env!("CARGO_BIN_EXE_pledge");

fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// Whether a PostgreSQL process runs on `dir`'s private cluster (`dir/pgdata`).
pub(crate) fn postgres_running_in(dir: &std::path::Path) -> bool {
    let needle = dir.join("pgdata").display().to_string();
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline"))
            .map(|cmdline| String::from_utf8_lossy(&cmdline).contains(&needle))
            .unwrap_or(false)
    })
}

#[test]
fn serve_runs_on_a_private_cluster_refuses_a_second_server_and_stops_cleanly_on_sigterm() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut server = Command::new(PLEDGE)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
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
    assert!(http_get(&addr, "/livez").starts_with("HTTP/1.1 200"));
    assert!(http_get(&addr, "/readyz").starts_with("HTTP/1.1 200"));
    assert!(postgres_running_in(&dir));

    let started = Instant::now();
    let second = Command::new(PLEDGE)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused at once"
    );
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(
        message.contains("in use by another pledge process"),
        "{message}"
    );
    assert!(
        http_get(&addr, "/readyz").starts_with("HTTP/1.1 200"),
        "the first server is unharmed"
    );

    // `audit verify` beside the running service uses its cluster rather than refusing.
    let verify = Command::new(PLEDGE)
        .args(["audit", "verify", "--data-dir"])
        .arg(&dir)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        verify.status.success()
            && String::from_utf8_lossy(&verify.stdout).contains("audit log intact"),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = server.wait().unwrap();
    assert!(status.success(), "a clean stop exits 0, got {status}");
    assert!(
        !postgres_running_in(&dir),
        "no postgres process is left behind"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unreachable_database_url_fails_within_seconds_with_a_clear_message() {
    let started = Instant::now();
    let output = Command::new(PLEDGE)
        .arg("migrate")
        .env(
            "DATABASE_URL",
            "postgresql://pledge_owner:secret-password@127.0.0.1:1/pledge",
        )
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(started.elapsed() < Duration::from_secs(10));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("cannot reach the database at 127.0.0.1:1"),
        "{message}"
    );
    assert!(
        !message.contains("secret-password"),
        "the password is never printed"
    );
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["demo", "--help"],
        vec!["db", "--help"],
        vec!["db", "start", "--help"],
        vec!["db", "stop", "--help"],
        vec!["db", "url", "--help"],
        vec!["user", "--help"],
        vec!["user", "create", "--help"],
        vec!["user", "disable", "--help"],
        vec!["user", "reset-password", "--help"],
        vec!["framework", "--help"],
        vec!["framework", "import", "--help"],
        vec!["framework", "export", "--help"],
        vec!["audit", "--help"],
        vec!["audit", "verify", "--help"],
        vec!["backup", "--help"],
        vec!["restore", "--help"],
    ] {
        let output = Command::new(PLEDGE).args(&args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage: pledge"),
            "{args:?}"
        );
    }
}

#[test]
fn without_postgresql_programs_the_service_says_what_to_install_or_set() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-binaries");
    let output = Command::new(PLEDGE)
        .args(["migrate", "--data-dir"])
        .arg(&dir)
        .env_remove("DATABASE_URL")
        .env("PLEDGE_PG_BIN", "/nonexistent")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    for hint in [
        "apt-get install postgresql",
        "PLEDGE_PG_BIN",
        "DATABASE_URL",
    ] {
        assert!(message.contains(hint), "{hint} missing from {message}");
    }
}

#[tokio::test]
async fn the_user_and_audit_commands_manage_accounts_and_catch_a_tampered_log() {
    let db = crate::support::TestDb::new().await;
    let Some((owner_url, app_url)) = db.urls_for_binary() else {
        return; // runs on the private test cluster only
    };
    let pledge = |args: &[&str]| {
        Command::new(PLEDGE)
            .args(args)
            .env("DATABASE_URL", &owner_url)
            .env("PLEDGE_APP_DATABASE_URL", &app_url)
            .output()
            .unwrap()
    };
    let created = pledge(&[
        "user",
        "create",
        "--email",
        "cli.head@test.example",
        "--name",
        "Cli Head",
        "--role",
        "head",
        "--participant",
        "fra",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let stdout = String::from_utf8_lossy(&created.stdout);
    let one_time = stdout.trim().rsplit(' ').next().unwrap().to_owned();
    assert_eq!(one_time.len(), 16, "{stdout}");

    let bad = pledge(&[
        "user",
        "create",
        "--email",
        "no-at-sign",
        "--name",
        "X",
        "--role",
        "viewer",
        "--participant",
        "FRA",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--email: Enter an e-mail address"));

    let reset = pledge(&["user", "reset-password", "--email", "CLI.HEAD@test.example"]);
    assert!(reset.status.success());
    assert!(
        !String::from_utf8_lossy(&reset.stdout).contains(&one_time),
        "a new one-time password"
    );
    assert!(
        pledge(&["user", "disable", "--email", "cli.head@test.example"])
            .status
            .success()
    );
    let missing = pledge(&["user", "disable", "--email", "nobody@test.example"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no user with the e-mail address"));

    let mut owner = db.owner().await;
    let state: (bool, bool, String) = sqlx::query_as(
        "SELECT disabled_at IS NOT NULL, must_change_password, (SELECT string_agg(action, ',' ORDER BY seq) FROM audit_log)
         FROM users WHERE email = 'cli.head@test.example'",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(
        state,
        (
            true,
            true,
            "user.create,user.password_reset,user.disable".to_owned()
        )
    );

    let verified = pledge(&["audit", "verify"]);
    assert!(verified.status.success());
    assert!(String::from_utf8_lossy(&verified.stdout).contains("3 entries, hash chain verified"));
    let mut root = db.superuser().await;
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .execute(&mut root)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET details = '{}' WHERE seq = 2")
        .execute(&mut root)
        .await
        .unwrap();
    let broken = pledge(&["audit", "verify"]);
    assert!(!broken.status.success());
    assert!(String::from_utf8_lossy(&broken.stderr).contains("broken at entry 2"));
}

#[test]
fn db_start_url_and_stop_manage_the_private_cluster_by_hand_and_serve_leaves_it_running() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("by-hand-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pledge = |args: &[&str]| {
        Command::new(PLEDGE)
            .args(args)
            .arg("--data-dir")
            .arg(&dir)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let started = pledge(&["db", "start"]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    assert!(postgres_running_in(&dir));
    let url = String::from_utf8_lossy(&pledge(&["db", "url"]).stdout)
        .trim()
        .to_owned();
    let psql = Command::new("psql")
        .arg(&url)
        .args(["-tAc", "SELECT count(*) FROM participants"])
        .output();
    if let Ok(psql) = psql {
        assert_eq!(
            String::from_utf8_lossy(&psql.stdout).trim(),
            "32",
            "psql accepts the URL: {}",
            String::from_utf8_lossy(&psql.stderr)
        );
    }
    assert!(
        pledge(&["migrate"]).status.success(),
        "commands use a cluster started by hand"
    );
    assert!(postgres_running_in(&dir), "and leave it running");
    let stopped = pledge(&["db", "stop"]);
    assert!(
        stopped.status.success(),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    assert!(!postgres_running_in(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_demo_keeps_its_own_data_dir_and_a_plain_serve_refuses_demo_data() {
    let cwd = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("demo-cwd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cwd);
    std::fs::create_dir_all(&cwd).unwrap();
    let pledge = |args: &[&str]| {
        Command::new(PLEDGE)
            .args(args)
            .current_dir(&cwd)
            .env_remove("DATABASE_URL")
            .env_remove("PLEDGE_DATA_DIR")
            .output()
            .unwrap()
    };
    let loaded = pledge(&["demo"]);
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    assert!(cwd.join("pledge-demo-data").is_dir(), "the demo's own dir");
    assert!(
        !cwd.join("pledge-data").exists(),
        "the real service's dir is untouched"
    );

    let started = Instant::now();
    let refused = pledge(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        "./pledge-demo-data",
    ]);
    assert!(!refused.status.success(), "a plain serve refuses demo data");
    assert!(started.elapsed() < Duration::from_secs(60));
    let message = String::from_utf8_lossy(&refused.stderr);
    for needed in [
        "./pledge-demo-data",
        "demo data",
        "pledge serve --demo --data-dir ./pledge-demo-data",
        "rm -rf ./pledge-demo-data",
    ] {
        assert!(message.contains(needed), "{needed} missing from {message}");
    }
    assert!(!postgres_running_in(&cwd.join("pledge-demo-data")));
    let _ = std::fs::remove_dir_all(&cwd);
}

#[test]
fn when_the_postmaster_dies_the_service_starts_it_again_and_readyz_says_why_meanwhile() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("supervised-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut server = Command::new(PLEDGE)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
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
    assert!(http_get(&addr, "/readyz").starts_with("HTTP/1.1 200"));

    let pid_file = dir.join("pgdata/postmaster.pid");
    let postmaster: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let killed = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(postmaster),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let mut seen = Vec::new();
    let back = loop {
        let response = http_get(&addr, "/readyz");
        let status = response
            .split("\"status\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("?")
            .to_owned();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "ok" && seen.len() > 1 {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "not ready again within a minute: {seen:?}"
        );
        // Often: the restart takes a few hundred milliseconds, and a poll must fall in it.
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        seen.iter().any(|s| s == "database_restarting"),
        "readyz says why while the cluster restarts: {seen:?}"
    );
    println!("ready again {back:?} after the postmaster was killed; readyz went {seen:?}");
    let restarted: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_ne!(restarted, postmaster, "a new postmaster");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = server.wait().unwrap();
    assert!(status.success(), "a clean stop exits 0, got {status}");
    assert!(
        !postgres_running_in(&dir),
        "the restarted cluster is stopped too"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn deleting_the_newest_audit_entries_as_the_owner_is_caught_by_the_anchor_file() {
    use pledge::storage::audit::{self, Actor, NewEntry};
    let db = crate::support::TestDb::new().await;
    let Some((owner_url, app_url)) = db.urls_for_binary() else {
        return; // runs on the private test cluster only
    };
    let anchors =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("anchors-{}", db.name));
    let verify = || {
        Command::new(PLEDGE)
            .args(["audit", "verify", "--audit-anchors"])
            .arg(&anchors)
            .env("DATABASE_URL", &owner_url)
            .env("PLEDGE_APP_DATABASE_URL", &app_url)
            .output()
            .unwrap()
    };
    let mut owner = db.owner().await;
    let append = |n: usize| NewEntry::new(Actor::Cli, "test.entry", serde_json::json!({ "n": n }));
    for n in 0..3 {
        audit::append(&mut owner, &append(n)).await.unwrap();
    }
    let (kept, kept_hash) = audit::head(&mut owner).await.unwrap().unwrap();
    let first = verify();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        stdout.contains(&format!(
            "chain head: entry {kept}, hash {}",
            hex::encode(&kept_hash)
        )),
        "verify shows the head: {stdout}"
    );
    for n in 3..6 {
        audit::append(&mut owner, &append(n)).await.unwrap();
    }
    let (newest, _) = audit::head(&mut owner).await.unwrap().unwrap();
    assert!(verify().status.success());
    let lines = std::fs::read_to_string(&anchors).unwrap();
    assert_eq!(lines.lines().count(), 2, "one anchor per new head: {lines}");
    assert!(
        lines
            .lines()
            .last()
            .unwrap()
            .contains(&format!(" {newest} "))
    );

    // The database's owner removes the three newest entries: the chain left is consistent…
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .execute(&mut owner)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq > $1")
        .bind(kept)
        .execute(&mut owner)
        .await
        .unwrap();
    assert_eq!(audit::verify(&mut owner).await.unwrap().first_break, None);
    // …but the anchor outside the database remembers the head it had.
    let caught = verify();
    assert!(!caught.status.success());
    let message = String::from_utf8_lossy(&caught.stderr);
    assert!(
        message.contains("the newest entries were deleted: the anchor written at")
            && message.contains(&format!(
                "names entry {newest}, but the log ends at entry {kept}"
            )),
        "{message}"
    );
    let _ = std::fs::remove_file(&anchors);
}

#[test]
fn a_serve_that_fails_after_starting_the_private_cluster_stops_it_again() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("failed-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // The address is taken, so binding fails after the cluster is up and migrated.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = Command::new(PLEDGE)
        .args(["serve", "--listen", &address, "--data-dir"])
        .arg(&dir)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains(&address), "names the address: {message}");
    assert!(
        dir.join("pgdata/PG_VERSION").exists(),
        "the cluster had been made"
    );
    assert!(
        !postgres_running_in(&dir),
        "and was stopped again: {message}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
