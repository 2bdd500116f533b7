import { InvalidArgumentError, NotSupportedError, VerifierError } from '@bpfkit/core';
import { assemble } from '@bpfkit/elf';
import { describe, expect, it } from 'vitest';
import {
  compileProgram,
  type VmHelper,
  type VmLddwRef,
  VmFault,
  VmMemory,
  type VmProgram,
  type VmProgramSpec,
  type VmRegion,
} from './index.js';
import { encodeInsn as insn, randomOps, seededRandom } from './random-programs.js';

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

function compile(asm: string, extra: Partial<VmProgramSpec> = {}) {
  return compileProgram({ name: 'prog', instructions: assemble(asm), ...extra });
}

function run(asm: string, args: { r1?: bigint; r2?: bigint } = {}, extra: Partial<VmProgramSpec> = {}): bigint {
  return compile(asm, extra).run(new VmMemory(), args);
}

function fault(fn: () => unknown): VmFault {
  try {
    fn();
  } catch (err) {
    if (err instanceof VmFault) return err;
    throw err;
  }
  throw new Error('expected a VmFault, nothing was thrown');
}

function refused(fn: () => unknown): VerifierError {
  try {
    fn();
  } catch (err) {
    if (err instanceof VerifierError) return err;
    throw err;
  }
  throw new Error('expected a VerifierError, nothing was thrown');
}

describe('VM memory faults', () => {
  it('an out-of-bounds read of test memory names the program, the instruction and the address', () => {
    const memory = new VmMemory();
    const region = memory.map(new Uint8Array(8), { name: 'test memory' });
    const program = compile('mov %r0, 0\nldxw %r0, [%r1+4]\nldxw %r0, [%r1+6]\nexit');
    const f = fault(() => program.run(memory, { r1: memory.pointer(region) }));
    expect(f.kind).toBe('read');
    expect(f.program).toBe('prog');
    expect(f.instruction).toBe(2);
    expect(f.address).toBe(memory.pointer(region, 6));
    expect(f.size).toBe(4);
    expect(f.message).toContain("program 'prog': instruction 2: read of 4 bytes at 0x");
    expect(f.message).toContain('outside test memory');
    // The memory stays usable: a run within bounds afterwards works.
    expect(compile('ldxw %r0, [%r1+4]\nexit').run(memory, { r1: memory.pointer(region) })).toBe(0n);
  });

  it('a negative offset below a region faults instead of reaching another region', () => {
    const memory = new VmMemory();
    memory.map(new Uint8Array(16), { name: 'first' });
    const second = memory.map(new Uint8Array(16), { name: 'second' });
    const f = fault(() => compile('ldxb %r0, [%r1-1]\nexit').run(memory, { r1: memory.pointer(second) }));
    expect(f.kind).toBe('read');
    expect(f.address).toBe(memory.pointer(second) - 1n);
  });

  it('writes past the stack, above or below its 512 bytes, fault before writing (through a pointer derived from r10)', () => {
    const above = fault(() => run('mov %r1, %r10\nstdw [%r1+0], 1\nmov %r0, 0\nexit'));
    expect(above.kind).toBe('write');
    expect(above.instruction).toBe(1);
    expect(above.message).toContain('outside stack of frame 0');
    const below = fault(() => run('mov %r0, 0\nmov %r1, %r10\nadd %r1, -513\nstxb [%r1+0], %r0\nexit'));
    expect(below.instruction).toBe(3);
    expect(run('mov %r0, 7\nstxdw [%r10-512], %r0\nldxdw %r0, [%r10-512]\nexit')).toBe(7n);
  });

  it('refuses constant r10 accesses outside the frame, and call chains over 512 bytes of stack, at load', () => {
    expect(refused(() => compile('stdw [%r10+0], 1\nmov %r0, 0\nexit')).message).toContain('invalid write to stack R10 off=0 size=8');
    expect(refused(() => compile('ldxb %r0, [%r10-513]\nexit')).message).toContain('invalid read from stack R10 off=-513 size=1');
    const err = refused(() => compile('stdw [%r10-300], 1\ncall local f\nexit\nf:\nstdw [%r10-256], 1\nmov %r0, 0\nexit'));
    expect(err.message).toContain('combined stack size of 2 calls is 576. Too large');
    expect(run('stdw [%r10-256], 1\ncall local f\nexit\nf:\nmov %r1, %r10\nadd %r1, -256\nstdw [%r1+0], 1\nmov %r0, 3\nexit')).toBe(3n);
  });

  it('a pointer into nothing faults', () => {
    const f = fault(() => run('mov %r1, 0x1234\nldxb %r0, [%r1+0]\nexit'));
    expect(f.kind).toBe('read');
    expect(f.address).toBe(0x1234n);
    expect(f.message).toContain('no memory region there');
    const unmapped = new VmMemory();
    unmapped.stack(0); // mapped before the unmapping below, so it does not take the freed id
    const gone = unmapped.map(new Uint8Array(8), { name: 'gone' });
    const ptr = unmapped.pointer(gone);
    unmapped.unmap(gone);
    expect(fault(() => compile('ldxb %r0, [%r1+0]\nexit').run(unmapped, { r1: ptr })).message).toContain('no memory region there');
  });

  it('writes to read-only regions fault and leave the bytes alone', () => {
    const memory = new VmMemory();
    const bytes = new Uint8Array([1, 2, 3, 4]);
    const region = memory.map(bytes, { name: 'context', writable: false });
    const f = fault(() => compile('stw [%r1+0], 9\nmov %r0, 0\nexit').run(memory, { r1: memory.pointer(region) }));
    expect(f.kind).toBe('write');
    expect(f.message).toContain('context is read-only');
    expect([...bytes]).toEqual([1, 2, 3, 4]);
    expect(compile('ldxb %r0, [%r1+3]\nexit').run(memory, { r1: memory.pointer(region) })).toBe(4n);
  });

  it('a region window (start, end) bounds accesses, and may move', () => {
    const memory = new VmMemory();
    const packet = memory.map(new Uint8Array(32), { name: 'packet', start: 8, end: 16 });
    const program = compile('ldxb %r0, [%r1+0]\nexit');
    expect(program.run(memory, { r1: memory.pointer(packet, 8) })).toBe(0n);
    expect(fault(() => program.run(memory, { r1: memory.pointer(packet, 7) })).kind).toBe('read');
    expect(fault(() => program.run(memory, { r1: memory.pointer(packet, 16) })).kind).toBe('read');
    packet.start = 4;
    expect(program.run(memory, { r1: memory.pointer(packet, 7) })).toBe(0n);
  });

  it('mapping checks its arguments and the number of regions', () => {
    const memory = new VmMemory();
    expect(() => memory.map(new Uint8Array(4), { name: 'r', start: 2, end: 5 })).toThrow(InvalidArgumentError);
    expect(() => memory.map([1, 2] as unknown as Uint8Array, { name: 'r' })).toThrow(/bytes: expected a Uint8Array/);
    const bytes = new Uint8Array(1);
    for (let k = 1; k <= 0xfffe; k++) memory.map(bytes, { name: `r${k}` });
    expect(() => memory.map(bytes, { name: 'one too many' })).toThrow(/more than 65534 memory regions/);
    memory.unmap(memory.regions[7] as VmRegion);
    expect(memory.map(bytes, { name: 'reused' }).id).toBe(7);
  });

  it('atomics check bounds too', () => {
    const f = fault(() => run('mov %r0, 1\nmov %r1, %r10\nlock add [%r1+0], %r0\nexit'));
    expect(f.kind).toBe('write');
    expect(f.instruction).toBe(2);
  });
});

describe('VM budget', () => {
  it('stops an endless loop with a clear error', () => {
    const f = fault(() => run('mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit'));
    expect(f.kind).toBe('budget');
    expect(f.message).toContain('instruction budget exhausted');
  });

  it('counts instructions exactly and honours the budget option', () => {
    // 2 + 10 iterations of 2 + exit = 23 instructions.
    const program = compile('mov %r0, 0\nmov %r1, 10\nloop:\nsub %r1, 1\njne %r1, 0, loop\nexit');
    const memory = new VmMemory();
    expect(program.run(memory, {}, { budget: 23 })).toBe(0n);
    expect(program.lastInstructions).toBe(23);
    expect(fault(() => program.run(memory, {}, { budget: 22 })).kind).toBe('budget');
    expect(() => program.run(memory, {}, { budget: 0 })).toThrow(/budget: expected a positive safe integer/);
  });
});

describe('VM arithmetic', () => {
  it('division and modulo by zero follow RFC 9669', () => {
    expect(run('lddw %r0, 0x123456789\nmov %r1, 0\ndiv %r0, %r1\nexit')).toBe(0n);
    expect(run('lddw %r0, 0x123456789\nmov %r1, 0\nmod %r0, %r1\nexit')).toBe(0x123456789n);
    expect(run('lddw %r0, 0x123456789\nmov %r1, 0\ndiv32 %r0, %r1\nexit')).toBe(0n);
    // 32-bit modulo by zero keeps the low half, zero-extended.
    expect(run('lddw %r0, 0x123456789\nmov %r1, 0\nmod32 %r0, %r1\nexit')).toBe(0x23456789n);
    expect(run('lddw %r0, 0x123456789\nmov %r1, 0\nsdiv %r0, %r1\nexit')).toBe(0n);
    expect(run('lddw %r0, -5\nmov %r1, 0\nsmod %r0, %r1\nexit')).toBe(U64(-5n));
  });

  it('signed division overflows as the kernel does', () => {
    expect(run('lddw %r0, 0x8000000000000000\nsdiv %r0, -1\nexit')).toBe(0x8000000000000000n);
    expect(run('lddw %r0, 0x8000000000000000\nsmod %r0, -1\nexit')).toBe(0n);
    expect(run('mov32 %r0, 0x80000000\nsdiv32 %r0, -1\nexit')).toBe(0x80000000n);
    expect(run('mov32 %r0, 0x80000000\nsmod32 %r0, -1\nexit')).toBe(0n);
    expect(run('mov %r0, -7\nsmod %r0, 2\nexit')).toBe(U64(-1n));
    expect(run('mov %r0, -7\nsdiv %r0, 2\nexit')).toBe(U64(-3n));
  });

  it('shift amounts are masked and 32-bit results zero-extend', () => {
    expect(run('mov %r0, 1\nmov %r1, 65\nlsh %r0, %r1\nexit')).toBe(2n);
    expect(run('mov %r0, 1\nmov %r1, 33\nlsh32 %r0, %r1\nexit')).toBe(2n);
    expect(run('mov %r0, -1\nadd32 %r0, 0\nexit')).toBe(0xffffffffn);
    expect(run('mov %r0, -1\narsh %r0, 63\nexit')).toBe(U64(-1n));
  });
});

// A reference interpreter in BigInt, straight from RFC 9669, for the ALU and
// conditional jumps; random programs must leave the same registers on both.
function reference(bytes: Uint8Array, regs: bigint[], stack = new Uint8Array(512)): bigint[] {
  const r = regs.slice();
  // Memory operations address the stack through r10 only.
  const sv = new DataView(stack.buffer, stack.byteOffset, stack.byteLength);
  const load = (off: number, size: number): bigint =>
    size === 1
      ? BigInt(sv.getUint8(512 + off))
      : size === 2
        ? BigInt(sv.getUint16(512 + off, true))
        : size === 4
          ? BigInt(sv.getUint32(512 + off, true))
          : sv.getBigUint64(512 + off, true);
  const store = (off: number, size: number, v: bigint): void => {
    if (size === 1) sv.setUint8(512 + off, Number(v & 0xffn));
    else if (size === 2) sv.setUint16(512 + off, Number(v & 0xffffn), true);
    else if (size === 4) sv.setUint32(512 + off, Number(v & 0xffffffffn), true);
    else sv.setBigUint64(512 + off, BigInt.asUintN(64, v), true);
  };
  const SIZES = [4, 2, 1, 8];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const s32 = (v: bigint): bigint => BigInt.asIntN(32, v);
  const u32 = (v: bigint): bigint => BigInt.asUintN(32, v);
  const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);
  const bswap = (v: bigint, bits: number): bigint => {
    let out = 0n;
    for (let k = 0; k < bits / 8; k++) out = (out << 8n) | ((v >> BigInt(8 * k)) & 0xffn);
    return out;
  };
  for (let pc = 0; pc < bytes.length / 8; pc++) {
    const op = bytes[pc * 8] as number;
    const dst = (bytes[pc * 8 + 1] as number) & 0xf;
    const src = (bytes[pc * 8 + 1] as number) >> 4;
    const off = dv.getInt16(pc * 8 + 2, true);
    const imm = BigInt(dv.getInt32(pc * 8 + 4, true));
    const cls = op & 7;
    const code = op & 0xf0;
    const x = (op & 8) !== 0;
    if (op === 0x18) {
      r[dst] = u32(imm) | (BigInt(dv.getUint32(pc * 8 + 12, true)) << 32n);
      pc++;
      continue;
    }
    if (cls === 7 || cls === 4) {
      const wide = cls === 7;
      const a = wide ? (r[dst] as bigint) : u32(r[dst] as bigint);
      const b = x ? (wide ? (r[src] as bigint) : u32(r[src] as bigint)) : wide ? U64(imm) : u32(imm);
      const sa = wide ? s64(a) : s32(a);
      const sb = wide ? s64(b) : s32(b);
      const bits = wide ? 64n : 32n;
      let v: bigint;
      switch (code) {
        case 0x00:
          v = a + b;
          break;
        case 0x10:
          v = a - b;
          break;
        case 0x20:
          v = a * b;
          break;
        case 0x30:
          v = b === 0n ? 0n : off === 1 ? sa / sb : a / b;
          break;
        case 0x90:
          v = b === 0n ? a : off === 1 ? sa % sb : a % b;
          break;
        case 0x40:
          v = a | b;
          break;
        case 0x50:
          v = a & b;
          break;
        case 0xa0:
          v = a ^ b;
          break;
        case 0x60:
          v = a << (b & (bits - 1n));
          break;
        case 0x70:
          v = a >> (b & (bits - 1n));
          break;
        case 0xc0:
          v = sa >> (b & (bits - 1n));
          break;
        case 0x80:
          v = -a;
          break;
        case 0xb0:
          v = off === 0 ? b : BigInt.asIntN(off, b);
          break;
        case 0xd0: {
          const n = Number(imm);
          if (cls === 7 || x) v = bswap(r[dst] as bigint, n);
          else v = BigInt.asUintN(n, r[dst] as bigint);
          break;
        }
        default:
          throw new Error(`reference: op ${op.toString(16)}`);
      }
      // Byte swaps and conversions keep their own width (imm), whatever the class.
      r[dst] = code === 0xd0 ? v : wide ? U64(v) : u32(v);
      continue;
    }
    if (cls === 5 || cls === 6) {
      if (op === 0x95) break;
      const wide = cls === 5;
      const a = wide ? (r[dst] as bigint) : u32(r[dst] as bigint);
      const b = x ? (wide ? (r[src] as bigint) : u32(r[src] as bigint)) : wide ? U64(imm) : u32(imm);
      const sa = wide ? s64(a) : s32(a);
      const sb = wide ? s64(b) : s32(b);
      const taken = {
        16: a === b,
        80: a !== b,
        32: a > b,
        48: a >= b,
        160: a < b,
        176: a <= b,
        96: sa > sb,
        112: sa >= sb,
        192: sa < sb,
        208: sa <= sb,
        64: (a & b) !== 0n,
      }[code];
      if (taken === undefined) throw new Error(`reference: op ${op.toString(16)}`);
      if (taken) pc += off;
      continue;
    }
    const size = SIZES[(op >> 3) & 3] as number;
    const mode = op & 0xe0;
    if (cls === 1) {
      if (src !== 10) throw new Error('reference: loads from r10 only');
      const v = load(off, size);
      r[dst] = mode === 0x80 ? U64(BigInt.asIntN(size * 8, v)) : v;
      continue;
    }
    if (cls === 2 || cls === 3) {
      if (dst !== 10) throw new Error('reference: stores through r10 only');
      const v = cls === 2 ? U64(imm) : (r[src] as bigint);
      if (mode === 0x60) {
        store(off, size, v);
        continue;
      }
      const old = load(off, size);
      const bits = BigInt(size * 8);
      const k = Number(imm);
      const mask = (w: bigint): bigint => BigInt.asUintN(Number(bits), w);
      let next = old;
      if ((k & ~1) === 0x00) next = mask(old + v);
      else if ((k & ~1) === 0x40) next = mask(old | v);
      else if ((k & ~1) === 0x50) next = mask(old & v);
      else if ((k & ~1) === 0xa0) next = mask(old ^ v);
      else if (k === 0xe1) next = mask(v);
      else if (k === 0xf1) next = mask(r[0] as bigint) === old ? mask(v) : old;
      else throw new Error(`reference: atomic ${k}`);
      store(off, size, next);
      if (k === 0xf1) r[0] = old;
      else if ((k & 1) !== 0) r[src] = old;
      continue;
    }
    throw new Error(`reference: op ${op.toString(16)}`);
  }
  return r;
}

describe('VM against a BigInt reference interpreter', () => {
  it('random programs (ALU, ALU64, conditional jumps, loads, stores, atomics on the stack) leave the same registers and stack', () => {
    const random = seededRandom(21);
    const { values, aluOp, memOp, jumpOp } = randomOps(random, 'reference');
    let checked = 0;
    for (let p = 0; p < 2000; p++) {
      const body: Uint8Array[] = [];
      const init: bigint[] = [];
      for (let k = 0; k < 10; k++) {
        const v = values();
        init.push(v);
        const lo = insn(0x18, k, 0, 0, v & 0xffffffffn);
        const hi = insn(0, 0, 0, 0, v >> 32n);
        body.push(lo, hi);
      }
      for (let k = 0; k < 40; k++) {
        if (random() < 0.2) body.push(memOp());
        if (random() < 0.25) body.push(jumpOp());
        body.push(aluOp());
      }
      const bodyBytes = new Uint8Array(body.length * 8);
      for (const [k, b] of body.entries()) bodyBytes.set(b, k * 8);
      const wantStack = new Uint8Array(512);
      const want = reference(bodyBytes, new Array<bigint>(10).fill(0n), wantStack);
      const tail: Uint8Array[] = [];
      for (let k = 0; k < 10; k++) tail.push(insn(0x7b, 10, k, -8 * (k + 1), 0));
      tail.push(insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0));
      const all = new Uint8Array(bodyBytes.length + tail.length * 8);
      all.set(bodyBytes);
      for (const [k, b] of tail.entries()) all.set(b, bodyBytes.length + k * 8);
      // Once as one function, once cut into functions of a few instructions (registers handed over).
      for (const functionSize of [undefined, 1 + (p % 9)]) {
        const memory = new VmMemory();
        compileProgram({ name: `random ${p}`, instructions: all, functionSize }).run(memory);
        const stack = memory.stack(0).view;
        const got = Array.from({ length: 10 }, (_, k) => stack.getBigUint64(512 - 8 * (k + 1), true));
        expect({ program: p, functionSize, regs: got }).toEqual({ program: p, functionSize, regs: want });
        expect({ program: p, functionSize, stack: [...memory.stack(0).bytes.subarray(300, 412)] }).toEqual({
          program: p,
          functionSize,
          stack: [...wantStack.subarray(300, 412)],
        });
      }
      checked++;
    }
    expect(checked).toBe(2000);
  });
});

describe('VM calls', () => {
  it('bpf-to-bpf calls get their own stack frames and keep r6-r9', () => {
    const asm = `
      mov %r6, 6
      stdw [%r10-8], 11
      mov %r1, %r10
      add %r1, -8
      call local f
      ldxdw %r2, [%r10-8]
      add %r0, %r2
      add %r0, %r6
      exit
    f:
      stdw [%r10-8], 100
      ldxdw %r0, [%r1+0]
      ldxdw %r3, [%r10-8]
      add %r0, %r3
      mov %r6, 0
      exit`;
    // callee: 11 (caller's slot through r1) + 100 (its own slot); caller adds 11 and 6.
    expect(run(asm)).toBe(128n);
  });

  it('refuses call chains deeper than 8 frames at load', () => {
    const chain = (frames: number): string => {
      const lines = [];
      for (let k = 0; k < frames - 1; k++) lines.push(`f${k}:`, `call local f${k + 1}`, 'exit');
      lines.push(`f${frames - 1}:`, 'mov %r0, 8', 'exit');
      return lines.join('\n');
    };
    expect(run(chain(8))).toBe(8n);
    const err = refused(() => compile(chain(9)));
    expect(err.message).toContain('the call stack of 9 frames is too deep');
    expect(err.code).toBe('E2BIG');
  });

  it('refuses recursion', () => {
    expect(refused(() => compile('call local f\nexit\nf:\ncall local f\nexit')).message).toContain('recursive call');
  });

  it('helpers get five u64 arguments and the memory, and their result lands in r0', () => {
    const seen: bigint[] = [];
    const helpers = new Map<number, VmHelper>([
      [
        1,
        (r1, r2, r3, r4, r5, env) => {
          seen.push(r1, r2, r3, r4, r5);
          const key = env.memory.view(r1, 4);
          env.memory.view(r1, 4, true).set([9, 9, 9, 9]);
          return BigInt(key.length) + BigInt(env.instruction) * 1000n;
        },
      ],
      [2, () => -1],
    ]);
    const asm = `
      stw [%r10-4], 1
      mov %r1, %r10
      add %r1, -4
      lddw %r2, 0x123456789abcdef0
      mov %r3, -1
      mov %r4, 4
      mov %r5, 5
      call 1
      ldxw %r6, [%r10-4]
      add %r0, %r6
      exit`;
    const memory = new VmMemory();
    expect(compile(asm, { helpers }).run(memory)).toBe(8004n + 0x09090909n);
    expect(seen.slice(1)).toEqual([0x123456789abcdef0n, U64(-1n), 4n, 5n]);
    expect(memory.resolve(seen[0] as bigint)).toEqual({ region: memory.stack(0), offset: 508 });
    expect(run('call 2\nexit', {}, { helpers })).toBe(U64(-1n));
  });

  it('a helper reading outside memory raises a fault naming the call instruction', () => {
    const helpers = new Map<number, VmHelper>([[1, (r1, _r2, _r3, _r4, _r5, env) => env.memory.view(r1, 8)[0] ?? 0]]);
    const f = fault(() => run('mov %r1, %r10\ncall 1\nexit', {}, { helpers }));
    expect(f.kind).toBe('read');
    expect(f.instruction).toBe(1);
    expect(f.message).toContain('read of 8 bytes');
  });

  it('callbacks (lddw func) run through the helper environment, within the call depth', () => {
    // A bpf_loop-like helper: calls the callback r1 times with (index, ctx) until it returns 1.
    const helpers = new Map<number, VmHelper>([
      [
        181,
        (n, fn, ctx, _r4, _r5, env) => {
          let i = 0n;
          for (; i < n; i++) if (env.callback(fn, i, ctx) === 1n) return i + 1n;
          return i;
        },
      ],
    ]);
    const asm = `
      stdw [%r10-8], 0
      mov %r1, 10
      lddw %r2, func cb
      mov %r3, %r10
      add %r3, -8
      mov %r4, 0
      call 181
      ldxdw %r1, [%r10-8]
      lsh %r0, 32
      or %r0, %r1
      exit
    cb:
      ldxdw %r3, [%r2+0]
      add %r3, %r1
      stxdw [%r2+0], %r3
      mov %r0, 0
      exit`;
    expect(run(asm, {}, { helpers })).toBe((10n << 32n) | 45n);
    const deep = new Map<number, VmHelper>([[7, (fn, _r2, _r3, _r4, _r5, env) => env.callback(fn, fn)]]);
    const f = fault(() => run('lddw %r1, func cb\ncall 7\nexit\ncb:\ncall 7\nexit', {}, { helpers: deep }));
    expect(f.kind).toBe('call-depth');
    expect(f.message).toContain('the call stack of 9 frames is too deep');
    expect(fault(() => run('mov %r1, 12\ncall 7\nexit', {}, { helpers: deep })).kind).toBe('callback');
  });

  it('a callback runs on its own later (a timer firing after the program)', () => {
    let saved = 0n;
    const helpers = new Map<number, VmHelper>([
      [
        170, // bpf_timer_set_callback
        (_timer, fn) => {
          saved = fn;
          return 0;
        },
      ],
    ]);
    const program = compile('lddw %r2, func cb\ncall 170\nmov %r0, 0\nexit\ncb:\nmov %r0, %r1\nadd %r0, 1\nexit', { helpers });
    const memory = new VmMemory();
    expect(program.run(memory)).toBe(0n);
    expect(program.runFunction(memory, saved, { r1: 41n })).toBe(42n);
    expect(() => program.runFunction(memory, 5n)).toThrow(/fn: expected a function pointer of program 'prog'/);
  });

  it('map references resolve through the caller', () => {
    const refs: VmLddwRef[] = [];
    const resolveLddw = (ref: VmLddwRef): bigint => {
      refs.push(ref);
      return ref.kind === 'map_fd' ? 0xabcn : 0x1000n + BigInt(ref.nextImm);
    };
    expect(run('lddw %r1, map_fd 3\nlddw %r0, map_value 4 16\nadd %r0, %r1\nexit', {}, { resolveLddw })).toBe(0xabcn + 0x1010n);
    expect(refs).toEqual([
      { kind: 'map_fd', imm: 3, nextImm: 0, instruction: 0 },
      { kind: 'map_value', imm: 4, nextImm: 16, instruction: 2 },
    ]);
    expect(() => compile('lddw %r1, map_fd 3\nmov %r0, 0\nexit')).toThrow(NotSupportedError);
  });

  it('a region load hook answers context fields that hold pointers', () => {
    const memory = new VmMemory();
    const packet = memory.map(new Uint8Array([0xaa, 0xbb]), { name: 'packet' });
    const ctx = memory.map(new Uint8Array(8), {
      name: 'xdp_md',
      writable: false,
      load: (offset) => (offset === 0 ? memory.pointer(packet) : offset === 4 ? memory.pointer(packet, 2) : undefined),
    });
    const program = compile(`
      ldxw %r2, [%r1+0]
      ldxw %r3, [%r1+4]
      mov %r4, %r2
      add %r4, 2
      mov %r0, 0
      jgt %r4, %r3, out
      ldxb %r0, [%r2+1]
    out:
      exit`);
    expect(program.run(memory, { r1: memory.pointer(ctx) })).toBe(0xbbn);
    // The same with the hook answering { region, offset } (no bigint), and the packet's end moved.
    const fast = memory.map(new Uint8Array(8), {
      name: 'xdp_md',
      load: (offset) =>
        offset === 0 ? { region: packet, offset: packet.start } : offset === 4 ? { region: packet, offset: packet.end } : undefined,
    });
    expect(program.run(memory, { r1: memory.pointer(fast) })).toBe(0xbbn);
    packet.end = 1;
    expect(program.run(memory, { r1: memory.pointer(fast) })).toBe(0n);
  });
});

describe('VM instructions beyond the conformance suite', () => {
  it('load-acquire and store-release act as loads and stores', () => {
    expect(run('lddw %r1, 0x1122334455667788\nstore_reldw [%r10-8], %r1\nload_acqdw %r0, [%r10-8]\nexit')).toBe(0x1122334455667788n);
    expect(run('mov %r1, -1\nstore_relb [%r10-8], %r1\nload_acqw %r0, [%r10-8]\nexit')).toBe(0xffn);
    expect(run('mov %r1, 0x1234\nstore_relh [%r10-2], %r1\nload_acqh %r0, [%r10-2]\nexit')).toBe(0x1234n);
  });

  it('helpers read strings and raise faults naming the call', () => {
    const seen: string[] = [];
    const helpers = new Map<number, VmHelper>([
      [
        6,
        (fmt, size, _r3, _r4, _r5, env) => {
          seen.push(env.memory.cString(fmt, Number(size)));
          return 0;
        },
      ],
      [
        1,
        (_r1, _r2, _r3, _r4, _r5, env) => {
          throw env.fault('R1 is not a map');
        },
      ],
    ]);
    expect(run('stdw [%r10-8], 0\nstw [%r10-8], 0x216968\nmov %r1, %r10\nadd %r1, -8\nmov %r2, 8\ncall 6\nexit', {}, { helpers })).toBe(0n);
    expect(seen).toEqual(['hi!']);
    // No NUL before the region's end: a fault, not a read past it.
    const memory = new VmMemory();
    const r = memory.map(new TextEncoder().encode('abc'), { name: 'str' });
    expect(() => memory.cString(memory.pointer(r), 16)).toThrow(VmFault);
    expect(memory.cString(memory.pointer(r), 2)).toBe('ab');
    const f = fault(() => run('mov %r0, 0\ncall 1\nexit', {}, { helpers }));
    expect(f.kind).toBe('helper');
    expect(f.instruction).toBe(1);
    expect(f.message).toBe("program 'prog': instruction 1: R1 is not a map");
  });
});

describe('VM tail calls', () => {
  it('a tail call replaces the frame, and a run takes at most 33', () => {
    // The program counts its runs in the context, then tail-calls itself; when the
    // tail call fails (the 34th), it returns the count plus 1000.
    const programs: VmProgram[] = [];
    const helpers = new Map<number, VmHelper>([
      [
        12,
        (_ctx, _map, index, _r4, _r5, env) => {
          const target = programs[Number(index)];
          return target !== undefined && env.tailCall(target) ? 0 : -2;
        },
      ],
    ]);
    const self = compile(
      'mov %r6, %r1\nldxw %r2, [%r1+0]\nadd %r2, 1\nstxw [%r1+0], %r2\nmov %r2, 0\nmov %r3, 0\ncall 12\nldxw %r0, [%r6+0]\nadd %r0, 1000\nexit',
      { helpers },
    );
    programs.push(self);
    const memory = new VmMemory();
    const ctx = memory.map(new Uint8Array(4), { name: 'ctx' });
    expect(self.run(memory, { r1: memory.pointer(ctx) })).toBe(1034n);
    // Another run starts counting again.
    ctx.bytes.fill(0);
    expect(self.run(memory, { r1: memory.pointer(ctx) })).toBe(1034n);
    // A tail call from a subprogram returns to the subprogram's caller; a missing target fails the helper.
    const other = compile('mov %r0, %r1\nexit');
    programs[1] = other;
    const caller = compile('call local f\nadd %r0, 1\nexit\nf:\nmov %r3, %r1\nmov %r1, 40\ncall 12\nmov %r0, 7\nexit', { helpers });
    expect(caller.run(memory, { r1: 1n })).toBe(41n);
    expect(caller.run(memory, { r1: 5n })).toBe(8n);
  });

  it('only the tail-call helper may tail-call', () => {
    const helpers = new Map<number, VmHelper>([[1, (_a, _b, _c, _d, _e, env) => (env.tailCall(compile('mov %r0, 0\nexit')) ? 1 : 0)]]);
    expect(fault(() => run('call 1\nexit', {}, { helpers })).kind).toBe('tail-call');
  });
});

describe('VM legacy packet loads', () => {
  it('BPF_ABS and BPF_IND read the packet of r6 in network byte order, and end the program with 0 out of bounds', () => {
    const memory = new VmMemory();
    const bytes = new Uint8Array(40);
    bytes.set([0x08, 0x00], 12);
    bytes.set([0x45, 0x00, 0x12, 0x34], 14);
    const packet = memory.map(bytes, { name: 'packet' });
    const ctx = memory.map(new Uint8Array(8), { name: '__sk_buff' });
    const legacyPacket = (c: bigint) => (c === memory.pointer(ctx) ? { region: packet, offset: 0, length: bytes.length } : undefined);
    const program = compile(
      `
      mov %r6, %r1
      ldabsh 12
      jne %r0, 0x800, drop
      mov %r7, 4
      ldindw %r7, 10
      mov %r8, %r0
      ldabsb 14
      lsh %r8, 8
      or %r0, %r8
      exit
    drop:
      mov %r0, 77
      exit`,
      { legacyPacket },
    );
    expect(program.run(memory, { r1: memory.pointer(ctx) })).toBe(0x4500123445n);
    bytes[12] = 0x86;
    expect(program.run(memory, { r1: memory.pointer(ctx) })).toBe(77n);
    // Out of bounds: the program ends, r0 = 0.
    expect(
      compile('mov %r6, %r1\nmov %r0, 5\nldabsw 38\nmov %r0, 9\nexit', { legacyPacket }).run(memory, { r1: memory.pointer(ctx) }),
    ).toBe(0n);
    expect(
      compile('mov %r6, %r1\nmov %r7, -20\nldindb %r7, 2\nmov %r0, 9\nexit', { legacyPacket }).run(memory, { r1: memory.pointer(ctx) }),
    ).toBe(0n);
    expect(fault(() => compile('ldabsb 0\nexit', { legacyPacket }).run(memory, { r1: 1n })).message).toContain(
      'r6 is not a context with a packet',
    );
    expect(() => compile('mov %r6, %r1\nldabsb 0\nexit')).toThrow(
      /legacy packet access \(BPF_ABS\/BPF_IND\) is not supported by the mock backend/,
    );
    expect(refused(() => compile('ldabsb 0\ncall local f\nexit\nf:\nmov %r0, 0\nexit', { legacyPacket })).message).toContain(
      'cannot be mixed with bpf-to-bpf calls',
    );
  });
});

describe('VM load-time checks', () => {
  it('refuses unknown opcodes', () => {
    const bytes = new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
    const err = refused(() => compileProgram({ name: 'bad', instructions: bytes }));
    expect(err.message).toContain('unknown opcode ff');
    expect(err.program).toBe('bad');
    expect(err.instruction).toBe(0);
  });

  it('refuses jumps out of range and falling off the end', () => {
    expect(refused(() => compile('ja +5\nexit')).message).toContain('jump out of range from insn 0 to 6');
    expect(refused(() => compile('mov %r0, 0\njeq %r0, 0, -3\nexit')).message).toContain('jump out of range');
    expect(refused(() => compile('mov %r0, 0')).message).toContain('last insn is not an exit or jmp');
    expect(refused(() => compile('mov %r0, 0\nexit\nf:\nmov %r0, 1\ncall local f')).message).toContain('last insn is not an exit or jmp');
  });

  it('refuses jumps into the middle of lddw and writes to r10', () => {
    const bytes = assemble('ja +1\nlddw %r0, 1\nexit');
    expect(refused(() => compileProgram({ name: 'p', instructions: bytes })).message).toContain('jump into the middle of ldimm64');
    expect(refused(() => compile('mov %r10, 0\nexit')).message).toContain('frame pointer is read only');
  });

  it('refuses helpers the program type may not call, and names unimplemented ones', () => {
    const helpers = new Map<number, VmHelper>([[1, () => 0]]);
    const err = refused(() =>
      compile('call 6\nexit', {
        helpers,
        helperAllowed: (id) => id === 1,
        helperName: (id) => (id === 6 ? 'bpf_trace_printk' : undefined),
      }),
    );
    expect(err.message).toContain('unknown func bpf_trace_printk#6');
    expect(() => compile('call 2\nexit', { helpers, helperAllowed: () => true, helperName: () => 'bpf_map_update_elem' })).toThrow(
      /helper bpf_map_update_elem#2 is not supported by the mock backend: program 'prog' calls it/,
    );
    expect(refused(() => compile('callx %r1\nexit')).message).toContain('unknown opcode 8d');
    expect(refused(() => compile('call 130\nexit', { helpers })).message).toContain('unknown func bpf_ringbuf_output#130');
    expect(refused(() => compile('call 99999\nexit', { helpers })).message).toContain('invalid func unknown#99999');
  });
});
