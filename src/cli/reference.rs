//! `docs/configuration.md`, generated from the clap definitions: every command and subcommand,
//! every option with its environment variable and default, and the few variables read outside
//! clap. A unit test fails when the file differs from what the definitions give, and prints the
//! one command that writes it again:
//!
//! ```sh
//! PLEDGE_WRITE_REFERENCE=1 cargo test --lib configuration_reference
//! ```

use std::fmt::Write as _;

use clap::{Arg, Command, CommandFactory};

/// Variables the program reads itself, outside the command line's definitions.
const OTHER_VARIABLES: [(&str, &str); 4] = [
    (
        "PLEDGE_LOG_FORMAT",
        "`json` for one JSON object per log line (with the request's `request_id` and `user_id` \
         in `span`); anything else, or unset, for human-readable lines.",
    ),
    (
        "RUST_LOG",
        "Log levels, e.g. `info` or `info,sqlx=warn` (default: `info,sqlx=warn,tower_http=info`).",
    ),
    (
        "PLEDGE_PG_BIN",
        "The directory of the PostgreSQL server programs (`initdb`, `pg_ctl`, `postgres`, \
         `pg_basebackup`) for the private cluster; default: found on `PATH`, then the newest \
         under `/usr/lib/postgresql/<version>/bin`.",
    ),
    (
        "NO_COLOR",
        "Not read: colours are used only when standard error is a terminal.",
    ),
];

/// The whole reference, as Markdown.
pub fn markdown() -> String {
    let cli = super::Cli::command();
    let mut out = String::new();
    out.push_str(
        "# Configuration reference\n\n\
         Generated from the command line's definitions (`src/cli/`, `src/startup.rs`): do not edit \
         by hand. After changing an option, write it again with\n\n\
         ```sh\nPLEDGE_WRITE_REFERENCE=1 cargo test --lib configuration_reference\n```\n\n\
         Every option can be given on the command line or, where a variable is named, in the \
         environment (the command line wins). Secrets (connection strings with passwords, \
         tokens) are better given in the environment or a systemd credential than on the \
         command line, which other users can read in the process list. How the settings fit \
         together: [operations.md](operations.md).\n\n",
    );
    out.push_str("## Options of every command\n\n");
    table(
        &mut out,
        cli.get_arguments().filter(|arg| arg.is_global_set()),
    );
    out.push_str("\n## Variables read outside the options\n\n| variable | meaning |\n|---|---|\n");
    for (name, meaning) in OTHER_VARIABLES {
        let _ = writeln!(out, "| `{name}` | {meaning} |");
    }
    out.push_str("\n## Commands\n");
    for command in cli.get_subcommands() {
        describe(&mut out, command, "pledge");
    }
    out
}

fn describe(out: &mut String, command: &Command, parent: &str) {
    if command.is_hide_set() {
        return;
    }
    let path = format!("{parent} {}", command.get_name());
    let _ = writeln!(out, "\n### `{path}`\n");
    if let Some(about) = command.get_long_about().or(command.get_about()) {
        let mut about = one_line(&about.to_string());
        if !about.ends_with('.') {
            about.push('.');
        }
        let _ = writeln!(out, "{about}\n");
    }
    let own: Vec<&Arg> = command
        .get_arguments()
        .filter(|arg| !arg.is_global_set() && !arg.is_hide_set())
        .collect();
    if own.is_empty() && command.get_subcommands().next().is_none() {
        out.push_str("No options of its own.\n");
    } else if !own.is_empty() {
        table(out, own.into_iter());
    }
    for sub in command.get_subcommands() {
        describe(out, sub, &path);
    }
}

fn table<'a>(out: &mut String, args: impl Iterator<Item = &'a Arg>) {
    out.push_str("| option | variable | default | meaning |\n|---|---|---|---|\n");
    for arg in args {
        let takes_value = arg.get_action().takes_values();
        let value_name = arg
            .get_value_names()
            .and_then(|names| names.first())
            .map_or_else(|| arg.get_id().as_str().to_uppercase(), |n| n.to_string());
        let name = match arg.get_long() {
            Some(long) if takes_value => format!("`--{long} <{value_name}>`"),
            Some(long) => format!("`--{long}`"),
            None => format!("`<{value_name}>`"),
        };
        let variable = arg
            .get_env()
            .map(|env| format!("`{}`", env.to_string_lossy()))
            .unwrap_or_default();
        let default = arg
            .get_default_values()
            .iter()
            .map(|v| format!("`{}`", v.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut meaning = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|help| one_line(&help.to_string()))
            .unwrap_or_default();
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| format!("`{}`", v.get_name()))
            .collect();
        if !meaning.is_empty() && !meaning.ends_with('.') {
            meaning.push('.');
        }
        if !values.is_empty() && takes_value {
            let _ = write!(meaning, " One of: {}.", values.join(", "));
        }
        let _ = writeln!(
            out,
            "| {name} | {variable} | {default} | {} |",
            meaning.trim()
        );
    }
}

/// Help text on one table line: paragraphs joined, pipes escaped.
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    #[test]
    fn configuration_reference_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md");
        let generated = super::markdown();
        if std::env::var_os("PLEDGE_WRITE_REFERENCE").is_some() {
            std::fs::write(path, &generated).expect("write docs/configuration.md");
            return;
        }
        let current = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            current == generated,
            "docs/configuration.md does not match the command line's definitions. Write it \
             again with:\n\n    PLEDGE_WRITE_REFERENCE=1 cargo test --lib configuration_reference\n"
        );
    }

    #[test]
    fn the_reference_names_every_command_and_the_serve_variables() {
        let text = super::markdown();
        for needed in [
            "### `pledge serve`",
            "### `pledge db replica start`",
            "`PLEDGE_REPLICA_URL`",
            "`PLEDGE_METRICS_TOKEN`",
            "`DATABASE_URL`",
            "`--listen <LISTEN>`",
        ] {
            assert!(text.contains(needed), "{needed} missing");
        }
    }
}
