//! Structured logs with `tracing`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the log subscriber: human-readable by default, JSON lines with `PLEDGE_LOG_FORMAT=json`;
/// levels from `RUST_LOG` (default `info`); colours only when standard error is a terminal.
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let json = std::env::var("PLEDGE_LOG_FORMAT").is_ok_and(|format| format == "json");
    // Colour escapes only on a terminal: in a log file or a journal they are noise.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // A second init (tests) is harmless, so its error is ignored.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
