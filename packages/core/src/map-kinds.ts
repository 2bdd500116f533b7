import { perCpuSlotSize } from './codecs/per-cpu.js';
import { mapTypeRules } from './kernel/map-rules.js';
import { InvalidArgumentError } from './errors.js';
import type { Map, MapSpec } from './interfaces.js';

/**
 * Whether values of this map type hold one slot per possible CPU
 * (percpu_hash, percpu_array, lru_percpu_hash, percpu_cgroup_storage).
 *
 * @example
 * isPerCpuMapType(MapType.PERCPU_ARRAY); // true
 * isPerCpuMapType(MapType.HASH);         // false
 */
export function isPerCpuMapType(type: number): boolean {
  return mapTypeRules(type)?.perCpu ?? false;
}

/**
 * Whether a map type is a local storage map (sk, inode, task, cgroup
 * storage), which the kernel creates only with BTF for key and value.
 *
 * @example
 * isLocalStorageMapType(MapType.TASK_STORAGE); // true
 */
export function isLocalStorageMapType(type: number): boolean {
  return mapTypeRules(type)?.keyValueBtf === 'required';
}

/**
 * Whether a map type holds maps (array_of_maps, hash_of_maps) and so needs
 * an `innerMap` spec.
 *
 * @example
 * isMapInMapType(MapType.HASH_OF_MAPS); // true
 */
export function isMapInMapType(type: number): boolean {
  return mapTypeRules(type)?.innerMap ?? false;
}

/**
 * Bytes of one value as user space reads and writes it: `valueSize` for
 * most types, `cpus × roundUp(valueSize, 8)` for per-CPU types.
 *
 * @example
 * rawValueSize({ type: MapType.PERCPU_ARRAY, valueSize: 4 }, 2); // 16
 * rawValueSize({ type: MapType.HASH, valueSize: 4 }, 2);         // 4
 */
export function rawValueSize(spec: Pick<MapSpec, 'type' | 'valueSize'>, cpus: number): number {
  return isPerCpuMapType(spec.type) ? cpus * perCpuSlotSize(spec.valueSize) : spec.valueSize;
}

/**
 * The name the kernel will accept for a map or program: at most 15
 * characters (`BPF_OBJ_NAME_LEN` - 1) from `[A-Za-z0-9_.]`; anything else
 * is replaced by `_` (bpf_obj_name_cpy rejects other characters with EINVAL).
 *
 * @example
 * kernelObjectName('my-counter/map'); // 'my_counter_map'
 */
export function kernelObjectName(name: string | undefined): string {
  return (name ?? '').replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 15);
}

/**
 * The maps an event reader opens over: one map, or a non-empty list of them
 * (`System.openRingBuffer` takes either).
 *
 * @throws InvalidArgumentError for an empty list
 * @example
 * declare const events: Map;
 * ringBufferMaps(events); // [events]
 */
export function ringBufferMaps(map: Map<unknown, unknown> | readonly Map<unknown, unknown>[]): readonly Map<unknown, unknown>[] {
  const maps: readonly Map<unknown, unknown>[] = Array.isArray(map) ? map : [map as Map<unknown, unknown>];
  if (maps.length === 0) throw new InvalidArgumentError('openRingBuffer: maps', 'at least one ring buffer map', maps);
  return maps;
}
