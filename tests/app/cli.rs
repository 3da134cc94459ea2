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

/// Runs the binary with `DATABASE_URL` pointing at nothing (so no command can start or change
/// anything) in an empty working directory.
fn pledge_against_nothing(args: &[String], cwd: &std::path::Path) -> std::process::Output {
    Command::new(PLEDGE)
        .args(args)
        .current_dir(cwd)
        .env(
            "DATABASE_URL",
            "postgresql://pledge_owner@127.0.0.1:1/pledge",
        )
        .env_remove("PLEDGE_APP_DATABASE_URL")
        .env_remove("PLEDGE_DATA_DIR")
        .output()
        .unwrap()
}

#[test]
fn every_option_of_every_command_survives_boundary_values_without_a_panic() {
    use clap::CommandFactory;
    let cwd = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("boundaries-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cwd);
    std::fs::create_dir_all(&cwd).unwrap();
    let long = "9".repeat(4096);
    let values = ["", "0", "-1", "18446744073709551616", "x", long.as_str()];

    // Every leaf command, with the path of subcommand names that reaches it.
    let mut leaves = Vec::new();
    let mut pending = vec![(Vec::<String>::new(), pledge::cli::Cli::command())];
    while let Some((path, command)) = pending.pop() {
        let children: Vec<_> = command.get_subcommands().cloned().collect();
        if children.is_empty() {
            leaves.push((path, command));
        } else {
            for child in children {
                let mut longer = path.clone();
                longer.push(child.get_name().to_owned());
                pending.push((longer, child));
            }
        }
    }
    assert!(leaves.len() >= 15, "{} commands", leaves.len());
    // The global options, tried on one command.
    let root = pledge::cli::Cli::command();
    let globals: Vec<clap::Arg> = root
        .get_arguments()
        .filter(|arg| arg.is_global_set())
        .cloned()
        .collect();
    assert!(globals.len() >= 4);
    let mut with_globals = clap::Command::new("migrate");
    for arg in globals {
        with_globals = with_globals.arg(arg.global(false));
    }
    leaves.push((vec!["migrate".to_owned()], with_globals));

    let mut runs = 0;
    for (path, command) in &leaves {
        let takes_value = |arg: &clap::Arg| {
            arg.get_num_args().is_none_or(|range| range.takes_values())
                && !matches!(
                    arg.get_action(),
                    clap::ArgAction::SetTrue
                        | clap::ArgAction::SetFalse
                        | clap::ArgAction::Count
                        | clap::ArgAction::Help
                        | clap::ArgAction::HelpShort
                        | clap::ArgAction::HelpLong
                        | clap::ArgAction::Version
                )
        };
        let arguments: Vec<&clap::Arg> = command
            .get_arguments()
            .filter(|arg| !arg.is_global_set() && takes_value(arg))
            .collect();
        // A valid-looking value for every required argument, so each option is tried alone.
        let filler = |arg: &clap::Arg| {
            arg.get_possible_values()
                .first()
                .map(|value| value.get_name().to_owned())
                .unwrap_or_else(|| "x".to_owned())
        };
        for varied in &arguments {
            for value in values {
                let mut args = path.clone();
                for arg in &arguments {
                    let text = if arg.get_id() == varied.get_id() {
                        value.to_owned()
                    } else if arg.is_required_set() {
                        filler(arg)
                    } else {
                        continue;
                    };
                    match arg.get_long() {
                        Some(long) => args.push(format!("--{long}={text}")),
                        None => args.push(text),
                    }
                }
                let output = pledge_against_nothing(&args, &cwd);
                runs += 1;
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(
                    matches!(output.status.code(), Some(1 | 2)),
                    "pledge {args:?}: a usage error (2) or a failure (1), got {:?}: {stderr}",
                    output.status
                );
                assert!(!stderr.contains("panicked"), "pledge {args:?}: {stderr}");
                assert!(
                    stderr.starts_with("error:") || stderr.contains("\nerror:"),
                    "pledge {args:?} says what went wrong: {stderr}"
                );
            }
        }
    }
    assert!(runs > 100, "{runs} runs");
    let left: Vec<_> = std::fs::read_dir(&cwd).unwrap().flatten().collect();
    assert!(left.is_empty(), "nothing was written: {left:?}");
    let _ = std::fs::remove_dir_all(&cwd);
}

#[test]
fn the_exit_code_table_in_the_operations_guide_matches_the_binary() {
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operations.md"))
        .unwrap();
    let table = guide
        .split("<!-- exit-codes -->")
        .nth(1)
        .expect("docs/operations.md marks its exit-code table with <!-- exit-codes -->");
    let cwd = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("exit-codes-{}", std::process::id()));
    std::fs::create_dir_all(&cwd).unwrap();
    let mut checked = Vec::new();
    for row in table.lines().filter(|line| line.starts_with("| ")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let Ok(code) = cells[1].parse::<i32>() else {
            continue; // the header
        };
        let example = cells[3].trim_matches('`');
        let words: Vec<String> = example
            .split_whitespace()
            .skip_while(|word| *word != "pledge")
            .skip(1)
            .map(str::to_owned)
            .collect();
        let mut command = Command::new(PLEDGE);
        command
            .args(&words)
            .current_dir(&cwd)
            .env_remove("DATABASE_URL");
        for assignment in example
            .split_whitespace()
            .take_while(|word| word.contains('='))
        {
            if let Some((name, value)) = assignment.split_once('=') {
                command.env(name, value);
            }
        }
        let output = command.output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(code),
            "`{example}` exits {code} as the guide says: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        checked.push(code);
    }
    assert_eq!(checked, [0, 1, 2], "one example per exit code");
    let _ = std::fs::remove_dir_all(&cwd);
}

#[tokio::test]
async fn database_refusals_name_the_cause_and_the_fix() {
    let db = crate::support::TestDb::new().await;
    let Some((owner_url, _)) = db.urls_for_binary() else {
        return; // runs on the private test cluster only
    };
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("refusals-{}", std::process::id()));
    let run = |url: &str, args: &[&str]| {
        let output = Command::new(PLEDGE)
            .args(args)
            .env("DATABASE_URL", url)
            .env_remove("PLEDGE_APP_DATABASE_URL")
            .env("PLEDGE_TOTP_KEY_FILE", dir.join("totp.key"))
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    // The owner may migrate but was never granted the service role: the pool used to time out
    // and hide this.
    let (code, message) = run(&owner_url, &["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(code, Some(1), "{message}");
    assert!(
        message.contains("permission denied to set role \"pledge_app\"")
            && message.contains("GRANT pledge_app TO pledge_owner")
            && message.contains("PLEDGE_APP_DATABASE_URL"),
        "{message}"
    );

    let (code, message) = run(
        &owner_url.replace("user=pledge_owner", "user=nobody_here"),
        &["migrate"],
    );
    assert_eq!(code, Some(1), "{message}");
    assert!(
        message.contains("role \"nobody_here\" does not exist") && message.contains("CREATE ROLE"),
        "{message}"
    );

    let (code, message) = run(
        &owner_url.replace(&format!("///{}?", db.name), "///no_such_database?"),
        &["migrate"],
    );
    assert_eq!(code, Some(1), "{message}");
    assert!(
        message.contains("\"no_such_database\" does not exist")
            && message.contains("CREATE DATABASE no_such_database"),
        "{message}"
    );

    let (code, message) = run("localhost:5432/pledge", &["migrate"]);
    assert_eq!(code, Some(2), "a usage error: {message}");
    assert!(
        message.contains("did you mean postgresql://localhost:5432/pledge?"),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
