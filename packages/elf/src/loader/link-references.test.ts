import { InvalidArgumentError } from '@bpfkit/core';
import type { Map } from '@bpfkit/core';
import { decodeInstructions } from '../asm/instruction.js';
import type { ElfProgramSpec, ProgramReference } from '../programs/extract.js';
import type { Instruction } from '../asm/instruction.js';
import { describe, expect, it } from 'vitest';
import { linkReferences, POISON_KFUNC_CALL_BASE } from './link-references.js';
import type { ResolvedExtern } from './resolve-externs.js';

const LDDW = [0x18, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const CALL = [0x85, 0x00, 0, 0, 0, 0, 0, 0];

function program(parts: number[][], references: ProgramReference[]): ElfProgramSpec {
  return {
    name: 'p',
    type: 1,
    license: 'GPL',
    section: 'socket',
    instructions: Uint8Array.from(parts.flat()),
    references,
    funcInfo: [],
    lineInfo: [],
    coreRelocations: [],
  };
}

const fakeMap = (fd: number) => ({ fd }) as unknown as Map;

describe('linkReferences', () => {
  const externs = new globalThis.Map<string, ResolvedExtern>([
    ['CONFIG_HZ', { kind: 'kconfig', offset: 8 }],
    ['typed', { kind: 'btf', btfId: 1234, module: 'vmlinux' }],
    ['in_module', { kind: 'btf', btfId: 99, module: 'nf' }],
    ['addr', { kind: 'address', address: 0xffffffff81000010n }],
    ['gone', { kind: 'missing' }],
  ]);
  const targets = {
    maps: { counts: fakeMap(7), '.rodata': fakeMap(8), '.kconfig': fakeMap(9) },
    externs,
    moduleBtfFd: (m: string) => (m === 'vmlinux' ? 0 : 42),
    moduleFdIndex: (m: string) => (m === 'vmlinux' ? 0 : 1),
  };

  it('writes map fds, value offsets, kconfig addresses, BTF ids, addresses and kfunc calls', () => {
    const spec = program(
      [LDDW, LDDW, LDDW, LDDW, LDDW, LDDW, LDDW, CALL, CALL, CALL],
      [
        { index: 0, kind: 'map', target: 'counts', offset: 0 },
        { index: 2, kind: 'map_value', target: '.rodata', offset: 12 },
        { index: 4, kind: 'extern', target: 'CONFIG_HZ', offset: 0 },
        { index: 6, kind: 'extern', target: 'typed', offset: 0 },
        { index: 8, kind: 'extern', target: 'in_module', offset: 0 },
        { index: 10, kind: 'extern', target: 'addr', offset: 0 },
        { index: 12, kind: 'extern', target: 'gone', offset: 0 },
        { index: 14, kind: 'kfunc', target: 'typed', offset: 0 },
        { index: 15, kind: 'kfunc', target: 'in_module', offset: 0 },
        { index: 16, kind: 'kfunc', target: 'gone', offset: 0 },
      ],
    );
    const bySlot = new globalThis.Map<number, Instruction>();
    let slot = 0;
    for (const insn of decodeInstructions(linkReferences(spec, targets), true)) {
      bySlot.set(slot, insn);
      slot += insn.imm64 === undefined ? 1 : 2;
    }
    const at = (n: number) => bySlot.get(n)!;
    expect(at(0)).toMatchObject({ src: 1, imm: 7 });
    expect(at(2)).toMatchObject({ src: 2, imm: 8 });
    expect(at(2).imm64! >> 32n).toBe(12n);
    expect(at(4)).toMatchObject({ src: 2, imm: 9 });
    expect(at(4).imm64! >> 32n).toBe(8n);
    expect(at(6)).toMatchObject({ src: 3, imm: 1234 });
    expect(at(8)).toMatchObject({ src: 3, imm: 99 });
    expect(at(8).imm64! >> 32n).toBe(42n);
    expect(at(10)).toMatchObject({ src: 0 });
    expect(at(10).imm64).toBe(0xffffffff81000010n);
    expect(at(12).imm64).toBe(0n);
    expect(at(14)).toMatchObject({ src: 2, imm: 1234, offset: 0 });
    expect(at(15)).toMatchObject({ src: 2, imm: 99, offset: 1 });
    expect(at(16)).toMatchObject({ src: 0, imm: POISON_KFUNC_CALL_BASE + 9, offset: 0 });
    // The spec's own bytes are left alone.
    expect(spec.instructions[1]).toBe(0x01);
  });

  it('names a reference to a map or extern the object does not have', () => {
    expect(() => linkReferences(program([LDDW], [{ index: 0, kind: 'map', target: 'nope', offset: 0 }]), targets)).toThrow(
      InvalidArgumentError,
    );
    expect(() => linkReferences(program([CALL], [{ index: 0, kind: 'kfunc', target: 'nope', offset: 0 }]), targets)).toThrow(
      /extern 'nope'/,
    );
    expect(() => linkReferences(program([CALL], [{ index: 0, kind: 'kfunc', target: 'addr', offset: 0 }]), targets)).toThrow(
      /a kernel function/,
    );
  });
});
