import { BpfError, ClosedError, InvalidArgumentError, MapFlags, MapType, NotSupportedError, u32, u64 } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { MockSystem } from './mock-system.js';

const hash = { name: 'h', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 3 };

describe('mock maps', () => {
  it('keeps the kernel semantics of hash maps: noexist/exist, capacity, delete', () => {
    using system = new MockSystem();
    using m = system.createMap(hash, { key: u32, value: u64 });
    m.update(1, 10n);
    expect(m.lookup(1)).toBe(10n);
    expect(m.lookup(2)).toBeUndefined();
    expect(() => m.update(1, 11n, 'noexist')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => m.update(2, 11n, 'exist')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    m.update(2, 20n);
    m.update(3, 30n);
    const full = (() => {
      try {
        m.update(4, 40n);
      } catch (e) {
        return e;
      }
    })();
    expect(full).toBeInstanceOf(BpfError);
    expect((full as BpfError).code).toBe('E2BIG');
    expect((full as BpfError).command).toBe('BPF_MAP_UPDATE_ELEM');
    expect(m.delete(2)).toBe(true);
    expect(m.delete(2)).toBe(false);
    expect([...m.keys()].sort()).toEqual([1, 3]);
    expect(m.lookupAndDelete(3)).toBe(30n);
    expect(m.lookup(3)).toBeUndefined();
  });

  it('zero-fills arrays, refuses deletes with EINVAL and out-of-range updates with E2BIG', () => {
    using system = new MockSystem();
    using a = system.createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 }, { key: u32, value: u32 });
    expect([...a.entries()]).toEqual([
      [0, 0],
      [1, 0],
    ]);
    a.update(1, 7);
    expect(a.lookup(1)).toBe(7);
    expect(a.lookup(5)).toBeUndefined();
    expect(() => a.delete(0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => a.update(2, 1)).toThrow(expect.objectContaining({ code: 'E2BIG' }));
    expect(() => a.update(0, 1, 'noexist')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(a.nextKey()).toBe(0);
    expect(a.nextKey(0)).toBe(1);
    expect(a.nextKey(1)).toBeUndefined();
  });

  it('evicts the least recently used entry of a full LRU hash', () => {
    using system = new MockSystem();
    using m = system.createMap({ type: MapType.LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 2 }, { key: u32, value: u32 });
    m.update(1, 1);
    m.update(2, 2);
    m.update(1, 11); // an update makes a fresh element: 2 is now the oldest
    m.update(3, 3);
    expect([...m.keys()].sort()).toEqual([1, 3]);
  });

  it('rejects bad keys and values before touching the store, and closed maps', () => {
    using system = new MockSystem();
    const m = system.createMap(hash);
    expect(() => m.lookup(new Uint8Array(3))).toThrow(InvalidArgumentError);
    expect(() => m.lookup(new Uint8Array(3))).toThrow('key: expected 4 bytes, got a Uint8Array of 3 bytes');
    expect(() => m.update(new Uint8Array(4), new Uint8Array(4))).toThrow('value: expected 8 bytes, got a Uint8Array of 4 bytes');
    expect(() => system.createMap(hash, { key: u64, value: u64 })).toThrow(/key codec: expected a codec of 4 bytes/);
    m.close();
    m.close();
    expect(() => m.lookup(new Uint8Array(4))).toThrow(ClosedError);
    expect(system.liveObjects).toBe(0); // the codec failure above left no map behind, this one is closed
  });

  it('pins: a pin keeps the map alive, opening it shares the contents, unpin releases it', () => {
    using system = new MockSystem();
    const m = system.createMap(hash, { key: u32, value: u64 });
    m.update(1, 5n);
    m.pin('/sys/fs/bpf/h');
    expect(() => m.pin('/sys/fs/bpf/h')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    m.close();
    using again = system.openPinnedMap('/sys/fs/bpf/h', { key: u32, value: u64 });
    expect(again.lookup(1)).toBe(5n);
    expect(() => system.openPinnedMap('/sys/fs/bpf/none')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('freezes a map against user-space writes', () => {
    using system = new MockSystem();
    using m = system.createMap(hash, { key: u32, value: u64 });
    m.freeze();
    expect(m.info().frozen).toBe(true);
    expect(() => m.update(1, 1n)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    // The kernel checks write permission first: a second freeze is EPERM, not EBUSY.
    expect(() => m.freeze()).toThrow(expect.objectContaining({ code: 'EPERM' }));
  });

  it('says which map types it does not implement yet', () => {
    using system = new MockSystem();
    expect(() => system.createMap({ type: MapType.ARENA, keySize: 0, valueSize: 0, maxEntries: 1, flags: MapFlags.MMAPABLE })).toThrow(
      NotSupportedError,
    );
    expect(system.features().mapTypes.hash).toBe(true);
    expect(system.features().mapTypes.ringbuf).toBe(true);
    expect(system.features().mapTypes.arena).toBe(false);
  });
});
