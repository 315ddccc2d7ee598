#!/usr/bin/env bash
# bench/publish: every publication of the demo as ten yearly editions (4 collections, every
# folder of publications/ each year: 70 builds), each built in all its formats — page, SVG charts, PDF, CSV,
# French CSV, XLSX, zip — from cubes of 15 years of synthetic data, its tables protected and
# audited. Prints the time and peak memory of each build, and the total.
#
#   bash bench/publish/run.sh                     # editions 2015-2024
#   FIRST=2022 bash bench/publish/run.sh          # fewer editions
#   JUSTAT_BIN=/path/to/justat bash bench/publish/run.sh   # an already built binary
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/justat/target}"
FIRST="${FIRST:-2015}"
LAST="${LAST:-2024}"
WORK="${BENCH_DIR:-/tmp/justat-bench-publish}"
rm -rf "$WORK"
mkdir -p "$WORK"

if [[ -z "${JUSTAT_BIN:-}" ]]; then
  echo "== building justat (release)"
  cargo build --release -p justat >/dev/null
  JUSTAT_BIN="$CARGO_TARGET_DIR/release/justat"
fi
export JUSTAT_DATA_DIR="$WORK/data" JUSTAT_LOG=warn

echo "== data: the demo's extracts for $((FIRST - 5))-$LAST, delivered and run into cubes"
"$JUSTAT_BIN" demo --prepare-only >/dev/null # accounts, and the demo's own publications
for spec in "cjn 0.01 cjn_convictions" "penal 0.005 penal_orientations"; do
  read -r source scale chain <<<"$spec"
  "$JUSTAT_BIN" generate "$source" --years "$((FIRST - 5))-$LAST" --scale "$scale" --seed 2027 --out "$WORK/extracts/$source" >/dev/null
  args=()
  for f in "$WORK"/extracts/"$source"/*.csv; do
    id="$("$JUSTAT_BIN" delivery add "$source" "$f" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
    args+=(--delivery "$id")
  done
  "$JUSTAT_BIN" chain run "$chain" "${args[@]}" >/dev/null
done

echo "== editions $FIRST-$LAST of the demo's publications"
count="$(python3 "$ROOT/bench/publish/editions.py" "$ROOT/publications" "$WORK/editions" "$FIRST" "$LAST")"
echo "$count publications to build"

printf '%-58s %9s %11s\n' "publication" "time (s)" "peak (MiB)"
total_start="$(date +%s.%N)"
peak_max=0
for dir in "$WORK"/editions/*/; do
  name="$(basename "$dir")"
  /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$JUSTAT_BIN" publication import "$dir" --as statisticienne >"$WORK/build.log" 2>&1 || {
    cat "$WORK/build.log"
    echo "FAILED: $name" >&2
    exit 1
  }
  read -r secs kib <"$WORK/time.txt"
  mib=$((kib / 1024))
  ((mib > peak_max)) && peak_max=$mib
  printf '%-58s %9.2f %11d\n' "$name" "$secs" "$mib"
done
total_end="$(date +%s.%N)"
total="$(python3 -c "print(f'{$total_end - $total_start:.1f}')")"
echo
echo "total: $count publications in $total s ($(python3 -c "print(f'{($total_end - $total_start) / $count:.2f}')") s each), peak memory of one build ${peak_max} MiB"
