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

# Best of 3 runs for each engine: this machine's timings vary by ±15 % from run to run.
echo "== justat chain run penal_orientations (best of 3)"
J_ENGINE_MS=""
J_RSS_KIB=0
for run in 1 2 3; do
  JSON="$WORK/justat-run-$run.json"
  T0="$(date +%s.%N)"
  "$JUSTAT" chain run penal_orientations "${IDS[@]}" --json >"$JSON"
  WALL="$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$T0" "$(date +%s.%N)")"
  MS="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifest"]["duration_ms"])' "$JSON")"
  RSS="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifest"]["peak_memory_bytes"] // 1024)' "$JSON")"
  echo "   run $run: ${MS} ms in the engine, ${WALL} s in all, peak $((RSS / 1024)) MiB"
  if [[ -z "$J_ENGINE_MS" || "$MS" -lt "$J_ENGINE_MS" ]]; then J_ENGINE_MS="$MS"; J_WALL="$WALL"; fi
  if (( RSS > J_RSS_KIB )); then J_RSS_KIB="$RSS"; fi
  J_CELLS="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifest"]["cube"][1])' "$JSON")"
done

echo "== duckdb, same work (best of 3)"
D_SECONDS=""
for run in 1 2 3; do
  D_JSON="$("$ROOT/bench/.venv/bin/python" "$ROOT/bench/chain/duckdb_chain.py" "$ROOT/crates/justat-model/codelists" "$WORK/duckdb-cube.parquet" "${STAGING[@]}")"
  S="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$D_JSON")"
  echo "   run $run: $S s"
  D_SECONDS="$(python3 -c 'import sys; a = sys.argv[1]; b = float(sys.argv[2]); print(b if a == "" else min(float(a), b))' "$D_SECONDS" "$S")"
  D_CELLS="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["cells"])' "$D_JSON")"
done

python3 - "$TOTAL_ROWS" "$J_ENGINE_MS" "$J_WALL" "$J_RSS_KIB" "$J_CELLS" "$D_SECONDS" "$D_CELLS" <<'PY'
import sys
rows, j_ms, j_wall, j_rss, j_cells, d_s, d_cells = sys.argv[1:]
j = int(j_ms) / 1000
d = float(d_s)
print()
print(f"penal chain on {int(rows):,} rows".replace(",", " "))
print(f"  justat (DataFusion): {j:7.2f} s in the engine, best of 3 ({float(j_wall):.2f} s for the whole command), peak memory {int(j_rss) / 1024:.0f} MiB (largest of 3), {j_cells} cells")
print(f"  duckdb             : {d:7.2f} s, best of 3, {d_cells} cells")
print(f"  ratio justat/duckdb: {j / d:.2f}   (target <= 1.5, goal <= 1.0)")
if j_cells != d_cells:
    print(f"  WARNING: the cubes differ in size ({j_cells} vs {d_cells})")
PY
