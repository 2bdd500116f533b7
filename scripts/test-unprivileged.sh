#!/usr/bin/env bash
# Runs every test of every package as an unprivileged user with no
# capabilities (uid/gid 65534 by default), the way a user without root runs
# them: every kernel test must skip with its reason, every other test pass.
# The workspace (built, with its dependencies) is copied to a fresh directory
# that user owns, so the checkout itself may be private (a 0700 home or temp
# directory). The last line is `N passed, N failed, N skipped`.
#
#   bash scripts/test-unprivileged.sh [vitest filters]
#   BPFKIT_TEST_UID=1000 bash scripts/test-unprivileged.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if [ "$(id -u)" != 0 ]; then
  echo "test-unprivileged: not root: running the suite as this user ($(id -un))" >&2
  exec node scripts/test.mjs "$@"
fi
command -v setpriv >/dev/null || { echo "test-unprivileged: setpriv (util-linux) is needed to drop privileges" >&2; exit 2; }
[ -d node_modules ] || { echo "test-unprivileged: the workspace is not set up: run scripts/setup.sh first" >&2; exit 2; }
uid=${BPFKIT_TEST_UID:-65534}
gid=${BPFKIT_TEST_GID:-$uid}
# Under /tmp, not $TMPDIR: the user must be able to reach the copy, and a TMPDIR may sit in a private home.
work=$(mktemp -d "${BPFKIT_UNPRIVILEGED_PARENT:-/tmp}/bpfkit-unprivileged.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home" "$work/repo"
# The copy keeps pnpm's relative symlinks; build caches and reports stay behind.
tar -C "$root" --exclude=./.git --exclude=./test-results --exclude=./.turbo --exclude='./docs/api' -cf - . | tar -C "$work/repo" -xf -
chown -R "$uid:$gid" "$work"
chmod 0755 "$work"
echo "test-unprivileged: running as uid $uid gid $gid with no capabilities, from $work/repo" >&2
cd "$work/repo"
set +e
setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all -- \
  env -i PATH="$PATH" HOME="$work/home" TMPDIR="$work/home" LANG="${LANG:-C.UTF-8}" ${CI:+CI="$CI"} \
  node scripts/test.mjs "$@"
status=$?
set -e
exit "$status"
