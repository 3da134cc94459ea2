//! The command line as an operator meets it: lists of what the service holds, roles offered as
//! a fixed list, `user enable` undoing `user disable`, and the version naming its commit.

use std::process::Command;

const PLEDGE: &str = env!("CARGO_BIN_EXE_pledge");

#[tokio::test]
async fn list_commands_show_cycles_frameworks_participants_and_users() {
    let db = crate::support::TestDb::new().await;
    let Some((owner_url, app_url)) = db.urls_for_binary() else {
        return; // runs on the private test cluster only
    };
    pledge::demo::load(&db.plan).await.expect("demo data");
    let pledge = |args: &[&str]| {
        let output = Command::new(PLEDGE)
            .args(args)
            .env("DATABASE_URL", &owner_url)
            .env("PLEDGE_APP_DATABASE_URL", &app_url)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let (status, cycles, _) = pledge(&["cycle", "list"]);
    assert_eq!(status, Some(0));
    let lines: Vec<&str> = cycles.lines().collect();
    assert!(
        lines[0].starts_with("code") && lines[0].contains("deadline"),
        "{cycles}"
    );
    assert_eq!(
        lines.len(),
        4,
        "a header and the demo's three cycles:\n{cycles}"
    );
    assert!(
        lines[1].starts_with("2026") && lines[1].contains("open"),
        "newest first"
    );

    let (_, open, _) = pledge(&["cycle", "list", "--state", "open"]);
    assert_eq!(open.lines().count(), 2, "{open}");
    let (_, drafts, _) = pledge(&["cycle", "list", "--state", "planned"]);
    assert!(drafts.contains("(no cycles)"), "{drafts}");
    let (status, _, refused) = pledge(&["cycle", "list", "--state", "opened"]);
    assert_ne!(status, Some(0));
    assert!(
        refused.contains("planned, open, closed, published"),
        "{refused}"
    );

    let (_, frameworks, _) = pledge(&["framework", "list"]);
    assert!(frameworks.contains("cyber-defence-pledge"), "{frameworks}");
    let (_, participants, _) = pledge(&["participant", "list"]);
    assert!(
        participants
            .lines()
            .any(|l| l.starts_with("FRA") && l.contains("France"))
    );
    assert!(
        participants.lines().count() > 32,
        "every Ally: {participants}"
    );

    let (_, users, _) = pledge(&["user", "list"]);
    let head = users
        .lines()
        .find(|l| l.starts_with("head.fra@demo.pledge.example"))
        .unwrap_or_else(|| panic!("{users}"));
    assert!(head.contains("head") && head.contains("FRA"), "{head}");

    let email = "viewer.fra@demo.pledge.example";
    assert_eq!(pledge(&["user", "disable", "--email", email]).0, Some(0));
    let (_, users, _) = pledge(&["user", "list"]);
    let viewer = users.lines().find(|l| l.starts_with(email)).unwrap();
    assert!(viewer.contains(" yes "), "disabled: {viewer}");
    let (status, said, _) = pledge(&["user", "enable", "--email", email]);
    assert_eq!(status, Some(0));
    assert!(said.contains("enabled"), "{said}");
    let mut owner = db.owner().await;
    let (disabled, last_action): (bool, String) = sqlx::query_as(
        "SELECT disabled_at IS NOT NULL, (SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1)
         FROM users WHERE email = $1",
    )
    .bind(email)
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!((disabled, last_action.as_str()), (false, "user.enable"));
}

#[test]
fn roles_are_a_fixed_list_and_the_version_names_its_commit() {
    let output = Command::new(PLEDGE)
        .args([
            "user",
            "create",
            "--email",
            "a@b.example",
            "--name",
            "A",
            "--role",
            "Admin",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "a usage error");
    let message = String::from_utf8_lossy(&output.stderr);
    for role in ["admin", "analyst", "head", "contributor", "viewer"] {
        assert!(message.contains(role), "{role} offered in {message}");
    }

    let version = Command::new(PLEDGE).arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(
        version.starts_with("pledge ") && version.contains("(commit "),
        "{version}"
    );

    for args in [
        ["cycle", "list", "--help"].as_slice(),
        &["cycle", "export", "--help"],
        &["framework", "list", "--help"],
        &["participant", "list", "--help"],
        &["user", "list", "--help"],
        &["user", "enable", "--help"],
    ] {
        let output = Command::new(PLEDGE).args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("Usage: pledge"), "{args:?}");
        if args[1] == "export" {
            assert!(help.contains("pdf"), "cycle export names pdf: {help}");
        }
    }
}

#[test]
fn serve_options_out_of_range_are_refused_before_anything_starts() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("options-{}", std::process::id()));
    for (option, value, says) in [
        ("--pool-size", "0", "--pool-size"),
        ("--pool-size", "100000", "--pool-size"),
        ("--request-timeout", "0", "--request-timeout"),
        ("--header-timeout", "0", "--header-timeout"),
        ("--session-idle-minutes", "0", "--session-idle-minutes"),
        ("--session-max-hours", "99999", "--session-max-hours"),
        ("--max-evidence-mb", "0", "--max-evidence-mb"),
        ("--max-evidence-mb", "-1", "--max-evidence-mb"),
        ("--listen", "localhost", "HOST:PORT"),
        ("--listen", "99999", "HOST:PORT"),
    ] {
        let output = Command::new(PLEDGE)
            .args(["serve", &format!("{option}={value}"), "--data-dir"])
            .arg(&dir)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        let message = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{option} {value}: a usage error, not a panic: {message}"
        );
        assert!(message.contains(says), "{option} {value}: {message}");
        assert!(!message.contains("panicked"), "{message}");
    }
    assert!(!dir.exists(), "nothing was started or created");
}
