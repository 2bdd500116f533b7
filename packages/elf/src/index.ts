export { ParseError } from './errors.js';
export { BtfKind, BTF_MAGIC } from './btf/kinds.js';
export { parseBtf } from './btf/parse.js';
export type { Btf, BtfType } from './btf/parse.js';
export { BtfBuilder } from './btf/build.js';
export { parseElf, Elf } from './elf/parse.js';
export type { ElfFile, ElfSection, ElfSymbol, ElfRelocation } from './elf/parse.js';
export { sectionInfo, knownSections } from './programs/sections.js';
export type { SectionInfo } from './programs/sections.js';
export {
  AtomicOp,
  CallSrc,
  InsnClass,
  PseudoSrc,
  decodeInstructions,
  encodeInstructions,
  instructionSlots,
  makeInstruction,
  opName,
} from './asm/instruction.js';
export type { Instruction, InstructionFields } from './asm/instruction.js';
export { assemble, assembleInstructions } from './asm/assemble.js';
export { disassemble, formatInstruction } from './asm/disasm.js';
export { mapsFromBtf, btfSizeOf, skipModifiers } from './maps/btf-maps.js';
export type { BtfMapSpec } from './maps/btf-maps.js';
export { mapsFromLegacySection } from './maps/legacy-maps.js';
export { globalData, rewriteConstants } from './maps/global-data.js';
export type { GlobalDataSpec, GlobalVariable, ConstantValue } from './maps/global-data.js';
export { programsFromElf } from './programs/extract.js';
export type { ElfProgramSpec, ProgramReference } from './programs/extract.js';
