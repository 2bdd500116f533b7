import { describe, expect, it } from 'vitest';
import { Errno } from '../errno.js';
import { isLocalStorageMapType, isMapInMapType, isPerCpuMapType } from '../map-kinds.js';
import { permanentMapFlags } from '../map-compat.js';
import type { MapSpec } from '../interfaces.js';
import { MapFlags } from './flags.js';
import { MapType, mapTypeFromName, mapTypeName, mapTypeNames } from './map-type.js';
import { mapTypeRules, smallestMapSpec } from './map-rules.js';
import { effectiveMaxEntries, mapSpecViolations } from './map-rule-check.js';
import type { MapRuleContext } from './map-rule-check.js';

const TYPES = mapTypeNames.filter((n) => n !== 'unspec').map((n) => mapTypeFromName(n)!);
const withTrait = (trait: (t: number) => boolean) => TYPES.filter(trait).map((t) => mapTypeName(t));

/** What each smallest spec needs besides itself: an inner map, BTF, a vmlinux type. */
function smallest(type: number): { spec: MapSpec; ctx: MapRuleContext } {
  const spec = smallestMapSpec(type)!;
  const r = mapTypeRules(type)!;
  return {
    spec: r.innerMap ? { ...spec, innerMap: smallestMapSpec(MapType.ARRAY)! } : spec,
    ctx: { btf: r.keyValueBtf === 'required', ...(r.vmlinuxValueType ? { vmlinuxValueTypeId: 7 } : {}) },
  };
}

/** The flags BPF_MAP_CREATE accepted one at a time on Linux 6.18 x86-64 (arena and struct_ops from the kernel source). */
const ACCEPTED_ON_6_18: Record<string, string> = {
  hash: 'NO_PREALLOC|NUMA_NODE|RDONLY|WRONLY|ZERO_SEED|RDONLY_PROG|WRONLY_PROG',
  array: 'NUMA_NODE|RDONLY|WRONLY|RDONLY_PROG|WRONLY_PROG|MMAPABLE|INNER_MAP',
  prog_array: 'NUMA_NODE|RDONLY|WRONLY',
  perf_event_array: 'NUMA_NODE|RDONLY|WRONLY|PRESERVE_ELEMS',
  percpu_hash: 'NO_PREALLOC|RDONLY|WRONLY|ZERO_SEED|RDONLY_PROG|WRONLY_PROG',
  percpu_array: 'RDONLY|WRONLY|RDONLY_PROG|WRONLY_PROG',
  stack_trace: 'NUMA_NODE|RDONLY|WRONLY|STACK_BUILD_ID',
  cgroup_array: 'NUMA_NODE|RDONLY|WRONLY',
  lru_hash: 'NO_COMMON_LRU|NUMA_NODE|RDONLY|WRONLY|ZERO_SEED|RDONLY_PROG|WRONLY_PROG',
  lru_percpu_hash: 'NO_COMMON_LRU|RDONLY|WRONLY|ZERO_SEED|RDONLY_PROG|WRONLY_PROG',
  lpm_trie: 'NO_PREALLOC|NUMA_NODE|RDONLY|WRONLY|RDONLY_PROG|WRONLY_PROG',
  array_of_maps: 'NUMA_NODE|RDONLY|WRONLY',
  hash_of_maps: 'NO_PREALLOC|NUMA_NODE|RDONLY|WRONLY|ZERO_SEED|RDONLY_PROG|WRONLY_PROG',
  devmap: 'NUMA_NODE|RDONLY|WRONLY',
  sockmap: 'NUMA_NODE|RDONLY|WRONLY',
  cpumap: 'NUMA_NODE',
  xskmap: 'NUMA_NODE|RDONLY|WRONLY',
  sockhash: 'NUMA_NODE|RDONLY|WRONLY',
  cgroup_storage: 'NUMA_NODE|RDONLY|WRONLY|RDONLY_PROG|WRONLY_PROG',
  reuseport_sockarray: 'NUMA_NODE|RDONLY|WRONLY|RDONLY_PROG|WRONLY_PROG',
  percpu_cgroup_storage: 'NUMA_NODE|RDONLY|WRONLY|RDONLY_PROG|WRONLY_PROG',
  queue: 'NUMA_NODE|RDONLY|WRONLY|RDONLY_PROG|WRONLY_PROG',
  stack: 'NUMA_NODE|RDONLY|WRONLY|RDONLY_PROG|WRONLY_PROG',
  sk_storage: 'NO_PREALLOC|CLONE',
  devmap_hash: 'NUMA_NODE|RDONLY|WRONLY',
  struct_ops: 'LINK',
  ringbuf: 'NUMA_NODE',
  inode_storage: 'NO_PREALLOC|CLONE',
  task_storage: 'NO_PREALLOC|CLONE',
  bloom_filter: 'NUMA_NODE|RDONLY|WRONLY|ZERO_SEED|RDONLY_PROG|WRONLY_PROG',
  user_ringbuf: 'NUMA_NODE',
  cgrp_storage: 'NO_PREALLOC|CLONE',
  arena: 'MMAPABLE|SEGV_ON_FAULT|NO_USER_CONV',
};

describe('the map rules table', () => {
  it('has the rules of every map type of Linux 6.18, and none for unspec or unknown numbers', () => {
    expect(TYPES).toHaveLength(33);
    for (const t of TYPES) expect([mapTypeName(t), mapTypeRules(t) !== undefined]).toEqual([mapTypeName(t), true]);
    expect(mapTypeRules(MapType.UNSPEC)).toBeUndefined();
    expect(mapTypeRules(99)).toBeUndefined();
    expect(smallestMapSpec(99)).toBeUndefined();
  });

  it('the smallest spec of each type breaks no rule', () => {
    for (const t of TYPES) {
      const { spec, ctx } = smallest(t);
      expect([mapTypeName(t), mapSpecViolations(spec, ctx)]).toEqual([mapTypeName(t), []]);
    }
    expect(smallestMapSpec(MapType.RINGBUF, 16384)).toEqual({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 16384 });
    expect(smallestMapSpec(MapType.LPM_TRIE)?.flags).toBe(MapFlags.NO_PREALLOC);
  });

  it('takes the flags Linux 6.18 takes, one at a time', () => {
    const bits = Object.entries(MapFlags).filter(([n]) => !['TOKEN_FD', 'PATH_FD', 'VTYPE_BTF_OBJ_FD'].includes(n));
    for (const t of TYPES) {
      const { spec, ctx } = smallest(t);
      const taken = bits.filter(
        ([, bit]) => !mapSpecViolations({ ...spec, flags: (spec.flags ?? 0) | bit }, ctx).some((v) => v.rule === 'flags'),
      );
      expect([mapTypeName(t), taken.map(([n]) => n).join('|')]).toEqual([mapTypeName(t), ACCEPTED_ON_6_18[mapTypeName(t)]]);
    }
  });

  it('holds the traits the backends, the planner and the probes read', () => {
    expect(withTrait(isPerCpuMapType)).toEqual(['percpu_hash', 'percpu_array', 'lru_percpu_hash', 'percpu_cgroup_storage']);
    expect(withTrait(isMapInMapType)).toEqual(['array_of_maps', 'hash_of_maps']);
    expect(withTrait(isLocalStorageMapType)).toEqual(['sk_storage', 'inode_storage', 'task_storage', 'cgrp_storage']);
    expect(withTrait((t) => mapTypeRules(t)!.fdValues)).toEqual([
      'prog_array',
      'perf_event_array',
      'cgroup_array',
      'array_of_maps',
      'hash_of_maps',
      'sockmap',
      'xskmap',
      'sockhash',
      'reuseport_sockarray',
    ]);
    expect(withTrait((t) => mapTypeRules(t)!.keyValueBtf === 'refused')).toEqual([
      'prog_array',
      'perf_event_array',
      'stack_trace',
      'cgroup_array',
      'array_of_maps',
      'hash_of_maps',
      'devmap',
      'sockmap',
      'cpumap',
      'xskmap',
      'sockhash',
      'reuseport_sockarray',
      'queue',
      'stack',
      'devmap_hash',
      'struct_ops',
      'ringbuf',
      'user_ringbuf',
      'arena',
    ]);
    const keyless = (t: number) => {
      const key = mapTypeRules(t)!.key;
      return key.kind === 'one-of' && key.sizes.length === 1 && key.sizes[0] === 0;
    };
    expect(withTrait(keyless)).toEqual(['queue', 'stack', 'ringbuf', 'bloom_filter', 'user_ringbuf', 'arena']);
    expect(withTrait((t) => (mapTypeRules(t)!.flags & MapFlags.MMAPABLE) !== 0)).toEqual(['array', 'arena']);
    expect(permanentMapFlags({ type: MapType.DEVMAP_HASH })).toBe(MapFlags.RDONLY_PROG);
  });
});

describe('mapSpecViolations', () => {
  const HASH: MapSpec = { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16 };
  const errnos = (spec: MapSpec, ctx?: MapRuleContext) => mapSpecViolations(spec, ctx).map((v) => v.errno);

  it('names each broken rule with what the spec gave', () => {
    expect(
      mapSpecViolations({ type: MapType.ARRAY, keySize: 8, valueSize: 0, maxEntries: 0, flags: MapFlags.NO_PREALLOC | MapFlags.ZERO_SEED }),
    ).toEqual([
      { rule: 'flags', errno: Errno.EINVAL, common: false, message: 'array maps do not take flags no_prealloc, zero_seed' },
      { rule: 'key-size', errno: Errno.EINVAL, common: false, message: 'array keys are 4 bytes, got key_size 8' },
      { rule: 'value-size', errno: Errno.EINVAL, common: false, message: 'array maps need value_size > 0' },
      { rule: 'max-entries', errno: Errno.EINVAL, common: false, message: 'array maps need max_entries > 0' },
    ]);
    expect(
      mapSpecViolations({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 5000 }, { pageSize: 4096 }).map((v) => v.message),
    ).toEqual(['ringbuf max_entries is the buffer size in bytes: a power of two multiple of the page size (4096), got 5000']);
    expect(mapSpecViolations({ type: MapType.LPM_TRIE, keySize: 4, valueSize: 4, maxEntries: 1 }).map((v) => v.message)).toEqual([
      'lpm_trie maps need flag no_prealloc',
      'lpm_trie keys are a u32 prefix length plus 1 to 256 data bytes (5 to 260 bytes), got key_size 4',
    ]);
    expect(
      mapSpecViolations({ type: MapType.STACK_TRACE, keySize: 4, valueSize: 40, maxEntries: 1, flags: MapFlags.STACK_BUILD_ID })[0]!
        .message,
    ).toBe('stack_trace values are a multiple of 32 bytes (struct bpf_stack_build_id), got value_size 40');
    expect(mapSpecViolations({ type: MapType.STACK_TRACE, keySize: 4, valueSize: 128 * 8, maxEntries: 1 })[0]!.message).toMatch(
      /at most 127 frames/,
    );
    expect(
      mapSpecViolations({ type: MapType.TASK_STORAGE, keySize: 4, valueSize: 8, maxEntries: 0, flags: MapFlags.NO_PREALLOC }).map(
        (v) => v.message,
      ),
    ).toEqual(['task_storage maps need BTF for key and value']);
    expect(
      mapSpecViolations({
        type: MapType.TASK_STORAGE,
        keySize: 4,
        valueSize: 8,
        maxEntries: 0,
        flags: MapFlags.NO_PREALLOC,
        btfKeyTypeId: 1,
        btfValueTypeId: 2,
      }),
    ).toEqual([]);
    expect(mapSpecViolations({ type: MapType.STRUCT_OPS, keySize: 4, valueSize: 64, maxEntries: 2 }).map((v) => v.message)).toEqual([
      'struct_ops maps take max_entries 1 (one struct of the kernel), got 2',
      'struct_ops maps need the vmlinux BTF id of their value type (bpf_struct_ops_<name>)',
    ]);
  });

  it("puts map_create's own checks first, and knows no type beyond arena", () => {
    expect(
      mapSpecViolations({ ...HASH, keySize: 0, mapExtra: 1n, flags: MapFlags.RDONLY | MapFlags.WRONLY }).map((v) => [v.rule, v.common]),
    ).toEqual([
      ['map-extra', true],
      ['access-flags', true],
      ['key-size', false],
    ]);
    expect(mapSpecViolations({ ...HASH, type: 34 })).toEqual([
      { rule: 'map-type', errno: Errno.EINVAL, common: true, message: 'unknown map type 34: Linux 6.18 knows map types 1 to 33' },
    ]);
    expect(mapSpecViolations({ ...HASH, numaNode: 5 }, { numaNodes: 1 })[0]!.message).toBe('NUMA node 5 is not online (nodes 0 to 0 are)');
    expect(mapSpecViolations({ ...HASH, numaNode: 5 })).toEqual([]);
    expect(mapSpecViolations(HASH, { vmlinuxValueTypeId: 3 })[0]!.rule).toBe('vmlinux-type');
  });

  it("orders the checks as the kernel does, so the first errno is the kernel's answer", () => {
    // hashtab.c: the LRU prealloc refusal (ENOTSUPP) comes before NUMA with per-CPU lists (EINVAL) and the sizes.
    expect(errnos({ ...HASH, type: MapType.LRU_PERCPU_HASH, valueSize: 0, flags: MapFlags.NO_PREALLOC | MapFlags.NUMA_NODE })).toEqual([
      Errno.ENOTSUPP,
      Errno.EINVAL,
      Errno.EINVAL,
    ]);
    expect(errnos({ ...HASH, type: MapType.LRU_HASH, flags: MapFlags.NO_COMMON_LRU, numaNode: 0 })).toEqual([Errno.EINVAL]);
    expect(errnos({ ...HASH, valueSize: (4 << 20) - 52 })).toEqual([Errno.E2BIG]);
    expect(errnos({ ...HASH, valueSize: (4 << 20) - 53 })).toEqual([]);
    expect(errnos({ ...HASH, type: MapType.PERCPU_HASH, valueSize: 32769, numaNode: 0 })).toEqual([Errno.EINVAL, Errno.E2BIG]);
    // A queue checks its shape first; a bloom filter its value limit first (bloom_map_alloc_check).
    expect(errnos({ type: MapType.QUEUE, keySize: 4, valueSize: (4 << 20) + 1, maxEntries: 1 })).toEqual([Errno.EINVAL, Errno.E2BIG]);
    expect(errnos({ type: MapType.BLOOM_FILTER, keySize: 4, valueSize: (4 << 20) + 1, maxEntries: 1 })).toEqual([
      Errno.E2BIG,
      Errno.EINVAL,
    ]);
    // cgroup storage: the value limit before the flags and max_entries.
    expect(errnos({ type: MapType.CGROUP_STORAGE, keySize: 16, valueSize: 1 << 20, maxEntries: 5 })).toEqual([Errno.E2BIG, Errno.EINVAL]);
    expect(errnos({ type: MapType.CGROUP_STORAGE, keySize: 12, valueSize: 1 << 20, maxEntries: 0 })).toEqual([Errno.EINVAL, Errno.E2BIG]);
    expect(
      errnos({ type: MapType.SK_STORAGE, keySize: 8, valueSize: 1 << 20, maxEntries: 0, flags: MapFlags.NO_PREALLOC }, { btf: true }),
    ).toEqual([Errno.EINVAL, Errno.E2BIG]);
  });

  it("sizes hash tables, ring buffers and arenas by the kernel's limits", () => {
    expect(errnos({ ...HASH, maxEntries: 2 ** 27, flags: MapFlags.NO_PREALLOC })).toEqual([]);
    expect(errnos({ ...HASH, maxEntries: 2 ** 27 + 1, flags: MapFlags.NO_PREALLOC })).toEqual([Errno.E2BIG]);
    expect(
      errnos({ ...HASH, type: MapType.LRU_HASH, maxEntries: 2 ** 27 - 1, flags: MapFlags.NO_COMMON_LRU }, { possibleCpus: 3 }),
    ).toEqual([Errno.E2BIG]);
    expect(effectiveMaxEntries({ type: MapType.LRU_HASH, maxEntries: 5, flags: MapFlags.NO_COMMON_LRU }, 2)).toBe(6);
    expect(effectiveMaxEntries({ type: MapType.HASH, maxEntries: 5, flags: MapFlags.NO_COMMON_LRU }, 2)).toBe(5);
    expect(effectiveMaxEntries({ type: MapType.LRU_HASH, maxEntries: 0xffffffff }, 2)).toBe(0xffffffff);
    expect(effectiveMaxEntries({ type: MapType.LRU_HASH, maxEntries: 0xffffffff, flags: MapFlags.NO_COMMON_LRU }, 2)).toBe(0xfffffffe);
    for (const n of [0, 4097, 3 * 4096, 2 ** 31 + 4096])
      expect([n, errnos({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: n })]).toEqual([n, [Errno.EINVAL]]);
    expect(errnos({ type: MapType.USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 2 ** 31 })).toEqual([]);
    expect(errnos({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 16384 }, { pageSize: 16384 })).toEqual([]);
    const ARENA: MapSpec = { type: MapType.ARENA, keySize: 0, valueSize: 0, maxEntries: 4, flags: MapFlags.MMAPABLE };
    expect(errnos({ ...ARENA, maxEntries: 2 ** 20 + 1 })).toEqual([Errno.E2BIG]);
    expect(errnos({ ...ARENA, mapExtra: 0x1000_1000n })).toEqual([]);
    expect(errnos({ ...ARENA, mapExtra: 0x1000_1001n })).toEqual([Errno.EINVAL]);
    expect(errnos({ ...ARENA, mapExtra: 0xffff_f000n })).toEqual([Errno.ERANGE]);
    expect(errnos({ ...ARENA, flags: 0, numaNode: 0 })).toEqual([Errno.EINVAL, Errno.EINVAL]);
    expect(errnos({ type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 1, mapExtra: 16n })).toEqual([Errno.EINVAL]);
    expect(errnos({ type: MapType.SOCKHASH, keySize: 513, valueSize: 4, maxEntries: 1 })).toEqual([Errno.E2BIG]);
  });

  it('checks the inner map template of map-in-maps', () => {
    const AOM: MapSpec = { type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2 };
    const inner = (innerMap?: MapSpec) => mapSpecViolations({ ...AOM, ...(innerMap ? { innerMap } : {}) }).map((v) => [v.errno, v.message]);
    expect(inner()).toEqual([[Errno.EINVAL, 'array_of_maps maps need an inner map (spec.innerMap, the template of the maps they hold)']]);
    expect(inner({ ...AOM, type: MapType.HASH_OF_MAPS })).toEqual([
      [Errno.EINVAL, 'maps of maps nest one level only: the inner map is a hash_of_maps map'],
    ]);
    expect(inner({ type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 })).toEqual([
      [Errno.ENOTSUPP, 'prog_array maps cannot be inner maps'],
    ]);
    expect(inner({ type: MapType.PERCPU_CGROUP_STORAGE, keySize: 16, valueSize: 4, maxEntries: 0 })[0]![0]).toBe(Errno.ENOTSUPP);
    expect(inner({ type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 1 })).toEqual([]);
    expect(mapSpecViolations({ ...AOM, valueSize: 8, flags: MapFlags.RDONLY_PROG }).map((v) => v.rule)).toEqual([
      'flags',
      'value-size',
      'inner-map',
    ]);
  });
});
