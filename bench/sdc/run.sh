#!/usr/bin/env bash
# bench/sdc: secondary cell suppression, Justat against the tau-Argus engine (pytauargus,
# Modular method), on count tables built from seeded microdata (tables T1..T7 from gen.py's
# justice-like offenders, C1..C4 from the convictions of `justat generate cjn`), with the same
# frequency rule and hierarchies; both patterns, and Modular's completed by Justat, audited by
# `justat sdc audit`. Seed 7's T tables are those the method's settings were chosen on
# ("tuning"); every other seed, and the C tables at any seed, are held out.
#
#   bash bench/sdc/run.sh                                       # everything (hours: see README)
#   TABLES=T1,T2 RUNS=1 bash bench/sdc/run.sh                   # the two small tables, seed 7
#   SDC_SEEDS=11,23,42 TABLES=T1,T2,T3,T4,T5 bash bench/sdc/run.sh
#   TABLES=C1,C2,C3,C4 SDC_SEEDS=11 bash bench/sdc/run.sh
#   bench/.venv/bin/python bench/sdc/sdc_bench.py --merge A/summary.json B/summary.json
#
# Settings (environment): TABLES (default T1,...,T7,C1,...,C4), SDC_SEEDS (7: comma-separated,
# each a data set of each shape TABLES asks for), RUNS (3: runs per tool and table, times are
# medians), SDC_ROWS (records of gen.py, default 200000), SDC_CJN_SCALE (0.4 of a year of
# convictions, 2019: about 225,000), SDC_FREQ (5), SDC_INTERVAL (10 %), SDC_TAU_SUPPRESS
# (MOD(1,5,1,1,1)), SDC_TIME_LIMIT (600 s per method and table, "timeout" past it),
# SDC_AUDIT_TIME_LIMIT (same), BENCH_DIR (work directory, default /tmp/justat-bench-sdc),
# JUSTAT_BIN (default: build it).
# Prints one summary table and writes it as JSON to $BENCH_DIR/summary.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/justat/target}"
WORK="${BENCH_DIR:-/tmp/justat-bench-sdc}"
ROWS="${SDC_ROWS:-200000}"
SEEDS="${SDC_SEEDS:-7}"
CJN_SCALE="${SDC_CJN_SCALE:-0.4}"
TABLES="${TABLES:-T1,T2,T3,T4,T5,T6,T7,C1,C2,C3,C4}"
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
PY="$ROOT/bench/.venv/bin/python"

DATASETS=()
for seed in ${SEEDS//,/ }; do
  if [[ ",$TABLES," =~ ,T[0-9], ]]; then
    echo "== gen.py microdata ($ROWS records, seed $seed) in $WORK/data-gen-$seed"
    "$PY" "$ROOT/bench/sdc/gen.py" "$ROOT/crates/justat-model/codelists" "$WORK/data-gen-$seed" "$ROWS" "$seed"
    DATASETS+=("gen:$seed:$WORK/data-gen-$seed")
  fi
  if [[ ",$TABLES," =~ ,C[0-9], ]]; then
    echo "== justat generate cjn (2019, scale $CJN_SCALE, seed $seed) in $WORK/data-cjn-$seed"
    "$JUSTAT_BIN" generate cjn --years 2019 --scale "$CJN_SCALE" --seed "$seed" --out "$WORK/raw-cjn-$seed" >/dev/null
    "$PY" "$ROOT/bench/sdc/gen.py" cjn "$ROOT/crates/justat-model/codelists" "$(ls "$WORK/raw-cjn-$seed"/*.csv)" "$WORK/data-cjn-$seed"
    DATASETS+=("cjn:$seed:$WORK/data-cjn-$seed")
  fi
done

JUSTAT_BIN="$JUSTAT_BIN" SDC_DATASETS="$(IFS=';'; echo "${DATASETS[*]}")" SDC_WORK="$WORK" TABLES="$TABLES" \
  JUSTAT_LOG="${JUSTAT_LOG:-warn}" "$PY" "$ROOT/bench/sdc/sdc_bench.py"
