import fs from 'node:fs';
import { BpfError, InvalidArgumentError, MapFlags, MapType, noKey, ProgramType, u32, u64 } from '@bpfkit/core';
import { BtfBuilder } from '@bpfkit/elf';
import { btfLoad, native, possibleCpus, progInfoByFd, progLoad } from '@bpfkit/syscalls';
import { describe, expect, it } from 'vitest';
import { createKernelMap, createPerCpuKernelMap } from './kernel-map.js';
import { objectFd } from './object-fd.js';
import { kernelHas, whenKernel } from '@bpfkit/syscalls/testing';

const openFds = () => fs.readdirSync('/proc/self/fd').length;

function errorOf(f: () => unknown): BpfError {
  try {
    f();
  } catch (err) {
    if (err instanceof BpfError) return err;
    throw err;
  }
  throw new Error('expected a BpfError, nothing was thrown');
}

/** `r0 = 0; exit` as a socket filter: the smallest program there is. */
function loadProgram(): number {
  const insns = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);
  return progLoad({ progType: ProgramType.SOCKET_FILTER, insns, license: 'GPL', progName: 'maps_test' });
}

whenKernel().describe('kernel map values', () => {
  describe('creation flags', () => {
    it('no_prealloc hash maps work and report the flag', () => {
      using m = createKernelMap(
        { name: 'np', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16, flags: MapFlags.NO_PREALLOC },
        { key: u32, value: u64 },
      );
      m.update(3, 4n);
      expect(m.lookup(3)).toBe(4n);
      expect(m.info().flags & MapFlags.NO_PREALLOC).toBe(MapFlags.NO_PREALLOC);
    });

    it('rdonly_prog keeps user space writable; wronly refuses user-space reads with EPERM', () => {
      using ro = createKernelMap(
        { name: 'rop', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2, flags: MapFlags.RDONLY_PROG },
        { key: u32, value: u64 },
      );
      ro.update(1, 5n);
      expect(ro.lookup(1)).toBe(5n);
      expect(ro.info().flags).toBe(MapFlags.RDONLY_PROG);
      using wo = createKernelMap(
        { name: 'wo', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 2, flags: MapFlags.WRONLY },
        { key: u32, value: u64 },
      );
      wo.update(1, 1n);
      const err = errorOf(() => wo.lookup(1));
      expect(err.code).toBe('EPERM');
      expect(err.message).toMatch(/read-only|write-only|frozen/);
      // BPF_F_WRONLY belongs to the fd: the map itself does not keep it.
      expect(wo.info().flags).toBe(0);
    });

    it('numaNode 0 sets BPF_F_NUMA_NODE', () => {
      using m = createKernelMap({ name: 'numa', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4, numaNode: 0 });
      expect(m.info().flags).toBe(MapFlags.NUMA_NODE);
    });

    it('an mmapable array: memory() sees update() and update() sees memory writes; plain arrays refuse', () => {
      const before = openFds();
      {
        using a = createKernelMap(
          { name: 'mm', type: MapType.ARRAY, keySize: 4, valueSize: 12, maxEntries: 3, flags: MapFlags.MMAPABLE },
          { key: u32, value: u32Pad12 },
        );
        const mem = a.memory();
        expect(mem.byteLength).toBe(3 * 16); // each element rounded up to 8 bytes
        expect(a.memory()).toBe(mem); // one mapping for the map's life
        a.update(2, 0xabcdef);
        const view = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
        expect(view.getUint32(32, true)).toBe(0xabcdef);
        view.setUint32(16, 99, true);
        expect(a.lookup(1)).toBe(99);
        a.close();
        expect(mem.byteLength).toBe(0); // unmapped with the map
      }
      expect(openFds()).toBe(before);
      using plain = createKernelMap({ name: 'plain', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
      expect(() => plain.memory()).toThrow(InvalidArgumentError);
      expect(() => plain.memory()).toThrow(/BPF_F_MMAPABLE/);
      using h = createKernelMap({ name: 'h', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1 });
      expect(() => h.memory()).toThrow(/a hash map/);
    });

    it('a map mapped writable cannot be frozen (EBUSY names the mapping); a frozen one cannot be mapped', () => {
      using a = createKernelMap({ name: 'mmf', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: MapFlags.MMAPABLE });
      a.memory();
      const busy = errorOf(() => a.freeze());
      expect(busy.code).toBe('EBUSY');
      expect(busy.message).toMatch(/memory\(\)/);
      using b = createKernelMap({ name: 'mmf2', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: MapFlags.MMAPABLE });
      b.freeze();
      expect(b.info().frozen).toBe(true);
      const err = errorOf(() => b.memory());
      expect(err.syscall).toBe('mmap');
      expect(err.message).toMatch(/frozen/);
    });

    whenKernel('map:arena').it('an arena maps its pages', () => {
      using arena = createKernelMap({
        name: 'arena',
        type: MapType.ARENA,
        keySize: 0,
        valueSize: 0,
        maxEntries: 2,
        flags: MapFlags.MMAPABLE,
      });
      const mem = arena.memory();
      expect(mem.byteLength).toBe(2 * native.constants.PAGE_SIZE!);
      mem[5] = 7; // pages fault in on first touch
      expect(mem[5]).toBe(7);
    });
  });

  describe('values that are kernel objects', () => {
    it('array and hash of maps: the inner spec makes the template, objectFd takes a handle, lookups return the inner id', () => {
      const before = openFds();
      {
        const innerSpec = { type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 };
        using inner = createKernelMap({ ...innerSpec, name: 'inner' });
        using outer = createKernelMap(
          { name: 'aom', type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMap: innerSpec },
          { key: u32, value: objectFd },
        );
        outer.update(0, inner);
        expect(outer.lookup(0)).toBe(inner.info().id);
        using hom = createKernelMap(
          { name: 'hom', type: MapType.HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMap: innerSpec },
          { key: u32, value: objectFd },
        );
        hom.update(77, inner.fd);
        expect(hom.lookup(77)).toBe(inner.info().id);
        expect(hom.lookup(78)).toBeUndefined();
        // A map of a different shape does not fit the template.
        using other = createKernelMap({ name: 'other', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
        const err = errorOf(() => outer.update(1, other));
        expect(err.code).toBe('EINVAL');
        expect(err.message).toMatch(/file descriptors/);
        inner.close();
        expect(() => outer.update(1, inner)).toThrow(/closed handle/);
      }
      expect(openFds()).toBe(before);
    });

    it('a map of maps needs an inner map spec (before any system call)', () => {
      expect(() => createKernelMap({ type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 1 })).toThrow(
        /innerMap: expected the spec of the inner map/,
      );
      expect(() =>
        createKernelMap({
          type: MapType.HASH,
          keySize: 4,
          valueSize: 4,
          maxEntries: 1,
          innerMap: { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 },
        }),
      ).toThrow(InvalidArgumentError);
    });

    it('a prog array takes a program fd and answers with the program id', () => {
      const prog = loadProgram();
      try {
        using pa = createKernelMap(
          { name: 'progs', type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 },
          { key: u32, value: objectFd },
        );
        pa.update(2, { fd: prog });
        expect(pa.lookup(2)).toBe(progInfoByFd(prog).id);
        expect(pa.lookup(1)).toBeUndefined();
        expect(pa.delete(2)).toBe(true);
        expect(() => pa.update(0, -1)).toThrow(InvalidArgumentError);
      } finally {
        native.close(prog);
      }
    });
  });

  describe('keyless maps', () => {
    it('a bloom filter keeps map_extra (hash count) and answers has()', () => {
      using b = createKernelMap(
        { name: 'bloom', type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 8, maxEntries: 100, mapExtra: 4n },
        { key: noKey, value: u64 },
      );
      expect(b.info().mapExtra).toBe(4n);
      b.push(42n);
      expect(b.has(42n)).toBe(true);
      const refused = errorOf(() =>
        createKernelMap({ type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 8, maxEntries: 100, mapExtra: 16n }),
      );
      expect(refused.code).toBe('EINVAL');
      expect(refused.message).toMatch(/number of hash functions, 0 \(default 5\) to 15, got 16/);
    });

    it('queue push/peek/pop with null keys', () => {
      using q = createKernelMap({ name: 'q', type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 2 }, { key: noKey, value: u32 });
      q.push(1);
      q.push(2);
      expect(q.peek()).toBe(1);
      expect(q.pop()).toBe(1);
      expect(q.pop()).toBe(2);
      expect(q.pop()).toBeUndefined();
    });
  });

  describe('local storage maps', () => {
    it('get a small BTF made for them, closed after creation', () => {
      const before = openFds();
      // cgroup storage maps arrived in 6.2: tried where the probe says this kernel has them.
      const types = [
        MapType.SK_STORAGE,
        MapType.INODE_STORAGE,
        MapType.TASK_STORAGE,
        ...(kernelHas('map:cgrp_storage') ? [MapType.CGRP_STORAGE] : []),
      ];
      for (const type of types) {
        using m = createKernelMap({ name: 'stor', type, keySize: 4, valueSize: 24, maxEntries: 0, flags: MapFlags.NO_PREALLOC });
        const info = m.info();
        expect(info.btfId).toBeGreaterThan(0);
        expect([info.btfKeyTypeId, info.btfValueTypeId]).toEqual([1, 3]);
      }
      expect(openFds()).toBe(before);
    });

    it('take BTF given by the caller', () => {
      const b = new BtfBuilder();
      const int = b.addInt('int', 4, true);
      const long = b.addInt('long', 8, true);
      const btf = btfLoad(b.encode());
      try {
        using m = createKernelMap(
          {
            name: 'tstor',
            type: MapType.TASK_STORAGE,
            keySize: 4,
            valueSize: 8,
            maxEntries: 0,
            flags: MapFlags.NO_PREALLOC,
            btfKeyTypeId: int,
            btfValueTypeId: long,
          },
          undefined,
          { btf: { fd: btf } },
        );
        expect([m.info().btfKeyTypeId, m.info().btfValueTypeId]).toEqual([int, long]);
      } finally {
        native.close(btf);
      }
      expect(() => createKernelMap({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1, btfKeyTypeId: 1 })).toThrow(
        /options\.btf/,
      );
    });

    it('without BPF_F_NO_PREALLOC the refusal says so', () => {
      const err = errorOf(() => createKernelMap({ name: 'stor', type: MapType.TASK_STORAGE, keySize: 4, valueSize: 8, maxEntries: 0 }));
      expect(err.code).toBe('EINVAL');
      expect(err.message).toMatch(/task_storage maps need flag no_prealloc/);
    });
  });

  describe('per-CPU maps', () => {
    const cpus = possibleCpus();

    it('raw values are possibleCpus slots of roundUp(valueSize, 8) bytes', () => {
      using m = createKernelMap({ name: 'pc', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
      const raw = m.lookup(Uint8Array.of(0, 0, 0, 0))!;
      expect(raw.byteLength).toBe(cpus * 8);
      const value = new Uint8Array(cpus * 8);
      for (let c = 0; c < cpus; c++) value[c * 8] = c + 1;
      m.update(Uint8Array.of(1, 0, 0, 0), value);
      expect([...m.lookup(Uint8Array.of(1, 0, 0, 0))!]).toEqual([...value]);
      expect(() => m.update(Uint8Array.of(1, 0, 0, 0), new Uint8Array(4))).toThrow(InvalidArgumentError);
    });

    it('createPerCpuKernelMap takes and returns one value per CPU, also through batches', () => {
      using m = createPerCpuKernelMap(
        { name: 'pch', type: MapType.PERCPU_HASH, keySize: 4, valueSize: 8, maxEntries: 8 },
        { key: u32, value: u64 },
      );
      const values = Array.from({ length: cpus }, (_, i) => BigInt(i * 10 + 1));
      m.update(5, values);
      expect(m.lookup(5)).toEqual(values);
      m.updateBatch([
        [6, values],
        [7, values],
      ]);
      expect(m.lookupBatch().length).toBe(3);
      expect(m.lastBatch.fallback).toBe(false);
      expect(() =>
        createPerCpuKernelMap({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1 }, { key: u32, value: u64 }),
      ).toThrow(/per-CPU map type/);
    });

    it('per-CPU types refuse a NUMA node with a hint', () => {
      const err = errorOf(() => createKernelMap({ type: MapType.PERCPU_HASH, keySize: 4, valueSize: 8, maxEntries: 1, numaNode: 0 }));
      expect(err.message).toMatch(/per-CPU percpu_hash maps cannot be placed on a NUMA node/);
    });
  });
});

/** A 12-byte value whose first 4 bytes are a u32 (for the mmap layout test). */
const u32Pad12 = {
  size: 12,
  name: 'u32 + 8 bytes padding',
  encode(v: number, into: Uint8Array, offset = 0) {
    into.fill(0, offset, offset + 12);
    u32.encode(v, into, offset);
  },
  decode(from: Uint8Array, offset = 0) {
    return u32.decode(from, offset);
  },
};
