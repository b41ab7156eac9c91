#!/usr/bin/env bash
# The README's test command: set up what is missing, build, then typecheck, lint and run every test.
# Tests start their own redis-server, devstack, SIS server, Prometheus and worker processes on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
mkdir -p .obsq
# The tests spawn the compiled obsq, worker and devstack (vitest's global setup rebuilds too, so a
# lone `vitest run` never runs a stale bundle); building here first makes a broken build fail early.
echo "== build"; pnpm --silent build
echo "== typecheck"; pnpm typecheck
echo "== lint"; pnpm lint
echo "== tests"
status=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile=.obsq/vitest-report.json "$@" || status=$?
node scripts/testSummary.mjs .obsq/vitest-report.json || status=1
exit "$status"
