/**
 * @bpfkit/syscalls: the native addon and the typed encoders and wrappers for
 * every kernel struct it passes (`union bpf_attr` members, `bpf_*_info`,
 * `perf_event_attr`), written from the Linux 6.18 uapi headers.
 *
 * @module
 */
export * from './native.js';
export * from './commands.js';
export * from './constants.js';
export * from './attr/index.js';
export * from './info/index.js';
export * from './perf/perf-event-attr.js';
export * from './sys/index.js';
export * from './access.js';
export * from './object-name.js';
export * from './bpffs.js';
export * from './cpus.js';
export * from './capabilities.js';
export * from './object-kind.js';
export * from './netns.js';
export { nativeBtfIndexer } from './btf-index.js';
export { allocElemSlot, freeElemSlot, elemCall, hasElemArena, ELEM_SLOT_MAX_BYTES } from './elem-arena.js';
export type { ElemSlot } from './elem-arena.js';
export {
  probeFeature,
  probeFeatures,
  probeHelper,
  probeHelperGplOnly,
  probeHelpers,
  probeLinkTypes,
  probeMapTypes,
  probeProgramType,
  probeProgramTypes,
  probeBatchOps,
  probePinPathFd,
  probeProgramStreams,
  probeStructOpsLink,
} from './features/probe.js';
export type { FeatureAnswer, ProgramProbe } from './features/probe.js';
export type { ProbeSys, ProbeMapAttr, ProbeProgAttr } from './features/probe-sys.js';
export { nativeProbeSys } from './features/probe-sys-native.js';
export { kernelFeatureSupport, featureSince } from './features/support.js';
export type { KernelFeature, FeatureState, FeatureSupport } from './features/support.js';
export { gunzip, kernelConfig, kernelConfigSource, linuxKernelVersion } from './features/kernel-config.js';
export { kernelVersion, hasPmu, hasKernelBtf } from './features/environment.js';
