import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@bpfkit/core';
import { ParseError } from '../errors.js';
import { assemble, assembleInstructions } from './assemble.js';
import { disassemble } from './disasm.js';
import { decodeInstructions, encodeInstructions, makeInstruction, opName, type InstructionFields } from './instruction.js';

/** One canonical statement per instruction form, across every opcode class. */
const EVERY_FORM = `
# ALU64 and ALU, immediate and register
${['add', 'sub', 'mul', 'div', 'sdiv', 'or', 'and', 'lsh', 'rsh', 'mod', 'smod', 'xor', 'mov', 'arsh']
  .flatMap((op) => [`${op} %r1, -7`, `${op} %r2, %r3`, `${op}32 %r4, 0x7fffffff`, `${op}32 %r5, %r6`])
  .join('\n')}
neg %r1
neg32 %r2
movsx832 %r0, %r1
movsx1632 %r2, %r3
movsx864 %r4, %r5
movsx1664 %r6, %r7
movsx3264 %r8, %r9
le16 %r1
le32 %r2
le64 %r3
be16 %r4
be32 %r5
be64 %r6
bswap16 %r7
bswap32 %r8
bswap64 %r9
# loads and stores
${['b', 'h', 'w', 'dw'].flatMap((s) => [`ldx${s} %r1, [%r2+4]`, `st${s} [%r10-8], -3`, `stx${s} [%r10-16], %r1`]).join('\n')}
ldxsb %r1, [%r2-1]
ldxsh %r1, [%r2+2]
ldxsw %r1, [%r2]
lddw %r0, 0x123456789abcdef0
lddw %r1, -1
lddw %r1, map_fd 7
lddw %r2, map_value 7 16
lddw %r3, btf_id 42
lddw %r4, func target
lddw %r5, map_idx 2
lddw %r6, map_idx_value 2 8
ldabsb 12
ldabsh 12
ldabsw 12
ldindb %r1, 4
ldindh %r1, 4
ldindw %r1, 4
# atomics
${['add', 'or', 'and', 'xor']
  .flatMap((op) => [
    `lock ${op} [%r10-8], %r1`,
    `lock fetch ${op} [%r10-8], %r1`,
    `lock ${op}32 [%r10-4], %r2`,
    `lock fetch ${op}32 [%r10-4], %r2`,
  ])
  .join('\n')}
lock xchg [%r10-8], %r1
lock xchg32 [%r10-8], %r1
lock cmpxchg [%r10-8], %r1
lock cmpxchg32 [%r10-8], %r1
${['b', 'h', 'w', 'dw'].flatMap((s) => [`load_acq${s} %r0, [%r1+8]`, `store_rel${s} [%r1+8], %r2`]).join('\n')}
# jumps
target:
${['jeq', 'jgt', 'jge', 'jset', 'jne', 'jsgt', 'jsge', 'jlt', 'jle', 'jslt', 'jsle']
  .flatMap((op) => [`${op} %r1, 0xffffffff, target`, `${op} %r1, %r2, +1`, `${op}32 %r1, -5, -2`, `${op}32 %r1, %r2, target`])
  .join('\n')}
ja +1
ja target
ja32 -70000
ja32 target
call 1
call map_lookup_elem
call local target
call kfunc 1234
callx %r5
exit
`;

describe('instructions', () => {
  it('decodes what it encodes, in both byte orders, for every form', () => {
    const insns = assembleInstructions(EVERY_FORM);
    expect(insns.length).toBeGreaterThan(150);
    for (const le of [true, false]) {
      const bytes = encodeInstructions(insns, le);
      expect(decodeInstructions(bytes, le)).toEqual(insns);
    }
  });

  it('round-trips every valid opcode byte with arbitrary fields', () => {
    let valid = 0;
    for (let opcode = 0; opcode < 256; opcode++) {
      for (const [src, offset, imm] of [
        [0, 0, 0],
        [1, 1, 16],
        [2, 8, 32],
        [3, -3, 64],
        [0, 16, 0x100],
        [0, 0, 0xe1],
      ] as const) {
        const f: InstructionFields =
          opcode === 0x18 ? { opcode, dst: 9, src, offset, imm, imm64: 0xfedcba9876543210n } : { opcode, dst: 9, src, offset, imm };
        if (opName(f) === undefined) continue;
        valid++;
        const insn = makeInstruction(f);
        for (const le of [true, false]) {
          const [back] = decodeInstructions(encodeInstructions([insn], le), le);
          expect(back).toEqual(insn);
        }
      }
    }
    expect(valid).toBeGreaterThan(150);
  });

  it('puts dst in the low nibble for little-endian, the high nibble for big-endian', () => {
    const [insn] = assembleInstructions('mov %r1, %r2');
    expect(encodeInstructions([insn!], true)[1]).toBe(0x21);
    expect(encodeInstructions([insn!], false)[1]).toBe(0x12);
    expect(Array.from(assemble('lddw %r0, 0x1122334455667788', false))).toEqual([
      0x18, 0x00, 0, 0, 0x55, 0x66, 0x77, 0x88, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44,
    ]);
  });

  it('names the RFC 9669 v4 additions', () => {
    const ops = assembleInstructions(
      'movsx832 %r0, %r1\nldxsh %r0, [%r1]\nsdiv %r0, 3\nsmod32 %r0, %r1\nbswap32 %r0\nja32 +0\nlock fetch xor [%r1], %r2\nlock cmpxchg32 [%r1], %r2\nload_acqw %r0, [%r1]\nstore_reldw [%r1], %r2\ncall local +0\ncall kfunc 9\nlddw %r1, map_value 3 4\nexit',
    ).map((i) => i.op);
    expect(ops).toEqual([
      'movsx832',
      'ldxsh',
      'sdiv',
      'smod32',
      'bswap32',
      'ja32',
      'lock fetch xor',
      'lock cmpxchg32',
      'load_acqw',
      'store_reldw',
      'call local',
      'call kfunc',
      'lddw',
      'exit',
    ]);
    const [sdiv] = assembleInstructions('sdiv32 %r1, %r2');
    expect(sdiv).toMatchObject({ opcode: 0x3c, dst: 1, src: 2, offset: 1 });
    const [ldmap] = assembleInstructions('lddw %r2, map_value 7 16');
    expect(ldmap).toMatchObject({ opcode: 0x18, src: 2, imm: 7, imm64: (16n << 32n) | 7n });
  });

  it('rejects undefined opcodes and truncated input with ParseError', () => {
    expect(() => decodeInstructions(new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 0]))).toThrow(ParseError);
    expect(() => decodeInstructions(new Uint8Array([0x95, 0, 0]))).toThrow(ParseError);
    expect(() => decodeInstructions(new Uint8Array([0x18, 0, 0, 0, 0, 0, 0, 0]))).toThrow(ParseError);
    expect(() => decodeInstructions(new Uint8Array([0xbf, 0x21, 2, 0, 0, 0, 0, 0]))).toThrow(ParseError);
  });

  it('rejects out-of-range fields with InvalidArgumentError', () => {
    expect(() => encodeInstructions([{ opcode: 0xb7, dst: 16, src: 0, offset: 0, imm: 0 }])).toThrow(InvalidArgumentError);
    expect(() => encodeInstructions([{ opcode: 0xb7, dst: 0, src: 0, offset: 0x8000, imm: 0 }])).toThrow(InvalidArgumentError);
  });
});

describe('assembler', () => {
  it('resolves labels forward and backward, counting lddw as two slots', () => {
    const insns = assembleInstructions('start: lddw %r0, 1\nja end # skip\nja start\nend:\nexit');
    expect(insns.map((i) => i.offset)).toEqual([0, 1, -4, 0]);
  });

  it('reports unknown mnemonics and labels with the line', () => {
    expect(() => assemble('mov %r0, 0\nfrobnicate %r1')).toThrow(/line 2/);
    expect(() => assemble('ja nowhere\nmov %r0, 0')).toThrow(/unknown label/);
    expect(() => assemble('mov %r11, 0')).toThrow(ParseError);
    expect(() => assemble('add32 %r0, 0x100000000')).toThrow(/32 bits/);
  });

  it('re-assembles its own disassembly for every form', () => {
    const bytes = assemble(EVERY_FORM);
    expect(Array.from(assemble(disassemble(bytes).join('\n')))).toEqual(Array.from(bytes));
  });
});
