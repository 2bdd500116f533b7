import fs from 'node:fs';
import { ClosedError, InvalidArgumentError, ProgramType } from '@bpfkit/core';
import { assemble, decodeInstructions, disassemble } from '@bpfkit/elf';
import { HOST_LITTLE_ENDIAN } from '@bpfkit/syscalls';
import { describe, expect, it } from 'vitest';
import { loadKernelProgram } from './program.js';
import { programInstructions } from './xlated.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

describe('program instructions arguments (no kernel)', () => {
  it('refuses programs without a kernel fd', () => {
    expect(() => programInstructions({ fd: -1, name: 'mock' })).toThrow(InvalidArgumentError);
    expect(() => programInstructions(1.5)).toThrow(/a kernel program or its fd \(mock programs have none\)/);
  });
});

whenKernel().describe('translated instructions on the kernel', () => {
  it('reads back `r0 = 42; exit`, with the JITed size', () => {
    const instructions = assemble('mov %r0, 42\nexit');
    using prog = loadKernelProgram({ name: 'answer', type: ProgramType.SOCKET_FILTER, instructions, license: 'GPL' });
    const before = fs.readdirSync('/proc/self/fd').length;
    const code = programInstructions(prog);
    expect(fs.readdirSync('/proc/self/fd').length).toBe(before);
    expect(code.withheld).toBe(false);
    expect(code.xlatedSize).toBe(16);
    expect(code.mapIds).toEqual([]);
    expect(disassemble(code.xlated, HOST_LITTLE_ENDIAN)).toEqual(['0: (b7) r0 = 42', '1: (95) exit']);
    expect(decodeInstructions(code.xlated, HOST_LITTLE_ENDIAN).map((i) => [i.opcode, i.dst, i.imm])).toEqual([
      [0xb7, 0, 42],
      [0x95, 0, 0],
    ]);
    const jit = fs.readFileSync('/proc/sys/net/core/bpf_jit_enable', 'utf8').trim();
    if (jit === '0') expect(code.jitedSize).toBe(0);
    else expect(code.jitedSize).toBeGreaterThan(0);
    // By fd too, and the program stays usable.
    expect(programInstructions(prog.fd).xlated).toEqual(code.xlated);
    expect(prog.testRun({ data: new Uint8Array(16) }).returnValue).toBe(42);
    prog.close();
    expect(() => programInstructions(prog)).toThrow(ClosedError);
  });
});
