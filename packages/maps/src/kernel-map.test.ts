import fs from 'node:fs';
import { BpfError, InvalidArgumentError, MapFlags, MapType, u32, u64 } from '@bpfkit/core';
import type { MapSpec } from '@bpfkit/core';
import { allocElemSlot, ELEM_SLOT_MAX_BYTES, type ElemSlot, freeElemSlot, hasElemArena, mountPrivateBpffs } from '@bpfkit/syscalls';
import { describe, expect, it } from 'vitest';
import { createKernelMap, openMapById, openPinnedMap } from './kernel-map.js';
import { kernelHas, whenKernel } from '@bpfkit/syscalls/testing';

const openFds = () => fs.readdirSync('/proc/self/fd').length;
const SPEC = { name: 'km_test', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8 };

describe('kernel map arguments (no kernel needed)', () => {
  it('rejects bad specs, ids and paths before any system call', () => {
    expect(() => createKernelMap({ ...SPEC, keySize: 1.5 })).toThrow(
      /map spec keySize: expected an integer from 0 to 4294967295, got the number 1.5/,
    );
    expect(() => openMapById(0)).toThrow(InvalidArgumentError);
    expect(() => openPinnedMap('')).toThrow(/pin path/);
  });
});

whenKernel().describe('kernel maps', () => {
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

  it.skipIf(!hasElemArena)('keeps its key and value in an arena slot, and gives the slot back on close', () => {
    // A slot of the map's shape, freed: the next map of that shape takes it, and gives it back when closed.
    const probe = allocElemSlot(4, 8);
    if (!probe) throw new Error('no slot');
    freeElemSlot(probe);
    const m = createKernelMap(SPEC, { key: u32, value: u64 });
    m.update(3, 33n);
    expect(new DataView(probe.value.buffer, probe.valueOffset, 8).getBigUint64(0, true)).toBe(33n);
    expect(m.lookup(3)).toBe(33n);
    m.close();
    const next = allocElemSlot(4, 8);
    expect(next?.keyOffset).toBe(probe.keyOffset);
    if (next) freeElemSlot(next);
  });

  it('works the same with a full arena and with values too large for a slot', () => {
    const held: ElemSlot[] = [];
    try {
      for (let s = allocElemSlot(8, ELEM_SLOT_MAX_BYTES - 8); s; s = allocElemSlot(8, ELEM_SLOT_MAX_BYTES - 8)) held.push(s);
      for (let s = allocElemSlot(4, 8); s; s = allocElemSlot(4, 8)) held.push(s);
      using full = createKernelMap(SPEC, { key: u32, value: u64 });
      using big = createKernelMap({ name: 'km_big', type: MapType.ARRAY, keySize: 4, valueSize: ELEM_SLOT_MAX_BYTES, maxEntries: 2 });
      for (const m of [full]) {
        m.update(1, 10n);
        m.update(2, 20n, 'noexist');
        expect(() => m.update(2, 21n, 'noexist')).toThrow(BpfError);
        expect(m.lookup(2)).toBe(20n);
        expect(m.nextKey()).toBeDefined();
        expect(m.lookupAndDelete(1)).toBe(10n);
        expect(m.delete(2)).toBe(true);
        expect(m.delete(2)).toBe(false);
      }
      const value = new Uint8Array(ELEM_SLOT_MAX_BYTES).map((_, i) => i & 0xff);
      big.update(Uint8Array.of(1, 0, 0, 0), value);
      expect(big.lookup(Uint8Array.of(1, 0, 0, 0))).toEqual(value);
    } finally {
      for (const s of held) freeElemSlot(s);
    }
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
    expect(() => createKernelMap({ ...SPEC, maxEntries: 0 })).toThrow(/BPF_MAP_CREATE.*EINVAL.*hash maps need max_entries > 0/);
    expect(() => createKernelMap({ ...SPEC, type: 999 })).toThrow(/EINVAL.*unknown map type 999: Linux 6.18 knows map types 1 to 33/);
  });

  it('words each refusal after the rule the spec breaks', () => {
    const refusal = (spec: MapSpec): BpfError => {
      const before = openFds();
      try {
        createKernelMap(spec);
      } catch (err) {
        expect(openFds()).toBe(before);
        if (err instanceof BpfError) return err;
        throw err;
      }
      throw new Error('the kernel accepted the spec');
    };
    const ring = refusal({ name: 'rb', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 5000 });
    expect(ring.code).toBe('EINVAL');
    expect(ring.message).toMatch(
      /ringbuf max_entries is the buffer size in bytes: a power of two multiple of the page size \(\d+\), got 5000/,
    );
    expect(refusal({ ...SPEC, flags: MapFlags.MMAPABLE }).message).toMatch(/hash maps do not take flag mmapable/);
    expect(refusal({ ...SPEC, type: MapType.LRU_HASH, flags: MapFlags.NO_PREALLOC }).message).toMatch(
      /lru_hash maps are always preallocated/,
    );
    expect(refusal({ ...SPEC, type: MapType.ARRAY, keySize: 8 }).message).toMatch(/array keys are 4 bytes, got key_size 8/);
    expect(refusal({ ...SPEC, type: MapType.QUEUE }).message).toMatch(/queue keys are 0 bytes, got key_size 4/);
    expect(refusal({ ...SPEC, type: MapType.PROG_ARRAY }).message).toMatch(
      /prog_array values are 4 bytes \(a file descriptor\), got value_size 8/,
    );
    expect(refusal({ ...SPEC, type: MapType.LPM_TRIE }).message).toMatch(
      /lpm_trie maps need flag no_prealloc.*5 to 260 bytes\), got key_size 4/,
    );
    expect(refusal({ ...SPEC, type: MapType.SK_STORAGE, flags: MapFlags.NO_PREALLOC }).message).toMatch(
      /sk_storage maps take max_entries 0/,
    );
    expect(refusal({ ...SPEC, type: MapType.STRUCT_OPS, maxEntries: 1 }).message).toMatch(/struct_ops maps need the vmlinux BTF id/);
    // Where this kernel has arena maps (6.9, and not refused by policy) the refusal names the missing flag;
    // elsewhere it says the kernel lacks or refuses them (checked in map-types tests).
    if (kernelHas('map:arena'))
      expect(refusal({ ...SPEC, type: MapType.ARENA, keySize: 0, valueSize: 0 }).message).toMatch(/arena maps need flag mmapable/);
    expect(refusal({ ...SPEC, mapExtra: 3n }).message).toMatch(/map_extra is only for bloom_filter/);
    expect(refusal({ ...SPEC, numaNode: 4000 }).message).toMatch(/NUMA node 4000/);
  });

  it('checks numaNode, mapExtra and contents before any system call', () => {
    expect(() => createKernelMap({ ...SPEC, numaNode: -1 })).toThrow(/numaNode: expected an integer/);
    expect(() => createKernelMap({ ...SPEC, mapExtra: 3 as unknown as bigint })).toThrow(/mapExtra: expected a bigint/);
    expect(() => createKernelMap({ ...SPEC, contents: [{ key: new Uint8Array(4), value: new Uint8Array(4) }] })).toThrow(
      /contents\[0\]\.value: expected a Uint8Array of 8 bytes/,
    );
  });
});
