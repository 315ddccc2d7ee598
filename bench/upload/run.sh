#!/usr/bin/env bash
# bench/upload: issue 23's accident — a gzip of about 7 MB holding one 1.5 GB line (what a file
# whose line endings were lost becomes) — delivered as a penal extract, with the peak resident
# memory of the process that checks it.
#
#   bash bench/upload/run.sh                 # the issue's size: one 1.5 GB line
#   LINE_MB=150 bash bench/upload/run.sh     # a tenth of it
#   MEM_CAP_MIB=4096 bash bench/upload/run.sh  # stop the process at 4 GiB of virtual memory
#
# It runs the engine's ignored test `measure::measure_one_delivery` (a debug build, like the other
# tests), which prints the delivery's status, its reason and the process's VmHWM; GNU time
# prints the maximum resident set size of the whole process as well.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/justat/target}"
LINE_MB="${LINE_MB:-1500}"
WORK="${BENCH_DIR:-/tmp/justat-bench-upload}"
mkdir -p "$WORK"
FILE="$WORK/one-line-${LINE_MB}mb.csv.gz"

if [[ ! -s "$FILE" ]]; then
  echo "== writing $FILE: the penal header, then one line of $LINE_MB MB"
  # 'x' with a random letter every 850 bytes or so: about 200:1 under gzip -6, like the
  # issue's 6.9 MB for 1.5 GB.
  python3 - "$LINE_MB" <<'PY' | gzip -6 >"$FILE"
import random, sys
total = int(sys.argv[1]) * 1_000_000
out = sys.stdout.buffer
out.write(b"case_id;offender_id;court;reception_date;orientation_date;natinf;legal_class;"
          b"orientation;sex;age;minor;legal_person\n")
rng = random.Random(23)
block = bytearray(b"x" * 7_000_000)
for i in range(0, len(block), 850):
    block[i + rng.randrange(850) if i + 850 <= len(block) else i] = rng.randrange(97, 123)
while total > 0:
    n = min(total, len(block))
    out.write(block[:n])
    total -= n
out.write(b"\n")
PY
fi
ls -l "$FILE"

echo "== building the engine's tests"
BIN="$(cargo test -p justat-engine --test it --no-run 2>&1 |
  sed -n 's/.*Executable tests\/it\/main.rs (\(.*\))/\1/p' | tail -1)"
echo "   $BIN"

echo "== delivering it"
CAP="${MEM_CAP_MIB:-0}"
run() {
  JUSTAT_MEASURE_FILE="$FILE" /usr/bin/time -f "time: wall=%e s, maxrss=%M KiB, exit=%x" \
    "$BIN" measure::measure_one_delivery --exact --ignored --nocapture --test-threads=1 2>&1 |
    grep -oE "MEASURE.*|^time:.*|panicked.*|memory allocation.*" || true
}
if [[ "$CAP" != 0 ]]; then
  (ulimit -v $((CAP * 1024)) && run)
else
  run
fi
