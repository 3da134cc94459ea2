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

    /// An empty database, not migrated, and the owner's connection to it (for migration tests).
    pub async fn unmigrated() -> PgConnection {
        let name = format!("t_{}", Uuid::new_v4().simple());
        let mut admin = admin_connection("postgres").await;
        storage::ensure_roles(&mut admin).await.expect("roles");
        admin
            .execute(format!("CREATE DATABASE {name} OWNER {OWNER_ROLE}").as_str())
            .await
            .expect("create database");
        PgConnection::connect_with(&owner_options(&name))
            .await
            .expect("owner connection")
    }

    /// An empty database, not migrated, with its connection plan (several `pledge serve`
    /// processes migrate it together: tests/app/scaleout.rs).
    pub async fn empty() -> Self {
        let name = format!("t_{}", Uuid::new_v4().simple());
        let mut admin = admin_connection("postgres").await;
        storage::ensure_roles(&mut admin).await.expect("roles");
        admin
            .execute(format!("CREATE DATABASE {name} OWNER {OWNER_ROLE}").as_str())
            .await
            .expect("create database");
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
        Self::spawn_with(WebConfig::default()).await
    }

    /// The same, with other settings.
    pub async fn spawn_with(config: WebConfig) -> Self {
        let db = TestDb::new().await;
        let state = AppState::new(db.app_pool().await, config);
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

/// The body as bytes (files).
pub async fn body_bytes(response: Response<Body>) -> Vec<u8> {
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec()
}

/// A multipart upload of `content` named `name` in the field `file`; pages carry the CSRF token
/// in the query, as their upload forms do.
pub fn upload(user: &TestUser, path: &str, name: &str, content: &[u8]) -> Request<Body> {
    multipart(user, path, &[], name, content)
}

/// A multipart upload with text fields and the file, as a browser or client sends it (the
/// fields first, then `file`); pages carry the CSRF token in the query, as their upload forms do.
pub fn multipart(
    user: &TestUser,
    path: &str,
    fields: &[(&str, &str)],
    name: &str,
    content: &[u8],
) -> Request<Body> {
    let boundary = "test-boundary";
    let mut body = Vec::new();
    for (field, value) in fields {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n"
            )
            .into_bytes(),
        );
    }
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes(),
    );
    body.extend_from_slice(content);
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let uri = if path.starts_with("/api/") {
        path.to_owned()
    } else {
        format!("{path}?csrf_token={}", user.csrf)
    };
    Request::post(uri)
        .header("cookie", format!("pledge_session={}", user.cookie))
        .header("x-csrf-token", &user.csrf)
        .header(
            axum::http::header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap()
}

/// The body as JSON.
pub async fn body_json(response: Response<Body>) -> serde_json::Value {
    serde_json::from_str(&body_text(response).await).expect("JSON body")
}

/// The password of every fixture user.
pub const PASSWORD: &str = "correct horse battery staple 42";

async fn fixture_hash() -> &'static str {
    static HASH: OnceCell<String> = OnceCell::const_new();
    HASH.get_or_init(|| async {
        pledge::auth::password::hash(PASSWORD.to_owned())
            .await
            .unwrap()
    })
    .await
}

/// A user with a live session, as a browser holds it.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub cookie: String,
    pub csrf: String,
    pub totp_secret: Option<Vec<u8>>,
}

impl TestUser {
    fn cookie_header(&self) -> String {
        format!("pledge_session={}", self.cookie)
    }

    /// `GET path` with the session cookie.
    pub fn get(&self, path: &str) -> Request<Body> {
        Request::get(path)
            .header("cookie", self.cookie_header())
            .body(Body::empty())
            .unwrap()
    }

    /// A page form post with the cookie and the CSRF token.
    pub fn post_form(&self, path: &str, body: &str) -> Request<Body> {
        let body = if body.is_empty() {
            format!("csrf_token={}", self.csrf)
        } else {
            format!("csrf_token={}&{body}", self.csrf)
        };
        Request::post(path)
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    }

    /// An API call with the cookie and the CSRF header.
    pub fn api(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> Request<Body> {
        let builder = Request::builder()
            .method(method)
            .uri(path)
            .header("cookie", self.cookie_header())
            .header("x-csrf-token", &self.csrf);
        match body {
            Some(json) => builder
                .header("content-type", "application/json")
                .body(Body::from(json.to_string()))
                .unwrap(),
            None => builder.body(Body::empty()).unwrap(),
        }
    }
}

/// A role as the fixtures name it: admin, analyst, head, contributor, viewer.
pub fn role(name: &str, participant_id: Option<Uuid>) -> pledge::domain::role::Role {
    use pledge::domain::role::{DelegationRole, Role};
    match name {
        "admin" => Role::Admin,
        "analyst" => Role::Analyst,
        other => Role::Delegation {
            participant_id: participant_id.expect("a delegation role needs a participant"),
            role: DelegationRole::parse(other).expect("role name"),
        },
    }
}

impl TestApp {
    /// The id of a participant by code.
    pub async fn participant(&self, code: &str) -> Uuid {
        let mut owner = self.db.owner().await;
        sqlx::query_scalar("SELECT id FROM participants WHERE code = $1")
            .bind(code)
            .fetch_one(&mut owner)
            .await
            .unwrap()
    }

    /// Creates a user with [`PASSWORD`] (admins also get a second factor) and signs them in.
    pub async fn user(&self, role_name: &str, participant: Option<&str>) -> TestUser {
        let participant_id = match participant {
            Some(code) => Some(self.participant(code).await),
            None => None,
        };
        let email = format!(
            "{role_name}.{}@test.example",
            &Uuid::new_v4().simple().to_string()[..8]
        );
        let mut owner = self.db.owner().await;
        let mut tx = owner.begin().await.unwrap();
        storage::set_scope(&mut tx, &storage::Scope::System)
            .await
            .unwrap();
        let new = pledge::storage::users::NewUser {
            email: email.clone(),
            display_name: format!("Test {role_name}"),
            password_hash: fixture_hash().await.to_owned(),
            must_change_password: false,
            role: role(role_name, participant_id),
        };
        let id = pledge::storage::users::insert(&mut tx, &new).await.unwrap();
        let totp_secret = (role_name == "admin").then(pledge::auth::totp::new_secret);
        if let Some(secret) = &totp_secret {
            // Stored sealed, as enrolment stores it.
            let sealed = self.state.config.auth.totp_keys.seal(id, secret);
            pledge::storage::users::enable_totp(&mut tx, id, &sealed, 0, &[])
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let (cookie, csrf) = self.session_for(id).await;
        TestUser {
            id,
            email,
            cookie,
            csrf,
            totp_secret,
        }
    }

    /// A new, fully authenticated session for a user.
    pub async fn session_for(&self, user_id: Uuid) -> (String, String) {
        let cookie = pledge::auth::secrets::random_hex(32);
        let csrf = pledge::auth::secrets::random_hex(32);
        let mut owner = self.db.owner().await;
        pledge::storage::sessions::insert(
            &mut owner,
            &pledge::storage::sessions::NewSession {
                id_hash: &pledge::auth::secrets::sha256(&cookie),
                user_id,
                csrf_token: &csrf,
                fully_authenticated: true,
                lifetime: time::Duration::hours(12),
                client_addr: None,
                user_agent: Some("tests"),
            },
        )
        .await
        .unwrap();
        (cookie, csrf)
    }

    /// Counts rows of a query run as the owner (with the system scope).
    pub async fn count(&self, sql: &str) -> i64 {
        let mut owner = self.db.owner().await;
        let mut tx = owner.begin().await.unwrap();
        storage::set_scope(&mut tx, &storage::Scope::System)
            .await
            .unwrap();
        let n = sqlx::query_scalar(sql).fetch_one(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        n
    }
}

/// The value of the session cookie a response sets, if any.
pub fn session_cookie_set(response: &Response<Body>) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("pledge_session="))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        .filter(|value| !value.is_empty())
}

/// A form post without a session (sign-in).
pub fn anonymous_form(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// Percent-encodes a form value.
pub fn enc(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl TestDb {
    /// Connection strings (owner, service role) for the `pledge` binary, when the database is on
    /// the private test cluster (an external server's passwords are not known here).
    pub fn urls_for_binary(&self) -> Option<(String, String)> {
        if !server().private {
            return Option::None;
        }
        let host = self.plan.owner.get_host().to_owned();
        let port = self.plan.owner.get_port();
        let url = |user: &str| {
            format!(
                "postgresql:///{}?host={host}&port={port}&user={user}",
                self.name
            )
        };
        Some((url(OWNER_ROLE), url(APP_ROLE)))
    }
}

/// Where a redirect leads (its `Location`), or "".
pub fn location(response: &Response<Body>) -> String {
    response
        .headers()
        .get(axum::http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The one-time message's cookie a response sets (`pledge_flash=…`), or "".
pub fn flash_of(response: &Response<Body>) -> String {
    response
        .headers()
        .get_all(axum::http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("pledge_flash="))
        .unwrap_or_default()
        .to_owned()
}

impl TestApp {
    /// An owner's connection that sees every row (row-level security reads the `system` role).
    pub async fn system(&self) -> PgConnection {
        let mut owner = self.db.owner().await;
        sqlx::query("SELECT set_config('pledge.role', 'system', false)")
            .execute(&mut owner)
            .await
            .unwrap();
        owner
    }

    /// The assessment of the participant with this code in a cycle (read as `system`).
    pub async fn assessment_of(&self, cycle: Uuid, participant: &str) -> Uuid {
        sqlx::query_scalar(
            "SELECT a.id FROM assessments a JOIN participants p ON p.id = a.participant_id
             WHERE a.cycle_id = $1 AND p.code = $2",
        )
        .bind(cycle)
        .bind(participant)
        .fetch_one(&mut self.system().await)
        .await
        .unwrap()
    }
}
