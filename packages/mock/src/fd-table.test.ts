import { MapFlags, MapType, u32 } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { codeOf } from './test-support/error-code.js';
import { MockSystem } from './mock-system.js';

const INNER = { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 };

describe('mock file descriptors', () => {
  it('gives every handle its own positive fd, never reused within a system', () => {
    using system = new MockSystem();
    const a = system.createMap(INNER);
    const b = system.createMap(INNER);
    expect(a.fd).toBeGreaterThanOrEqual(3);
    expect(b.fd).toBeGreaterThan(a.fd);
    a.pin('/sys/fs/bpf/a');
    using again = system.openPinnedMap('/sys/fs/bpf/a');
    expect(again.fd).not.toBe(a.fd); // another descriptor of the same map
    expect(again.info().id).toBe(a.info().id);
    const closed = a.fd;
    a.close();
    b.close();
    using c = system.createMap(INNER);
    expect(c.fd).toBeGreaterThan(closed);
    expect(system.kernel.openFds).toBe(2);
    using other = new MockSystem();
    expect(other.createMap(INNER).fd).toBe(3); // each system has its own table
  });

  it('takes another mock map fd as a map-in-map value and answers the inner id', () => {
    using system = new MockSystem();
    using inner = system.createMap(INNER);
    using outer = system.createMap(
      { type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4, innerMap: INNER },
      { key: u32, value: u32 },
    );
    outer.update(0, inner.fd);
    expect(outer.lookup(0)).toBe(inner.info().id);
    expect(outer.lookup(1)).toBeUndefined();
    expect(outer.nextKey()).toBe(0);
    expect(outer.delete(0)).toBe(true);
    expect(outer.delete(0)).toBe(false);
    expect(codeOf(() => outer.delete(9))).toBe('E2BIG');
  });

  it('refuses an fd of the wrong kind with EINVAL and an unknown or closed fd with EBADF', () => {
    using system = new MockSystem();
    using outer = system.createMap(
      { type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4, innerMap: INNER },
      { key: u32, value: u32 },
    );
    using hash = system.createMap({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 2 });
    using bigger = system.createMap({ ...INNER, maxEntries: 3 });
    using flagged = system.createMap({ ...INNER, flags: MapFlags.RDONLY_PROG });
    using readOnly = system.createMap({ ...INNER, flags: MapFlags.RDONLY }); // RDONLY describes the fd, not the map
    expect(codeOf(() => outer.update(0, hash.fd))).toBe('EINVAL');
    expect(codeOf(() => outer.update(0, bigger.fd))).toBe('EINVAL'); // arrays must match max_entries…
    expect(codeOf(() => outer.update(0, flagged.fd))).toBe('EINVAL');
    expect(codeOf(() => outer.update(0, readOnly.fd))).toBe('ok');
    expect(codeOf(() => outer.update(0, 9999))).toBe('EBADF');
    expect(codeOf(() => outer.update(0, 0))).toBe('EINVAL'); // stdin: open, but no map
    expect(codeOf(() => outer.update(9, 9999))).toBe('E2BIG'); // the index is checked first
    expect(codeOf(() => outer.update(0, hash.fd, 'noexist'))).toBe('EINVAL');
    const gone = system.createMap(INNER);
    const fd = gone.fd;
    gone.close();
    expect(codeOf(() => outer.update(0, fd))).toBe('EBADF');
    using loose = system.createMap(
      { type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 1, innerMap: { ...INNER, flags: MapFlags.INNER_MAP } },
      { key: u32, value: u32 },
    );
    using innerMapFlagged = system.createMap({ ...INNER, maxEntries: 9, flags: MapFlags.INNER_MAP });
    expect(codeOf(() => loose.update(0, innerMapFlagged.fd))).toBe('ok'); // …unless the template has BPF_F_INNER_MAP
    using progs = system.createMap({ type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 }, { key: u32, value: u32 });
    expect(codeOf(() => progs.update(0, hash.fd))).toBe('EINVAL'); // a map where a program is expected
    expect(codeOf(() => progs.update(0, 12345))).toBe('EBADF');
    expect(progs.lookup(0)).toBeUndefined();
  });

  it('hash of maps: noexist/exist, the fd checked before the flags, full is E2BIG', () => {
    using system = new MockSystem();
    using inner = system.createMap(INNER);
    using outer = system.createMap(
      { type: MapType.HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 1, innerMap: INNER },
      { key: u32, value: u32 },
    );
    outer.update(5, inner.fd, 'noexist');
    expect(codeOf(() => outer.update(5, inner.fd, 'noexist'))).toBe('EEXIST');
    expect(codeOf(() => outer.update(5, 9999, 'noexist'))).toBe('EBADF');
    expect(codeOf(() => outer.update(6, inner.fd))).toBe('E2BIG');
    expect(outer.lookup(5)).toBe(inner.info().id);
    expect(codeOf(() => outer.lookupAndDelete(5))).toBe('ENOTSUPP');
  });

  it('an inner map lives while a slot holds it, and goes when the slot or the outer map does', () => {
    using system = new MockSystem();
    const outer = system.createMap(
      { type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMap: INNER },
      { key: u32, value: u32 },
    );
    const inner = system.createMap(INNER, { key: u32, value: u32 });
    inner.update(1, 42);
    const id = inner.info().id;
    outer.update(0, inner.fd);
    outer.update(1, inner.fd);
    inner.close();
    expect(system.liveObjects).toBe(2);
    using byId = system.openMapById(id, { key: u32, value: u32 });
    expect(byId.lookup(1)).toBe(42);
    byId.close();
    outer.delete(0);
    expect(system.liveObjects).toBe(2); // slot 1 still holds it
    outer.close();
    expect(system.liveObjects).toBe(0);
    expect(codeOf(() => system.openMapById(id))).toBe('ENOENT');
  });

  it('refuses map-in-map specs like the kernel', () => {
    using system = new MockSystem();
    const aom = (extra: object) =>
      codeOf(() =>
        system.createMap({ type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMap: INNER, ...extra }).close(),
      );
    expect(aom({ innerMap: undefined })).toBe('EINVAL');
    expect(aom({ valueSize: 8 })).toBe('EINVAL');
    expect(aom({ innerMap: { type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 1, innerMap: INNER } })).toBe('EINVAL');
    expect(aom({ innerMap: { type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 } })).toBe('ENOTSUPP');
    expect(aom({ innerMap: { type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 1 } })).toBe('ok');
    expect(aom({ flags: MapFlags.RDONLY_PROG })).toBe('EINVAL');
    expect(system.liveObjects).toBe(0);
  });
});
