import { MapFlags, MapType, u32 } from '@bpfkit/core';
import type { Map } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { codeOf } from './test-support/error-code.js';
import { MockSystem } from './mock-system.js';

// Every expectation here was observed on Linux 6.18 with 2 possible CPUs and
// the test process on one CPU (the kernel's LRU free lists are per CPU).

const sorted = (m: Map<number, number>) => [...m.keys()].sort((a, b) => a - b);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function lru(system: MockSystem, maxEntries: number, type: number = MapType.LRU_HASH, flags = 0): Map<number, number> {
  return system.createMap({ type, keySize: 4, valueSize: 4, maxEntries, flags }, { key: u32, value: u32 });
}

describe('LRU hash eviction', () => {
  it('evicts the least recently updated entry when a full map takes a new key', () => {
    using system = new MockSystem({ possibleCpus: 2 });
    using m = lru(system, 4);
    for (let i = 1; i <= 5; i++) m.update(i, i);
    expect(sorted(m)).toEqual([2, 3, 4, 5]);
  });

  it('does not count user-space lookups as use', () => {
    using system = new MockSystem({ possibleCpus: 2 });
    using m = lru(system, 4);
    for (let i = 1; i <= 4; i++) m.update(i, i);
    expect(m.lookup(1)).toBe(1);
    m.update(5, 5);
    expect(sorted(m)).toEqual([2, 3, 4, 5]);
  });

  it('evicts in batches of target_free = max_entries / CPUs / 2 (at most 128)', () => {
    using system = new MockSystem({ possibleCpus: 2 });
    using m8 = lru(system, 8);
    for (let i = 1; i <= 9; i++) m8.update(i, i);
    expect(sorted(m8)).toEqual(range(3, 9)); // two went to make room
    m8.update(10, 10);
    expect(sorted(m8)).toEqual(range(3, 10)); // the second freed node
    m8.update(11, 11);
    expect(sorted(m8)).toEqual(range(5, 11));
    using m100 = lru(system, 100);
    for (let i = 0; i <= 100; i++) m100.update(i, i);
    expect(sorted(m100)).toEqual([...range(25, 100)]); // 25 evicted at once: 76 left
    using m1000 = lru(system, 1000);
    for (let i = 0; i < 1000; i++) m1000.update(i, i);
    m1000.update(5000, 1);
    // The eighth refill found only 104 free nodes and evicted 24 more to make 128.
    expect([...m1000.keys()]).toHaveLength(977);
    expect(m1000.lookup(23)).toBeUndefined();
    expect(m1000.lookup(24)).toBe(24);
  });

  it('takes a fresh node to update an existing key: on a full map that may evict the key itself', () => {
    using system = new MockSystem({ possibleCpus: 2 });
    using m = lru(system, 4);
    for (let i = 1; i <= 4; i++) m.update(i, i);
    // 1 is the oldest: the update evicts it, then finds no key 1, so noexist succeeds.
    m.update(1, 11, 'noexist');
    expect(sorted(m)).toEqual([1, 2, 3, 4]);
    using n = lru(system, 4);
    for (let i = 1; i <= 4; i++) n.update(i, i);
    n.update(3, 33, 'exist'); // evicts 1 (the oldest) to get a node for 3
    expect(sorted(n)).toEqual([2, 3, 4]);
    // The old node of 3 went to the global free list: no eviction, but 1 is gone.
    expect(codeOf(() => n.update(1, 1, 'exist'))).toBe('ENOENT');
    expect(sorted(n)).toEqual([2, 3, 4]);
  });

  it('gives an updated element a second chance over an older node freed meanwhile', () => {
    using system = new MockSystem({ possibleCpus: 2 });
    using m = lru(system, 8);
    for (let i = 1; i <= 8; i++) m.update(i, i);
    m.delete(8);
    m.update(1, 11);
    m.update(8, 8);
    expect(sorted(m)).toEqual([1, 3, 4, 5, 6, 7, 8]);
    m.update(9, 9);
    expect(sorted(m)).toEqual([1, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('per-CPU LRU: updates in place, exist takes no node, other updates of a full map evict', () => {
    using system = new MockSystem({ possibleCpus: 2 });
    using m = system.createMap({ type: MapType.LRU_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
    const v = new Uint8Array(16);
    const k = (i: number) => Uint8Array.of(i, 0, 0, 0);
    const keys = () => [...m.keys()].map((x) => x[0]!).sort();
    for (let i = 1; i <= 4; i++) m.update(k(i), v);
    m.update(k(1), v, 'exist');
    expect(keys()).toEqual([1, 2, 3, 4]);
    m.update(k(1), v, 'any'); // needs a node: 2 goes (1 was just referenced)
    expect(keys()).toEqual([1, 3, 4]);
    m.update(k(2), v, 'noexist');
    expect(keys()).toEqual([1, 2, 3, 4]);
  });

  it('BPF_F_NO_COMMON_LRU: max_entries rounds up to the CPUs; CPU 0 owns its share and shrinks by 4', () => {
    using system = new MockSystem({ possibleCpus: 2 });
    using odd = lru(system, 5, MapType.LRU_HASH, MapFlags.NO_COMMON_LRU);
    expect(odd.info().maxEntries).toBe(6);
    using m = lru(system, 8, MapType.LRU_HASH, MapFlags.NO_COMMON_LRU);
    for (let i = 1; i <= 8; i++) m.update(i, i);
    expect(sorted(m)).toEqual([5, 6, 7, 8]);
  });

  it('refuses BPF_F_LOCK and unknown flags, and LRU maps without preallocation', () => {
    using system = new MockSystem({ possibleCpus: 2 });
    using m = lru(system, 4);
    expect(codeOf(() => m.update(1, 1, 'lock'))).toBe('EINVAL');
    expect(codeOf(() => lru(system, 4, MapType.LRU_HASH, MapFlags.NO_PREALLOC))).toBe('ENOTSUPP');
    expect(codeOf(() => lru(system, 4, MapType.HASH, MapFlags.NO_COMMON_LRU))).toBe('EINVAL');
  });
});
