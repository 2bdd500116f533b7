// `pnpm bench syscall`: the cost of one BPF_MAP_LOOKUP_ELEM on an array map
// through bpfkit's addon, against a C program making the same call in a loop.
// Rounds alternate (C, the addon entry point, the typed Map.lookup; C runs
// one round a process, after its own warm-up), and each row gives the
// median of the per-round ratios with their range: these machines drift by
// 20-40% within a minute, so only sides measured side by side compare.
import { MapType, u32, u64 } from '@bpfkit/core';
import { createKernelMap } from '@bpfkit/maps';
import { bpfAccess, native } from '@bpfkit/syscalls';
import { compileC, median, perRoundRatio, report, runC } from '../lib/harness.mjs';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

export async function run() {
  const access = bpfAccess();
  if (!access.available) throw new Error(`bench syscall needs bpf(): ${access.reason}`);
  const bin = compileC('syscall');
  const map = createKernelMap(
    { name: 'bench_array', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 },
    { key: u32, value: u64 },
  );
  try {
    measureLookups(map, bin);
  } finally {
    map.close();
  }
}

/** ns per call of `fn(n)`. */
function time(fn, n) {
  const start = process.hrtime.bigint();
  fn(n);
  return Number(process.hrtime.bigint() - start) / n;
}

function measureLookups(map, bin) {
  const key = new Uint8Array(4);
  const value = new Uint8Array(8);
  const fd = map.fd;
  const addon = (n) => {
    for (let i = 0; i < n; i++) if (native.mapLookup(fd, key, value, 0) !== 0) throw new Error('lookup failed');
  };
  const typed = (n) => {
    for (let i = 0; i < n; i++) map.lookup(0);
  };
  // Warm-up: the JIT, the addon's fast path.
  addon(Math.min(ITERATIONS, 100_000));
  typed(Math.min(ITERATIONS, 100_000));
  const c = [];
  const a = [];
  const t = [];
  for (let r = 0; r < ROUNDS; r++) {
    c.push(runC(bin, [ITERATIONS, 1]).array_lookup);
    a.push(time(addon, ITERATIONS));
    t.push(time(typed, ITERATIONS));
  }
  report('syscall', [
    { op: 'array lookup (addon entry point)', bpfkit: median(a), baselines: { c: median(c) }, ratios: { c: perRoundRatio(c, a) } },
    {
      op: 'array lookup (typed Map.lookup, u32 -> u64)',
      bpfkit: median(t),
      baselines: { c: median(c) },
      ratios: { c: perRoundRatio(c, t) },
    },
  ]);
}
