#!/usr/bin/env bash
# bench/chain: the penal chain on a 10-million-row extract (one row per offence), Justat
# (DataFusion) against DuckDB running the same work as SQL on the same staging Parquet files,
# in the same script. See bench/chain/README.md.
#
#   bash bench/chain/run.sh                       # about 10 million rows (2019-2023)
#   ROWS_SCALE=0.1 bash bench/chain/run.sh        # about 1 million rows, for a quick run
#   BENCH_DIR=/tmp/kept REUSE=1 bash bench/chain/run.sh   # reuse the extract delivered there
#
# Prints the median of 3 runs of each engine, the ratio justat/duckdb, Justat's peak memory,
# and fails (exit 1) if the two cubes differ in one cell or the step counts differ.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/justat/target}"
ROWS_SCALE="${ROWS_SCALE:-1}"
# The generator's scale 1 is France's volume: about 2 million offenders a year, 1.6 offences
# each, so 15.9 million rows over 2019-2023. 0.627 of it gives the bench's 10 million rows.
SCALE="$(python3 -c "import sys; print(round(float(sys.argv[1]) * 0.627, 6))" "$ROWS_SCALE")"
WORK="${BENCH_DIR:-/tmp/justat-bench-chain}"
RUNS="${RUNS:-3}"

echo "== building justat (release)"
cargo build --release -p justat >/dev/null
JUSTAT="$CARGO_TARGET_DIR/release/justat"

echo "== preparing DuckDB (PyPI, pinned) in $ROOT/bench/.venv"
if [[ ! -x "$ROOT/bench/.venv/bin/python" ]]; then
  python3 -m venv "$ROOT/bench/.venv"
fi
"$ROOT/bench/.venv/bin/pip" install --quiet -r "$ROOT/bench/requirements.txt"
PY="$ROOT/bench/.venv/bin/python"

export JUSTAT_DATA_DIR="$WORK/data" JUSTAT_LOG=warn
export JUSTAT_ENGINE_MEMORY_MIB="${JUSTAT_ENGINE_MEMORY_MIB:-1024}"
if [[ "${REUSE:-0}" == 1 && -f "$WORK/prepared" ]]; then
  echo "== reusing the extract delivered in $WORK"
else
  rm -rf "$WORK"
  mkdir -p "$WORK"
  echo "== generating the penal extract (generator scale $SCALE, 2019-2023)"
  "$JUSTAT" generate penal --years 2019-2023 --scale "$SCALE" --seed 7 --out "$WORK/extracts"
  echo "== delivering it (CSV -> checked staging Parquet)"
  for f in "$WORK"/extracts/penal_*.csv; do
    "$JUSTAT" delivery add penal "$f" | sed -n 1p
  done
  touch "$WORK/prepared"
fi
IDS=()
STAGING=()
n="$("$JUSTAT" delivery list | awk 'NR>1' | wc -l)"
for id in $(seq 1 "$n"); do
  IDS+=("--delivery" "$id")
  sha="$("$JUSTAT" delivery show "$id" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["staging_sha256"])')"
  STAGING+=("$WORK/data/lake/staging/$sha.parquet")
done

echo "== justat chain run penal_orientations ($RUNS runs)"
: >"$WORK/justat-times"
for run in $(seq 1 "$RUNS"); do
  JSON="$WORK/justat-run-$run.json"
  T0="$(date +%s.%N)"
  "$JUSTAT" chain run penal_orientations "${IDS[@]}" --json >"$JSON"
  T1="$(date +%s.%N)"
  python3 - "$JSON" "$T0" "$T1" >>"$WORK/justat-times" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["manifest"]
wall = float(sys.argv[3]) - float(sys.argv[2])
print(m["duration_ms"] / 1000, wall, m["peak_memory_bytes"])
PY
  tail -1 "$WORK/justat-times" | awk -v r="$run" '{printf "   run %s: %.2f s in the engine, %.2f s in all, peak %d MiB\n", r, $1, $2, $3 / 1048576}'
done

echo "== duckdb, same work ($RUNS runs)"
: >"$WORK/duckdb-times"
for run in $(seq 1 "$RUNS"); do
  rm -rf "$WORK/duckdb-out"
  "$PY" "$ROOT/bench/chain/duckdb_chain.py" "$ROOT/crates/justat-model/codelists" "$WORK/duckdb-out" "${STAGING[@]}" >"$WORK/duckdb-run-$run.json"
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$WORK/duckdb-run-$run.json" >>"$WORK/duckdb-times"
  echo "   run $run: $(tail -1 "$WORK/duckdb-times") s"
done

echo "== comparing the results"
"$PY" - "$WORK" "$RUNS" <<'PY'
import json, statistics, sys
import duckdb

work, runs = sys.argv[1], int(sys.argv[2])
manifest = json.load(open(f"{work}/justat-run-{runs}.json"))["manifest"]
duck = json.load(open(f"{work}/duckdb-run-{runs}.json"))
ok = True
j_steps = [s["rows_after"] for s in manifest["steps"]]
if j_steps != duck["steps"]:
    print(f"  DIFFERENT rows after each step: justat {j_steps}, duckdb {duck['steps']}")
    ok = False
j_rules = {r["id"]: r["failed"] for r in manifest["rules"]}
if j_rules != duck["rules"]:
    print(f"  DIFFERENT rule failures: justat {j_rules}, duckdb {duck['rules']}")
    ok = False
con = duckdb.connect()
cols = 'CAST("TIME_PERIOD" AS VARCHAR) p, CAST(court AS VARCHAR) c, CAST(orientation AS VARCHAR) o, CAST(offence_group AS VARCHAR) g, CAST(auteurs AS BIGINT) n'
j_cube = f"{work}/data/lake/cubes/{manifest['cube'][0]}.parquet"
d_cube = f"{work}/duckdb-out/cube.parquet"
con.execute(f"CREATE VIEW j AS SELECT {cols} FROM read_parquet('{j_cube}')")
con.execute(f"CREATE VIEW d AS SELECT {cols} FROM read_parquet('{d_cube}')")
only_j = con.execute("SELECT COUNT(*) FROM (SELECT * FROM j EXCEPT ALL SELECT * FROM d)").fetchone()[0]
only_d = con.execute("SELECT COUNT(*) FROM (SELECT * FROM d EXCEPT ALL SELECT * FROM j)").fetchone()[0]
cells = con.execute("SELECT COUNT(*) FROM j").fetchone()[0]
if only_j or only_d:
    print(f"  DIFFERENT cubes: {only_j} cells only in Justat's, {only_d} only in DuckDB's")
    for r in con.execute("(SELECT 'justat', * FROM j EXCEPT ALL SELECT 'justat', * FROM d) UNION ALL (SELECT 'duckdb', * FROM d EXCEPT ALL SELECT 'duckdb', * FROM j) LIMIT 10").fetchall():
        print("   ", r)
    ok = False
q_rows = con.execute(f"SELECT COUNT(*) FROM read_parquet('{work}/duckdb-out/quarantine.parquet')").fetchone()[0]
q_want = j_rules["C_LEGAL_PERSON_SEX"] + j_rules["RECODE_OFFENCE_GROUP"]
if q_rows != q_want:
    print(f"  DIFFERENT quarantine: duckdb copied {q_rows} rows, justat rejected {q_want}")
    ok = False
if ok:
    print(f"  same counts at every step, same cube: {cells} cells identical, values included")

j = [tuple(map(float, l.split())) for l in open(f"{work}/justat-times")]
d = [float(l) for l in open(f"{work}/duckdb-times")]
j_engine = statistics.median(x[0] for x in j)
j_wall = statistics.median(x[1] for x in j)
j_peak = max(x[2] for x in j) / 2**20
d_s = statistics.median(d)
rows, units = j_steps[0], j_steps[-2]
print()
def sp(n):
    return f"{n:,}".replace(",", " ")
print(f"penal chain on {sp(rows)} rows, {sp(units)} units (offender in a case), {rows / units:.2f} rows per unit, {sp(cells)} cells")
print(f"  justat (DataFusion): {j_engine:6.2f} s in the engine, median of {runs} ({j_wall:.2f} s for the whole command); peak memory {j_peak:.0f} MiB (largest of {runs}; goal <= 2048)")
print(f"  duckdb             : {d_s:6.2f} s, median of {runs}")
print(f"  ratio justat/duckdb: {j_engine / d_s:.2f}   (goal <= 1.0)")
print(f"  runs: justat {', '.join(f'{x[0]:.2f}' for x in j)} s; duckdb {', '.join(f'{x:.2f}' for x in d)} s")
sys.exit(0 if ok else 1)
PY
