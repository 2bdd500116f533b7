import { defineKernelEnum, minimumKernelLookup, type LowerName } from './enum.js';

/**
 * Map types: the kernel's `enum bpf_map_type` (uapi `linux/bpf.h`), complete
 * as of Linux 6.18. Names drop the `BPF_MAP_TYPE_` prefix.
 *
 * `CGROUP_STORAGE_DEPRECATED` and `PERCPU_CGROUP_STORAGE_DEPRECATED` are the
 * kernel's own second names for `CGROUP_STORAGE` (19) and
 * `PERCPU_CGROUP_STORAGE` (21); every other number has exactly one name.
 *
 * @example
 * MapType.RINGBUF;             // 27
 * mapTypeName(MapType.LRU_HASH); // 'lru_hash'
 * mapTypeFromName('BPF_MAP_TYPE_ARENA'); // 33
 */
export const MapType = {
  UNSPEC: 0,
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  CGROUP_ARRAY: 8,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  DEVMAP: 14,
  SOCKMAP: 15,
  CPUMAP: 16,
  XSKMAP: 17,
  SOCKHASH: 18,
  CGROUP_STORAGE: 19,
  CGROUP_STORAGE_DEPRECATED: 19,
  REUSEPORT_SOCKARRAY: 20,
  PERCPU_CGROUP_STORAGE: 21,
  PERCPU_CGROUP_STORAGE_DEPRECATED: 21,
  QUEUE: 22,
  STACK: 23,
  SK_STORAGE: 24,
  DEVMAP_HASH: 25,
  STRUCT_OPS: 26,
  RINGBUF: 27,
  INODE_STORAGE: 28,
  TASK_STORAGE: 29,
  BLOOM_FILTER: 30,
  USER_RINGBUF: 31,
  CGRP_STORAGE: 32,
  ARENA: 33,
} as const;
/** A number of `enum bpf_map_type`. */
export type MapType = (typeof MapType)[keyof typeof MapType];

const mapTypes = defineKernelEnum('BPF_MAP_TYPE_', MapType, {
  aliases: ['CGROUP_STORAGE_DEPRECATED', 'PERCPU_CGROUP_STORAGE_DEPRECATED'],
});

/** The canonical name of a map type: `'hash'`, `'percpu_array'`, `'ringbuf'`, … */
export type MapTypeName = LowerName<Exclude<keyof typeof MapType, 'CGROUP_STORAGE_DEPRECATED' | 'PERCPU_CGROUP_STORAGE_DEPRECATED'>>;

/** Every canonical map type name, in numeric order (`'unspec'` first). */
export const mapTypeNames: readonly MapTypeName[] = mapTypes.names;

/**
 * The lower-case name of a map type number, or `unknown(N)`.
 *
 * @example
 * mapTypeName(1);  // 'hash'
 * mapTypeName(19); // 'cgroup_storage'
 * mapTypeName(99); // 'unknown(99)'
 */
export function mapTypeName(type: number): MapTypeName | `unknown(${number})` {
  return mapTypes.name(type);
}

/**
 * The map type with this name: `'hash'`, `'HASH'` and `'BPF_MAP_TYPE_HASH'`
 * all work, as do the kernel's aliases; `undefined` for an unknown name.
 *
 * @example
 * mapTypeFromName('percpu_array'); // 6
 * mapTypeFromName('nope');         // undefined
 */
export function mapTypeFromName(name: string): MapType | undefined {
  return mapTypes.fromName(name);
}

/**
 * The Linux release that introduced each map type, for messages such as
 * "requires at least Linux 5.8".
 *
 * @example
 * mapTypeSince.ringbuf; // '5.8'
 * mapTypeSince.arena;   // '6.9'
 */
export const mapTypeSince: Readonly<Record<MapTypeName, string>> = {
  unspec: '3.18',
  hash: '3.19',
  array: '3.19',
  prog_array: '4.2',
  perf_event_array: '4.3',
  percpu_hash: '4.6',
  percpu_array: '4.6',
  stack_trace: '4.6',
  cgroup_array: '4.8',
  lru_hash: '4.10',
  lru_percpu_hash: '4.10',
  lpm_trie: '4.11',
  array_of_maps: '4.12',
  hash_of_maps: '4.12',
  devmap: '4.14',
  sockmap: '4.14',
  cpumap: '4.15',
  xskmap: '4.18',
  sockhash: '4.18',
  cgroup_storage: '4.19',
  reuseport_sockarray: '4.19',
  percpu_cgroup_storage: '4.20',
  queue: '4.20',
  stack: '4.20',
  sk_storage: '5.2',
  devmap_hash: '5.4',
  struct_ops: '5.6',
  ringbuf: '5.8',
  inode_storage: '5.10',
  task_storage: '5.11',
  bloom_filter: '5.16',
  user_ringbuf: '6.1',
  cgrp_storage: '6.2',
  arena: '6.9',
};

/**
 * The Linux release that introduced a map type number, or `undefined` for a
 * number bpfkit does not know.
 *
 * @example
 * throw new NotSupportedError('ring buffer maps', mapTypeMinimumKernel(MapType.RINGBUF)); // … Linux 5.8
 */
export const mapTypeMinimumKernel: (type: number) => string | undefined = minimumKernelLookup(mapTypes, mapTypeSince);
