#!/usr/bin/env bash
# A private Prometheus Alertmanager for tests, on loopback only.
#
#   scripts/services/alertmanager.sh [start]   install if missing, start (or reuse), print the URL on stdout
#   scripts/services/alertmanager.sh --export  same, but print `export VIGIL_ALERTMANAGER_URL=...` (for eval)
#   scripts/services/alertmanager.sh stop      stop the server started here
#   scripts/services/alertmanager.sh status    print the URL when running; exit 1 otherwise
#
# Works on a fresh Debian machine as root: installs Debian's `prometheus-alertmanager` when its binary is
# missing, then runs it from $VIGIL_AM_DIR (default: ${TMPDIR:-/tmp}/vigil-alertmanager) with its own
# config (one receiver that notifies nobody) and storage, listening on 127.0.0.1 on a free port (or
# $VIGIL_AM_PORT), clustering off. Idempotent and safe to run concurrently: a second call finds the
# running server and prints its URL.
#
# Everything but the URL goes to stderr. Exit status: 0 ready; 3 Alertmanager cannot be installed here
# (the message on stderr starts with "alertmanager unavailable:"); anything else is a failure to start.
set -euo pipefail

dir="${VIGIL_AM_DIR:-${TMPDIR:-/tmp}/vigil-alertmanager}"
bin="${VIGIL_AM_BIN:-/usr/bin/prometheus-alertmanager}"
action="${1:-start}"

SERVICE=alertmanager
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

install_alertmanager() {
  apt_install "$bin" prometheus-alertmanager
}

url_for() { echo "http://127.0.0.1:$1"; }

# Running = the recorded process is alive and answers its readiness endpoint.
running() {
  [[ -f "$dir/pid" && -f "$dir/port" ]] || return 1
  local pid
  pid="$(cat "$dir/pid")"
  kill -0 "$pid" 2>/dev/null || return 1
  # The pid must still be our Alertmanager, not a recycled number.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--storage.path=$dir/data" || return 1
  ready "$(cat "$dir/port")"
}

ready() {
  node -e '
    const req = require("http").get({ host: "127.0.0.1", port: Number(process.argv[1]), path: "/-/ready", timeout: 2000 }, (res) => {
      res.resume();
      process.exit(res.statusCode === 200 ? 0 : 1);
    });
    req.on("error", () => process.exit(1));
    req.on("timeout", () => { req.destroy(); process.exit(1); });
  ' "$1"
}

case "$action" in
  stop)
    if [[ -f "$dir/pid" ]] && running; then
      pid="$(cat "$dir/pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/pid"
    fi
    exit 0
    ;;
  status)
    if running; then
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

if [[ ! -x "$bin" ]]; then
  install_alertmanager
  [[ -x "$bin" ]] || unavailable "prometheus-alertmanager installed but $bin is missing"
fi

mkdir -p "$dir/data"

# One caller at a time from here: two starts must not race for the port and pid files.
exec 9>"$dir/.lock"
flock 9

if ! running; then
  # A receiver that notifies nobody: tests read alerts back through the API.
  cat >"$dir/alertmanager.yml" <<'YAML'
route:
  receiver: blackhole
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: blackhole
YAML
  port="${VIGIL_AM_PORT:-$(free_port)}"
  log "starting Alertmanager ($bin) on 127.0.0.1:$port"
  # The server must not inherit the lock (fd 9) nor the caller's pipes, or callers would wait on it.
  setsid "$bin" \
    --config.file="$dir/alertmanager.yml" \
    --storage.path="$dir/data" \
    --web.listen-address="127.0.0.1:$port" \
    --cluster.listen-address= \
    </dev/null >"$dir/alertmanager.log" 2>&1 9>&- &
  echo $! >"$dir/pid"
  echo "$port" >"$dir/port"
  for _ in $(seq 1 100); do
    if ready "$port"; then break; fi
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      tail -n 30 "$dir/alertmanager.log" >&2 || true
      rm -f "$dir/pid"
      exit 1
    fi
    sleep 0.1
  done
  if ! running; then
    log "Alertmanager did not become ready within 10 s"
    tail -n 30 "$dir/alertmanager.log" >&2 || true
    exit 1
  fi
fi
port="$(cat "$dir/port")"

if [[ "$action" == --export ]]; then
  echo "export VIGIL_ALERTMANAGER_URL=$(url_for "$port")"
else
  url_for "$port"
fi
