# Shared by the service scripts (postgres.sh, alertmanager.sh, prometheus.sh); sourced, not run.
# The sourcing script sets SERVICE (the name in "<SERVICE> unavailable: ..." messages) first.
# Exit status 3 always means "this service cannot be installed here" (tests skip, naming the reason).

log() { echo "[$(basename "$0")] $*" >&2; }

unavailable() {
  echo "$SERVICE unavailable: $*" >&2
  exit 3
}

# apt_install WHAT PACKAGE...: installs Debian packages as root, or exits 3 saying why it cannot.
apt_install() {
  local what="$1"
  shift
  [[ "$(id -u)" == 0 ]] || unavailable "$what is missing and installing Debian's $* needs root"
  command -v apt-get >/dev/null || unavailable "$what is missing and there is no apt-get to install it"
  log "installing Debian's $*"
  export DEBIAN_FRONTEND=noninteractive
  # The packages' own services are not used; where policy-rc.d allows them to start, they are left alone.
  apt-get update -qq >&2 || unavailable "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "$@" >&2 || unavailable "apt-get install $* failed"
}

# A free TCP port on loopback.
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}
