#!/usr/bin/env bash
# Brings a fresh machine (Node.js >= 20 with npm) to a built workspace:
# pnpm, the dependencies from the lockfile, the native addon, every package.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM_VERSION=10.34.9
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION" >&2
  npm install --global "pnpm@$PNPM_VERSION" >/dev/null 2>&1 \
    || npm install --global --prefix "$HOME/.local" "pnpm@$PNPM_VERSION" >/dev/null
  export PATH="$HOME/.local/bin:$PATH"
fi
# The native addon builds against the headers installed beside node (no download).
export npm_config_nodedir="${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}"
pnpm install --frozen-lockfile
pnpm build
