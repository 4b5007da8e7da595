#!/usr/bin/env bash
# Installs and builds Vigil on a fresh Debian 12 machine with Node.js 20 (the README's first command):
# the Debian packages the eBPF probe is built with, the npm dependencies, the TypeScript build and the
# probe for the running kernel. Run as root (apt-get); idempotent: what is present is not redone.
#
#   sudo bash scripts/setup.sh && sudo node dist/src/cli/main.js up
#
# Extra Debian packages to install can be passed in VIGIL_EXTRA_PACKAGES (the test command does).
set -euo pipefail
cd "$(dirname "$0")/.."

# The eBPF probe build (clang, libbpf-dev, bpftool, make, gcc, pkg-config) and the ptrace driver (strace).
PACKAGES=(strace clang libbpf-dev bpftool make gcc pkg-config)
read -r -a extra <<<"${VIGIL_EXTRA_PACKAGES:-}"
missing=()
for p in "${PACKAGES[@]}" "${extra[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ "$(id -u)" != 0 ]]; then
    echo "setup: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    echo "setup: run: sudo apt-get install -y ${missing[*]}   (or run this script with sudo)" >&2
    exit 1
  fi
  echo "==> installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi

echo "==> npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "==> build"
npm run -s build
echo "==> eBPF probe"
# Optional here: without it (no BTF, not x86_64) Vigil falls back to the ptrace driver and says why.
bash scripts/build-bpf.sh --optional
