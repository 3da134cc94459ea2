//! Test harness: one private PostgreSQL cluster per test process (or the server in
//! `DATABASE_URL`), a migrated template database, and a fresh database for every test.

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, Response};
use http_body_util::BodyExt;
use pledge::cluster::{Durability, PrivateCluster, SUPERUSER};
use pledge::config::WebConfig;
use pledge::storage::{self, APP_ROLE, ConnectionPlan, OWNER_ROLE};
use pledge::web::{self, AppState};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use tokio::sync::OnceCell;
use tower::ServiceExt;
use uuid::Uuid;

const TEMPLATE: &str = "pledge_template";

/// Where the server is, for this test process.
struct Server {
    /// Connects as a role that may create databases and roles.
    admin: PgConnectOptions,
    /// Service-role options come from a separate login (private) or SET ROLE (external).
    private: bool,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return Server {
                admin: url.parse().expect("DATABASE_URL"),
                private: false,
            };
        }
        let dir =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cluster = PrivateCluster::new(&dir, Durability::Disposable).expect("cluster");
        cluster.initialize().expect("initdb");
        cluster.start().expect("start cluster");
        stop_when_this_process_exits(&dir);
        Server {
            admin: cluster.connect_options(SUPERUSER, "postgres"),
            private: true,
        }
    })
}

/// The test harness cannot run code at exit, so a small watcher stops the cluster (fast
/// shutdown via SIGINT to the postmaster) and removes its directory once this process is gone.
fn stop_when_this_process_exits(dir: &std::path::Path) {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
         pm=$(head -n 1 '{dir}/pgdata/postmaster.pid' 2>/dev/null); \
         [ -n \"$pm\" ] && kill -INT \"$pm\"; \
         for i in $(seq 1 60); do [ -e '{dir}/pgdata/postmaster.pid' ] || break; sleep 0.5; done; \
         rm -rf '{dir}'",
        pid = std::process::id(),
        dir = dir.display()
    );
    // Deliberately never waited for: it outlives this process to clean up after it.
    #[allow(clippy::zombie_processes)]
    std::process::Command::new("sh")
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the cluster watcher");
}

async fn admin_connection(database: &str) -> PgConnection {
    PgConnection::connect_with(&server().admin.clone().database(database))
        .await
        .expect("admin connection")
}

/// Builds the migrated template once per process.
async fn template() -> &'static str {
    static READY: OnceCell<String> = OnceCell::const_new();
    READY
        .get_or_init(|| async {
            let mut admin = admin_connection("postgres").await;
            storage::ensure_roles(&mut admin).await.expect("roles");
            admin
                .execute(
                    format!("DROP DATABASE IF EXISTS {TEMPLATE}_{}", std::process::id()).as_str(),
                )
                .await
                .expect("drop old template");
            admin
                .execute(format!("CREATE DATABASE {} OWNER {OWNER_ROLE}", template_name()).as_str())
                .await
                .expect("create template");
            let mut owner = PgConnection::connect_with(&owner_options(&template_name()))
                .await
                .expect("owner connection");
            storage::migrate(&mut owner)
                .await
                .expect("migrate template");
            owner.close().await.expect("close");
            template_name()
        })
        .await
}

fn template_name() -> String {
    format!("{TEMPLATE}_{}", std::process::id())
}

fn owner_options(database: &str) -> PgConnectOptions {
    let base = server().admin.clone().database(database);
    if server().private {
        base.username(OWNER_ROLE)
    } else {
        base
    }
}

/// A fresh, migrated database for one test.
pub struct TestDb {
    pub name: String,
    pub plan: ConnectionPlan,
}

impl TestDb {
    /// Creates the database from the template.
    pub async fn new() -> Self {
        let template = template().await;
        let name = format!("t_{}", Uuid::new_v4().simple());
        let mut admin = admin_connection("postgres").await;
        admin
            .execute(
                format!("CREATE DATABASE {name} TEMPLATE {template} OWNER {OWNER_ROLE}").as_str(),
            )
            .await
            .expect("create test database");
        let owner = owner_options(&name);
        let (app, app_via_set_role) = if server().private {
            (owner.clone().username(APP_ROLE), false)
        } else {
            (owner.clone(), true)
        };
        Self {
            name,
            plan: ConnectionPlan {
                owner,
                app,
                app_via_set_role,
            },
        }
    }

    /// The service role's pool.
    pub async fn app_pool(&self) -> PgPool {
        self.plan.app_pool(4).await.expect("app pool")
    }

    /// A connection as the owner.
    pub async fn owner(&self) -> PgConnection {
        self.plan
            .owner_connection()
            .await
            .expect("owner connection")
    }

    /// A connection as a superuser of the server (to play an attacker with full access).
    pub async fn superuser(&self) -> PgConnection {
        admin_connection(&self.name).await
    }
}

/// The application router on a fresh database.
pub struct TestApp {
    pub db: TestDb,
    pub state: AppState,
}

impl TestApp {
    /// A fresh database and the real router on it.
    pub async fn spawn() -> Self {
        let db = TestDb::new().await;
        let state = AppState::new(db.app_pool().await, WebConfig::default());
        Self { db, state }
    }

    /// Sends one request through the real router.
    pub async fn request(&self, request: Request<Body>) -> Response<Body> {
        web::app(self.state.clone())
            .oneshot(request)
            .await
            .expect("infallible")
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Response<Body> {
        self.request(Request::get(path).body(Body::empty()).unwrap())
            .await
    }
}

/// The body as text.
pub async fn body_text(response: Response<Body>) -> String {
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8 body")
}

/// The body as JSON.
pub async fn body_json(response: Response<Body>) -> serde_json::Value {
    serde_json::from_str(&body_text(response).await).expect("JSON body")
}
