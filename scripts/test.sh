#!/usr/bin/env bash
# Sets the workspace up (idempotent) and runs every test of every package.
# The last line is `N passed, N failed, N skipped`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
# The network tests put veth pairs in namespaces with iproute2 and ping across
# them: as root, install what is missing from Debian's packages (unprivileged
# runs skip those tests, saying why).
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  command -v ping >/dev/null 2>&1 || missing+=(iputils-ping)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "test: installing ${missing[*]} from Debian's packages" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 \
      || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2; } \
      || echo "test: could not install ${missing[*]}; the network tests will skip" >&2
  fi
fi
exec node scripts/test.mjs "$@"
