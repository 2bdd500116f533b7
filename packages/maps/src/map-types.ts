/**
 * The kernel hints of a refused BPF_MAP_CREATE: the creation rules a spec
 * breaks, worded from the map rules table of @bpfkit/core
 * (`mapSpecViolations`), or what this kernel lacks.
 *
 * @module
 */
import os from 'node:os';
import { Errno, kernelReleaseAtLeast, mapSpecViolations, mapTypeMinimumKernel, mapTypeName, parseKernelRelease } from '@bpfkit/core';
import type { MapSpec } from '@bpfkit/core';
import { native, possibleCpus } from '@bpfkit/syscalls';

export { isLocalStorageMapType, isMapInMapType } from '@bpfkit/core';

/**
 * The page size of this machine (the ring buffer and mmap granule), from the
 * native addon; 4096 when the addon is not loaded.
 *
 * @example
 * const bytes = 16 * pageSize(); // a ring buffer of 16 pages
 */
export function pageSize(): number {
  try {
    return native.constants.PAGE_SIZE ?? 4096;
  } catch {
    return 4096;
  }
}

/**
 * What else went into a BPF_MAP_CREATE besides the spec.
 *
 * @example
 * mapSpecProblems({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64 }, { btf: true } satisfies CreateContext);
 */
export interface CreateContext {
  /** Whether a BTF object was passed (given, or built for a local storage map). */
  btf: boolean;
  /** `btf_vmlinux_value_type_id` (struct_ops). */
  vmlinuxValueTypeId?: number;
}

/**
 * The rules of Linux 6.18 that `spec` breaks, in words and in the
 * kernel's order (core's `mapSpecViolations` with this machine's page size
 * and CPUs): flags the type does not take, key and value size rules,
 * max_entries, map_extra, BTF, the inner map. Empty when the spec looks valid.
 *
 * @example
 * mapSpecProblems({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 5000 }, { btf: false });
 * // ['ringbuf max_entries is the buffer size in bytes: a power of two multiple of the page size (4096), got 5000']
 */
export function mapSpecProblems(spec: MapSpec, ctx: CreateContext): string[] {
  return mapSpecViolations(spec, { ...ctx, pageSize: pageSize(), possibleCpus: cpusOrOne() }).map((v) => v.message);
}

/** The possible CPUs (LRU maps round their size to them), or 1 without sysfs: a hint must not fail. */
function cpusOrOne(): number {
  try {
    return possibleCpus();
  } catch {
    return 1;
  }
}

/**
 * The hint of a refused BPF_MAP_CREATE: the rules the spec breaks, or, when
 * it breaks none, what this kernel lacks (the map type's minimum kernel).
 *
 * @example
 * createRefusalHint({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 0 }, Errno.EINVAL, { btf: false });
 * // 'hash maps need max_entries > 0'
 */
export function createRefusalHint(spec: MapSpec, errno: number, ctx: CreateContext, release = os.release()): string | undefined {
  const type = mapTypeName(spec.type);
  const since = mapTypeMinimumKernel(spec.type);
  const { major, minor } = parseKernelRelease(release);
  const running = `${major}.${minor}`;
  const atLeast = (version: string): boolean => {
    const [maj, min] = version.split('.').map(Number);
    return kernelReleaseAtLeast(release, maj ?? 0, min ?? 0);
  };
  // An unknown type: the table's rule names the types there are.
  if (since === undefined) return mapSpecProblems(spec, ctx).join('; ');
  if (errno === Errno.EPERM || errno === Errno.EACCES || errno === Errno.EMFILE) return undefined; // the generic advice fits
  if (errno === Errno.ENOMEM) {
    return (
      `not enough memory for ${spec.maxEntries} entries of ${spec.keySize}+${spec.valueSize} bytes` +
      (atLeast('5.11') ? '' : ' (kernels before 5.11 charge maps to RLIMIT_MEMLOCK: raise it)')
    );
  }
  if (!atLeast(since)) {
    return `this kernel (${running}) lacks ${type} maps: they require at least Linux ${since}`;
  }
  const problems = mapSpecProblems(spec, ctx);
  if (problems.length > 0) return problems.join('; ');
  if (errno === Errno.E2BIG) return `key_size, value_size or max_entries too large for ${type} maps`;
  if (errno === Errno.EINVAL && spec.numaNode !== undefined) return `NUMA node ${spec.numaNode} may not exist or be online`;
  return (
    `this kernel (${running}) refused a ${type} map that follows the Linux 6.18 rules ` +
    `(${type} maps require at least Linux ${since}; a flag or size rule of this kernel may differ)`
  );
}
