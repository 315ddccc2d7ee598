#!/usr/bin/env bash
# bench/serve: the public site against nginx serving the same bytes from files, then the
# release instant under load.
#
#   bash bench/serve/run.sh                 # release build, 10 s per target and server
#   DURATION=5 JUSTAT_BIN=$CARGO_TARGET_DIR/release/justat bash bench/serve/run.sh
#
# 1. Prepares the demo's data (`justat demo --prepare-only`) and starts `justat serve` on it
#    with its default settings (public cache on, log `warn`).
# 2. Fetches each target once from Justat and writes the bytes to a file that nginx serves
#    with the same media type (nginx as its users tune it for static files: two workers,
#    sendfile, open_file_cache, no access log — Justat logs no request line at `warn` either).
#    Both servers' answers are compared byte for byte: a difference fails the script.
# 3. Runs `wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency` on each target, Justat then nginx,
#    and prints requests per second, p99 and the ratio justat/nginx.
# 4. The instant under load: moves the demo's embargoed release to an instant 20 s ahead and
#    runs 256 connections on its page from 5 s before to 5 s after that instant. It fails
#    unless no answer before the instant is a success, every answer from 1 s after it is a 200,
#    and none is a 5xx.
#
# Environment: DURATION (10), CONNECTIONS (256), JUSTAT_BIN (default: a release build made
# here), BENCH_DIR (/tmp/justat-bench-serve-cache), JUSTAT_PORT (18080), NGINX_PORT (18081).
# Needs wrk and nginx (Debian packages wrk, nginx-light; installed here when run as root).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/justat/target}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-256}"
WORK="${BENCH_DIR:-/tmp/justat-bench-serve-cache}"
JPORT="${JUSTAT_PORT:-18080}"
NPORT="${NGINX_PORT:-18081}"

for tool in wrk nginx; do
  if ! command -v "$tool" >/dev/null && ! [[ -x /usr/sbin/$tool ]]; then
    if [[ "$(id -u)" == 0 ]]; then
      pkg="$tool"; [[ "$tool" == nginx ]] && pkg=nginx-light
      apt-get install -y "$pkg" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "$pkg" >/dev/null; }
    else
      echo "$tool is missing: apt-get install -y wrk nginx-light" >&2
      exit 1
    fi
  fi
done
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

if [[ -n "${JUSTAT_BIN:-}" ]]; then
  JUSTAT="$JUSTAT_BIN"
else
  echo "== building justat (release)"
  cargo build --release -p justat >/dev/null
  JUSTAT="$CARGO_TARGET_DIR/release/justat"
fi

rm -rf "$WORK"
mkdir -p "$WORK/nginx/root" "$WORK/nginx/tmp"
export JUSTAT_DATA_DIR="$WORK/data" JUSTAT_LOG=warn JUSTAT_LISTEN="127.0.0.1:$JPORT"
unset JUSTAT_DATABASE_URL JUSTAT_CONFIG
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

echo "== preparing the demo's data"
"$JUSTAT" demo --prepare-only >"$WORK/demo.log" 2>&1
"$JUSTAT" serve >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
J="http://127.0.0.1:$JPORT"
for _ in $(seq 1 300); do
  curl -sf "$J/healthz" >/dev/null && break
  sleep 0.2
done
curl -sf "$J/healthz" >/dev/null || { cat "$WORK/serve.log"; echo "justat serve did not start" >&2; exit 1; }

# The targets: a released Infostat page and its files, the home page, the lists, the calendar
# and its feeds, the sitemap. The Infostat page is the demo's largest.
INFOSTAT="$(curl -s "$J/publications/infostat" | grep -o 'href="/publications/infostat/[a-z0-9-]*"' | sed 's/href="//; s/"$//' | sort -u | while read -r p; do
  printf '%s %s\n' "$(curl -s "$J$p" | wc -c)" "$p"; done | sort -n | tail -1 | cut -d' ' -f2)"
[[ -n "$INFOSTAT" ]] || { echo "no Infostat publication in the demo" >&2; exit 1; }
CSV="$(curl -s "$J$INFOSTAT" | grep -o 'href="/publications/infostat/[^"]*/donnees/[^"]*\.csv"' | head -1 | sed 's/href="//; s/"$//')"
PDF="$(curl -s "$J$INFOSTAT" | grep -o 'href="/publications/infostat/[^"]*\.pdf"' | head -1 | sed 's/href="//; s/"$//')"
TARGETS=(
  "infostat page|$INFOSTAT|"
  "infostat page, brotli|$INFOSTAT|br"
  "its CSV file|$CSV|"
  "its PDF|$PDF|"
  "home page|/|"
  "publications list|/publications|"
  "calendar|/calendrier|"
  "calendar API|/api/v1/calendrier|"
  "Atom feed|/calendrier.atom|"
  "iCalendar|/calendrier.ics|"
  "sitemap|/sitemap.xml|"
)

echo "== fetching each target from justat for nginx"
LOCATIONS=""
i=0
for t in "${TARGETS[@]}"; do
  IFS='|' read -r name path coding <<<"$t"
  [[ -n "$path" ]] || { echo "target '$name' not found in the demo" >&2; exit 1; }
  i=$((i + 1))
  hdr=()
  [[ -n "$coding" ]] && hdr=(-H "Accept-Encoding: $coding")
  code="$(curl -s "${hdr[@]}" -D "$WORK/h$i" -o "$WORK/nginx/root/t$i" -w '%{http_code}' "$J$path")"
  [[ "$code" == 200 ]] || { echo "$path: HTTP $code" >&2; exit 1; }
  ctype="$(grep -i '^content-type:' "$WORK/h$i" | head -1 | cut -d' ' -f2- | tr -d '\r')"
  cenc="$(grep -i '^content-encoding:' "$WORK/h$i" | head -1 | cut -d' ' -f2- | tr -d '\r' || true)"
  extra=""
  [[ -n "$cenc" ]] && extra="add_header Content-Encoding $cenc;"
  LOCATIONS+="    location = /t$i { types { } default_type \"$ctype\"; $extra }
"
done

cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 65;
  open_file_cache max=1000 inactive=60s;
  open_file_cache_valid 60s;
  client_body_temp_path $WORK/nginx/tmp;
  proxy_temp_path $WORK/nginx/tmp;
  fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp;
  scgi_temp_path $WORK/nginx/tmp;
  server {
    listen 127.0.0.1:$NPORT backlog=4096;
    root $WORK/nginx/root;
$LOCATIONS  }
}
CONF
"$NGINX" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' 2>"$WORK/nginx/stderr" &
PIDS+=($!)
N="http://127.0.0.1:$NPORT"
for _ in $(seq 1 50); do curl -sf "$N/t1" >/dev/null && break; sleep 0.1; done

echo "== checking both servers send the same bytes"
i=0
for t in "${TARGETS[@]}"; do
  IFS='|' read -r name path coding <<<"$t"
  i=$((i + 1))
  hdr=()
  [[ -n "$coding" ]] && hdr=(-H "Accept-Encoding: $coding")
  a="$(curl -s "${hdr[@]}" "$J$path" | sha256sum | cut -c1-64)"
  b="$(curl -s "$N/t$i" | sha256sum | cut -c1-64)"
  if [[ "$a" != "$b" ]]; then
    echo "FAIL: $name ($path): justat and nginx answers differ" >&2
    exit 1
  fi
done

# wrk's summary: requests per second and the 99th percentile in ms.
measure() {
  local url="$1" coding="$2" out
  local hdr=()
  [[ -n "$coding" ]] && hdr=(-H "Accept-Encoding: $coding")
  out="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "${hdr[@]}" "$url")"
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
sock = re.search(r"Socket errors: (.*)", out)
print(f"{rps:.0f} {p99:.2f} {errs.group(1) if errs else 0} {'sockerr' if sock else 'ok'}")
PY
}

echo "== wrk -t2 -c$CONNECTIONS -d${DURATION}s on each target, justat then nginx"
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
i=0
for t in "${TARGETS[@]}"; do
  IFS='|' read -r name path coding <<<"$t"
  i=$((i + 1))
  bytes="$(wc -c <"$WORK/nginx/root/t$i")"
  read -r jr jp je js <<<"$(measure "$J$path" "$coding")"
  read -r nr np ne ns <<<"$(measure "$N/t$i" "")"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$path" "$bytes" "$jr" "$jp" "$nr" "$np" "$je$js" "$ne$ns" "$coding" >>"$RESULTS"
  echo "   $name: justat $jr req/s p99 $jp ms | nginx $nr req/s p99 $np ms"
done

echo "== the release instant under load"
EMB_C=references-statistiques
EMB_S=peines-selon-l-infraction-2024
INSTANT="$(python3 -c 'import time; print(int(time.time()) + 20)')"
AT="$(python3 -c 'import sys, datetime; print(datetime.datetime.fromtimestamp(int(sys.argv[1]), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))' "$INSTANT")"
"$JUSTAT" calendar move "$EMB_C" "$EMB_S" --at "$AT" --as chef --reason "Banc d'essai : publication avancée" >"$WORK/move.log" 2>&1 || { cat "$WORK/move.log"; exit 1; }
before="$(curl -s -o /dev/null -w '%{http_code}' "$J/publications/$EMB_C/$EMB_S")"
[[ "$before" == 404 ]] || { echo "FAIL: the scheduled page answers $before before its instant" >&2; exit 1; }
python3 -c 'import sys, time; time.sleep(max(0, float(sys.argv[1]) - 5 - time.time()))' "$INSTANT"
INSTANT_JSON="$(INSTANT="$INSTANT" wrk -t2 -c256 -d10s --latency -s "$ROOT/bench/serve/instant.lua" "$J/publications/$EMB_C/$EMB_S" | grep '^{')"
echo "   $INSTANT_JSON"

python3 - "$RESULTS" "$INSTANT_JSON" "$CONNECTIONS" "$DURATION" "$("$JUSTAT" --version)" <<'PY'
import json, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
inst = json.loads(sys.argv[2])
conns, dur, version = sys.argv[3], sys.argv[4], sys.argv[5]
print()
print(f"public site against nginx, same bytes ({version}; wrk -t2 -c{conns} -d{dur}s, loopback)")
print(f"| target | bytes | justat req/s | p99 | nginx req/s | p99 | ratio | goal (>= 0.5x, p99 < 20 ms) |")
print("|---|---|---|---|---|---|---|---|")
ok = True
for name, path, size, jr, jp, nr, np_, je, ne, coding in rows:
    ratio = float(jr) / float(nr)
    met = ratio >= 0.5 and float(jp) < 20 and je == "0ok"
    ok &= met
    n = lambda x: f"{float(x):,.0f}".replace(",", " ")
    print(f"| {name} | {n(size)} | {n(jr)} | {float(jp):.2f} ms | {n(nr)} | {float(np_):.2f} ms | {ratio:.2f} | {'met' if met else 'NOT MET'} |")
print()
print("release instant under load (256 connections, 5 s before to 5 s after):")
print(f"  answers {inst['answers']} ({inst['before']} before, {inst['after']} after); 2xx before the instant: {inst['early_2xx']}; "
      f"non-200 from 1 s after: {inst['late_non200']}; 5xx: {inst['errors_5xx']}; socket errors: {inst['socket_errors']}")
print(f"  first 200 at instant + {inst['first_200_after_instant_s']:.3f} s; last non-200 at instant + {inst['last_non200_after_instant_s']:.3f} s; p99 {inst['p99_ms']:.2f} ms")
instant_ok = inst["early_2xx"] == 0 and inst["late_non200"] == 0 and inst["errors_5xx"] == 0 and inst["after"] > 0 and inst["before"] > 0
print(f"  instant: {'kept' if instant_ok else 'BROKEN'}")
if not instant_ok:
    sys.exit(1)
PY
