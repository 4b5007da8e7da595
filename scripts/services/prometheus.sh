#!/usr/bin/env bash
# A private Prometheus for tests, on loopback only, scraping one target.
#
#   scripts/services/prometheus.sh install
#       install Debian's `prometheus` when /usr/bin/prometheus is missing (needs root)
#   scripts/services/prometheus.sh start --target HOST:PORT [--job NAME] [--token-file F] [--scheme http|https]
#                                        [--insecure-tls] [--dir DIR] [--interval 1s]
#       start a private instance (installing first when needed) with its own config and a temp TSDB in
#       DIR (default: a new folder under ${TMPDIR:-/tmp}); print its URL on stdout once it is ready.
#       The pid is in DIR/pid, the log in DIR/prometheus.log.
#   scripts/services/prometheus.sh stop --dir DIR
#       stop the instance started with that DIR and remove DIR.
#
# Everything but the URL goes to stderr. Exit status: 0 ok; 3 Prometheus cannot be installed here (the
# message on stderr starts with "prometheus unavailable:"); 2 usage; anything else a failure to start.
set -euo pipefail

SERVICE=prometheus
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
usage() {
  sed -n '2,16p' "$0" >&2
  exit 2
}

bin="${VIGIL_PROMETHEUS_BIN:-/usr/bin/prometheus}"

install_prometheus() {
  [[ -x "$bin" ]] && return 0
  apt_install "$bin" prometheus
  [[ -x "$bin" ]] || unavailable "prometheus installed but $bin is missing"
}


action="${1:-}"
[[ -n "$action" ]] || usage
shift

target="" job="vigil" token_file="" scheme="http" insecure="false" dir="" interval="1s"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --target) target="$2"; shift 2 ;;
    --job) job="$2"; shift 2 ;;
    --token-file) token_file="$2"; shift 2 ;;
    --scheme) scheme="$2"; shift 2 ;;
    --insecure-tls) insecure="true"; shift ;;
    --dir) dir="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; usage ;;
  esac
done

case "$action" in
  install)
    install_prometheus
    exit 0
    ;;
  stop)
    [[ -n "$dir" ]] || usage
    if [[ -f "$dir/pid" ]]; then
      pid="$(cat "$dir/pid")"
      if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      fi
    fi
    rm -rf "$dir"
    exit 0
    ;;
  start) ;;
  *) usage ;;
esac

[[ -n "$target" ]] || usage
install_prometheus
[[ -n "$dir" ]] || dir="$(mktemp -d "${TMPDIR:-/tmp}/vigil-prometheus.XXXXXX")"
mkdir -p "$dir/data"
port="${VIGIL_PROMETHEUS_PORT:-$(free_port)}"

{
  echo "global:"
  echo "  scrape_interval: $interval"
  echo "  evaluation_interval: $interval"
  echo "scrape_configs:"
  echo "  - job_name: '$job'"
  echo "    scrape_interval: $interval"
  echo "    scrape_timeout: $interval"
  echo "    scheme: $scheme"
  if [[ -n "$token_file" ]]; then
    echo "    authorization:"
    echo "      type: Bearer"
    echo "      credentials_file: '$token_file'"
  fi
  if [[ "$insecure" == true ]]; then
    echo "    tls_config:"
    echo "      insecure_skip_verify: true"
  fi
  echo "    static_configs:"
  echo "      - targets: ['$target']"
} >"$dir/prometheus.yml"

log "starting $bin on 127.0.0.1:$port scraping $scheme://$target (job $job), data in $dir"
# Own session, no inherited pipes: the caller's stdout must close when this script exits.
setsid "$bin" \
  --config.file="$dir/prometheus.yml" \
  --storage.tsdb.path="$dir/data" \
  --web.listen-address="127.0.0.1:$port" \
  --log.level=warn \
  </dev/null >"$dir/prometheus.log" 2>&1 &
echo $! >"$dir/pid"

url="http://127.0.0.1:$port"
for _ in $(seq 300); do
  if curl -fsS "$url/-/ready" >/dev/null 2>&1; then
    echo "$url"
    exit 0
  fi
  kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
  sleep 0.1
done
log "prometheus did not become ready; its log:"
tail -n 30 "$dir/prometheus.log" >&2 || true
kill -TERM "$(cat "$dir/pid")" 2>/dev/null || true
exit 1
