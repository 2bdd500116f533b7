import { coreError } from './btf-util.js';
import type { CoreRelocationOutcome } from './calc.js';

/**
 * The helper id a poisoned instruction calls: `0xbad2310` ("bad relo"). No
 * helper has it, so the verifier rejects the program with
 * `invalid func unknown#195896080` if the instruction is reachable.
 *
 * @example
 * POISON_HELPER_ID === 195896080; // true
 */
export const POISON_HELPER_ID = 0xbad2310;

/** What patching did to an instruction. */
export interface PatchResult {
  poisoned: boolean;
  before?: bigint;
}

const INSN = 8;
const LDDW = 0x18;
const CALL = 0x85;
const SIZE_CODE: Record<number, number> = { 4: 0x00, 2: 0x08, 1: 0x10, 8: 0x18 };
const SIZE_BYTES = [4, 2, 1, 8];

/** Overwrites slot `slot` with `call 0xbad2310`. */
export function poisonSlot(view: DataView, slot: number, littleEndian: boolean): void {
  const at = slot * INSN;
  view.setUint8(at, CALL);
  view.setUint8(at + 1, 0);
  view.setInt16(at + 2, 0, littleEndian);
  view.setInt32(at + 4, POISON_HELPER_ID, littleEndian);
}

/**
 * Patches the instruction at `slot` with a relocation's outcome, as libbpf
 * does: the immediate of an ALU/ALU64 instruction with an immediate operand;
 * the offset of an LDX/ST/STX (and its size, when the field's size changed
 * and that is safe, else the instruction is poisoned); the 64-bit immediate
 * of an `lddw`. Unless the outcome says otherwise, the instruction must hold
 * the local value clang computed. Poisoning replaces the instruction (both
 * halves of an `lddw`) with a call of {@link POISON_HELPER_ID}. Returns
 * whether the instruction ended up poisoned and the value it held before
 * (immediate or offset; undefined when poisoned without looking).
 */
export function patchInstruction(view: DataView, slot: number, outcome: CoreRelocationOutcome, littleEndian: boolean): PatchResult {
  const slots = view.byteLength / INSN;
  if (!Number.isInteger(slot) || slot < 0 || slot >= slots) coreError(`instruction ${slot} is outside the program's ${slots} instructions`);
  const at = slot * INSN;
  const code = view.getUint8(at);
  const poison = (before?: bigint): PatchResult => {
    if (code === LDDW && slot + 1 < slots) poisonSlot(view, slot + 1, littleEndian);
    poisonSlot(view, slot, littleEndian);
    return before === undefined ? { poisoned: true } : { poisoned: true, before };
  };
  if (outcome.poison) return poison();
  const { original, value } = outcome;
  const cls = code & 0x07;
  const expected = (got: bigint, what: string) => {
    if (outcome.validate && BigInt.asUintN(64, got) !== original) {
      coreError(
        `instruction ${slot} (${what}) holds ${got}, but the local type gives ${original} (expected before relocating to ${value})`,
      );
    }
  };
  switch (cls) {
    case 0x04: // ALU
    case 0x07: {
      // ALU64
      if ((code & 0x08) !== 0) coreError(`instruction ${slot} (ALU with a register operand) cannot take a relocated value`);
      const before = BigInt(view.getInt32(at + 4, littleEndian));
      expected(before, 'ALU immediate');
      view.setInt32(at + 4, Number(BigInt.asIntN(32, value)), littleEndian);
      return { poisoned: false, before };
    }
    case 0x01: // LDX
    case 0x02: // ST
    case 0x03: {
      // STX
      const before = BigInt(view.getInt16(at + 2, littleEndian));
      expected(before, 'memory offset');
      if (value > 0x7fffn) coreError(`instruction ${slot}: offset ${value} does not fit the 16-bit offset field`);
      if (outcome.failMemSizeAdjust) return poison(before);
      view.setInt16(at + 2, Number(value), littleEndian);
      if (outcome.newSize !== outcome.originalSize) {
        const size = SIZE_BYTES[(code >> 3) & 3]!;
        if (size !== outcome.originalSize)
          coreError(`instruction ${slot} accesses ${size} bytes, but the local field is ${outcome.originalSize}`);
        const sizeCode = SIZE_CODE[outcome.newSize];
        if (sizeCode === undefined) coreError(`instruction ${slot}: the target field's ${outcome.newSize} bytes are no load/store size`);
        view.setUint8(at, (code & 0xe0) | sizeCode | cls);
      }
      return { poisoned: false, before };
    }
    case 0x00: {
      // LD: only lddw with a plain immediate
      const regs = (s: number) => view.getUint8(s * INSN + 1);
      if (
        code !== LDDW ||
        slot + 1 >= slots ||
        regs(slot) !== (littleEndian ? regs(slot) & 0x0f : regs(slot) & 0xf0) ||
        view.getInt16(at + 2, littleEndian) !== 0 ||
        view.getUint8(at + 8) !== 0 ||
        regs(slot + 1) !== 0 ||
        view.getInt16(at + 10, littleEndian) !== 0
      ) {
        coreError(`instruction ${slot} is not an lddw of a plain 64-bit immediate`);
      }
      const imm = (BigInt(view.getUint32(at + 12, littleEndian)) << 32n) | BigInt(view.getUint32(at + 4, littleEndian));
      expected(imm, '64-bit immediate');
      const v = BigInt.asUintN(64, value);
      view.setUint32(at + 4, Number(v & 0xffffffffn), littleEndian);
      view.setUint32(at + 12, Number(v >> 32n), littleEndian);
      return { poisoned: false, before: imm };
    }
    default:
      return coreError(`instruction ${slot} (opcode 0x${code.toString(16).padStart(2, '0')}) is not one CO-RE can relocate`);
  }
}
