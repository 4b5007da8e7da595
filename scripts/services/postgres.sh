#!/usr/bin/env bash
# A private PostgreSQL for tests and benchmarks, on loopback only.
#
#   scripts/services/postgres.sh [start]   install if missing, start (or reuse), print the URL on stdout
#   scripts/services/postgres.sh --export  same, but print `export VIGIL_PG_URL=...` (for eval)
#   scripts/services/postgres.sh stop      stop the server started here (its data stays for reuse)
#   scripts/services/postgres.sh status    print the URL when running; exit 1 otherwise
#
# Works on a fresh Debian machine as root with no services running: installs Debian's `postgresql`
# when no server binaries are present, then runs its own cluster as the `postgres` user (or as the
# calling user when not root) in $VIGIL_PG_DIR (default: ${TMPDIR:-/tmp}/vigil-postgres), listening on
# 127.0.0.1 on a free port (or $VIGIL_PG_PORT), trust auth, database $VIGIL_PG_DB (default: vigil).
# Idempotent and safe to run concurrently: a second call finds the running server and prints its URL.
#
# Everything but the URL goes to stderr. Exit status: 0 ready; 3 PostgreSQL cannot be installed here
# (the message on stderr starts with "postgresql unavailable:"); anything else is a failure to start.
set -euo pipefail

dir="${VIGIL_PG_DIR:-${TMPDIR:-/tmp}/vigil-postgres}"
db="${VIGIL_PG_DB:-vigil}"
action="${1:-start}"

SERVICE=postgresql
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

find_bin() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [[ -n "$d" && -x "$d/postgres" && -x "$d/initdb" && -x "$d/pg_ctl" ]] && echo "$d"
  return 0
}

install_postgres() {
  apt_install "server binaries" postgresql postgresql-contrib
}

# Runs a command as the cluster's owner.
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}


url_for() { echo "postgres://postgres@127.0.0.1:$1/$db"; }

running() { [[ -f "$dir/data/PG_VERSION" ]] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; }

bin="$(find_bin)"

case "$action" in
  stop)
    if [[ -n "$bin" ]] && running; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2
    fi
    exit 0
    ;;
  status)
    if [[ -n "$bin" ]] && running && [[ -f "$dir/port" ]]; then
      url_for "$(cat "$dir/port")"
      exit 0
    fi
    exit 1
    ;;
  start | --export) ;;
  *)
    echo "usage: $0 [start|--export|stop|status]" >&2
    exit 2
    ;;
esac

if [[ -z "$bin" ]]; then
  install_postgres
  bin="$(find_bin)"
  [[ -n "$bin" ]] || unavailable "postgresql installed but no server binaries under /usr/lib/postgresql"
fi

mkdir -p "$dir"
if [[ "$(id -u)" == 0 ]]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  chown postgres: "$dir"
fi

# One caller at a time from here: initdb and start must not race.
exec 9>"$dir/.lock"
flock 9

if [[ ! -f "$dir/data/PG_VERSION" ]]; then
  log "initialising a cluster in $dir/data"
  as_owner mkdir -p "$dir/data" "$dir/run"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
  }
  # Loopback only; sockets in our own folder (no /var/run/postgresql needed).
  as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/run'
max_connections = 100
shared_buffers = 256MB
EOF
fi

if ! running; then
  port="${VIGIL_PG_PORT:-$(free_port)}"
  log "starting PostgreSQL ($bin) on 127.0.0.1:$port"
  as_owner mkdir -p "$dir/run"
  # The server must not inherit the lock (fd 9) nor the caller's pipes, or callers would wait on it.
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 -o "-p $port" start </dev/null >&2 9>&- || {
    tail -n 30 "$dir/data/server.log" >&2 || true
    exit 1
  }
  echo "$port" >"$dir/port"
fi
port="$(cat "$dir/port")"

# The database, created once.
psql_() { as_owner "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres "$@"; }
if [[ "$(psql_ -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]]; then
  log "creating database $db"
  psql_ -d postgres -c "CREATE DATABASE \"$db\"" >&2
fi

if [[ "$action" == --export ]]; then
  echo "export VIGIL_PG_URL=$(url_for "$port")"
else
  url_for "$port"
fi
