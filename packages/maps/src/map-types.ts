/**
 * What bpfkit knows about each map type of Linux 6.18: which are per-CPU,
 * which hold file descriptors, which need BTF, which flags the kernel keeps,
 * and the creation rules used to explain a refused BPF_MAP_CREATE.
 *
 * @module
 */
import os from 'node:os';
import { Errno, flagNames, isPerCpuMapType, MapFlags, MapType, mapTypeMinimumKernel, mapTypeName } from '@bpfkit/core';
import type { MapSpec } from '@bpfkit/core';
import { native } from '@bpfkit/syscalls';

/** Local storage maps: the kernel wants BTF for their key (int) and value. */
const LOCAL_STORAGE_TYPES: ReadonlySet<number> = new Set([
  MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE, MapType.CGRP_STORAGE,
]);

/** Map-in-map types: created from an inner map template. */
const MAP_IN_MAP_TYPES: ReadonlySet<number> = new Set([MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS]);

/**
 * Whether a map type is a local storage map (sk, inode, task, cgroup
 * storage), which the kernel creates only with BTF for key and value.
 *
 * @example
 * isLocalStorageMapType(MapType.TASK_STORAGE); // true
 */
export function isLocalStorageMapType(type: number): boolean {
  return LOCAL_STORAGE_TYPES.has(type);
}

/**
 * Whether a map type holds maps (array_of_maps, hash_of_maps) and so needs
 * an `innerMap` spec.
 *
 * @example
 * isMapInMapType(MapType.HASH_OF_MAPS); // true
 */
export function isMapInMapType(type: number): boolean {
  return MAP_IN_MAP_TYPES.has(type);
}




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

const ACCESS = MapFlags.RDONLY | MapFlags.WRONLY | MapFlags.RDONLY_PROG | MapFlags.WRONLY_PROG;
const HASH_FLAGS = MapFlags.NO_PREALLOC | MapFlags.NUMA_NODE | ACCESS | MapFlags.ZERO_SEED;
const ARRAY_FLAGS = MapFlags.NUMA_NODE | ACCESS;
const FD_ARRAY_FLAGS = MapFlags.NUMA_NODE | MapFlags.RDONLY | MapFlags.WRONLY;
const RINGBUF_FLAGS = MapFlags.NUMA_NODE;

/** Creation flags each map type accepts (the kernel's per-type masks, Linux 6.18). */
const ALLOWED_FLAGS: Readonly<Partial<Record<number, number>>> = {
  [MapType.HASH]: HASH_FLAGS,
  [MapType.PERCPU_HASH]: HASH_FLAGS,
  [MapType.HASH_OF_MAPS]: HASH_FLAGS,
  [MapType.LRU_HASH]: MapFlags.NO_COMMON_LRU | MapFlags.NUMA_NODE | ACCESS | MapFlags.ZERO_SEED,
  [MapType.LRU_PERCPU_HASH]: MapFlags.NO_COMMON_LRU | MapFlags.NUMA_NODE | ACCESS | MapFlags.ZERO_SEED,
  [MapType.ARRAY]: ARRAY_FLAGS | MapFlags.MMAPABLE | MapFlags.INNER_MAP,
  [MapType.PERCPU_ARRAY]: ARRAY_FLAGS,
  [MapType.PROG_ARRAY]: FD_ARRAY_FLAGS,
  [MapType.PERF_EVENT_ARRAY]: FD_ARRAY_FLAGS | MapFlags.PRESERVE_ELEMS,
  [MapType.CGROUP_ARRAY]: FD_ARRAY_FLAGS,
  [MapType.ARRAY_OF_MAPS]: FD_ARRAY_FLAGS,
  [MapType.REUSEPORT_SOCKARRAY]: ARRAY_FLAGS,
  [MapType.STACK_TRACE]: MapFlags.NUMA_NODE | ACCESS | MapFlags.STACK_BUILD_ID,
  [MapType.LPM_TRIE]: MapFlags.NO_PREALLOC | MapFlags.NUMA_NODE | ACCESS,
  [MapType.DEVMAP]: MapFlags.NUMA_NODE | ACCESS,
  [MapType.DEVMAP_HASH]: MapFlags.NUMA_NODE | ACCESS,
  [MapType.SOCKMAP]: FD_ARRAY_FLAGS,
  [MapType.SOCKHASH]: FD_ARRAY_FLAGS,
  [MapType.CPUMAP]: MapFlags.NUMA_NODE,
  [MapType.XSKMAP]: FD_ARRAY_FLAGS,
  [MapType.CGROUP_STORAGE]: MapFlags.NUMA_NODE | ACCESS,
  [MapType.PERCPU_CGROUP_STORAGE]: MapFlags.NUMA_NODE | ACCESS,
  [MapType.QUEUE]: MapFlags.NUMA_NODE | ACCESS,
  [MapType.STACK]: MapFlags.NUMA_NODE | ACCESS,
  [MapType.SK_STORAGE]: MapFlags.NO_PREALLOC | MapFlags.CLONE,
  [MapType.INODE_STORAGE]: MapFlags.NO_PREALLOC | MapFlags.CLONE,
  [MapType.TASK_STORAGE]: MapFlags.NO_PREALLOC | MapFlags.CLONE,
  [MapType.CGRP_STORAGE]: MapFlags.NO_PREALLOC | MapFlags.CLONE,
  [MapType.STRUCT_OPS]: MapFlags.LINK | MapFlags.VTYPE_BTF_OBJ_FD,
  [MapType.RINGBUF]: RINGBUF_FLAGS,
  [MapType.USER_RINGBUF]: RINGBUF_FLAGS,
  [MapType.BLOOM_FILTER]: MapFlags.NUMA_NODE | ACCESS | MapFlags.ZERO_SEED,
  [MapType.ARENA]: MapFlags.MMAPABLE | MapFlags.SEGV_ON_FAULT | MapFlags.NO_USER_CONV,
};

/**
 * What else went into a BPF_MAP_CREATE besides the spec.
 *
 * @example
 * mapSpecProblems(spec, { btf: true } satisfies CreateContext);
 */
export interface CreateContext {
  /** Whether a BTF object was passed (given, or built for a local storage map). */
  btf: boolean;
  /** `btf_vmlinux_value_type_id` (struct_ops). */
  vmlinuxValueTypeId?: number;
}

const names = (flags: number): string => flagNames(MapFlags, flags).join(', ');
const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/**
 * The rules of Linux 6.18 that `spec` breaks for its map type, in words:
 * flags the type does not take, key and value size rules, max_entries,
 * map_extra, BTF. Empty when the spec looks valid.
 *
 * @example
 * mapSpecProblems({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 5000 }, { btf: false });
 * // ['ringbuf max_entries is the buffer size in bytes: a power of two multiple of the page size (4096), got 5000']
 */
export function mapSpecProblems(spec: MapSpec, ctx: CreateContext): string[] {
  const t = spec.type;
  const type = mapTypeName(t);
  const out: string[] = [];
  const flags = (spec.flags ?? 0) | (spec.numaNode !== undefined ? MapFlags.NUMA_NODE : 0);
  const allowed = ALLOWED_FLAGS[t];
  if (allowed !== undefined) {
    const extra = flags & ~allowed & ~MapFlags.TOKEN_FD;
    if (extra !== 0) out.push(`${type} maps do not take flag${flagNames(MapFlags, extra).length > 1 ? 's' : ''} ${names(extra)}`);
  }
  const key = (sizes: readonly number[]) => {
    if (!sizes.includes(spec.keySize)) out.push(`${type} keys are ${sizes.join(' or ')} bytes, got key_size ${spec.keySize}`);
  };
  const value = (sizes: readonly number[], what = '') => {
    if (!sizes.includes(spec.valueSize)) out.push(`${type} values are ${sizes.join(' or ')} bytes${what}, got value_size ${spec.valueSize}`);
  };
  const positive = (field: 'keySize' | 'valueSize' | 'maxEntries', kernelName: string) => {
    if (spec[field] === 0) out.push(`${type} maps need ${kernelName} > 0`);
  };
  const zeroEntries = () => {
    if (spec.maxEntries !== 0) out.push(`${type} maps take max_entries 0 (they grow with their owners), got ${spec.maxEntries}`);
  };
  const requireFlag = (bit: number) => {
    if ((flags & bit) === 0) out.push(`${type} maps need flag ${names(bit)}`);
  };
  if (spec.mapExtra !== undefined && spec.mapExtra !== 0n && t !== MapType.BLOOM_FILTER && t !== MapType.ARENA) {
    out.push(`map_extra is only for bloom_filter (hash count) and arena (address) maps, got ${spec.mapExtra} for ${type}`);
  }
  if ((flags & MapFlags.NUMA_NODE) !== 0 && isPerCpuMapType(t) && t !== MapType.PERCPU_CGROUP_STORAGE) {
    out.push(`per-CPU ${type} maps cannot be placed on a NUMA node (flag numa_node)`);
  }
  switch (t) {
    case MapType.HASH: case MapType.PERCPU_HASH: case MapType.LRU_HASH: case MapType.LRU_PERCPU_HASH:
      positive('keySize', 'key_size'); positive('valueSize', 'value_size'); positive('maxEntries', 'max_entries');
      if ((t === MapType.LRU_HASH || t === MapType.LRU_PERCPU_HASH) && (flags & MapFlags.NO_PREALLOC) !== 0) {
        out.push(`${type} maps are always preallocated: flag no_prealloc is refused`);
      }
      if ((t === MapType.HASH || t === MapType.PERCPU_HASH) && (flags & MapFlags.NO_COMMON_LRU) !== 0) {
        out.push(`flag no_common_lru is only for lru_hash maps`);
      }
      break;
    case MapType.HASH_OF_MAPS:
      positive('keySize', 'key_size'); value([4], ' (an inner map fd)'); positive('maxEntries', 'max_entries');
      break;
    case MapType.ARRAY: case MapType.PERCPU_ARRAY:
      key([4]); positive('valueSize', 'value_size'); positive('maxEntries', 'max_entries');
      break;
    case MapType.PROG_ARRAY: case MapType.PERF_EVENT_ARRAY: case MapType.CGROUP_ARRAY: case MapType.ARRAY_OF_MAPS:
      key([4]); value([4], ' (a file descriptor)'); positive('maxEntries', 'max_entries');
      break;
    case MapType.REUSEPORT_SOCKARRAY:
      key([4]); value([4, 8], ' (a socket fd)'); positive('maxEntries', 'max_entries');
      break;
    case MapType.STACK_TRACE: {
      key([4]); positive('maxEntries', 'max_entries');
      const unit = (flags & MapFlags.STACK_BUILD_ID) !== 0 ? 32 : 8;
      if (spec.valueSize < unit || spec.valueSize % unit !== 0) {
        out.push(`stack_trace values are a multiple of ${unit} bytes (${unit === 8 ? 'u64 addresses' : 'struct bpf_stack_build_id'}), got value_size ${spec.valueSize}`);
      }
      break;
    }
    case MapType.LPM_TRIE:
      requireFlag(MapFlags.NO_PREALLOC);
      if (spec.keySize < 5 || spec.keySize > 4 + 256) out.push(`lpm_trie keys are a u32 prefix length plus 1 to 256 data bytes (5 to 260 bytes), got key_size ${spec.keySize}`);
      positive('valueSize', 'value_size'); positive('maxEntries', 'max_entries');
      break;
    case MapType.DEVMAP: case MapType.DEVMAP_HASH: case MapType.CPUMAP:
      key([4]); value([4, 8], t === MapType.CPUMAP ? ' (queue size, optionally a program fd)' : ' (ifindex, optionally a program fd)');
      positive('maxEntries', 'max_entries');
      break;
    case MapType.SOCKMAP:
      key([4]); value([4, 8], ' (a socket fd)'); positive('maxEntries', 'max_entries');
      break;
    case MapType.SOCKHASH:
      positive('keySize', 'key_size'); value([4, 8], ' (a socket fd)'); positive('maxEntries', 'max_entries');
      break;
    case MapType.XSKMAP:
      key([4]); value([4], ' (an AF_XDP socket fd)'); positive('maxEntries', 'max_entries');
      break;
    case MapType.CGROUP_STORAGE: case MapType.PERCPU_CGROUP_STORAGE:
      key([8, 16]); positive('valueSize', 'value_size'); zeroEntries();
      break;
    case MapType.QUEUE: case MapType.STACK:
      key([0]); positive('valueSize', 'value_size'); positive('maxEntries', 'max_entries');
      break;
    case MapType.SK_STORAGE: case MapType.INODE_STORAGE: case MapType.TASK_STORAGE: case MapType.CGRP_STORAGE:
      requireFlag(MapFlags.NO_PREALLOC); key([4]); positive('valueSize', 'value_size'); zeroEntries();
      if (!ctx.btf) out.push(`${type} maps need BTF for key and value`);
      break;
    case MapType.STRUCT_OPS:
      key([4]);
      if (spec.maxEntries !== 1) out.push(`struct_ops maps have max_entries 1, got ${spec.maxEntries}`);
      if (!ctx.vmlinuxValueTypeId) out.push('struct_ops maps need the vmlinux BTF id of their value type (bpf_struct_ops_<name>)');
      break;
    case MapType.RINGBUF: case MapType.USER_RINGBUF:
      key([0]); value([0]);
      if (!isPowerOfTwo(spec.maxEntries) || spec.maxEntries % pageSize() !== 0) {
        out.push(`${type} max_entries is the buffer size in bytes: a power of two multiple of the page size (${pageSize()}), got ${spec.maxEntries}`);
      }
      break;
    case MapType.BLOOM_FILTER:
      key([0]); positive('valueSize', 'value_size'); positive('maxEntries', 'max_entries');
      if (spec.mapExtra !== undefined && (spec.mapExtra < 0n || spec.mapExtra > 15n)) {
        out.push(`bloom_filter map_extra is the number of hash functions, 0 (default 5) to 15, got ${spec.mapExtra}`);
      }
      break;
    case MapType.ARENA:
      key([0]); value([0]); requireFlag(MapFlags.MMAPABLE); positive('maxEntries', 'max_entries (pages)');
      if (spec.maxEntries * pageSize() > 2 ** 32) out.push(`arena maps are at most 4 GiB (${2 ** 32 / pageSize()} pages), got ${spec.maxEntries} pages`);
      if (spec.mapExtra !== undefined && spec.mapExtra % BigInt(pageSize()) !== 0n) out.push(`arena map_extra is a page-aligned user address, got 0x${spec.mapExtra.toString(16)}`);
      break;
    default:
      break;
  }
  return out;
}

/**
 * The running kernel's major and minor version.
 *
 * @example
 * runningKernel('6.18.44-fc'); // [6, 18]
 */
export function runningKernel(release = os.release()): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

function olderThan(running: [number, number], version: string): boolean {
  const [maj, min] = version.split('.').map(Number) as [number, number];
  return running[0] < maj || (running[0] === maj && running[1] < min);
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
  const running = runningKernel(release);
  if (since === undefined) {
    return `unknown map type ${spec.type}: Linux 6.18 knows map types 1 to ${MapType.ARENA}`;
  }
  if (errno === Errno.EPERM || errno === Errno.EACCES || errno === Errno.EMFILE) return undefined; // the generic advice fits
  if (errno === Errno.ENOMEM) {
    return `not enough memory for ${spec.maxEntries} entries of ${spec.keySize}+${spec.valueSize} bytes` +
      (olderThan(running, '5.11') ? ' (kernels before 5.11 charge maps to RLIMIT_MEMLOCK: raise it)' : '');
  }
  if (olderThan(running, since)) {
    return `this kernel (${running.join('.')}) lacks ${type} maps: they require at least Linux ${since}`;
  }
  const problems = mapSpecProblems(spec, ctx);
  if (problems.length > 0) return problems.join('; ');
  if (errno === Errno.E2BIG) return `key_size, value_size or max_entries too large for ${type} maps`;
  if (errno === Errno.EINVAL && spec.numaNode !== undefined) return `NUMA node ${spec.numaNode} may not exist or be online`;
  return `this kernel (${running.join('.')}) refused a ${type} map that follows the Linux 6.18 rules ` +
    `(${type} maps require at least Linux ${since}; a flag or size rule of this kernel may differ)`;
}
