import { flagNames } from './kernel/enum.js';
import { MapFlags } from './kernel/flags.js';
import { mapTypeName } from './kernel/map-type.js';
import { mapTypeRules } from './kernel/map-rules.js';
import type { MapInfo, MapSpec } from './interfaces.js';

/** Flags that belong to the fd, not the map: the kernel drops them from `map_flags`. */
const FD_ONLY_FLAGS = MapFlags.RDONLY | MapFlags.WRONLY | MapFlags.TOKEN_FD;

/**
 * The `map_flags` the kernel reports in `bpf_map_info` for a map created
 * from `spec`: the spec's flags plus `BPF_F_NUMA_NODE` when `numaNode` is
 * set, without the per-fd bits (`BPF_F_RDONLY`, `BPF_F_WRONLY`,
 * `BPF_F_TOKEN_FD`), plus what the kernel adds by itself (devmaps are
 * `BPF_F_RDONLY_PROG`).
 *
 * @example
 * permanentMapFlags({ type: MapType.HASH, flags: MapFlags.RDONLY }); // 0
 */
export function permanentMapFlags(spec: Pick<MapSpec, 'type' | 'flags' | 'numaNode'>): number {
  let flags = (spec.flags ?? 0) | (spec.numaNode !== undefined ? MapFlags.NUMA_NODE : 0);
  flags &= ~FD_ONLY_FLAGS;
  flags |= mapTypeRules(spec.type)?.impliedFlags ?? 0;
  return flags >>> 0;
}

/**
 * One field in which a pinned map differs from the spec asked for.
 *
 * @example
 * const d: MapDifference = { field: 'maxEntries', pinned: 100, wanted: 200 }; // "maxEntries: 100 changed to 200"
 */
export interface MapDifference {
  field: 'type' | 'keySize' | 'valueSize' | 'maxEntries' | 'flags';
  /** What the pinned map has. */
  pinned: number;
  /** What the spec asks for. */
  wanted: number;
}

function describe(field: MapDifference['field'], v: number): string {
  if (field === 'type') return mapTypeName(v);
  if (field === 'flags') return flagNames(MapFlags, v).join('|') || 'none';
  return String(v);
}

/**
 * A pinned map does not match the spec given to `openOrCreateMap`
 * (with `onMismatch: 'fail'`). The message names every difference as
 * `field: pinned changed to wanted`.
 *
 * @example
 * const spec: MapSpec = { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 100 };
 * try { system.openOrCreateMap(spec, { pinPath: '/sys/fs/bpf/counts' }); }
 * catch (err) { if (err instanceof MapMismatchError) console.log(err.differences); }
 */
export class MapMismatchError extends Error {
  override readonly name: string = 'MapMismatchError';
  /** The pin path. */
  readonly pinPath: string;
  /** Every difference, in the order type, keySize, valueSize, maxEntries, flags. */
  readonly differences: readonly MapDifference[];

  constructor(pinPath: string, differences: readonly MapDifference[]) {
    const list = differences.map((d) => `${d.field}: ${describe(d.field, d.pinned)} changed to ${describe(d.field, d.wanted)}`).join('; ');
    super(`the map pinned at ${pinPath} does not match the spec: ${list} (pass onMismatch: 'replace' to replace it)`);
    this.pinPath = pinPath;
    this.differences = differences;
  }
}

/**
 * The differences between a pinned map (its info) and a spec: type, key
 * size, value size, max entries and flags (compared as the kernel keeps
 * them: see `permanentMapFlags`).
 *
 * @example
 * const spec: MapSpec = { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 100 };
 * using pinned = system.openPinnedMap('/sys/fs/bpf/counts');
 * mapDifferences(pinned.info(), { ...spec, maxEntries: 200 }); // [{ field: 'maxEntries', pinned: 100, wanted: 200 }]
 */
export function mapDifferences(
  info: Pick<MapInfo, 'type' | 'keySize' | 'valueSize' | 'maxEntries' | 'flags'>,
  spec: MapSpec,
): MapDifference[] {
  const out: MapDifference[] = [];
  for (const field of ['type', 'keySize', 'valueSize', 'maxEntries'] as const) {
    if (info[field] !== spec[field]) out.push({ field, pinned: info[field], wanted: spec[field] });
  }
  const wanted = permanentMapFlags(spec);
  if (info.flags >>> 0 !== wanted) out.push({ field: 'flags', pinned: info.flags >>> 0, wanted });
  return out;
}
