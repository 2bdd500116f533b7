import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BtfBuilder } from '../btf/build.js';
import { parseBtf } from '../btf/parse.js';
import type { Btf } from '../btf/parse.js';
import { parseElf } from '../elf/parse.js';
import { ParseError } from '../errors.js';
import { programsFromElf } from '../programs/extract.js';
import { resolveCoreRelocations } from './resolve.js';

const testdata = path.resolve(import.meta.dirname, '..', '..', 'testdata');
const object = new Uint8Array(fs.readFileSync(path.join(testdata, 'core.bpf.o')));

/** A small kernel-like target: task_struct with a few of the members the object uses. */
function target(): Btf {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, true);
  const uint = b.addInt('unsigned int', 4, false);
  const char = b.addInt('char', 1, true);
  const fwd = b.addFwd('task_struct');
  b.addComposite('struct', 'task_struct', 64, [
    { name: 'flags', type: uint, bitOffset: 0 },
    { name: 'in_execve', type: uint, bitOffset: 35, bitfieldSize: 1 },
    { name: 'pid', type: int, bitOffset: 64 },
    { name: 'tgid', type: int, bitOffset: 96 },
    { name: 'real_parent', type: b.addPointer(fwd), bitOffset: 128 },
    { name: 'comm', type: b.addArray(char, int, 16), bitOffset: 192 },
  ]);
  b.addEnum('bpf_map_type', [
    ['BPF_MAP_TYPE_USER_RINGBUF', 31],
    ['BPF_MAP_TYPE_BLOOM_FILTER', 30],
  ]);
  return parseBtf(b.encode());
}

describe('CO-RE on hostile input', () => {
  const kernel = target();

  it('resolves mutated objects to a result or a ParseError, never anything else', () => {
    let seed = 5;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    // Mutate where it matters most: .BTF (types, strings) and .BTF.ext (the relocation records).
    const clean = parseElf(object);
    const regions = ['.BTF', '.BTF.ext', 'xdp', '.text'].map((n) => clean.section(n)!).map((s) => [s.offset, s.size] as const);
    let resolved = 0;
    for (let round = 0; round < 600; round++) {
      const bytes = object.slice();
      const [start, size] = regions[round % regions.length]!;
      for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) bytes[start + Math.floor(rand() * size)] = Math.floor(rand() * 256);
      try {
        const elf = parseElf(bytes);
        const btf = parseBtf(elf.data(elf.section('.BTF')!));
        for (const p of Object.values(programsFromElf(elf, btf))) {
          resolveCoreRelocations({ instructions: p.instructions, relocations: p.coreRelocations, localBtf: btf, targetBtf: kernel });
          resolved++;
        }
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
      }
    }
    expect(resolved).toBeGreaterThan(100);
  });

  it('resolves random relocations to a result or a ParseError, never anything else', () => {
    const elf = parseElf(object);
    const btf = parseBtf(elf.data(elf.section('.BTF')!));
    const programs = programsFromElf(elf, btf);
    const instructions = programs.core_fields!.instructions;
    const slots = instructions.byteLength / 8;
    let seed = 9;
    const rand = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * n);
    const outcomes = new Map<string, number>();
    for (let round = 0; round < 3000; round++) {
      const levels = 1 + rand(4);
      const accessString = Array.from({ length: levels }, () => String(rand(6))).join(':');
      const relocation = { index: rand(slots + 1), typeId: rand(btf.types.length + 2), accessString, kind: rand(14) };
      try {
        const r = resolveCoreRelocations({ instructions, relocations: [relocation], localBtf: btf, targetBtf: [kernel] });
        const key = r.report[0]!.status;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
        outcomes.set('error', (outcomes.get('error') ?? 0) + 1);
      }
    }
    // Every outcome happens: relocated, missing, poisoned, refused.
    expect([...outcomes.keys()].sort()).toEqual(['error', 'missing', 'poisoned', 'relocated']);
  });
});
