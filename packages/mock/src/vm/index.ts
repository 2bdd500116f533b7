// The mock's BPF virtual machine: programs translated into JavaScript, run
// against a memory of separate regions, with helpers the caller supplies.
export {
  compileProgram,
  DEFAULT_BUDGET,
  MAX_CALL_FRAMES,
  MAX_TAIL_CALLS,
  VM_STACK_SIZE,
  VmProgram,
  type VmHelper,
  type VmHelperEnv,
  type VmLegacyPacket,
  type VmLddwRef,
  type VmProgramSpec,
  type VmRunArgs,
  type VmRunOptions,
} from './compile.js';
export {
  CODE_HI,
  VmFault,
  VmMemory,
  type VmFaultKind,
  type VmLoadHook,
  type VmPointer,
  type VmRegion,
  type VmRegionOptions,
  type VmStoreHook,
  type VmTailTarget,
} from './memory.js';
