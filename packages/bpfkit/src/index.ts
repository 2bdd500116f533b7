/**
 * bpfkit: eBPF for Node.js. Everything a user needs is exported here: the
 * shared interfaces, codecs and errors of @bpfkit/core, the backends, feature
 * probes and bpffs helpers.
 *
 * @module
 */
export * from '@bpfkit/core';
export { MockSystem } from '@bpfkit/mock';
export {
  KernelMap, createKernelMap, createPerCpuKernelMap, openPinnedMap, openMapById, listMaps, openOrCreateMap, objectFd,
} from '@bpfkit/maps';
export type { ObjectFdValue, KernelMapOptions } from '@bpfkit/maps';
export {
  KernelProgram, loadKernelProgram, openPinnedProgram, openProgramById, listPrograms, programInfo, openProgram, programInstructions, loadTimeToDate,
  enableRunStats, RunStats,
} from '@bpfkit/attach';
export type { LoadProgramOptions, ProgramInstructions } from '@bpfkit/attach';
export { bpfAccess, possibleCpus } from '@bpfkit/syscalls';
export type { BpfAccess } from '@bpfkit/syscalls';
export { NativeSystem } from './native-system.js';
export { openSystem } from './open-system.js';
export type { OpenSystemOptions } from './open-system.js';
export { probeFeatures } from './features/probe.js';
export { formatFeatures } from './features/format.js';
export { ensureBpffs, unmountBpffs, mounts, bpffsMountPoint } from '@bpfkit/syscalls';
export type { BpffsResult, MountEntry } from '@bpfkit/syscalls';
export { memlockCharged, raiseMemlockIfNeeded } from './rlimit.js';
export { runCli } from './cli/main.js';
export type { CliIo } from './cli/main.js';
export type { ProbeSys, ProbeMapAttr, ProbeProgAttr } from './features/probe-sys.js';
export { loadCollection } from './collection.js';
export type { LoadCollectionOptions } from './collection.js';

export { CoreRelocationError } from './loader/core-relocations.js';
export { readObject, disassemble } from '@bpfkit/elf';
export type { ObjectSpec, ConstantValue, ElfProgramSpec, BtfMapSpec, CoreRelocationReport } from '@bpfkit/elf';
export { kernelConfig, linuxKernelVersion } from './kernel/kernel-config.js';
export { vmlinuxBtf, kernelBtfs } from './kernel/kernel-btf.js';
export type { KernelBtf } from './kernel/kernel-btf.js';
