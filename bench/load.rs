//! Load generator for the report pages and API: signs in, finds the newest synthetic cycle and
//! the demo delegation's assessment in it, then for each endpoint keeps `--concurrency`
//! keep-alive connections busy for `--seconds` and reports throughput and latency
//! percentiles. Run by bench/run.sh; see bench/README.md.
//!
//! cargo run --release --example load -- --base http://127.0.0.1:8088 --scale alliance

use std::time::{Duration, Instant};

use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[derive(Debug, Parser)]
struct Args {
    /// The service's address (plain http on loopback).
    #[arg(long, default_value = "http://127.0.0.1:8088")]
    base: String,
    /// alliance or stress: which synthetic history to measure.
    #[arg(long, default_value = "alliance")]
    scale: String,
    #[arg(long, default_value = "analyst@demo.pledge.example")]
    email: String,
    #[arg(long, default_value = "demo-pledge-2026")]
    password: String,
    /// Connections kept busy at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Measuring time per endpoint, after a warm-up of a quarter of it.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Measure these paths instead of the report endpoints (repeatable), e.g. to see what
    /// signing in and routing cost alone.
    #[arg(long = "path")]
    paths: Vec<String>,
    /// Append one JSON object per endpoint to this file (bench/run.sh gathers them).
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// A label for the JSON objects (e.g. cached, uncached).
    #[arg(long, default_value = "")]
    mode: String,
    /// The service's process id: its CPU time per request goes in the results.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The PostgreSQL postmaster's process id: its and its backends' CPU time per request.
    #[arg(long)]
    postgres_pid: Option<u32>,
    /// Ask for gzip (Accept-Encoding), as a browser does.
    #[arg(long)]
    gzip: bool,
    /// Instead of measuring: sign in this many times (new sessions), then exit.
    #[arg(long)]
    sign_ins: Option<usize>,
}

/// CPU time (user + system, ms) of `pid`, and with `children` of every process whose parent it
/// is (PostgreSQL's backends).
fn cpu_ms(pid: Option<u32>, children: bool) -> f64 {
    let Some(pid) = pid else { return 0.0 };
    // SAFETY: sysconf only reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let stat = |path: std::path::PathBuf| -> Option<(u32, f64)> {
        let text = std::fs::read_to_string(path).ok()?;
        // The fields after the command name (in parentheses, which may hold spaces).
        let rest: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
        let parent = rest.get(1)?.parse().ok()?;
        let used: f64 = rest.get(11)?.parse::<f64>().ok()? + rest.get(12)?.parse::<f64>().ok()?;
        Some((parent, used * 1000.0 / ticks))
    };
    let mut total = stat(format!("/proc/{pid}/stat").into()).map_or(0.0, |(_, t)| t);
    if children && let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().parse::<u32>().is_err() {
                continue;
            }
            if let Some((parent, used)) = stat(entry.path().join("stat"))
                && parent == pid
            {
                total += used;
            }
        }
    }
    total
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(authority: &str) -> Sender {
    let stream = TcpStream::connect(authority).await.expect("connect");
    stream.set_nodelay(true).ok();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    sender
}

/// One request; returns the status and the body.
async fn send(
    sender: &mut Sender,
    method: &str,
    authority: &str,
    path: &str,
    cookie: &str,
    body: Option<String>,
) -> (StatusCode, hyper::HeaderMap, Bytes) {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", authority)
        .header("cookie", cookie);
    if body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .expect("request");
    sender.ready().await.expect("connection ready");
    let response = sender.send_request(request).await.expect("response");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (parts.status, parts.headers, bytes)
}

/// A GET asking for gzip.
async fn send_gzip(
    sender: &mut Sender,
    authority: &str,
    path: &str,
    cookie: &str,
) -> (StatusCode, hyper::HeaderMap, Bytes) {
    let request = Request::builder()
        .method("GET")
        .uri(path)
        .header("host", authority)
        .header("cookie", cookie)
        .header("accept-encoding", "gzip")
        .body(Full::new(Bytes::new()))
        .expect("request");
    sender.ready().await.expect("connection ready");
    let response = sender.send_request(request).await.expect("response");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (parts.status, parts.headers, bytes)
}

struct Measured {
    requests: usize,
    errors: usize,
    bytes: usize,
    latencies_us: Vec<u64>,
    elapsed: Duration,
}

async fn measure(
    authority: String,
    path: String,
    cookie: String,
    concurrency: usize,
    time: Duration,
    gzip: bool,
) -> Measured {
    let deadline = Instant::now() + time;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (authority, path, cookie) = (authority.clone(), path.clone(), cookie.clone());
            tokio::spawn(async move {
                let mut sender = connect(&authority).await;
                let (mut latencies, mut errors, mut bytes) = (Vec::new(), 0, 0);
                while Instant::now() < deadline {
                    let started = Instant::now();
                    let (status, _, body) = if gzip {
                        send_gzip(&mut sender, &authority, &path, &cookie).await
                    } else {
                        send(&mut sender, "GET", &authority, &path, &cookie, None).await
                    };
                    latencies.push(started.elapsed().as_micros() as u64);
                    bytes += body.len();
                    if status != StatusCode::OK {
                        errors += 1;
                    }
                }
                (latencies, errors, bytes)
            })
        })
        .collect();
    let started = Instant::now();
    let mut measured = Measured {
        requests: 0,
        errors: 0,
        bytes: 0,
        latencies_us: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for worker in workers {
        let (latencies, errors, bytes) = worker.await.expect("worker");
        measured.requests += latencies.len();
        measured.latencies_us.extend(latencies);
        measured.errors += errors;
        measured.bytes += bytes;
    }
    measured.elapsed = started.elapsed();
    measured.latencies_us.sort_unstable();
    measured
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let authority = args
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut sender = connect(&authority).await;
    let credentials =
        serde_json::json!({"email": args.email, "password": args.password}).to_string();
    let (status, headers, _) = send(
        &mut sender,
        "POST",
        &authority,
        "/api/v1/session",
        "",
        Some(credentials),
    )
    .await;
    assert!(status.is_success(), "sign-in failed: {status}");
    if let Some(times) = args.sign_ins {
        for _ in 0..times {
            let mut sender = connect(&authority).await;
            let credentials =
                serde_json::json!({"email": args.email, "password": args.password}).to_string();
            let (status, _, _) = send(
                &mut sender,
                "POST",
                &authority,
                "/api/v1/session",
                "",
                Some(credentials),
            )
            .await;
            assert!(status.is_success(), "sign-in failed: {status}");
        }
        println!("{times} sign-ins");
        return;
    }
    let cookie = headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");

    let get_json = |path: String| {
        let (authority, cookie) = (authority.clone(), cookie.clone());
        async move {
            let mut sender = connect(&authority).await;
            let (status, _, body) =
                send(&mut sender, "GET", &authority, &path, &cookie, None).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            serde_json::from_slice::<serde_json::Value>(&body).expect("json")
        }
    };
    let cycles = get_json("/api/v1/cycles?limit=500".to_owned()).await;
    let prefix = format!("{}-", args.scale.to_uppercase());
    let cycle = cycles["items"]
        .as_array()
        .expect("cycles")
        .iter()
        .filter(|c| {
            c["code"]
                .as_str()
                .is_some_and(|code| code.starts_with(&prefix))
        })
        .max_by_key(|c| c["opens_on"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_else(|| {
            panic!(
                "no {prefix}* cycle: run `pledge demo --scale {}` first",
                args.scale
            )
        });
    let cycle_id = cycle["id"].as_str().unwrap().to_owned();
    let participants = cycle["assessments"].as_i64().unwrap_or_default();
    let board = get_json(format!("/api/v1/cycles/{cycle_id}/status?search=FRA")).await;
    let assessment = board[0]["assessment_id"]
        .as_str()
        .expect("FRA's assessment")
        .to_owned();

    let mut endpoints = [
        ("comparison page", format!("/cycles/{cycle_id}/report")),
        (
            "comparison API",
            format!("/api/v1/cycles/{cycle_id}/report"),
        ),
        (
            "progress report page",
            format!("/assessments/{assessment}/report"),
        ),
        (
            "progress report API",
            format!("/api/v1/assessments/{assessment}/report"),
        ),
    ]
    .to_vec();
    if !args.paths.is_empty() {
        endpoints = args
            .paths
            .iter()
            .map(|p| ("given path", p.clone()))
            .collect();
    }
    println!(
        "scale {} — cycle {} ({participants} participants), {} connections, {} s per endpoint\n",
        args.scale,
        cycle["code"].as_str().unwrap_or_default(),
        args.concurrency,
        args.seconds
    );
    println!(
        "| endpoint | requests | errors | throughput (req/s) | p50 (ms) | p99 (ms) | max (ms) | response (KiB) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, path) in endpoints {
        let time = Duration::from_secs(args.seconds);
        measure(
            authority.clone(),
            path.clone(),
            cookie.clone(),
            args.concurrency,
            time / 4,
            args.gzip,
        )
        .await;
        let (server_before, postgres_before) = (
            cpu_ms(args.server_pid, false),
            cpu_ms(args.postgres_pid, true),
        );
        let m = measure(
            authority.clone(),
            path,
            cookie.clone(),
            args.concurrency,
            time,
            args.gzip,
        )
        .await;
        let per_request = |before: f64, after: f64| (after - before) / m.requests.max(1) as f64;
        let server_cpu = per_request(server_before, cpu_ms(args.server_pid, false));
        let postgres_cpu = per_request(postgres_before, cpu_ms(args.postgres_pid, true));
        if let Some(file) = &args.json {
            use std::io::Write;
            let line = serde_json::json!({
                "scale": args.scale,
                "mode": args.mode,
                "endpoint": name,
                "connections": args.concurrency,
                "seconds": args.seconds,
                "requests": m.requests,
                "errors": m.errors,
                "throughput": m.requests as f64 / m.elapsed.as_secs_f64(),
                "p50_ms": percentile(&m.latencies_us, 0.50),
                "p99_ms": percentile(&m.latencies_us, 0.99),
                "response_kib": m.bytes as f64 / m.requests.max(1) as f64 / 1024.0,
                "service_cpu_ms": server_cpu,
                "postgres_cpu_ms": postgres_cpu,
            });
            let mut out = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
                .expect("the JSON file");
            writeln!(out, "{line}").expect("written");
        }
        println!(
            "| {name} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} |",
            m.requests,
            m.errors,
            m.requests as f64 / m.elapsed.as_secs_f64(),
            percentile(&m.latencies_us, 0.50),
            percentile(&m.latencies_us, 0.99),
            percentile(&m.latencies_us, 1.0),
            m.bytes as f64 / m.requests.max(1) as f64 / 1024.0,
        );
    }
}
