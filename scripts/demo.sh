#!/usr/bin/env bash
# The README's main-job command: set up what is missing, build, then run the compiled obsq end to end
# on a private local stack (redis-server, devstack OBS + SIS, worker processes, producer) and shut it
# all down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
pnpm --silent build >/dev/null
exec node packages/cli/bin/obsq.js demo "$@"
