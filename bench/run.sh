#!/usr/bin/env bash
# The benchmark: synthetic data, the service under load, and the same SQL under pgbench, in one
# run and one table, with the figures as JSON for comparison between commits.
#
#   bash bench/run.sh alliance|stress [seconds per endpoint]
#   BENCH_ONLY=exports bash bench/run.sh stress     # only the exports
#   BENCH_CONNECTIONS="1 8 16" (default)             # connection counts measured
#
# Builds in release mode, loads `pledge demo --scale <scale>` into its own private cluster
# (bench-data/<scale>, kept between runs), then for the service with its report cache on
# (cached) and off (uncached, PLEDGE_REPORT_CACHE=off) and each connection count: the load
# generator (bench/load.rs) against the comparison page and API and the progress report page
# and API, then bench/comparison.sql and bench/progress.sql (the statements of one comparison
# and of one progress report) under pgbench with the same connections, alternately, so that
# both see the same machine. CPU per request (service; PostgreSQL and its backends) comes
# from /proc. Memory: the service's RSS at rest, its peak under report load, after 100
# sign-ins, and its peak during two XLSX exports at once; then each export's time and peak
# memory from the command line. Writes bench-data/<scale>-<commit>.json and prints the table.
set -euo pipefail

scale=${1:-alliance}
seconds=${2:-10}
connections=${BENCH_CONNECTIONS:-1 8 16}
root=$(cd "$(dirname "$0")/.." && pwd)
data=${BENCH_DATA_DIR:-$root/bench-data/$scale}
port=${BENCH_PORT:-8088}
pg_bin=${PLEDGE_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
results="$data-$commit.jsonl"
summary="$data-$commit.json"

cd "$root"
# BENCH_PROFILE=debug checks the script quickly on the debug build (its figures mean nothing).
profile=${BENCH_PROFILE:-release}
if [ "$profile" = release ]; then
  cargo build --release --quiet --bin pledge --example load
else
  cargo build --quiet --bin pledge --example load
fi
pledge="$root/target/$profile/pledge"
load="$root/target/$profile/examples/load"
rm -f "$results"
record() { echo "$1" >>"$results"; }

echo "== loading the $scale history (skipped when present)"
started=$SECONDS
"$pledge" --data-dir "$data" demo --scale "$scale"
echo "($((SECONDS - started)) s)"

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# Samples the RSS of $1 every 0.2 s into $2 until $3 (a pid) ends; prints the peak.
peak_while() {
  local pid=$1 watched=$2 peak=0 now
  while kill -0 "$watched" 2>/dev/null; do
    now=$(rss_kib "$pid"); [ "${now:-0}" -gt "$peak" ] && peak=$now
    sleep 0.2
  done
  echo "$peak"
}

server=""
start_server() { # $1: cached | uncached
  local env=()
  [ "$1" = uncached ] && env=(env PLEDGE_REPORT_CACHE=off)
  "${env[@]}" "$pledge" --data-dir "$data" serve --demo --listen "127.0.0.1:$port" >"$data.serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 120); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.5
  done
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null
}
stop_server() { if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; server=""; fi; }
trap stop_server EXIT

if [ "${BENCH_ONLY:-}" != exports ]; then
  cycle=""
  for mode in cached uncached; do
    start_server "$mode"
    # The cluster runs while the service does.
    postmaster=$(head -1 "$data/pgdata/postmaster.pid")
    if [ -z "$cycle" ]; then
    owner_url=$("$pledge" --data-dir "$data" db url)
    app_url=${owner_url/user=pledge_owner/user=pledge_app}
    prefix=$(echo "$scale" | tr '[:lower:]' '[:upper:]')
    read -r cycle framework previous user assessment participant snapshots < <("$pg_bin/psql" "$owner_url" -Atq -F ' ' -c "
      SELECT set_config('pledge.role', 'system', false);
      WITH c AS (SELECT * FROM cycles WHERE code LIKE '$prefix-%' ORDER BY opens_on DESC LIMIT 1),
           fra AS (SELECT a.id, a.participant_id FROM assessments a JOIN participants p ON p.id = a.participant_id
                   WHERE a.cycle_id = (SELECT id FROM c) AND p.code = 'FRA')
      SELECT c.id, c.framework_id,
             (SELECT p.id FROM cycles p WHERE p.framework_id = c.framework_id AND p.opens_on < c.opens_on
              ORDER BY p.opens_on DESC LIMIT 1),
             (SELECT id FROM users WHERE email = 'analyst@demo.pledge.example'),
             (SELECT id FROM fra), (SELECT participant_id FROM fra),
             (SELECT '{' || string_agg(a.latest_snapshot_id::text, ',') || '}' FROM assessments a
              JOIN cycles ac ON ac.id = a.cycle_id
              WHERE a.participant_id = (SELECT participant_id FROM fra) AND a.latest_snapshot_id IS NOT NULL
                AND ac.framework_id = c.framework_id AND ac.opens_on <= c.opens_on
                AND ac.opens_on >= (SELECT max(pc.opens_on) FROM cycles pc
                                    WHERE pc.framework_id = c.framework_id AND pc.opens_on < c.opens_on))
      FROM c" | tail -1)
    fi
    [ "$mode" = cached ] && record "{\"memory\": \"rss_at_rest_kib\", \"value\": $(rss_kib "$server")}"
    for clients in $connections; do
      echo "== $mode service, $clients connection(s), $seconds s per endpoint"
      "$load" --base "http://127.0.0.1:$port" --scale "$scale" --seconds "$seconds" \
        --concurrency "$clients" --json "$results" --mode "$mode" --gzip \
        --server-pid "$server" --postgres-pid "$postmaster" &
      loader=$!
      peak=$(peak_while "$server" "$loader")
      wait "$loader"
      record "{\"memory\": \"rss_under_load_kib\", \"mode\": \"$mode\", \"connections\": $clients, \"value\": $peak}"
      for sql in comparison progress; do
        echo "== pgbench: the $sql's statements, $clients connection(s)"
        tps=$("$pg_bin/pgbench" "$app_url" -n -M prepared -f "$root/bench/$sql.sql" \
          -D cycle="$cycle" -D framework="$framework" -D previous="$previous" -D user="$user" \
          -D assessment="$assessment" -D participant="$participant" -D snapshots="$snapshots" \
          -c "$clients" -j "$(( clients < 2 ? clients : 2 ))" -T "$seconds" 2>/dev/null \
          | awk '/^tps/ {print $3; exit}')
        record "{\"pgbench\": \"$sql.sql\", \"mode\": \"$mode\", \"connections\": $clients, \"tps\": ${tps:-0}}"
      done
    done
    if [ "$mode" = cached ]; then
      "$load" --base "http://127.0.0.1:$port" --scale "$scale" --sign-ins 100 >/dev/null
      sleep 1
      record "{\"memory\": \"rss_after_100_sign_ins_kib\", \"value\": $(rss_kib "$server")}"
      # Two XLSX exports at once, both built: a file cached by an earlier run is made stale
      # first (row-level security lets no one delete from report_cache; a key that no longer
      # matches is rebuilt and replaced).
      "$pg_bin/psql" "$owner_url" -Atq -v ON_ERROR_STOP=1 -c "SELECT set_config('pledge.role', 'system', false);
        UPDATE report_cache SET cache_key = 'stale' WHERE kind LIKE 'export:%'" >/dev/null
      jar=$(mktemp)
      csrf=$(curl -fs -c "$jar" -H 'content-type: application/json' \
        -d '{"email":"analyst@demo.pledge.example","password":"demo-pledge-2026"}' \
        "http://127.0.0.1:$port/api/v1/session" | jq -r .csrf_token)
      exporters=()
      for lang in en fr; do
        curl -fs -o /dev/null -X POST -b "$jar" -H "x-csrf-token: $csrf" \
          "http://127.0.0.1:$port/api/v1/cycles/$cycle/export?format=xlsx&lang=$lang" &
        exporters+=($!)
      done
      peak=$(peak_while "$server" "${exporters[0]}")
      # Only the two exports: a bare `wait` would wait for the service too.
      wait "${exporters[@]}" || true
      rm -f "$jar"
      record "{\"memory\": \"rss_during_two_exports_kib\", \"value\": $peak}"
      sleep 1
      record "{\"memory\": \"rss_after_exports_kib\", \"value\": $(rss_kib "$server")}"
    fi
    stop_server
  done
fi

echo "== exports of the newest cycle (pledge cycle export: wall time including the cluster's start, peak memory)"
prefix=$(echo "$scale" | tr '[:lower:]' '[:upper:]')
for format in csv xlsx json pdf; do
  out="$data.export.$format"
  stats=$(mktemp)
  PLEDGE_REPORT_CACHE=off /usr/bin/time -f '%e %M' -o "$stats" \
    "$pledge" --data-dir "$data" cycle export "$prefix-2026" --format "$format" --output "$out" 2>/dev/null
  read -r seconds_taken peak_kib <"$stats"
  record "{\"export\": \"$format\", \"seconds\": $seconds_taken, \"bytes\": $(stat -c %s "$out"), \"peak_kib\": $peak_kib}"
  rm -f "$out" "$stats"
done

jq -s --arg commit "$commit" --arg scale "$scale" --arg when "$(date -u +%FT%TZ)" \
  --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
  '{commit: $commit, scale: $scale, measured_at: $when, load_average: $load, results: .}' \
  "$results" >"$summary"
rm -f "$results"
echo
echo "== $scale at $commit ($(jq -r .measured_at "$summary"), load average $(jq -r .load_average "$summary"))"
echo "| endpoint | mode | connections | req/s | ÷ pgbench | p50 ms | p99 ms | KiB | CPU ms/req (service + PostgreSQL) |"
echo "|---|---|---|---|---|---|---|---|---|"
jq -r '.results as $r
  | $r[] | select(.endpoint) as $e
  | (if ($e.endpoint | startswith("progress")) then "progress.sql" else "comparison.sql" end) as $sql
  | ([$r[] | select(.pgbench == $sql and .mode == $e.mode and .connections == $e.connections) | .tps] | first // 0) as $tps
  | "| \($e.endpoint) | \($e.mode) | \($e.connections) | \($e.throughput | floor) | \(if $tps > 0 then ($e.throughput / $tps * 100 | floor) / 100 else "—" end) | \($e.p50_ms) | \($e.p99_ms) | \($e.response_kib | floor) | \($e.service_cpu_ms * 100 | floor / 100) + \($e.postgres_cpu_ms * 100 | floor / 100) |"' "$summary"
echo
jq -r '.results[] | select(.pgbench) | "pgbench \(.pgbench) \(.mode) \(.connections) connection(s): \(.tps) tps"' "$summary"
jq -r '.results[] | select(.memory) | "\(.memory)\(if .connections then " (\(.mode), \(.connections))" else "" end): \(.value / 1024 | floor) MiB"' "$summary"
jq -r '.results[] | select(.export) | "export \(.export): \(.seconds) s, \(.bytes) bytes, peak \(.peak_kib / 1024 | floor) MiB"' "$summary"
echo "(figures in $summary)"
