import fs from 'node:fs';
import path from 'node:path';
import { assemble } from '@bpfkit/elf';
import { describe, expect, it } from 'vitest';
import { compileProgram, type VmHelper, VmMemory } from './index.js';
import { conformanceMem as memBytes, conformanceSections as sections } from '@bpfkit/elf/testing';

const DIR = path.resolve(import.meta.dirname, '../../../../vendor/bpf-conformance/tests');

// The eBPF conformance suite (bpf_conformance, vendored at the repository's
// root): each program runs on the VM with `-- mem` as the memory r1 points to
// (r2 its length) and must exit with `-- result` in r0, or fail with
// `-- error` where a file has one.
const files = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.data'))
  .sort();

const HELPERS = new Map<number, VmHelper>([[5, (r1) => r1]]);

describe('bpf conformance suite on the VM', () => {
  it('conformance: finds all 313 test files', () => {
    expect(files.length).toBe(313);
  });

  for (const file of files) {
    it(`conformance: ${file}`, () => {
      const s = sections(fs.readFileSync(path.join(DIR, file), 'utf8'));
      const instructions = assemble(s.get('asm') ?? '');
      const error = s.get('error')?.trim();
      const run = (functionSize?: number): bigint => {
        const program = compileProgram({ name: file, instructions, helpers: HELPERS, allowCallx: true, functionSize });
        const memory = new VmMemory();
        const mem = s.get('mem');
        if (mem === undefined) return program.run(memory);
        const bytes = memBytes(mem);
        const region = memory.map(bytes, { name: 'test memory' });
        return program.run(memory, { r1: memory.pointer(region), r2: BigInt(bytes.length) });
      };
      if (error !== undefined && error !== '') {
        expect(() => run()).toThrow();
        return;
      }
      const want = BigInt.asUintN(64, BigInt((s.get('result') ?? '').replace(/#.*/g, '').trim()));
      expect(run()).toBe(want);
      // The same cut into functions of 3 instructions (how long subprograms are translated).
      expect(run(3)).toBe(want);
    });
  }
});
