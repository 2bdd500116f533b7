import fs from 'node:fs';
import { InvalidArgumentError, MapType, ProgramType } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { encodeBtf } from './btf/encode.js';
import { resolveCoreRelocations } from './co-re/resolve.js';
import { ParseError } from './errors.js';
import { objectBtfForKernel } from './externs/externs.js';
import { readObject } from './object.js';

const testdata = new URL('../testdata/', import.meta.url);
const bytesOf = (file: string) => new Uint8Array(fs.readFileSync(new URL(file, testdata)));
const OBJECTS = ['basics', 'externs', 'tailcalls', 'legacy', 'core'];

describe('readObject', () => {
  for (const name of OBJECTS) {
    it(`reads ${name}.bpf.o and its big-endian twin alike`, () => {
      const le = readObject(bytesOf(`${name}.bpf.o`));
      const be = readObject(bytesOf(`${name}.bpf.eb.o`));
      expect(le.littleEndian).toBe(true);
      expect(be.littleEndian).toBe(false);
      expect(Object.keys(be.programs)).toEqual(Object.keys(le.programs));
      expect(be.maps).toEqual(le.maps);
      expect(be.initialValues).toEqual(le.initialValues);
      expect(be.externs).toEqual(le.externs);
      expect(be.license).toBe(le.license);
      // core.bpf.c reads bitfields, which clang compiles to different instructions for each byte order.
      if (name === 'core') return;
      for (const [p, spec] of Object.entries(le.programs)) {
        expect(be.programs[p]!.references).toEqual(spec.references);
        // Type ids may be numbered differently per target; where functions start and what CO-RE reads may not.
        expect(be.programs[p]!.funcInfo.map((f) => f.insnOff)).toEqual(spec.funcInfo.map((f) => f.insnOff));
        const relo = (r: { index: number; kind: number; accessString: string }) => [r.index, r.kind, r.accessString];
        expect(be.programs[p]!.coreRelocations.map(relo)).toEqual(spec.coreRelocations.map(relo));
      }
    });
  }

  it('gathers maps from both map sections, global data, externs and initial slots', () => {
    const legacy = readObject(bytesOf('legacy.bpf.o'));
    expect(legacy.maps.legacy_counts).toMatchObject({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
    const tail = readObject(bytesOf('tailcalls.bpf.o'));
    expect(tail.initialValues.jump_table!.map((v) => v.target)).toEqual(['tail_pass', 'tail_drop']);
    expect(tail.programs.dispatch!.type).toBe(ProgramType.XDP);
    const ext = readObject(bytesOf('externs.bpf.o'));
    expect(ext.externs.externs.length).toBe(11);
    expect(
      ext.programs
        .read_externs!.references.filter((r) => r.kind === 'kfunc')
        .map((r) => r.target)
        .sort(),
    ).toEqual(['bpf_rcu_read_lock', 'bpf_rcu_read_unlock', 'bpfkit_no_such_kfunc']);
  });

  it('rewrites constants through the spec, and refuses them without BTF', () => {
    const spec = readObject(bytesOf('basics.bpf.o'));
    spec.rewriteConstants({ target_pid: 0x01020304 });
    const v = spec.globals['.rodata']!.variables.find((x) => x.name === 'target_pid')!;
    expect([...spec.globals['.rodata']!.contents.subarray(v.offset, v.offset + 4)]).toEqual([4, 3, 2, 1]);
    expect(() => readObject('nope' as unknown as Uint8Array)).toThrow(InvalidArgumentError);
  });
});

describe('hostile objects', () => {
  it('random mutations of every testdata object give typed errors or a result, never anything else', () => {
    const bases = OBJECTS.map((n) => bytesOf(`${n}.bpf.o`));
    const target = readObject(bytesOf('core.bpf.o')).btf!;
    let seed = 11;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const started = performance.now();
    let rounds = 0;
    const outcomes = { ok: 0, parse: 0, argument: 0 };
    for (; rounds < 2500 && performance.now() - started < 20_000; rounds++) {
      const base = bases[rounds % bases.length]!;
      const b = base.slice();
      for (let k = 0; k < 1 + Math.floor(rand() * 6); k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      try {
        const spec = readObject(b);
        if (spec.btf) encodeBtf(objectBtfForKernel(spec.elf, spec.btf, spec.externs), true, { strings: spec.btf.strings });
        for (const p of Object.values(spec.programs)) {
          if (spec.btf && p.coreRelocations.length) {
            resolveCoreRelocations({
              instructions: p.instructions,
              relocations: p.coreRelocations,
              localBtf: spec.btf,
              targetBtf: target,
              programName: p.name,
            });
          }
        }
        outcomes.ok++;
      } catch (err) {
        if (err instanceof ParseError) outcomes.parse++;
        else if (err instanceof InvalidArgumentError) outcomes.argument++;
        else throw err;
      }
    }
    expect(rounds).toBeGreaterThan(200);
    // Both kinds of outcome happen: the mutations reach the parsers' checks and some objects survive them.
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.parse).toBeGreaterThan(0);
  });
});
