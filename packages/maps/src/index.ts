/**
 * @bpfkit/maps: BPF maps on the running kernel, implementing the `Map`
 * interface of @bpfkit/core over the native addon: every map type of
 * Linux 6.18, batch operations, mmapable memory, per-CPU values, pins,
 * open-or-create, listing.
 *
 * @module
 */
export {
  KernelMap,
  KernelMapOps,
  createKernelMap,
  createKernelMapFd,
  createPerCpuKernelMap,
  checkKernelMapSpec,
  adoptMapFd,
  openPinnedMap,
  openMapById,
  kernelMapInfo,
} from './kernel-map.js';
export type { KernelMapOptions, KernelMapShape, OpenMapOptions } from './kernel-map.js';
export { listMaps, openOrCreateMap } from './lifecycle.js';
export { objectFd } from './object-fd.js';
export type { ObjectFdValue } from './object-fd.js';
export {
  isLocalStorageMapType,
  isMapInMapType,
  mapSpecProblems,
  createRefusalHint,
  pageSize,
} from './map-types.js';
export type { CreateContext } from './map-types.js';
export { possibleCpus } from '@bpfkit/syscalls';
export { mapError, mapErrorHint } from './errors.js';
