#!/usr/bin/env bash
# Installs what a fresh Debian 12 + Node 20 machine lacks: the Debian packages obsq's local stack and
# tests use, pnpm 12.4.2 (through npm; corepack cannot fetch here) and the workspace.
# Safe to run again: every step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

# docker-compose: only its config checker is used (`docker-compose config`), no engine runs here.
DEBIAN_PACKAGES=(redis-server pocketsphinx pocketsphinx-en-us pocketsphinx-testdata sox prometheus docker-compose rclone chromium gcc pkg-config libpocketsphinx-dev libsphinxbase-dev)
PNPM_VERSION=12.4.2

log() { printf '[bootstrap] %s\n' "$*" >&2; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  log "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))."
  exit 1
fi

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # --no-install-recommends keeps prometheus from pulling in its exporters' services.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The prometheus and redis packages start system services on install; obsq starts its own
    # instances on free ports, so the system ones are left as they are (not stopped: they may be yours).
  else
    log "missing Debian packages: ${missing[*]}"
    log "run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  log "installing pnpm $PNPM_VERSION through npm"
  if [ "$(id -u)" -eq 0 ] || [ -w "$(npm prefix -g)/lib" ]; then
    npm install -g --silent "pnpm@$PNPM_VERSION"
  else
    log "npm's global prefix is not writable; run: sudo npm install -g pnpm@$PNPM_VERSION"
    exit 1
  fi
fi

log "installing the workspace (pnpm install --frozen-lockfile)"
pnpm install --frozen-lockfile --reporter=silent
