// Hand-assembled test programs: instructions as fields, with labels for jumps and subprograms.
import { encodeInstructions } from '../asm/instruction.js';
import type { InstructionFields } from '../asm/instruction.js';

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** An instruction, with the label a jump goes to (`jumpTo`) or, for a BPF_PSEUDO_FUNC ld_imm64, its subprogram's (`funcTo`). */
export type Item = InstructionFields & { jumpTo?: string; funcTo?: string };

/** One instruction: opcode and the fields that are not zero; `jumpTo` names a label of {@link assembleItems}. */
export const I = (opcode: number, f: Partial<InstructionFields> & { funcTo?: string } = {}, jumpTo?: string): Item => ({
  opcode,
  dst: 0,
  src: 0,
  offset: 0,
  imm: 0,
  ...f,
  ...(jumpTo ? { jumpTo } : {}),
});

/**
 * Assembles items and labels (strings) in this machine's byte order; jumps
 * name their label (`jumpTo`: offset), a BPF_PSEUDO_FUNC ld_imm64 its
 * subprogram (`funcTo`: imm = relative instruction offset). ld_imm64 (0x18)
 * takes two slots.
 */
export function assembleItems(items: ReadonlyArray<Item | string>): Uint8Array {
  const at = new Map<string, number>();
  let slot = 0;
  for (const it of items) {
    if (typeof it === 'string') at.set(it, slot);
    else slot += it.opcode === 0x18 ? 2 : 1;
  }
  const out: InstructionFields[] = [];
  slot = 0;
  const target = (label: string) => {
    const t = at.get(label);
    if (t === undefined) throw new Error(`no label ${label}`);
    return t - slot - 1;
  };
  for (const it of items) {
    if (typeof it === 'string') continue;
    const { jumpTo, funcTo, ...fields } = it;
    if (jumpTo !== undefined) fields.offset = target(jumpTo);
    if (funcTo !== undefined) fields.imm = target(funcTo);
    out.push(fields);
    slot += it.opcode === 0x18 ? 2 : 1;
  }
  return encodeInstructions(out, HOST_LE);
}
