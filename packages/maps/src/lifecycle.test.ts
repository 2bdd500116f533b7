import fs from 'node:fs';
import { BpfError, InvalidArgumentError, MapFlags, MapType, ProgramType, u32, u64 } from '@bpfkit/core';
import { getFdById, mountPrivateBpffs, native, objPin, progLoad } from '@bpfkit/syscalls';
import { describe, expect, it } from 'vitest';
import { adoptMapFd, createKernelMap, openMapById, openPinnedMap } from './kernel-map.js';
import { mapDifferences, MapMismatchError } from '@bpfkit/core';
import { listMaps, openOrCreateMap } from './lifecycle.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

const openFds = () => fs.readdirSync('/proc/self/fd').length;
const SPEC = { name: 'ooc', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 100 };
const codecs = { key: u32, value: u64 };

describe('open-or-create arguments (no kernel needed)', () => {
  it('rejects a bad path, option or spec before any system call', () => {
    expect(() => openOrCreateMap(SPEC, { pinPath: '' })).toThrow(/pinPath: expected a path in bpffs/);
    expect(() => openOrCreateMap(SPEC, { pinPath: '/x', onMismatch: 'merge' as 'fail' })).toThrow(
      /onMismatch: expected 'fail' or 'replace'/,
    );
    expect(() => openOrCreateMap({ ...SPEC, keySize: -1 }, { pinPath: '/x' })).toThrow(InvalidArgumentError);
  });

  it('lists every difference, flags as the kernel keeps them', () => {
    const pinned = { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 100, flags: MapFlags.NO_PREALLOC };
    expect(mapDifferences(pinned, { ...SPEC, flags: MapFlags.NO_PREALLOC | MapFlags.RDONLY })).toEqual([]);
    const diffs = mapDifferences(pinned, { ...SPEC, type: MapType.LRU_HASH, keySize: 8, maxEntries: 200 });
    expect(diffs.map((d) => d.field)).toEqual(['type', 'keySize', 'maxEntries', 'flags']);
    expect(new MapMismatchError('/p', diffs).message).toBe(
      'the map pinned at /p does not match the spec: type: hash changed to lru_hash; keySize: 4 changed to 8; ' +
        "maxEntries: 100 changed to 200; flags: no_prealloc changed to none (pass onMismatch: 'replace' to replace it)",
    );
  });
});

whenKernel().describe('map lifecycle on the kernel', () => {
  it('creates and pins, reopens a match, fails naming every difference, replaces on request — leaking no fd', () => {
    using fsys = mountPrivateBpffs();
    const pinPath = `${fsys.dir}/ooc`;
    const before = openFds();
    {
      using first = openOrCreateMap(SPEC, { pinPath }, codecs);
      first.update(1, 10n);
      expect(fs.existsSync(pinPath)).toBe(true);
      using again = openOrCreateMap(SPEC, { pinPath }, codecs);
      expect(again.lookup(1)).toBe(10n);
      expect(again.info().id).toBe(first.info().id);
      let err: unknown;
      try {
        openOrCreateMap({ ...SPEC, maxEntries: 200, valueSize: 4, flags: MapFlags.NO_PREALLOC }, { pinPath });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MapMismatchError);
      const message = (err as Error).message;
      expect(message).toMatch(/valueSize: 8 changed to 4/);
      expect(message).toMatch(/maxEntries: 100 changed to 200/);
      expect(message).toMatch(/flags: none changed to no_prealloc/);
      expect((err as MapMismatchError).differences).toHaveLength(3);
      using replaced = openOrCreateMap({ ...SPEC, maxEntries: 200 }, { pinPath, onMismatch: 'replace' }, codecs);
      expect(replaced.info().id).not.toBe(first.info().id);
      expect(replaced.lookup(1)).toBeUndefined();
      using pinned = openPinnedMap(pinPath, codecs);
      expect(pinned.info().id).toBe(replaced.info().id);
      // The old map lives on for its holders.
      expect(first.lookup(1)).toBe(10n);
      // A refused spec leaves the pin alone.
      expect(() => openOrCreateMap({ ...SPEC, maxEntries: 0 }, { pinPath, onMismatch: 'replace' })).toThrow(BpfError);
      using still = openPinnedMap(pinPath);
      expect(still.info().id).toBe(replaced.info().id);
    }
    expect(openFds()).toBe(before);
  });

  it('reopens a pin of a map created read-only with read-only access', () => {
    using fsys = mountPrivateBpffs();
    const pinPath = `${fsys.dir}/ro`;
    const spec = { ...SPEC, name: 'ro', flags: MapFlags.RDONLY };
    using created = openOrCreateMap(spec, { pinPath }, codecs);
    expect(() => created.update(1, 1n)).toThrow(/EPERM/);
    using reopened = openOrCreateMap(spec, { pinPath }, codecs);
    expect(() => reopened.update(1, 1n)).toThrow(/EPERM/);
    using rw = openPinnedMap(pinPath, codecs);
    rw.update(1, 1n);
    using ro = openPinnedMap(pinPath, codecs, { access: 'rdonly' });
    expect(ro.lookup(1)).toBe(1n);
    expect(() => ro.update(1, 2n)).toThrow(/EPERM/);
  });

  it('a pin that is not a map is refused without leaking its fd', () => {
    using fsys = mountPrivateBpffs();
    const insns = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);
    const prog = progLoad({ progType: ProgramType.SOCKET_FILTER, insns, license: 'GPL' });
    try {
      objPin(`${fsys.dir}/prog`, prog);
    } finally {
      native.close(prog);
    }
    const before = openFds();
    expect(() => openPinnedMap(`${fsys.dir}/prog`)).toThrow(/not a map/);
    expect(() => openOrCreateMap(SPEC, { pinPath: `${fsys.dir}/prog`, onMismatch: 'replace' })).toThrow(/not a map/);
    expect(openFds()).toBe(before);
    expect(() => openPinnedMap(`${fsys.dir}/nothing`)).toThrow(/ENOENT/);
  });

  it('adoptMapFd refuses an fd that is no map, whatever it is, and closes it', () => {
    const file = fs.openSync('/proc/self/status', 'r');
    expect(() => adoptMapFd(file)).toThrow(/the object is not a map but a non-BPF file/);
    expect(() => fs.fstatSync(file)).toThrow(/EBADF/);
    const prog = progLoad({
      progType: ProgramType.SOCKET_FILTER,
      insns: Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0),
      license: 'GPL',
    });
    expect(() => adoptMapFd(prog)).toThrow(/the object is not a map but a BPF prog/);
    expect(() => fs.fstatSync(prog)).toThrow(/EBADF/);
  });

  it('adoptMapFd closes the fd when codecs of other sizes, or its check, refuse the map', () => {
    using m = createKernelMap(SPEC, codecs);
    const bySize = getFdById('map', m.info().id);
    expect(() => adoptMapFd(bySize, { key: u64, value: u64 })).toThrow(InvalidArgumentError);
    expect(() => fs.fstatSync(bySize)).toThrow(/EBADF/);
    const byCheck = getFdById('map', m.info().id);
    expect(() =>
      adoptMapFd(byCheck, undefined, (found) => {
        if (found.maxEntries !== 1) throw new Error(`refused: ${found.maxEntries} entries`);
      }),
    ).toThrow('refused: 100 entries');
    expect(() => fs.fstatSync(byCheck)).toThrow(/EBADF/);
  });

  it('listMaps finds a fresh map with its info, and leaks no fd', () => {
    using m = createKernelMap({ ...SPEC, name: 'listed', mapExtra: undefined }, codecs);
    const id = m.info().id;
    const before = openFds();
    const all = listMaps();
    expect(openFds()).toBe(before);
    expect(all.find((i) => i.id === id)).toMatchObject({
      id,
      name: 'listed',
      type: MapType.HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries: 100,
      frozen: false,
    });
    m.freeze();
    expect(listMaps().find((i) => i.id === id)?.frozen).toBe(true);
  });

  it('opens a map by id, with codecs and access flags; an unknown id is ENOENT', () => {
    using m = createKernelMap({ ...SPEC, name: 'byid' }, codecs);
    m.update(9, 90n);
    using byId = openMapById(m.info().id, codecs);
    expect(byId.lookup(9)).toBe(90n);
    expect(byId.name).toBe('byid');
    using wo = openMapById(m.info().id, codecs, { access: 'wronly' });
    wo.update(10, 100n);
    expect(() => wo.lookup(10)).toThrow(/EPERM/);
    expect(() => openMapById(0x7ffffff0)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => openMapById(m.info().id, codecs, { access: 'rw' as 'rdonly' })).toThrow(InvalidArgumentError);
  });

  it('per-CPU maps opened by id use the flat per-CPU value', () => {
    using m = createKernelMap({ name: 'pcid', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    using byId = openMapById(m.info().id);
    expect(byId.lookup(Uint8Array.of(0, 0, 0, 0))!.byteLength).toBe(m.lookup(Uint8Array.of(0, 0, 0, 0))!.byteLength);
  });
});
