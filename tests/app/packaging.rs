//! The packaging as an operator meets it: the container image's own settings (its unprivileged
//! account, environment, command, health check and stop signal, read from packaging/Dockerfile)
//! run the built binary for real; the systemd unit passes `systemd-analyze verify`; and every
//! variable the packaging sets is one the binary reads.
//!
//! No Docker engine runs on the build machines, so the image itself is not built here: these
//! tests hold what the image adds to the binary (docs/operations.md, "Container and service").

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::binary::postgres_running_in;

const PLEDGE: &str = env!("CARGO_BIN_EXE_pledge");

fn packaging(file: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("packaging")
            .join(file),
    )
    .unwrap_or_else(|error| panic!("packaging/{file}: {error}"))
}

/// The instructions of the Dockerfile's last stage (the image that runs), continuation lines
/// joined and comments dropped, as (keyword, arguments).
fn runtime_stage() -> Vec<(String, String)> {
    let mut instructions: Vec<(String, String)> = Vec::new();
    let mut pending = String::new();
    for line in packaging("Dockerfile").lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && pending.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(start) => {
                pending.push_str(start);
                pending.push(' ');
            }
            None => {
                pending.push_str(trimmed);
                let (keyword, arguments) = pending.split_once(' ').unwrap_or((&pending, ""));
                instructions.push((keyword.to_uppercase(), arguments.trim().to_owned()));
                pending.clear();
            }
        }
    }
    let last_from = instructions
        .iter()
        .rposition(|(keyword, _)| keyword == "FROM")
        .expect("a FROM");
    instructions.split_off(last_from)
}

fn only<'a>(stage: &'a [(String, String)], keyword: &str) -> &'a str {
    let found: Vec<&str> = stage
        .iter()
        .filter(|(k, _)| k == keyword)
        .map(|(_, arguments)| arguments.as_str())
        .collect();
    assert_eq!(found.len(), 1, "one {keyword} in the runtime stage");
    found[0]
}

fn exec_form(arguments: &str) -> Vec<String> {
    serde_json::from_str(arguments).unwrap_or_else(|_| panic!("not an exec form: {arguments}"))
}

fn http_status(addr: &str, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.lines().next().map(str::to_owned)
}

#[test]
fn the_container_images_settings_run_the_service_as_its_unprivileged_account() {
    let stage = runtime_stage();

    // What the image declares, and that its parts agree with each other.
    let user = only(&stage, "USER");
    assert!(!["root", "0"].contains(&user), "the image runs as {user}");
    let environment: Vec<(String, String)> = only(&stage, "ENV")
        .split_whitespace()
        .map(|pair| {
            let (name, value) = pair.split_once('=').expect("ENV name=value");
            (name.to_owned(), value.to_owned())
        })
        .collect();
    let setting = |name: &str| {
        environment
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| panic!("the image sets {name}"))
    };
    let port = setting("PLEDGE_LISTEN")
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(only(&stage, "EXPOSE"), port, "EXPOSE is the listening port");
    let health = only(&stage, "HEALTHCHECK");
    let probe = exec_form(health.split_once("CMD ").expect("HEALTHCHECK … CMD [..]").1);
    let probe_url = probe.last().unwrap();
    assert_eq!(
        probe_url,
        &format!("http://127.0.0.1:{port}/readyz"),
        "the health check asks /readyz on the listening port"
    );
    assert_eq!(only(&stage, "STOPSIGNAL"), "SIGTERM");
    let entrypoint = exec_form(only(&stage, "ENTRYPOINT"));
    let binary = entrypoint.last().unwrap();
    assert!(
        stage
            .iter()
            .any(|(k, arguments)| k == "COPY" && arguments.ends_with(&format!(" {binary}"))),
        "the entry point {binary} is the binary copied from the build stage"
    );
    let command = exec_form(only(&stage, "CMD"));
    let pg_bin = setting("PLEDGE_PG_BIN");
    let version = pg_bin
        .strip_prefix("/usr/lib/postgresql/")
        .and_then(|rest| rest.strip_suffix("/bin"))
        .expect("PLEDGE_PG_BIN is Debian's layout");
    assert!(
        only(&stage, "RUN").contains(&format!(" postgresql-{version} ")),
        "the image installs the PostgreSQL {version} that PLEDGE_PG_BIN names"
    );

    // Those settings, run for real: the same command and environment, as an unprivileged
    // account (nobody, when the test runs as root), with a fresh data directory. Only the
    // address changes (a free loopback port) and the data directory (the volume).
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("container-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let as_root = nix::unistd::geteuid().is_root();
    let nobody = nix::unistd::Uid::from_raw(65534);
    let nogroup = nix::unistd::Gid::from_raw(65534);
    if as_root {
        nix::unistd::chown(&dir, Some(nobody), Some(nogroup)).unwrap();
    }
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{free_port}");
    let mut run = if as_root {
        let mut setpriv = Command::new("setpriv");
        setpriv.args(["--reuid=65534", "--regid=65534", "--clear-groups", PLEDGE]);
        setpriv
    } else {
        Command::new(PLEDGE)
    };
    let log = dir.join("stderr.log");
    run.args(&command)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &dir)
        .envs(environment.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .env("PLEDGE_DATA_DIR", dir.join("volume"))
        .env("PLEDGE_LISTEN", &address)
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    if !Path::new(&pg_bin).is_dir() {
        // A machine with another PostgreSQL: the binary finds it itself.
        run.env_remove("PLEDGE_PG_BIN");
    }
    let mut server = run.spawn().expect("the image's command starts");
    let started = Instant::now();
    let mut status = None;
    while started.elapsed() < Duration::from_secs(120) && status.is_none() {
        status = http_status(&address, "/readyz").filter(|line| line.contains(" 200"));
        if status.is_none() {
            assert!(
                server.try_wait().unwrap().is_none(),
                "the service stopped:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    assert!(
        status.is_some(),
        "the health check never passed:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let volume = dir.join("volume");
    assert!(postgres_running_in(&volume), "the private cluster runs");
    if as_root {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(volume.join("pgdata")).unwrap().uid();
        assert_eq!(
            owner, 65534,
            "the cluster belongs to the unprivileged account"
        );
    }

    // The stop signal drains, stops the cluster and exits 0; the log is JSON, line by line.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let exit = server.wait().unwrap();
    assert!(exit.success(), "a clean stop exits 0, got {exit}");
    assert!(!postgres_running_in(&volume), "no postgres is left behind");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().count() >= 3, "{text}");
    for line in text.lines() {
        let entry: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|_| panic!("PLEDGE_LOG_FORMAT=json, yet: {line}"));
        assert!(entry["level"].is_string(), "{line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    // The unit as installed, its ExecStart pointed at the binary just built.
    let unit = packaging("pledge.service");
    assert!(unit.contains("ExecStart=/usr/local/bin/pledge serve"));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("systemd-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pledge.service");
    std::fs::write(
        &file,
        unit.replace(
            "ExecStart=/usr/local/bin/pledge",
            &format!("ExecStart={PLEDGE}"),
        ),
    )
    .unwrap();
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&file)
        .output()
        .expect("systemd-analyze (Debian: apt-get install systemd)");
    // It exits 0 even for an unknown key or a value it cannot parse: it says so on stderr.
    let complaints = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && complaints.trim().is_empty(),
        "systemd-analyze verify:\n{complaints}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_variable_the_packaging_sets_is_one_the_binary_reads() {
    // docs/configuration.md is generated from the command line's definitions (a lib test fails
    // when it drifts), so it is the list of what the binary reads.
    let reference = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md"),
    )
    .unwrap();
    let mut checked = 0;
    for file in ["Dockerfile", "pledge.service", "pledge.env"] {
        let text = packaging(file);
        let words = text.split(|c: char| !(c.is_ascii_uppercase() || c == '_'));
        for name in words.filter(|w| w.starts_with("PLEDGE_") || *w == "DATABASE_URL") {
            checked += 1;
            if name == "PLEDGE_COMMIT" {
                // Read when the binary is built (build.rs), for `pledge --version`.
                assert!(
                    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("build.rs"))
                        .unwrap()
                        .contains(name)
                );
                continue;
            }
            assert!(
                reference.contains(&format!("`{name}`")),
                "packaging/{file} sets {name}, which the binary does not read"
            );
        }
    }
    assert!(checked > 10, "{checked} variables found");
}
