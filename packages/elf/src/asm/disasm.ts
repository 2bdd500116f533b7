import { helperName } from '@bpfkit/core';
import { InvalidArgumentError } from '@bpfkit/core';
import {
  AtomicOp,
  CallSrc,
  InsnClass,
  PseudoSrc,
  SIZE_BYTES,
  decodeInstructions,
  instructionSlots,
  type Instruction,
} from './instruction.js';

const C_ALU: readonly string[] = ['+', '-', '*', '/', '|', '&', '<<', '>>', '', '%', '^', '', 's>>'];
const C_JMP: readonly string[] = ['', '==', '>', '>=', '&', '!=', 's>', 's>=', '', '', '<', '<=', 's<', 's<='];
const ATOMIC_C: ReadonlyMap<number, string> = new Map([
  [AtomicOp.ADD, '+'],
  [AtomicOp.OR, '|'],
  [AtomicOp.AND, '&'],
  [AtomicOp.XOR, '^'],
]);
const ATOMIC_FETCH: ReadonlyMap<number, string> = new Map([
  [AtomicOp.ADD | AtomicOp.FETCH, 'fetch_add'],
  [AtomicOp.OR | AtomicOp.FETCH, 'fetch_or'],
  [AtomicOp.AND | AtomicOp.FETCH, 'fetch_and'],
  [AtomicOp.XOR | AtomicOp.FETCH, 'fetch_xor'],
  [AtomicOp.XCHG, 'xchg'],
]);

const signed = (n: number): string => (n < 0 ? `-${-n}` : `+${n}`);
const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
const memRef = (type: string, reg: number, off: number): string => `*(${type} *)(r${reg} ${signed(off)})`;
const ptr = (type: string, reg: number, off: number): string => `(${type} *)(r${reg} ${signed(off)})`;

/**
 * The C-like text of one instruction, in the style of
 * `bpftool prog dump xlated` (without the index prefix). The output is
 * accepted back by {@link assemble}.
 *
 * @example
 * formatInstruction({ opcode: 0xb7, dst: 0, src: 0, offset: 0, imm: 0, op: 'mov' }); // 'r0 = 0'
 */
export function formatInstruction(insn: Instruction): string {
  const { opcode, dst, src, offset, imm } = insn;
  const cls = opcode & 7;
  const x = (opcode & 8) !== 0;
  const code = opcode >> 4;
  const sizeIdx = (opcode >> 3) & 3;
  const bytes = SIZE_BYTES[sizeIdx] ?? 4;
  const u = `u${bytes * 8}`;
  switch (cls) {
    case InsnClass.ALU:
    case InsnClass.ALU64: {
      const r = cls === InsnClass.ALU ? 'w' : 'r';
      if (code === 0xd) {
        const kind = cls === InsnClass.ALU64 ? 'bswap' : x ? 'be' : 'le';
        return `r${dst} = ${kind}${imm} r${dst}`;
      }
      if (code === 8) return `${r}${dst} = -${r}${dst}`;
      if (code === 0xb) {
        if (offset !== 0) return `${r}${dst} = (s${offset})${r}${src}`;
        return x ? `${r}${dst} = ${r}${src}` : `${r}${dst} = ${imm}`;
      }
      const s = (code === 3 || code === 9) && offset === 1 ? 's' : '';
      return `${r}${dst} ${s}${C_ALU[code] ?? '?'}= ${x ? `${r}${src}` : imm}`;
    }
    case InsnClass.JMP:
    case InsnClass.JMP32: {
      if (cls === InsnClass.JMP32 && code === 0) return `gotol pc${signed(imm)}`;
      if (code === 0) return `goto pc${signed(offset)}`;
      if (code === 9) return 'exit';
      if (code === 8) {
        if (x) return `callx r${dst}`;
        if (src === CallSrc.LOCAL) return `call pc${signed(imm)}`;
        if (src === CallSrc.KFUNC) return `call kfunc#${imm}`;
        const name = helperName(imm);
        return `call ${name.startsWith('unknown') ? 'unknown' : `bpf_${name}`}#${imm}`;
      }
      const r = cls === InsnClass.JMP32 ? 'w' : 'r';
      return `if ${r}${dst} ${C_JMP[code] ?? '?'} ${x ? `${r}${src}` : hex(imm)} goto pc${signed(offset)}`;
    }
    case InsnClass.LD: {
      if (opcode === 0x18) {
        const v = insn.imm64 ?? BigInt(imm >>> 0);
        const lo = Number(v & 0xffffffffn) | 0;
        const hi = Number(v >> 32n) | 0;
        switch (src) {
          case PseudoSrc.MAP_FD:
            return `r${dst} = map[fd:${lo}] ll`;
          case PseudoSrc.MAP_VALUE:
            return `r${dst} = map_value[fd:${lo}]+${hi} ll`;
          case PseudoSrc.MAP_IDX:
            return `r${dst} = map[idx:${lo}] ll`;
          case PseudoSrc.MAP_IDX_VALUE:
            return `r${dst} = map_value[idx:${lo}]+${hi} ll`;
          case PseudoSrc.BTF_ID:
            return `r${dst} = btf_id[${lo}] ll`;
          case PseudoSrc.FUNC:
            return `r${dst} = func[pc${signed(lo)}] ll`;
          default:
            return `r${dst} = 0x${v.toString(16)} ll`;
        }
      }
      const ind = (opcode & 0xe0) === 0x40;
      return `r0 = *(${u} *)skb[${ind ? `r${src} + ` : ''}${imm}]`;
    }
    case InsnClass.LDX: {
      const type = (opcode & 0xe0) === 0x80 ? `s${bytes * 8}` : u;
      return `r${dst} = ${memRef(type, src, offset)}`;
    }
    case InsnClass.ST:
      return `${memRef(u, dst, offset)} = ${imm}`;
    default: {
      if ((opcode & 0xe0) === 0x60) return `${memRef(u, dst, offset)} = r${src}`;
      const r = bytes === 8 ? 'r' : 'w';
      const a = bytes === 8 ? 'atomic64' : 'atomic';
      if (imm === AtomicOp.LOAD_ACQ) return `${r}${dst} = load_acquire(${ptr(u, src, offset)})`;
      if (imm === AtomicOp.STORE_REL) return `store_release(${ptr(u, dst, offset)}, ${r}${src})`;
      if (imm === AtomicOp.CMPXCHG) return `${r}0 = ${a}_cmpxchg(${ptr(u, dst, offset)}, ${r}0, ${r}${src})`;
      const plain = ATOMIC_C.get(imm);
      if (plain !== undefined) return `lock ${memRef(u, dst, offset)} ${plain}= ${r}${src}`;
      const fetch = ATOMIC_FETCH.get(imm) ?? '?';
      return `${r}${src} = ${a}_${fetch}(${ptr(u, dst, offset)}, ${r}${src})`;
    }
  }
}

/**
 * Disassembles instructions (or their little-endian bytes) to text lines
 * like `bpftool prog dump xlated`: `0: (b7) r0 = 0`, `1: (95) exit`. Each line's
 * index counts 8-byte slots, so the line after an `lddw` skips one.
 *
 * @example
 * disassemble(assemble('mov %r0, 0\nexit')); // ['0: (b7) r0 = 0', '1: (95) exit']
 */
export function disassemble(program: Uint8Array | readonly Instruction[], littleEndian = true): string[] {
  let insns: readonly Instruction[];
  if (program instanceof Uint8Array) insns = decodeInstructions(program, littleEndian);
  else if (Array.isArray(program)) insns = program;
  else throw new InvalidArgumentError('program', 'a Uint8Array or an array of instructions', program);
  const lines: string[] = [];
  let pc = 0;
  for (const insn of insns) {
    lines.push(`${pc}: (${insn.opcode.toString(16).padStart(2, '0')}) ${formatInstruction(insn)}`);
    pc += instructionSlots(insn);
  }
  return lines;
}
