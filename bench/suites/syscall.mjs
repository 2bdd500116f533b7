// `pnpm bench syscall`: the cost of one BPF_MAP_LOOKUP_ELEM on an array map
// through bpfkit's addon, against a C program making the same call in a loop;
// and of a bpf() the kernel refuses at once (bad fd), which is the system
// call's entry and exit alone: what any Node.js process pays over a C one for
// it bounds what bpfkit can reach (see the notes it prints).
// The addon has two entry points for element commands: the element arena's
// (elemCall: offsets into addon memory, a V8 fast call from optimized code),
// which Map operations use, and the TypedArray one (native.mapLookup).
// Rounds alternate (C, the addon entry points, the typed Map.lookup; C runs
// one round a process, after its own warm-up), and each row gives the
// median of the per-round ratios with their range: these machines drift by
// 20-40% within a minute, so only sides measured side by side compare.
import { MapType, u32, u64 } from '@bpfkit/core';
import { createKernelMap } from '@bpfkit/maps';
import { allocElemSlot, bpfAccess, elemCall, freeElemSlot, native } from '@bpfkit/syscalls';
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

const signed = (x) => `${x < 0 ? '' : '+'}${x.toFixed(0)}`;

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
  const refused = (n) => {
    for (let i = 0; i < n; i++) if (native.mapLookup(-1, key, value, 0) === 0) throw new Error('bpf() with a bad fd succeeded');
  };
  const slot = allocElemSlot(4, 8);
  if (slot === undefined) throw new Error('bench syscall: the addon has no element arena');
  const { keyOffset, valueOffset } = slot;
  slot.key.fill(0);
  const arena = (n) => {
    for (let i = 0; i < n; i++) if (elemCall(1, fd, keyOffset, valueOffset, 0) !== 0) throw new Error('lookup failed');
  };
  const arenaRefused = (n) => {
    for (let i = 0; i < n; i++) if (elemCall(1, -1, keyOffset, valueOffset, 0) === 0) throw new Error('bpf() with a bad fd succeeded');
  };
  // Warm-up: the JIT, the addon's fast paths.
  for (const f of [arena, addon, typed, arenaRefused, refused]) f(Math.min(ITERATIONS, 100_000));
  const c = [];
  const cBad = [];
  const cPages = [];
  const cPagesAlone = [];
  const e = [];
  const a = [];
  const t = [];
  const eBad = [];
  const bad = [];
  for (let r = 0; r < ROUNDS; r++) {
    const cr = runC(bin, [ITERATIONS, 1]);
    c.push(cr.array_lookup);
    cBad.push(cr.bad_fd);
    cPages.push(cr.bad_fd_32_pages);
    cPagesAlone.push(cr.pages_32);
    e.push(time(arena, ITERATIONS));
    a.push(time(addon, ITERATIONS));
    t.push(time(typed, ITERATIONS));
    eBad.push(time(arenaRefused, ITERATIONS));
    bad.push(time(refused, ITERATIONS));
  }
  freeElemSlot(slot);
  // What the process adds to the bare system call, and so the best ratio a Node.js caller can reach for the lookup.
  // Measured below zero where the two are within noise of each other: no penalty.
  const penalty = Math.max(0, median(eBad) - median(cBad));
  const ceiling = median(c) / (median(c) + penalty);
  const perPage = (median(cPages) - median(cBad)) / 32;
  const perPageAlone = median(cPagesAlone) / 32;
  /** A row: `mine` against C's `cRounds`, both measured per round. */
  const againstC = (op, mine, cRounds) => ({
    op,
    bpfkit: median(mine),
    baselines: { c: median(cRounds) },
    ratios: { c: perRoundRatio(cRounds, mine) },
  });
  report('syscall', [
    againstC('array lookup (arena entry point, elemCall)', e, c),
    againstC('array lookup (TypedArray entry point, native.mapLookup)', a, c),
    againstC('array lookup (typed Map.lookup, u32 -> u64)', t, c),
    againstC('bpf() refused at once (bad fd), arena entry point', eBad, cBad),
    againstC('bpf() refused at once (bad fd), TypedArray entry point', bad, cBad),
  ]);
  console.log(
    `note: the bare system call costs a Node.js process ${penalty >= 0.5 ? `${penalty.toFixed(0)} ns more than` : 'no more than'} a C one; the lookup can reach at most ${ceiling.toFixed(2)}x C from Node.js here ` +
      `(C ${median(c).toFixed(0)} ns / (C + ${penalty.toFixed(0)} ns), the refused call through the arena entry point); against C + ${penalty.toFixed(0)} ns, ` +
      `the arena entry point takes ${signed(median(e) - median(c) - penalty)} ns, the TypedArray one ${signed(median(a) - median(c) - penalty)} ns, Map.lookup ${signed(median(t) - median(c) - penalty)} ns`,
  );
  console.log(
    `note: in C, a page read between two system calls costs ${perPage.toFixed(1)} ns, against ${perPageAlone.toFixed(1)} ns in a loop without them ` +
      `(a refused bpf() then 32 pages: ${median(cPages).toFixed(0)} ns, against ${median(cBad).toFixed(0)} ns): ` +
      // Seen at 3.5 against 0.4 ns on machines whose kernel isolates its page tables without PCID (every
      // system call empties the TLB), at 0.7 against 0.6 ns on one that needs no isolation.
      (perPage > 2 * perPageAlone + 1
        ? 'a system call leaves the caches and TLB cold here, and a Node.js call path touches more pages (JIT code, V8 builtins, the addon, heap objects) than a C loop'
        : 'a system call leaves the TLB and caches warm here, so the pages a Node.js call path touches cost it little more than in a loop without system calls'),
  );
}
