import { InvalidArgumentError } from '@bpfkit/core';
import { ParseError } from '../errors.js';

/**
 * One decoded eBPF instruction (RFC 9669). A wide `lddw` carries its full
 * 64-bit immediate in `imm64` and occupies two 8-byte slots.
 *
 * @example
 * const insn: Instruction = { opcode: 0xb7, dst: 0, src: 0, offset: 0, imm: 0, op: 'mov' };
 */
export interface Instruction {
  /** The opcode byte. */
  readonly opcode: number;
  /** Destination register, 0–10. */
  readonly dst: number;
  /** Source register (or pseudo kind), 0–15. */
  readonly src: number;
  /** Signed 16-bit offset. */
  readonly offset: number;
  /** Signed 32-bit immediate (low half of `imm64` for `lddw`). */
  readonly imm: number;
  /** The 64-bit immediate of a 16-byte `lddw`, unsigned. */
  readonly imm64?: bigint;
  /** Derived mnemonic, e.g. `'add32'`, `'ldxw'`, `'lock fetch add'`, `'call local'`. */
  readonly op: string;
}

/**
 * The fields needed to build an instruction; `op` is derived.
 *
 * @example
 * const f: InstructionFields = { opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 };
 */
export type InstructionFields = Omit<Instruction, 'op'>;

/**
 * Instruction classes (low 3 bits of the opcode).
 *
 * @example
 * (0x07 & 0x07) === InsnClass.ALU64; // true
 */
export const InsnClass = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;

/**
 * `src_reg` values of a 64-bit immediate load (`lddw`), from the kernel uapi.
 *
 * @example
 * PseudoSrc.MAP_FD; // 1
 */
export const PseudoSrc = {
  IMM: 0,
  MAP_FD: 1,
  MAP_VALUE: 2,
  BTF_ID: 3,
  FUNC: 4,
  MAP_IDX: 5,
  MAP_IDX_VALUE: 6,
} as const;

/**
 * `src_reg` values of a call instruction.
 *
 * @example
 * CallSrc.LOCAL; // 1
 */
export const CallSrc = { HELPER: 0, LOCAL: 1, KFUNC: 2 } as const;

/**
 * Atomic operation codes carried in `imm` of an `STX | ATOMIC` instruction.
 *
 * @example
 * AtomicOp.ADD | AtomicOp.FETCH; // 0x01
 */
export const AtomicOp = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  FETCH: 0x01,
  XCHG: 0xe1,
  CMPXCHG: 0xf1,
  LOAD_ACQ: 0x100,
  STORE_REL: 0x110,
} as const;

/**
 * ALU operation names indexed by `opcode >> 4`.
 *
 * @example
 * ALU_OPS[0x07 >> 4]; // 'add'
 */
export const ALU_OPS: readonly string[] = [
  'add',
  'sub',
  'mul',
  'div',
  'or',
  'and',
  'lsh',
  'rsh',
  'neg',
  'mod',
  'xor',
  'mov',
  'arsh',
  'end',
  '',
  '',
];
/**
 * Jump operation names indexed by `opcode >> 4`.
 *
 * @example
 * JMP_OPS[0x15 >> 4]; // 'jeq'
 */
export const JMP_OPS: readonly string[] = [
  'ja',
  'jeq',
  'jgt',
  'jge',
  'jset',
  'jne',
  'jsgt',
  'jsge',
  'call',
  'exit',
  'jlt',
  'jle',
  'jslt',
  'jsle',
  '',
  '',
];
/**
 * Memory size suffixes indexed by `(opcode >> 3) & 3`.
 *
 * @example
 * SIZE_SUFFIX[(0x79 >> 3) & 3]; // 'dw'
 */
export const SIZE_SUFFIX: readonly string[] = ['w', 'h', 'b', 'dw'];
/**
 * Memory size in bytes indexed by `(opcode >> 3) & 3`.
 *
 * @example
 * SIZE_BYTES[(0x61 >> 3) & 3]; // 4
 */
export const SIZE_BYTES: readonly number[] = [4, 2, 1, 8];

const ATOMIC_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, 'add'],
  [0x40, 'or'],
  [0x50, 'and'],
  [0xa0, 'xor'],
]);

/**
 * The mnemonic of an instruction (the assembler's spelling), or `undefined`
 * when the encoding is not a valid RFC 9669 instruction.
 *
 * @example
 * opName({ opcode: 0x07, dst: 1, src: 0, offset: 0, imm: 3 }); // 'add'
 */
export function opName(insn: InstructionFields): string | undefined {
  const { opcode, src, offset, imm } = insn;
  const cls = opcode & 7;
  const size = (opcode >> 3) & 3;
  const mode = opcode & 0xe0;
  switch (cls) {
    case InsnClass.ALU:
    case InsnClass.ALU64: {
      const code = opcode >> 4;
      const sfx = cls === InsnClass.ALU ? '32' : '';
      const x = (opcode & 8) !== 0;
      if (code === 0xd) {
        if (![16, 32, 64].includes(imm)) return undefined;
        if (cls === InsnClass.ALU64) return x ? undefined : `bswap${imm}`;
        return `${x ? 'be' : 'le'}${imm}`;
      }
      const name = ALU_OPS[code];
      if (name === undefined || name === '') return undefined;
      if (name === 'neg') return x ? undefined : `neg${sfx}`;
      if (name === 'div' || name === 'mod') {
        if (offset === 1) return `s${name}${sfx}`;
        return offset === 0 ? `${name}${sfx}` : undefined;
      }
      if (name === 'mov' && offset !== 0) {
        if (!x) return undefined;
        const to = cls === InsnClass.ALU ? 32 : 64;
        if (![8, 16, 32].includes(offset) || offset >= to) return undefined;
        return `movsx${offset}${to}`;
      }
      return `${name}${sfx}`;
    }
    case InsnClass.JMP:
    case InsnClass.JMP32: {
      const name = JMP_OPS[opcode >> 4];
      if (name === undefined || name === '') return undefined;
      const x = (opcode & 8) !== 0;
      if (cls === InsnClass.JMP32) {
        if (name === 'ja') return x ? undefined : 'ja32';
        if (name === 'call' || name === 'exit') return undefined;
        return `${name}32`;
      }
      if (name === 'call') {
        if (x) return 'callx';
        if (src === CallSrc.HELPER) return 'call';
        if (src === CallSrc.LOCAL) return 'call local';
        if (src === CallSrc.KFUNC) return 'call kfunc';
        return undefined;
      }
      if ((name === 'ja' || name === 'exit') && x) return undefined;
      return name;
    }
    case InsnClass.LD:
      if (opcode === 0x18) return src <= 6 ? 'lddw' : undefined;
      if (mode === 0x20) return size === 3 ? undefined : `ldabs${SIZE_SUFFIX[size]}`;
      if (mode === 0x40) return size === 3 ? undefined : `ldind${SIZE_SUFFIX[size]}`;
      return undefined;
    case InsnClass.LDX:
      if (mode === 0x60) return `ldx${SIZE_SUFFIX[size]}`;
      if (mode === 0x80) return size === 3 ? undefined : `ldxs${SIZE_SUFFIX[size]}`;
      return undefined;
    case InsnClass.ST:
      return mode === 0x60 ? `st${SIZE_SUFFIX[size]}` : undefined;
    default: {
      // STX
      if (mode === 0x60) return `stx${SIZE_SUFFIX[size]}`;
      if (mode !== 0xc0) return undefined;
      const s = SIZE_SUFFIX[size] ?? '';
      if (imm === AtomicOp.LOAD_ACQ) return `load_acq${s}`;
      if (imm === AtomicOp.STORE_REL) return `store_rel${s}`;
      if (size !== 0 && size !== 3) return undefined;
      const sfx = size === 0 ? '32' : '';
      if (imm === AtomicOp.XCHG) return `lock xchg${sfx}`;
      if (imm === AtomicOp.CMPXCHG) return `lock cmpxchg${sfx}`;
      const base = ATOMIC_NAMES.get(imm & ~AtomicOp.FETCH);
      if (base === undefined) return undefined;
      return `lock ${(imm & AtomicOp.FETCH) !== 0 ? 'fetch ' : ''}${base}${sfx}`;
    }
  }
}

/**
 * Builds an instruction object from its fields, deriving `op` (for `lddw`,
 * `imm` is set to the low half of `imm64`, or `imm64` from `imm`); throws
 * `ParseError` for an encoding RFC 9669 does not define.
 *
 * @example
 * makeInstruction({ opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 }).op; // 'exit'
 */
export function makeInstruction(fields: InstructionFields): Instruction {
  const op = opName(fields);
  if (op === undefined) {
    throw new ParseError('BPF instruction', `invalid opcode 0x${fields.opcode.toString(16).padStart(2, '0')}`);
  }
  const base = { opcode: fields.opcode, dst: fields.dst, src: fields.src, offset: fields.offset, imm: fields.imm };
  if (fields.opcode !== 0x18) return { ...base, op };
  // The low half of a wide immediate is `imm`; keep the two consistent.
  const imm64 = BigInt.asUintN(64, fields.imm64 ?? BigInt(fields.imm >>> 0));
  return { ...base, imm: Number(BigInt.asIntN(32, imm64)), imm64, op };
}

/**
 * Number of 8-byte slots an instruction occupies: 2 for `lddw`, else 1.
 *
 * @example
 * instructionSlots({ opcode: 0x18 }); // 2: lddw
 */
export function instructionSlots(insn: Pick<Instruction, 'opcode'>): number {
  return insn.opcode === 0x18 ? 2 : 1;
}

/**
 * Decodes a byte sequence of instructions. Register nibbles follow the byte
 * order: little-endian puts `dst` in the low nibble, big-endian in the high one.
 * Throws `ParseError` for truncated input or an undefined opcode.
 *
 * @example
 * decodeInstructions(new Uint8Array([0x95, 0, 0, 0, 0, 0, 0, 0])); // [{ opcode: 0x95, op: 'exit', … }]
 */
export function decodeInstructions(bytes: Uint8Array, littleEndian = true): Instruction[] {
  if (bytes.length % 8 !== 0) {
    throw new ParseError('BPF instruction', `length ${bytes.length} is not a multiple of 8`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Instruction[] = [];
  for (let at = 0; at < bytes.length; ) {
    const opcode = view.getUint8(at);
    const regs = view.getUint8(at + 1);
    const dst = littleEndian ? regs & 0xf : regs >> 4;
    const src = littleEndian ? regs >> 4 : regs & 0xf;
    const offset = view.getInt16(at + 2, littleEndian);
    const imm = view.getInt32(at + 4, littleEndian);
    try {
      if (opcode === 0x18) {
        if (at + 16 > bytes.length) throw new ParseError('BPF instruction', 'lddw is missing its second half');
        const hi = view.getUint32(at + 12, littleEndian);
        const imm64 = (BigInt(hi) << 32n) | BigInt(imm >>> 0);
        out.push(makeInstruction({ opcode, dst, src, offset, imm, imm64 }));
        at += 16;
      } else {
        out.push(makeInstruction({ opcode, dst, src, offset, imm }));
        at += 8;
      }
    } catch (err) {
      if (err instanceof ParseError) throw new ParseError('BPF instruction', err.message, at);
      throw err;
    }
  }
  return out;
}

/**
 * Encodes instructions to bytes (8 per slot, 16 for `lddw`). Throws
 * `InvalidArgumentError` for a field out of range.
 *
 * @example
 * encodeInstructions([{ opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 }]); // Uint8Array(8): exit
 */
export function encodeInstructions(insns: readonly InstructionFields[], littleEndian = true): Uint8Array {
  let slots = 0;
  for (const i of insns) slots += instructionSlots(i);
  const out = new Uint8Array(slots * 8);
  const view = new DataView(out.buffer);
  let at = 0;
  insns.forEach((i, n) => {
    const check = (field: keyof InstructionFields, ok: boolean, expected: string): void => {
      if (!ok) throw new InvalidArgumentError(`insns[${n}].${field}`, expected, i[field]);
    };
    check('opcode', Number.isInteger(i.opcode) && i.opcode >= 0 && i.opcode <= 0xff, 'an integer 0..255');
    check('dst', Number.isInteger(i.dst) && i.dst >= 0 && i.dst <= 15, 'a register number 0..15');
    check('src', Number.isInteger(i.src) && i.src >= 0 && i.src <= 15, 'a register number 0..15');
    check('offset', Number.isInteger(i.offset) && i.offset >= -0x8000 && i.offset <= 0x7fff, 'a signed 16-bit integer');
    check('imm', Number.isInteger(i.imm) && i.imm >= -0x80000000 && i.imm <= 0xffffffff, 'a 32-bit integer');
    view.setUint8(at, i.opcode);
    view.setUint8(at + 1, littleEndian ? (i.src << 4) | (i.dst & 0xf) : (i.dst << 4) | (i.src & 0xf));
    view.setInt16(at + 2, i.offset, littleEndian);
    if (i.opcode === 0x18) {
      const v = BigInt.asUintN(64, i.imm64 ?? BigInt(i.imm >>> 0));
      view.setUint32(at + 4, Number(v & 0xffffffffn), littleEndian);
      view.setUint32(at + 12, Number(v >> 32n), littleEndian);
      at += 16;
    } else {
      view.setInt32(at + 4, i.imm | 0, littleEndian);
      at += 8;
    }
  });
  return out;
}
