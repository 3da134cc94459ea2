//! Running the service under attack and trouble: slow headers, drain on shutdown, throttling
//! that an attacker cannot turn against everyone behind one address, the supervised private
//! cluster, the audit log's anchored tail, forwarded addresses and uploads without a session.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::TestApp;

/// Serves the app on a loopback port with the real server loop until the returned sender is
/// dropped or fires.
async fn serve(app: &TestApp) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = app.state.clone();
    tokio::spawn(pledge::startup::run_server(listener, state, async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

async fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_at_the_header_timeout() {
    let config = pledge::config::WebConfig {
        header_read_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let app = TestApp::spawn_with(config).await;
    let (addr, _stop) = serve(&app).await;
    assert!(get(&addr, "/livez").await.starts_with("HTTP/1.1 200"));

    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // One header byte every 100 ms, for up to 10 s: never a complete head.
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            if writer.write_all(b"X").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut buffer = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(10), reader.read(&mut buffer)).await;
    let cut_after = started.elapsed();
    trickle.abort();
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the server closes the connection: {read:?}"
    );
    assert!(
        cut_after >= Duration::from_millis(900) && cut_after < Duration::from_secs(3),
        "cut at the 1 s header timeout, not later: {cut_after:?}"
    );
}

const PLEDGE: &str = env!("CARGO_BIN_EXE_pledge");

/// `pledge serve` on the test database; returns the process and its address.
fn spawn_binary(
    db: &crate::support::TestDb,
    extra: &[&str],
) -> Option<(std::process::Child, String)> {
    use std::io::BufRead;
    let (owner_url, app_url) = db.urls_for_binary()?;
    let mut server = std::process::Command::new(PLEDGE)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("DATABASE_URL", &owner_url)
        .env("PLEDGE_APP_DATABASE_URL", &app_url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let banner = lines.next().expect("a banner line").unwrap();
    let addr = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("unexpected banner {banner}"))
        .to_owned();
    Some((server, addr))
}

#[tokio::test]
async fn on_sigterm_a_slow_request_in_flight_finishes_and_the_process_exits_cleanly() {
    use sqlx::{Connection, Executor};
    let app = TestApp::spawn().await;
    let viewer = app.user("viewer", Some("FRA")).await;
    let Some((mut server, addr)) = spawn_binary(&app.db, &["--shutdown-grace", "20"]) else {
        return; // runs on the private test cluster only
    };
    assert!(get(&addr, "/readyz").await.starts_with("HTTP/1.1 200"));

    // Hold the sessions table so that a signed-in request waits in flight.
    let mut blocker = app.db.superuser().await;
    let mut lock = blocker.begin().await.unwrap();
    lock.execute("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let cookie = viewer.cookie.clone();
    let slow_addr = addr.clone();
    let in_flight = tokio::spawn(async move {
        let mut stream = TcpStream::connect(&slow_addr).await.unwrap();
        stream
            .write_all(
                format!(
                    "GET /account HTTP/1.1\r\nHost: x\r\nCookie: pledge_session={cookie}\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.map(|_| response)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!in_flight.is_finished(), "the request waits on the lock");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!in_flight.is_finished(), "still in flight after SIGTERM");
    assert!(
        TcpStream::connect(&addr).await.is_err(),
        "no new connection is accepted while draining"
    );
    lock.commit().await.unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), in_flight)
        .await
        .expect("the request finishes")
        .unwrap()
        .expect("no connection reset");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let status = tokio::task::spawn_blocking(move || server.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "a drained stop exits 0, got {status}");
}

fn sign_in_from(
    email: &str,
    password: &str,
    address: &str,
    device: Option<&str>,
) -> axum::http::Request<axum::body::Body> {
    let mut request = crate::support::anonymous_form(
        "/signin",
        &format!(
            "email={}&password={}",
            crate::support::enc(email),
            crate::support::enc(password)
        ),
    );
    let addr: std::net::SocketAddr = format!("{address}:40000").parse().unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    if let Some(device) = device {
        request
            .headers_mut()
            .insert("cookie", format!("pledge_device={device}").parse().unwrap());
    }
    request
}

fn device_cookie_set(response: &axum::http::Response<axum::body::Body>) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("pledge_device="))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn an_attacker_spraying_accounts_cannot_lock_everyone_behind_the_address_for_an_hour() {
    use crate::support::{PASSWORD, session_cookie_set};
    let app = TestApp::spawn().await;
    let office = "192.0.2.50";
    // A colleague signed in from this browser before the attack: it is a known device.
    let colleague = app.user("viewer", Some("FRA")).await;
    let before = app
        .request(sign_in_from(&colleague.email, PASSWORD, office, None))
        .await;
    assert!(session_cookie_set(&before).is_some());
    let device = device_cookie_set(&before).expect("a known-device cookie after sign-in");
    let victim = app.user("contributor", Some("FRA")).await;

    // The attack from the same address: failures sprayed over many accounts…
    for n in 0..30 {
        app.request(sign_in_from(
            &format!("guess{n}@test.example"),
            "wrong password 123",
            office,
            None,
        ))
        .await;
    }
    let block_sql = format!(
        "SELECT coalesce(extract(epoch FROM max(blocked_until) - now()), 0)::bigint \
         FROM sign_in_throttle WHERE key = 'address:{office}'"
    );
    let first = app.count(&block_sql).await;
    assert!((1..=60).contains(&first), "a first short block: {first} s");
    // …then retries during the block, wrong and right passwords alike.
    for n in 0..40 {
        let password = if n % 2 == 0 {
            "wrong password 123"
        } else {
            PASSWORD
        };
        let retry = app
            .request(sign_in_from(&victim.email, password, office, None))
            .await;
        assert!(session_cookie_set(&retry).is_none(), "blocked meanwhile");
    }
    let after = app.count(&block_sql).await;
    assert!(
        after <= first,
        "retries during a block do not lengthen it: {first} s then {after} s"
    );
    let failures = app
        .count(&format!(
            "SELECT failures::bigint FROM sign_in_throttle WHERE key = 'address:{office}'"
        ))
        .await;
    assert_eq!(failures, 30, "attempts during the block are not counted");

    // Even a long campaign stays under a quarter of an hour per block.
    let mut owner = app.db.owner().await;
    for _ in 0..10 {
        sqlx::query("UPDATE sign_in_throttle SET blocked_until = now() - interval '1 second'")
            .execute(&mut owner)
            .await
            .unwrap();
        app.request(sign_in_from(
            "guess@test.example",
            "wrong password 123",
            office,
            None,
        ))
        .await;
    }
    let longest = app.count(&block_sql).await;
    assert!(
        longest <= 15 * 60,
        "the address block is capped: {longest} s"
    );

    // The colleague's browser, a known device, still signs in from the blocked address…
    let known = app
        .request(sign_in_from(
            &colleague.email,
            PASSWORD,
            office,
            Some(&device),
        ))
        .await;
    assert!(
        session_cookie_set(&known).is_some(),
        "a legitimate user behind the address still signs in"
    );
    // …but the cookie is not a pass for another account, nor a forged one.
    for (email, cookie) in [
        (&victim.email, device.as_str()),
        (&colleague.email, "forged"),
    ] {
        let refused = app
            .request(sign_in_from(email, PASSWORD, office, Some(cookie)))
            .await;
        assert!(session_cookie_set(&refused).is_none());
    }
}

/// Starts a 50 MB multipart upload, sends its first 64 KiB, and waits up to `wait` for an
/// answer: the status line if the server answered without the rest of the body.
async fn start_upload(
    addr: &str,
    path: &str,
    user: Option<&crate::support::TestUser>,
    wait: Duration,
) -> Option<String> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let (uri, auth) = match user {
        Some(user) => {
            let uri = if path.starts_with("/api/") {
                path.to_owned()
            } else {
                format!("{path}?csrf_token={}", user.csrf)
            };
            (
                uri,
                format!(
                    "Cookie: pledge_session={}\r\nX-CSRF-Token: {}\r\n",
                    user.cookie, user.csrf
                ),
            )
        }
        None => (path.to_owned(), String::new()),
    };
    let head = format!(
        "POST {uri} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: multipart/form-data; boundary=b\r\n\
         Content-Length: 52428800\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b'x'; 64 * 1024]).await.unwrap();
    let mut buffer = [0u8; 64];
    match tokio::time::timeout(wait, stream.read(&mut buffer)).await {
        Ok(Ok(n)) if n > 0 => Some(
            String::from_utf8_lossy(&buffer[..n])
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
        ),
        _ => None,
    }
}

#[tokio::test]
async fn an_upload_its_sender_may_not_make_is_refused_before_its_body_is_read() {
    let app = TestApp::spawn().await;
    let (_, assessment) = crate::assessments::open_cycle(&app).await;
    let viewer = app.user("viewer", Some("FRA")).await;
    let stranger = app.user("contributor", Some("DEU")).await;
    let contributor = app.user("contributor", Some("FRA")).await;
    let (addr, _stop) = serve(&app).await;
    let routes = [
        format!("/api/v1/assessments/{assessment}/answers/legal/files"),
        format!("/assessments/{assessment}/goals/legal/files"),
        format!("/api/v1/assessments/{assessment}/offline-form/import"),
        format!("/assessments/{assessment}/offline/import"),
    ];
    let quick = Duration::from_secs(3);
    for route in &routes {
        let api = route.starts_with("/api/");
        let anonymous = start_upload(&addr, route, None, quick).await;
        let expected = if api { "401" } else { "303" }; // pages send the visitor to sign in
        assert!(
            anonymous.as_deref().is_some_and(|s| s.contains(expected)),
            "{route} without a session: {anonymous:?}"
        );
        let viewer_answer = start_upload(&addr, route, Some(&viewer), quick).await;
        assert!(
            viewer_answer.as_deref().is_some_and(|s| s.contains("403")),
            "{route} from a viewer: {viewer_answer:?}"
        );
        let stranger_answer = start_upload(&addr, route, Some(&stranger), quick).await;
        assert!(
            stranger_answer
                .as_deref()
                .is_some_and(|s| s.contains("404")),
            "{route} from another delegation: {stranger_answer:?}"
        );
    }
    // The delegation's contributor may upload: the server waits for the body (which never
    // comes whole here), so the refusals above were not read-and-refuse.
    let allowed = start_upload(
        &addr,
        &routes[0],
        Some(&contributor),
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(allowed, None, "an allowed upload's body is read");
    assert_eq!(
        app.count("SELECT count(*) FROM evidence_files").await,
        0,
        "nothing stored"
    );
}
