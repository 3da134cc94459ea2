//! Several `pledge serve` processes on one database, a real streaming replica, `/metrics` and
//! the JSON logs, all with the real binary (docs/operations.md, "Scale-out").

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pledge::web::AppState;

use crate::support::{PASSWORD, TestApp, TestDb, enc};

const PLEDGE: &str = env!("CARGO_BIN_EXE_pledge");

fn scratch(name: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One running `pledge serve`: its address, the lines it printed, its log file.
struct Serve {
    child: Child,
    addr: String,
    lines: mpsc::Receiver<String>,
    log: PathBuf,
}

impl Serve {
    /// Starts `pledge serve` (stdout read line by line, stderr into `log`); call
    /// [`Serve::ready`] to wait for its banner.
    fn spawn(args: &[&str], env: &[(&str, &str)], log: PathBuf) -> Self {
        let mut command = Command::new(PLEDGE);
        command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("PLEDGE_APP_DATABASE_URL")
            .env("PLEDGE_LOG_FORMAT", "json")
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            addr: String::new(),
            lines,
            log,
        }
    }

    /// Waits for the banner; returns the lines printed with it.
    fn ready(&mut self) -> Vec<String> {
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.addr.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                panic!(
                    "no banner: {seen:?}\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            };
            if let Some(rest) = line.split("listening on http://").nth(1) {
                self.addr = rest.trim_end_matches('/').to_owned();
            }
            seen.push(line);
        }
        // Lines printed right after the banner (the metrics address).
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(300)) {
            seen.push(line);
        }
        seen
    }

    fn stop(mut self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "a clean stop: {status}");
    }

    fn log_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

/// A response read whole (the client asks the server to close the connection).
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The session cookie the response sets, if any.
    fn session(&self) -> Option<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .find_map(|(_, v)| v.strip_prefix("pledge_session="))
            .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
            .filter(|value| !value.is_empty())
    }
}

/// One HTTP/1.1 request over a new connection.
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    if headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&raw[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[end + 2 + size + 2..];
    }
}

/// A browser signed in on one process: its session cookie and CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

impl Browser {
    /// Signs in on `addr` with the form, then reads the CSRF token from a page.
    fn sign_in(addr: &str, email: &str, password: &str) -> Option<Self> {
        let answer = http(
            addr,
            "POST",
            "/signin",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &format!("email={}&password={}", enc(email), enc(password)),
        );
        let cookie = format!("pledge_session={}", answer.session()?);
        let page = http(addr, "GET", "/account", &[("Cookie", &cookie)], "");
        let csrf = page
            .body
            .split(r#"name="csrf_token" value=""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("a CSRF token on /account: {}", page.body))
            .to_owned();
        Some(Self { cookie, csrf })
    }

    fn get(&self, addr: &str, path: &str, extra: &[(&str, &str)]) -> Answer {
        let mut headers = vec![("Cookie", self.cookie.as_str())];
        headers.extend_from_slice(extra);
        http(addr, "GET", path, &headers, "")
    }

    fn post_form(&self, addr: &str, path: &str, body: &str, extra: &[(&str, &str)]) -> Answer {
        let mut headers = vec![
            ("Cookie", self.cookie.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        headers.extend_from_slice(extra);
        http(
            addr,
            "POST",
            path,
            &headers,
            &format!("csrf_token={}&{body}", self.csrf),
        )
    }

    fn api_post(&self, addr: &str, path: &str) -> Answer {
        http(
            addr,
            "POST",
            path,
            &[("Cookie", &self.cookie), ("X-CSRF-Token", &self.csrf)],
            "",
        )
    }
}

/// One Prometheus sample: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the text format strictly enough to catch a malformed line: `# HELP`/`# TYPE` comments
/// and `name{label="value",…} number` samples, every sample's family declared by a TYPE line.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines().filter(|line| !line.is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            let parts: Vec<&str> = comment.splitn(3, ' ').collect();
            assert!(
                parts.len() == 3 && ["HELP", "TYPE"].contains(&parts[0]),
                "comment: {line}"
            );
            if parts[0] == "TYPE" {
                assert!(
                    ["counter", "gauge", "histogram"].contains(&parts[2]),
                    "type: {line}"
                );
                types.insert(parts[1].to_owned(), parts[2].to_owned());
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let inner = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                let labels = inner
                    .split("\",")
                    .map(|pair| {
                        let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                        (k.to_owned(), v.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name.to_owned(), labels)
            }
            None => (series.to_owned(), BTreeMap::new()),
        };
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "name: {line}"
        );
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(&name);
        assert!(types.contains_key(family), "no TYPE for {name}");
        samples.push((name, labels, value));
    }
    samples
}

fn sample(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| *v)
}

#[tokio::test]
async fn two_serve_processes_on_one_database_behave_as_one_service() {
    let db = TestDb::empty().await;
    let Some((owner_url, app_url)) = db.urls_for_binary() else {
        return; // runs on the private test cluster only
    };
    let dir = scratch("two-processes");
    let key = dir.join("totp.key");
    let key = key.to_str().unwrap();
    let env = [
        ("DATABASE_URL", owner_url.as_str()),
        ("PLEDGE_APP_DATABASE_URL", app_url.as_str()),
        ("PLEDGE_TOTP_KEY_FILE", key),
    ];
    let token = "metrics-token-0123456789";
    // Started together on an empty database: the migrations run once, under their lock.
    let mut a = Serve::spawn(
        &["--metrics-listen", "127.0.0.1:0"],
        &env,
        dir.join("a.log"),
    );
    let mut b = Serve::spawn(
        &[],
        &[&env[..], &[("PLEDGE_METRICS_TOKEN", token)]].concat(),
        dir.join("b.log"),
    );
    let printed = a.ready();
    b.ready();
    let metrics_addr = printed
        .iter()
        .find_map(|line| line.strip_prefix("Metrics are served on http://"))
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("the metrics address: {printed:?}"))
        .to_owned();

    let mut owner = db.owner().await;
    let (applied, versions, all_ok): (i64, i64, bool) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT version), bool_and(success) FROM _sqlx_migrations",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(
        (applied, versions, all_ok),
        (
            pledge::storage::MIGRATOR.iter().count() as i64,
            applied,
            true
        ),
        "every migration applied once"
    );

    let app = TestApp {
        state: AppState::new(db.app_pool().await, pledge::config::WebConfig::default()),
        db,
    };
    let (_, cycle, assessment) = crate::assessments::open_gci_cycle(&app).await;
    let contributor = app.user("contributor", Some("FRA")).await;
    let head = app.user("head", Some("FRA")).await;
    let analyst = app.user("analyst", None).await;
    let viewer = app.user("viewer", Some("FRA")).await;

    // Signed in on A, saving on B.
    let on_a = Browser::sign_in(&a.addr, &contributor.email, PASSWORD).expect("signed in on A");
    let goal = format!("/assessments/{assessment}/goals/legal");
    let request_id = "scaleout-test-request-0001";
    let saved = on_a.post_form(&b.addr, &goal, "value=10&row_version=0", &[]);
    assert_eq!(saved.status, 303, "the session made on A works on B");
    // …and the head, signed in on B, saving on A over the version they opened: a conflict.
    let head_on_b = Browser::sign_in(&b.addr, &head.email, PASSWORD).expect("signed in on B");
    let conflict = head_on_b.post_form(&a.addr, &goal, "value=15&row_version=0", &[]);
    assert_eq!(
        conflict.status, 409,
        "two editors on two processes: a conflict"
    );
    assert!(conflict.body.contains("<td>10</td><td>15</td>"));
    assert_eq!(
        app.count("SELECT count(*) FROM answers WHERE value_number = 10")
            .await,
        1,
        "the first save is kept"
    );
    // A request whose id we choose, to find its log line.
    let page = on_a.get(
        &a.addr,
        &format!("/assessments/{assessment}"),
        &[("X-Request-Id", request_id)],
    );
    assert_eq!(page.status, 200);

    // Throttling counts failures on both processes together.
    for (n, addr) in [&a.addr, &b.addr, &a.addr, &b.addr, &a.addr]
        .iter()
        .enumerate()
    {
        assert!(
            Browser::sign_in(addr, &viewer.email, "wrong password 123").is_none(),
            "failure {n}"
        );
    }
    assert!(
        Browser::sign_in(&b.addr, &viewer.email, PASSWORD).is_none(),
        "five failures across both processes block the account on either"
    );
    assert_eq!(
        app.count("SELECT failures::bigint FROM sign_in_throttle WHERE key LIKE 'account:%'")
            .await,
        5
    );

    // Exports on each process stamp the same snapshots and one audit chain.
    let analyst_on_a = Browser::sign_in(&a.addr, &analyst.email, PASSWORD).unwrap();
    let export = |addr: &str| {
        let answer =
            analyst_on_a.api_post(addr, &format!("/api/v1/cycles/{cycle}/export?format=json"));
        assert_eq!(answer.status, 200, "{}", answer.body);
        let file: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        file["stamp"].clone()
    };
    let first = export(&a.addr);
    let second = export(&b.addr);
    assert_eq!(first["fingerprint"], second["fingerprint"]);
    let mut owner = app.db.owner().await;
    let first_entry: String = sqlx::query_scalar(
        "SELECT encode(entry_hash, 'hex') FROM audit_log WHERE action = 'cycle.export' ORDER BY seq LIMIT 1",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(
        second["audit_head"], first_entry,
        "B's stamp anchors the entry A's export appended"
    );
    let verified = pledge::storage::audit::verify(&mut owner).await.unwrap();
    assert_eq!(verified.first_break, None, "one intact chain");

    // /metrics: on A's own listener; on B's service address behind the token only.
    let scraped = http(&metrics_addr, "GET", "/metrics", &[], "");
    assert_eq!(scraped.status, 200);
    assert!(
        scraped
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let on_a_metrics = parse_prometheus(&scraped.body);
    assert_eq!(
        sample(
            &on_a_metrics,
            "pledge_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/assessments/{assessment}/goals/{goal}"),
                ("status", "409")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &on_a_metrics,
            "pledge_postgres_up",
            &[("server", "primary")]
        ),
        Some(1.0)
    );
    assert!(
        sample(
            &on_a_metrics,
            "pledge_db_pool_max_connections",
            &[("pool", "primary")]
        )
        .unwrap()
            >= 1.0
    );
    assert_eq!(
        sample(&on_a_metrics, "pledge_exports_in_progress", &[]),
        Some(0.0)
    );
    let buckets: Vec<f64> = on_a_metrics
        .iter()
        .filter(|(n, l, _)| {
            n == "pledge_http_request_duration_seconds_bucket"
                && l["route"] == "/signin"
                && l["status"] == "303"
        })
        .map(|(_, _, v)| *v)
        .collect();
    assert!(
        buckets.windows(2).all(|w| w[0] <= w[1]) && buckets.last() == Some(&2.0),
        "{buckets:?}"
    );
    assert_eq!(http(&b.addr, "GET", "/metrics", &[], "").status, 401);
    assert_eq!(
        http(
            &b.addr,
            "GET",
            "/metrics",
            &[("Authorization", "Bearer wrong-token-0123456789")],
            ""
        )
        .status,
        401
    );
    assert_eq!(
        http(&a.addr, "GET", "/metrics", &[], "").status,
        404,
        "A serves it on its own listener only"
    );
    let on_b = http(
        &b.addr,
        "GET",
        "/metrics",
        &[("Authorization", &format!("Bearer {token}"))],
        "",
    );
    assert_eq!(on_b.status, 200);
    let on_b_metrics = parse_prometheus(&on_b.body);
    assert_eq!(
        sample(
            &on_b_metrics,
            "pledge_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/assessments/{assessment}/goals/{goal}"),
                ("status", "303")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &on_b_metrics,
            "pledge_http_requests_total",
            &[
                ("route", "/api/v1/cycles/{cycle}/export"),
                ("status", "200")
            ]
        ),
        Some(1.0)
    );

    // A session B keeps in memory, ended on A: B refuses it at the very next request, since B
    // waits for PostgreSQL's announcements up to the request's arrival (`storage::coherence`).
    let leaving = &analyst_on_a;
    let b_metrics = || {
        parse_prometheus(
            &http(
                &b.addr,
                "GET",
                "/metrics",
                &[("Authorization", &format!("Bearer {token}"))],
                "",
            )
            .body,
        )
    };
    let answered_from_memory = |metrics: &_| {
        sample(
            metrics,
            "pledge_memo_answers_total",
            &[("memo", "sessions"), ("from", "memory")],
        )
        .unwrap_or(0.0)
    };
    // B starts listening with its first session; read until B answers this one from memory.
    let mut kept_on_b = false;
    for _ in 0..100 {
        assert_eq!(leaving.get(&b.addr, "/api/v1/me", &[]).status, 200);
        if answered_from_memory(&b_metrics()) >= 1.0 {
            kept_on_b = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(kept_on_b, "B answers the session from memory");
    assert_eq!(
        sample(&b_metrics(), "pledge_change_listener_up", &[]),
        Some(1.0)
    );
    let signed_out = http(
        &a.addr,
        "DELETE",
        "/api/v1/session",
        &[("Cookie", &leaving.cookie), ("X-CSRF-Token", &leaving.csrf)],
        "",
    );
    assert_eq!(signed_out.status, 204);
    assert_eq!(
        leaving.get(&b.addr, "/api/v1/me", &[]).status,
        401,
        "a session ended on A is refused on B at once"
    );

    // The JSON log line of that request carries its id and the user's.
    let line = a
        .log_lines()
        .into_iter()
        .find(|line| {
            line["fields"]["message"] == "request" && line["span"]["request_id"] == request_id
        })
        .unwrap_or_else(|| panic!("no log line for {request_id}"));
    assert_eq!(line["span"]["user_id"], contributor.id.to_string());
    assert_eq!(line["fields"]["status"], 200);

    // A third process given a key file of its own would leave admins unable to sign in on it:
    // it refuses to start, and does not keep the key it made.
    let other_key = dir.join("other.key");
    let third = Command::new(PLEDGE)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", &owner_url)
        .env("PLEDGE_APP_DATABASE_URL", &app_url)
        .env("PLEDGE_TOTP_KEY_FILE", &other_key)
        .output()
        .unwrap();
    assert!(!third.status.success());
    let message = String::from_utf8_lossy(&third.stderr);
    assert!(
        message.contains("Every `pledge serve` of one database needs the same key"),
        "{message}"
    );
    assert!(!other_key.exists());

    a.stop();
    b.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `pledge` with these arguments on a data directory; panics with its output on failure.
fn pledge_on(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(PLEDGE)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "pledge {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn the_comparison_is_read_from_a_streaming_replica_says_when_it_lags_and_falls_back() {
    use pledge::cluster::replica::LocalReplica;
    use pledge::cluster::{Durability, PrivateCluster, SUPERUSER};
    use sqlx::Connection;

    let dir = scratch("replica");
    let data = dir.join("data");
    pledge_on(&data, &["db", "start"]);
    pledge_on(&data, &["demo"]);
    let started = pledge_on(&data, &["db", "replica", "start"]);
    let replica_url = started
        .lines()
        .find_map(|line| line.strip_prefix("PLEDGE_REPLICA_URL="))
        .unwrap_or_else(|| panic!("{started}"))
        .to_owned();
    let cluster = PrivateCluster::new(&data, Durability::Durable).unwrap();
    let replica = LocalReplica::of(&cluster);
    let mut primary =
        sqlx::PgConnection::connect_with(&cluster.connect_options(SUPERUSER, "pledge"))
            .await
            .unwrap();
    let mut standby =
        sqlx::PgConnection::connect_with(&replica.connect_options(SUPERUSER, "pledge"))
            .await
            .unwrap();
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&mut standby)
        .await
        .unwrap();
    assert!(in_recovery, "a real standby");

    let mut serve = Serve::spawn(
        &[
            "--demo",
            "--replica-url",
            &replica_url,
            "--replica-max-lag",
            "1",
            "--metrics-listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
        dir.join("serve.log"),
    );
    let printed = serve.ready();
    let metrics_addr = printed
        .iter()
        .find_map(|line| line.strip_prefix("Metrics are served on http://"))
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap()
        .to_owned();
    let replica_up = || {
        let samples = parse_prometheus(&http(&metrics_addr, "GET", "/metrics", &[], "").body);
        sample(&samples, "pledge_postgres_up", &[("server", "replica")]) == Some(1.0)
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !replica_up() {
        assert!(Instant::now() < deadline, "the service sees the replica");
        std::thread::sleep(Duration::from_millis(200));
    }

    let analyst = Browser::sign_in(
        &serve.addr,
        "analyst@demo.pledge.example",
        pledge::demo::DEMO_PASSWORD,
    )
    .expect("the demo analyst signs in");
    let (cycle, title): (uuid::Uuid, String) =
        sqlx::query_as("SELECT id, title_en FROM cycles ORDER BY opens_on DESC LIMIT 1")
            .fetch_one(&mut primary)
            .await
            .unwrap();
    let comparison = format!("/cycles/{cycle}/report");
    let scans = "SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0)::bigint FROM pg_stat_user_tables";
    let scans_before: i64 = sqlx::query_scalar(scans)
        .fetch_one(&mut standby)
        .await
        .unwrap();
    let page = analyst.get(&serve.addr, &comparison, &[]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&title));
    assert!(
        !page.body.contains("replica-behind"),
        "a replica in step says nothing"
    );
    // The replica's own statistics show the report's reads (flushed within a second or so).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now: i64 = sqlx::query_scalar(scans)
            .fetch_one(&mut standby)
            .await
            .unwrap();
        if now > scans_before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no table was read on the replica"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Replay paused and a change on the primary: the page still shows the replica's data, and
    // once it is more than a second behind, says how old it is.
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&mut standby)
        .await
        .unwrap();
    sqlx::query("UPDATE cycles SET title_en = 'Renamed on the primary' WHERE id = $1")
        .bind(cycle)
        .execute(&mut primary)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let behind = loop {
        let page = analyst.get(&serve.addr, &comparison, &[]);
        assert_eq!(page.status, 200);
        assert!(
            !page.body.contains("Renamed on the primary"),
            "read from the paused replica"
        );
        if page.body.contains("replica-behind") {
            break page.body;
        }
        assert!(Instant::now() < deadline, "no lag note");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(behind.contains("These figures come from a copy of the database that is behind"));
    let french = http(
        &serve.addr,
        "GET",
        &comparison,
        &[("Cookie", &format!("{}; pledge_lang=fr", analyst.cookie))],
        "",
    );
    assert!(
        french
            .body
            .contains("Ces chiffres proviennent d’une copie de la base de données en retard"),
        "{}",
        french.body
    );
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&mut standby)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = analyst.get(&serve.addr, &comparison, &[]);
        if page.body.contains("Renamed on the primary") && !page.body.contains("replica-behind") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the replica catches up and the note goes"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    standby.close().await.unwrap();

    // The replica stopped: the primary answers at once.
    pledge_on(&data, &["db", "replica", "stop"]);
    let page = analyst.get(&serve.addr, &comparison, &[]);
    assert_eq!(page.status, 200, "read from the primary");
    assert!(page.body.contains("Renamed on the primary"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while replica_up() {
        assert!(
            Instant::now() < deadline,
            "/metrics says the replica is down"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    primary.close().await.unwrap();
    serve.stop();
    pledge_on(&data, &["db", "stop"]);
    let _ = std::fs::remove_dir_all(&dir);
}
