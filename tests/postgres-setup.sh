#!/usr/bin/env bash
# Follows README.md's "Run with PostgreSQL" section as written, on a throw-away cluster, then
# checks that the serving role cannot alter the audit log.
#
# The commands are the README's fenced block under its `<!-- postgres-setup` marker, run as
# they are; only the port 5432 is replaced by the cluster's. Needs a PostgreSQL superuser
# `postgres` reachable without a password on 127.0.0.1:$PG_PORT (`.ci/run` starts one), and
# `justat` built: JUSTAT_BIN=path/to/justat PG_PORT=55432 bash tests/postgres-setup.sh
# It creates the database `justat` and the roles `justat_owner` and `justat_app`, and drops
# them when it ends.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${PG_PORT:?set PG_PORT to the port of the cluster}"
: "${JUSTAT_BIN:?set JUSTAT_BIN to the justat binary}"

# (\140 is a backquote: the fence, written so that the shell leaves it alone.)
block="$(awk '
  /^<!-- postgres-setup/ { marked = 1; next }
  marked && $0 == "\140\140\140sh" { inside = 1; next }
  inside && $0 == "\140\140\140" { exit }
  inside { print }
' README.md)"
if [[ -z "$block" ]] || ! grep -q 5432 <<<"$block"; then
  echo "FAILED: README.md has no postgres-setup block on port 5432" >&2
  exit 1
fi

WORK="$(mktemp -d /tmp/justat-pg-setup.XXXXXX)"
superuser() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
cleanup() {
  local rc=$?
  superuser -d postgres -c 'DROP DATABASE IF EXISTS justat WITH (FORCE)' >/dev/null 2>&1 || true
  superuser -d postgres -c 'DROP ROLE IF EXISTS justat_app' >/dev/null 2>&1 || true
  superuser -d postgres -c 'DROP ROLE IF EXISTS justat_owner' >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT

mkdir -p "$WORK/bin"
ln -s "$(realpath "$JUSTAT_BIN")" "$WORK/bin/justat"
printf '%s\n' "${block//5432/$PG_PORT}" >"$WORK/readme-block.sh"
echo "--- README.md's PostgreSQL block, port $PG_PORT:"
cat "$WORK/readme-block.sh"
echo "---"
(
  cd "$WORK"
  export PATH="$WORK/bin:$PATH" JUSTAT_DATA_DIR="$WORK/data"
  unset JUSTAT_DATABASE_URL JUSTAT_MIGRATE_DATABASE_URL JUSTAT_CONFIG
  set -euo pipefail
  # shellcheck disable=SC1091
  source "$WORK/readme-block.sh"

  # The serving role serves: it reads and writes what the application does.
  users="$(justat user list)"
  grep -q '^alice ' <<<"$users" || { echo "FAILED: alice not listed: $users" >&2; exit 1; }
  verify="$(justat audit verify 2>&1)"
  echo "$verify"
  grep -q '^audit log OK' <<<"$verify" ||
    { echo "FAILED: audit verify as the serving role" >&2; exit 1; }
  if grep -q warning <<<"$verify"; then
    echo "FAILED: audit verify warned on a fresh set-up" >&2
    exit 1
  fi

  # …and cannot alter the audit log: no DDL on it, no UPDATE, DELETE or TRUNCATE.
  for attack in \
    'DROP TRIGGER audit_log_no_update ON audit_log' \
    'DROP TRIGGER audit_log_no_truncate ON audit_log' \
    'ALTER TABLE audit_log DISABLE TRIGGER USER' \
    'DROP TABLE audit_log' \
    "UPDATE audit_log SET actor = 'someone'" \
    'DELETE FROM audit_log' \
    'TRUNCATE audit_log' \
    'CREATE TABLE intruder (x BIGINT)'; do
    if out="$(psql "$JUSTAT_DATABASE_URL" -v ON_ERROR_STOP=1 -qAtc "$attack" 2>&1)"; then
      echo "FAILED: the serving role could run: $attack" >&2
      exit 1
    fi
    grep -Eq 'permission denied|must be owner' <<<"$out" ||
      { echo "FAILED: $attack: $out" >&2; exit 1; }
    echo "refused to the serving role, as it should be: $attack"
  done
  # Read the whole report before matching: `grep -q` would close the pipe at the first line,
  # and the command's next line would then fail on a broken pipe.
  verify="$(justat audit verify 2>&1)"
  grep -q '^audit log OK' <<<"$verify" ||
    { echo "FAILED: audit verify after the attacks: $verify" >&2; exit 1; }
)
echo "README.md's PostgreSQL set-up works; the serving role cannot alter the audit log"
