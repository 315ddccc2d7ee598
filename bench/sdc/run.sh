#!/usr/bin/env bash
# bench/sdc: secondary cell suppression, Justat against the tau-Argus engine (pytauargus,
# Modular method), on count tables T1..T7 built from the same seeded justice-like microdata, with
# the same frequency rule and hierarchies; both patterns audited by `justat sdc audit`.
#
#   bash bench/sdc/run.sh                                    # all tables (hours: see README)
#   TABLES=T1,T2 bash bench/sdc/run.sh                       # the small ones, a minute or two
#   JUSTAT_BIN=/path/to/justat TABLES=T1,T2,T3 SDC_TIME_LIMIT=120 bash bench/sdc/run.sh
#
# Settings (environment): TABLES (default T1,...,T7), SDC_ROWS (records, default 200000),
# SDC_SEED (7), SDC_FREQ (5), SDC_INTERVAL (10 %), SDC_TAU_SUPPRESS (MOD(1,5,1,1,1)),
# SDC_TIME_LIMIT (600 s per method and table, "timeout" past it), SDC_AUDIT_TIME_LIMIT (same),
# BENCH_DIR (work directory, default /tmp/justat-bench-sdc), JUSTAT_BIN (default: build it).
# Prints one summary table and writes it as JSON to $BENCH_DIR/summary.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/justat/target}"
WORK="${BENCH_DIR:-/tmp/justat-bench-sdc}"
ROWS="${SDC_ROWS:-200000}"
SEED="${SDC_SEED:-7}"
rm -rf "$WORK"
mkdir -p "$WORK"

if [[ -z "${JUSTAT_BIN:-}" ]]; then
  echo "== building justat (release)"
  cargo build --release -p justat >/dev/null
  JUSTAT_BIN="$CARGO_TARGET_DIR/release/justat"
fi
echo "== justat: $JUSTAT_BIN"

echo "== preparing pytauargus (PyPI, pinned) in $ROOT/bench/.venv"
if [[ ! -x "$ROOT/bench/.venv/bin/python" ]]; then
  python3 -m venv "$ROOT/bench/.venv"
fi
"$ROOT/bench/.venv/bin/pip" install --quiet -r "$ROOT/bench/requirements.txt"

echo "== generating the microdata ($ROWS records, seed $SEED) in $WORK/data"
"$ROOT/bench/.venv/bin/python" "$ROOT/bench/sdc/gen.py" "$ROOT/crates/justat-model/codelists" "$WORK/data" "$ROWS" "$SEED"

JUSTAT_BIN="$JUSTAT_BIN" SDC_DATA="$WORK/data" SDC_WORK="$WORK" JUSTAT_LOG="${JUSTAT_LOG:-warn}" \
  "$ROOT/bench/.venv/bin/python" "$ROOT/bench/sdc/sdc_bench.py"
