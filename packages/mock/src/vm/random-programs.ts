/**
 * Seeded random BPF programs for differential tests of the mock's virtual
 * machine against the kernel (XDP programs the verifier accepts): each sets
 * r0-r9 to edge values (0, ±1, 2^31, 2^63, 2^64-1, random), runs 40 random
 * ALU/ALU64 operations (every opcode, immediate and register operands,
 * signed division and modulo, movsx, byte swaps), conditional jumps (JMP and
 * JMP32, every condition) and aligned loads, sign-extending loads, stores
 * and atomics on its stack, in half of them a bpf-to-bpf call (a callee
 * computing on its arguments), then writes r0-r9 and that stack area into
 * the packet (which must be at least {@link RANDOM_PROGRAM_PACKET} bytes).
 * Used by `scripts/vm-kernel-diff.mjs` and the kernel differential test.
 *
 * @module
 */
import { compileProgram } from './compile.js';
import { VmMemory } from './memory.js';

/** The packet size the programs write their results into. */
export const RANDOM_PROGRAM_PACKET = 256;

/** A seeded source of numbers in [0, 1). */
export type Rand = () => number;

/** A deterministic generator (mulberry32) for `seed`. */
export function seededRandom(seed: number): Rand {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One `struct bpf_insn`, little-endian (imm taken modulo 2^32). */
export function encodeInsn(op: number, dst: number, src: number, off: number, imm: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = op;
  b[1] = dst | (src << 4);
  dv.setInt16(2, off, true);
  dv.setInt32(4, Number(BigInt.asIntN(32, BigInt(imm))), true);
  return b;
}
const insn = encodeInsn;

const CODES = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0, 0xd0];
const JUMPS = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];
const ATOMICS = [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1];

/** Random values, immediates and instructions drawn from one generator. */
export interface RandomOps {
  pick<T>(xs: readonly T[]): T;
  /** A 64-bit edge value (0, ±1, 2^31, 2^63, 2^64-1, …) or a random one. */
  values(): bigint;
  /** A 32-bit edge immediate or a random one. */
  imms(): number;
  /** An ALU or ALU64 instruction on registers below `regs`. */
  aluOp(regs?: number): Uint8Array;
  /** A load, sign-extending load, store or atomic on the stack. */
  memOp(): Uint8Array;
  /** A conditional jump over the next instruction (JMP or JMP32, immediate or register). */
  jumpOp(regs?: number): Uint8Array;
}

/**
 * The instruction mix of the random programs. `'kernel'`: what the
 * verifier accepts (no constant division by zero, shift counts in range,
 * aligned stack accesses in [r10-200, r10-96), which the program zeroes);
 * `'reference'`: anything the ISA defines, for a reference interpreter
 * (unaligned accesses below r10-100 included).
 *
 * @example
 * const ops = randomOps(seededRandom(1), 'reference');
 * const insns = [ops.aluOp(), ops.memOp(), ops.jumpOp()];
 */
export function randomOps(random: Rand, target: 'kernel' | 'reference'): RandomOps {
  const kernel = target === 'kernel';
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const r64 = () => (BigInt(Math.floor(random() * 2 ** 32)) << 32n) | BigInt(Math.floor(random() * 2 ** 32));
  const U64 = (v: bigint) => BigInt.asUintN(64, v);
  const values = () =>
    pick([
      0n,
      1n,
      2n,
      3n,
      31n,
      32n,
      63n,
      64n,
      0x7fffffffn,
      0x80000000n,
      0xffffffffn,
      0x100000000n,
      2n ** 63n,
      2n ** 63n - 1n,
      2n ** 64n - 1n,
      U64(-7n),
      r64(),
      r64() >> 32n,
      r64() >> 60n,
    ]);
  const imms = () =>
    pick([
      0,
      1,
      -1,
      2,
      7,
      31,
      32,
      33,
      63,
      64,
      -2147483648,
      2147483647,
      Math.floor(random() * 2 ** 32) | 0,
      Math.floor(random() * 100) - 50,
    ]);

  function aluOp(regs = 10): Uint8Array {
    const wide = random() < 0.6;
    const code = pick(CODES);
    let x = random() < 0.5 ? 8 : 0;
    let off = 0;
    let imm = imms();
    if (code === 0x30 || code === 0x90) {
      off = random() < 0.5 ? 1 : 0;
      if (kernel && !x && imm === 0) imm = 3; // the verifier refuses a constant division by zero
    }
    // The verifier refuses a constant shift out of range.
    if (kernel && (code === 0x60 || code === 0x70 || code === 0xc0) && !x) imm = Math.floor(random() * (wide ? 64 : 32));
    if (code === 0x80) {
      x = 0;
      imm = 0;
    }
    if (code === 0xb0 && x === 8) off = pick(wide ? [0, 8, 16, 32] : [0, 8, 16]);
    if (code === 0xd0) {
      imm = pick([16, 32, 64]);
      x = wide ? 0 : x;
    }
    // (The reference mix draws a source register for a 32-bit byte swap too, unused: its sequence of draws.)
    const drawSrc = kernel ? x === 8 && code !== 0xd0 : x === 8 || (code === 0xd0 && !wide);
    const src = drawSrc ? Math.floor(random() * regs) : 0;
    return insn(code | x | (wide ? 7 : 4), Math.floor(random() * regs), code === 0xd0 ? 0 : src, off, code === 0xd0 || x === 0 ? imm : 0);
  }

  function memOp(): Uint8Array {
    const sizeBits = pick([0x00, 0x08, 0x10, 0x18]);
    const size = ({ 0: 4, 8: 2, 16: 1, 24: 8 } as Record<number, number>)[sizeBits]!;
    const off = kernel ? -104 - size * Math.floor(random() * (96 / size)) : -100 - size - Math.floor(random() * 100);
    const reg = Math.floor(random() * 10);
    switch (Math.floor(random() * 5)) {
      case 0:
        return insn(0x61 | sizeBits, reg, 10, off, 0); // ldx
      case 1:
        return insn(sizeBits === 0x18 ? 0x79 : 0x81 | sizeBits, reg, 10, off, 0); // ldxs (or ldxdw)
      case 2:
        return insn(0x62 | sizeBits, 10, 0, off, imms()); // st
      case 3:
        return insn(0x63 | sizeBits, 10, reg, off, 0); // stx
      default: {
        const wide = random() < 0.5;
        const width = wide ? 8 : 4;
        const at = kernel ? -104 - width * Math.floor(random() * (wide ? 12 : 24)) : -100 - width - Math.floor(random() * 100);
        return insn(wide ? 0xdb : 0xc3, 10, reg, at, pick(ATOMICS));
      }
    }
  }

  function jumpOp(regs = 10): Uint8Array {
    const x = random() < 0.5 ? 8 : 0;
    return insn(
      pick(JUMPS) | x | (random() < 0.5 ? 5 : 6),
      Math.floor(random() * regs),
      x ? Math.floor(random() * regs) : 0,
      1,
      x ? 0 : imms(),
    );
  }

  return { pick, values, imms, aluOp, memOp, jumpOp };
}

/**
 * The random program of `seed` (little-endian instructions).
 *
 * @example
 * const insns = randomProgram(7);
 * runRandomProgram(insns).returnValue; // 2n (XDP_PASS), and the packet holds r0-r9
 */
export function randomProgram(seed: number): Uint8Array {
  const random = seededRandom(seed);
  const { values, aluOp, memOp, jumpOp } = randomOps(random, 'kernel');

  const p: Uint8Array[] = [];
  // r6/r7 = data/data_end, kept on the stack while the body runs.
  p.push(insn(0x61, 6, 1, 0, 0), insn(0x61, 7, 1, 4, 0), insn(0x7b, 10, 6, -8, 0), insn(0x7b, 10, 7, -16, 0));
  for (let off = -208; off < -96; off += 8) p.push(insn(0x7a, 10, 0, off, 0));
  for (let k = 0; k < 10; k++) {
    const v = values();
    p.push(insn(0x18, k, 0, 0, v & 0xffffffffn), insn(0, 0, 0, 0, v >> 32n));
  }
  for (let k = 0; k < 40; k++) {
    if (random() < 0.2) p.push(memOp());
    if (random() < 0.25) p.push(jumpOp());
    p.push(aluOp());
  }
  // Sometimes a bpf-to-bpf call: the callee computes on r0-r5 (its arguments) and returns r0;
  // r6-r9 must survive; r1-r5 are set again after it (the verifier forbids reading them).
  let callAt = -1;
  if (random() < 0.5) {
    callAt = p.length;
    p.push(insn(0x85, 0, 1, 0, 0)); // patched below
    for (let k = 1; k <= 5; k++) {
      const v = values();
      p.push(insn(0x18, k, 0, 0, v & 0xffffffffn), insn(0, 0, 0, 0, v >> 32n));
    }
    for (let k = 0; k < 5; k++) p.push(aluOp());
  }
  // Epilogue: r0-r9 to the stack, then registers and the stack area to the packet.
  for (let k = 0; k < 10; k++) p.push(insn(0x7b, 10, k, -24 - 8 * k, 0));
  p.push(insn(0x79, 6, 10, -8, 0), insn(0x79, 7, 10, -16, 0), insn(0xbf, 8, 6, 0, 0), insn(0x07, 8, 0, 0, 192));
  const copies: Uint8Array[] = [];
  for (let k = 0; k < 10; k++) copies.push(insn(0x79, 2, 10, -24 - 8 * k, 0), insn(0x7b, 6, 2, 8 * k, 0));
  for (let k = 0; k < 14; k++) copies.push(insn(0x79, 2, 10, -208 + 8 * k, 0), insn(0x7b, 6, 2, 80 + 8 * k, 0));
  p.push(insn(0x2d, 8, 7, copies.length, 0), ...copies, insn(0xb7, 0, 0, 0, 2), insn(0x95, 0, 0, 0, 0));
  if (callAt >= 0) {
    const sub = p.length;
    p[callAt] = insn(0x85, 0, 1, 0, sub - callAt - 1);
    p.push(insn(0xbf, 0, 1, 0, 0)); // r0 = r1
    for (let k = 0; k < 12; k++) {
      if (random() < 0.25) p.push(jumpOp(6));
      p.push(aluOp(6));
    }
    p.push(insn(0x95, 0, 0, 0, 0));
  }
  const bytes = new Uint8Array(p.length * 8);
  for (const [i, b] of p.entries()) bytes.set(b, i * 8);
  return bytes;
}

/**
 * Runs a random program on the VM with an `xdp_md` context over a zeroed
 * packet of {@link RANDOM_PROGRAM_PACKET} bytes: its r0 and the packet it left.
 *
 * @example
 * const { returnValue, packet } = runRandomProgram(randomProgram(7));
 */
export function runRandomProgram(instructions: Uint8Array, name = 'random'): { returnValue: bigint; packet: Uint8Array } {
  const memory = new VmMemory();
  const out = new Uint8Array(RANDOM_PROGRAM_PACKET);
  const packet = memory.map(out, { name: 'packet' });
  const ctx = memory.map(new Uint8Array(24), {
    name: 'xdp_md',
    writable: false,
    load: (o) => (o === 0 ? { region: packet, offset: 0 } : o === 4 ? { region: packet, offset: RANDOM_PROGRAM_PACKET } : undefined),
  });
  const returnValue = compileProgram({ name, instructions }).run(memory, { r1: memory.pointer(ctx) });
  return { returnValue, packet: out };
}

/** The maps a {@link randomMapProgram} uses, by fd: a hash (u32 → u64, 16 entries), an array (u32 → u64, 8 entries) and a ring buffer. */
export interface RandomProgramMaps {
  hash: number;
  array: number;
  ringbuf: number;
}

/**
 * The random map program of `seed`: an XDP program the verifier accepts
 * that keeps an accumulator (r9) through 4-10 random steps — map updates
 * (flags any, noexist, exist) and deletes on the hash and the array,
 * lookups that read and write the value through the returned pointer,
 * bounded loops (a backward jump, up to 20 rounds), ring buffer outputs of
 * 8 or 16 bytes — folding each helper's return value in, then writes r9 to
 * the packet and returns it. Its map references are BPF_PSEUDO_MAP_FD
 * loads of `maps`' fds, so the same program loads on any backend.
 *
 * @example
 * declare const maps: RandomProgramMaps;
 * const insns = randomMapProgram(3, maps);
 */
export function randomMapProgram(seed: number, maps: RandomProgramMaps): Uint8Array {
  const random = seededRandom(seed);
  const { values } = randomOps(random, 'kernel');
  const int = (n: number) => Math.floor(random() * n);
  const p: Uint8Array[] = [];
  const ldMap = (reg: number, fd: number) => p.push(insn(0x18, reg, 1, 0, fd), insn(0, 0, 0, 0, 0));
  const stackPtr = (reg: number, off: number) => p.push(insn(0xbf, reg, 10, 0, 0), insn(0x07, reg, 0, 0, off));
  const fold = () => p.push(insn(0x27, 9, 0, 0, 31), insn(0x0f, 9, 0, 0, 0)); // r9 = r9 * 31 + r0
  const map = () => (random() < 0.5 ? { fd: maps.hash, keys: 12 } : { fd: maps.array, keys: 8 });

  p.push(insn(0xbf, 6, 1, 0, 0));
  const start = values();
  p.push(insn(0x18, 9, 0, 0, start & 0xffffffffn), insn(0, 0, 0, 0, start >> 32n));
  for (let off = -64; off < 0; off += 8) p.push(insn(0x7a, 10, 0, off, 0));
  const steps = 4 + int(7);
  for (let s = 0; s < steps; s++) {
    const kind = int(5);
    const m = map();
    const key = int(m.keys);
    if (kind === 0) {
      // bpf_map_update_elem(map, &key, &r9, flags)
      p.push(insn(0x62, 10, 0, -4, key), insn(0x7b, 10, 9, -16, 0));
      ldMap(1, m.fd);
      stackPtr(2, -4);
      stackPtr(3, -16);
      p.push(insn(0xb7, 4, 0, 0, int(3)), insn(0x85, 0, 0, 0, 2));
      fold();
    } else if (kind === 1) {
      // v = bpf_map_lookup_elem(map, &key); if (v) { r9 += *v; *v += k; }
      p.push(insn(0x62, 10, 0, -4, key));
      ldMap(1, m.fd);
      stackPtr(2, -4);
      p.push(insn(0x85, 0, 0, 0, 1), insn(0x15, 0, 0, 4, 0));
      p.push(insn(0x79, 1, 0, 0, 0), insn(0x0f, 9, 1, 0, 0), insn(0x07, 1, 0, 0, 1 + int(1000)), insn(0x7b, 0, 1, 0, 0));
    } else if (kind === 2) {
      // bpf_map_delete_elem(map, &key) (an array refuses: -EINVAL)
      p.push(insn(0x62, 10, 0, -4, key));
      ldMap(1, m.fd);
      stackPtr(2, -4);
      p.push(insn(0x85, 0, 0, 0, 3));
      fold();
    } else if (kind === 3) {
      // for (r8 = K; r8 != 0; r8--) r9 = r9 * 3 + r8;
      p.push(insn(0xb7, 8, 0, 0, 1 + int(20)));
      p.push(insn(0x27, 9, 0, 0, 3), insn(0x0f, 9, 8, 0, 0), insn(0x07, 8, 0, 0, -1), insn(0x55, 8, 0, -4, 0));
    } else {
      // bpf_ringbuf_output(ringbuf, {r9, k}, 8 or 16, 0)
      p.push(insn(0x7b, 10, 9, -32, 0), insn(0x7a, 10, 0, -24, int(0x7fffffff)));
      ldMap(1, maps.ringbuf);
      stackPtr(2, -32);
      p.push(insn(0xb7, 3, 0, 0, random() < 0.5 ? 8 : 16), insn(0xb7, 4, 0, 0, 0), insn(0x85, 0, 0, 0, 130));
      p.push(insn(0x0f, 9, 0, 0, 0));
    }
  }
  // if (data + 8 <= data_end) *(u64 *)data = r9; return r9;
  p.push(insn(0x61, 2, 6, 0, 0), insn(0x61, 3, 6, 4, 0), insn(0xbf, 4, 2, 0, 0), insn(0x07, 4, 0, 0, 8));
  p.push(insn(0x2d, 4, 3, 1, 0), insn(0x7b, 2, 9, 0, 0), insn(0xbf, 0, 9, 0, 0), insn(0x95, 0, 0, 0, 0));
  const bytes = new Uint8Array(p.length * 8);
  for (const [i, b] of p.entries()) bytes.set(b, i * 8);
  return bytes;
}
