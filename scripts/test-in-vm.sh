#!/usr/bin/env bash
# Runs tests under another kernel, in a QEMU guest booted by the shared
# recipe (../shared/vm/run-in-vm.sh): for what this host's kernel refuses
# (fentry/fexit/LSM under lockdown, kprobes without CONFIG_KPROBES) and for
# older kernels. Dependencies and builds happen on the host first; the guest
# only runs the tests (its view of the tree is a slow 9p share).
#
#   bash scripts/test-in-vm.sh 6.12 packages/bpfkit/src/collection.test.ts
#   bash scripts/test-in-vm.sh 6.1            # every test
set -euo pipefail
cd "$(dirname "$0")/.."
runner="${BPFKIT_VM_RUNNER:-../shared/vm/run-in-vm.sh}"
if [ ! -x "$runner" ]; then
  echo "test-in-vm: no VM runner at $runner. The QEMU guest recipe is not part of the repository yet:" >&2
  echo "  it lives in the project's shared folder beside the checkout (shared/vm/run-in-vm.sh)." >&2
  echo "  Point BPFKIT_VM_RUNNER at a runner taking <kernel> <command...> to use your own." >&2
  exit 2
fi
kernel="${1:?usage: test-in-vm.sh <kernel: 6.1|6.12|...> [vitest files or filters]}"
shift
bash scripts/setup.sh >&2
# TCG guests run JavaScript 8-10x slower: give each test more time.
VM_TIMEOUT="${VM_TIMEOUT:-2400}" exec "$runner" "$kernel" npx vitest run --testTimeout=60000 "$@"
