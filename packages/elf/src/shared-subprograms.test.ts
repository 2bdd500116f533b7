import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readObject } from './object.js';

const testdata = new URL('../testdata/', import.meta.url);
const CALL = 0x85;

/** Every BPF-to-BPF call of a linked program as `caller → callee`, by the program's func_info. */
function callGraph(spec: ReturnType<typeof readObject>, program: string, le: boolean): string[] {
  const p = spec.programs[program]!;
  const btf = spec.btf!;
  const starts = p.funcInfo.map((f) => ({ at: f.insnOff, name: btf.type(f.typeId)!.name })).sort((a, b) => a.at - b.at);
  const fnAt = (slot: number) => starts.filter((s) => s.at <= slot).at(-1)!;
  const view = new DataView(p.instructions.buffer, p.instructions.byteOffset, p.instructions.byteLength);
  const edges: string[] = [];
  for (let i = 0; i < p.instructions.byteLength / 8; i++) {
    const regs = p.instructions[i * 8 + 1]!;
    const src = le ? regs >> 4 : regs & 0xf;
    if (p.instructions[i * 8] !== CALL || src !== 1) continue;
    const target = i + view.getInt32(i * 8 + 4, le) + 1;
    const callee = starts.find((s) => s.at === target);
    edges.push(`${fnAt(i).name} → ${callee ? callee.name : `instruction ${target}, where no function starts`}`);
  }
  return edges.sort();
}

// shared_subprog.bpf.c: first() calls twice() alone (its copy places bump() after twice(), .text
// has it before); second() calls handle(), which calls bump() and twice(). bcc's tcprtt has the
// same shape (handle_tcp_rcv_established, shared by its fentry and kprobe programs).
const EXPECTED = {
  first: ['first → twice', 'twice → bump', 'twice → bump'],
  second: ['handle → bump', 'handle → twice', 'second → handle', 'twice → bump', 'twice → bump'],
};

describe('programs sharing subprograms', () => {
  for (const [file, le] of [
    ['shared_subprog.bpf.o', true],
    ['shared_subprog.bpf.eb.o', false],
  ] as const) {
    it(`links each program of ${file} from the section as the file has it, whatever the input's Uint8Array kind`, () => {
      // A Node Buffer is what fs.readFileSync returns: its slice() is a view, not a copy, so linking
      // one program must not write into the caller's bytes (nor into the next program's code).
      const buffer = fs.readFileSync(new URL(file, testdata));
      const pristine = Uint8Array.from(buffer);
      for (const input of [new Uint8Array(pristine), buffer]) {
        const spec = readObject(input);
        expect(Object.keys(spec.programs).sort()).toEqual(['first', 'second']);
        expect(spec.warnings).toEqual([]);
        for (const [program, edges] of Object.entries(EXPECTED)) expect(callGraph(spec, program, le)).toEqual(edges);
        expect(Buffer.compare(input, pristine)).toBe(0);
      }
    });
  }
});
