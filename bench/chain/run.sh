#!/usr/bin/env bash
# bench/chain: the penal chain on a 10-million-row extract, Justat (DataFusion) against DuckDB
# running the same work as SQL on the same Parquet files, in the same script.
#
#   bash bench/chain/run.sh            # 10 million rows (5 years at scale 1)
#   ROWS_SCALE=0.2 bash bench/chain/run.sh   # a quicker, smaller run
#
# Prints both times, the ratio justat/duckdb and Justat's peak memory (the chain runs with the
# engine's memory limit, JUSTAT_ENGINE_MEMORY_MIB, at its default, 1024 MiB: it spills rather than fails).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/justat/target}"
SCALE="${ROWS_SCALE:-1}"
WORK="${BENCH_DIR:-/tmp/justat-bench-chain}"
rm -rf "$WORK"
mkdir -p "$WORK"

echo "== building justat (release)"
cargo build --release -p justat >/dev/null
JUSTAT="$CARGO_TARGET_DIR/release/justat"

echo "== preparing DuckDB (PyPI, pinned) in $ROOT/bench/.venv"
if [[ ! -x "$ROOT/bench/.venv/bin/python" ]]; then
  python3 -m venv "$ROOT/bench/.venv"
fi
"$ROOT/bench/.venv/bin/pip" install --quiet -r "$ROOT/bench/requirements.txt"

export JUSTAT_DATA_DIR="$WORK/data" JUSTAT_LOG=warn JUSTAT_ENGINE_MEMORY_MIB=1024
echo "== generating the penal extract (scale $SCALE, 2019-2023)"
"$JUSTAT" generate penal --years 2019-2023 --scale "$SCALE" --seed 7 --out "$WORK/extracts"
echo "== delivering it (CSV -> checked staging Parquet)"
IDS=()
STAGING=()
n=0
for f in "$WORK"/extracts/penal_*.csv; do
  "$JUSTAT" delivery add penal "$f" | head -1
  n=$((n + 1))
  IDS+=("--delivery" "$n")
done
for id in $(seq 1 "$n"); do
  sha="$("$JUSTAT" delivery show "$id" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["staging_sha256"])')"
  STAGING+=("$WORK/data/lake/staging/$sha.parquet")
done
TOTAL_ROWS="$("$JUSTAT" delivery list | awk 'NR>1 {s += $4} END {print s}')"
echo "   $TOTAL_ROWS valid rows in ${#STAGING[@]} staging files"

echo "== justat chain run penal_orientations"
JSON="$WORK/justat-run.json"
T0="$(date +%s.%N)"
"$JUSTAT" chain run penal_orientations "${IDS[@]}" --json >"$JSON"
J_WALL="$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$T0" "$(date +%s.%N)")"
J_RSS_KIB="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifest"]["peak_memory_bytes"] // 1024)' "$JSON")"
J_ENGINE_MS="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifest"]["duration_ms"])' "$JSON")"
J_CELLS="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifest"]["cube"][1])' "$JSON")"

echo "== duckdb, same work"
D_JSON="$("$ROOT/bench/.venv/bin/python" "$ROOT/bench/chain/duckdb_chain.py" "$ROOT/crates/justat-model/codelists" "$WORK/duckdb-cube.parquet" "${STAGING[@]}")"
D_SECONDS="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$D_JSON")"
D_CELLS="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["cells"])' "$D_JSON")"

python3 - "$TOTAL_ROWS" "$J_ENGINE_MS" "$J_WALL" "$J_RSS_KIB" "$J_CELLS" "$D_SECONDS" "$D_CELLS" <<'PY'
import sys
rows, j_ms, j_wall, j_rss, j_cells, d_s, d_cells = sys.argv[1:]
j = int(j_ms) / 1000
d = float(d_s)
print()
print(f"penal chain on {int(rows):,} rows".replace(",", " "))
print(f"  justat (DataFusion): {j:7.2f} s in the engine ({float(j_wall):.2f} s for the whole command), peak memory {int(j_rss) / 1024:.0f} MiB, {j_cells} cells")
print(f"  duckdb             : {d:7.2f} s, {d_cells} cells")
print(f"  ratio justat/duckdb: {j / d:.2f}   (target <= 1.5, goal <= 1.0)")
if j_cells != d_cells:
    print(f"  WARNING: the cubes differ in size ({j_cells} vs {d_cells})")
PY
