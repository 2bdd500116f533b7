import { ClosedError, InvalidArgumentError, MapFlags, MapType, u32, u64 } from '@bpfkit/core';
import type { System } from '@bpfkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, errorOf } from './backends.js';

const HASH = { name: 'contract_hash', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4 };
const codecs = { key: u32, value: u64 };

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`map contract on ${backend.name}${backend.skip ? ` — skipped: ${backend.skip}` : ''}`, () => {
    let system: System;
    beforeAll(() => {
      system = backend.open();
    });
    afterAll(() => system?.close());

    it('hash: update, lookup, absent keys, delete', () => {
      using m = system.createMap(HASH, codecs);
      m.update(7, 70n);
      expect(m.lookup(7)).toBe(70n);
      expect(m.lookup(8)).toBeUndefined();
      expect(m.delete(7)).toBe(true);
      expect(m.delete(7)).toBe(false);
      expect(m.lookup(7)).toBeUndefined();
    });

    it('hash: noexist and exist flags fail with EEXIST and ENOENT', () => {
      using m = system.createMap(HASH, codecs);
      m.update(1, 1n, 'noexist');
      const exists = errorOf(() => m.update(1, 2n, 'noexist'));
      expect([exists.code, exists.command, exists.syscall]).toEqual(['EEXIST', 'BPF_MAP_UPDATE_ELEM', 'bpf']);
      expect(errorOf(() => m.update(2, 2n, 'exist')).code).toBe('ENOENT');
      m.update(1, 3n, 'exist');
      expect(m.lookup(1)).toBe(3n);
    });

    it('hash: a full map refuses a new key with E2BIG but updates existing ones', () => {
      using m = system.createMap(HASH, codecs);
      for (let i = 0; i < HASH.maxEntries; i++) m.update(i, BigInt(i));
      const full = errorOf(() => m.update(100, 1n));
      expect(full.code).toBe('E2BIG');
      expect(full.message).toMatch(/full/);
      m.update(0, 9n);
      expect(m.lookup(0)).toBe(9n);
    });

    it('hash: lookupAndDelete returns the value once', () => {
      using m = system.createMap(HASH, codecs);
      m.update(5, 55n);
      expect(m.lookupAndDelete(5)).toBe(55n);
      expect(m.lookupAndDelete(5)).toBeUndefined();
    });

    it('array: zero-filled, fixed, undeletable', () => {
      using a = system.createMap({ name: 'contract_arr', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 3 }, codecs);
      expect([...a.entries()]).toEqual([
        [0, 0n],
        [1, 0n],
        [2, 0n],
      ]);
      a.update(2, 22n);
      expect(a.lookup(2)).toBe(22n);
      expect(a.lookup(3)).toBeUndefined();
      expect(errorOf(() => a.update(3, 1n)).code).toBe('E2BIG');
      expect(errorOf(() => a.update(0, 1n, 'noexist')).code).toBe('EEXIST');
      expect(errorOf(() => a.delete(0)).code).toBe('EINVAL');
      expect(a.nextKey()).toBe(0);
      expect(a.nextKey(1)).toBe(2);
      expect(a.nextKey(2)).toBeUndefined();
    });

    it('iteration: every key once, in any order, a batch at a time; next-key walks the same keys', () => {
      using m = system.createMap({ ...HASH, maxEntries: 16 }, codecs);
      for (let i = 0; i < 10; i++) m.update(i * 3, BigInt(i));
      expect([...m.keys()].sort((a, b) => a - b)).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
      expect(new Map(m.entries()).get(27)).toBe(9n);
      expect([...m.values()].sort((a, b) => Number(a - b))).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
      const walked: number[] = [];
      for (let k = m.nextKey(); k !== undefined; k = m.nextKey(k)) walked.push(k);
      expect(walked.sort((a, b) => a - b)).toEqual([...m.keys()].sort((a, b) => a - b));
      expect(m.lastIteration).toEqual({ visited: 10, restarts: 0, aborted: false, batches: 1 });
    });

    it('iteration in batches: a key present from start to end is seen once, whatever is deleted or added meanwhile', () => {
      using m = system.createMap({ ...HASH, maxEntries: 64 }, codecs);
      for (let i = 1; i <= 40; i++) m.update(i, BigInt(i));
      const seen: number[] = [];
      for (const k of m.keys()) {
        seen.push(k);
        m.delete(k); // the current key
        if (k % 2 === 0) m.delete(k + 1); // and one that may or may not have been seen yet
        m.update(100 + seen.length, 0n); // a new one: may or may not be seen
      }
      const once = seen.filter((k) => k <= 40);
      expect(new Set(once).size).toBe(once.length); // nothing twice
      // Every odd key not deleted by its even predecessor was present throughout: seen.
      for (let i = 1; i <= 40; i += 2) if (!seen.includes(i - 1) || i === 1) expect(seen).toContain(i);
      expect(m.lastIteration.restarts).toBe(0);
      expect(m.lastIteration.batches).toBeGreaterThan(0);
    });

    // Map types without batch lookups (an LPM trie here) are walked with next-key and lookup.
    const LPM = { name: 'contract_lpm', type: MapType.LPM_TRIE, keySize: 8, valueSize: 8, flags: MapFlags.NO_PREALLOC };
    const lpmKey = (n: number) => Uint8Array.of(32, 0, 0, 0, 10, 0, 0, n);

    it('iteration with next-key: deleting the current key restarts the walk from the first key, and it is counted', () => {
      using m = system.createMap({ ...LPM, maxEntries: 8 });
      for (let i = 1; i <= 4; i++) m.update(lpmKey(i), new Uint8Array(8));
      const seen: number[] = [];
      for (const k of m.keys()) {
        seen.push(k[7]!);
        if (seen.length === 2) m.delete(k);
      }
      expect(seen).toHaveLength(5);
      expect(seen[2]).toBe(seen[0]);
      expect(new Set(seen)).toEqual(new Set([1, 2, 3, 4]));
      expect(m.lastIteration).toEqual({ visited: 5, restarts: 1, aborted: false, batches: 0 });
    });

    it('iteration with next-key: a walk that keeps restarting stops after max_entries + 1 steps', () => {
      using m = system.createMap({ ...LPM, maxEntries: 2 });
      m.update(lpmKey(1), new Uint8Array(8));
      m.update(lpmKey(2), new Uint8Array(8));
      let fresh = 100;
      let steps = 0;
      for (const k of m.keys()) {
        m.delete(k);
        m.update(lpmKey(fresh++), new Uint8Array(8));
        if (++steps > 50) break;
      }
      expect(m.lastIteration.aborted).toBe(true);
      expect(steps).toBe(3);
    });

    it('freeze: user-space writes then fail with EPERM, and info says frozen', () => {
      using m = system.createMap(HASH, codecs);
      m.update(1, 1n);
      expect(m.info().frozen).toBe(false);
      m.freeze();
      expect(m.info().frozen).toBe(true);
      expect(errorOf(() => m.update(1, 2n)).code).toBe('EPERM');
      expect(errorOf(() => m.delete(1)).code).toBe('EPERM');
      expect(m.lookup(1)).toBe(1n);
    });

    it('info: type, sizes, flags and a name', () => {
      using m = system.createMap(HASH, codecs);
      const info = m.info();
      expect(info).toMatchObject({ name: 'contract_hash', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 });
      expect(info.id).toBeGreaterThan(0);
    });

    it('pins: the pin outlives the handle and opens with the same contents', () => {
      const { dir, cleanup } = backend.pinDir();
      try {
        const m = system.createMap(HASH, codecs);
        m.update(3, 33n);
        m.pin(`${dir}/contract_hash`);
        expect(errorOf(() => m.pin(`${dir}/contract_hash`)).code).toBe('EEXIST');
        m.close();
        const again = system.openPinnedMap(`${dir}/contract_hash`, codecs);
        expect(again.lookup(3)).toBe(33n);
        expect(again.info()).toMatchObject({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4 });
        again.close();
        expect(errorOf(() => system.openPinnedMap(`${dir}/nothing`)).code).toBe('ENOENT');
        const owner = system.openPinnedMap(`${dir}/contract_hash`);
        owner.pin(`${dir}/second`);
        owner.unpin();
        expect(errorOf(() => system.openPinnedMap(`${dir}/second`)).code).toBe('ENOENT');
        owner.close();
      } finally {
        cleanup();
      }
    });

    it('bad input: wrong key or value size, mismatched codecs, closed maps — before any call', () => {
      const m = system.createMap(HASH);
      expect(() => m.lookup(new Uint8Array(3))).toThrow(InvalidArgumentError);
      expect(() => m.lookup(new Uint8Array(3))).toThrow(/key: expected 4 bytes, got a Uint8Array of 3 bytes/);
      expect(() => m.update(new Uint8Array(4), new Uint8Array(9))).toThrow(/value: expected 8 bytes/);
      expect(() => system.createMap(HASH, { key: u64, value: u64 })).toThrow(/key codec: expected a codec of 4 bytes/);
      expect(() => system.createMap({ ...HASH, maxEntries: -1 })).toThrow(InvalidArgumentError);
      m.close();
      m.close();
      expect(() => m.lookup(new Uint8Array(4))).toThrow(ClosedError);
      expect(() => [...m.keys()]).toThrow(ClosedError);
    });
  });
}
