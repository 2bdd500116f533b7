import {
  checkMapSpec,
  effectiveMaxEntries,
  Errno,
  InvalidArgumentError,
  isMapInMapType,
  kernelObjectName,
  MapFlags,
  mapSpecViolations,
  MapType,
  mapTypeName,
  NotSupportedError,
  perCpuSlotSize,
  permanentMapFlags,
} from '@bpfkit/core';
import type { MapRuleViolation, MapSpec } from '@bpfkit/core';
import { mapFail } from './map-errors.js';
import type { MockFileMode } from './mock-kernel.js';

/** The mock's page: ring buffer sizes are multiples of it. */
const MOCK_PAGE_SIZE = 4096;
/** The mock has one NUMA node, node 0. */
const MOCK_NUMA_NODES = 1;
/** The most bytes the mock allocates for one array map (the kernel's limit is its memory). */
export const MOCK_MAX_ARRAY_BYTES = 2 ** 31;

/**
 * The map types the mock backend implements.
 *
 * @example
 * MOCK_MAP_TYPES.has(MapType.LPM_TRIE); // true
 * MOCK_MAP_TYPES.has(MapType.ARENA);    // false
 */
export const MOCK_MAP_TYPES: ReadonlySet<number> = new Set<number>([
  MapType.HASH,
  MapType.ARRAY,
  MapType.PROG_ARRAY,
  MapType.PERCPU_HASH,
  MapType.PERCPU_ARRAY,
  MapType.LRU_HASH,
  MapType.LRU_PERCPU_HASH,
  MapType.LPM_TRIE,
  MapType.ARRAY_OF_MAPS,
  MapType.HASH_OF_MAPS,
  MapType.QUEUE,
  MapType.STACK,
  MapType.BLOOM_FILTER,
  MapType.RINGBUF,
  MapType.PERF_EVENT_ARRAY,
  MapType.DEVMAP,
  MapType.DEVMAP_HASH,
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

/**
 * Checks a spec as the kernel's BPF_MAP_CREATE does (`map_create` and the
 * map type's `map_alloc_check`/`map_alloc`, by core's map rules table:
 * `mapSpecViolations`) and returns what the kernel would make of it.
 * Refusals are the kernel's: a `BpfError` with the same errno (EINVAL,
 * E2BIG, ENOTSUPP…) and a hint naming every rule the spec breaks. Shape
 * errors (a negative size, a non-integer) throw `InvalidArgumentError`; map
 * types the mock does not implement throw `NotSupportedError`.
 *
 * @example
 * checkMockMapSpec({ type: MapType.HASH, keySize: 0, valueSize: 4, maxEntries: 8 }, 4); // BpfError EINVAL
 */
export function checkMockMapSpec(spec: MapSpec, cpus: number): MockMapMeta {
  checkMapSpec(spec);
  const name = kernelObjectName(spec.name);
  const label = spec.name ?? name;
  const refuse = (violations: readonly MapRuleViolation[]): never =>
    mapFail(violations[0]!.errno, 'BPF_MAP_CREATE', label, violations.map((v) => v.message).join('; '));
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
  const { type, keySize, valueSize } = spec;
  // A NUMA node in the spec sets BPF_F_NUMA_NODE.
  const flags = (spec.flags ?? 0) | (spec.numaNode !== undefined ? MapFlags.NUMA_NODE : 0);

  // The kernel's rules (core's map rules table), in the kernel's order: map_create()'s own checks come first.
  const violations = mapSpecViolations({ ...spec, mapExtra }, { pageSize: MOCK_PAGE_SIZE, possibleCpus: cpus, numaNodes: MOCK_NUMA_NODES });
  if (violations[0]?.common) refuse(violations);
  if (!MOCK_MAP_TYPES.has(type)) {
    throw new NotSupportedError(
      `map type '${mapTypeName(type)}' on the mock backend`,
      undefined,
      'the mock implements hash, array, per-CPU hash/array, LRU hash, LPM trie, map-in-map, program array, queue, stack, bloom filter, ring buffer, perf event array and devmap maps; use the kernel backend for the others',
    );
  }
  // The inner template is a map of its own, created before the outer one (its fd is an attribute of the creation).
  const inner = isMapInMapType(type) && spec.innerMap !== undefined ? checkMockMapSpec(spec.innerMap, cpus) : undefined;
  if (violations.length > 0) refuse(violations);

  if (type === MapType.ARRAY || type === MapType.PERCPU_ARRAY) {
    const bytes = spec.maxEntries * perCpuSlotSize(valueSize) * (type === MapType.PERCPU_ARRAY ? cpus : 1);
    if (bytes > MOCK_MAX_ARRAY_BYTES) {
      mapFail(
        Errno.ENOMEM,
        'BPF_MAP_CREATE',
        label,
        `${bytes} bytes of elements are more than the mock allocates for one array (${MOCK_MAX_ARRAY_BYTES})`,
      );
    }
  }

  const meta: MockMapMeta = {
    type,
    name,
    keySize,
    valueSize,
    maxEntries: effectiveMaxEntries({ type, maxEntries: spec.maxEntries, flags }, cpus),
    flags: permanentMapFlags(spec),
    mapExtra,
    btfKeyTypeId: spec.btfKeyTypeId ?? 0,
    btfValueTypeId: spec.btfValueTypeId ?? 0,
    mode: { read: !(flags & MapFlags.WRONLY), write: !(flags & MapFlags.RDONLY) },
  };
  return inner ? { ...meta, inner } : meta;
}
