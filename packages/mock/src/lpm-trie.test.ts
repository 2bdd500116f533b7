import { type BpfError, cidr4, MapFlags, MapType, u32 } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { codeOf } from './test-support/error-code.js';
import { MockSystem } from './mock-system.js';

// Orders and errors as Linux 6.18 answered them.

const LPM = { type: MapType.LPM_TRIE, keySize: 8, valueSize: 4, flags: MapFlags.NO_PREALLOC };

/** A raw IPv4 LPM key (prefix length, then the address bytes as given, trailing bits included). */
function key(prefixlen: number, a: number, b: number, c: number, d: number): Uint8Array {
  const k = new Uint8Array(8);
  new DataView(k.buffer).setUint32(0, prefixlen, true);
  k.set([a, b, c, d], 4);
  return k;
}

const show = (k: Uint8Array) => `${k.subarray(4).join('.')}/${new DataView(k.buffer, k.byteOffset).getUint32(0, true)}`;

describe('LPM trie', () => {
  it('walks in postorder: more specific prefixes before the prefixes that contain them', () => {
    using system = new MockSystem();
    using t = system.createMap({ ...LPM, maxEntries: 16 }, { key: cidr4, value: u32 });
    for (const p of [
      '192.168.0.0/16',
      '192.168.0.0/24',
      '192.168.128.0/24',
      '192.168.1.0/24',
      '10.0.0.0/8',
      '10.1.2.3/32',
      '0.0.0.0/0',
      '128.0.0.0/1',
    ])
      t.update(p, 1);
    expect([...t.keys()]).toEqual([
      '10.1.2.3/32',
      '10.0.0.0/8',
      '192.168.0.0/24',
      '192.168.1.0/24',
      '192.168.128.0/24',
      '192.168.0.0/16',
      '128.0.0.0/1',
      '0.0.0.0/0',
    ]);
    expect(t.delete('192.168.1.0/24')).toBe(true);
    expect([...t.keys()]).toEqual([
      '10.1.2.3/32',
      '10.0.0.0/8',
      '192.168.0.0/24',
      '192.168.128.0/24',
      '192.168.0.0/16',
      '128.0.0.0/1',
      '0.0.0.0/0',
    ]);
  });

  it('next-key of a key that is not there, or has too long a prefix, is the first key; bits past the prefix do not matter', () => {
    using system = new MockSystem();
    using t = system.createMap({ ...LPM, maxEntries: 16 });
    for (const k of [key(16, 192, 168, 0, 0), key(24, 192, 168, 0, 0), key(0, 0, 0, 0, 0), key(1, 128, 0, 0, 0), key(32, 10, 1, 2, 3)])
      t.update(k, new Uint8Array(4));
    expect(show(t.nextKey(key(24, 192, 168, 5, 0))!)).toBe('10.1.2.3/32');
    expect(show(t.nextKey(key(40, 192, 168, 5, 0))!)).toBe('10.1.2.3/32');
    expect(show(t.nextKey(key(16, 192, 168, 0, 5))!)).toBe('128.0.0.0/1');
    expect(t.nextKey(key(0, 0, 0, 0, 0))).toBeUndefined();
    // A delete finds the prefix the same way.
    expect(t.delete(key(24, 192, 168, 0, 99))).toBe(true);
  });

  it('keeps the data as given and replaces it with the same prefix', () => {
    using system = new MockSystem();
    using t = system.createMap({ ...LPM, maxEntries: 3 });
    const v = (n: number) => Uint8Array.of(n, 0, 0, 0);
    t.update(key(8, 10, 1, 2, 3), v(1));
    expect(show(t.nextKey()!)).toBe('10.1.2.3/8');
    expect(() => t.update(key(8, 10, 9, 9, 9), v(2), 'noexist')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    t.update(key(8, 10, 9, 9, 9), v(2));
    expect(show(t.nextKey()!)).toBe('10.9.9.9/8');
    expect(t.lookup(key(32, 10, 200, 0, 0))).toEqual(v(2));
    expect(t.lookup(key(7, 10, 0, 0, 0))).toBeUndefined(); // shorter than every stored prefix
  });

  it('answers ENOSPC when full, EINVAL for a prefix longer than the data, ENOTSUPP for lookup-and-delete', () => {
    using system = new MockSystem();
    using t = system.createMap({ ...LPM, maxEntries: 3 });
    const v = new Uint8Array(4);
    expect(codeOf(() => t.update(key(33, 10, 0, 0, 0), v))).toBe('EINVAL');
    expect(t.lookup(key(33, 10, 0, 0, 0))).toBeUndefined();
    expect(codeOf(() => t.delete(key(33, 10, 0, 0, 0)))).toBe('EINVAL');
    expect(t.delete(key(8, 10, 0, 0, 0))).toBe(false);
    expect(codeOf(() => t.update(key(8, 10, 0, 0, 0), v, 'exist'))).toBe('ENOENT');
    expect(codeOf(() => t.update(key(8, 10, 0, 0, 0), v, 'lock'))).toBe('EINVAL');
    t.update(key(8, 10, 0, 0, 0), v);
    t.update(key(16, 10, 1, 0, 0), v);
    t.update(key(0, 0, 0, 0, 0), v);
    const full = (() => {
      try {
        t.update(key(24, 10, 1, 1, 0), v);
      } catch (e) {
        return e as BpfError;
      }
      return undefined;
    })();
    expect(full?.code).toBe('ENOSPC');
    expect(full?.message).toMatch(/full/);
    expect(codeOf(() => t.update(key(24, 10, 1, 1, 0), v, 'exist'))).toBe('ENOENT'); // exist is checked before the room
    t.update(key(16, 10, 1, 0, 0), Uint8Array.of(6, 0, 0, 0)); // replacing needs no room
    expect(codeOf(() => t.lookupAndDelete(key(8, 10, 0, 0, 0)))).toBe('ENOTSUPP');
  });

  it('reads with the generic batch: the cursor is the last key, the trie order is kept', () => {
    using system = new MockSystem();
    using t = system.createMap({ ...LPM, maxEntries: 8 }, { key: cidr4, value: u32 });
    for (const [p, v] of [
      ['10.0.0.0/8', 1],
      ['10.1.0.0/16', 2],
      ['0.0.0.0/0', 3],
    ] as const)
      t.update(p, v);
    expect(t.lookupBatch({ batchSize: 2 })).toEqual([
      ['10.1.0.0/16', 2],
      ['10.0.0.0/8', 1],
      ['0.0.0.0/0', 3],
    ]);
    expect(t.lastBatch).toEqual({ count: 3, calls: 2, fallback: false });
    expect(t.deleteBatch(['10.1.0.0/16', '1.0.0.0/8', '0.0.0.0/0'])).toBe(2);
    expect([...t.keys()]).toEqual(['10.0.0.0/8']);
  });

  it('refuses specs like the kernel', () => {
    using system = new MockSystem();
    for (const spec of [
      { ...LPM, maxEntries: 4, flags: 0 },
      { ...LPM, maxEntries: 0 },
      { ...LPM, maxEntries: 4, keySize: 4 },
      { ...LPM, maxEntries: 4, keySize: 261 },
      { ...LPM, maxEntries: 4, valueSize: 0 },
      { ...LPM, maxEntries: 4, flags: MapFlags.NO_PREALLOC | MapFlags.ZERO_SEED },
    ]) {
      expect(codeOf(() => system.createMap(spec))).toBe('EINVAL');
    }
    using max = system.createMap({ ...LPM, keySize: 260, maxEntries: 4 });
    expect(max.keySize).toBe(260);
  });
});
