import { InvalidArgumentError, MapFlags, MapMismatchError, MapType, noKey, NotSupportedError, u32, u64 } from '@bpfkit/core';
import type { MapSpec } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { codeOf } from './test-support/error-code.js';
import { MockSystem } from './mock-system.js';

const HASH = { name: 'h', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8 };

describe('MockSystem', () => {
  it('has 4 possible CPUs unless told otherwise', () => {
    expect(new MockSystem().possibleCpus).toBe(4);
    expect(new MockSystem({ possibleCpus: 7 }).possibleCpus).toBe(7);
    expect(() => new MockSystem({ possibleCpus: 0 })).toThrow(InvalidArgumentError);
  });

  it('per-CPU maps: raw values are one roundUp(valueSize, 8) slot per CPU, kept as written', () => {
    using system = new MockSystem({ possibleCpus: 3 });
    using raw = system.createMap({ type: MapType.PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
    const value = new Uint8Array(24).fill(0xab);
    raw.update(new Uint8Array(4), value);
    expect(raw.lookup(new Uint8Array(4))).toEqual(value); // the padding comes back too (as on the kernel)
    expect(() => raw.update(new Uint8Array(4), new Uint8Array(4))).toThrow(/value: expected 24 bytes/);
    using typed = system.createPerCpuMap(
      { type: MapType.LRU_PERCPU_HASH, keySize: 4, valueSize: 8, maxEntries: 4 },
      { key: u32, value: u64 },
    );
    typed.update(1, [1n, 2n, 3n]);
    expect(typed.lookup(1)).toEqual([1n, 2n, 3n]);
    expect(typed.lookupAndDelete(1)).toEqual([1n, 2n, 3n]);
    using arr = system.createPerCpuMap({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 }, { key: u32, value: u32 });
    expect(arr.lookup(0)).toEqual([0, 0, 0]);
    expect(codeOf(() => arr.update(0, [1, 2, 3], 'noexist'))).toBe('EEXIST');
    expect(codeOf(() => arr.delete(0))).toBe('EINVAL');
    expect(codeOf(() => arr.lookupAndDelete(0))).toBe('ENOTSUPP');
    expect(() => system.createPerCpuMap(HASH, { key: u32, value: u64 })).toThrow(InvalidArgumentError);
    expect(() => system.createPerCpuMap({ ...HASH, type: MapType.PERCPU_HASH }, { key: u32, value: u32 })).toThrow(
      /value codec: expected a codec of 8 bytes/,
    );
    expect(codeOf(() => system.createMap({ ...HASH, type: MapType.PERCPU_HASH, valueSize: 32769 }))).toBe('E2BIG');
    expect(system.liveObjects).toBe(3);
  });

  it('read-only and write-only descriptors; the access flags are the fd’s, not the map’s', () => {
    using system = new MockSystem();
    using ro = system.createMap({ ...HASH, flags: MapFlags.RDONLY, contents: [] }, { key: u32, value: u64 });
    expect(codeOf(() => ro.update(1, 1n))).toBe('EPERM');
    expect(codeOf(() => ro.delete(1))).toBe('EPERM');
    expect(codeOf(() => ro.lookupAndDelete(1))).toBe('EPERM');
    expect(codeOf(() => ro.freeze())).toBe('EPERM');
    expect(ro.lookup(1)).toBeUndefined();
    expect(ro.info().flags).toBe(0);
    ro.pin('/sys/fs/bpf/ro');
    using again = system.openPinnedMap('/sys/fs/bpf/ro', { key: u32, value: u64 });
    again.update(1, 1n); // a pin opens read-write
    expect(ro.lookup(1)).toBe(1n);
    using wo = system.createMap({ ...HASH, flags: MapFlags.WRONLY }, { key: u32, value: u64 });
    wo.update(1, 1n);
    expect(codeOf(() => wo.lookup(1))).toBe('EPERM');
    expect(codeOf(() => wo.nextKey())).toBe('EPERM');
    expect(codeOf(() => wo.lookupAndDelete(1))).toBe('EPERM');
    expect(wo.delete(1)).toBe(true);
    wo.freeze();
    expect(codeOf(() => wo.update(1, 1n))).toBe('EPERM');
    expect(codeOf(() => system.createMap({ ...HASH, flags: MapFlags.RDONLY | MapFlags.WRONLY }))).toBe('EINVAL');
  });

  it('frozen queues still peek but cannot pop', () => {
    using system = new MockSystem();
    using q = system.createMap({ type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 2 }, { key: noKey, value: u32 });
    q.push(7);
    q.freeze();
    expect(q.peek()).toBe(7);
    expect(codeOf(() => q.pop())).toBe('EPERM');
    expect(codeOf(() => q.freeze())).toBe('EPERM');
  });

  it('queues and stacks: exist overwrites the oldest; any on a full one is E2BIG; next-key is EINVAL', () => {
    using system = new MockSystem();
    using s = system.createMap({ type: MapType.STACK, keySize: 0, valueSize: 4, maxEntries: 3 }, { key: noKey, value: u32 });
    for (const v of [1, 2, 3]) s.push(v);
    expect(codeOf(() => s.push(4))).toBe('E2BIG');
    s.push(4, 'exist');
    expect([s.pop(), s.pop(), s.pop(), s.pop()]).toEqual([4, 3, 2, undefined]);
    using q = system.createMap({ type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 3 }, { key: noKey, value: u32 });
    for (const v of [1, 2, 3]) q.push(v);
    q.push(4, 'exist');
    q.push(5, 'exist');
    expect([q.pop(), q.pop(), q.pop(), q.pop()]).toEqual([3, 4, 5, undefined]);
    expect(codeOf(() => q.nextKey())).toBe('EINVAL');
    for (let i = 0; i < 5000; i++) {
      q.push(i, 'exist');
      if (i % 3 === 0) q.pop();
    }
    expect([q.pop(), q.pop(), q.pop(), q.pop()]).toEqual([4997, 4998, 4999, undefined]);
  });

  it('mmapable arrays: memory() is the storage, elements roundUp(valueSize, 8) apart', () => {
    using system = new MockSystem();
    using a = system.createMap(
      { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 3, flags: MapFlags.MMAPABLE },
      { key: u32, value: u32 },
    );
    const mem = a.memory();
    expect(mem.byteLength).toBe(24);
    a.update(1, 0x01020304);
    expect(new DataView(mem.buffer, mem.byteOffset).getUint32(8, true)).toBe(0x01020304);
    new DataView(mem.buffer, mem.byteOffset).setUint32(16, 99, true);
    expect(a.lookup(2)).toBe(99);
    expect(a.memory()).toBe(mem);
    using plain = system.createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 3 });
    expect(() => plain.memory()).toThrow(InvalidArgumentError);
    using hash = system.createMap(HASH);
    expect(() => hash.memory()).toThrow(/BPF_F_MMAPABLE/);
    expect(
      codeOf(() => system.createMap({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 3, flags: MapFlags.MMAPABLE })),
    ).toBe('EINVAL');
  });

  it('mmapable arrays: mapped memory blocks freezing, a frozen or read-only map cannot be mapped (as on Linux 6.18)', () => {
    using system = new MockSystem();
    const spec = { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 3, flags: MapFlags.MMAPABLE };
    const mapped = system.createMap(spec);
    mapped.memory();
    expect(codeOf(() => mapped.freeze())).toBe('EBUSY');
    mapped.pin('/sys/fs/bpf/mm');
    using other = system.openPinnedMap('/sys/fs/bpf/mm');
    expect(codeOf(() => other.freeze())).toBe('EBUSY'); // the mapping is the map's, whichever fd froze it
    mapped.close(); // unmaps
    other.freeze();
    expect(codeOf(() => other.memory())).toBe('EPERM');
    for (const flags of [MapFlags.RDONLY_PROG, MapFlags.RDONLY, MapFlags.WRONLY]) {
      using m = system.createMap({ ...spec, flags: MapFlags.MMAPABLE | flags });
      expect(codeOf(() => m.memory())).toBe('EACCES');
    }
  });

  it('writes the spec contents at creation', () => {
    using system = new MockSystem();
    using m = system.createMap(
      { ...HASH, contents: [{ key: Uint8Array.of(1, 0, 0, 0), value: new Uint8Array(8).fill(2) }] },
      { key: u32, value: u64 },
    );
    expect(m.lookup(1)).toBe(0x0202020202020202n);
    expect(() =>
      system.createMap({
        ...HASH,
        maxEntries: 1,
        contents: [
          { key: new Uint8Array(4), value: new Uint8Array(8) },
          { key: Uint8Array.of(1, 0, 0, 0), value: new Uint8Array(8) },
        ],
      }),
    ).toThrow(expect.objectContaining({ code: 'E2BIG' }));
    expect(system.liveObjects).toBe(1);
  });

  it('openOrCreateMap: creates and pins, reuses a match, names every difference, replaces on request', () => {
    using system = new MockSystem();
    const pinPath = '/sys/fs/bpf/ooc';
    const first = system.openOrCreateMap(HASH, { pinPath }, { key: u32, value: u64 });
    first.update(1, 11n);
    first.close();
    using again = system.openOrCreateMap(HASH, { pinPath }, { key: u32, value: u64 });
    expect(again.lookup(1)).toBe(11n);
    let message = '';
    try {
      system.openOrCreateMap(
        { ...HASH, type: MapType.LRU_HASH, keySize: 8, valueSize: 4, maxEntries: 16, flags: MapFlags.ZERO_SEED },
        { pinPath },
      );
    } catch (err) {
      expect(err).toBeInstanceOf(MapMismatchError);
      expect((err as MapMismatchError).differences).toHaveLength(5);
      message = (err as Error).message;
    }
    expect(message).toContain('type: hash changed to lru_hash');
    expect(message).toContain('keySize: 4 changed to 8');
    expect(message).toContain('valueSize: 8 changed to 4');
    expect(message).toContain('maxEntries: 8 changed to 16');
    expect(message).toContain('flags: none changed to zero_seed');
    // The kernel keeps RDONLY out of the map's flags: a read-only spec still matches, and opens read-only.
    using ro = system.openOrCreateMap({ ...HASH, flags: MapFlags.RDONLY }, { pinPath }, { key: u32, value: u64 });
    expect(codeOf(() => ro.update(2, 2n))).toBe('EPERM');
    using replaced = system.openOrCreateMap({ ...HASH, maxEntries: 32 }, { pinPath, onMismatch: 'replace' }, { key: u32, value: u64 });
    expect(replaced.lookup(1)).toBeUndefined();
    expect(again.lookup(1)).toBe(11n); // the old map lives on while a handle holds it
    using reopened = system.openPinnedMap(pinPath);
    expect(reopened.info().maxEntries).toBe(32);
    reopened.unpin(); // a handle opened from a pin can remove it
    expect(codeOf(() => system.openPinnedMap(pinPath))).toBe('ENOENT');
    expect(() => system.openOrCreateMap(HASH, { pinPath, onMismatch: 'ignore' as never })).toThrow(InvalidArgumentError);
    expect(codeOf(() => system.openOrCreateMap({ ...HASH, keySize: 0 }, { pinPath }))).toBe('EINVAL');
  });

  it('ids, openMapById and listMaps cover every live map, also those only a pin holds', () => {
    using system = new MockSystem();
    const a = system.createMap({ ...HASH, name: 'a-very-long-map-name!' });
    using b = system.createMap({ ...HASH, name: 'b' });
    expect(a.info().name).toBe('a_very_long_map');
    a.pin('/sys/fs/bpf/a');
    const idA = a.info().id;
    a.close();
    expect(system.listMaps().map((m) => [m.id, m.name])).toEqual([
      [idA, 'a_very_long_map'],
      [b.info().id, 'b'],
    ]);
    using byId = system.openMapById(idA);
    expect(byId.name).toBe('a_very_long_map');
    expect(codeOf(() => system.openMapById(0x7ffffff0))).toBe('ENOENT');
    expect(() => system.openMapById(-1)).toThrow(InvalidArgumentError);
    system.close(); // unpins
    byId.close();
    expect(system.listMaps().map((m) => m.name)).toEqual(['b']);
  });

  it('refuses specs as Linux 6.18 does', () => {
    using system = new MockSystem({ possibleCpus: 2 });
    const cases: [MapSpec, string][] = [
      [{ ...HASH, keySize: 0 }, 'EINVAL'],
      [{ ...HASH, valueSize: 0 }, 'EINVAL'],
      [{ ...HASH, maxEntries: 0 }, 'EINVAL'],
      [{ ...HASH, flags: MapFlags.MMAPABLE }, 'EINVAL'],
      [{ ...HASH, mapExtra: 1n }, 'EINVAL'],
      [{ ...HASH, flags: MapFlags.RDONLY_PROG | MapFlags.WRONLY_PROG }, 'EINVAL'],
      [{ ...HASH, numaNode: 5 }, 'EINVAL'],
      [{ ...HASH, type: MapType.PERCPU_HASH, numaNode: 0 }, 'EINVAL'],
      [{ ...HASH, valueSize: (4 << 20) - 52 }, 'E2BIG'],
      [{ ...HASH, maxEntries: 2 ** 27 + 1, flags: MapFlags.NO_PREALLOC }, 'E2BIG'],
      [{ ...HASH, type: MapType.LRU_HASH, flags: MapFlags.NO_PREALLOC }, 'ENOTSUPP'],
      [{ type: MapType.ARRAY, keySize: 8, valueSize: 4, maxEntries: 4 }, 'EINVAL'],
      [{ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, flags: MapFlags.NO_PREALLOC }, 'EINVAL'],
      [{ type: MapType.ARRAY, keySize: 4, valueSize: 2 ** 31, maxEntries: 1 }, 'E2BIG'],
      [{ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, flags: MapFlags.PRESERVE_ELEMS }, 'EINVAL'],
      [{ type: MapType.QUEUE, keySize: 4, valueSize: 4, maxEntries: 4 }, 'EINVAL'],
      [{ type: MapType.QUEUE, keySize: 0, valueSize: 0, maxEntries: 4 }, 'EINVAL'],
      [{ type: MapType.STACK, keySize: 0, valueSize: (4 << 20) + 1, maxEntries: 4 }, 'E2BIG'],
      [{ type: MapType.PROG_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 }, 'EINVAL'],
      [{ type: 0, keySize: 4, valueSize: 4, maxEntries: 4 }, 'EINVAL'],
      [{ type: 99, keySize: 4, valueSize: 4, maxEntries: 4 }, 'EINVAL'],
      [{ ...HASH, keySize: 600 }, 'ok'],
      [{ ...HASH, flags: MapFlags.ZERO_SEED | MapFlags.NUMA_NODE }, 'ok'],
    ];
    for (const [spec, code] of cases) expect([spec, codeOf(() => system.createMap(spec).close())]).toEqual([spec, code]);
    expect(() => system.createMap({ type: MapType.ARENA, keySize: 0, valueSize: 0, maxEntries: 1, flags: MapFlags.MMAPABLE })).toThrow(
      NotSupportedError,
    );
    expect(() => system.createMap({ type: MapType.ARENA, keySize: 0, valueSize: 0, maxEntries: 1, flags: MapFlags.MMAPABLE })).toThrow(
      /arena/,
    );
    expect(() => system.createMap({ ...HASH, mapExtra: -1n })).toThrow(InvalidArgumentError);
    expect(system.liveObjects).toBe(0);
  });

  it('features: the implemented map types and batch operations', () => {
    const f = new MockSystem().features();
    for (const name of [
      'hash',
      'array',
      'percpu_hash',
      'percpu_array',
      'lru_hash',
      'lru_percpu_hash',
      'lpm_trie',
      'array_of_maps',
      'hash_of_maps',
      'prog_array',
      'queue',
      'stack',
      'bloom_filter',
      'ringbuf',
      'perf_event_array',
    ]) {
      expect([name, f.mapTypes[name]]).toEqual([name, true]);
    }
    expect(f.mapTypes.arena).toBe(false);
    expect(f.batchOps).toBe(true);
  });
});
