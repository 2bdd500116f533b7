import { BpfError, Errno, MapType } from '@bpfkit/core';
import { mapCreate, native } from '@bpfkit/syscalls';
import { afterEach, expect, it } from 'vitest';
import { KernelMapOps } from './kernel-map.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

function u32s(...n: number[]): Uint8Array {
  const out = new Uint8Array(4 * n.length);
  const v = new DataView(out.buffer);
  n.forEach((x, i) => {
    v.setUint32(4 * i, x, true);
  });
  return out;
}

whenKernel().describe('raw batch operations on the kernel', () => {
  const owned: KernelMapOps[] = [];
  afterEach(() => {
    for (const ops of owned.splice(0)) ops.release();
  });
  const open = (type: number, maxEntries: number, valueSize = 4): KernelMapOps => {
    const fd = mapCreate({ mapType: type, keySize: 4, valueSize, maxEntries, mapName: 'batch' });
    const ops = new KernelMapOps(fd, { name: 'batch', type, keySize: 4, valueSize, maxEntries, flags: 0 });
    owned.push(ops);
    return ops;
  };

  it('lookupBatch reads a hash in chunks and reports the end (ENOENT) as done', () => {
    const ops = open(MapType.HASH, 64);
    for (let i = 0; i < 10; i++) ops.update(u32s(i), u32s(i * 3), 0);
    const seen = new Map<number, number>();
    let inBatch: Uint8Array | null = null;
    let calls = 0;
    for (;;) {
      const outBatch = new Uint8Array(8);
      const keys = new Uint8Array(4 * 4);
      const values = new Uint8Array(4 * 4);
      const r = ops.lookupBatch(false, inBatch, outBatch, keys, values, 4);
      calls++;
      const kv = new DataView(keys.buffer);
      const vv = new DataView(values.buffer);
      for (let i = 0; i < r.count; i++) seen.set(kv.getUint32(4 * i, true), vv.getUint32(4 * i, true));
      if (r.done) break;
      inBatch = outBatch;
    }
    expect(calls).toBeGreaterThanOrEqual(3);
    expect([...seen.entries()].sort((a, b) => a[0] - b[0])).toEqual(Array.from({ length: 10 }, (_, i) => [i, i * 3]));
  });

  it('lookupBatch of an empty map is done at once with count 0', () => {
    const ops = open(MapType.HASH, 8);
    expect(ops.lookupBatch(false, null, new Uint8Array(8), new Uint8Array(32), new Uint8Array(32), 8)).toEqual({ count: 0, done: true });
  });

  it('a bucket larger than the batch throws ENOSPC (so MapBase can grow the batch)', () => {
    const ops = open(MapType.HASH, 2000);
    for (let i = 0; i < 2000; i++) ops.update(u32s(i), u32s(i), 0);
    let enospc: BpfError | undefined;
    let inBatch: Uint8Array | null = null;
    for (let calls = 0; calls < 4000 && !enospc; calls++) {
      const outBatch = new Uint8Array(8);
      try {
        const r = ops.lookupBatch(false, inBatch, outBatch, new Uint8Array(4), new Uint8Array(4), 1);
        if (r.done) break;
        inBatch = outBatch;
      } catch (err) {
        if (!(err instanceof BpfError)) throw err;
        enospc = err;
      }
    }
    expect(enospc?.errno).toBe(Errno.ENOSPC);
    expect(enospc?.command).toBe('BPF_MAP_LOOKUP_BATCH');
    expect(enospc?.message).toMatch(/larger batch/);
  });

  it('lookupAndDelete batch empties the map', () => {
    const ops = open(MapType.HASH, 16);
    for (let i = 0; i < 5; i++) ops.update(u32s(i), u32s(i), 0);
    const r = ops.lookupBatch(true, null, new Uint8Array(8), new Uint8Array(64), new Uint8Array(64), 16);
    expect(r).toEqual({ count: 5, done: true });
    expect(ops.nextKey(null, new Uint8Array(4))).toBe(false);
  });

  it('updateBatch and deleteBatch report the count and the errno that stopped the kernel', () => {
    const ops = open(MapType.HASH, 3);
    expect(ops.updateBatch(u32s(1, 2), u32s(10, 20), 2, 0)).toEqual({ count: 2, errno: 0 });
    expect(ops.updateBatch(u32s(3, 4), u32s(30, 40), 2, 0)).toEqual({ count: 1, errno: Errno.E2BIG });
    expect(ops.deleteBatch(u32s(1, 99, 2), 3)).toEqual({ count: 1, errno: Errno.ENOENT });
    expect(ops.deleteBatch(u32s(2, 3), 2)).toEqual({ count: 2, errno: 0 });
  });

  it('a map type without batch commands throws (so MapBase falls back), keeping the errno', () => {
    const fd = mapCreate({ mapType: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 4 });
    const q = new KernelMapOps(fd, { name: 'q', type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 4, flags: 0 });
    owned.push(q);
    let err: unknown;
    try {
      q.lookupBatch(false, null, new Uint8Array(8), new Uint8Array(16), new Uint8Array(16), 4);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect([Errno.EINVAL, Errno.ENOTSUPP, Errno.EOPNOTSUPP]).toContain((err as BpfError).errno);
    expect((err as BpfError).message).toMatch(/queue maps may not have BPF_MAP_LOOKUP_BATCH/);
    const arr = open(MapType.ARRAY, 4);
    expect(() => arr.deleteBatch(u32s(0), 1)).toThrow(BpfError);
  });

  it('release() is idempotent: a second call never closes a reused fd number', () => {
    const fd = mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    const ops = new KernelMapOps(fd, { name: 'r', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 });
    ops.release();
    const reused = mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      expect(reused).toBe(fd);
      ops.release();
      expect(native.mapLookup(reused, u32s(0), new Uint8Array(4), 0)).toBe(0); // still open
    } finally {
      native.close(reused);
    }
  });
});
