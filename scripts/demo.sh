#!/usr/bin/env bash
# The README's main-job command: set up what is missing, then run obsq end to end on a private local
# stack (redis-server, devstack OBS + SIS, worker processes, producer) and shut it all down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec pnpm --silent obsq demo "$@"
