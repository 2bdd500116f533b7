import { MapFlags, MapType, noKey, u32 } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { codeOf } from './test-support/error-code.js';
import { createMockMapStore, MockMapFile } from './mock-map.js';
import { MockSystem } from './mock-system.js';
import type { BloomFilterStore } from './stores/bloom-filter.js';
import { jhash, jhash2 } from './stores/jhash.js';

/** Values reported present (false positives included) among `from..to` after the pushes, as sum and count. */
function positives(
  system: MockSystem,
  spec: { valueSize: number; maxEntries: number; mapExtra?: bigint },
  pushes: Uint8Array[],
  probe: (i: number) => Uint8Array,
  from: number,
  to: number,
) {
  using b = system.createMap({ type: MapType.BLOOM_FILTER, keySize: 0, flags: MapFlags.ZERO_SEED, ...spec });
  for (const v of pushes) b.push(v);
  const hits: number[] = [];
  for (let i = from; i < to; i++) if (b.has(probe(i))) hits.push(i);
  return { count: hits.length, first: hits.slice(0, 16), sum: hits.reduce((a, x) => a + x, 0) };
}

describe('bloom filter', () => {
  it('computes the kernel jhash (lookup3 test vectors)', () => {
    const text = new TextEncoder().encode('Four score and seven years ago');
    expect(jhash(new Uint8Array(0), 0)).toBe(0xdeadbeef);
    expect(jhash(text, 0)).toBe(0x17770551);
    expect(jhash(text, 1)).toBe(0xcd628161);
    // jhash2 over whole words equals jhash over the same little-endian bytes only in its setup: check it is deterministic and seeded.
    const words = Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0);
    expect(jhash2(words, 2, 0)).toBe(jhash2(words, 2, 0));
    expect(jhash2(words, 2, 0)).not.toBe(jhash2(words, 2, 1));
  });

  it('takes the hash count from the low 4 bits of map_extra (0 means 5) and sizes the bit array like the kernel', () => {
    using system = new MockSystem();
    const store = (mapExtra: bigint, maxEntries: number) => {
      const m = system.createMap({ type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries, mapExtra });
      const s = (m as unknown as { store: BloomFilterStore }).store;
      const r = { hashes: s.hashes, bits: s.bits, extra: m.info().mapExtra };
      m.close();
      return r;
    };
    expect(store(0n, 100)).toEqual({ hashes: 5, bits: 1024, extra: 0n }); // 100 × 5 × 7/5 = 700 → 1024
    expect(store(3n, 100)).toEqual({ hashes: 3, bits: 512, extra: 3n }); // 420 → 512
    expect(store(15n, 1)).toEqual({ hashes: 15, bits: 64, extra: 15n }); // 21 → at least 64
    expect(store(1n, 0xffffffff)).toEqual({ hashes: 1, bits: 2 ** 32, extra: 1n }); // past 2^31: 2^32 bits
    expect(codeOf(() => system.createMap({ type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 8, mapExtra: 16n }))).toBe(
      'EINVAL',
    );
    expect(codeOf(() => system.createMap({ type: MapType.BLOOM_FILTER, keySize: 4, valueSize: 4, maxEntries: 8 }))).toBe('EINVAL');
    expect(system.liveObjects).toBe(0);
  });

  it('never answers a false negative, also with a random seed and a 2^32-bit array', () => {
    using system = new MockSystem();
    for (const maxEntries of [10, 1000, 0xffffffff]) {
      using b = system.createMap(
        { type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries, mapExtra: 4n },
        { key: noKey, value: u32 },
      );
      for (let i = 0; i < 500; i++) b.push((i * 2654435761) >>> 0);
      for (let i = 0; i < 500; i++) expect(b.has((i * 2654435761) >>> 0)).toBe(true);
    }
  });

  it('with BPF_F_ZERO_SEED reports exactly the false positives the kernel reported (Linux 6.18)', () => {
    using system = new MockSystem();
    const le = (n: number, size: number, at = 0, extra?: [number, number]) => {
      const b = new Uint8Array(size);
      new DataView(b.buffer).setUint32(at, n, true);
      if (extra) b[extra[0]] = extra[1];
      return b;
    };
    // 4-byte values (jhash2), 3 hashes: 100 values added, 10000 probed.
    expect(
      positives(
        system,
        { valueSize: 4, maxEntries: 100, mapExtra: 3n },
        Array.from({ length: 100 }, (_, i) => le(i * 7, 4)),
        (i) => le(i, 4),
        100000,
        110000,
      ),
    ).toEqual({
      count: 983,
      sum: 103331703,
      first: [
        100004, 100038, 100044, 100045, 100054, 100056, 100061, 100076, 100079, 100084, 100086, 100090, 100109, 100110, 100111, 100113,
      ],
    });
    // 6-byte values (byte-wise jhash), default 5 hashes.
    expect(
      positives(
        system,
        { valueSize: 6, maxEntries: 50 },
        Array.from({ length: 50 }, (_, i) => le(i * 13, 6, 0, [5, 7])),
        (i) => le(i, 6, 0, [5, 7]),
        100000,
        110000,
      ),
    ).toEqual({
      count: 80,
      sum: 8382682,
      first: [
        100332, 100469, 100489, 100577, 100828, 101192, 101202, 101268, 101327, 101333, 101361, 101390, 101392, 101586, 101617, 101670,
      ],
    });
    // 20-byte values (jhash2 over 5 words, one mix round), 1 hash.
    expect(
      positives(
        system,
        { valueSize: 20, maxEntries: 10, mapExtra: 1n },
        Array.from({ length: 10 }, (_, i) => le(i, 20, 16)),
        (i) => le(i, 20, 16),
        1000,
        3000,
      ),
    ).toEqual({
      count: 284,
      sum: 556885,
      first: [1002, 1004, 1005, 1015, 1020, 1030, 1036, 1044, 1047, 1055, 1058, 1076, 1094, 1095, 1101, 1102],
    });
  });

  it('answers the kernel errors: push flags, delete, next-key, pop, batches, keys', () => {
    using system = new MockSystem();
    using b = system.createMap({ type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 100 }, { key: noKey, value: u32 });
    expect(b.has(1)).toBe(false);
    b.push(1);
    expect(b.has(1)).toBe(true);
    expect(codeOf(() => b.push(2, 'exist'))).toBe('EINVAL');
    expect(codeOf(() => b.pop())).toBe('ENOTSUPP');
    expect(codeOf(() => b.nextKey())).toBe('EOPNOTSUPP');
    const file = new MockMapFile(
      system.kernel,
      createMockMapStore(system.kernel, { type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 8 }),
      { read: true, write: true },
    );
    expect(codeOf(() => file.delete(null as never))).toBe('EOPNOTSUPP');
    expect(codeOf(() => file.update(new Uint8Array(4), new Uint8Array(4), 0))).toBe('EINVAL'); // a key on a keyless map
    expect(codeOf(() => file.lookupBatch(false, null, new Uint8Array(8), new Uint8Array(0), new Uint8Array(16), 4))).toBe('ENOTSUPP');
    expect(codeOf(() => file.updateBatch(new Uint8Array(0), new Uint8Array(4), 1, 0))).toBe('ENOTSUPP');
    file.release();
    expect(system.liveObjects).toBe(1);
  });
});
