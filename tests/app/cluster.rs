//! The private cluster's lifecycle: start, reuse, refuse a second owner, stop.

use pledge::cluster::{ClusterError, Durability, PrivateCluster, SUPERUSER};
use sqlx::{Connection, Executor, PgConnection};

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn a_cluster_starts_keeps_its_data_across_restarts_refuses_a_second_owner_and_stops() {
    let dir = scratch_dir("lifecycle");
    let cluster = PrivateCluster::new(&dir, Durability::Disposable).unwrap();
    let lock = cluster.lock().unwrap();
    assert!(!cluster.is_initialized());
    cluster.initialize().unwrap();
    cluster.start().unwrap();
    assert!(cluster.is_running().unwrap());

    let second = PrivateCluster::new(&dir, Durability::Disposable).unwrap();
    match second.lock() {
        Err(ClusterError::InUse { holder, .. }) => {
            assert!(holder.contains(&std::process::id().to_string()), "{holder}")
        }
        other => panic!("a second owner must be refused, got {other:?}"),
    }

    let options = cluster.connect_options(SUPERUSER, "postgres");
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    conn.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
        .await
        .unwrap();
    conn.close().await.unwrap();

    cluster.stop().unwrap();
    assert!(!cluster.is_running().unwrap());
    assert!(
        PgConnection::connect_with(&options).await.is_err(),
        "stopped means unreachable"
    );

    cluster.start().unwrap();
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    let kept: i32 = sqlx::query_scalar("SELECT n FROM kept")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(kept, 42, "a restart reuses the data");
    conn.close().await.unwrap();
    cluster.stop().unwrap();
    drop(lock);
    // Another test's child process, between its fork and its exec, may briefly share the lock's
    // descriptor (flock follows the open file), so allow it a moment to let go.
    let mut released = second.lock().is_ok();
    for _ in 0..40 {
        if released {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        released = second.lock().is_ok();
    }
    assert!(released, "the data directory is free once released");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_cluster_listens_only_on_its_own_socket() {
    let dir = scratch_dir("socket-only");
    let cluster = PrivateCluster::new(&dir, Durability::Disposable).unwrap();
    let _lock = cluster.lock().unwrap();
    cluster.initialize().unwrap();
    cluster.start().unwrap();
    let mut conn = PgConnection::connect_with(&cluster.connect_options(SUPERUSER, "postgres"))
        .await
        .unwrap();
    let settings: (String, String) = sqlx::query_as(
        "SELECT current_setting('listen_addresses'), current_setting('unix_socket_directories')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    // The URL `pledge db url` prints reaches the same server.
    let by_url: sqlx::postgres::PgConnectOptions =
        cluster.url(SUPERUSER, "postgres").parse().unwrap();
    let conn = PgConnection::connect_with(&by_url).await.unwrap();
    conn.close().await.unwrap();
    cluster.stop().unwrap();
    assert_eq!(settings.0, "");
    assert_eq!(settings.1, cluster.socket_dir().display().to_string());
    let url = cluster.url("pledge_owner", "pledge");
    assert!(url.starts_with("postgresql:///pledge?host=/"), "{url}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `openssl` with these arguments in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let status = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success(), "openssl {args:?}");
}

/// Issues `ca.pem` and a server certificate for `localhost` signed by it, and `other-ca.pem`.
fn certificates(dir: &std::path::Path) {
    for ca in ["ca", "other-ca"] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
                "-subj",
                &format!("/CN={ca}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
    }
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-out",
            "server.crt",
            "-extfile",
            "server.ext",
        ],
    );
}

#[tokio::test]
async fn an_external_database_is_reached_over_tls_with_verify_full_and_a_wrong_certificate_is_refused()
 {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch_dir("tls");
    let cluster = PrivateCluster::new(&dir, Durability::Disposable).unwrap();
    let _lock = cluster.lock().unwrap();
    cluster.initialize().unwrap();
    let pgdata = dir.join("pgdata");
    certificates(&pgdata);
    let server_account = nix::unistd::User::from_name("postgres").ok().flatten();
    for file in ["server.key", "server.crt"] {
        let path = pgdata.join(file);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        if nix::unistd::geteuid().is_root()
            && let Some(account) = &server_account
        {
            nix::unistd::chown(&path, Some(account.uid), Some(account.gid)).unwrap();
        }
    }
    // For this test only: the server also listens on loopback TCP, with TLS.
    let port = 20_000 + (std::process::id() % 10_000) as u16;
    let mut conf = std::fs::OpenOptions::new()
        .append(true)
        .open(pgdata.join("postgresql.conf"))
        .unwrap();
    std::io::Write::write_all(
        &mut conf,
        format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nssl = on\n\
             ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
        )
        .as_bytes(),
    )
    .unwrap();
    drop(conf);
    cluster.start().unwrap();

    let url = |host: &str, ca: &str| -> pledge::config::DatabaseUrl {
        format!(
            "postgresql://{SUPERUSER}@{host}:{port}/postgres?sslmode=verify-full&sslrootcert={}",
            pgdata.join(ca).display()
        )
        .parse()
        .unwrap()
    };
    let connect = |url: pledge::config::DatabaseUrl| async move {
        PgConnection::connect_with(&url.options().unwrap()).await
    };
    let mut conn = connect(url("localhost", "ca.pem"))
        .await
        .expect("verify-full with the right CA and name connects");
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(ssl, "the connection is encrypted");
    conn.close().await.unwrap();
    let refusal = pledge::storage::connect(&url("localhost", "other-ca.pem").options().unwrap())
        .await
        .map(|_| ())
        .expect_err("a certificate from another CA is refused")
        .to_string();
    assert!(
        refusal.contains("TLS") && refusal.contains("sslrootcert"),
        "the refusal names TLS and what to check: {refusal}"
    );
    assert!(
        connect(url("127.0.0.1", "ca.pem")).await.is_err(),
        "a certificate for another name is refused"
    );
    cluster.stop().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
