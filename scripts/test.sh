#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine with Node.js 20 (this is what .ci/run calls).
# It installs what the tests need, builds, runs type check, lint and format check, then every test.
# Suites that need ../shared/fixtures skip with a message naming the folder when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: ptrace capture (strace), real containers (runc, busybox-static), the
# eBPF probe build (clang, libbpf-dev, bpftool, make, gcc, pkg-config), the PostgreSQL store (postgresql),
# the metrics scrape and Alertmanager sink tests (prometheus, prometheus-alertmanager), scap read-back (sysdig).
APT_PACKAGES=(strace runc busybox-static clang libbpf-dev bpftool make gcc pkg-config postgresql prometheus prometheus-alertmanager sysdig)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
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
bash scripts/build-bpf.sh
echo "==> type check"
npm run -s typecheck
echo "==> lint"
npm run -s lint
echo "==> format check"
npm run -s format:check
echo "==> tests"
report="$(mktemp)"
status=0
VIGIL_SKIP_BUILD=1 npx vitest run --reporter=default --reporter=json --outputFile="$report" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = (r.numPendingTests || 0) + (r.numTodoTests || 0);
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$report" || true
rm -f "$report"
exit "$status"
