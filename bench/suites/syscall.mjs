// `pnpm bench syscall`: the cost of one BPF_MAP_LOOKUP_ELEM on an array map
// through bpfkit's addon, against a C program making the same call in a loop.
import { MapType, u32, u64 } from '@bpfkit/core';
import { createKernelMap } from '@bpfkit/maps';
import { bpfAccess, native } from '@bpfkit/syscalls';
import { compileC, measure, report, runC } from '../lib/harness.mjs';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

export async function run() {
  const access = bpfAccess();
  if (!access.available) throw new Error(`bench syscall needs bpf(): ${access.reason}`);
  const c = runC(compileC('syscall'), [ITERATIONS, ROUNDS]);

  const map = createKernelMap(
    { name: 'bench_array', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 },
    { key: u32, value: u64 },
  );
  try {
    measureLookups(map, c);
  } finally {
    map.close();
  }
}

function measureLookups(map, c) {
  const key = new Uint8Array(4);
  const value = new Uint8Array(8);
  const fd = map.fd;
  const addon = measure(
    (n) => {
      for (let i = 0; i < n; i++) if (native.mapLookup(fd, key, value, 0) !== 0) throw new Error('lookup failed');
    },
    { iterations: ITERATIONS, rounds: ROUNDS },
  );
  const typed = measure(
    (n) => {
      for (let i = 0; i < n; i++) map.lookup(0);
    },
    { iterations: ITERATIONS, rounds: ROUNDS },
  );

  report('syscall', [
    { op: 'array lookup (addon entry point)', bpfkit: addon, baselines: { c: c.array_lookup } },
    { op: 'array lookup (typed Map.lookup, u32 -> u64)', bpfkit: typed, baselines: { c: c.array_lookup } },
  ]);
}
