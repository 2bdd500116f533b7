// `pnpm bench maps`: element operations on a 1M-entry BPF_MAP_TYPE_HASH map
// (u32 keys, u64 values) and lookups on an equally large BPF_MAP_TYPE_ARRAY,
// per element, through bpfkit's typed maps, against two baselines making the
// same calls: a C program (raw bpf(), bench/c/maps.c) and the npm package
// `bpf` (libbpf bindings, through its typed ConvMap / ConvArrayMap API).
//
// A round, for each implementation on its own maps: insert keys 0..N-1, look
// each one up, walk the map (next-key + lookup of each key), read it whole
// with BPF_MAP_LOOKUP_BATCH (4096 elements per call) into one array, delete
// every key, then look up N indexes of the array map. The implementations
// take turns round by round (in a rotating order), so a slow patch of the
// machine hits them alike; a first round on fewer keys warms the JIT up and
// is not timed; each row is the median of the timed rounds. The JavaScript
// heap is collected before each timed operation, so no operation pays for
// garbage left by another.
//
// Knobs (for development; the defaults are the benchmark):
//   BENCH_MAPS_COUNT       elements per operation (1000000)
//   BENCH_MAPS_ROUNDS      timed rounds of bpfkit and C (5)
//   BENCH_MAPS_BPF_ROUNDS  timed rounds of the bpf package, the first ones (3:
//                          it is the slowest by far, fewer samples suffice)
//   BENCH_MAPS_WARMUP      elements in the untimed warm-up round (100000)
//   BENCH_MAPS_ONLY        comma list of implementations to run: c,bpfkit,bpf (all)
import { createRequire } from 'node:module';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { MapType, u32, u64 } from '@bpfkit/core';
import { createKernelMap } from '@bpfkit/maps';
import { allocElemSlot, bpfAccess, elemCall, freeElemSlot } from '@bpfkit/syscalls';
import { compileC, perRoundRatio, report, runC } from '../lib/harness.mjs';

const MAX_ENTRIES = 1_048_576;
const COUNT = Number(process.env.BENCH_MAPS_COUNT ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_MAPS_ROUNDS ?? 5);
const BPF_ROUNDS = Math.min(ROUNDS, Number(process.env.BENCH_MAPS_BPF_ROUNDS ?? 3));
const WARMUP = Math.min(COUNT, Number(process.env.BENCH_MAPS_WARMUP ?? 100_000));
const ONLY = new Set((process.env.BENCH_MAPS_ONLY ?? 'c,bpfkit,bpf').split(',').map((s) => s.trim()));
const BATCH = 4096;

/** The speed bpfkit aims for, as a fraction of C's: single-element rows, and iteration and batch rows. */
const SINGLE_TARGET = 0.9;
const BULK_TARGET = 0.8;
/** Iteration: at most 1.25x C's batch walk, at least 2.5x faster than C's next-key walk. */
const ITERATION_TARGET = 0.8;
const NAIVE_TARGET = 2.5;

/** The rows: label, result key, C baseline key, target. */
const ROWS = [
  ['hash update (u32 -> u64)', 'update', 'hash_update', SINGLE_TARGET],
  ['hash lookup', 'lookup', 'hash_lookup', SINGLE_TARGET],
  ['hash lookup (raw addon: elemCall on an arena slot)', 'lookupRaw', 'hash_lookup', SINGLE_TARGET],
  ['hash delete', 'delete', 'hash_delete', SINGLE_TARGET],
  // for…of over the map: batches under the hood. Against C's batch walk (target: at most 1.25x its time)
  // and C's naive walk, next-key + lookup (target: at least 2.5x faster).
  ['hash iteration (for…of) vs C batch walk', 'iterate', 'hash_lookup_batch', ITERATION_TARGET],
  ['hash iteration (for…of) vs C next-key walk', 'iterate', 'hash_iterate', NAIVE_TARGET],
  [`hash batch lookup (${BATCH} per call)`, 'batch', 'hash_lookup_batch', BULK_TARGET],
  ['array lookup', 'arrayLookup', 'array_lookup', SINGLE_TARGET],
];

/** What the bpfkit rounds saw of their iterations (batches, heap), for the notes. */
const iterationNotes = [];

// The values written, made once for every implementation: creating a bigint
// per element is the caller's cost, not the library's.
let VALUES = [];

/** A full collection between timed operations (V8's gc(), reached without --expose-gc on the command line). */
const collect = (() => {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc');
    return () => gc();
  } catch {
    return () => {};
  }
})();

export async function run() {
  const access = bpfAccess();
  if (!access.available) throw new Error(`bench maps needs bpf(): ${access.reason}`);
  if (!Number.isInteger(COUNT) || COUNT < 1 || COUNT > MAX_ENTRIES) throw new Error(`BENCH_MAPS_COUNT must be 1..${MAX_ENTRIES}`);
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('BENCH_MAPS_ROUNDS must be a positive integer');
  if (!Number.isInteger(BPF_ROUNDS) || BPF_ROUNDS < 1) throw new Error('BENCH_MAPS_BPF_ROUNDS must be a positive integer');
  const started = Date.now();
  VALUES = Array.from({ length: COUNT }, (_, i) => BigInt(i));

  const impls = [];
  const notes = [];
  let medians;
  let samples;
  try {
    if (ONLY.has('c')) impls.push(cImpl());
    if (ONLY.has('bpfkit')) impls.push(bpfkitImpl(notes));
    if (ONLY.has('bpf')) {
      const impl = bpfPackageImpl(notes);
      if (impl) impls.push(impl);
    }
    ({ medians, samples } = measureAll(impls));
  } finally {
    for (const impl of impls) impl.close();
    VALUES = [];
  }

  const kit = medians.bpfkit ?? {};
  const c = medians.c ?? {};
  const bpf = medians.bpf ?? {};
  const rows = [];
  for (const [op, key, cKey, target] of ROWS) {
    if (kit[key] === undefined) continue;
    const baselines = {};
    if (c[cKey] !== undefined) baselines.c = c[cKey];
    if (bpf[key] !== undefined) baselines.bpf = bpf[key];
    // Ratios taken round by round (the implementations ran interleaved), median and range.
    const ratios = {};
    const c1 = perRoundRatio(samples.c?.[cKey] ?? [], samples.bpfkit?.[key] ?? []);
    if (c1) ratios.c = c1;
    const b1 = perRoundRatio(samples.bpf?.[key] ?? [], samples.bpfkit?.[key] ?? []);
    if (b1) ratios.bpf = b1;
    rows.push({ op, bpfkit: kit[key], baselines, ratios, target });
  }

  console.log(
    `\n${COUNT} elements per op, max_entries ${MAX_ENTRIES}, median of ${ROUNDS} rounds (bpf: ${BPF_ROUNDS}; warm-up ${WARMUP}), ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  report(
    'maps',
    rows.map(({ target, ...r }) => r),
  );
  if (iterationNotes.length) notes.push(iterationNotes.at(-1));
  for (const note of notes) console.log(`note: ${note}`);
  const misses = [];
  for (const r of rows) {
    const ratio = r.ratios.c?.ratio ?? (r.baselines.c !== undefined ? r.baselines.c / r.bpfkit : undefined);
    if (ratio !== undefined && ratio < r.target) misses.push(`${r.op}: ${ratio.toFixed(3)}x C, median of rounds (target ${r.target}x)`);
    if (r.baselines.bpf !== undefined && r.baselines.bpf <= r.bpfkit)
      misses.push(`${r.op}: not faster than bpf (${(r.baselines.bpf / r.bpfkit).toFixed(3)}x)`);
  }
  console.log(misses.length ? `below target:\n  ${misses.join('\n  ')}` : 'every row meets its targets');
}

/**
 * Runs the warm-up and the timed rounds, implementations in turn (rotating
 * order); returns the medians ({ impl: { op: median ns } }) and the samples
 * in round order ({ impl: { op: [ns, …] } }), for per-round ratios.
 */
function measureAll(impls) {
  const samples = {};
  for (let r = -1; r < ROUNDS; r++) {
    const start = r < 0 ? 0 : r % impls.length;
    for (let j = 0; j < impls.length; j++) {
      const impl = impls[(start + j) % impls.length];
      if (r >= impl.rounds) continue;
      const ns = impl.round(r < 0 ? WARMUP : COUNT);
      if (r < 0) continue;
      for (const [op, v] of Object.entries(ns)) ((samples[impl.name] ??= {})[op] ??= []).push(v);
    }
  }
  const medians = {};
  for (const [impl, ops] of Object.entries(samples)) {
    medians[impl] = {};
    for (const [op, list] of Object.entries(ops)) {
      const sorted = [...list].sort((a, b) => a - b);
      medians[impl][op] = sorted[Math.floor(sorted.length / 2)];
    }
  }
  return { medians, samples };
}

/** ns per element of `fn(n)`, after a full collection. */
function time(n, fn) {
  collect();
  const start = process.hrtime.bigint();
  fn(n);
  return Number(process.hrtime.bigint() - start) / n;
}

function fail(what, i) {
  throw new Error(`bench maps: ${what} failed at element ${i}`);
}

// ------------------------------------------------------------------- C ---

/** One process per round: it creates its maps, runs one round (after a short warm-up of its own) and exits. */
function cImpl() {
  const bin = compileC('maps');
  return {
    name: 'c',
    rounds: ROUNDS,
    round: (n) => runC(bin, [n, 1, Math.min(n, 10_000), MAX_ENTRIES]),
    close() {},
  };
}

// -------------------------------------------------------------- bpfkit ---

function bpfkitImpl(notes) {
  const maps = [];
  try {
    const hash = createKernelMap(
      { name: 'bench_hash', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: MAX_ENTRIES },
      { key: u32, value: u64 },
    );
    maps.push(hash);
    const array = createKernelMap(
      { name: 'bench_array', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: MAX_ENTRIES },
      { key: u32, value: u64 },
    );
    maps.push(array);
    for (let i = 0; i < COUNT; i++) array.update(i, VALUES[i]);

    const hasBatch = typeof hash.lookupBatchChunks === 'function';
    if (!hasBatch) notes.push('this build of bpfkit has no Map.lookupBatchChunks: the batch row is left out');
    let fallbackNoted = false;
    // The raw addon path on the same map, the one Map operations take: a key and value slot of the element
    // arena, the key written through a DataView made once, the lookup by offsets.
    const fd = hash.fd;
    const slot = allocElemSlot(4, 8);
    if (slot === undefined) throw new Error('bench maps: the addon has no element arena');
    const keyView = new DataView(slot.key.buffer, slot.keyOffset, 4);
    const { keyOffset, valueOffset } = slot;

    const round = (n) => {
      const ns = {};
      ns.update = time(n, (n) => {
        for (let i = 0; i < n; i++) hash.update(i, VALUES[i]);
      });
      ns.lookup = time(n, (n) => {
        for (let i = 0; i < n; i++) if (hash.lookup(i) === undefined) fail('lookup', i);
      });
      ns.lookupRaw = time(n, (n) => {
        for (let i = 0; i < n; i++) {
          keyView.setUint32(0, i, true);
          if (elemCall(1, fd, keyOffset, valueOffset, 0) !== 0) fail('elemCall', i);
        }
      });
      let heapGrowth = 0;
      ns.iterate = time(n, (n) => {
        // The heap is sampled every 65536 elements: a streaming walk keeps it flat (no array of all entries).
        const base = v8.getHeapStatistics().used_heap_size;
        let seen = 0;
        for (const [k, v] of hash.entries()) {
          if (k !== undefined && v !== undefined) seen++;
          if ((seen & 0xffff) === 0) heapGrowth = Math.max(heapGrowth, v8.getHeapStatistics().used_heap_size - base);
        }
        if (seen !== n) fail(`iteration (visited ${seen} of ${n})`, seen);
      });
      if (n === COUNT) {
        iterationNotes.push(
          `iteration of ${n} entries: ${hash.lastIteration.batches} BPF_MAP_LOOKUP_BATCH calls, the heap at most ${(heapGrowth / 2 ** 20).toFixed(1)} MiB above its start while walking`,
        );
      }
      if (hasBatch) {
        ns.batch = time(n, (n) => {
          // The streaming form: one decoded array of entries per BPF_MAP_LOOKUP_BATCH call, as C reads them.
          let seen = 0;
          for (const chunk of hash.lookupBatchChunks({ batchSize: BATCH })) seen += chunk.length;
          if (seen !== n) fail(`lookupBatchChunks (read ${seen} of ${n})`, seen);
        });
        if (hash.lastBatch?.fallback && !fallbackNoted) {
          fallbackNoted = true;
          notes.push(
            'bpfkit lookupBatch fell back to next-key + lookup (lastBatch.fallback): this build has no batch path for kernel maps',
          );
        }
      }
      ns.delete = time(n, (n) => {
        for (let i = 0; i < n; i++) if (!hash.delete(i)) fail('delete', i);
      });
      ns.arrayLookup = time(n, (n) => {
        for (let i = 0; i < n; i++) if (array.lookup(i) === undefined) fail('array lookup', i);
      });
      return ns;
    };
    return {
      name: 'bpfkit',
      rounds: ROUNDS,
      round,
      close: () => {
        closeAll(maps);
        freeElemSlot(slot);
      },
    };
  } catch (err) {
    closeAll(maps);
    throw err;
  }
}

function closeAll(maps) {
  for (const m of maps.splice(0)) {
    try {
      m.close();
    } catch {
      // closing the others matters more
    }
  }
}

// ---------------------------------------------------- the npm package bpf ---

function bpfPackageImpl(notes) {
  const require = createRequire(import.meta.url);
  let bpf;
  try {
    bpf = require('bpf');
  } catch (err) {
    notes.push(`baseline bpf left out: the package does not load (${err.message.split('\n')[0]}); run pnpm install`);
    return undefined;
  }
  // bpf ships a u32 conversion only; u64 values as bigints, in host order like bpfkit's u64.
  const u64type =
    os.endianness() === 'LE'
      ? { parse: (buf) => buf.readBigUInt64LE(0), format: (buf, x) => buf.writeBigUInt64LE(x) }
      : { parse: (buf) => buf.readBigUInt64BE(0), format: (buf, x) => buf.writeBigUInt64BE(x) };

  const refs = [];
  try {
    const hashRef = bpf.createMap({ type: bpf.MapType.HASH, keySize: 4, valueSize: 8, maxEntries: MAX_ENTRIES, name: 'bench_hash_bpf' });
    refs.push(hashRef);
    const arrayRef = bpf.createMap({ type: bpf.MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: MAX_ENTRIES, name: 'bench_array_bpf' });
    refs.push(arrayRef);
    const hash = new bpf.ConvMap(hashRef, bpf.u32type, u64type);
    const raw = new bpf.RawMap(hashRef);
    const array = new bpf.ConvArrayMap(arrayRef, u64type);
    for (let i = 0; i < COUNT; i++) array.set(i, VALUES[i]);
    const keyBuf = Buffer.alloc(4);
    const key32 = new Uint32Array(keyBuf.buffer, keyBuf.byteOffset, 1);
    const valueBuf = Buffer.alloc(8);

    const round = (n) => {
      const ns = {};
      ns.update = time(n, (n) => {
        for (let i = 0; i < n; i++) hash.set(i, VALUES[i]);
      });
      ns.lookup = time(n, (n) => {
        for (let i = 0; i < n; i++) if (hash.get(i) === undefined) fail('bpf get', i);
      });
      ns.lookupRaw = time(n, (n) => {
        for (let i = 0; i < n; i++) {
          key32[0] = i;
          if (raw.get(keyBuf, 0, valueBuf) === undefined) fail('bpf RawMap.get', i);
        }
      });
      ns.iterate = time(n, (n) => {
        let seen = 0;
        for (const [k, v] of hash.entries()) if (k !== undefined && v !== undefined) seen++;
        if (seen !== n) fail(`bpf iteration (visited ${seen} of ${n})`, seen);
      });
      // getBatch yields chunks, as bpfkit's lookupBatchChunks() does.
      ns.batch = time(n, (n) => {
        let seen = 0;
        for (const chunk of hash.getBatch(BATCH)) seen += chunk.length;
        if (seen !== n) fail(`bpf getBatch (read ${seen} of ${n})`, seen);
      });
      ns.delete = time(n, (n) => {
        for (let i = 0; i < n; i++) if (!hash.delete(i)) fail('bpf delete', i);
      });
      ns.arrayLookup = time(n, (n) => {
        for (let i = 0; i < n; i++) if (array.get(i) === undefined) fail('bpf array get', i);
      });
      return ns;
    };
    return { name: 'bpf', rounds: BPF_ROUNDS, round, close: () => closeAll(refs) };
  } catch (err) {
    closeAll(refs);
    throw err;
  }
}
