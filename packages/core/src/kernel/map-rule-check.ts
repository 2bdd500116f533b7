/**
 * {@link mapSpecViolations}: the rules of the map rules table that a spec
 * breaks, each with the errno BPF_MAP_CREATE answers for it.
 *
 * @module
 */
import { flagNames } from './enum.js';
import { Errno } from '../errno.js';
import { MapFlags } from './flags.js';
import { MapType, mapTypeName } from './map-type.js';
import { MAP_CHECK_ORDER, mapTypeRules } from './map-rules.js';
import type { MapCheck, MapEntriesRule, MapSizeRule, MapTypeRules } from './map-rules.js';
import type { MapSpec } from '../interfaces.js';

/**
 * What else decides a BPF_MAP_CREATE besides the spec.
 *
 * @example
 * const spec: MapSpec = { type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 1000 };
 * mapSpecViolations(spec, { pageSize: 4096, possibleCpus: 8, numaNodes: 1 } satisfies MapRuleContext);
 * // [{ rule: 'max-entries', errno: 22, message: 'ringbuf max_entries is the buffer size in bytes: a power of two multiple of the page size (4096), got 1000', … }]
 */
export interface MapRuleContext {
  /** Bytes of a page (ring buffer sizes, arena pages and addresses); 4096 when absent. */
  readonly pageSize?: number;
  /** Possible CPUs: LRU maps with BPF_F_NO_COMMON_LRU round max_entries to a multiple of them; 1 when absent. */
  readonly possibleCpus?: number;
  /** Online NUMA nodes (0 to n - 1); a node is not checked when absent. */
  readonly numaNodes?: number;
  /** Whether BTF for key and value goes with the creation; when absent, whether the spec names both type ids. */
  readonly btf?: boolean;
  /** `btf_vmlinux_value_type_id` (struct_ops maps). */
  readonly vmlinuxValueTypeId?: number;
  /** `NR_CPUS` of the kernel build (/sys/devices/system/cpu/kernel_max + 1), the most entries of a cpumap; unchecked when absent. */
  readonly nrCpus?: number;
  /** `kernel.perf_event_max_stack`, the most frames of a stack_trace value; 127 (its default) when absent. */
  readonly perfEventMaxStack?: number;
}

/**
 * The rule a violation breaks: `map-type`, `map-extra`, `access-flags`,
 * `numa-node` and `vmlinux-type` are also map_create's own, for every type.
 *
 * @example
 * const rule: MapRule = 'key-size';
 */
export type MapRule =
  | 'map-type'
  | 'map-extra'
  | 'access-flags'
  | 'numa-node'
  | 'vmlinux-type'
  | 'flags'
  | 'required-flags'
  | 'exclusive-flags'
  | 'key-size'
  | 'value-size'
  | 'max-entries'
  | 'btf'
  | 'inner-map'
  | 'placement';

/**
 * One creation rule a spec breaks.
 *
 * @example
 * const v: MapRuleViolation = { rule: 'max-entries', errno: Errno.EINVAL, message: 'hash maps need max_entries > 0', common: false };
 */
export interface MapRuleViolation {
  readonly rule: MapRule;
  /** What BPF_MAP_CREATE answers when this is the first rule the spec breaks. */
  readonly errno: number;
  /** The rule, and what the spec gave. */
  readonly message: string;
  /** Checked by map_create() for every map type, before the type's own checks. */
  readonly common: boolean;
}

const names = (flags: number): string => flagNames(MapFlags, flags).join(', ');
const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0 && n <= 2 ** 31;
/** The hash table's buckets (16 bytes each) are sized by a u32: at most 2^27 of them after rounding up to a power of two. */
const MAX_HASH_BUCKETS = Math.floor(0xffffffff / 16);

function roundUpPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * `max_entries` as the kernel keeps it: LRU maps with BPF_F_NO_COMMON_LRU
 * give each CPU the same share, so it is rounded up to a multiple of the
 * CPUs (down, on u32 overflow; hashtab.c htab_map_alloc()).
 *
 * @example
 * effectiveMaxEntries({ type: MapType.LRU_HASH, maxEntries: 5, flags: MapFlags.NO_COMMON_LRU }, 2); // 6
 */
export function effectiveMaxEntries(spec: Pick<MapSpec, 'type' | 'maxEntries' | 'flags'>, possibleCpus: number): number {
  if (!mapTypeRules(spec.type)?.lru || ((spec.flags ?? 0) & MapFlags.NO_COMMON_LRU) === 0) return spec.maxEntries;
  const n = spec.maxEntries;
  return n + possibleCpus - 1 > 0xffffffff ? Math.floor(n / possibleCpus) * possibleCpus : Math.ceil(n / possibleCpus) * possibleCpus;
}

/**
 * The creation rules of Linux 6.18 that `spec` breaks, from the map rules
 * table: map_create()'s own checks first, then the map type's in the order
 * the kernel makes them, so the first violation's errno is the one
 * BPF_MAP_CREATE answers. Empty when the kernel would create the map (as
 * far as rules go: memory, privileges, a missing kernel feature or a
 * struct_ops value size are not checked). An inner map spec is not checked,
 * only whether its type may be one.
 *
 * @example
 * mapSpecViolations({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 5000 }, { pageSize: 4096 });
 * // [{ rule: 'max-entries', errno: 22, common: false,
 * //    message: 'ringbuf max_entries is the buffer size in bytes: a power of two multiple of the page size (4096), got 5000' }]
 */
export function mapSpecViolations(spec: MapSpec, ctx: MapRuleContext = {}): MapRuleViolation[] {
  const flags = ((spec.flags ?? 0) | (spec.numaNode !== undefined ? MapFlags.NUMA_NODE : 0)) & ~MapFlags.TOKEN_FD;
  const r = mapTypeRules(spec.type);
  const common: MapRuleViolation[] = [];
  const add = (rule: MapRule, errno: number, message: string) => common.push({ rule, errno, message, common: true });
  // syscall.c map_create(), in its order.
  if (ctx.vmlinuxValueTypeId && spec.type !== MapType.STRUCT_OPS) {
    add(
      'vmlinux-type',
      Errno.EINVAL,
      `btf_vmlinux_value_type_id is only for struct_ops maps, got ${ctx.vmlinuxValueTypeId} for ${mapTypeName(spec.type)}`,
    );
  }
  if (spec.mapExtra !== undefined && spec.mapExtra !== 0n && r?.mapExtra !== 'hash-count' && r?.mapExtra !== 'address') {
    add(
      'map-extra',
      Errno.EINVAL,
      `map_extra is only for bloom_filter (hash count) and arena (address) maps, got ${spec.mapExtra} for ${mapTypeName(spec.type)}`,
    );
  }
  if ((flags & MapFlags.RDONLY) !== 0 && (flags & MapFlags.WRONLY) !== 0) {
    add('access-flags', Errno.EINVAL, 'flags rdonly and wronly exclude each other');
  }
  const node = (flags & MapFlags.NUMA_NODE) !== 0 ? (spec.numaNode ?? 0) : undefined;
  if (node !== undefined && ctx.numaNodes !== undefined && node >= ctx.numaNodes) {
    add('numa-node', Errno.EINVAL, `NUMA node ${node} is not online (nodes 0 to ${ctx.numaNodes - 1} are)`);
  }
  if (r === undefined) {
    add('map-type', Errno.EINVAL, `unknown map type ${spec.type}: Linux 6.18 knows map types 1 to ${MapType.ARENA}`);
    return common;
  }
  return [...common, ...typeViolations(spec, flags, r, ctx)];
}

interface Found {
  check: MapCheck;
  violation: MapRuleViolation;
}

/** The map type's own checks, sorted into the kernel's order. */
function typeViolations(spec: MapSpec, flags: number, r: MapTypeRules, ctx: MapRuleContext): MapRuleViolation[] {
  const type = mapTypeName(spec.type);
  const page = ctx.pageSize ?? 4096;
  const found: Found[] = [];
  const add = (check: MapCheck, rule: MapRule, errno: number, message: string) => {
    found.push({ check, violation: { rule, errno, message, common: false } });
  };

  // Flags: the type's mask, the flags refused with a reason of their own, the required and the exclusive ones.
  const refusedOwn = r.flagRefusals.reduce((bits, f) => bits | f.flag, 0);
  const extra = flags & ~r.flags & ~refusedOwn;
  if (extra !== 0)
    add('flags', 'flags', Errno.EINVAL, `${type} maps do not take flag${flagNames(MapFlags, extra).length > 1 ? 's' : ''} ${names(extra)}`);
  // bpf_map_flags_access_ok(): programs cannot be limited to both reading and writing.
  if ((flags & MapFlags.RDONLY_PROG) !== 0 && (flags & MapFlags.WRONLY_PROG) !== 0 && (r.flags & MapFlags.WRONLY_PROG) !== 0) {
    add('flags', 'flags', Errno.EINVAL, 'flags rdonly_prog and wronly_prog exclude each other');
  }
  for (const f of r.flagRefusals) if ((flags & f.flag) !== 0) add('flag-refusals', 'flags', f.errno, f.reason);
  const missing = r.requiredFlags & ~flags;
  if (missing !== 0) add('required-flags', 'required-flags', Errno.EINVAL, `${type} maps need flag ${names(missing)}`);
  for (const {
    flags: [a, b],
    why,
  } of r.exclusiveFlags) {
    if ((flags & a) !== 0 && (flags & b) !== 0)
      add('exclusive-flags', 'exclusive-flags', Errno.EINVAL, `${type} maps take flags ${names(a)} and ${names(b)}, not both (${why})`);
  }

  checkSize(type, 'key', spec.keySize, r.key, flags, ctx, add);
  checkSize(type, 'value', spec.valueSize, r.value, flags, ctx, add);
  if (r.keyValueMax !== undefined && spec.keySize + spec.valueSize > r.keyValueMax) {
    add(
      'key-limit',
      'value-size',
      Errno.E2BIG,
      `${type} keys and values together are at most ${r.keyValueMax} bytes (an element is one kmalloc), got ${spec.keySize} + ${spec.valueSize}`,
    );
  }
  checkEntries(type, spec, flags, r.maxEntries, ctx, add);

  if (r.mapExtra === 'hash-count' && spec.mapExtra !== undefined && (spec.mapExtra < 0n || spec.mapExtra > 15n)) {
    add(
      'map-extra',
      'map-extra',
      Errno.EINVAL,
      `${type} map_extra is the number of hash functions, 0 (default 5) to 15, got ${spec.mapExtra}`,
    );
  }
  if (r.mapExtra === 'address' && spec.mapExtra !== undefined) {
    if (spec.mapExtra % BigInt(page) !== 0n) {
      add('map-extra', 'map-extra', Errno.EINVAL, `${type} map_extra is a page-aligned user address, got 0x${spec.mapExtra.toString(16)}`);
    } else if (spec.maxEntries > 0 && spec.maxEntries * page <= 2 ** 32) {
      // arena.c: the user mapping must not cross a 4 GiB boundary (ERANGE).
      const end = spec.mapExtra + BigInt(spec.maxEntries * page) - 1n;
      if (spec.mapExtra >> 32n !== end >> 32n) {
        add(
          'placement',
          'placement',
          Errno.ERANGE,
          `${type} pages must not cross a 4 GiB boundary of user addresses: 0x${spec.mapExtra.toString(16)} + ${spec.maxEntries} pages does`,
        );
      }
    }
  }
  const btf = ctx.btf ?? (Boolean(spec.btfKeyTypeId) && Boolean(spec.btfValueTypeId));
  if (r.keyValueBtf === 'required' && !btf) add('btf', 'btf', Errno.EINVAL, `${type} maps need BTF for key and value`);
  if (r.vmlinuxValueType && !ctx.vmlinuxValueTypeId) {
    add('vmlinux-type', 'vmlinux-type', Errno.EINVAL, `${type} maps need the vmlinux BTF id of their value type (bpf_struct_ops_<name>)`);
  }
  if (r.innerMap) checkInner(type, spec.innerMap, add);

  const rank = (c: MapCheck) => (r.checkFirst.includes(c) ? r.checkFirst.indexOf(c) : r.checkFirst.length + MAP_CHECK_ORDER.indexOf(c));
  // Array.prototype.sort is stable: within one check, the order above stays.
  return found.sort((x, y) => rank(x.check) - rank(y.check)).map((f) => f.violation);
}

type Add = (check: MapCheck, rule: MapRule, errno: number, message: string) => void;

function checkSize(
  type: string,
  field: 'key' | 'value',
  size: number,
  rule: MapSizeRule,
  flags: number,
  ctx: MapRuleContext,
  add: Add,
): void {
  const attr = `${field}_size`;
  const rule_ = field === 'key' ? 'key-size' : 'value-size';
  const shape: MapCheck = field === 'key' ? 'key-size' : 'value-size';
  switch (rule.kind) {
    case 'one-of':
      if (!rule.sizes.includes(size))
        add(shape, rule_, Errno.EINVAL, `${type} ${field}s are ${rule.sizes.join(' or ')} bytes${rule.what ?? ''}, got ${attr} ${size}`);
      return;
    case 'range': {
      const described = () => `${type} ${field}s are ${rule.what} (${rule.min} to ${rule.max} bytes), got ${attr} ${size}`;
      if (size < rule.min) {
        add(shape, rule_, Errno.EINVAL, rule.what !== undefined ? described() : `${type} maps need ${attr} > ${rule.min - 1}`);
      } else if (rule.max !== undefined && size > rule.max) {
        const errno = rule.aboveMax ?? Errno.EINVAL;
        const message =
          rule.what !== undefined ? described() : `${type} ${field}s are at most ${rule.max} bytes (${rule.limit}), got ${attr} ${size}`;
        add(errno === Errno.E2BIG ? (field === 'key' ? 'key-limit' : 'value-limit') : shape, rule_, errno, message);
      }
      return;
    }
    case 'stack-frames': {
      // stackmap.c stack_map_alloc(): u64 addresses, or struct bpf_stack_build_id (32 bytes) with the flag.
      const buildId = (flags & MapFlags.STACK_BUILD_ID) !== 0;
      const unit = buildId ? 32 : 8;
      const most = ctx.perfEventMaxStack ?? 127;
      if (size < unit || size % unit !== 0) {
        add(
          shape,
          rule_,
          Errno.EINVAL,
          `${type} ${field}s are a multiple of ${unit} bytes (${buildId ? 'struct bpf_stack_build_id' : 'u64 addresses'}), got ${attr} ${size}`,
        );
      } else if (size / unit > most) {
        add(
          shape,
          rule_,
          Errno.EINVAL,
          `${type} ${field}s hold at most ${most} frames (kernel.perf_event_max_stack) of ${unit} bytes, got ${attr} ${size}`,
        );
      }
      return;
    }
    case 'vmlinux-struct':
      return;
  }
}

function checkEntries(type: string, spec: MapSpec, flags: number, rule: MapEntriesRule, ctx: MapRuleContext, add: Add): void {
  const n = spec.maxEntries;
  const page = ctx.pageSize ?? 4096;
  switch (rule.kind) {
    case 'positive':
      if (n === 0) add('max-entries', 'max-entries', Errno.EINVAL, `${type} maps need max_entries > 0`);
      else if (rule.max !== undefined && n > rule.max)
        add('entries-limit', 'max-entries', Errno.E2BIG, `${type} maps take at most ${rule.max} entries, got max_entries ${n}`);
      return;
    case 'cpus':
      if (n === 0) add('max-entries', 'max-entries', Errno.EINVAL, `${type} maps need max_entries > 0`);
      else if (ctx.nrCpus !== undefined && n > ctx.nrCpus)
        add('entries-limit', 'max-entries', Errno.E2BIG, `${type} maps take at most NR_CPUS (${ctx.nrCpus}) entries, got max_entries ${n}`);
      return;
    case 'hash-buckets': {
      if (n === 0) {
        add('max-entries', 'max-entries', Errno.EINVAL, `${type} maps need max_entries > 0`);
        return;
      }
      const effective = effectiveMaxEntries({ type: spec.type, maxEntries: n, flags }, ctx.possibleCpus ?? 1);
      if (effective > 2 ** 31 || roundUpPow2(effective) > MAX_HASH_BUCKETS) {
        add(
          'entries-limit',
          'max-entries',
          Errno.E2BIG,
          `${type} maps take at most ${2 ** 27} entries (hash buckets), got max_entries ${n}${effective !== n ? ` (${effective} for the CPUs)` : ''}`,
        );
      }
      return;
    }
    case 'exactly':
      if (n !== rule.count)
        add('max-entries', 'max-entries', Errno.EINVAL, `${type} maps take max_entries ${rule.count} (${rule.why}), got ${n}`);
      return;
    case 'ring-bytes':
      if (!isPowerOfTwo(n) || n % page !== 0) {
        add(
          'max-entries',
          'max-entries',
          Errno.EINVAL,
          `${type} max_entries is the buffer size in bytes: a power of two multiple of the page size (${page}), got ${n}`,
        );
      }
      return;
    case 'arena-pages':
      if (n === 0) add('max-entries', 'max-entries', Errno.EINVAL, `${type} maps need max_entries (pages) > 0`);
      else if (n * page > 2 ** 32)
        add('entries-limit', 'max-entries', Errno.E2BIG, `${type} maps are at most 4 GiB (${2 ** 32 / page} pages), got ${n} pages`);
      return;
  }
}

/** map_in_map.c bpf_map_meta_alloc(): the template exists, is no map-in-map, and may be an inner map. */
function checkInner(type: string, inner: MapSpec | undefined, add: Add): void {
  if (inner === undefined) {
    add('inner-map', 'inner-map', Errno.EINVAL, `${type} maps need an inner map (spec.innerMap, the template of the maps they hold)`);
    return;
  }
  const errno = mapTypeRules(inner.type)?.asInnerMap ?? 0;
  if (errno === Errno.EINVAL)
    add('inner-map', 'inner-map', errno, `maps of maps nest one level only: the inner map is a ${mapTypeName(inner.type)} map`);
  else if (errno !== 0) add('inner-map', 'inner-map', errno, `${mapTypeName(inner.type)} maps cannot be inner maps`);
}
