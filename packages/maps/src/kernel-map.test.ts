import fs from 'node:fs';
import { InvalidArgumentError, MapType, u32, u64 } from '@bpfkit/core';
import { bpfAccess, mountPrivateBpffs } from '@bpfkit/syscalls';
import { describe, expect, it } from 'vitest';
import { createKernelMap, openMapById, openPinnedMap } from './kernel-map.js';

const openFds = () => fs.readdirSync('/proc/self/fd').length;
const SPEC = { name: 'km_test', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8 };

describe('kernel map arguments (no kernel needed)', () => {
  it('rejects bad specs, ids and paths before any system call', () => {
    expect(() => createKernelMap({ ...SPEC, keySize: 1.5 })).toThrow(/map spec keySize: expected an integer from 0 to 4294967295, got the number 1.5/);
    expect(() => openMapById(0)).toThrow(InvalidArgumentError);
    expect(() => openPinnedMap('')).toThrow(/pin path/);
  });
});

const access = bpfAccess();
describe.skipIf(!access.available)(`kernel maps${access.reason ? ` — skipped: ${access.reason}` : ''}`, () => {
  it('10,000 create/close cycles leave the open fd count unchanged', () => {
    const before = openFds();
    for (let i = 0; i < 10_000; i++) createKernelMap(SPEC).close();
    expect(openFds()).toBe(before);
  });

  it('10,000 open/close cycles of a pinned map leak no fd', () => {
    using fsys = mountPrivateBpffs();
    using m = createKernelMap(SPEC);
    m.pin(`${fsys.dir}/m`);
    const before = openFds();
    for (let i = 0; i < 10_000; i++) openPinnedMap(`${fsys.dir}/m`).close();
    expect(openFds()).toBe(before);
    m.unpin();
  });

  it('a codec mismatch closes the fresh fd instead of leaking it', () => {
    const before = openFds();
    expect(() => createKernelMap(SPEC, { key: u64, value: u64 })).toThrow(/key codec/);
    expect(openFds()).toBe(before);
  });

  it.skipIf(typeof globalThis.gc !== 'function')('closes maps that were dropped without close() once collected', async () => {
    const before = openFds();
    (() => {
      for (let i = 0; i < 50; i++) createKernelMap(SPEC);
    })();
    expect(openFds()).toBe(before + 50);
    for (let i = 0; i < 20 && openFds() > before; i++) {
      globalThis.gc!();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(openFds()).toBe(before);
  });

  it('opens by id and writes initial contents', () => {
    using m = createKernelMap(
      { ...SPEC, contents: [{ key: Uint8Array.of(1, 0, 0, 0), value: new Uint8Array(8).fill(2) }] },
      { key: u32, value: u64 },
    );
    expect(m.lookup(1)).toBe(0x0202020202020202n);
    using again = openMapById(m.info().id, { key: u32, value: u64 });
    expect(again.lookup(1)).toBe(0x0202020202020202n);
    expect(again.name).toBe('km_test');
  });

  it('names kernel refusals: zero max entries, an unknown map type', () => {
    expect(() => createKernelMap({ ...SPEC, maxEntries: 0 })).toThrow(/BPF_MAP_CREATE.*EINVAL/);
    expect(() => createKernelMap({ ...SPEC, type: 999 })).toThrow(/EINVAL/);
  });
});
