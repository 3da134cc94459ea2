#!/usr/bin/env bash
# The benchmark: synthetic data, the service under load, and the same SQL under pgbench.
#
#   bash bench/run.sh alliance|stress [seconds per endpoint] [connections]
#   BENCH_ONLY=exports bash bench/run.sh stress     # only the exports
#
# Builds in release mode, loads `pledge demo --scale <scale>` into its own private cluster
# (bench-data/<scale>, kept between runs), serves it on 127.0.0.1:$BENCH_PORT, runs the load
# generator (bench/load.rs) against the report pages and API, then runs bench/comparison.sql
# with pgbench on the same cluster for comparison. Record the figures in docs/performance.md.
set -euo pipefail

scale=${1:-alliance}
seconds=${2:-20}
connections=${3:-8}
root=$(cd "$(dirname "$0")/.." && pwd)
data=${BENCH_DATA_DIR:-$root/bench-data/$scale}
port=${BENCH_PORT:-8088}
pg_bin=${PLEDGE_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

cd "$root"
cargo build --release --quiet --bin pledge --example load
pledge="$root/target/release/pledge"

echo "== loading the $scale history (skipped when present)"
started=$SECONDS
"$pledge" --data-dir "$data" demo --scale "$scale"
echo "($((SECONDS - started)) s)"

if [ "${BENCH_ONLY:-}" != exports ]; then
echo "== serving on 127.0.0.1:$port"
"$pledge" --data-dir "$data" serve --demo --listen "127.0.0.1:$port" >"$data.serve.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null

for clients in 1 "$connections"; do
  echo
  echo "== load: $clients connection(s), $seconds s per endpoint"
  "$root/target/release/examples/load" --base "http://127.0.0.1:$port" --scale "$scale" \
    --seconds "$seconds" --concurrency "$clients"
done

owner_url=$("$pledge" --data-dir "$data" db url)
app_url=${owner_url/user=pledge_owner/user=pledge_app}
prefix=$(echo "$scale" | tr '[:lower:]' '[:upper:]')
read -r cycle framework previous user < <("$pg_bin/psql" "$owner_url" -Atq -F ' ' -c "
  SELECT set_config('pledge.role', 'system', false);
  SELECT c.id, c.framework_id,
         (SELECT p.id FROM cycles p WHERE p.framework_id = c.framework_id AND p.opens_on < c.opens_on
          ORDER BY p.opens_on DESC LIMIT 1),
         (SELECT id FROM users WHERE email = 'analyst@demo.pledge.example')
  FROM cycles c WHERE c.code LIKE '$prefix-%' ORDER BY c.opens_on DESC LIMIT 1" | tail -1)
for clients in 1 "$connections"; do
  echo
  echo "== pgbench: the comparison API's statements, same cycle, $clients connection(s)"
  "$pg_bin/pgbench" "$app_url" -n -M prepared -f "$root/bench/comparison.sql" \
    -D cycle="$cycle" -D framework="$framework" -D previous="$previous" -D user="$user" \
    -c "$clients" -j "$(( clients < 2 ? clients : 2 ))" -T "$seconds" | grep -E "tps|latency|transactions actually"
done

kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true
trap - EXIT
fi

echo
echo "== exports of the newest cycle (pledge cycle export: wall time including the cluster's start, peak memory)"
prefix=$(echo "$scale" | tr '[:lower:]' '[:upper:]')
for format in csv xlsx json pdf; do
  out="$data.export.$format"
  stats=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$stats" \
    "$pledge" --data-dir "$data" cycle export "$prefix-2026" --format "$format" --output "$out" 2>/dev/null
  read -r seconds_taken peak_kib <"$stats"
  printf '%s: %s s, %s bytes, peak %s MiB\n' "$format" "$seconds_taken" "$(stat -c %s "$out")" "$((peak_kib / 1024))"
  rm -f "$out" "$stats"
done
