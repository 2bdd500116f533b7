#!/usr/bin/env bash
# Sets the workspace up and runs the demo (kernel when privileged, mock otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
export PATH="$HOME/.local/bin:$PATH"
exec pnpm --silent demo "$@"
