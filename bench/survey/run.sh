#!/usr/bin/env bash
# bench/survey: RESPONDENTS simulated respondents (2,000) of a campaign of the demo
# questionnaire, each entering its access code and saving the questionnaire's three pages, all
# at once against `justat serve` on loopback (SQLite, the default store). Prints the
# throughput of the saves, their latency (p50, p90, p99, max) and checks that nothing was
# lost: every answer a respondent saved is read back from the store afterwards.
#
#   bash bench/survey/run.sh                          # release build, 2,000 respondents
#   RESPONDENTS=200 bash bench/survey/run.sh          # fewer
#   PROFILE=debug bash bench/survey/run.sh            # the debug build (a quick check of the script)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/justat/target}"
RESPONDENTS="${RESPONDENTS:-2000}"
PROFILE="${PROFILE:-release}"
WORK="${BENCH_DIR:-/tmp/justat-bench-survey}"
rm -rf "$WORK"
mkdir -p "$WORK"

flag=()
[[ "$PROFILE" == release ]] && flag=(--release)
echo "== building justat and the bench driver ($PROFILE)"
cargo build "${flag[@]}" --workspace --bins --examples >/dev/null
BIN="$CARGO_TARGET_DIR/$PROFILE"
DRIVER="$BIN/examples/survey_bench"

export JUSTAT_DATA_DIR="$WORK/data" JUSTAT_LOG=warn JUSTAT_SURVEYS_DIR="$ROOT/surveys"
echo "== a campaign of $RESPONDENTS units (register imported from CSV), access codes issued"
"$DRIVER" prepare "$WORK/data" "$ROOT/surveys" "$RESPONDENTS" "$WORK/codes.csv"

JUSTAT_LISTEN=127.0.0.1:0 "$BIN/justat" serve --no-worker >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break
  sleep 0.1
done
BASE="$(sed -n 's/^listening on //p' "$WORK/serve.out")"
[[ -n "$BASE" ]] || { cat "$WORK/serve.err"; echo "justat serve did not start" >&2; exit 1; }

echo "== $RESPONDENTS respondents saving 3 pages each, all at once, against $BASE ($PROFILE build)"
"$DRIVER" run "$WORK/data" "$ROOT/surveys" "$BASE" "$WORK/codes.csv"
