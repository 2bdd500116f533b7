export { ParseError } from './errors.js';
export { BtfKind, BTF_MAGIC } from './btf/kinds.js';
export { parseBtf } from './btf/parse.js';
export type { Btf, BtfIndexer, BtfType, NameClasses, ParseBtfOptions } from './btf/parse.js';
export { BtfBuilder } from './btf/build.js';
export { btfCodec } from './btf/codec.js';
export type { BtfValue } from './btf/codec.js';
export { parseElf, Elf, variableOffsets } from './elf/parse.js';
export type { ElfFile, ElfSection, ElfSymbol, ElfRelocation } from './elf/parse.js';
export { elfFunctionSymbol } from './elf/symbol-offset.js';
export type { ElfFunctionSymbol } from './elf/symbol-offset.js';
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
export { encodeBtf } from './btf/encode.js';
export { sanitizeBtf, unsupportedKinds, FULL_BTF_SUPPORT } from './btf/sanitize.js';
export type { BtfSupport } from './btf/sanitize.js';
export { parseKernelConfig, encodeKconfigValue } from './externs/kconfig.js';
export { externsFromObject, objectBtfForKernel, KCONFIG_SECTION, KSYMS_SECTION } from './externs/externs.js';
export { patchObjectBtfForKernel } from './externs/patch-btf.js';
export type { ExternSpec, ObjectExterns } from './externs/externs.js';
export { mapInitialValues } from './maps/map-values.js';
export type { MapInitialValue } from './maps/map-values.js';
export { parseBtfExt } from './btf/ext.js';
export type { BtfExt, BtfExtSection, BtfExtFuncInfo, BtfExtLineInfo, BtfExtCoreRelo } from './btf/ext.js';
export type { ProgramFuncInfo, ProgramLineInfo, ProgramCoreRelocation } from './programs/extract.js';
export { CoreReloKind, coreReloKindName } from './co-re/kinds.js';
export { essentialName } from './co-re/btf-util.js';
export { resolveCoreRelocations } from './co-re/resolve.js';
export type {
  CoreRelocationInput,
  CoreRelocationReport,
  CoreResolution,
  ResolveCoreOptions,
  CoreCandidateCache,
} from './co-re/resolve.js';
export type { CoreCandidate } from './co-re/match.js';
export { POISON_HELPER_ID } from './co-re/patch.js';
export { explainPoisonedCall } from './co-re/poison.js';
export type { PoisonedCallExplanation } from './co-re/poison.js';
export { readObject } from './object.js';
export type { ObjectSpec } from './object.js';
export { mapBtfTypes, planCollection } from './collection-plan.js';
export type { CollectionPlan, PlanOptions } from './collection-plan.js';
export { structOpsFromElf, structOpsUses, isStructOpsSection } from './maps/struct-ops.js';
export type { StructOpsMapSpec, StructOpsFunction, StructOpsUse } from './maps/struct-ops.js';
export type { KernelBtf } from './loader/kernel-btf.js';
export { resolveExterns } from './loader/resolve-externs.js';
export type { ExternEnvironment, ResolvedExtern, ResolvedExterns } from './loader/resolve-externs.js';
export { linkReferences, POISON_KFUNC_CALL_BASE } from './loader/link-references.js';
export type { ReferenceTargets } from './loader/link-references.js';
export { CoreRelocationError, explainCoreFailure, relocateCore } from './loader/core-relocations.js';
export type { RelocatedProgram } from './loader/core-relocations.js';
export { attachBtfName, resolveAttachBtf } from './loader/attach-btf.js';
export type { AttachBtfTarget } from './loader/attach-btf.js';
export {
  fillStructOpsMaps,
  findKernelStructOps,
  prepareStructOps,
  STRUCT_OPS_VALUE_PREFIX,
  structOpsLoadExtras,
} from './loader/struct-ops.js';
export type { KernelStructOps, StructOpsMapPlan, StructOpsPlan, StructOpsProgramLoad } from './loader/struct-ops.js';
export { loadCollectionWith, loadCollectionWithAsync, typeCodecOf } from './loader/load-collection.js';
export type { LoadedBtf, LoaderPort } from './loader/port.js';
