export { MockSystem, type MockSystemOptions } from './mock-system.js';
export { MockMap, MockMapFile, MockMapStore, MOCK_MAP_TYPES, createMockMapStore } from './mock-map.js';
export { MockKernel, type MockObject, type MockObjectKind, type MockFile, type MockFileMode } from './mock-kernel.js';
export { checkMockMapSpec, type MockMapMeta } from './map-spec.js';
export type { BatchSupport, LookupBatchResult } from './map-store.js';
export { mapFail, type MapCommand } from './map-errors.js';
export { HashStore } from './stores/hash.js';
export { ArrayStore } from './stores/array.js';
export { LpmTrieStore } from './stores/lpm-trie.js';
export { QueueStackStore } from './stores/queue-stack.js';
export { BloomFilterStore } from './stores/bloom-filter.js';
export { jhash, jhash2 } from './stores/jhash.js';
export { MockProgram, MockProgramObject, loadMockProgram, type MockProgramHost } from './mock-program.js';
export { defaultEnvironment, MockRuntime, type MockEnvironment } from './helpers/runtime.js';
export { MOCK_PROGRAM_TYPES, mockHelperAllowed, mockHelpers } from './helpers/table.js';
export type { MockValueRef } from './map-store.js';
export type { PacketState } from './helpers/runtime.js';
export type { MockTailTarget } from './helpers/table.js';
// The BPF virtual machine the mock runs programs in.
export {
  compileProgram,
  DEFAULT_BUDGET,
  MAX_CALL_FRAMES,
  MAX_TAIL_CALLS,
  VM_STACK_SIZE,
  VmFault,
  VmMemory,
  VmProgram,
  type VmFaultKind,
  type VmHelper,
  type VmHelperEnv,
  type VmLddwRef,
  type VmLegacyPacket,
  type VmLoadHook,
  type VmRunArgs,
  type VmStoreHook,
  type VmTailTarget,
  type VmPointer,
  type VmProgramSpec,
  type VmRegion,
  type VmRegionOptions,
  type VmRunOptions,
} from './vm/index.js';
export { MockPerfEventArrayReader, MockQueueReader, MockRingBufferReader } from './event-readers.js';
export type { MockRecord } from './helpers/runtime.js';
// Hooks: mock network interfaces, probes the test fires, links.
export { MockHooks, mockHooks, type MockInterfaceOptions } from './hooks/hooks.js';
export {
  MockInterface,
  type MockInjectOptions,
  type MockInterfaceHooks,
  type MockInterfaceNetwork,
  type MockInterfaceStats,
  type MockPacketResult,
  type MockStageStats,
  type MockTcVerdict,
  type MockXdpVerdict,
} from './hooks/interface.js';
export { MockLink, type MockAttachment, type MockLinkHost } from './hooks/link.js';
export { PROBE_KINDS, type MockFireContext, type MockFireResult, type ProbeTarget } from './hooks/probes.js';
export { ptRegs, PT_REGS_OFFSETS, PT_REGS_SIZE, type PtRegsInit, type PtRegsRegister } from './hooks/pt-regs.js';
export { redirectHelpers, takeRedirect, type MockRedirect } from './hooks/redirect.js';
export { runTcChain, runXdp, type HookProgram, type SkbPlace, type StageRun } from './hooks/packet-run.js';
export { MockProbeMemory, type MemorySpace } from './helpers/probe-memory.js';
export { formatBpf, FormatError, type FormatMemory } from './helpers/format.js';
export { KERNEL_GPL_ONLY_HELPERS, KERNEL_HELPER_SETS, KERNEL_HELPER_SETS_RELEASE } from './helpers/kernel-helper-sets.js';
