//! Notifications (issue 18 part B): events written with the change, in-app list and choices,
//! mails through a real SMTP server on loopback (a minimal one below, speaking SMTP over TCP),
//! two senders on one database, a sender that dies after claiming, a server that refuses,
//! SMTP authentication from a password file, reminders scheduled once (to heads and the
//! assignees of unfinished goals), daily digests at each user's local morning, the outbox
//! retention.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use pledge::notify::sender;
use pledge::notify::settings::{MailSettings, Smtp, SmtpSecurity};
use pledge::storage::{self, Scope};
use serde_json::json;
use sqlx::Connection;
use uuid::Uuid;

use crate::support::{TestApp, TestUser, body_json, body_text, enc};

/// A mail as the SMTP server received it.
#[derive(Debug, Clone)]
struct Received {
    to: Vec<String>,
    /// The message as sent (headers and encoded body).
    data: String,
}

impl Received {
    fn header(&self, name: &str) -> String {
        let (head, _) = self.data.split_once("\r\n\r\n").unwrap_or((&self.data, ""));
        // Unfold continuation lines, then find the header.
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded
            .lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_default()
    }

    /// The subject, its encoded words decoded.
    fn subject(&self) -> String {
        decode_words(&self.header("Subject"))
    }

    /// The body, its transfer encoding decoded.
    fn body(&self) -> String {
        let (_, body) = self.data.split_once("\r\n\r\n").unwrap_or(("", ""));
        match self
            .header("Content-Transfer-Encoding")
            .to_ascii_lowercase()
            .as_str()
        {
            "base64" => String::from_utf8(base64(&body.replace("\r\n", ""))).unwrap(),
            "quoted-printable" => quoted_printable(body),
            _ => body.to_owned(),
        }
    }
}

fn base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut bits, mut count) = (0u32, 0);
    for c in text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
    {
        let value = ALPHABET.iter().position(|a| *a == c).expect("base64") as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

fn quoted_printable(text: &str) -> String {
    let text = text.replace("=\r\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`).
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut previous_encoded = false;
    for word in value.split_whitespace() {
        let decoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut parts = w.splitn(3, '?');
                let (_, encoding, text) = (parts.next()?, parts.next()?, parts.next()?);
                Some(match encoding {
                    "b" | "B" => String::from_utf8(base64(text)).ok()?,
                    _ => quoted_printable(&text.replace('_', " ")),
                })
            });
        // Whitespace between two encoded words is not part of the text (RFC 2047).
        let joined = previous_encoded && decoded.is_some();
        if !out.is_empty() && !joined {
            out.push(' ');
        }
        previous_encoded = decoded.is_some();
        out.push_str(decoded.as_deref().unwrap_or(word));
    }
    out
}

/// A minimal SMTP server on loopback that stores what it receives, or refuses every mail.
struct SmtpServer {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    /// `MAIL FROM` commands seen (attempts, accepted or not).
    attempts: Arc<Mutex<usize>>,
    /// `AUTH PLAIN` credentials offered, decoded (`user:password`), accepted or not.
    auths: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

/// The account the test server accepts in `AUTH PLAIN`.
const SMTP_USER: &str = "pledge-sender";
const SMTP_PASSWORD: &str = "harbour violet 47";

impl SmtpServer {
    async fn start(refuse: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let attempts = Arc::new(Mutex::new(0));
        let auths = Arc::new(Mutex::new(Vec::new()));
        let (r, a, au) = (received.clone(), attempts.clone(), auths.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (r, a, au) = (r.clone(), a.clone(), au.clone());
                tokio::spawn(async move {
                    let _ = Self::session(stream, r, a, au, refuse).await;
                });
            }
        });
        Self {
            addr,
            received,
            attempts,
            auths,
            task,
        }
    }

    async fn session(
        stream: tokio::net::TcpStream,
        received: Arc<Mutex<Vec<Received>>>,
        attempts: Arc<Mutex<usize>>,
        auths: Arc<Mutex<Vec<String>>>,
        refuse: bool,
    ) -> std::io::Result<()> {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let (reader, mut writer) = stream.into_split();
        let mut reader = BufReader::new(reader);
        writer.write_all(b"220 smtp.test ESMTP ready\r\n").await?;
        let mut to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.to_ascii_uppercase();
            let address = || {
                line.split_once('<')
                    .and_then(|(_, rest)| rest.split_once('>'))
                    .map(|(a, _)| a.to_owned())
                    .unwrap_or_default()
            };
            let reply: &[u8] = if command.starts_with("EHLO") {
                b"250-smtp.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n"
            } else if command.starts_with("AUTH PLAIN ") {
                // "\0user\0password", base64: only SMTP_USER with SMTP_PASSWORD gets in.
                let offered = String::from_utf8_lossy(&base64(line[11..].trim())).into_owned();
                let mut parts = offered.split('\0').skip(1);
                let (user, password) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                auths.lock().unwrap().push(format!("{user}:{password}"));
                if (user, password) == (SMTP_USER, SMTP_PASSWORD) {
                    b"235 2.7.0 Authentication successful\r\n"
                } else {
                    b"535 5.7.8 Authentication credentials invalid\r\n"
                }
            } else if command.starts_with("MAIL FROM:") {
                *attempts.lock().unwrap() += 1;
                to.clear();
                if refuse {
                    b"550 5.7.1 refused by the test server\r\n"
                } else {
                    b"250 OK\r\n"
                }
            } else if command.starts_with("RCPT TO:") {
                to.push(address());
                b"250 OK\r\n"
            } else if command.starts_with("DATA") {
                writer.write_all(b"354 go ahead\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                received.lock().unwrap().push(Received {
                    to: std::mem::take(&mut to),
                    data,
                });
                b"250 OK queued\r\n"
            } else if command.starts_with("QUIT") {
                writer.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                b"250 OK\r\n"
            };
            writer.write_all(reply).await?;
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn to(&self, address: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .collect()
    }

    /// Mail settings that send to this server (plain SMTP on loopback, retries at once).
    fn settings(&self) -> MailSettings {
        let mut settings = MailSettings::without_smtp("https://pledge.test.example/");
        settings.smtp = Some(Smtp {
            host: self.addr.ip().to_string(),
            port: self.addr.port(),
            security: SmtpSecurity::Plain,
            credentials: None,
            timeout: Duration::from_secs(10),
        });
        settings.from = "Pledge Tracker <pledge@test.example>".to_owned();
        settings.retry_base = Duration::ZERO;
        settings.max_attempts = 3;
        settings
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn set_language(app: &TestApp, user: &TestUser, lang: &str) {
    let mut owner = app.db.owner().await;
    sqlx::query("UPDATE users SET preferred_language = $2 WHERE id = $1")
        .bind(user.id)
        .bind(lang)
        .execute(&mut owner)
        .await
        .unwrap();
}

/// An open GCI cycle (deadline 2099-12-31) with FRA's five answers saved by its head.
struct Scene {
    admin: TestUser,
    head: TestUser,
    contributor: TestUser,
    viewer: TestUser,
    assessment: String,
    cycle: String,
}

async fn scene(app: &TestApp) -> Scene {
    let (admin, cycle, assessment) = crate::assessments::open_gci_cycle(app).await;
    let head = app.user("head", Some("FRA")).await;
    let contributor = app.user("contributor", Some("FRA")).await;
    let viewer = app.user("viewer", Some("FRA")).await;
    for goal in [
        "legal",
        "technical",
        "organizational",
        "capacity_development",
        "cooperation",
    ] {
        let mut put = head.api(
            "PUT",
            &format!("/api/v1/assessments/{assessment}/answers/{goal}"),
            Some(json!({"value": "10", "narrative": format!("Secret narrative of {goal}")})),
        );
        put.headers_mut()
            .insert("if-match", "\"0\"".parse().unwrap());
        assert!(app.request(put).await.status().is_success());
    }
    Scene {
        admin,
        head,
        contributor,
        viewer,
        assessment,
        cycle,
    }
}

async fn submit(app: &TestApp, s: &Scene) {
    let response = app
        .request(
            s.head
                .post_form(&format!("/assessments/{}/submit", s.assessment), ""),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

async fn notifications_of(app: &TestApp, user: &TestUser) -> serde_json::Value {
    body_json(
        app.request(user.api("GET", "/api/v1/notifications", None))
            .await,
    )
    .await
}

fn subjects(list: &serde_json::Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["subject"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn workflow_and_clarifications_notify_the_right_people_in_their_language_with_the_change() {
    let app = TestApp::spawn().await;
    let s = scene(&app).await;
    set_language(&app, &s.head, "fr").await;

    submit(&app, &s).await;
    let admin_list = notifications_of(&app, &s.admin).await;
    assert_eq!(
        subjects(&admin_list),
        vec!["FRA 2026: submission received (revision 1)"]
    );
    assert_eq!(admin_list["unread"], 1);
    assert_eq!(
        notifications_of(&app, &s.head).await["unread"],
        0,
        "the head who submitted is not told of their own act"
    );

    // A return carries its reason, in each reader's language; viewers and the admin who acted
    // are not told.
    let returned = app
        .request(s.admin.api(
            "POST",
            &format!("/api/v1/assessments/{}/return", s.assessment),
            Some(json!({"reason": "Justify the legal measures", "notes": [{"goal": "legal", "note": "Which law?"}]})),
        ))
        .await;
    assert!(returned.status().is_success(), "{}", returned.status());
    let head_list = notifications_of(&app, &s.head).await;
    assert_eq!(
        subjects(&head_list),
        vec!["FRA 2026 : l’évaluation a été renvoyée"]
    );
    let body = head_list["items"][0]["body"].as_str().unwrap();
    assert!(body.contains("Justify the legal measures") && !body.contains("Which law?"));
    assert_eq!(
        head_list["items"][0]["link"],
        format!("/assessments/{}", s.assessment)
    );
    assert_eq!(
        subjects(&notifications_of(&app, &s.contributor).await),
        vec!["FRA 2026: the assessment was returned"]
    );
    assert_eq!(notifications_of(&app, &s.viewer).await["unread"], 0);
    assert_eq!(notifications_of(&app, &s.admin).await["unread"], 1);

    // Clarifications: raised → the delegation; answered → whoever asked; resolved → the
    // delegation. The question and the reply never appear in a notice.
    let raised = body_json(
        app.request(s.admin.api(
            "POST",
            &format!("/api/v1/assessments/{}/clarifications", s.assessment),
            Some(json!({"goal": "technical", "question": "Confidential question"})),
        ))
        .await,
    )
    .await;
    let clarification = raised["id"].as_str().unwrap().to_owned();
    assert!(
        subjects(&notifications_of(&app, &s.contributor).await)
            .contains(&"FRA 2026: clarification requested on goal technical".to_owned())
    );
    let reply = app
        .request(s.contributor.api(
            "POST",
            &format!("/api/v1/clarifications/{clarification}/messages"),
            Some(json!({"body": "Confidential reply"})),
        ))
        .await;
    assert!(reply.status().is_success());
    assert!(
        subjects(&notifications_of(&app, &s.admin).await)
            .contains(&"FRA 2026: reply on goal technical".to_owned())
    );
    let resolve = app
        .request(s.admin.api(
            "POST",
            &format!("/api/v1/clarifications/{clarification}/resolve"),
            None,
        ))
        .await;
    assert!(resolve.status().is_success());
    assert!(
        subjects(&notifications_of(&app, &s.head).await)
            .contains(&"FRA 2026 : demande de précision sur l’objectif technical close".to_owned())
    );
    let texts = app
        .count(
            "SELECT count(*) FROM notifications
             WHERE body ~ 'Confidential|Secret narrative|Which law' OR subject ~ 'Confidential|Secret'",
        )
        .await;
    assert_eq!(
        texts, 0,
        "no answer, note, question or reply text in a notice"
    );

    // The layout shows the unread count; marking read empties it.
    let page = body_text(app.request(s.head.get("/cycles")).await).await;
    // The return, the request and its resolution (not the contributor's reply).
    assert!(page.contains(r#"<span class="unread-count">3"#), "{page}");
    let list = body_text(app.request(s.head.get("/notifications")).await).await;
    assert!(list.contains("l’évaluation a été renvoyée"));
    let first = head_list["items"][0]["id"].as_str().unwrap().to_owned();
    let read = app
        .request(
            s.head
                .post_form(&format!("/notifications/{first}/read"), ""),
        )
        .await;
    assert_eq!(read.status(), StatusCode::SEE_OTHER);
    assert_eq!(notifications_of(&app, &s.head).await["unread"], 2);
    // Another user's notification is not theirs to mark (404), and stays unread.
    let admins = notifications_of(&app, &s.admin).await;
    let admin_first = admins["items"][0]["id"].as_str().unwrap().to_owned();
    let foreign = app
        .request(
            s.head
                .post_form(&format!("/notifications/{admin_first}/read"), ""),
        )
        .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        notifications_of(&app, &s.admin).await["unread"],
        admins["unread"]
    );
    let all = app
        .request(s.head.post_form("/notifications/read", ""))
        .await;
    assert_eq!(all.status(), StatusCode::SEE_OTHER);
    assert_eq!(notifications_of(&app, &s.head).await["unread"], 0);
    let page = body_text(app.request(s.head.get("/cycles")).await).await;
    assert!(!page.contains("unread-count"));
    let _ = s.cycle;
}

#[tokio::test]
async fn mails_reach_a_real_smtp_server_with_recipients_language_subject_and_links_and_no_answer_text()
 {
    let app = TestApp::spawn().await;
    let server = SmtpServer::start(false).await;
    let s = scene(&app).await;
    set_language(&app, &s.head, "fr").await;
    submit(&app, &s).await;
    let returned = app
        .request(s.admin.api(
            "POST",
            &format!("/api/v1/assessments/{}/return", s.assessment),
            Some(json!({"reason": "Justify the legal measures"})),
        ))
        .await;
    assert!(returned.status().is_success());

    let pass = sender::send_due(&app.state.db, &server.settings(), Uuid::new_v4())
        .await
        .unwrap();
    assert_eq!(
        pass.sent, 3,
        "admin (submission), head and contributor (return)"
    );
    let to_admin = server.to(&s.admin.email);
    assert_eq!(to_admin.len(), 1);
    assert_eq!(
        to_admin[0].subject(),
        "FRA 2026: submission received (revision 1)"
    );
    let to_head = server.to(&s.head.email);
    assert_eq!(to_head.len(), 1);
    assert_eq!(
        to_head[0].subject(),
        "FRA 2026 : l’évaluation a été renvoyée"
    );
    assert_eq!(to_head[0].header("Content-Language"), "fr");
    let body = to_head[0].body();
    assert!(
        body.contains("Motif : Justify the legal measures"),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "https://pledge.test.example/assessments/{}",
            s.assessment
        )),
        "{body}"
    );
    assert!(body.contains("https://pledge.test.example/notifications/preferences"));
    let to_contributor = server.to(&s.contributor.email);
    assert_eq!(
        to_contributor[0].subject(),
        "FRA 2026: the assessment was returned"
    );
    assert_eq!(to_contributor[0].header("Content-Language"), "en");
    assert!(server.to(&s.viewer.email).is_empty());
    for mail in server.received() {
        assert!(!mail.body().contains("Secret narrative"));
        assert_eq!(mail.to.len(), 1, "one recipient per mail");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM mail_outbox WHERE status = 'sent' AND sent_at IS NOT NULL")
            .await,
        3
    );
    // Nothing is due any more: a second pass sends nothing.
    let again = sender::send_due(&app.state.db, &server.settings(), Uuid::new_v4())
        .await
        .unwrap();
    assert_eq!(again.sent, 0);
    assert_eq!(server.received().len(), 3);
}

async fn fill_outbox(app: &TestApp, count: i32) {
    let mut owner = app.db.owner().await;
    sqlx::query(
        "INSERT INTO mail_outbox (recipient, language, kind, subject, body, link)
         SELECT 'user' || g || '@test.example', 'en', 'assessment_accepted', 'Mail ' || g, 'Body', '/'
         FROM generate_series(1, $1) g",
    )
    .bind(count)
    .execute(&mut owner)
    .await
    .unwrap();
}

#[tokio::test]
async fn two_sender_loops_on_one_database_never_send_a_mail_twice() {
    let app = TestApp::spawn().await;
    let server = SmtpServer::start(false).await;
    fill_outbox(&app, 60).await;
    let mut settings = server.settings();
    settings.batch = 4;
    let settings = Arc::new(settings);
    // Two "processes": each its own pool and its own worker id, at the same time.
    let (pool_a, pool_b) = (app.db.app_pool().await, app.db.app_pool().await);
    let (sa, sb) = (settings.clone(), settings.clone());
    let a = tokio::spawn(async move { sender::send_due(&pool_a, &sa, Uuid::new_v4()).await });
    let b = tokio::spawn(async move { sender::send_due(&pool_b, &sb, Uuid::new_v4()).await });
    let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
    assert_eq!(a.sent + b.sent, 60);
    assert!(
        a.sent > 0 && b.sent > 0,
        "both loops took part: {a:?} {b:?}"
    );
    let mut subjects: Vec<String> = server.received().iter().map(Received::subject).collect();
    assert_eq!(subjects.len(), 60, "each mail once");
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 60, "no mail twice");
    assert_eq!(
        app.count("SELECT count(*) FROM mail_outbox WHERE status = 'sent' AND attempts = 1")
            .await,
        60
    );
}

#[tokio::test]
async fn a_claim_left_by_a_sender_that_died_expires_and_the_mail_is_sent_by_another() {
    let app = TestApp::spawn().await;
    let server = SmtpServer::start(false).await;
    fill_outbox(&app, 1).await;
    let mut settings = server.settings();
    settings.claim_lease = Duration::from_secs(1);
    // The first sender claims, then "dies" before sending.
    let dead = Uuid::new_v4();
    let claimed = sender::claim(&app.state.db, &settings, dead).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let other = Uuid::new_v4();
    let during = sender::send_due(&app.state.db, &settings, other)
        .await
        .unwrap();
    assert_eq!(during.sent, 0, "a live claim is not taken");
    assert!(server.received().is_empty());
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let after = sender::send_due(&app.state.db, &settings, other)
        .await
        .unwrap();
    assert_eq!(after.sent, 1, "the expired claim is taken again");
    assert_eq!(server.received().len(), 1);
    assert_eq!(
        app.count("SELECT count(*) FROM mail_outbox WHERE status = 'sent' AND attempts = 2")
            .await,
        1
    );
    // The dead sender's late outcome no longer applies: its claim is gone.
    let mut tx = storage::begin(&app.state.db, &Scope::System).await.unwrap();
    let late = pledge::storage::notifications::mark_failed(
        &mut tx,
        dead,
        &[claimed[0].id],
        "late",
        Duration::ZERO,
        3,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(late, 0);
}

#[tokio::test]
async fn a_server_that_refuses_is_retried_with_backoff_then_the_mail_is_recorded_as_failed() {
    let app = TestApp::spawn().await;
    let server = SmtpServer::start(true).await;
    fill_outbox(&app, 1).await;
    let mut settings = server.settings();
    // Backoff: the first retry waits a little; the pass stops when nothing is due.
    settings.retry_base = Duration::from_millis(300);
    let worker = Uuid::new_v4();
    let first = sender::send_due(&app.state.db, &settings, worker)
        .await
        .unwrap();
    assert_eq!((first.sent, first.failed), (0, 1));
    assert_eq!(
        app.count(
            "SELECT count(*) FROM mail_outbox WHERE status = 'pending' AND attempts = 1
               AND not_before > now() AND last_error LIKE '%refused by the test server%'"
        )
        .await,
        1,
        "waiting for its retry, with the server's answer"
    );
    let mut passes = 0;
    while app
        .count("SELECT count(*) FROM mail_outbox WHERE status = 'pending'")
        .await
        > 0
    {
        tokio::time::sleep(Duration::from_millis(350)).await;
        sender::send_due(&app.state.db, &settings, worker)
            .await
            .unwrap();
        passes += 1;
        assert!(passes < 20, "never gave up");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM mail_outbox WHERE status = 'failed' AND attempts = 3")
            .await,
        1
    );
    assert_eq!(
        *server.attempts.lock().unwrap(),
        3,
        "three attempts, then none"
    );
    assert!(server.received().is_empty());
    // Admins see it on the outbox page.
    let admin = app.user("admin", None).await;
    let page = body_text(app.request(admin.get("/admin/outbox")).await).await;
    assert!(page.contains("Failed") && page.contains("user1@test.example"));
}

#[tokio::test]
async fn with_a_user_and_a_password_file_the_sender_authenticates_and_a_wrong_password_fails() {
    let app = TestApp::spawn().await;
    let server = SmtpServer::start(false).await;
    let dir = tempfile::tempdir().unwrap();
    // The settings as `pledge serve` reads them from its options.
    let settings = |password: &str| {
        let file = dir.path().join(format!("password-{}", password.len()));
        std::fs::write(&file, format!("{password}\nignored second line\n")).unwrap();
        let args = pledge::notify::settings::MailArgs {
            smtp_host: Some(server.addr.ip().to_string()),
            smtp_port: Some(server.addr.port()),
            smtp_security: SmtpSecurity::Plain,
            smtp_username: Some(SMTP_USER.to_owned()),
            smtp_password_file: Some(file),
            mail_from: Some("Pledge Tracker <pledge@test.example>".to_owned()),
            reminder_days: vec![14, 7, 1],
            mail_max_attempts: 1,
            mail_retention_days: 90,
        };
        let mut settings =
            MailSettings::from_args(&args, "https://pledge.test.example/").expect("settings");
        settings.retry_base = Duration::ZERO;
        settings
    };
    fill_outbox(&app, 1).await;
    let pass = sender::send_due(&app.state.db, &settings(SMTP_PASSWORD), Uuid::new_v4())
        .await
        .unwrap();
    assert_eq!(pass.sent, 1);
    assert_eq!(
        server.auths.lock().unwrap().clone(),
        vec![format!("{SMTP_USER}:{SMTP_PASSWORD}")],
        "the first line of the password file, in AUTH PLAIN"
    );
    assert_eq!(server.received().len(), 1);

    fill_outbox(&app, 1).await;
    let pass = sender::send_due(&app.state.db, &settings("wrong password"), Uuid::new_v4())
        .await
        .unwrap();
    assert_eq!((pass.sent, pass.failed), (0, 1));
    assert_eq!(
        server.received().len(),
        1,
        "nothing sent without signing in"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM mail_outbox WHERE status = 'failed'
               AND last_error LIKE '%Authentication credentials invalid%'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn reminders_are_scheduled_once_per_offset_even_by_two_passes_at_once_and_overdue_goes_to_the_secretariat()
 {
    let app = TestApp::spawn().await;
    let s = scene(&app).await;
    let deadline = time::macros::date!(2099 - 12 - 31);
    let days = [14, 7, 1];
    let run = |today: time::Date| {
        let pool = app.state.db.clone();
        async move {
            pledge::notify::schedule::run(&pool, today, &days)
                .await
                .unwrap()
        }
    };
    assert_eq!(run(deadline - time::Duration::days(20)).await.reminders, 0);
    let first = run(deadline - time::Duration::days(10)).await;
    let participants = app
        .count(&format!(
            "SELECT count(*) FROM assessments WHERE cycle_id = '{}'",
            s.cycle
        ))
        .await;
    assert_eq!(
        first.reminders as i64, participants,
        "one per unfinished assessment"
    );
    assert_eq!(run(deadline - time::Duration::days(9)).await.reminders, 0);
    let head = subjects(&notifications_of(&app, &s.head).await);
    assert_eq!(head, vec!["FRA 2026: the deadline is 31 December 2099"]);
    let body = notifications_of(&app, &s.head).await["items"][0]["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(body.contains("10 day(s) left"), "{body}");
    assert_eq!(notifications_of(&app, &s.contributor).await["unread"], 1);
    assert_eq!(notifications_of(&app, &s.viewer).await["unread"], 0);

    // Two passes at once on the 7-day mark: one schedules, the other finds the keys taken.
    let day = deadline - time::Duration::days(6);
    let (a, b) = tokio::join!(run(day), run(day));
    assert_eq!(a.reminders + b.reminders, first.reminders);
    assert_eq!(notifications_of(&app, &s.head).await["unread"], 2);

    // FRA submits: no more reminders for it; the others get the 1-day one.
    submit(&app, &s).await;
    let last = run(deadline).await;
    assert_eq!(last.reminders, first.reminders - 1);
    assert_eq!(notifications_of(&app, &s.head).await["unread"], 2);

    // After the deadline: one overdue notice per cycle to the secretariat, once.
    let overdue = run(deadline + time::Duration::days(1)).await;
    assert_eq!(overdue.overdue_cycles, 1);
    assert_eq!(
        run(deadline + time::Duration::days(2)).await.overdue_cycles,
        0
    );
    let admin = notifications_of(&app, &s.admin).await;
    let notice = admin["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "deadline_overdue")
        .expect("overdue notice");
    assert_eq!(
        notice["subject"],
        format!("2026: {} assessment(s) overdue", participants - 1)
    );
    assert!(!notice["body"].as_str().unwrap().contains("FRA"));
    assert_eq!(notice["link"], format!("/cycles/{}", s.cycle));
    assert_eq!(
        app.count("SELECT count(*) FROM scheduled_notices WHERE notice = 'reminder'")
            .await,
        first.reminders as i64 * 3 - 1
    );
}

async fn save_answer(app: &TestApp, user: &TestUser, assessment: &str, goal: &str, version: u32) {
    let mut put = user.api(
        "PUT",
        &format!("/api/v1/assessments/{assessment}/answers/{goal}"),
        Some(json!({"value": "10", "narrative": format!("Secret narrative of {goal}")})),
    );
    put.headers_mut()
        .insert("if-match", format!("\"{version}\"").parse().unwrap());
    let response = app.request(put).await;
    assert!(response.status().is_success(), "{}", response.status());
}

#[tokio::test]
async fn assignees_of_unfinished_goals_are_reminded_of_those_goals_once_per_offset_by_mail() {
    let app = TestApp::spawn().await;
    let server = SmtpServer::start(false).await;
    let (_admin, _cycle, assessment) = crate::assessments::open_gci_cycle(&app).await;
    let head = app.user("head", Some("FRA")).await;
    let alice = app.user("contributor", Some("FRA")).await;
    let bob = app.user("contributor", Some("FRA")).await;
    let carol = app.user("contributor", Some("FRA")).await;
    let viewer = app.user("viewer", Some("FRA")).await;
    // DEU assigns nothing: its head and contributor are reminded of the whole assessment.
    let deu_head = app.user("head", Some("DEU")).await;
    let deu_contributor = app.user("contributor", Some("DEU")).await;
    set_language(&app, &alice, "fr").await;
    save_answer(&app, &head, &assessment, "legal", 0).await;
    save_answer(&app, &head, &assessment, "technical", 0).await;
    for (member, what) in [
        (
            alice.id,
            "goal=legal&goal=organizational&goal=capacity_development",
        ),
        (bob.id, "goal=technical"),
        (head.id, "goal=cooperation"),
    ] {
        let response = app
            .request(head.post_form(
                &format!("/assessments/{assessment}/assignments"),
                &format!("member={member}&{what}"),
            ))
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    let reminders = |user: &TestUser| {
        let app = &app;
        let user = user.id;
        async move {
            app.count(&format!(
                "SELECT count(*) FROM notifications WHERE user_id = '{user}' AND kind = 'deadline_reminder'"
            ))
            .await
        }
    };
    let deadline = time::macros::date!(2099 - 12 - 31);
    let run = |today: time::Date| {
        let pool = app.state.db.clone();
        async move {
            pledge::notify::schedule::run(&pool, today, &[14, 7, 1])
                .await
                .unwrap()
        }
    };
    run(deadline - time::Duration::days(10)).await;
    assert_eq!(run(deadline - time::Duration::days(10)).await.reminders, 0);
    assert_eq!(
        reminders(&alice).await,
        1,
        "an assignee of unfinished goals"
    );
    assert_eq!(reminders(&head).await, 1, "the head, once");
    assert_eq!(reminders(&bob).await, 0, "his only goal is answered");
    assert_eq!(reminders(&carol).await, 0, "the work is assigned to others");
    assert_eq!(reminders(&viewer).await, 0);
    assert_eq!(reminders(&deu_head).await, 1);
    assert_eq!(
        reminders(&deu_contributor).await,
        1,
        "nothing assigned in DEU"
    );

    sender::send_due(&app.state.db, &server.settings(), Uuid::new_v4())
        .await
        .unwrap();
    // The assignment itself was told too (goal_assigned); here, the reminders.
    let reminded = |address: &str| -> Vec<Received> {
        server
            .to(address)
            .into_iter()
            .filter(|m| m.subject().contains("2099"))
            .collect()
    };
    let mails = reminded(&alice.email);
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].subject(),
        "FRA 2026 : 2 objectif(s) qui vous sont attribués à terminer avant le 31 décembre 2099"
    );
    let body = mails[0].body();
    assert!(
        body.contains("organizational, capacity_development") && !body.contains("legal"),
        "names the unfinished goals only, in the framework's order: {body}"
    );
    assert!(body.contains("il reste 10 jour(s)"), "{body}");
    assert!(
        body.contains(&format!(
            "https://pledge.test.example/assessments/{assessment}?mine=1"
        )),
        "{body}"
    );
    assert!(!body.contains("Secret narrative"));
    let head_mail = reminded(&head.email);
    assert_eq!(head_mail.len(), 1, "one reminder per person");
    assert_eq!(
        head_mail[0].subject(),
        "FRA 2026: 1 goal(s) assigned to you are due on 31 December 2099"
    );
    assert!(head_mail[0].body().contains(": cooperation."));
    let deu = reminded(&deu_contributor.email);
    assert_eq!(deu.len(), 1);
    assert_eq!(
        deu[0].subject(),
        "DEU 2026: the deadline is 31 December 2099"
    );

    // Two passes at once on the 7-day mark: each person once more.
    let day = deadline - time::Duration::days(6);
    let (a, b) = tokio::join!(run(day), run(day));
    assert!(a.reminders == 0 || b.reminders == 0);
    assert_eq!(reminders(&alice).await, 2);
    assert_eq!(reminders(&head).await, 2);

    // Alice finishes her goals: at the 1-day mark she is not reminded, the head still is.
    save_answer(&app, &alice, &assessment, "organizational", 0).await;
    save_answer(&app, &alice, &assessment, "capacity_development", 0).await;
    run(deadline).await;
    assert_eq!(reminders(&alice).await, 2);
    assert_eq!(reminders(&head).await, 3);
    assert_eq!(reminders(&bob).await, 0);
    assert_eq!(reminders(&deu_contributor).await, 3);
}

#[tokio::test]
async fn each_user_chooses_per_kind_and_security_notices_cannot_be_turned_off() {
    let app = TestApp::spawn().await;
    let s = scene(&app).await;
    let page = body_text(app.request(s.head.get("/notifications/preferences")).await).await;
    assert!(page.contains(r#"name="kind.deadline_reminder" value="immediately" checked"#));
    let refused = app
        .request(s.head.post_form(
            "/notifications/preferences",
            "kind.deadline_reminder=digest&kind.security.password_changed=off",
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body_text(refused).await;
    assert!(page.contains("error-summary"));
    assert!(
        page.contains(r#"name="kind.deadline_reminder" value="digest" checked"#),
        "the choice made is kept"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM notification_preferences")
            .await,
        0
    );
    let saved = app
        .request(s.head.post_form(
            "/notifications/preferences",
            &format!(
                "kind.deadline_reminder=digest&kind.assessment_returned=off&kind.assessment_accepted={}",
                enc("immediately")
            ),
        ))
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'notification.preferences'")
            .await,
        1
    );

    submit(&app, &s).await;
    let returned = app
        .request(s.admin.api(
            "POST",
            &format!("/api/v1/assessments/{}/return", s.assessment),
            Some(json!({"reason": "Again"})),
        ))
        .await;
    assert!(returned.status().is_success());
    let head_mails = |extra: &'static str| {
        let head = s.head.id;
        let app = &app;
        async move {
            app.count(&format!(
                "SELECT count(*) FROM mail_outbox WHERE user_id = '{head}' {extra}"
            ))
            .await
        }
    };
    assert_eq!(
        notifications_of(&app, &s.head).await["unread"],
        1,
        "off: still in the list"
    );
    assert_eq!(head_mails("").await, 0, "off: no mail");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM mail_outbox WHERE user_id = '{}'",
            s.contributor.id
        ))
        .await,
        1,
        "the contributor's choice is their own"
    );
    pledge::notify::schedule::run(
        &app.state.db,
        time::macros::date!(2099 - 12 - 30),
        &[14, 7, 1],
    )
    .await
    .unwrap();
    assert_eq!(
        head_mails("AND digest AND status = 'held'").await,
        1,
        "digest: held for the next digest"
    );
}

async fn set_time_zone(app: &TestApp, user: &TestUser, zone: &str) {
    let mut owner = app.db.owner().await;
    sqlx::query("UPDATE users SET time_zone = $2 WHERE id = $1")
        .bind(user.id)
        .bind(zone)
        .execute(&mut owner)
        .await
        .unwrap();
}

/// A deadline reminder to each of `users`, written as the scheduler writes it.
async fn remind(app: &TestApp, participant: &str, users: &[&TestUser]) {
    let mut tx = storage::begin(&app.state.db, &Scope::System).await.unwrap();
    let recipients: Vec<pledge::notify::Recipient> = users
        .iter()
        .map(|u| pledge::notify::Recipient::User(u.id))
        .collect();
    pledge::notify::enqueue(
        &mut tx,
        &pledge::notify::Event::DeadlineReminder {
            assessment: Uuid::new_v4(),
            participant: participant.to_owned(),
            cycle: "2026".to_owned(),
            deadline: time::macros::date!(2026 - 02 - 01),
            days_left: 14,
            goals: vec![],
        },
        &recipients,
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn digests_go_out_at_each_users_own_local_morning_once_per_local_day() {
    let app = TestApp::spawn().await;
    let server = SmtpServer::start(false).await;
    let paris = app.user("contributor", Some("FRA")).await;
    let toronto = app.user("contributor", Some("DEU")).await;
    set_time_zone(&app, &paris, "Europe/Paris").await;
    set_time_zone(&app, &toronto, "America/Toronto").await;
    set_language(&app, &paris, "fr").await;
    for user in [&paris, &toronto] {
        let saved = app
            .request(user.post_form(
                "/notifications/preferences",
                "kind.deadline_reminder=digest",
            ))
            .await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    }
    remind(&app, "AAA", &[&paris, &toronto]).await;
    remind(&app, "BBB", &[&paris, &toronto]).await;
    assert_eq!(
        app.count("SELECT count(*) FROM mail_outbox WHERE status = 'held'")
            .await,
        4
    );
    let settings = server.settings();
    let send = || sender::send_due(&app.state.db, &settings, Uuid::new_v4());
    assert_eq!(
        send().await.unwrap().sent,
        0,
        "held notices are not sent alone"
    );
    let digest = |now: time::OffsetDateTime| {
        let pool = app.state.db.clone();
        async move {
            pledge::notify::digest::run(&pool, now, "https://pledge.test.example")
                .await
                .unwrap()
        }
    };
    use time::macros::datetime;

    // 04:30 UTC: 05:30 in Paris (not yet); in Toronto it is past 06:00 of the 14th. Two
    // passes at once (two processes) make one digest.
    let (a, b) = tokio::join!(
        digest(datetime!(2026-01-15 04:30 UTC)),
        digest(datetime!(2026-01-15 04:30 UTC))
    );
    assert_eq!((a.mails + b.mails, a.notices + b.notices), (1, 2));
    send().await.unwrap();
    assert_eq!(server.to(&paris.email).len(), 0);
    assert_eq!(server.to(&toronto.email).len(), 1);

    // 05:00 UTC: 06:00 in Paris.
    assert_eq!(digest(datetime!(2026-01-15 05:00 UTC)).await.mails, 1);
    assert_eq!(digest(datetime!(2026-01-15 05:05 UTC)).await.mails, 0);
    send().await.unwrap();
    let mails = server.to(&paris.email);
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject(), "Pledge Tracker : 2 avis aujourd’hui");
    let body = mails[0].body();
    assert!(
        body.contains("Votre récapitulatif quotidien de 2 avis"),
        "{body}"
    );
    assert!(
        body.contains("AAA 2026 : l’échéance est le 1er février 2026"),
        "{body}"
    );
    assert!(body.contains("BBB 2026"), "{body}");
    assert!(
        body.contains("https://pledge.test.example/assessments/"),
        "{body}"
    );
    assert!(
        body.contains("https://pledge.test.example/notifications"),
        "{body}"
    );

    // A notice later that day waits for the next local morning: Paris's is taken for the
    // 15th; Toronto's comes at 06:00 there (11:00 UTC), not at 10:00 UTC.
    remind(&app, "CCC", &[&paris, &toronto]).await;
    assert_eq!(digest(datetime!(2026-01-15 10:00 UTC)).await.mails, 0);
    assert_eq!(digest(datetime!(2026-01-15 11:00 UTC)).await.mails, 1);
    assert_eq!(digest(datetime!(2026-01-15 22:00 UTC)).await.mails, 0);
    assert_eq!(digest(datetime!(2026-01-16 05:00 UTC)).await.mails, 1);
    send().await.unwrap();
    let toronto_mails: Vec<String> = server
        .to(&toronto.email)
        .iter()
        .map(Received::subject)
        .collect();
    assert_eq!(
        toronto_mails,
        vec![
            "Pledge Tracker: 2 notice(s) today",
            "Pledge Tracker: 1 notice(s) today"
        ]
    );
    let paris_mails = server.to(&paris.email);
    assert_eq!(paris_mails.len(), 2);
    assert!(paris_mails[1].body().contains("CCC 2026"));
    assert!(!paris_mails[1].body().contains("AAA 2026"));
    assert_eq!(
        app.count("SELECT count(*) FROM mail_outbox WHERE status = 'digested'")
            .await,
        6
    );
    assert_eq!(
        app.count("SELECT count(*) FROM mail_digests").await,
        4,
        "one per user and local day"
    );
}

#[tokio::test]
async fn the_scheduler_purges_old_sent_and_failed_mails_in_batches_and_never_a_pending_one() {
    let app = TestApp::spawn().await;
    let mut owner = app.db.owner().await;
    // (status, age in days, count)
    for (status, days, count) in [
        ("sent", 100, 5),
        ("failed", 120, 3),
        ("digested", 95, 2),
        ("pending", 400, 4),
        ("held", 200, 2),
        ("sent", 10, 3),
    ] {
        sqlx::query(
            "INSERT INTO mail_outbox (recipient, language, kind, subject, body, link, digest,
                                      status, created_at)
             SELECT 'old@test.example', 'en', 'deadline_reminder', $1 || ' ' || g, 'Body',
                    '/notifications', $1 IN ('held', 'digested'), $1, now() - make_interval(days => $2)
             FROM generate_series(1, $3) g",
        )
        .bind(status)
        .bind(days)
        .bind(count)
        .execute(&mut owner)
        .await
        .unwrap();
    }
    let _ = owner.close().await;
    let left = || app.count("SELECT count(*) FROM mail_outbox");
    assert_eq!(left().await, 19);

    // The loop of `serve` purges with the configured retention (90 days by default).
    let mut settings = MailSettings::without_smtp("https://pledge.test.example/");
    settings.purge_batch = 2;
    settings.schedule_interval = Duration::from_millis(50);
    settings.poll_interval = Duration::from_millis(50);
    let task = tokio::spawn(sender::run(app.state.db.clone(), Arc::new(settings)));
    let started = std::time::Instant::now();
    while left().await > 9 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    task.abort();
    assert_eq!(
        left().await,
        9,
        "10 old sent, failed and digested mails deleted"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM mail_outbox WHERE status IN ('pending', 'held')")
            .await,
        6,
        "pending and held mails stay, however old"
    );

    // A shorter retention, in batches of 2: the recent sent ones go too.
    let deleted = pledge::notify::retention::purge(
        &app.state.db,
        time::OffsetDateTime::now_utc(),
        Duration::from_secs(5 * 86_400),
        2,
    )
    .await
    .unwrap();
    assert_eq!(deleted, 3);
    assert_eq!(left().await, 6);

    // Only the scheduler's scope deletes: a user's session cannot, even an admin's.
    let mut tx = storage::begin(&app.state.db, &Scope::System).await.unwrap();
    sqlx::query("SELECT set_config('pledge.role', 'admin', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let done = sqlx::query("DELETE FROM mail_outbox")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 0);
    tx.commit().await.unwrap();
    // And the scheduler's scope never deletes a pending mail, even asked directly.
    let mut tx = storage::begin(&app.state.db, &Scope::System).await.unwrap();
    let done = sqlx::query("DELETE FROM mail_outbox WHERE status = 'pending'")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 0);
    tx.commit().await.unwrap();
    assert_eq!(left().await, 6);
}

/// The `pledge_device` cookie a sign-in response sets.
fn device_cookie(response: &axum::http::Response<axum::body::Body>) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("pledge_device="))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
}

async fn sign_in(app: &TestApp, email: &str, device: Option<&str>) -> Option<String> {
    let mut request = crate::support::anonymous_form(
        "/signin",
        &format!(
            "email={}&password={}",
            enc(email),
            enc(crate::support::PASSWORD)
        ),
    );
    if let Some(device) = device {
        request
            .headers_mut()
            .insert("cookie", format!("pledge_device={device}").parse().unwrap());
    }
    let response = app.request(request).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    device_cookie(&response)
}

#[tokio::test]
async fn security_notices_are_mailed_at_once_and_a_known_browser_is_not_news() {
    let app = TestApp::spawn().await;
    let server = SmtpServer::start(false).await;
    let head = app.user("head", Some("FRA")).await;
    let admin = app.user("admin", None).await;
    let security = |kind: &'static str| {
        let app = &app;
        let user = head.id;
        async move {
            app.count(&format!(
                "SELECT count(*) FROM mail_outbox WHERE user_id = '{user}' AND kind = '{kind}' AND NOT digest"
            ))
            .await
        }
    };
    // The first browser is not news; another one is; the first one again is not.
    let first = sign_in(&app, &head.email, None)
        .await
        .expect("device cookie");
    assert_eq!(security("security.new_sign_in").await, 0);
    sign_in(&app, &head.email, None).await;
    assert_eq!(security("security.new_sign_in").await, 1);
    sign_in(&app, &head.email, Some(&first)).await;
    assert_eq!(security("security.new_sign_in").await, 1);

    // A password change and a second-factor reset are told to the account's owner.
    let changed = app
        .request(head.post_form(
            "/account/password",
            &format!(
                "current_password={}&new_password={}&confirm_password={}",
                enc(crate::support::PASSWORD),
                enc("violet harbour engine 47"),
                enc("violet harbour engine 47")
            ),
        ))
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(security("security.password_changed").await, 1);
    let reset = app
        .request(admin.post_form(&format!("/admin/users/{}/second-factor/reset", head.id), ""))
        .await;
    assert!(reset.status().is_redirection());
    assert_eq!(security("security.second_factor_reset").await, 1);

    sender::send_due(&app.state.db, &server.settings(), Uuid::new_v4())
        .await
        .unwrap();
    let mails = server.to(&head.email);
    let subjects: Vec<String> = mails.iter().map(Received::subject).collect();
    assert!(subjects.contains(&"New sign-in to your account".to_owned()));
    assert!(subjects.contains(&"Your password was changed".to_owned()));
    assert!(subjects.contains(&"Your second factor was reset".to_owned()));
    for mail in &mails {
        let body = mail.body();
        assert!(
            body.contains("https://pledge.test.example/account"),
            "{body}"
        );
        assert!(body.contains("Security notices are always sent"));
    }
}

/// The benchmark of reminder scheduling (bench/reminders.sh): 2,000 participants in an open
/// cycle, each with a head and a contributor holding two goals (one answered); one pass
/// schedules every reminder (the contributor's names the unfinished goal). Prints one
/// JSON line; asserts only the counts.
#[tokio::test]
#[ignore = "a benchmark: bash bench/reminders.sh"]
async fn bench_reminder_scheduling_for_2000_participants() {
    let app = TestApp::spawn().await;
    let mut owner = app.db.owner().await;
    // 2,000 participants in all: the seeded ones and made-up three-letter codes.
    sqlx::query(
        "INSERT INTO participants (code, name_en, name_fr, kind)
         SELECT code, code, code, 'partner'
         FROM (SELECT chr(65 + g / 676) || chr(65 + (g / 26) % 26) || chr(65 + g % 26) AS code
               FROM generate_series(0, 17575) g) c
         WHERE NOT EXISTS (SELECT 1 FROM participants p WHERE p.code = c.code)
         ORDER BY code DESC
         LIMIT 2000 - (SELECT count(*) FROM participants)",
    )
    .execute(&mut owner)
    .await
    .unwrap();
    let (_admin, cycle, _) = crate::assessments::open_gci_cycle(&app).await;
    let mut tx = owner.begin().await.unwrap();
    storage::set_scope(&mut tx, &Scope::System).await.unwrap();
    sqlx::query(
        "WITH made AS (
             INSERT INTO users (email, display_name, password_hash, must_change_password, role, preferred_language)
             SELECT lower(p.code) || '.' || r || '@bench.example', p.code || ' ' || r, 'x', false,
                    'delegation', CASE WHEN r = 'head' THEN 'fr' ELSE 'en' END
             FROM participants p CROSS JOIN (VALUES ('head'), ('contributor')) v(r)
             RETURNING id, email
         )
         INSERT INTO delegation_memberships (user_id, participant_id, delegation_role)
         SELECT m.id, p.id, split_part(split_part(m.email, '@', 1), '.', 2)
         FROM made m JOIN participants p ON lower(p.code) = split_part(m.email, '.', 1)",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    // Each contributor holds two goals, one answered: their reminder names the other.
    sqlx::query(
        "INSERT INTO goal_assignments (assessment_id, participant_id, goal_id, user_id)
         SELECT a.id, a.participant_id, g.id, m.user_id
         FROM assessments a
         JOIN delegation_memberships m ON m.participant_id = a.participant_id
             AND m.delegation_role = 'contributor'
         JOIN cycles c ON c.id = a.cycle_id
         JOIN goals g ON g.framework_id = c.framework_id AND g.code IN ('legal', 'technical')
         WHERE a.cycle_id = $1::uuid",
    )
    .bind(&cycle)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO answers (assessment_id, participant_id, goal_id, value_level)
         SELECT a.id, a.participant_id, g.id, 1 FROM assessments a JOIN cycles c ON c.id = a.cycle_id
         JOIN goals g ON g.framework_id = c.framework_id AND g.code = 'legal'
         WHERE a.cycle_id = $1::uuid",
    )
    .bind(&cycle)
    .execute(&mut *tx)
    .await
    .unwrap();
    // The heads chose daily digests of reminders, half of them in Paris, half in Auckland.
    sqlx::query(
        "WITH heads AS (
             UPDATE users u SET time_zone = CASE WHEN u.email < 'm' THEN 'Europe/Paris'
                                                 ELSE 'Pacific/Auckland' END
             FROM delegation_memberships m
             WHERE m.user_id = u.id AND m.delegation_role = 'head'
             RETURNING u.id)
         INSERT INTO notification_preferences (user_id, kind, delivery)
         SELECT id, 'deadline_reminder', 'digest' FROM heads",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let participants = app
        .count(&format!(
            "SELECT count(*) FROM assessments WHERE cycle_id = '{cycle}'"
        ))
        .await;
    let today = time::macros::date!(2099 - 12 - 24);
    let started = std::time::Instant::now();
    let pass = pledge::notify::schedule::run(&app.state.db, today, &[14, 7, 1])
        .await
        .unwrap();
    let first_ms = started.elapsed().as_secs_f64() * 1000.0;
    let started = std::time::Instant::now();
    let again = pledge::notify::schedule::run(&app.state.db, today, &[14, 7, 1])
        .await
        .unwrap();
    let again_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(pass.reminders as i64, participants);
    assert_eq!(pass.notifications as i64, participants * 2);
    assert_eq!(again.reminders, 0);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM notifications WHERE kind = 'deadline_reminder'
               AND body LIKE '%: technical.%' AND link LIKE '%?mine=1'"
        )
        .await,
        participants,
        "each contributor is reminded of their unfinished goal"
    );
    // The digests: 18:00 UTC is past 06:00 in Paris (19:00) and in Auckland (07:00 the next
    // day), so every head gets one, once.
    let now = time::macros::datetime!(2099-12-24 18:00 UTC);
    let started = std::time::Instant::now();
    let digests = pledge::notify::digest::run(&app.state.db, now, "https://pledge.test.example")
        .await
        .unwrap();
    let digest_ms = started.elapsed().as_secs_f64() * 1000.0;
    let started = std::time::Instant::now();
    let digests_again =
        pledge::notify::digest::run(&app.state.db, now, "https://pledge.test.example")
            .await
            .unwrap();
    let digest_again_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(digests.mails as i64, participants);
    assert_eq!(digests.notices as i64, participants);
    assert_eq!(digests_again.mails, 0);
    // The retention: every row made old and finished, then purged in batches of 1,000.
    let mut owner = app.db.owner().await;
    let mut tx = owner.begin().await.unwrap();
    storage::set_scope(&mut tx, &Scope::System).await.unwrap();
    sqlx::query(
        "UPDATE mail_outbox SET created_at = now() - interval '100 days',
                status = CASE WHEN status = 'pending' THEN 'sent' ELSE status END",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let outbox = app.count("SELECT count(*) FROM mail_outbox").await;
    let started = std::time::Instant::now();
    let purged = pledge::notify::retention::purge(
        &app.state.db,
        time::OffsetDateTime::now_utc(),
        Duration::from_secs(90 * 86_400),
        pledge::notify::retention::BATCH,
    )
    .await
    .unwrap();
    let purge_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(purged as i64, outbox);
    println!(
        "{}",
        json!({
            "bench": "reminder_scheduling",
            "participants": participants,
            "reminders": pass.reminders,
            "notifications_and_mails": pass.notifications,
            "statements": 6,
            "first_pass_ms": (first_ms * 10.0).round() / 10.0,
            "repeat_pass_ms": (again_ms * 10.0).round() / 10.0,
            "digest_mails": digests.mails,
            "digest_statements": 4,
            "digest_pass_ms": (digest_ms * 10.0).round() / 10.0,
            "digest_repeat_pass_ms": (digest_again_ms * 10.0).round() / 10.0,
            "purged_rows": purged,
            "purge_ms": (purge_ms * 10.0).round() / 10.0,
        })
    );
}
