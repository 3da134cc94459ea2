#!/usr/bin/env bash
# Reminder scheduling at 2,000 participants (issue 18): one set-based pass that schedules a
# deadline reminder for every unfinished assessment of an open cycle, and writes the in-app
# notifications and outbox mails of their heads and contributors (4,000 people). Prints one JSON
# line: the pass, and a repeat pass that finds every reminder already scheduled.
# Runs against the test harness's PostgreSQL (tests/app/support.rs), in the test profile.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --test app notifications::bench_reminder_scheduling_for_2000_participants \
    -- --ignored --nocapture --test-threads 1 2>&1 | grep '"bench"'
