/**
 * The kernel's rules for each map type, as of Linux 6.18, in one table: the
 * traits (per-CPU, fd values, map-in-map, BTF) and the creation rules of
 * `map_create()` and each type's `map_alloc_check`/`map_alloc`
 * (kernel/bpf/syscall.c, arraymap.c, hashtab.c, lpm_trie.c, …). The kernel
 * hints, the mock's refusals, the ELF planner and the feature probes all
 * read it; {@link mapSpecViolations} applies it to a spec.
 *
 * The flag masks were checked bit by bit against Linux 6.18 (x86-64).
 *
 * @module
 */
import { Errno } from '../errno.js';
import { MapFlags } from './flags.js';
import { MapType } from './map-type.js';
import type { MapSpec } from '../interfaces.js';

/** `KMALLOC_MAX_SIZE` of x86-64 and arm64 with 4 KiB pages: 4 MiB. */
const KMALLOC_MAX_SIZE = 4 << 20;
/** `PCPU_MIN_UNIT_SIZE`: the bound of one per-CPU value (after rounding up to 8 bytes). */
const PCPU_MIN_UNIT_SIZE = 32768;
/** `BPF_F_ACCESS_MASK`: the access flags of user space and programs. */
const MAP_ACCESS_FLAGS = MapFlags.RDONLY | MapFlags.WRONLY | MapFlags.RDONLY_PROG | MapFlags.WRONLY_PROG;

/** Bytes of `struct htab_elem` before key and value: the element must stay below KMALLOC_MAX_SIZE. */
const HTAB_ELEM_HEADER = 48;
/** `struct lpm_trie_node` header and `LPM_DATA_SIZE_MAX`: a trie value is at most KMALLOC_MAX_SIZE less both. */
const LPM_NODE_HEADER = 24;
const LPM_DATA_SIZE_MAX = 256;
/**
 * `BPF_LOCAL_STORAGE_MAX_VALUE_SIZE`: U16_MAX less `sizeof(struct
 * bpf_local_storage_elem)` (128 bytes on 64-bit 6.18, measured), for local
 * and cgroup storage values.
 */
const LOCAL_STORAGE_MAX_VALUE = 0xffff - 128;
/** `INT_MAX`: array values above it overflow `round_up(value_size, 8)`. */
const INT_MAX = 0x7fffffff;

/**
 * How a map type constrains `key_size` or `value_size`.
 *
 * - `one-of`: exactly one of `sizes` (`[0]`: the type has none);
 * - `range`: `min` to `max` bytes; above `max` the kernel answers `aboveMax`
 *   (E2BIG for a limit, EINVAL for a shape rule);
 * - `stack-frames`: stack_trace values, u64 addresses or 32-byte
 *   `struct bpf_stack_build_id` with BPF_F_STACK_BUILD_ID;
 * - `vmlinux-struct`: the size of the kernel struct the value is (struct_ops).
 *
 * @example
 * const lpmKey: MapSizeRule = { kind: 'range', min: 5, max: 260, aboveMax: Errno.EINVAL, what: 'a u32 prefix length plus 1 to 256 data bytes' };
 */
export type MapSizeRule =
  | { readonly kind: 'one-of'; readonly sizes: readonly number[]; readonly what?: string }
  | {
      readonly kind: 'range';
      readonly min: number;
      readonly max?: number;
      readonly aboveMax?: number;
      readonly what?: string;
      readonly limit?: string;
    }
  | { readonly kind: 'stack-frames' }
  | { readonly kind: 'vmlinux-struct' };

/**
 * How a map type constrains `max_entries`.
 *
 * - `positive`: above 0; above `max` (when set) the kernel answers E2BIG;
 * - `cpus`: above 0 and at most `NR_CPUS` (E2BIG above; cpumap);
 * - `hash-buckets`: above 0, and the count (after LRU rounding) rounded up
 *   to a power of two must fit the bucket array (at most 2^27 entries);
 * - `exactly`: that count (0 for storage maps, 1 for struct_ops);
 * - `ring-bytes`: the buffer size in bytes, a power of two multiple of the page size;
 * - `arena-pages`: pages, above 0 and at most 4 GiB of them.
 *
 * @example
 * const storage: MapEntriesRule = { kind: 'exactly', count: 0, why: 'they grow with their owners' };
 */
export type MapEntriesRule =
  | { readonly kind: 'positive'; readonly max?: number }
  | { readonly kind: 'cpus' }
  | { readonly kind: 'hash-buckets' }
  | { readonly kind: 'exactly'; readonly count: number; readonly why: string }
  | { readonly kind: 'ring-bytes' }
  | { readonly kind: 'arena-pages' };

/**
 * One check of BPF_MAP_CREATE, as {@link mapSpecViolations} orders them:
 * the map type's own checks run in {@link MAP_CHECK_ORDER} unless its rules
 * name some to run first (`checkFirst`).
 *
 * @example
 * const first: MapCheck = 'value-limit'; // bloom_map_alloc_check runs before bloom_map_alloc
 */
export type MapCheck =
  | 'flags'
  | 'flag-refusals'
  | 'required-flags'
  | 'exclusive-flags'
  | 'key-size'
  | 'value-size'
  | 'max-entries'
  | 'map-extra'
  | 'btf'
  | 'vmlinux-type'
  | 'key-limit'
  | 'value-limit'
  | 'inner-map'
  | 'entries-limit'
  | 'placement';

/**
 * The usual order of a map type's checks: flag masks, then the shape rules
 * (EINVAL), then the size limits of `map_alloc_check` (E2BIG), then what
 * `map_alloc` checks (the inner map, the table size, the arena placement).
 *
 * @example
 * MAP_CHECK_ORDER.indexOf('flags') < MAP_CHECK_ORDER.indexOf('key-size'); // true
 */
export const MAP_CHECK_ORDER: readonly MapCheck[] = [
  'flags',
  'flag-refusals',
  'required-flags',
  'exclusive-flags',
  'key-size',
  'value-size',
  'max-entries',
  'map-extra',
  'btf',
  'vmlinux-type',
  'key-limit',
  'value-limit',
  'inner-map',
  'entries-limit',
  'placement',
];

/**
 * A flag the map type refuses with an errno and reason of its own.
 *
 * @example
 * const lru: MapFlagRefusal = { flag: MapFlags.NO_PREALLOC, errno: Errno.ENOTSUPP, reason: 'lru_hash maps are always preallocated: flag no_prealloc is refused' };
 */
export interface MapFlagRefusal {
  readonly flag: number;
  readonly errno: number;
  /** The whole message. */
  readonly reason: string;
}

/**
 * Two flags a map type takes, but not together (EINVAL).
 *
 * @example
 * const pair: MapExclusiveFlags = { flags: [MapFlags.NO_COMMON_LRU, MapFlags.NUMA_NODE], why: 'per-CPU LRU lists are not placed on one NUMA node' };
 */
export interface MapExclusiveFlags {
  readonly flags: readonly [number, number];
  readonly why: string;
}

/**
 * Everything bpfkit knows about one map type of Linux 6.18.
 *
 * @example
 * const rules: MapTypeRules | undefined = mapTypeRules(MapType.RINGBUF);
 * rules?.maxEntries.kind; // 'ring-bytes'
 */
export interface MapTypeRules {
  /** Values hold one slot per possible CPU (each rounded up to 8 bytes). */
  readonly perCpu: boolean;
  /** An LRU hash: BPF_F_NO_COMMON_LRU gives each CPU a list and rounds max_entries to a multiple of the CPUs. */
  readonly lru: boolean;
  /** User space writes values as file descriptors (programs, perf events, cgroups, maps, sockets) and reads back ids, or nothing. */
  readonly fdValues: boolean;
  /** Created from an inner map template (`innerMap`): its values are maps. */
  readonly innerMap: boolean;
  /**
   * Key/value BTF type ids: `required` (local storage: the kernel refuses
   * the map without them), `refused` (the type's map_check_btf answers
   * ENOTSUPP, or there is no key and value to describe), `accepted`.
   */
  readonly keyValueBtf: 'required' | 'accepted' | 'refused';
  /** The value is a vmlinux struct named by `btf_vmlinux_value_type_id` (struct_ops). */
  readonly vmlinuxValueType: boolean;
  readonly key: MapSizeRule;
  readonly value: MapSizeRule;
  readonly maxEntries: MapEntriesRule;
  /** Hash maps: key plus value bytes at most this (E2BIG above: one kmalloc per element). */
  readonly keyValueMax?: number;
  /** Flags the type takes (BPF_F_TOKEN_FD, taken off by map_create for every type, is not listed). */
  readonly flags: number;
  /** Flags it must be given (EINVAL without). */
  readonly requiredFlags: number;
  /** Flags the kernel sets by itself, reported by `bpf_map_info`. */
  readonly impliedFlags: number;
  /** Flags refused with their own errno, in the kernel's order. */
  readonly flagRefusals: readonly MapFlagRefusal[];
  /** Taken flags that exclude each other. */
  readonly exclusiveFlags: readonly MapExclusiveFlags[];
  /** What `map_extra` is: nothing (must be 0), the bloom filter's hash count, the arena's user address. */
  readonly mapExtra: 'none' | 'hash-count' | 'address';
  /** The errno of creating a map-in-map whose inner template is of this type; 0 when it may be one. */
  readonly asInnerMap: number;
  /** Checks the kernel makes before {@link MAP_CHECK_ORDER}, in its order. */
  readonly checkFirst: readonly MapCheck[];
  /** The smallest spec the kernel creates (what feature probes create); `'page'`: one page. */
  readonly smallest: { readonly keySize: number; readonly valueSize: number; readonly maxEntries: number | 'page'; readonly flags: number };
}

const BASE: MapTypeRules = {
  perCpu: false,
  lru: false,
  fdValues: false,
  innerMap: false,
  keyValueBtf: 'accepted',
  vmlinuxValueType: false,
  key: { kind: 'range', min: 1 },
  value: { kind: 'range', min: 1 },
  maxEntries: { kind: 'positive' },
  flags: 0,
  requiredFlags: 0,
  impliedFlags: 0,
  flagRefusals: [],
  exclusiveFlags: [],
  mapExtra: 'none',
  asInnerMap: 0,
  checkFirst: [],
  smallest: { keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 },
};
const rules = (r: Partial<MapTypeRules>): MapTypeRules => ({ ...BASE, ...r });

const U32_KEY: MapSizeRule = { kind: 'one-of', sizes: [4] };
const NONE: MapSizeRule = { kind: 'one-of', sizes: [0] };
const FD_VALUE: MapSizeRule = { kind: 'one-of', sizes: [4], what: ' (a file descriptor)' };
const SOCKET_VALUE: MapSizeRule = { kind: 'one-of', sizes: [4, 8], what: ' (a socket fd)' };
const PER_CPU_VALUE: MapSizeRule = {
  kind: 'range',
  min: 1,
  max: PCPU_MIN_UNIT_SIZE,
  aboveMax: Errno.E2BIG,
  limit: 'PCPU_MIN_UNIT_SIZE, the per-CPU bound',
};
const KMALLOC_VALUE: MapSizeRule = { kind: 'range', min: 1, max: KMALLOC_MAX_SIZE, aboveMax: Errno.E2BIG, limit: 'KMALLOC_MAX_SIZE' };
const STORAGE_VALUE: MapSizeRule = {
  kind: 'range',
  min: 1,
  max: LOCAL_STORAGE_MAX_VALUE,
  aboveMax: Errno.E2BIG,
  limit: 'BPF_LOCAL_STORAGE_MAX_VALUE_SIZE',
};
const GROW_WITH_OWNERS: MapEntriesRule = { kind: 'exactly', count: 0, why: 'they grow with their owners' };

const ACCESS = MAP_ACCESS_FLAGS;
/** Maps of file descriptors and devices: the kernel refuses BPF_F_RDONLY_PROG/BPF_F_WRONLY_PROG for them. */
const FD_ACCESS = MapFlags.RDONLY | MapFlags.WRONLY;
const NUMA = MapFlags.NUMA_NODE;

const perCpuNuma = (name: string): MapFlagRefusal => ({
  flag: NUMA,
  errno: Errno.EINVAL,
  reason: `per-CPU ${name} maps cannot be placed on a NUMA node (flag numa_node)`,
});
const alwaysPreallocated = (name: string): MapFlagRefusal => ({
  flag: MapFlags.NO_PREALLOC,
  errno: Errno.ENOTSUPP,
  reason: `${name} maps are always preallocated: flag no_prealloc is refused`,
});

// hashtab.c htab_map_alloc_check(): HTAB_CREATE_FLAG_MASK, then (in order) no_common_lru
// without LRU (EINVAL), LRU without prealloc (ENOTSUPP), NUMA with per-CPU values or lists (EINVAL).
const HASH_FLAGS = MapFlags.NO_PREALLOC | NUMA | ACCESS | MapFlags.ZERO_SEED;
const LRU_FLAGS = MapFlags.NO_COMMON_LRU | NUMA | ACCESS | MapFlags.ZERO_SEED;
const HASH = rules({
  keyValueMax: KMALLOC_MAX_SIZE - HTAB_ELEM_HEADER - 1,
  maxEntries: { kind: 'hash-buckets' },
  flags: HASH_FLAGS,
});
const LRU_NUMA: MapExclusiveFlags = { flags: [MapFlags.NO_COMMON_LRU, NUMA], why: 'per-CPU LRU lists are not placed on one NUMA node' };

// arraymap.c array_map_alloc_check(): ARRAY_CREATE_FLAG_MASK; mmapable and inner_map for plain
// arrays only, preserve_elems for perf event arrays only; fd_array_map_alloc_check() adds 4-byte
// values and no program access flags.
const FD_ARRAY = rules({ fdValues: true, keyValueBtf: 'refused', key: U32_KEY, value: FD_VALUE, flags: NUMA | FD_ACCESS });

/** The rules of every map type of Linux 6.18, by number. */
const TABLE: ReadonlyMap<number, MapTypeRules> = new Map<number, MapTypeRules>([
  [MapType.HASH, HASH],
  [
    MapType.PERCPU_HASH,
    { ...HASH, perCpu: true, value: PER_CPU_VALUE, flags: HASH_FLAGS & ~NUMA, flagRefusals: [perCpuNuma('percpu_hash')] },
  ],
  [
    MapType.LRU_HASH,
    {
      ...HASH,
      lru: true,
      flags: LRU_FLAGS,
      flagRefusals: [alwaysPreallocated('lru_hash')],
      exclusiveFlags: [LRU_NUMA],
    },
  ],
  [
    MapType.LRU_PERCPU_HASH,
    {
      ...HASH,
      lru: true,
      perCpu: true,
      value: PER_CPU_VALUE,
      flags: LRU_FLAGS & ~NUMA,
      flagRefusals: [alwaysPreallocated('lru_percpu_hash'), perCpuNuma('lru_percpu_hash')],
    },
  ],
  // fd_htab_map_alloc_check(): the value is an inner map fd.
  [
    MapType.HASH_OF_MAPS,
    {
      ...HASH,
      fdValues: true,
      innerMap: true,
      keyValueBtf: 'refused',
      value: { kind: 'one-of', sizes: [4], what: ' (an inner map fd)' },
      asInnerMap: Errno.EINVAL,
    },
  ],
  [
    MapType.ARRAY,
    rules({
      key: U32_KEY,
      value: { kind: 'range', min: 1, max: INT_MAX, aboveMax: Errno.E2BIG, limit: 'INT_MAX' },
      flags: NUMA | ACCESS | MapFlags.MMAPABLE | MapFlags.INNER_MAP,
    }),
  ],
  [
    MapType.PERCPU_ARRAY,
    rules({ perCpu: true, key: U32_KEY, value: PER_CPU_VALUE, flags: ACCESS, flagRefusals: [perCpuNuma('percpu_array')] }),
  ],
  // A program array cannot be an inner map (no map_meta_equal: ENOTSUPP).
  [MapType.PROG_ARRAY, { ...FD_ARRAY, asInnerMap: Errno.ENOTSUPP }],
  [MapType.PERF_EVENT_ARRAY, { ...FD_ARRAY, flags: NUMA | FD_ACCESS | MapFlags.PRESERVE_ELEMS }],
  [MapType.CGROUP_ARRAY, FD_ARRAY],
  [MapType.ARRAY_OF_MAPS, { ...FD_ARRAY, innerMap: true, asInnerMap: Errno.EINVAL }],
  // reuseport_array_alloc_check(): a u32 or u64 socket fd, then the array rules.
  // Its smallest value is 8 bytes: kernels before 5.x took only u64.
  [
    MapType.REUSEPORT_SOCKARRAY,
    rules({
      fdValues: true,
      keyValueBtf: 'refused',
      key: U32_KEY,
      value: SOCKET_VALUE,
      flags: NUMA | ACCESS,
      smallest: { keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 },
    }),
  ],
  // stackmap.c STACK_CREATE_FLAG_MASK: no program access flags; more than 2^31 entries is E2BIG.
  [
    MapType.STACK_TRACE,
    rules({
      keyValueBtf: 'refused',
      key: U32_KEY,
      value: { kind: 'stack-frames' },
      maxEntries: { kind: 'positive', max: 2 ** 31 },
      flags: NUMA | FD_ACCESS | MapFlags.STACK_BUILD_ID,
      smallest: { keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 },
    }),
  ],
  // lpm_trie.c trie_alloc(): every refusal is EINVAL, the value limit included.
  [
    MapType.LPM_TRIE,
    rules({
      key: {
        kind: 'range',
        min: 4 + 1,
        max: 4 + LPM_DATA_SIZE_MAX,
        aboveMax: Errno.EINVAL,
        what: 'a u32 prefix length plus 1 to 256 data bytes',
      },
      value: {
        kind: 'range',
        min: 1,
        max: KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - LPM_NODE_HEADER,
        aboveMax: Errno.EINVAL,
        limit: 'KMALLOC_MAX_SIZE less a trie node',
      },
      flags: MapFlags.NO_PREALLOC | NUMA | ACCESS,
      requiredFlags: MapFlags.NO_PREALLOC,
      smallest: { keySize: 8, valueSize: 8, maxEntries: 1, flags: MapFlags.NO_PREALLOC },
    }),
  ],
  // devmap.c DEV_CREATE_FLAG_MASK; the kernel makes devmaps read-only to programs (it adds BPF_F_RDONLY_PROG).
  [
    MapType.DEVMAP,
    rules({
      keyValueBtf: 'refused',
      key: U32_KEY,
      value: { kind: 'one-of', sizes: [4, 8], what: ' (ifindex, optionally a program fd)' },
      flags: NUMA | FD_ACCESS,
      impliedFlags: MapFlags.RDONLY_PROG,
    }),
  ],
  [MapType.SOCKMAP, rules({ fdValues: true, keyValueBtf: 'refused', key: U32_KEY, value: SOCKET_VALUE, flags: NUMA | FD_ACCESS })],
  // cpumap.c cpu_map_alloc(): only BPF_F_NUMA_NODE; one entry per CPU the kernel was built for.
  [
    MapType.CPUMAP,
    rules({
      keyValueBtf: 'refused',
      key: U32_KEY,
      value: { kind: 'one-of', sizes: [4, 8], what: ' (queue size, optionally a program fd)' },
      maxEntries: { kind: 'cpus' },
      flags: NUMA,
    }),
  ],
  [
    MapType.XSKMAP,
    rules({
      fdValues: true,
      keyValueBtf: 'refused',
      key: U32_KEY,
      value: { kind: 'one-of', sizes: [4], what: ' (an AF_XDP socket fd)' },
      flags: NUMA | FD_ACCESS,
    }),
  ],
  // sock_map.c sock_hash_alloc(): keys above MAX_BPF_STACK are E2BIG.
  [
    MapType.SOCKHASH,
    rules({
      fdValues: true,
      keyValueBtf: 'refused',
      key: { kind: 'range', min: 1, max: 512, aboveMax: Errno.E2BIG, limit: 'MAX_BPF_STACK' },
      value: SOCKET_VALUE,
      flags: NUMA | FD_ACCESS,
    }),
  ],
  // local_storage.c cgroup_storage_map_alloc() checks key, value, the value limit (E2BIG), then flags and max_entries.
  [
    MapType.CGROUP_STORAGE,
    rules({
      key: { kind: 'one-of', sizes: [8, 16], what: ' (a cgroup id, or struct bpf_cgroup_storage_key)' },
      value: STORAGE_VALUE,
      maxEntries: GROW_WITH_OWNERS,
      flags: NUMA | ACCESS,
      asInnerMap: Errno.ENOTSUPP,
      checkFirst: ['key-size', 'value-size', 'value-limit'],
      smallest: { keySize: 16, valueSize: 8, maxEntries: 0, flags: 0 },
    }),
  ],
  // Unlike the other per-CPU types, per-CPU cgroup storage may be placed on a NUMA node.
  [
    MapType.PERCPU_CGROUP_STORAGE,
    rules({
      perCpu: true,
      key: { kind: 'one-of', sizes: [8, 16], what: ' (a cgroup id, or struct bpf_cgroup_storage_key)' },
      value: PER_CPU_VALUE,
      maxEntries: GROW_WITH_OWNERS,
      flags: NUMA | ACCESS,
      asInnerMap: Errno.ENOTSUPP,
      checkFirst: ['key-size', 'value-size', 'value-limit'],
      smallest: { keySize: 16, valueSize: 8, maxEntries: 0, flags: 0 },
    }),
  ],
  [
    MapType.QUEUE,
    rules({
      keyValueBtf: 'refused',
      key: NONE,
      value: KMALLOC_VALUE,
      flags: NUMA | ACCESS,
      smallest: { keySize: 0, valueSize: 4, maxEntries: 1, flags: 0 },
    }),
  ],
  [
    MapType.STACK,
    rules({
      keyValueBtf: 'refused',
      key: NONE,
      value: KMALLOC_VALUE,
      flags: NUMA | ACCESS,
      smallest: { keySize: 0, valueSize: 4, maxEntries: 1, flags: 0 },
    }),
  ],
  [MapType.SK_STORAGE, localStorage()],
  [
    MapType.DEVMAP_HASH,
    rules({
      keyValueBtf: 'refused',
      key: U32_KEY,
      value: { kind: 'one-of', sizes: [4, 8], what: ' (ifindex, optionally a program fd)' },
      flags: NUMA | FD_ACCESS,
      impliedFlags: MapFlags.RDONLY_PROG,
    }),
  ],
  // bpf_struct_ops.c bpf_struct_ops_map_alloc_check(); map_create refuses key/value BTF ids next to the vmlinux one.
  [
    MapType.STRUCT_OPS,
    rules({
      keyValueBtf: 'refused',
      vmlinuxValueType: true,
      key: U32_KEY,
      value: { kind: 'vmlinux-struct' },
      maxEntries: { kind: 'exactly', count: 1, why: 'one struct of the kernel' },
      flags: MapFlags.LINK | MapFlags.VTYPE_BTF_OBJ_FD,
    }),
  ],
  [MapType.RINGBUF, ringBuffer()],
  [MapType.INODE_STORAGE, localStorage()],
  [MapType.TASK_STORAGE, localStorage()],
  // bloom_filter.c: bloom_map_alloc_check() (the value limit) runs before bloom_map_alloc() (the rest).
  [
    MapType.BLOOM_FILTER,
    rules({
      key: NONE,
      value: KMALLOC_VALUE,
      flags: NUMA | ACCESS | MapFlags.ZERO_SEED,
      mapExtra: 'hash-count',
      checkFirst: ['value-limit'],
      smallest: { keySize: 0, valueSize: 4, maxEntries: 1, flags: 0 },
    }),
  ],
  [MapType.USER_RINGBUF, ringBuffer()],
  [MapType.CGRP_STORAGE, localStorage()],
  // arena.c arena_map_alloc(): no BPF_F_NUMA_NODE (it is not in the mask).
  [
    MapType.ARENA,
    rules({
      keyValueBtf: 'refused',
      key: NONE,
      value: NONE,
      maxEntries: { kind: 'arena-pages' },
      flags: MapFlags.MMAPABLE | MapFlags.SEGV_ON_FAULT | MapFlags.NO_USER_CONV,
      requiredFlags: MapFlags.MMAPABLE,
      mapExtra: 'address',
      smallest: { keySize: 0, valueSize: 0, maxEntries: 1, flags: MapFlags.MMAPABLE },
    }),
  ],
]);

/** bpf_local_storage.c bpf_local_storage_map_alloc_check(): BTF for key and value is required ("for userspace sk dumping"). */
function localStorage(): MapTypeRules {
  return rules({
    keyValueBtf: 'required',
    key: U32_KEY,
    value: STORAGE_VALUE,
    maxEntries: GROW_WITH_OWNERS,
    flags: MapFlags.NO_PREALLOC | MapFlags.CLONE,
    requiredFlags: MapFlags.NO_PREALLOC,
    smallest: { keySize: 4, valueSize: 4, maxEntries: 0, flags: MapFlags.NO_PREALLOC },
  });
}

/** ringbuf.c ringbuf_map_alloc() (user ring buffers share it): RINGBUF_CREATE_FLAG_MASK is BPF_F_NUMA_NODE alone. */
function ringBuffer(): MapTypeRules {
  return rules({
    keyValueBtf: 'refused',
    key: NONE,
    value: NONE,
    maxEntries: { kind: 'ring-bytes' },
    flags: NUMA,
    smallest: { keySize: 0, valueSize: 0, maxEntries: 'page', flags: 0 },
  });
}

/**
 * The rules of a map type, or `undefined` for a number that is no map type
 * of Linux 6.18 (`unspec` included).
 *
 * @example
 * mapTypeRules(MapType.LPM_TRIE)?.requiredFlags === MapFlags.NO_PREALLOC; // true
 * mapTypeRules(99); // undefined
 */
export function mapTypeRules(type: number): MapTypeRules | undefined {
  return TABLE.get(type);
}

/**
 * The smallest spec of a map type the kernel creates (`smallest` of its
 * rules; ring buffers get one page), or `undefined` for an unknown type.
 * Map-in-maps still need an inner map, local storage maps BTF, struct_ops
 * maps a vmlinux type.
 *
 * @example
 * smallestMapSpec(MapType.RINGBUF, 4096); // { type: 27, keySize: 0, valueSize: 0, maxEntries: 4096 }
 */
export function smallestMapSpec(type: number, pageSize = 4096): MapSpec | undefined {
  const r = TABLE.get(type);
  if (r === undefined) return undefined;
  const { keySize, valueSize, maxEntries, flags } = r.smallest;
  return { type, keySize, valueSize, maxEntries: maxEntries === 'page' ? pageSize : maxEntries, ...(flags !== 0 ? { flags } : {}) };
}
