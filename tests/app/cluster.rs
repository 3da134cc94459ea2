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
