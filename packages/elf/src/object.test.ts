import fs from 'node:fs';
import { InvalidArgumentError, MapType, ProgramType } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { Elf } from './elf/parse.js';
import type { ElfFile } from './elf/parse.js';
import { ParseError } from './errors.js';
import { readObject } from './object.js';
import { exercise, mutate, rngFrom, seedOf, withoutBtf } from './test-support/mutate.js';

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
  // The seeds of `pnpm fuzz` in this package: every testdata object, in both byte orders, and each
  // one with BTF also stripped of it (legacy objects as clang builds them without -g); the goebpf
  // seed has none of its own.
  const seeds = fs
    .readdirSync(testdata)
    .filter((f) => f.endsWith('.o'))
    .sort()
    .flatMap((f) => {
      const bytes = bytesOf(f);
      const stripped = withoutBtf(bytes);
      return [seedOf(f, bytes), ...(stripped ? [seedOf(`${f} without BTF`, stripped)] : [])];
    });
  const target = readObject(bytesOf('core.bpf.o')).btf!;

  it('strips BTF from the seeds that have it, leaving objects the reader still reads', () => {
    const stripped = seeds.filter((s) => s.name.endsWith('without BTF'));
    expect(stripped.length).toBeGreaterThanOrEqual(10);
    const legacy = readObject(seeds.find((s) => s.name === 'legacy.bpf.o without BTF')!.bytes);
    expect(legacy.btf).toBeUndefined();
    expect(legacy.maps.legacy_counts).toMatchObject({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
    expect(Object.keys(legacy.programs)).toEqual(['count_legacy']);
    const goebpf = readObject(bytesOf('goebpf_seed.bpf.o'));
    expect(goebpf.btf).toBeUndefined();
    expect(Object.keys(goebpf.programs).sort()).toEqual(['seed_socket', 'seed_tc', 'seed_xdp']);
    expect(Object.keys(goebpf.maps).sort()).toEqual(['seed_counts', 'seed_inner', 'seed_jumps', 'seed_outer']);
  });

  /** A copy of `file` with u64 fields of symbols or section headers set, in the object's byte order. */
  type Place = (elf: ElfFile, bytes: Uint8Array) => number;
  const patched = (file: string, ...edits: [Place, bigint][]) => {
    const bytes = bytesOf(file);
    const elf = readObject(bytes).elf;
    for (const [where, value] of edits) new DataView(bytes.buffer).setBigUint64(where(elf, bytes), value, elf.littleEndian);
    return bytes;
  };
  const symbolField =
    (name: string, field: number): Place =>
    (elf) =>
      elf.sections.find((s) => s.type === Elf.SHT_SYMTAB)!.offset + elf.symbols.find((x) => x.name === name)!.index * 24 + field;
  const sectionField =
    (name: string, field: number): Place =>
    (elf, bytes) =>
      Number(new DataView(bytes.buffer).getBigUint64(40, elf.littleEndian)) + elf.section(name)!.index * 64 + field;

  for (const [file, program] of [
    ['legacy.bpf.o', 'count_legacy'],
    ['goebpf_seed.bpf.eb.o', 'seed_tc'],
  ] as const) {
    it(`refuses a function of a fraction of an instruction, or past its section's end, with a ParseError (${file})`, () => {
      const refused = /function '\w+' \(\d+ bytes at byte \d+\) is not whole instructions inside section/;
      // st_size 12: one and a half instructions (the linker read past its DataView).
      expect(() => readObject(patched(file, [symbolField(program, 16), 12n]))).toThrow(refused);
      // st_value past the end, st_size 0: the length up to the end was negative (a RangeError of new Uint8Array).
      const past = patched(file, [symbolField(program, 8), 1n << 20n], [symbolField(program, 16), 0n]);
      expect(() => readObject(past)).toThrow(refused);
      expect(() => readObject(past)).toThrow(ParseError);
    });
  }

  it("keeps a program named '__proto__' as a program", () => {
    const bytes = bytesOf('legacy.bpf.o');
    const text = new TextDecoder('latin1').decode(bytes);
    // Every copy of the name (the symbol's, BTF's): same length, NUL-padded.
    for (let at = text.indexOf('count_legacy\0'); at >= 0; at = text.indexOf('count_legacy\0', at + 1)) {
      bytes.set(new TextEncoder().encode('__proto__\0\0\0'), at);
    }
    const spec = readObject(bytes);
    expect(Object.keys(spec.programs)).toEqual(['__proto__']);
    expect(Object.hasOwn(spec.programs, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(spec.programs)).toBe(Object.prototype);
  });

  it('refuses a global data section larger than an array map value can be', () => {
    expect(readObject(patched('basics.bpf.o', [sectionField('.bss', 32), 32n << 20n])).globals['.bss']!.valueSize).toBe(32 << 20);
    // 2 GiB of .bss takes no bytes of the file, but every load would copy it.
    const huge = patched('basics.bpf.o', [sectionField('.bss', 32), 0x7fff_0000n]);
    expect(() => readObject(huge)).toThrow(/global data section '.bss' of 2147418112 bytes: at most 33554432/);
  });

  it('random mutations of every seed, with and without BTF, give typed errors or a result, never a hang', () => {
    // A bounded slice of `pnpm fuzz` (which also holds each call to a second): the same mutators and
    // checks, a fixed number of inputs from a fixed seed, so the test does not depend on the machine's speed.
    const outcomes = new Map<string, number>();
    const withoutBtfOk = new Set<string>();
    let inputs = 0;
    for (; inputs < 3000; inputs++) {
      const seed = seeds[inputs % seeds.length]!;
      const bytes = mutate(seed, rngFrom(0x5eed + inputs * 7919));
      const t0 = performance.now();
      let outcome: string;
      try {
        outcome = exercise(bytes, target);
      } catch (err) {
        // Name the input in the failure: `pnpm fuzz` saves such inputs; here the seed and index reproduce it.
        throw new Error(`input ${inputs} from ${seed.name}: ${err instanceof Error ? err.stack : String(err)}`);
      }
      // A hang guard, not a timing: a call of the parser takes milliseconds, a pathological input seconds.
      const ms = performance.now() - t0;
      if (ms > 10_000) throw new Error(`input ${inputs} from ${seed.name} took ${ms.toFixed(0)} ms`);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (outcome === 'ok' && (seed.name.endsWith('without BTF') || seed.name.startsWith('goebpf'))) withoutBtfOk.add(seed.name);
    }
    // Both kinds of outcome happen: the mutations reach the parsers' checks and some objects survive them,
    // objects without BTF among them (so the mutations reach the program linker of those too).
    expect(outcomes.get('ok')).toBeGreaterThan(0);
    expect(outcomes.get('ParseError ELF')).toBeGreaterThan(0);
    expect(withoutBtfOk.size).toBeGreaterThanOrEqual(4);
  });
});
