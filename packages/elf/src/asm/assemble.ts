import { helperFromName } from '@bpfkit/core';
import { ParseError } from '../errors.js';
import {
  ALU_OPS,
  AtomicOp,
  CallSrc,
  InsnClass,
  JMP_OPS,
  PseudoSrc,
  encodeInstructions,
  makeInstruction,
  type Instruction,
  type InstructionFields,
} from './instruction.js';

type Resolve = (target: string, pc: number, line: number) => number;

interface Pending {
  readonly line: number;
  readonly pc: number;
  readonly build: (resolve: Resolve) => InstructionFields;
}

const NUM = String.raw`[+-]?(?:0x[0-9a-fA-F]+|\d+)`;
const R = String.raw`[rw](\d+)`;
const MEM = String.raw`\((u8|u16|u32|u64|s8|s16|s32) \*\)\(r(\d+) ([+-]\d+)\)`;

const TYPE_SIZE: Readonly<Record<string, number>> = { u32: 0, u16: 1, u8: 2, u64: 3, s32: 0, s16: 1, s8: 2 };
const SUFFIX_SIZE: Readonly<Record<string, number>> = { w: 0, h: 1, b: 2, dw: 3 };

const C_ALU: Readonly<Record<string, [number, number]>> = {
  '+': [0, 0],
  '-': [1, 0],
  '*': [2, 0],
  '/': [3, 0],
  's/': [3, 1],
  '|': [4, 0],
  '&': [5, 0],
  '<<': [6, 0],
  '>>': [7, 0],
  '%': [9, 0],
  's%': [9, 1],
  '^': [10, 0],
  's>>': [12, 0],
};
const C_JMP: Readonly<Record<string, number>> = {
  '==': 1,
  '>': 2,
  '>=': 3,
  '&': 4,
  '!=': 5,
  's>': 6,
  's>=': 7,
  '<': 10,
  '<=': 11,
  's<': 12,
  's<=': 13,
};
const C_ATOMIC: Readonly<Record<string, number>> = {
  '+': AtomicOp.ADD,
  '|': AtomicOp.OR,
  '&': AtomicOp.AND,
  '^': AtomicOp.XOR,
  fetch_add: AtomicOp.ADD | AtomicOp.FETCH,
  fetch_or: AtomicOp.OR | AtomicOp.FETCH,
  fetch_and: AtomicOp.AND | AtomicOp.FETCH,
  fetch_xor: AtomicOp.XOR | AtomicOp.FETCH,
  xchg: AtomicOp.XCHG,
};

function fail(line: number, message: string): never {
  throw new ParseError('BPF assembly', `line ${line}: ${message}`);
}

function big(text: string, line: number): bigint {
  const t = text.trim();
  if (!new RegExp(`^${NUM}$`).test(t)) fail(line, `expected a number, got '${t}'`);
  const neg = t.startsWith('-');
  const body = t.replace(/^[+-]/, '');
  const v = BigInt(body);
  return neg ? -v : v;
}

function imm32(text: string, line: number): number {
  const v = big(text, line);
  if (v < -(1n << 31n) || v >= 1n << 32n) fail(line, `immediate ${text} does not fit in 32 bits`);
  return Number(BigInt.asIntN(32, v));
}

function off16(text: string, line: number): number {
  const v = big(text, line);
  if (v < -(1n << 15n) || v >= 1n << 15n) fail(line, `offset ${text} does not fit in 16 bits`);
  return Number(v);
}

function reg(text: string, line: number): number {
  const m = /^%r(\d+)$/.exec(text.trim());
  if (m === null) fail(line, `expected a register, got '${text.trim()}'`);
  const n = Number(m[1]);
  if (n > 10) fail(line, `no register r${n}`);
  return n;
}

function regNum(text: string | undefined, line: number): number {
  const n = Number(text);
  if (!(n >= 0 && n <= 10)) fail(line, `no register r${text ?? ''}`);
  return n;
}

function mem(text: string, line: number): [number, number] {
  const m = /^\[\s*%r(\d+)\s*(?:([+-])\s*(\w+))?\s*\]$/.exec(text.trim());
  if (m === null) fail(line, `expected [%rN+offset], got '${text.trim()}'`);
  const off = m[2] === undefined ? 0 : off16(`${m[2]}${m[3] ?? ''}`, line);
  return [regNum(m[1], line), off];
}

const isImm = (t: string): boolean => new RegExp(`^${NUM}$`).test(t.trim());

const fields = (opcode: number, dst: number, src: number, offset: number, imm: number): InstructionFields => ({
  opcode,
  dst,
  src,
  offset,
  imm,
});

/** Slots taken by a source line (2 for 64-bit immediate loads). */
function slotsOf(text: string): number {
  return /^lddw\b/.test(text) || / ll$/.test(text) ? 2 : 1;
}

function target(t: string, resolve: Resolve, pc: number, line: number): number {
  const s = t.trim();
  if (/^[+-]\d+$/.test(s)) return Number(s);
  return resolve(s, pc, line);
}

/** Parses one statement of the conformance-suite syntax (`add32 %r0, 1`). */
function parseClassic(text: string, line: number, pc: number): Pending['build'] | undefined {
  const words = text.split(/\s+/);
  let mnemonic = words[0] ?? '';
  let restStart = 1;
  if (mnemonic === 'lock') {
    mnemonic = words[1] === 'fetch' ? `lock fetch ${words[2] ?? ''}` : `lock ${words[1] ?? ''}`;
    restStart = words[1] === 'fetch' ? 3 : 2;
  } else if (mnemonic === 'call' && (words[1] === 'local' || words[1] === 'kfunc')) {
    mnemonic = `call ${words[1]}`;
    restStart = 2;
  }
  const rest = words.slice(restStart).join(' ');
  const ops = rest === '' ? [] : rest.split(',').map((s) => s.trim());
  const want = (n: number): void => {
    if (ops.length !== n) fail(line, `${mnemonic} takes ${n} operand(s), got ${ops.length}`);
  };
  let m: RegExpExecArray | null;

  if (mnemonic === 'exit') {
    want(0);
    return () => fields(0x95, 0, 0, 0, 0);
  }
  if (mnemonic === 'call') {
    want(1);
    const op = ops[0] ?? '';
    if (op.startsWith('%')) return () => fields(0x8d, reg(op, line), 0, 0, 0);
    if (isImm(op)) return () => fields(0x85, 0, CallSrc.HELPER, 0, imm32(op, line));
    const id = helperFromName(op);
    if (id === undefined) fail(line, `unknown helper '${op}'`);
    return () => fields(0x85, 0, CallSrc.HELPER, 0, id);
  }
  if (mnemonic === 'call local') {
    want(1);
    return (res) => fields(0x85, 0, CallSrc.LOCAL, 0, target(ops[0] ?? '', res, pc, line));
  }
  if (mnemonic === 'call kfunc') {
    want(1);
    return () => fields(0x85, 0, CallSrc.KFUNC, 0, imm32(ops[0] ?? '', line));
  }
  if (mnemonic === 'callx') {
    want(1);
    return () => fields(0x8d, reg(ops[0] ?? '', line), 0, 0, 0);
  }
  if (mnemonic === 'lddw') {
    want(2);
    const dst = reg(ops[0] ?? '', line);
    const v = ops[1] ?? '';
    if ((m = /^(map_fd|map_idx|btf_id|func)\s+(\S+)$/.exec(v)) !== null) {
      const kind = m[1] ?? '';
      const arg = m[2] ?? '';
      const src = { map_fd: PseudoSrc.MAP_FD, map_idx: PseudoSrc.MAP_IDX, btf_id: PseudoSrc.BTF_ID, func: PseudoSrc.FUNC }[kind] ?? 0;
      return (res) => {
        const imm = kind === 'func' ? target(arg, res, pc, line) : imm32(arg, line);
        return { ...fields(0x18, dst, src, 0, imm), imm64: BigInt(imm >>> 0) };
      };
    }
    if ((m = /^(map_value|map_idx_value)\s+(\S+)\s+(\S+)$/.exec(v)) !== null) {
      const src = m[1] === 'map_value' ? PseudoSrc.MAP_VALUE : PseudoSrc.MAP_IDX_VALUE;
      const a = imm32(m[2] ?? '', line);
      const b = imm32(m[3] ?? '', line);
      return () => ({ ...fields(0x18, dst, src, 0, a), imm64: (BigInt(b >>> 0) << 32n) | BigInt(a >>> 0) });
    }
    const x = big(v, line);
    if (x < -(1n << 63n) || x >= 1n << 64n) fail(line, `immediate ${v} does not fit in 64 bits`);
    const imm64 = BigInt.asUintN(64, x);
    return () => ({ ...fields(0x18, dst, 0, 0, Number(BigInt.asIntN(32, imm64))), imm64 });
  }
  // Legacy packet access.
  if ((m = /^ld(abs|ind)(b|h|w)$/.exec(mnemonic)) !== null) {
    const size = SUFFIX_SIZE[m[2] ?? ''] ?? 0;
    if (m[1] === 'abs') {
      want(1);
      return () => fields(0x20 | (size << 3), 0, 0, 0, imm32(ops[0] ?? '', line));
    }
    want(2);
    return () => fields(0x40 | (size << 3), 0, reg(ops[0] ?? '', line), 0, imm32(ops[1] ?? '', line));
  }
  // Loads and stores.
  if ((m = /^ldx(s?)(b|h|w|dw)$/.exec(mnemonic)) !== null) {
    want(2);
    const size = SUFFIX_SIZE[m[2] ?? ''] ?? 0;
    if (m[1] === 's' && size === 3) fail(line, 'no sign-extending 64-bit load');
    const mode = m[1] === 's' ? 0x80 : 0x60;
    const dst = reg(ops[0] ?? '', line);
    const [src, off] = mem(ops[1] ?? '', line);
    return () => fields(mode | (size << 3) | InsnClass.LDX, dst, src, off, 0);
  }
  if ((m = /^st(x?)(b|h|w|dw)$/.exec(mnemonic)) !== null) {
    want(2);
    const size = SUFFIX_SIZE[m[2] ?? ''] ?? 0;
    const [dst, off] = mem(ops[0] ?? '', line);
    if (m[1] === 'x') {
      const src = reg(ops[1] ?? '', line);
      return () => fields(0x60 | (size << 3) | InsnClass.STX, dst, src, off, 0);
    }
    return () => fields(0x60 | (size << 3) | InsnClass.ST, dst, 0, off, imm32(ops[1] ?? '', line));
  }
  if ((m = /^lock (fetch )?(add|or|and|xor|xchg|cmpxchg)(32)?$/.exec(mnemonic)) !== null) {
    want(2);
    const [dst, off] = mem(ops[0] ?? '', line);
    const src = reg(ops[1] ?? '', line);
    const name = m[2] ?? '';
    let imm: number;
    if (name === 'xchg') imm = AtomicOp.XCHG;
    else if (name === 'cmpxchg') imm = AtomicOp.CMPXCHG;
    else imm = (C_ATOMIC[`fetch_${name}`] ?? 0) & (m[1] === undefined ? ~AtomicOp.FETCH : ~0);
    const size = m[3] === undefined ? 3 : 0;
    return () => fields(0xc0 | (size << 3) | InsnClass.STX, dst, src, off, imm);
  }
  if ((m = /^(load_acq|store_rel)(b|h|w|dw)$/.exec(mnemonic)) !== null) {
    want(2);
    const size = SUFFIX_SIZE[m[2] ?? ''] ?? 0;
    const opcode = 0xc0 | (size << 3) | InsnClass.STX;
    if (m[1] === 'load_acq') {
      const dst = reg(ops[0] ?? '', line);
      const [src, off] = mem(ops[1] ?? '', line);
      return () => fields(opcode, dst, src, off, AtomicOp.LOAD_ACQ);
    }
    const [dst, off] = mem(ops[0] ?? '', line);
    const src = reg(ops[1] ?? '', line);
    return () => fields(opcode, dst, src, off, AtomicOp.STORE_REL);
  }
  // Byte swaps.
  if ((m = /^(be|le|bswap|swap)(16|32|64)$/.exec(mnemonic)) !== null) {
    want(1);
    const dst = reg(ops[0] ?? '', line);
    const opcode = m[1] === 'be' ? 0xdc : m[1] === 'le' ? 0xd4 : 0xd7;
    const width = Number(m[2]);
    return () => fields(opcode, dst, 0, 0, width);
  }
  if ((m = /^movsx(8|16|32)(32|64)$/.exec(mnemonic)) !== null) {
    want(2);
    const from = Number(m[1]);
    const cls = m[2] === '32' ? InsnClass.ALU : InsnClass.ALU64;
    if (from >= Number(m[2])) fail(line, `invalid ${mnemonic}`);
    const dst = reg(ops[0] ?? '', line);
    const src = reg(ops[1] ?? '', line);
    return () => fields(0xb8 | cls, dst, src, from, 0);
  }
  // ALU.
  if ((m = /^(s?)(add|sub|mul|div|or|and|lsh|rsh|neg|mod|xor|mov|arsh)(32|64)?$/.exec(mnemonic)) !== null) {
    const name = m[2] ?? '';
    const signed = m[1] === 's';
    if (signed && name !== 'div' && name !== 'mod') return undefined;
    const code = ALU_OPS.indexOf(name);
    const cls = m[3] === '32' ? InsnClass.ALU : InsnClass.ALU64;
    const offset = signed ? 1 : 0;
    if (name === 'neg') {
      want(1);
      const dst = reg(ops[0] ?? '', line);
      return () => fields((code << 4) | cls, dst, 0, 0, 0);
    }
    want(2);
    const dst = reg(ops[0] ?? '', line);
    const b = ops[1] ?? '';
    if (b.startsWith('%')) {
      const src = reg(b, line);
      return () => fields((code << 4) | 8 | cls, dst, src, offset, 0);
    }
    return () => fields((code << 4) | cls, dst, 0, offset, imm32(b, line));
  }
  // Jumps.
  if ((m = /^(ja|jeq|jgt|jge|jset|jne|jsgt|jsge|jlt|jle|jslt|jsle)(32)?$/.exec(mnemonic)) !== null) {
    const code = JMP_OPS.indexOf(m[1] ?? '');
    const cls = m[2] === '32' ? InsnClass.JMP32 : InsnClass.JMP;
    if (code === 0) {
      want(1);
      const t = ops[0] ?? '';
      if (cls === InsnClass.JMP32) return (res) => fields(0x06, 0, 0, 0, target(t, res, pc, line));
      return (res) => fields(0x05, 0, 0, off16(String(target(t, res, pc, line)), line), 0);
    }
    want(3);
    const dst = reg(ops[0] ?? '', line);
    const b = ops[1] ?? '';
    const t = ops[2] ?? '';
    if (b.startsWith('%')) {
      const src = reg(b, line);
      return (res) => fields((code << 4) | 8 | cls, dst, src, off16(String(target(t, res, pc, line)), line), 0);
    }
    const imm = imm32(b, line);
    return (res) => fields((code << 4) | cls, dst, 0, off16(String(target(t, res, pc, line)), line), imm);
  }
  return undefined;
}

/** Parses one statement in the disassembler's C-like syntax (`r0 += 1`). */
function parseC(text: string, line: number): Pending['build'] | undefined {
  let m: RegExpExecArray | null;
  const w = (s: string | undefined): number => (s === 'w' ? InsnClass.ALU : InsnClass.ALU64);
  if (text === 'exit') return () => fields(0x95, 0, 0, 0, 0);
  if ((m = /^goto pc([+-]\d+)$/.exec(text)) !== null) {
    const off = off16(m[1] ?? '', line);
    return () => fields(0x05, 0, 0, off, 0);
  }
  if ((m = /^gotol pc([+-]\d+)$/.exec(text)) !== null) {
    const imm = imm32(m[1] ?? '', line);
    return () => fields(0x06, 0, 0, 0, imm);
  }
  if (
    (m = new RegExp(`^if ([rw])(\\d+) (==|!=|>=|>|<=|<|s>=|s>|s<=|s<|&) (?:[rw](\\d+)|(${NUM})) goto pc([+-]\\d+)$`).exec(text)) !== null
  ) {
    const cls = m[1] === 'w' ? InsnClass.JMP32 : InsnClass.JMP;
    const code = C_JMP[m[3] ?? ''] ?? 0;
    const dst = regNum(m[2], line);
    const off = off16(m[6] ?? '', line);
    if (m[4] !== undefined) {
      const src = regNum(m[4], line);
      return () => fields((code << 4) | 8 | cls, dst, src, off, 0);
    }
    const imm = imm32(m[5] ?? '', line);
    return () => fields((code << 4) | cls, dst, 0, off, imm);
  }
  if ((m = /^call pc([+-]\d+)$/.exec(text)) !== null) {
    const imm = imm32(m[1] ?? '', line);
    return () => fields(0x85, 0, CallSrc.LOCAL, 0, imm);
  }
  if ((m = /^call (\S*)#(-?\d+)$/.exec(text)) !== null) {
    const src = m[1] === 'kfunc' ? CallSrc.KFUNC : CallSrc.HELPER;
    const imm = imm32(m[2] ?? '', line);
    return () => fields(0x85, 0, src, 0, imm);
  }
  if ((m = /^callx r(\d+)$/.exec(text)) !== null) {
    const dst = regNum(m[1], line);
    return () => fields(0x8d, dst, 0, 0, 0);
  }
  // 64-bit immediate loads.
  if ((m = new RegExp(`^r(\\d+) = (${NUM}) ll$`).exec(text)) !== null) {
    const dst = regNum(m[1], line);
    const imm64 = BigInt.asUintN(64, big(m[2] ?? '', line));
    return () => ({ ...fields(0x18, dst, 0, 0, Number(BigInt.asIntN(32, imm64))), imm64 });
  }
  if ((m = /^r(\d+) = (map|map_value)\[(fd|idx):(-?\d+)\](?:\+(-?\d+))? ll$/.exec(text)) !== null) {
    const dst = regNum(m[1], line);
    const value = m[2] === 'map_value';
    const src = m[3] === 'fd' ? (value ? PseudoSrc.MAP_VALUE : PseudoSrc.MAP_FD) : value ? PseudoSrc.MAP_IDX_VALUE : PseudoSrc.MAP_IDX;
    const a = imm32(m[4] ?? '', line);
    const b = value ? imm32(m[5] ?? '0', line) : 0;
    return () => ({ ...fields(0x18, dst, src, 0, a), imm64: (BigInt(b >>> 0) << 32n) | BigInt(a >>> 0) });
  }
  if ((m = /^r(\d+) = (btf_id|func)\[(?:pc)?([+-]?\d+)\] ll$/.exec(text)) !== null) {
    const dst = regNum(m[1], line);
    const src = m[2] === 'func' ? PseudoSrc.FUNC : PseudoSrc.BTF_ID;
    const a = imm32(m[3] ?? '', line);
    return () => ({ ...fields(0x18, dst, src, 0, a), imm64: BigInt(a >>> 0) });
  }
  // Legacy packet access.
  if ((m = new RegExp(`^r0 = \\*\\((u8|u16|u32) \\*\\)skb\\[(?:r(\\d+) \\+ )?(${NUM})\\]$`).exec(text)) !== null) {
    const size = TYPE_SIZE[m[1] ?? ''] ?? 0;
    const imm = imm32(m[3] ?? '', line);
    if (m[2] === undefined) return () => fields(0x20 | (size << 3), 0, 0, 0, imm);
    const src = regNum(m[2], line);
    return () => fields(0x40 | (size << 3), 0, src, 0, imm);
  }
  // Memory.
  if ((m = new RegExp(`^r(\\d+) = \\*${MEM}$`).exec(text)) !== null) {
    const type = m[2] ?? '';
    const size = TYPE_SIZE[type] ?? 0;
    const mode = type.startsWith('s') ? 0x80 : 0x60;
    const dst = regNum(m[1], line);
    const src = regNum(m[3], line);
    const off = off16(m[4] ?? '', line);
    return () => fields(mode | (size << 3) | InsnClass.LDX, dst, src, off, 0);
  }
  if ((m = new RegExp(`^\\*${MEM} = (?:r(\\d+)|(${NUM}))$`).exec(text)) !== null) {
    const size = TYPE_SIZE[m[1] ?? ''] ?? 0;
    const dst = regNum(m[2], line);
    const off = off16(m[3] ?? '', line);
    if (m[4] !== undefined) {
      const src = regNum(m[4], line);
      return () => fields(0x60 | (size << 3) | InsnClass.STX, dst, src, off, 0);
    }
    const imm = imm32(m[5] ?? '', line);
    return () => fields(0x60 | (size << 3) | InsnClass.ST, dst, 0, off, imm);
  }
  if ((m = new RegExp(`^lock \\*${MEM} ([+|&^])= ${R}$`).exec(text)) !== null) {
    const size = TYPE_SIZE[m[1] ?? ''] ?? 0;
    const dst = regNum(m[2], line);
    const off = off16(m[3] ?? '', line);
    const imm = C_ATOMIC[m[4] ?? ''] ?? 0;
    const src = regNum(m[5], line);
    return () => fields(0xc0 | (size << 3) | InsnClass.STX, dst, src, off, imm);
  }
  if (
    (m =
      /^[rw](\d+) = atomic(?:64)?_(fetch_add|fetch_or|fetch_and|fetch_xor|xchg)\(\((u32|u64) \*\)\(r(\d+) ([+-]\d+)\), [rw](\d+)\)$/.exec(
        text,
      )) !== null
  ) {
    // m: 1 reg, 2 op, 3 type, 4 base, 5 off, 6 src
    const size = TYPE_SIZE[m[3] ?? ''] ?? 0;
    const imm = C_ATOMIC[m[2] ?? ''] ?? 0;
    const dst = regNum(m[4], line);
    const off = off16(m[5] ?? '', line);
    const src = regNum(m[6], line);
    if (m[1] !== m[6]) fail(line, 'fetch result must be the source register');
    return () => fields(0xc0 | (size << 3) | InsnClass.STX, dst, src, off, imm);
  }
  if ((m = /^[rw]0 = atomic(?:64)?_cmpxchg\(\((u32|u64) \*\)\(r(\d+) ([+-]\d+)\), [rw]0, [rw](\d+)\)$/.exec(text)) !== null) {
    const size = TYPE_SIZE[m[1] ?? ''] ?? 0;
    const dst = regNum(m[2], line);
    const off = off16(m[3] ?? '', line);
    const src = regNum(m[4], line);
    return () => fields(0xc0 | (size << 3) | InsnClass.STX, dst, src, off, AtomicOp.CMPXCHG);
  }
  if ((m = /^[rw](\d+) = load_acquire\(\((u8|u16|u32|u64) \*\)\(r(\d+) ([+-]\d+)\)\)$/.exec(text)) !== null) {
    const size = TYPE_SIZE[m[2] ?? ''] ?? 0;
    const dst = regNum(m[1], line);
    const src = regNum(m[3], line);
    const off = off16(m[4] ?? '', line);
    return () => fields(0xc0 | (size << 3) | InsnClass.STX, dst, src, off, AtomicOp.LOAD_ACQ);
  }
  if ((m = /^store_release\(\((u8|u16|u32|u64) \*\)\(r(\d+) ([+-]\d+)\), [rw](\d+)\)$/.exec(text)) !== null) {
    const size = TYPE_SIZE[m[1] ?? ''] ?? 0;
    const dst = regNum(m[2], line);
    const off = off16(m[3] ?? '', line);
    const src = regNum(m[4], line);
    return () => fields(0xc0 | (size << 3) | InsnClass.STX, dst, src, off, AtomicOp.STORE_REL);
  }
  // ALU.
  if ((m = /^([rw])(\d+) = (be|le|bswap)(16|32|64) [rw](\d+)$/.exec(text)) !== null) {
    const dst = regNum(m[2], line);
    const opcode = m[3] === 'be' ? 0xdc : m[3] === 'le' ? 0xd4 : 0xd7;
    const width = Number(m[4]);
    return () => fields(opcode, dst, 0, 0, width);
  }
  if ((m = /^([rw])(\d+) = -[rw](\d+)$/.exec(text)) !== null) {
    const dst = regNum(m[2], line);
    const cls = w(m[1]);
    return () => fields(0x80 | cls, dst, 0, 0, 0);
  }
  if ((m = /^([rw])(\d+) = \(s(8|16|32)\)[rw](\d+)$/.exec(text)) !== null) {
    const dst = regNum(m[2], line);
    const src = regNum(m[4], line);
    const cls = w(m[1]);
    const from = Number(m[3]);
    return () => fields(0xb8 | cls, dst, src, from, 0);
  }
  if (
    (m = new RegExp(`^([rw])(\\d+) (=|\\+=|-=|\\*=|/=|s/=|\\|=|&=|<<=|>>=|s>>=|%=|s%=|\\^=) (?:[rw](\\d+)|(${NUM}))$`).exec(text)) !== null
  ) {
    const cls = w(m[1]);
    const opText = (m[3] ?? '').slice(0, -1);
    const [code, offset] = opText === '' ? [11, 0] : (C_ALU[opText] ?? [0, 0]);
    const dst = regNum(m[2], line);
    if (m[4] !== undefined) {
      const src = regNum(m[4], line);
      return () => fields((code << 4) | 8 | cls, dst, src, offset, 0);
    }
    const imm = imm32(m[5] ?? '', line);
    return () => fields((code << 4) | cls, dst, 0, offset, imm);
  }
  return undefined;
}

/**
 * Assembles eBPF assembly text into instructions. Accepts the syntax of the
 * BPF conformance suite (`mov32 %r0, 0`, `ldxw %r1, [%r2+4]`, `jeq %r1, 5, label`,
 * `lock fetch add [%r10-8], %r1`, `call local func`, labels `name:`, `#` comments)
 * and the C-like lines that {@link disassemble} prints (`0: (b7) r0 = 0`).
 * A jump to the undefined label `exit` targets the program's last instruction.
 * Beyond the suite's syntax: `call kfunc N`, `call <helper name>`, `callx %rN`,
 * `lddw %rD, map_fd N | map_idx N | btf_id N | func <label>`,
 * `lddw %rD, map_value FD OFF | map_idx_value IDX OFF`, `load_acq{b,h,w,dw} %rD, [%rS+off]`,
 * `store_rel{b,h,w,dw} [%rD+off], %rS`, `ldabs{b,h,w} imm`, `ldind{b,h,w} %rS, imm`.
 * Throws `ParseError` naming the line for text it cannot read.
 *
 * @example
 * assembleInstructions('mov %r0, 1\nexit').map((i) => i.op); // ['mov', 'exit']
 */
export function assembleInstructions(source: string): Instruction[] {
  const labels = new Map<string, number>();
  const pending: Pending[] = [];
  let pc = 0;
  const lines = source.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let text = (lines[i] ?? '').replace(/(^|\s)(#|;|\/\/).*$/, '').trim();
    text = text.replace(/^\d+:\s*\([0-9a-fA-F]{2}\)\s*/, '');
    let lm: RegExpExecArray | null;
    while ((lm = /^([A-Za-z_.$][\w.$]*):\s*/.exec(text)) !== null) {
      const name = lm[1] ?? '';
      if (labels.has(name)) fail(lineNo, `label '${name}' defined twice`);
      labels.set(name, pc);
      text = text.slice(lm[0].length);
    }
    if (text === '') continue;
    text = text.replace(/\s+/g, ' ');
    const cLike = /^(if |goto |gotol |\*|lock \*|store_release\(|[rw]\d+ |call pc|call \S*#|callx r)/.test(text);
    const build = cLike ? parseC(text, lineNo) : parseClassic(text, lineNo, pc);
    if (build === undefined) fail(lineNo, `cannot read '${text}'`);
    pending.push({ line: lineNo, pc, build });
    pc += slotsOf(text);
  }
  const total = pc;
  const resolve: Resolve = (name, at, line) => {
    const where = labels.get(name) ?? (name === 'exit' && total > 0 ? total - 1 : undefined);
    if (where === undefined) fail(line, `unknown label '${name}'`);
    return where - (at + 1);
  };
  return pending.map((p) => {
    try {
      return makeInstruction(p.build(resolve));
    } catch (err) {
      if (err instanceof ParseError && err.format !== 'BPF assembly') fail(p.line, err.message);
      throw err;
    }
  });
}

/**
 * Assembles eBPF assembly text (see {@link assembleInstructions}) to bytes.
 *
 * @example
 * assemble('mov32 %r0, 0\nexit'); // Uint8Array(16) [0xb4, 0, …, 0x95, …]
 */
export function assemble(source: string, littleEndian = true): Uint8Array {
  return encodeInstructions(assembleInstructions(source), littleEndian);
}
