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
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_at_the_header_timeout() {
    let mut config = pledge::config::WebConfig::default();
    config.header_read_timeout = Duration::from_secs(1);
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
fn spawn_binary(db: &crate::support::TestDb, extra: &[&str]) -> Option<(std::process::Child, String)> {
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
