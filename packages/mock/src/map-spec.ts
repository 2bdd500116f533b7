import { checkMapSpec, Errno, InvalidArgumentError, kernelObjectName, MapFlags, MapType, mapTypeName, NotSupportedError, perCpuSlotSize, permanentMapFlags } from '@bpfkit/core';
import type { MapSpec } from '@bpfkit/core';
import { mapFail } from './map-errors.js';
import type { MockFileMode } from './mock-kernel.js';

/** `BPF_F_ACCESS_MASK`: the access flags every map type accepts. */
export const ACCESS_MASK = MapFlags.RDONLY | MapFlags.RDONLY_PROG | MapFlags.WRONLY | MapFlags.WRONLY_PROG;

/** `KMALLOC_MAX_SIZE` of the kernels bpfkit targets (x86-64, arm64 with 4 KiB pages): 4 MiB. */
export const KMALLOC_MAX_SIZE = 4 << 20;
/** Bytes of the kernel's `struct htab_elem` header, counted against KMALLOC_MAX_SIZE with key and value. */
const HTAB_ELEM_HEADER = 48;
/** Bytes of the kernel's `struct lpm_trie_node` header. */
const LPM_NODE_HEADER = 24;
/** Largest LPM data (key minus the 4-byte prefix length), `LPM_DATA_SIZE_MAX`. */
const LPM_DATA_SIZE_MAX = 256;
/** Per-CPU values are bounded by `PCPU_MIN_UNIT_SIZE`. */
const PCPU_MIN_UNIT_SIZE = 32768;
/** The hash table's bucket array must fit a u32 byte count (16-byte buckets): at most 2^27 buckets. */
const MAX_HASH_BUCKETS = Math.floor(0xffffffff / 16);
/** The most bytes the mock allocates for one array map (the kernel's limit is its memory). */
export const MOCK_MAX_ARRAY_BYTES = 2 ** 31;

const HTAB_CREATE_FLAG_MASK = MapFlags.NO_PREALLOC | MapFlags.NO_COMMON_LRU | MapFlags.NUMA_NODE | ACCESS_MASK | MapFlags.ZERO_SEED;
const ARRAY_CREATE_FLAG_MASK = MapFlags.NUMA_NODE | MapFlags.MMAPABLE | ACCESS_MASK | MapFlags.PRESERVE_ELEMS | MapFlags.INNER_MAP;
const LPM_CREATE_FLAG_MASK = MapFlags.NO_PREALLOC | MapFlags.NUMA_NODE | ACCESS_MASK;
const QUEUE_STACK_CREATE_FLAG_MASK = MapFlags.NUMA_NODE | ACCESS_MASK;
const BLOOM_CREATE_FLAG_MASK = MapFlags.NUMA_NODE | MapFlags.ZERO_SEED | ACCESS_MASK;

/**
 * The map types the mock backend implements.
 *
 * @example
 * MOCK_MAP_TYPES.has(MapType.LPM_TRIE); // true
 * MOCK_MAP_TYPES.has(MapType.ARENA);    // false
 */
export const MOCK_MAP_TYPES: ReadonlySet<number> = new Set<number>([
  MapType.HASH, MapType.ARRAY, MapType.PROG_ARRAY, MapType.PERCPU_HASH, MapType.PERCPU_ARRAY,
  MapType.LRU_HASH, MapType.LRU_PERCPU_HASH, MapType.LPM_TRIE, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS,
  MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER, MapType.RINGBUF, MapType.PERF_EVENT_ARRAY,
]);

/**
 * A map as the mock kernel made it from a spec: what `bpf_map_info` would
 * report (effective max entries, the flags the kernel keeps) plus the access
 * mode of the creating descriptor and, for map-in-map, the inner template.
 *
 * @example
 * const meta = checkMockMapSpec({ type: MapType.LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 5, flags: MapFlags.NO_COMMON_LRU }, 2);
 * meta.maxEntries; // 6
 */
export interface MockMapMeta {
  readonly type: number;
  /** The kernel's name: at most 15 characters of `[A-Za-z0-9_.]`. */
  readonly name: string;
  readonly keySize: number;
  readonly valueSize: number;
  /** After the kernel's adjustments (LRU maps with BPF_F_NO_COMMON_LRU round up to a multiple of the CPUs). */
  readonly maxEntries: number;
  /** `map_flags` as the kernel keeps them (core's `permanentMapFlags`): BPF_F_RDONLY and BPF_F_WRONLY describe the creating fd only. */
  readonly flags: number;
  readonly mapExtra: bigint;
  readonly btfKeyTypeId: number;
  readonly btfValueTypeId: number;
  /** What the descriptor returned by the creation may do. */
  readonly mode: MockFileMode;
  /** For array/hash of maps: the template inner maps are checked against. */
  readonly inner?: MockMapMeta;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

function accessOk(flags: number): boolean {
  return !((flags & MapFlags.RDONLY_PROG) && (flags & MapFlags.WRONLY_PROG));
}

function roundUpPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Checks a spec as the kernel's BPF_MAP_CREATE does (`map_create` and the
 * map type's `map_alloc_check`/`map_alloc`) and returns what the kernel would
 * make of it. Refusals are the kernel's: a `BpfError` with the same errno
 * (EINVAL, E2BIG, ENOTSUPP…). Shape errors (a negative size, a non-integer)
 * throw `InvalidArgumentError`; map types the mock does not implement throw
 * `NotSupportedError`.
 *
 * @example
 * checkMockMapSpec({ type: MapType.HASH, keySize: 0, valueSize: 4, maxEntries: 8 }, 4); // BpfError EINVAL
 */
export function checkMockMapSpec(spec: MapSpec, cpus: number): MockMapMeta {
  checkMapSpec(spec);
  const name = kernelObjectName(spec.name);
  const label = spec.name ?? name;
  const fail = (errno: number, hint: string): never => mapFail(errno, 'BPF_MAP_CREATE', label, hint);
  let mapExtra = 0n;
  if (spec.mapExtra !== undefined) {
    const extra: unknown = spec.mapExtra;
    if (typeof extra === 'bigint' && extra >= 0n && extra < 1n << 64n) mapExtra = extra;
    else if (typeof extra === 'number' && Number.isSafeInteger(extra) && extra >= 0) mapExtra = BigInt(extra);
    else throw new InvalidArgumentError('map spec mapExtra', 'a u64 bigint', extra);
  }
  if (spec.numaNode !== undefined && (!Number.isInteger(spec.numaNode) || spec.numaNode < 0)) {
    throw new InvalidArgumentError('map spec numaNode', 'a NUMA node number (integer >= 0)', spec.numaNode);
  }
  const { type, keySize, valueSize, maxEntries } = spec;
  // A NUMA node in the spec sets BPF_F_NUMA_NODE.
  const flags = (spec.flags ?? 0) | (spec.numaNode !== undefined ? MapFlags.NUMA_NODE : 0);

  // map_create(): checks every type shares, in the kernel's order.
  if (mapExtra !== 0n && type !== MapType.BLOOM_FILTER && type !== MapType.ARENA) {
    fail(Errno.EINVAL, 'map_extra is only for bloom filters and arenas');
  }
  if ((flags & MapFlags.RDONLY) && (flags & MapFlags.WRONLY)) fail(Errno.EINVAL, 'BPF_F_RDONLY and BPF_F_WRONLY exclude each other');
  if ((flags & MapFlags.NUMA_NODE) && (spec.numaNode ?? 0) !== 0) fail(Errno.EINVAL, `NUMA node ${spec.numaNode} is not online (the mock has node 0 only)`);
  const typeName = mapTypeName(type);
  if (type === MapType.UNSPEC || typeName.startsWith('unknown')) fail(Errno.EINVAL, `${type} is not a map type`);
  if (!MOCK_MAP_TYPES.has(type)) {
    throw new NotSupportedError(
      `map type '${typeName}' on the mock backend`, undefined,
      'the mock implements hash, array, per-CPU hash/array, LRU hash, LPM trie, map-in-map, program array, queue, stack, bloom filter, ring buffer and perf event array maps; use the kernel backend for the others',
    );
  }

  const mapInMap = type === MapType.ARRAY_OF_MAPS || type === MapType.HASH_OF_MAPS;
  // The inner template is a map of its own, created before the outer one (its fd is an attribute of the creation).
  const inner = mapInMap && spec.innerMap !== undefined ? checkMockMapSpec(spec.innerMap, cpus) : undefined;

  let effectiveMax = maxEntries;
  switch (type) {
    case MapType.HASH:
    case MapType.PERCPU_HASH:
    case MapType.LRU_HASH:
    case MapType.LRU_PERCPU_HASH:
    case MapType.HASH_OF_MAPS:
      effectiveMax = checkHash(type, keySize, valueSize, maxEntries, flags, cpus, fail);
      break;
    case MapType.ARRAY:
    case MapType.PERCPU_ARRAY:
    case MapType.ARRAY_OF_MAPS:
    case MapType.PROG_ARRAY:
      checkArray(type, keySize, valueSize, maxEntries, flags, cpus, fail);
      break;
    case MapType.LPM_TRIE:
      if (maxEntries === 0 || !(flags & MapFlags.NO_PREALLOC) || (flags & ~LPM_CREATE_FLAG_MASK) || !accessOk(flags)
        || keySize < 4 + 1 || keySize > 4 + LPM_DATA_SIZE_MAX || valueSize < 1 || valueSize > KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - LPM_NODE_HEADER) {
        fail(Errno.EINVAL, 'an LPM trie needs BPF_F_NO_PREALLOC, a key of 4 + 1..256 bytes (prefix length + data), a value and max_entries > 0');
      }
      break;
    case MapType.QUEUE:
    case MapType.STACK:
      if (maxEntries === 0 || keySize !== 0 || valueSize === 0 || (flags & ~QUEUE_STACK_CREATE_FLAG_MASK) || !accessOk(flags)) {
        fail(Errno.EINVAL, `a ${typeName} has key size 0, a value size and max_entries > 0, and flags among numa_node, rdonly, wronly, rdonly_prog, wronly_prog (got key ${keySize}, value ${valueSize}, max ${maxEntries}, flags ${hex(flags)})`);
      }
      if (valueSize > KMALLOC_MAX_SIZE) fail(Errno.E2BIG, `value size ${valueSize} is above ${KMALLOC_MAX_SIZE}`);
      break;
    case MapType.RINGBUF:
      // ringbuf_map_alloc(): no key or value, only BPF_F_NUMA_NODE, a power-of-two number of pages.
      if (keySize !== 0 || valueSize !== 0 || (flags & ~MapFlags.NUMA_NODE) || maxEntries < 4096 || (maxEntries & (maxEntries - 1)) !== 0) {
        fail(Errno.EINVAL, `a ring buffer has key and value size 0, flags among numa_node, and max_entries a power of two multiple of the page size (got key ${keySize}, value ${valueSize}, max ${maxEntries}, flags ${hex(flags)})`);
      }
      break;
    case MapType.PERF_EVENT_ARRAY:
      // fd_array_map_alloc_check(): 4-byte keys and values (a perf event fd), max_entries > 0.
      if (keySize !== 4 || valueSize !== 4 || maxEntries === 0 || (flags & ~(ARRAY_CREATE_FLAG_MASK | MapFlags.PRESERVE_ELEMS)) || !accessOk(flags)) {
        fail(Errno.EINVAL, `a perf event array has 4-byte keys and values (perf event fds) and max_entries > 0 (got key ${keySize}, value ${valueSize}, max ${maxEntries}, flags ${hex(flags)})`);
      }
      break;
    case MapType.BLOOM_FILTER:
      if (valueSize > KMALLOC_MAX_SIZE) fail(Errno.E2BIG, `value size ${valueSize} is above ${KMALLOC_MAX_SIZE}`);
      if (keySize !== 0 || valueSize === 0 || maxEntries === 0 || (flags & ~BLOOM_CREATE_FLAG_MASK) || !accessOk(flags) || (mapExtra & ~0xfn) !== 0n) {
        fail(Errno.EINVAL, `a bloom filter has key size 0, a value size, max_entries > 0, flags among numa_node, zero_seed and the access flags, and map_extra 0..15 (the hash count) (got key ${keySize}, value ${valueSize}, max ${maxEntries}, flags ${hex(flags)}, map_extra ${mapExtra})`);
      }
      break;
    default:
      break;
  }

  if (mapInMap) {
    // map_alloc (after the type's checks) takes the inner map's metadata.
    if (inner === undefined) fail(Errno.EINVAL, 'a map-in-map needs spec.innerMap (the template of its inner maps)');
    if (inner!.type === MapType.ARRAY_OF_MAPS || inner!.type === MapType.HASH_OF_MAPS) fail(Errno.EINVAL, 'maps of maps nest one level only');
    if (inner!.type === MapType.PROG_ARRAY) fail(Errno.ENOTSUPP, 'program arrays cannot be inner maps');
  }

  const meta: MockMapMeta = {
    type, name, keySize, valueSize, maxEntries: effectiveMax,
    flags: permanentMapFlags(spec),
    mapExtra,
    btfKeyTypeId: spec.btfKeyTypeId ?? 0,
    btfValueTypeId: spec.btfValueTypeId ?? 0,
    mode: { read: !(flags & MapFlags.WRONLY), write: !(flags & MapFlags.RDONLY) },
  };
  return inner ? { ...meta, inner } : meta;
}

type Fail = (errno: number, hint: string) => never;

/** htab_map_alloc_check() and the sizing of htab_map_alloc(); returns the effective max entries. */
function checkHash(type: number, keySize: number, valueSize: number, maxEntries: number, flags: number, cpus: number, fail: Fail): number {
  const percpu = type === MapType.PERCPU_HASH || type === MapType.LRU_PERCPU_HASH;
  const lru = type === MapType.LRU_HASH || type === MapType.LRU_PERCPU_HASH;
  const percpuLru = (flags & MapFlags.NO_COMMON_LRU) !== 0;
  const name = mapTypeName(type);
  if (type === MapType.HASH_OF_MAPS && valueSize !== 4) fail(Errno.EINVAL, 'hash-of-maps values are 4 bytes (a map fd in, a map id out)');
  if ((flags & ~HTAB_CREATE_FLAG_MASK) || !accessOk(flags)) {
    fail(Errno.EINVAL, `flags ${hex(flags)} are not valid for a ${name} map (allowed: no_prealloc, no_common_lru, numa_node, zero_seed and the access flags)`);
  }
  if (!lru && percpuLru) fail(Errno.EINVAL, 'BPF_F_NO_COMMON_LRU is for LRU hash maps only');
  if (lru && (flags & MapFlags.NO_PREALLOC)) fail(Errno.ENOTSUPP, 'LRU hash maps are always preallocated: drop BPF_F_NO_PREALLOC');
  if ((flags & MapFlags.NUMA_NODE) && (percpu || percpuLru)) fail(Errno.EINVAL, 'per-CPU maps cannot be placed on a NUMA node');
  if (maxEntries === 0 || keySize === 0 || valueSize === 0) {
    fail(Errno.EINVAL, `a ${name} map needs key size, value size and max_entries above 0 (got ${keySize}, ${valueSize}, ${maxEntries})`);
  }
  if (keySize + valueSize >= KMALLOC_MAX_SIZE - HTAB_ELEM_HEADER) fail(Errno.E2BIG, `key and value (${keySize} + ${valueSize} bytes) do not fit one kmalloc`);
  if (percpu && perCpuSlotSize(valueSize) > PCPU_MIN_UNIT_SIZE) fail(Errno.E2BIG, `per-CPU values are at most ${PCPU_MIN_UNIT_SIZE} bytes`);
  let effective = maxEntries;
  if (percpuLru) {
    // Each CPU's LRU list gets the same share: round up to a multiple of the CPUs (down on u32 overflow).
    effective = maxEntries + cpus - 1 > 0xffffffff ? Math.floor(maxEntries / cpus) * cpus : Math.ceil(maxEntries / cpus) * cpus;
  }
  if (effective > 2 ** 31 || roundUpPow2(effective) > MAX_HASH_BUCKETS) {
    fail(Errno.E2BIG, `max_entries ${effective} needs more hash buckets than the kernel allows (at most ${2 ** 27} entries)`);
  }
  return effective;
}

/** array_map_alloc_check() / fd_array_map_alloc_check() and the size limits of array_map_alloc(). */
function checkArray(type: number, keySize: number, valueSize: number, maxEntries: number, flags: number, cpus: number, fail: Fail): void {
  const percpu = type === MapType.PERCPU_ARRAY;
  const name = mapTypeName(type);
  if (type === MapType.ARRAY_OF_MAPS || type === MapType.PROG_ARRAY) {
    if (valueSize !== 4) fail(Errno.EINVAL, `${name} values are 4 bytes (an fd in, an id out)`);
    if (flags & (MapFlags.RDONLY_PROG | MapFlags.WRONLY_PROG)) fail(Errno.EINVAL, `${name} maps take no BPF_F_RDONLY_PROG/BPF_F_WRONLY_PROG`);
  }
  if (maxEntries === 0 || keySize !== 4 || valueSize === 0 || (flags & ~ARRAY_CREATE_FLAG_MASK) || !accessOk(flags) || (percpu && (flags & MapFlags.NUMA_NODE))) {
    fail(Errno.EINVAL, `a ${name} map has 4-byte keys, a value size and max_entries above 0, and flags among numa_node, mmapable, inner_map and the access flags (got key ${keySize}, value ${valueSize}, max ${maxEntries}, flags ${hex(flags)})`);
  }
  if (type !== MapType.ARRAY && (flags & (MapFlags.MMAPABLE | MapFlags.INNER_MAP))) fail(Errno.EINVAL, 'BPF_F_MMAPABLE and BPF_F_INNER_MAP are for plain arrays only');
  if (flags & MapFlags.PRESERVE_ELEMS) fail(Errno.EINVAL, 'BPF_F_PRESERVE_ELEMS is for perf event arrays only');
  if (valueSize > 0x7fffffff) fail(Errno.E2BIG, `value size ${valueSize} is above INT_MAX`);
  if (percpu && perCpuSlotSize(valueSize) > PCPU_MIN_UNIT_SIZE) fail(Errno.E2BIG, `per-CPU values are at most ${PCPU_MIN_UNIT_SIZE} bytes`);
  if (type === MapType.ARRAY || type === MapType.PERCPU_ARRAY) {
    const bytes = maxEntries * perCpuSlotSize(valueSize) * (percpu ? cpus : 1);
    if (bytes > MOCK_MAX_ARRAY_BYTES) fail(Errno.ENOMEM, `${bytes} bytes of elements are more than the mock allocates for one array (${MOCK_MAX_ARRAY_BYTES})`);
  }
}
