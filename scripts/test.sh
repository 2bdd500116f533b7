#!/usr/bin/env bash
# Sets the workspace up (idempotent) and runs every test of every package.
# The last line is `N passed, N failed, N skipped`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
exec node scripts/test.mjs "$@"
