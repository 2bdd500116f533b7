import { describe, expect, it } from 'vitest';
import { assemble, assembleInstructions } from './assemble.js';
import { disassemble } from './disasm.js';

describe('disassemble', () => {
  it('prints a map lookup program like bpftool', () => {
    const text = disassemble(
      assemble(`
      mov %r1, 0
      stxw [%r10-4], %r1
      mov %r2, %r10
      add %r2, -4
      lddw %r1, map_fd 5
      call 1
      jeq %r0, 0, out
      ldxw %r1, [%r0+0]
      jgt %r1, 5, out
      lock add32 [%r0+0], %r1
    out:
      mov32 %r0, 0
      exit`),
    );
    expect(text).toEqual([
      '0: (b7) r1 = 0',
      '1: (63) *(u32 *)(r10 -4) = r1',
      '2: (bf) r2 = r10',
      '3: (07) r2 += -4',
      '4: (18) r1 = map[fd:5] ll',
      '6: (85) call bpf_map_lookup_elem#1',
      '7: (15) if r0 == 0x0 goto pc+3',
      '8: (61) r1 = *(u32 *)(r0 +0)',
      '9: (25) if r1 > 0x5 goto pc+1',
      '10: (c3) lock *(u32 *)(r0 +0) += w1',
      '11: (b4) w0 = 0',
      '12: (95) exit',
    ]);
  });

  it('prints v4 instructions', () => {
    expect(
      disassemble(
        assembleInstructions(`
      movsx1664 %r1, %r2
      movsx832 %r1, %r2
      ldxsb %r3, [%r10-1]
      sdiv32 %r1, 3
      smod %r1, %r2
      bswap64 %r4
      be16 %r4
      ja32 +1
      lock fetch add [%r10-8], %r1
      lock cmpxchg [%r10-8], %r2
      lock xchg32 [%r10-4], %r3
      call local +1
      call kfunc 77
      jslt32 %r1, -1, -3
      exit`),
      ).map((l) => l.replace(/^\d+: \(\w\w\) /, '')),
    ).toEqual([
      'r1 = (s16)r2',
      'w1 = (s8)w2',
      'r3 = *(s8 *)(r10 -1)',
      'w1 s/= 3',
      'r1 s%= r2',
      'r4 = bswap64 r4',
      'r4 = be16 r4',
      'gotol pc+1',
      'r1 = atomic64_fetch_add((u64 *)(r10 -8), r1)',
      'r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r2)',
      'w3 = atomic_xchg((u32 *)(r10 -4), w3)',
      'call pc+1',
      'call kfunc#77',
      'if w1 s< 0xffffffff goto pc-3',
      'exit',
    ]);
  });

  it('accepts bytes or decoded instructions alike', () => {
    const bytes = assemble('mov %r0, 0\nexit');
    expect(disassemble(bytes)).toEqual(['0: (b7) r0 = 0', '1: (95) exit']);
    expect(disassemble(assembleInstructions('mov %r0, 0\nexit'))).toEqual(disassemble(bytes));
  });
});
