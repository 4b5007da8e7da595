#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine with Node.js 20 (this is what .ci/run calls).
# It installs what the tests need, builds, runs type check, lint and format check, then every test.
# Suites that need ../shared/fixtures skip with a message naming the folder when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use beyond what setup.sh installs for the product: real containers (runc,
# busybox-static), the PostgreSQL store (postgresql), the metrics scrape and Alertmanager sink tests
# (prometheus, prometheus-alertmanager), scap read-back (sysdig).
export VIGIL_EXTRA_PACKAGES="runc busybox-static postgresql prometheus prometheus-alertmanager sysdig"
# Packages, npm ci, build; the eBPF probe must build here (the tests need it), so build it strictly.
bash scripts/setup.sh
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
