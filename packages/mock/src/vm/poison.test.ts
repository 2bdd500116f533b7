import { VerifierError } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { compileProgram, VmFault, VmMemory } from './index.js';
import { encodeInsn as insn } from './random-programs.js';

const program = (...insns: Uint8Array[]) => {
  const out = new Uint8Array(insns.length * 8);
  insns.forEach((b, i) => {
    out.set(b, i * 8);
  });
  return out;
};
// r0 = r1; if r0 != 0 goto poisoned; r0 = 7; exit; poisoned: call <imm>; exit
const branchTo = (imm: number) =>
  program(
    insn(0xbf, 0, 1, 0, 0), // mov r0, r1
    insn(0x55, 0, 0, 2, 0), // jne r0, 0, +2
    insn(0xb7, 0, 0, 0, 7), // mov r0, 7
    insn(0x95, 0, 0, 0, 0), // exit
    insn(0x85, 0, 0, 0, imm), // call imm
    insn(0x95, 0, 0, 0, 0), // exit
  );

describe('poisoned calls (CO-RE relocations and __weak kfuncs that could not be resolved)', () => {
  it('load, like on the kernel (whose verifier refuses them only on a path it explores), and fault where reached', () => {
    for (const [imm, what] of [
      [0xbad2310, /CO-RE relocation that could not be resolved/],
      [2002000000 + 3, /__weak kfunc the kernel types lack .*unknown#2002000003/],
    ] as const) {
      const vm = compileProgram({ name: 'poisoned', instructions: branchTo(imm) });
      expect(vm.run(new VmMemory(), { r1: 0n })).toBe(7n);
      let caught: unknown;
      try {
        vm.run(new VmMemory(), { r1: 1n });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(VmFault);
      expect((caught as VmFault).instruction).toBe(4);
      expect((caught as VmFault).message).toMatch(what);
    }
  });

  it('other unknown helper ids are still refused at load', () => {
    expect(() => compileProgram({ name: 'unknown', instructions: branchTo(0xbad2311) })).toThrow(VerifierError);
  });
});
