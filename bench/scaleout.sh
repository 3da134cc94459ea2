#!/usr/bin/env bash
# Scale-out figures beside the single-process ones (docs/performance.md, "Scale-out runs"): the
# report endpoints under load on
#   1. one `pledge serve` process,
#   2. two processes sharing the database (each load generator drives one process with half the
#      connections; the table adds them up),
#   3. one process reading the comparison from a streaming replica (`--replica-url`).
#
#   bash bench/scaleout.sh [alliance|stress] [seconds per endpoint] [connections]
#   BENCH_PROFILE=debug bash bench/scaleout.sh alliance 5 8
#
# Uses the same synthetic data and load generator as bench/run.sh (bench-data/<scale>, kept
# between runs). The private cluster is started by hand (`pledge db start`) so that several serve
# processes share it; the replica is `pledge db replica start` (bench-data/<scale>/replica).
set -euo pipefail

scale=${1:-alliance}
seconds=${2:-10}
connections=${3:-8}
root=$(cd "$(dirname "$0")/.." && pwd)
data=${BENCH_DATA_DIR:-$root/bench-data/$scale}
first_port=${BENCH_PORT:-8088}

# BENCH_PROFILE=debug measures the development build (quicker to build; relative figures only).
profile=${BENCH_PROFILE:-release}

cd "$root"
if [ "$profile" = release ]; then
  cargo build --release --quiet --bin pledge --example load
  bin="$root/target/release"
else
  cargo build --quiet --bin pledge --example load
  bin="$root/target/debug"
fi
pledge="$bin/pledge"
load="$bin/examples/load"

echo "== loading the $scale history (skipped when present)"
"$pledge" --data-dir "$data" demo --scale "$scale" >/dev/null
"$pledge" --data-dir "$data" db start >/dev/null

servers=()
stop_servers() {
  for pid in "${servers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
  servers=()
}
cleanup() {
  stop_servers
  "$pledge" --data-dir "$data" db replica stop >/dev/null 2>&1 || true
  "$pledge" --data-dir "$data" db stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

# serve PORT [options…]: one more process on the shared cluster, waited for until ready.
serve() {
  local port=$1
  shift
  "$pledge" --data-dir "$data" serve --demo --listen "127.0.0.1:$port" "$@" \
    >"$data.serve.$port.log" 2>&1 &
  servers+=($!)
  for _ in $(seq 1 120); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return
    sleep 0.5
  done
  echo "the process on $port did not become ready" >&2
  exit 1
}

# measure LABEL PORT…: one load generator per port, the connections shared out, run together;
# prints one table, the processes' figures added up (throughput, requests) or the worst (p99, max).
measure() {
  local label=$1
  shift
  local per=$((connections / $#))
  local outputs=() generators=()
  for port in "$@"; do
    local out
    out=$(mktemp)
    outputs+=("$out")
    "$load" --base "http://127.0.0.1:$port" --scale "$scale" --seconds "$seconds" \
      --concurrency "$per" >"$out" &
    generators+=($!)
  done
  for pid in "${generators[@]}"; do wait "$pid"; done
  echo
  echo "== $label: $# process(es), $connections connections in all, $seconds s per endpoint"
  echo "| endpoint | requests | errors | throughput (req/s) | p50 (ms, mean of processes) | p99 (ms, worst) | max (ms) |"
  echo "|---|---|---|---|---|---|---|"
  awk -F'|' '
    /^\| (comparison|progress)/ {
      name = $2; gsub(/^ +| +$/, "", name)
      if (!(name in req)) order[++n] = name
      req[name] += $3; err[name] += $4; thr[name] += $5; p50[name] += $6; cnt[name]++
      if ($7 + 0 > p99[name]) p99[name] = $7 + 0
      if ($8 + 0 > mx[name]) mx[name] = $8 + 0
    }
    END {
      for (i = 1; i <= n; i++) {
        k = order[i]
        printf "| %s | %d | %d | %.1f | %.1f | %.1f | %.1f |\n", k, req[k], err[k], thr[k], p50[k] / cnt[k], p99[k], mx[k]
      }
    }' "${outputs[@]}"
  rm -f "${outputs[@]}"
}

echo "== $profile build; machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at $(date -u +%H:%M) UTC"

serve "$first_port"
measure "one process" "$first_port"
stop_servers

serve "$first_port"
serve "$((first_port + 1))"
measure "two processes, one database" "$first_port" "$((first_port + 1))"
stop_servers

replica_url=$("$pledge" --data-dir "$data" db replica start | sed -n 's/^PLEDGE_REPLICA_URL=//p')
serve "$first_port" --replica-url "$replica_url"
sleep 2 # the replication monitor's first samples
measure "one process, comparison and exports read from a streaming replica" "$first_port"
stop_servers

echo
echo "== machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at $(date -u +%H:%M) UTC"
