import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, MapMismatchError, MapType, NotSupportedError } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from './backends.js';

const testdata = path.resolve(import.meta.dirname, '../../../elf/testdata');
const basics = path.join(testdata, 'basics.bpf.o');
const tailcalls = path.join(testdata, 'tailcalls.bpf.o');

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(
    `collections on the ${backend.name} backend${backend.skip ? ` — skipped: ${backend.skip}` : ''}`,
    () => {
      it("creates an object's maps and globals with the object's specs, constants written, .rodata frozen", () => {
        using system = backend.open();
        using coll = system.loadCollection(basics, { programs: [], constants: { target_pid: 77, delta: -3 }, ignorePinning: true });
        expect(Object.keys(coll.programs)).toEqual([]);
        expect(Object.keys(coll.maps).sort()).toEqual(['.bss', '.data', '.rodata', 'events', 'flows', 'outer']);
        expect(coll.maps.flows!.info()).toMatchObject({ type: MapType.HASH, keySize: 12, valueSize: 8, maxEntries: 1024 });
        expect(coll.maps.events!.info()).toMatchObject({ type: MapType.RINGBUF, maxEntries: 1 << 16 });
        expect(coll.maps.outer!.info()).toMatchObject({ type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4 });
        expect(coll.maps['.rodata']!.info().frozen).toBe(true);
        expect(coll.maps['.bss']!.info().frozen).toBe(false);
        expect(coll.variables.target_pid!.get()).toBe(77n);
        expect(coll.variables.delta!.get()).toBe(-3n);
        expect(coll.variables.initialised!.get()).toBe(7n);
        coll.variables.packets!.set(5n);
        expect(coll.variables.packets!.get()).toBe(5n);
        expect(() => coll.variables.target_pid!.set(1)).toThrow(/\.rodata is frozen/);
      });

      it('reports progress before each program it loads, sync and async', async () => {
        using system = backend.open();
        for (const load of [
          (o: Parameters<typeof system.loadCollection>[1]) => Promise.resolve(system.loadCollection(tailcalls, o)),
          (o: Parameters<typeof system.loadCollection>[1]) => system.loadCollectionAsync(tailcalls, o),
        ]) {
          const seen: { program: string; done: number; total: number }[] = [];
          using coll = await load({ onProgress: (p) => seen.push(p) });
          const names = Object.keys(coll.programs);
          expect(names.length).toBeGreaterThan(1);
          expect(seen).toEqual(names.map((program, done) => ({ program, done, total: names.length })));
        }
      });

      it('fills a map-in-map initialised in the object with its inner map', () => {
        using system = backend.open();
        using coll = system.loadCollection(tailcalls, { programs: [] });
        const slot1 = coll.maps.outer!.lookup(Uint8Array.of(1, 0, 0, 0)) as Uint8Array;
        // A map-in-map reads back the inner map's id.
        expect(new DataView(slot1.buffer, slot1.byteOffset).getUint32(0, true)).toBe(coll.maps.answers!.info().id);
        expect(coll.maps.outer!.lookup(Uint8Array.of(0, 0, 0, 0))).toBeUndefined();
      });

      it('pins by name under pinPath, reuses a compatible pin, refuses an incompatible one and a wrong replacement', () => {
        using system = backend.open();
        const pins = backend.pinDir();
        try {
          expect(() => system.loadCollection(basics, { programs: [] })).toThrow(/map 'flows' \(pinning: by name\)/);
          let id: number;
          {
            using first = system.loadCollection(basics, { programs: [], pinPath: pins.dir });
            id = first.maps.flows!.info().id;
          }
          {
            using second = system.loadCollection(basics, { programs: [], pinPath: pins.dir });
            expect(second.maps.flows!.info().id).toBe(id);
          }
          using wrong = system.createMap({ name: 'events', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 1 << 12 });
          expect(() => system.loadCollection(basics, { programs: [], pinPath: pins.dir, mapReplacements: { events: wrong } })).toThrow(
            MapMismatchError,
          );
          expect(() => system.loadCollection(basics, { programs: [], pinPath: pins.dir, mapReplacements: { nope: wrong } })).toThrow(
            InvalidArgumentError,
          );
          const flows = system.openPinnedMap(path.join(pins.dir, 'flows'));
          flows.close();
        } finally {
          pins.cleanup();
        }
      });

      it('refuses what is not an object, naming what it expected', () => {
        using system = backend.open();
        expect(() => system.loadCollection(new Uint8Array(8), { programs: [] })).toThrow(/ELF/);
        expect(() => system.loadCollection('/nonexistent/prog.bpf.o', { programs: [] })).toThrow(
          /object: expected a readable BPF object file \(ENOENT\)/,
        );
        expect(() => system.loadCollection({ maps: {}, programs: {} }, { programs: [] })).toThrow(InvalidArgumentError);
        expect(fs.existsSync(basics)).toBe(true);
      });
    },
  );
}

describe('struct_ops on the mock backend', () => {
  it('are left out with a warning naming them', () => {
    const mock = BACKENDS.find((b) => b.name === 'mock')!;
    using system = mock.open();
    using coll = system.loadCollection(path.join(testdata, 'struct_ops.bpf.o'), { programs: [] });
    expect(coll.warnings).toEqual([
      "struct_ops map 'bpfkit_cc' is not created on the mock backend: it has no struct_ops (a kernel subsystem runs them)",
    ]);
    expect(coll.maps.bpfkit_cc).toBeUndefined();
  });

  it('leave their programs out too when options.programs does not name them, and refuse them when it does', () => {
    const mock = BACKENDS.find((b) => b.name === 'mock')!;
    using system = mock.open();
    const object = path.join(testdata, 'struct_ops.bpf.o');
    using coll = system.loadCollection(object);
    expect(Object.keys(coll.programs)).toEqual([]);
    expect(coll.warnings.filter((w) => w.startsWith('struct_ops program')).length).toBeGreaterThan(0);
    expect(coll.warnings).toContain("struct_ops program 'bpfkit_ssthresh' is not loaded on the mock backend (struct_ops map 'bpfkit_cc')");
    expect(() => system.loadCollection(object, { programs: ['bpfkit_ssthresh'] })).toThrow(
      "struct_ops program 'bpfkit_ssthresh' is not supported by the mock backend: leave it out of options.programs",
    );
  });
});

describe('programs on the mock backend', () => {
  it("are loaded on the mock's VM and test-run: basics.bpf.o's count_packets counts in its maps and globals", () => {
    const mock = BACKENDS.find((b) => b.name === 'mock')!;
    using system = mock.open();
    using coll = system.loadCollection(basics, { ignorePinning: true, constants: { target_pid: 7 } });
    expect(Object.keys(coll.programs).sort()).toEqual(['count_packets', 'trace_openat']);
    // add_one(XDP_PASS - 1 + delta + 1) with delta -1 as compiled: XDP_PASS.
    expect(coll.programs.count_packets!.testRun({ data: new Uint8Array(64), repeat: 3 }).returnValue).toBe(2);
    expect(coll.variables.packets!.get()).toBe(3n);
    // The flow keyed by target_pid: inserted by the first run, incremented by the others.
    const key = new Uint8Array(coll.maps.flows!.info().keySize);
    key[0] = 7;
    expect(new DataView((coll.maps.flows!.lookup(key) as Uint8Array).buffer).getBigUint64(0, true)).toBe(3n);
    // Tracepoint programs have no test runner, on the kernel either.
    expect(() => coll.programs.trace_openat!.testRun()).toThrow(NotSupportedError);
  });
});
