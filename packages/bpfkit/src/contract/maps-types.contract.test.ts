import { cidr4, cidr6, InvalidArgumentError, MapFlags, MapMismatchError, MapType, noKey, u32, u64 } from '@bpfkit/core';
import type { System } from '@bpfkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, errorOf } from './backends.js';

// The second half of the map contract: batch operations, clear, queues and
// stacks, bloom filters, LPM tries, per-CPU values, map-in-map values,
// access flags, mmapable arrays, open-or-create, listing. Same bodies on the
// mock and on the kernel: any difference fails.

const codecs = { key: u32, value: u64 };
const HASH = { name: 'ct_hash', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64 };

const byKey = <V>(entries: [number, V][]) => [...entries].sort((a, b) => a[0] - b[0]);

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(
    `map types contract on ${backend.name}${backend.skip ? ` — skipped: ${backend.skip}` : ''}`,
    () => {
      let system: System;
      beforeAll(() => {
        system = backend.open();
      });
      afterAll(() => system?.close());

      describe('batch operations', () => {
        it('lookupBatch reads every entry in chunks', () => {
          using m = system.createMap(HASH, codecs);
          for (let i = 0; i < 50; i++) m.update(i, BigInt(i * 2));
          const all = m.lookupBatch({ batchSize: 8 });
          expect(byKey(all)).toEqual(Array.from({ length: 50 }, (_, i) => [i, BigInt(i * 2)]));
          expect(m.lastBatch.count).toBe(50);
          expect(m.lastBatch.fallback).toBe(false);
          expect(m.lastBatch.calls).toBeGreaterThanOrEqual(7);
          expect(m.lookupBatch()).toHaveLength(50);
        });

        it('lookupBatch of an empty map is empty', () => {
          using m = system.createMap(HASH, codecs);
          expect(m.lookupBatch()).toEqual([]);
        });

        it('lookupAndDeleteBatch empties the map', () => {
          using m = system.createMap(HASH, codecs);
          for (let i = 0; i < 20; i++) m.update(i, 1n);
          expect(m.lookupAndDeleteBatch({ batchSize: 6 })).toHaveLength(20);
          expect([...m.keys()]).toEqual([]);
        });

        it('updateBatch writes, deleteBatch deletes and skips absent keys', () => {
          using m = system.createMap(HASH, codecs);
          const n = m.updateBatch(
            Array.from({ length: 30 }, (_, i) => [i, BigInt(i)] as const),
            'any',
            { batchSize: 7 },
          );
          expect(n).toBe(30);
          expect(m.lookup(29)).toBe(29n);
          expect(m.deleteBatch([0, 1, 2, 1000, 3], { batchSize: 4 })).toBe(4);
          expect(
            byKey([...m.entries()])
              .map(([k]) => k)
              .slice(0, 3),
          ).toEqual([4, 5, 6]);
        });

        it('updateBatch on a full map stops with E2BIG', () => {
          using m = system.createMap({ ...HASH, maxEntries: 4 }, codecs);
          expect(() =>
            m.updateBatch([
              [1, 1n],
              [2, 2n],
              [3, 3n],
              [4, 4n],
              [5, 5n],
            ]),
          ).toThrow(expect.objectContaining({ code: 'E2BIG' }));
          expect([...m.keys()]).toHaveLength(4);
        });

        it('batch on an array reads every index', () => {
          using a = system.createMap({ name: 'ct_arr', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 10 }, codecs);
          a.update(9, 99n);
          const all = a.lookupBatch({ batchSize: 3 });
          expect(all).toHaveLength(10);
          expect(all[9]).toEqual([9, 99n]);
        });
      });

      describe('clear', () => {
        it('deletes every key of a hash and zeroes every element of an array', () => {
          using m = system.createMap(HASH, codecs);
          for (let i = 0; i < 10; i++) m.update(i, 5n);
          expect(m.clear()).toBe(10);
          expect([...m.keys()]).toEqual([]);
          using a = system.createMap({ name: 'ct_arr', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 3 }, codecs);
          a.update(1, 7n);
          expect(a.clear()).toBe(3);
          expect([...a.values()]).toEqual([0n, 0n, 0n]);
        });
      });

      describe('queue and stack', () => {
        it('a queue is first in first out, refuses a push when full, pops undefined when empty', () => {
          using q = system.createMap(
            { name: 'ct_queue', type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 3 },
            { key: noKey, value: u32 },
          );
          q.push(1);
          q.push(2);
          q.push(3);
          expect(errorOf(() => q.push(4)).code).toBe('E2BIG');
          q.push(4, 'exist'); // overwrites the oldest
          expect(q.peek()).toBe(2);
          expect([q.pop(), q.pop(), q.pop(), q.pop()]).toEqual([2, 3, 4, undefined]);
          expect(q.peek()).toBeUndefined();
        });

        it('a stack is last in first out', () => {
          using s = system.createMap(
            { name: 'ct_stack', type: MapType.STACK, keySize: 0, valueSize: 4, maxEntries: 3 },
            { key: noKey, value: u32 },
          );
          s.push(1);
          s.push(2);
          expect(s.peek()).toBe(2);
          expect([s.pop(), s.pop(), s.pop()]).toEqual([2, 1, undefined]);
        });
      });

      describe('bloom filter', () => {
        it('has no false negatives and almost never a false positive', () => {
          using b = system.createMap(
            { name: 'ct_bloom', type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 1000, mapExtra: 3n },
            { key: noKey, value: u32 },
          );
          for (let i = 0; i < 100; i++) b.push(i * 7);
          for (let i = 0; i < 100; i++) expect(b.has(i * 7)).toBe(true);
          let falsePositives = 0;
          for (let i = 0; i < 1000; i++) if (b.has(1_000_000 + i)) falsePositives++;
          expect(falsePositives).toBeLessThan(50);
        });
      });

      describe('LPM trie', () => {
        it('matches the longest prefix, IPv4 and IPv6, with CIDR keys', () => {
          using r = system.createMap(
            { name: 'ct_lpm4', type: MapType.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 16, flags: MapFlags.NO_PREALLOC },
            { key: cidr4, value: u32 },
          );
          r.update('10.0.0.0/8', 1);
          r.update('10.1.0.0/16', 2);
          r.update('0.0.0.0/0', 9);
          expect(r.lookup('10.1.2.3/32')).toBe(2);
          expect(r.lookup('10.2.2.3/32')).toBe(1);
          expect(r.lookup('192.168.0.1')).toBe(9);
          expect(r.delete('10.1.0.0/16')).toBe(true);
          expect(r.lookup('10.1.2.3')).toBe(1);
          expect([...r.keys()].sort()).toEqual(['0.0.0.0/0', '10.0.0.0/8']);
          using r6 = system.createMap(
            { name: 'ct_lpm6', type: MapType.LPM_TRIE, keySize: 20, valueSize: 4, maxEntries: 16, flags: MapFlags.NO_PREALLOC },
            { key: cidr6, value: u32 },
          );
          r6.update('2001:db8::/32', 6);
          expect(r6.lookup('2001:db8::1')).toBe(6);
          expect(r6.lookup('2001:db9::1')).toBeUndefined();
        });

        it('needs BPF_F_NO_PREALLOC', () => {
          expect(
            errorOf(() => system.createMap({ name: 'ct_lpm', type: MapType.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 16 })).code,
          ).toBe('EINVAL');
        });
      });

      describe('per-CPU maps', () => {
        it('take and return one value per possible CPU', () => {
          const cpus = system.possibleCpus;
          expect(cpus).toBeGreaterThan(0);
          using m = system.createPerCpuMap(
            { name: 'ct_pcpu', type: MapType.PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 8 },
            { key: u32, value: u32 },
          );
          const values = Array.from({ length: cpus }, (_, i) => i + 1);
          m.update(1, values);
          expect(m.lookup(1)).toEqual(values);
          expect(() => m.update(2, [1])).toThrow(InvalidArgumentError);
          using a = system.createPerCpuMap(
            { name: 'ct_pcpu_arr', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 },
            codecs,
          );
          expect(a.lookup(1)).toEqual(Array.from({ length: cpus }, () => 0n));
          expect(a.lookupBatch()).toHaveLength(2);
        });
      });

      describe('map-in-map', () => {
        it('takes a map handle as value and answers lookups with the inner map id', () => {
          using inner = system.createMap({ name: 'ct_inner', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
          using outer = system.createMap(
            {
              name: 'ct_outer',
              type: MapType.ARRAY_OF_MAPS,
              keySize: 4,
              valueSize: 4,
              maxEntries: 2,
              innerMap: { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 },
            },
            { key: u32, value: u32 },
          );
          outer.update(0, inner.fd);
          expect(outer.lookup(0)).toBe(inner.info().id);
          expect(outer.lookup(1)).toBeUndefined();
          using wrong = system.createMap({ name: 'ct_wrong', type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
          expect(errorOf(() => outer.update(1, wrong.fd)).code).toBe('EINVAL');
        });
      });

      describe('access flags', () => {
        it('a read-only map refuses user-space writes, a write-only one refuses reads', () => {
          using ro = system.createMap({ ...HASH, name: 'ct_ro', flags: MapFlags.RDONLY }, codecs);
          expect(errorOf(() => ro.update(1, 1n)).code).toBe('EPERM');
          using wo = system.createMap({ ...HASH, name: 'ct_wo', flags: MapFlags.WRONLY }, codecs);
          wo.update(1, 1n);
          expect(errorOf(() => wo.lookup(1)).code).toBe('EPERM');
        });

        it('an mmapable array exposes its memory: writes either way are seen the other way', () => {
          using a = system.createMap(
            { name: 'ct_mmap', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, flags: MapFlags.MMAPABLE },
            codecs,
          );
          const mem = a.memory();
          expect(mem.byteLength).toBeGreaterThanOrEqual(32);
          a.update(1, 0x0102n);
          expect(new DataView(mem.buffer, mem.byteOffset).getBigUint64(8, true)).toBe(0x0102n);
          new DataView(mem.buffer, mem.byteOffset).setBigUint64(16, 77n, true);
          expect(a.lookup(2)).toBe(77n);
          using plain = system.createMap({ name: 'ct_plain', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 }, codecs);
          expect(() => plain.memory()).toThrow(InvalidArgumentError);
        });
      });

      describe('open or create, ids, listing', () => {
        it('creates and pins, reopens a match, fails on a mismatch naming every difference, replaces on request', () => {
          const { dir, cleanup } = backend.pinDir();
          try {
            const pinPath = `${dir}/ct_ooc`;
            const first = system.openOrCreateMap(HASH, { pinPath }, codecs);
            first.update(1, 11n);
            first.close();
            using again = system.openOrCreateMap(HASH, { pinPath }, codecs);
            expect(again.lookup(1)).toBe(11n);
            let message = '';
            try {
              system.openOrCreateMap({ ...HASH, maxEntries: 128, valueSize: 4 }, { pinPath });
            } catch (err) {
              message = (err as Error).message;
            }
            expect(message).toMatch(/maxEntries: 64 changed to 128/);
            expect(message).toMatch(/valueSize: 8 changed to 4/);
            // With codecs sized for the new spec, still the differences (not the codecs' size complaint).
            let withCodecs: unknown;
            try {
              system.openOrCreateMap({ ...HASH, valueSize: 4 }, { pinPath }, { key: u32, value: u32 });
            } catch (err) {
              withCodecs = err;
            }
            expect(withCodecs).toBeInstanceOf(MapMismatchError);
            expect((withCodecs as MapMismatchError).differences.map((d) => d.field)).toEqual(['valueSize']);
            using replaced = system.openOrCreateMap({ ...HASH, maxEntries: 128 }, { pinPath, onMismatch: 'replace' }, codecs);
            expect(replaced.maxEntries).toBe(128);
            expect(replaced.lookup(1)).toBeUndefined();
            using reopened = system.openPinnedMap(pinPath, codecs);
            expect(reopened.info().maxEntries).toBe(128);
          } finally {
            cleanup();
          }
        });

        it('opens a map by id and lists it', () => {
          using m = system.createMap({ ...HASH, name: 'ct_listed' }, codecs);
          m.update(4, 44n);
          const id = m.info().id;
          using byId = system.openMapById(id, codecs);
          expect(byId.lookup(4)).toBe(44n);
          const listed = system.listMaps().find((i) => i.id === id);
          expect(listed).toMatchObject({ name: 'ct_listed', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64 });
          expect(errorOf(() => system.openMapById(0x7ffffff0)).code).toBe('ENOENT');
        });
      });
    },
  );
}
