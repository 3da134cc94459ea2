//! The browser suite's harness: the real service on a loopback listener over a fresh database
//! with the demo history, one chromedriver and one headless Chromium session per journey, axe-core
//! on every page visited, and screenshots (with the page's HTML) of failures.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fantoccini::cookies::Cookie;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{TestApp, TestUser};

/// axe-core, vendored from npm (tests/browser/vendor/README.md says which version).
const AXE: &str = include_str!("vendor/axe.min.js");

/// With scripting off, the page's timers never fire; axe waits on `setTimeout`, so the injected
/// script gets one that runs its callback as a microtask (promises still settle).
const TIMER_SHIM: &str = "window.setTimeout = function (f) { var a = [].slice.call(arguments, 2); \
    Promise.resolve().then(function () { f.apply(null, a); }); return 1; }; \
    window.clearTimeout = function () {};";

/// How long a page, a script or a wait may take before the journey fails.
const PATIENCE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// The service under test

/// The service, shared by every journey of this test process.
pub struct Service {
    pub base: String,
    pub app: TestApp,
    runtime: tokio::runtime::Handle,
    claimed: Mutex<Vec<Uuid>>,
    counter: AtomicUsize,
}

/// Starts the service once: its own runtime on its own thread, so that it outlives each test's.
pub fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("service".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("service runtime");
                runtime.block_on(async move {
                    let app = TestApp::spawn().await;
                    pledge::demo::load(&app.db.plan).await.expect("demo data");
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("loopback listener");
                    let address = listener.local_addr().expect("address");
                    let router = pledge::web::app(app.state.clone())
                        .into_make_service_with_connect_info::<SocketAddr>();
                    sender
                        .send((
                            format!("http://{address}"),
                            app,
                            tokio::runtime::Handle::current(),
                        ))
                        .expect("hand over the service");
                    axum::serve(listener, router).await.expect("serve");
                });
            })
            .expect("service thread");
        let (base, app, runtime) = receiver.recv().expect("the service started");
        Service {
            base,
            app,
            runtime,
            claimed: Mutex::new(Vec::new()),
            counter: AtomicUsize::new(0),
        }
    })
}

impl Service {
    /// Runs database work on the service's runtime (its pool lives there).
    pub async fn run<T, F>(&'static self, work: impl FnOnce(&'static Service) -> F) -> T
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.runtime
            .spawn(work(self))
            .await
            .expect("harness work on the service")
    }

    /// A number unique in this process (cycle codes, texts).
    pub fn next(&self) -> usize {
        self.counter.fetch_add(1, Ordering::SeqCst)
    }

    /// An assessment of the demo's open cycle in `state` that no other journey uses, and its
    /// participant's code. Each journey works on its own Ally, so journeys run side by side.
    pub async fn claim(&'static self, state: &'static str) -> (Uuid, String) {
        let rows: Vec<(Uuid, String)> = self
            .run(move |s| async move {
                let mut owner = s.app.db.owner().await;
                let mut tx = sqlx::Connection::begin(&mut owner).await.unwrap();
                pledge::storage::set_scope(&mut tx, &pledge::storage::Scope::System)
                    .await
                    .unwrap();
                sqlx::query_as(
                    "SELECT a.id, p.code FROM assessments a
                     JOIN cycles c ON c.id = a.cycle_id JOIN participants p ON p.id = a.participant_id
                     WHERE c.code = '2026' AND a.state = $1 ORDER BY p.code",
                )
                .bind(state)
                .fetch_all(&mut *tx)
                .await
                .unwrap()
            })
            .await;
        let mut claimed = self.claimed.lock().unwrap();
        let (id, code) = rows
            .into_iter()
            .find(|(id, _)| !claimed.contains(id))
            .unwrap_or_else(|| panic!("no unclaimed assessment in state {state} left"));
        claimed.push(id);
        (id, code)
    }

    /// A new user with the fixtures' password and a live session.
    pub async fn user(&'static self, role: &'static str, participant: Option<String>) -> TestUser {
        self.run(move |s| async move { s.app.user(role, participant.as_deref()).await })
            .await
    }

    /// The id of a cycle by code.
    pub async fn cycle(&'static self, code: &'static str) -> Uuid {
        self.run(move |s| async move {
            let mut owner = s.app.db.owner().await;
            let mut tx = sqlx::Connection::begin(&mut owner).await.unwrap();
            pledge::storage::set_scope(&mut tx, &pledge::storage::Scope::System)
                .await
                .unwrap();
            sqlx::query_scalar("SELECT id FROM cycles WHERE code = $1")
                .bind(code)
                .fetch_one(&mut *tx)
                .await
                .unwrap()
        })
        .await
    }

    /// A page form post through the real router, as another user acting meanwhile.
    pub async fn post_as(&'static self, user: &TestUser, path: String) -> u16 {
        let user = user.clone();
        self.run(move |s| async move {
            s.app
                .request(user.post_form(&path, ""))
                .await
                .status()
                .as_u16()
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Browser configurations

/// The interface's languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }
}

/// One browser configuration a journey runs in.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub lang: Lang,
    pub javascript: bool,
    /// The window's width in CSS pixels; at 320 the pages must not scroll sideways.
    pub width: u32,
}

impl Config {
    pub const EN_JS: Config = Config {
        lang: Lang::En,
        javascript: true,
        width: 1366,
    };
    pub const FR_NO_JS: Config = Config {
        lang: Lang::Fr,
        javascript: false,
        width: 1366,
    };
    pub const FR_JS_NARROW: Config = Config {
        lang: Lang::Fr,
        javascript: true,
        width: 320,
    };
    pub const EN_NO_JS_NARROW: Config = Config {
        lang: Lang::En,
        javascript: false,
        width: 320,
    };

    fn label(&self) -> String {
        format!(
            "{}-{}-{}px",
            self.lang.code(),
            if self.javascript { "js" } else { "nojs" },
            self.width
        )
    }
}

// ---------------------------------------------------------------------------------------------
// chromedriver and the browser session

/// chromedriver on a free loopback port, ended when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start chromedriver (Debian package chromium-driver)")?;
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > PATIENCE {
                bail!("chromedriver did not listen on port {port}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(driver)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// Where failures' screenshots and pages land: target/browser-artifacts/.
pub fn artifacts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|target| target.join("browser-artifacts"))
        .unwrap_or_else(|| PathBuf::from("target/browser-artifacts"))
}

/// What a journey drives: one browser session and the pages it has seen.
#[derive(Clone)]
pub struct Browser {
    pub client: Client,
    pub config: Config,
    pub service: &'static Service,
    pub downloads: PathBuf,
    checked: Arc<Mutex<Vec<String>>>,
}

/// Pages axe-checked across the whole run (for the report at the end of each journey).
pub static PAGES_CHECKED: AtomicUsize = AtomicUsize::new(0);

/// Runs `journey` in a new browser session with `config`; on an error or a panic, keeps a
/// screenshot and the page's HTML under target/browser-artifacts/ and fails with the cause.
pub async fn run<F, Fut>(name: &str, config: Config, journey: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let started = Instant::now();
    let service = service();
    let driver = Driver::start().expect("chromedriver");
    let profile = tempfile::tempdir().expect("profile directory");
    let downloads = tempfile::tempdir().expect("download directory");
    let client = connect(&driver, &config, profile.path(), downloads.path())
        .await
        .expect("a Chromium session");
    let browser = Browser {
        client: client.clone(),
        config,
        service,
        downloads: downloads.path().to_owned(),
        checked: Arc::new(Mutex::new(Vec::new())),
    };
    let outcome = AssertUnwindSafe(journey(browser.clone()))
        .catch_unwind()
        .await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(format!("{error:#}")),
        Err(panic) => Some(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "panic".into()),
        ),
    };
    let label = format!("{name}-{}", config.label());
    let kept = match &failure {
        Some(_) => keep_evidence(&client, &label).await,
        None => String::new(),
    };
    let _ = client.close().await;
    drop(driver);
    let pages = browser.checked.lock().unwrap().len();
    eprintln!(
        "browser journey {label}: {} pages axe-checked, {:.1} s",
        pages,
        started.elapsed().as_secs_f64()
    );
    if let Some(failure) = failure {
        panic!("journey {label} failed: {failure}{kept}");
    }
}

async fn connect(
    driver: &Driver,
    config: &Config,
    profile: &std::path::Path,
    downloads: &std::path::Path,
) -> anyhow::Result<Client> {
    let mut args = vec![
        "--headless".to_owned(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        format!("--user-data-dir={}", profile.display()),
        format!("--window-size={},900", config.width),
        format!("--lang={}", config.lang.code()),
    ];
    if !config.javascript {
        // Kept alongside the preference below: scripting off for the page, while WebDriver's
        // own scripts (axe) still run.
        args.push("--blink-settings=scriptEnabled=false".into());
    }
    let mut prefs = json!({
        "download.default_directory": downloads,
        "download.prompt_for_download": false,
        "download.directory_upgrade": true,
    });
    if !config.javascript {
        prefs["profile.managed_default_content_settings.javascript"] = json!(2);
    }
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": chromium(), "args": args, "prefs": prefs },
        "timeouts": { "script": PATIENCE.as_millis() as u64, "pageLoad": PATIENCE.as_millis() as u64 },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .context("new WebDriver session")?;
    // The viewport, not the window, is what must fit: size it exactly.
    let inner: Value = client
        .execute("return [window.innerWidth, window.outerWidth];", vec![])
        .await?;
    let (inner_width, outer_width) = (
        inner[0].as_u64().unwrap_or(0) as u32,
        inner[1].as_u64().unwrap_or(0) as u32,
    );
    if inner_width != config.width && outer_width > 0 {
        let frame = outer_width.saturating_sub(inner_width);
        client.set_window_size(config.width + frame, 900).await?;
    }
    Ok(client)
}

fn entry_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A cookie for the service's origin. SameSite is spelt out: left unset, fantoccini sends
/// `None`, which Chromium refuses without `Secure`.
fn loopback_cookie(name: &str, value: &str) -> anyhow::Result<Cookie<'static>> {
    let mut cookie = Cookie::parse(format!("{name}={value}; Path=/; SameSite=Lax"))?;
    cookie.set_domain("127.0.0.1");
    Ok(cookie)
}

async fn keep_evidence(client: &Client, label: &str) -> String {
    let dir = artifacts_dir();
    if std::fs::create_dir_all(&dir).is_err() {
        return String::new();
    }
    let png = dir.join(format!("{label}.png"));
    let html = dir.join(format!("{label}.html"));
    if let Ok(bytes) = client.screenshot().await {
        let _ = std::fs::write(&png, bytes);
    }
    let url = client
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    if let Ok(source) = client.source().await {
        let _ = std::fs::write(&html, format!("<!-- {url} -->\n{source}"));
    }
    format!(
        "\n  at {url}\n  kept: {} and {}",
        png.display(),
        html.display()
    )
}

impl Browser {
    pub fn lang(&self) -> Lang {
        self.config.lang
    }

    /// Signs in without the form: a session made by the harness, as the browser would hold it.
    pub async fn adopt_session(&self, user: &TestUser) -> anyhow::Result<()> {
        self.client
            .goto(&format!("{}/livez", self.service.base))
            .await?;
        self.client
            .add_cookie(loopback_cookie("pledge_session", &user.cookie)?)
            .await?;
        self.set_language_cookie().await
    }

    /// The language by its cookie (as the switch on every page sets it).
    pub async fn set_language_cookie(&self) -> anyhow::Result<()> {
        self.client
            .add_cookie(loopback_cookie("pledge_lang", self.lang().code())?)
            .await?;
        Ok(())
    }

    /// Opens a page of the service and checks it (see [`Browser::check_page`]).
    pub async fn visit(&self, path: &str) -> anyhow::Result<()> {
        self.client
            .goto(&format!("{}{path}", self.service.base))
            .await?;
        self.check_page().await
    }

    /// The page the browser is on, checked: axe-core finds no critical or serious violation,
    /// the page is in the configuration's language and, at 320 px, does not scroll sideways.
    pub async fn check_page(&self) -> anyhow::Result<()> {
        let url = self.client.current_url().await?.to_string();
        let lang: Value = self
            .client
            .execute("return document.documentElement.lang;", vec![])
            .await?;
        if lang.as_str() != Some(self.lang().code()) {
            bail!(
                "{url} is in {lang}, not {}: it should follow the chosen language",
                self.lang().code()
            );
        }
        self.axe(&url).await?;
        if self.config.width <= 320 {
            self.no_sideways_scroll(&url).await?;
        }
        self.checked.lock().unwrap().push(url);
        PAGES_CHECKED.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn axe(&self, url: &str) -> anyhow::Result<()> {
        let present: Value = self
            .client
            .execute("return typeof window.axe === 'object';", vec![])
            .await?;
        if present != Value::Bool(true) {
            let shim = if self.config.javascript {
                ""
            } else {
                TIMER_SHIM
            };
            self.client
                .execute(&format!("{shim}{AXE}\n;return true;"), vec![])
                .await
                .context("inject axe-core")?;
        }
        let result = self
            .client
            .execute(
                "return axe.run(document, { resultTypes: ['violations'] }).then(function (r) {
                   return r.violations.filter(function (v) {
                     return v.impact === 'critical' || v.impact === 'serious';
                   }).map(function (v) {
                     return { id: v.id, impact: v.impact, help: v.help,
                              targets: v.nodes.map(function (n) { return n.target.join(' '); }) };
                   });
                 });",
                vec![],
            )
            .await
            .context("run axe-core")?;
        let mut problems = Vec::new();
        for violation in result.as_array().cloned().unwrap_or_default() {
            let id = violation["id"].as_str().unwrap_or_default();
            let line = format!(
                "{} ({}): {} — {}",
                id,
                violation["impact"].as_str().unwrap_or_default(),
                violation["help"].as_str().unwrap_or_default(),
                violation["targets"]
                    .as_array()
                    .map(|t| t
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            );
            problems.push(line);
        }
        if !problems.is_empty() {
            bail!(
                "axe-core: {} critical or serious violation(s) on {url}:\n  {}",
                problems.len(),
                problems.join("\n  ")
            );
        }
        Ok(())
    }

    async fn no_sideways_scroll(&self, url: &str) -> anyhow::Result<()> {
        let widths: Value = self
            .client
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            )
            .await?;
        let (scroll, inner) = (
            widths[0].as_u64().unwrap_or(0),
            widths[1].as_u64().unwrap_or(0),
        );
        if scroll > inner {
            // Name the outermost elements that stick out, so the failure points at a template.
            let culprits: Value = self
                .client
                .execute(
                    "var width = window.innerWidth, found = [];
                     document.querySelectorAll('body *').forEach(function (el) {
                       var box = el.getBoundingClientRect();
                       if (box.right > width + 0.5 && !(el.parentElement &&
                           el.parentElement.getBoundingClientRect().right > width + 0.5)) {
                         found.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                           (el.className && typeof el.className === 'string'
                             ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
                           ' (' + Math.round(box.right) + ' px)');
                       }
                     });
                     return found.slice(0, 5);",
                    vec![],
                )
                .await
                .unwrap_or(Value::Null);
            bail!(
                "{url} scrolls sideways at {inner} px: the document is {scroll} px wide; \
                 sticking out: {culprits}"
            );
        }
        Ok(())
    }

    /// The element, waited for.
    pub async fn find(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("no element {css}"))
    }

    /// Whether an element is on the page now.
    pub async fn has(&self, css: &str) -> anyhow::Result<bool> {
        Ok(!self.client.find_all(Locator::Css(css)).await?.is_empty())
    }

    /// The visible text of an element.
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        Ok(self.find(css).await?.text().await?)
    }

    /// The current value of a form field.
    pub async fn value(&self, css: &str) -> anyhow::Result<String> {
        Ok(self
            .find(css)
            .await?
            .prop("value")
            .await?
            .unwrap_or_default())
    }

    /// Clears a field and types into it, as a person would (key events, input events).
    pub async fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let field = self.find(css).await?;
        field.clear().await?;
        field.send_keys(text).await?;
        Ok(())
    }

    /// Clicks an element and, when that loads a page, checks the new page.
    pub async fn click_and_check(&self, css: &str) -> anyhow::Result<()> {
        self.click(css).await?;
        self.check_page().await
    }

    /// Clicks an element; waits for the page that follows when it is a form's button.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let marker: Value = json!(Uuid::new_v4().to_string());
        self.client
            .execute(
                "window.__before_click = arguments[0];",
                vec![marker.clone()],
            )
            .await?;
        self.find(css).await?.click().await?;
        // A new document has no marker: wait until it is there and loaded.
        self.wait_until(&format!("the page after clicking {css}"), || async {
            let state: Value = self
                .client
                .execute(
                    "return [window.__before_click || null, document.readyState];",
                    vec![],
                )
                .await?;
            Ok(state[0] != marker && state[1] == "complete")
        })
        .await
    }

    /// Polls `ready` until it holds.
    pub async fn wait_until<F, Fut>(&self, what: &str, mut ready: F) -> anyhow::Result<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = anyhow::Result<bool>>,
    {
        let started = Instant::now();
        loop {
            if ready().await? {
                return Ok(());
            }
            if started.elapsed() > PATIENCE {
                bail!("waited {} s for {what}", PATIENCE.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Reloads the page and checks it.
    pub async fn reload(&self) -> anyhow::Result<()> {
        self.client.refresh().await?;
        self.check_page().await
    }

    /// A file that arrived in the download directory, complete, and not one of `seen`.
    pub async fn downloaded(&self, seen: &[PathBuf]) -> anyhow::Result<PathBuf> {
        let started = Instant::now();
        loop {
            let mut complete = Vec::new();
            let mut partial = false;
            for entry in std::fs::read_dir(&self.downloads)? {
                let path = entry?.path();
                let name = entry_name(&path);
                // Chromium writes `.org.chromium.Chromium.*` and `*.crdownload` while it downloads.
                if name.ends_with(".crdownload") || name.starts_with('.') {
                    partial = true;
                } else if !seen.contains(&path) {
                    complete.push(path);
                }
            }
            if let (Some(path), false) = (complete.pop(), partial) {
                return Ok(path);
            }
            if started.elapsed() > PATIENCE {
                bail!("no download arrived in {}", self.downloads.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
