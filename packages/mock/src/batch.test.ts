import { MapType, u32, u64, UpdateFlags } from '@bpfkit/core';
import type { MapSpec } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { codeOf } from './test-support/error-code.js';
import { createMockMapStore, MockMapFile } from './mock-map.js';
import { readU32, writeU32 } from './map-store.js';
import { MockSystem } from './mock-system.js';

function open(system: MockSystem, spec: MapSpec): MockMapFile {
  return new MockMapFile(system.kernel, createMockMapStore(system.kernel, spec), { read: true, write: true });
}

const k32 = (n: number) => {
  const b = new Uint8Array(4);
  writeU32(b, n);
  return b;
};

describe('batch operations', () => {
  it('hash: an opaque cursor that only moves forward, ENOENT (done) with the last partial batch', () => {
    using system = new MockSystem();
    const f = open(system, { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16 });
    for (let i = 0; i < 10; i++) f.update(k32(i), new Uint8Array(8).fill(i), 0);
    const keys = new Uint8Array(4 * 4);
    const values = new Uint8Array(8 * 4);
    const seen: number[] = [];
    const cursors: number[] = [];
    let inBatch: Uint8Array | null = null;
    for (;;) {
      const out = new Uint8Array(8);
      const r = f.lookupBatch(false, inBatch, out, keys, values, 4);
      for (let i = 0; i < r.count; i++) {
        seen.push(readU32(keys, i * 4));
        expect(values[i * 8]).toBe(readU32(keys, i * 4));
      }
      cursors.push(readU32(out));
      if (r.done) {
        expect(r.count).toBe(2); // 4 + 4 + 2
        break;
      }
      inBatch = out;
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(cursors[0]! < cursors[1]!).toBe(true);
    // The cursor of the end answers ENOENT at once, copying nothing (like a bucket index past the table).
    const end = new Uint8Array(8);
    writeU32(end, cursors[2]!);
    expect(f.lookupBatch(false, end, new Uint8Array(8), keys, values, 4)).toEqual({ count: 0, done: true });
    // Exactly as many elements as the batch holds: the kernel still finds the end and answers ENOENT.
    expect(f.lookupBatch(false, null, new Uint8Array(8), new Uint8Array(40), new Uint8Array(80), 10)).toEqual({ count: 10, done: true });
    // A count of 0 does nothing and is no error.
    expect(f.lookupBatch(false, null, new Uint8Array(8), keys, values, 0)).toEqual({ count: 0, done: false });
    f.release();
  });

  it('hash: lookup-and-delete batches empty the map; elements added behind the cursor are not missed', () => {
    using system = new MockSystem();
    const f = open(system, { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 64 });
    for (let i = 0; i < 6; i++) f.update(k32(i), k32(i * 10), 0);
    const out = new Uint8Array(8);
    expect(f.lookupBatch(true, null, out, new Uint8Array(12), new Uint8Array(12), 3)).toEqual({ count: 3, done: false });
    f.update(k32(100), k32(1), 0); // a new element lands after the cursor
    const keys = new Uint8Array(40);
    expect(f.lookupBatch(true, out, new Uint8Array(8), keys, new Uint8Array(40), 10)).toEqual({ count: 4, done: true });
    expect([0, 1, 2, 3].map((i) => readU32(keys, i * 4))).toEqual([3, 4, 5, 100]);
    expect(f.nextKey(null, new Uint8Array(4))).toBe(false);
    f.release();
  });

  it('arrays: the generic batch, with the last key as cursor; ENOTSUPP for lookup-and-delete and delete batches', () => {
    using system = new MockSystem();
    const f = open(system, { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 3 });
    const keys = new Uint8Array(8);
    const values = new Uint8Array(8);
    const out = new Uint8Array(8).fill(0xee);
    expect(f.lookupBatch(false, null, out, keys, values, 2)).toEqual({ count: 2, done: false });
    expect([...out]).toEqual([1, 0, 0, 0, 0xee, 0xee, 0xee, 0xee]); // key size bytes: index 1
    const out2 = new Uint8Array(8).fill(0xee);
    expect(f.lookupBatch(false, out, out2, keys, values, 2)).toEqual({ count: 1, done: true });
    expect([...out2.subarray(0, 4)]).toEqual([2, 0, 0, 0]);
    const out3 = new Uint8Array(8).fill(0xee);
    expect(f.lookupBatch(false, out2, out3, keys, values, 2)).toEqual({ count: 0, done: true });
    expect([...out3]).toEqual(new Array(8).fill(0xee)); // nothing copied: no cursor written
    // A cursor past the end restarts at index 0 (next-key of an index past the end is 0).
    expect(f.lookupBatch(false, k32(99), new Uint8Array(8), keys, values, 2)).toEqual({ count: 2, done: false });
    // Exactly as many as asked: no ENOENT yet (the generic batch stops before looking further).
    expect(f.lookupBatch(false, null, new Uint8Array(8), new Uint8Array(12), new Uint8Array(12), 3)).toEqual({ count: 3, done: false });
    expect(codeOf(() => f.lookupBatch(true, null, out, keys, values, 2))).toBe('ENOTSUPP');
    expect(codeOf(() => f.deleteBatch(k32(0), 1))).toBe('ENOTSUPP');
    f.release();
  });

  it('update and delete batches: only BPF_F_LOCK as element flag, the count done and the errno that stopped them', () => {
    using system = new MockSystem();
    const f = open(system, { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
    const keys = new Uint8Array(24);
    [0, 1, 2, 9, 4, 5].forEach((k, i) => {
      writeU32(keys, k, i * 4);
    });
    const values = new Uint8Array(24).fill(5);
    expect(codeOf(() => f.updateBatch(keys, values, 6, UpdateFlags.NOEXIST))).toBe('EINVAL');
    expect(codeOf(() => f.updateBatch(keys, values, 6, UpdateFlags.EXIST))).toBe('EINVAL');
    expect(codeOf(() => f.updateBatch(keys, values, 6, UpdateFlags.LOCK))).toBe('EINVAL');
    expect(f.updateBatch(keys, values, 0, 0)).toEqual({ count: 0, errno: 0 });
    expect(f.updateBatch(keys, values, 6, 0)).toEqual({ count: 4, errno: 7 }); // E2BIG at the fifth
    expect(f.deleteBatch(keys, 6)).toEqual({ count: 4, errno: 2 }); // ENOENT at the fifth (4 was never written)
    f.release();
  });

  it('queues, stacks, bloom filters and program arrays have no batches; map-in-map lookups return ids', () => {
    using system = new MockSystem();
    for (const spec of [
      { type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 4 },
      { type: MapType.STACK, keySize: 0, valueSize: 4, maxEntries: 4 },
      { type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 4 },
      { type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 },
    ]) {
      const f = open(system, spec);
      expect(codeOf(() => f.lookupBatch(false, null, new Uint8Array(8), new Uint8Array(16), new Uint8Array(16), 4))).toBe('ENOTSUPP');
      expect(codeOf(() => f.updateBatch(new Uint8Array(16), new Uint8Array(16), 1, 0))).toBe('ENOTSUPP');
      if (spec.keySize === 0 && spec.type !== MapType.BLOOM_FILTER) {
        expect(codeOf(() => f.update(null, new Uint8Array(4), UpdateFlags.NOEXIST))).toBe('EINVAL');
        expect(codeOf(() => f.update(null, new Uint8Array(4), UpdateFlags.LOCK))).toBe('EINVAL');
        expect(codeOf(() => f.delete(null as never))).toBe('EINVAL');
        expect(codeOf(() => f.lookup(new Uint8Array(4), new Uint8Array(4)))).toBe('EINVAL'); // a key on a keyless map
        expect(f.lookupAndDelete(null, new Uint8Array(4))).toBe(false); // pop of an empty queue: ENOENT
      }
      f.release();
    }
    using inner = system.createMap({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
    using outer = system.createMap(
      {
        type: MapType.HASH_OF_MAPS,
        keySize: 4,
        valueSize: 4,
        maxEntries: 4,
        innerMap: { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1 },
      },
      { key: u32, value: u32 },
    );
    outer.updateBatch([
      [1, inner.fd],
      [2, inner.fd],
    ]);
    expect(outer.lastBatch.fallback).toBe(false);
    expect(outer.lookupBatch()).toEqual([
      [1, inner.info().id],
      [2, inner.info().id],
    ]);
    expect(outer.lookupAndDeleteBatch()).toHaveLength(2);
    expect([...outer.keys()]).toEqual([]);
  });

  it('MapBase drives them: chunked reads, per-CPU arrays, fallback for program arrays', () => {
    using system = new MockSystem({ possibleCpus: 3 });
    using pa = system.createPerCpuMap({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 5 }, { key: u32, value: u64 });
    pa.update(4, [1n, 2n, 3n]);
    const all = pa.lookupBatch({ batchSize: 2 });
    expect(all).toHaveLength(5);
    expect(all[4]).toEqual([4, [1n, 2n, 3n]]);
    expect(pa.lastBatch).toEqual({ count: 5, calls: 3, fallback: false });
    using progs = system.createMap({ type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
    expect(progs.lookupBatch()).toEqual([]);
    expect(progs.lastBatch.fallback).toBe(true);
  });
});
