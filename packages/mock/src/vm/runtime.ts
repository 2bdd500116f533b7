// The functions generated code calls for what is too long to emit inline:
// memory accesses (region lookup and bounds), 64-bit division and modulo,
// shifts by a register, atomics, helper results. 64-bit values travel as two
// signed 32-bit halves; a function returning one gives the low half and
// leaves the high half in `state.h`.
import { memoryFault, pointerOf, state, VmFault, type VmRegion } from './memory.js';

const TWO32 = 4294967296;

/** The unsigned 64-bit value of a pair of halves. */
export function big(l: number, h: number): bigint {
  return h === 0 ? BigInt(l >>> 0) : pointerOf(h, l);
}

/** Splits a bigint (taken modulo 2^64) into halves: returns the low one, the high one in `state.h`. */
export function splitBig(v: bigint): number {
  state.h = Number(BigInt.asIntN(32, v >> 32n));
  return Number(BigInt.asIntN(32, v));
}

/** Splits a safe integer (negative ones as two's complement) into halves. */
export function splitNumber(v: number): number {
  state.h = Math.floor(v / TWO32) | 0;
  return v | 0;
}

/** A helper's or hook's result as halves; anything else than an integer is a fault of the helper. */
export function splitResult(v: bigint | number, pc: number, what: string): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return splitNumber(v);
  } else if (typeof v === 'bigint') {
    return splitBig(v);
  }
  throw new VmFault('helper', state.program, pc, `${what} returned ${String(v)}, expected a bigint or a safe integer`);
}

/** High 32 bits of the unsigned product of two 32-bit numbers. */
export function mulhu(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p0 = a0 * b0;
  const p1 = a1 * b0;
  const p2 = a0 * b1;
  const p3 = a1 * b1;
  const mid = (p0 >>> 16) + (p1 & 0xffff) + (p2 & 0xffff);
  return (p3 + (p1 >>> 16) + (p2 >>> 16) + (mid >>> 16)) | 0;
}

/** Unsigned 64-bit division; by zero gives 0 (RFC 9669). */
export function udiv64(al: number, ah: number, bl: number, bh: number): number {
  if (bh === 0) {
    if (bl === 0) {
      state.h = 0;
      return 0;
    }
    if (ah === 0) {
      state.h = 0;
      return ((al >>> 0) / (bl >>> 0)) | 0;
    }
  }
  return splitBig(big(al, ah) / big(bl, bh));
}

/** Unsigned 64-bit modulo; by zero leaves the dividend (RFC 9669). */
export function umod64(al: number, ah: number, bl: number, bh: number): number {
  if (bh === 0) {
    if (bl === 0) {
      state.h = ah;
      return al;
    }
    if (ah === 0) {
      state.h = 0;
      return ((al >>> 0) % (bl >>> 0)) | 0;
    }
  }
  return splitBig(big(al, ah) % big(bl, bh));
}

/** Signed 64-bit division; by zero gives 0, INT64_MIN / -1 gives INT64_MIN. */
export function sdiv64(al: number, ah: number, bl: number, bh: number): number {
  if (bl === 0 && bh === 0) {
    state.h = 0;
    return 0;
  }
  if (ah === al >> 31 && bh === bl >> 31) return splitNumber(Math.trunc(al / bl));
  const a = BigInt.asIntN(64, big(al, ah));
  const b = BigInt.asIntN(64, big(bl, bh));
  if (b === -1n) return splitBig(-a);
  return splitBig(a / b);
}

/** Signed 64-bit modulo (the sign of the dividend); by zero leaves the dividend. */
export function smod64(al: number, ah: number, bl: number, bh: number): number {
  if (bl === 0 && bh === 0) {
    state.h = ah;
    return al;
  }
  if (ah === al >> 31 && bh === bl >> 31) {
    const r = (al % bl) | 0;
    state.h = r >> 31;
    return r;
  }
  const a = BigInt.asIntN(64, big(al, ah));
  const b = BigInt.asIntN(64, big(bl, bh));
  return splitBig(a % b);
}

/** 64-bit left shift by `s & 63`. */
export function shl64(l: number, h: number, s: number): number {
  s &= 63;
  if (s === 0) {
    state.h = h;
    return l;
  }
  if (s < 32) {
    state.h = (h << s) | (l >>> (32 - s));
    return l << s;
  }
  state.h = l << (s - 32);
  return 0;
}

/** 64-bit logical right shift by `s & 63`. */
export function shr64(l: number, h: number, s: number): number {
  s &= 63;
  if (s === 0) {
    state.h = h;
    return l;
  }
  if (s < 32) {
    state.h = h >>> s;
    return (l >>> s) | (h << (32 - s));
  }
  state.h = 0;
  return (h >>> (s - 32)) | 0;
}

/** 64-bit arithmetic right shift by `s & 63`. */
export function sar64(l: number, h: number, s: number): number {
  s &= 63;
  if (s === 0) {
    state.h = h;
    return l;
  }
  if (s < 32) {
    state.h = h >> s;
    return (l >>> s) | (h << (32 - s));
  }
  state.h = h >> 31;
  return h >> (s - 32);
}

/** Byte swap of 32 bits. */
export function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** The fault for an access of `n` bytes at offset `a` of `r`. */
export function memoryFaultAt(r: VmRegion, a: number, n: number, pc: number): VmFault {
  return memoryFault(false, r.hi, a, n, pc);
}

function region(h: number, a: number, n: number, pc: number, write: boolean): VmRegion {
  const r = state.rg[h & 0xffff];
  if (r === undefined || r.hi !== h || a < r.start || a + n > r.end || (write && !r.writable)) {
    throw memoryFault(write, h, a, n, pc);
  }
  return r;
}

function hooked(r: VmRegion, a: number, n: 1 | 2 | 4 | 8, pc: number): number | undefined {
  const v = (r.load as NonNullable<VmRegion['load']>)(a, n);
  if (v === undefined) return undefined;
  if (typeof v === 'object' && v !== null) {
    state.h = v.region.hi;
    return v.offset | 0;
  }
  return splitResult(v, pc, `the load hook of ${r.name}`);
}

/** Loads a byte at `l:h + off` (zero-extended). */
export function ld1(h: number, l: number, off: number, pc: number): number {
  const a = (l >>> 0) + off;
  const r = region(h, a, 1, pc, false);
  if (r.load !== null) {
    const v = hooked(r, a, 1, pc);
    if (v !== undefined) return v;
  }
  state.h = 0;
  return r.bytes[a] as number;
}

/** Loads 2 bytes (zero-extended). */
export function ld2(h: number, l: number, off: number, pc: number): number {
  const a = (l >>> 0) + off;
  const r = region(h, a, 2, pc, false);
  if (r.load !== null) {
    const v = hooked(r, a, 2, pc);
    if (v !== undefined) return v;
  }
  state.h = 0;
  return r.view.getUint16(a, true);
}

/** Loads 4 bytes (zero-extended). */
export function ld4(h: number, l: number, off: number, pc: number): number {
  const a = (l >>> 0) + off;
  const r = region(h, a, 4, pc, false);
  if (r.load !== null) {
    const v = hooked(r, a, 4, pc);
    if (v !== undefined) return v;
  }
  state.h = 0;
  return r.view.getInt32(a, true);
}

/** Loads 8 bytes. */
export function ld8(h: number, l: number, off: number, pc: number): number {
  const a = (l >>> 0) + off;
  const r = region(h, a, 8, pc, false);
  if (r.load !== null) {
    const v = hooked(r, a, 8, pc);
    if (v !== undefined) return v;
  }
  state.h = r.view.getInt32(a + 4, true);
  return r.view.getInt32(a, true);
}

/** Stores a byte. */
export function st1(h: number, l: number, off: number, pc: number, vl: number, vh: number): void {
  const a = (l >>> 0) + off;
  const r = region(h, a, 1, pc, true);
  if (r.store?.(a, 1, big(vl, vh))) return;
  r.bytes[a] = vl;
}

/** Stores 2 bytes. */
export function st2(h: number, l: number, off: number, pc: number, vl: number, vh: number): void {
  const a = (l >>> 0) + off;
  const r = region(h, a, 2, pc, true);
  if (r.store?.(a, 2, big(vl, vh))) return;
  r.view.setUint16(a, vl, true);
}

/** Stores 4 bytes. */
export function st4(h: number, l: number, off: number, pc: number, vl: number, vh: number): void {
  const a = (l >>> 0) + off;
  const r = region(h, a, 4, pc, true);
  if (r.store?.(a, 4, big(vl, vh))) return;
  r.view.setInt32(a, vl, true);
}

/** Stores 8 bytes. */
export function st8(h: number, l: number, off: number, pc: number, vl: number, vh: number): void {
  const a = (l >>> 0) + off;
  const r = region(h, a, 8, pc, true);
  if (r.store?.(a, 8, big(vl, vh))) return;
  r.view.setInt32(a, vl, true);
  r.view.setInt32(a + 4, vh, true);
}

/**
 * An atomic read-modify-write of 4 or 8 bytes (`op` is the instruction's
 * imm: add 0x00, or 0x40, and 0x50, xor 0xa0, each `| 1` to fetch; xchg
 * 0xe1; cmpxchg 0xf1 comparing with r0). Returns the old value (zero-extended
 * for 4 bytes); the machine is single-threaded, so plain memory suffices.
 */
export function atomic(
  size: 4 | 8,
  op: number,
  h: number,
  l: number,
  off: number,
  pc: number,
  vl: number,
  vh: number,
  r0l: number,
  r0h: number,
): number {
  const a = (l >>> 0) + off;
  const r = region(h, a, size, pc, true);
  const dv = r.view;
  const ol = dv.getInt32(a, true);
  const oh = size === 8 ? dv.getInt32(a + 4, true) : 0;
  let nl = ol;
  let nh = oh;
  switch (op & ~1) {
    case 0x00: {
      const t = (ol >>> 0) + (vl >>> 0);
      nl = t | 0;
      nh = (oh + vh + (t > 0xffffffff ? 1 : 0)) | 0;
      break;
    }
    case 0x40:
      nl = ol | vl;
      nh = oh | vh;
      break;
    case 0x50:
      nl = ol & vl;
      nh = oh & vh;
      break;
    case 0xa0:
      nl = ol ^ vl;
      nh = oh ^ vh;
      break;
    case 0xe0:
      nl = vl;
      nh = vh;
      break;
    case 0xf0:
      if (ol === r0l && (size === 4 || oh === r0h)) {
        nl = vl;
        nh = vh;
      }
      break;
  }
  dv.setInt32(a, nl, true);
  if (size === 8) dv.setInt32(a + 4, nh, true);
  state.h = oh;
  return ol;
}

/** The fault for a run that used up its instruction budget. */
export function budgetFault(pc: number): VmFault {
  return new VmFault(
    'budget',
    state.program,
    pc,
    'instruction budget exhausted (an endless loop? raise the budget option of run() if the program needs more)',
  );
}

/**
 * The fault for reaching a call libbpf's CO-RE (or bpfkit's loader) poisoned:
 * a relocation that could not be resolved (`call 0xbad2310`), or a call to
 * a `__weak` kfunc the kernel lacks (2002000000 + n). The kernel's verifier
 * refuses such a call only on a path it explores, so a program keeps it in
 * branches its constants rule out; the mock refuses it where it is reached.
 */
export function poisonFault(pc: number, imm: number): VmFault {
  const what =
    imm === POISONED_RELOCATION
      ? 'a CO-RE relocation that could not be resolved against the kernel types (the kernel refuses it: invalid func unknown#195896080)'
      : `a __weak kfunc the kernel types lack (the kernel refuses it: invalid func unknown#${imm})`;
  return new VmFault('helper', state.program, pc, `reached the poisoned call of ${what}`);
}

/** `call 0xbad2310`: an instruction whose CO-RE relocation failed (libbpf's poison). */
export const POISONED_RELOCATION = 0xbad2310;
/** `call 2002000000 + n`: a call to the n-th extern, a `__weak` kfunc the kernel lacks (libbpf's poison). */
export const POISONED_KFUNC_BASE = 2002000000;

/** Whether `call imm` (src 0) is one of the poisoned calls above. */
export function isPoisonedCall(imm: number): boolean {
  return imm === POISONED_RELOCATION || (imm >= POISONED_KFUNC_BASE && imm < POISONED_KFUNC_BASE + 1_000_000);
}

/** The fault for a call past the 8th frame. */
export function depthFault(pc: number, depth: number): VmFault {
  return new VmFault('call-depth', state.program, pc, `the call stack of ${depth + 1} frames is too deep (at most 8)`);
}
