#!/usr/bin/env bash
# bench/serve: the home page's latency (p99) while the server is idle, then while a
# 10-million-row chain runs in the worker that `justat serve` supervises.
#
#   bash bench/serve/p99_beside_chain.sh      # penal, 5 years at scale 1 (10 million rows), release build
#   ROWS_SCALE=0.01 DURATION=10 JUSTAT_BIN=$CARGO_TARGET_DIR/debug/justat bash bench/serve/p99_beside_chain.sh
#
# Environment: ROWS_SCALE (1), DURATION seconds of each measure (30), CONNECTIONS (16),
# JUSTAT_BIN (default: a release build made here), BENCH_DIR (/tmp/justat-bench-serve).
# Needs `wrk` (Debian package; installed here when missing and run as root).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/justat/target}"
SCALE="${ROWS_SCALE:-1}"
DURATION="${DURATION:-30}"
CONNECTIONS="${CONNECTIONS:-16}"
WORK="${BENCH_DIR:-/tmp/justat-bench-serve}"

if ! command -v wrk >/dev/null; then
  if [[ "$(id -u)" == 0 ]]; then
    apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else
    echo "wrk is missing: apt-get install -y wrk" >&2
    exit 1
  fi
fi
if [[ -n "${JUSTAT_BIN:-}" ]]; then
  JUSTAT="$JUSTAT_BIN"
  BUILD="$("$JUSTAT" --version) at $JUSTAT"
else
  echo "== building justat (release)"
  cargo build --release -p justat >/dev/null
  JUSTAT="$CARGO_TARGET_DIR/release/justat"
  BUILD="release build"
fi

rm -rf "$WORK"
mkdir -p "$WORK"
export JUSTAT_DATA_DIR="$WORK/data" JUSTAT_LOG=warn JUSTAT_LISTEN=127.0.0.1:0
unset JUSTAT_DATABASE_URL JUSTAT_CONFIG

# As in bench/chain: the generator's scale 1 writes 15.9 million rows (one per offence) over
# 2019-2023; 0.627 of it is the benchmark's 10 million.
GEN_SCALE="$(python3 -c "import sys; print(round(float(sys.argv[1]) * 0.627, 6))" "$SCALE")"
echo "== generating the penal extract (scale $SCALE: generator scale $GEN_SCALE, 2019-2023) and delivering it"
"$JUSTAT" generate penal --years 2019-2023 --scale "$GEN_SCALE" --seed 7 --out "$WORK/extracts" >/dev/null
IDS=()
n=0
for f in "$WORK"/extracts/penal_*.csv; do
  "$JUSTAT" delivery add penal "$f" >/dev/null
  n=$((n + 1))
  IDS+=("--delivery" "$n")
done
ROWS="$("$JUSTAT" delivery list | awk 'NR>1 {s += $4} END {print s}')"
echo "   $ROWS valid rows in $n deliveries"

echo "== starting justat serve (and its worker)"
"$JUSTAT" serve >"$WORK/serve.out" 2>"$WORK/serve.log" &
SERVE=$!
trap 'kill "$SERVE" 2>/dev/null || true; wait "$SERVE" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$WORK/serve.out" 2>/dev/null && break
  sleep 0.1
done
BASE="$(sed -n 's/^listening on //p' "$WORK/serve.out")"
[[ -n "$BASE" ]] || { echo "serve did not start:"; cat "$WORK/serve.log"; exit 1; }
echo "   $BASE"

job_field() { # job_field ID FIELD
  "$JUSTAT" job show "$1" | python3 -c 'import json,sys; v = json.load(sys.stdin)[sys.argv[1]]; print("" if v is None else v)' "$2"
}

measure() { # measure LABEL: prints the wrk summary, leaves p99 in P99 and requests/s in RPS
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$BASE/" >"$WORK/wrk-$1.txt"
  P99="$(awk '$1 == "99%" {print $2}' "$WORK/wrk-$1.txt")"
  RPS="$(awk '$1 == "Requests/sec:" {print $2}' "$WORK/wrk-$1.txt")"
  echo "   $1: p99 $P99, $RPS requests/s"
}

echo "== home page, idle (warm-up 2 s, then ${DURATION} s, $CONNECTIONS connections)"
wrk -t2 -c"$CONNECTIONS" -d2s "$BASE/" >/dev/null
measure idle
IDLE_P99="$P99" IDLE_RPS="$RPS"

echo "== home page while the chain runs in the worker"
JOB="$("$JUSTAT" chain run penal_orientations "${IDS[@]}" --queue | awk '{print $2}')"
until [[ "$(job_field "$JOB" status)" != queued ]]; do sleep 0.2; done
measure chain
CHAIN_P99="$P99" CHAIN_RPS="$RPS"
STATUS_AFTER="$(job_field "$JOB" status)"
until [[ "$(job_field "$JOB" status)" =~ ^(done|failed)$ ]]; do sleep 1; done
STARTED="$(job_field "$JOB" started_at)"
FINISHED="$(job_field "$JOB" finished_at)"
CHAIN_S="$(python3 -c 'import sys
from datetime import datetime
p = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
print(round((p(sys.argv[2]) - p(sys.argv[1])).total_seconds(), 1))' "$STARTED" "$FINISHED")"

echo
echo "home page p99 beside a chain on $ROWS rows ($BUILD; wrk -t2 -c$CONNECTIONS, ${DURATION} s each)"
echo "  idle          : p99 $IDLE_P99  ($IDLE_RPS requests/s)"
echo "  chain running : p99 $CHAIN_P99  ($CHAIN_RPS requests/s)"
echo "  chain job $JOB: $(job_field "$JOB" status) in $CHAIN_S s $(job_field "$JOB" error)"
if [[ "$STATUS_AFTER" != running ]]; then
  echo "  WARNING: the chain ended before the measure did ($STATUS_AFTER): part of it was idle;" \
    "raise ROWS_SCALE or lower DURATION"
fi
