/**
 * The name of a kernel enum member as bpfkit spells it: lower case, without
 * the uapi prefix (`BPF_MAP_TYPE_PERCPU_ARRAY` → `'percpu_array'`).
 */
export type LowerName<K> = K extends string ? Lowercase<K> : never;

/** What {@link defineKernelEnum} returns: lookups between numbers and names. */
export interface KernelEnum<V extends number, N extends string> {
  /** The uapi prefix of the members, e.g. `'BPF_MAP_TYPE_'`. */
  readonly prefix: string;
  /**
   * The canonical lower-case name of `value`, or `unknown(N)` for a number the
   * enum does not define. Where the kernel has two names for one number, the
   * canonical one is the name that is not marked as an alias.
   */
  name(value: number): N | `unknown(${number})`;
  /**
   * The number for `name`, accepting the canonical name (`'hash'`), upper
   * case (`'HASH'`), the full uapi name (`'BPF_MAP_TYPE_HASH'`) and aliases;
   * `undefined` when nothing matches.
   */
  fromName(name: string): V | undefined;
  /** Whether `value` is a number the enum defines. */
  has(value: number): value is V;
  /** Every canonical name, in numeric order. */
  readonly names: readonly N[];
}

/**
 * Builds the name and number lookups of one kernel enum from its table, so
 * every enum of bpfkit (map types, program types, attach types, link types,
 * helpers) is looked up the same way.
 *
 * @param prefix The uapi prefix stripped from the member names, e.g. `'BPF_MAP_TYPE_'`.
 * @param values The table: member name without prefix → number.
 * @param options.aliases Members that are second names for a number the table
 *   already names; lookups accept them but {@link KernelEnum.name} never returns them.
 * @param options.extraPrefixes Further prefixes `fromName` strips, e.g. `'bpf_'`
 *   for helpers so that the C function name `bpf_map_lookup_elem` resolves.
 *
 * @example
 * const Color = { RED: 0, GREEN: 1 } as const;
 * const color = defineKernelEnum('COLOR_', Color);
 * color.name(1);               // 'green'
 * color.name(7);               // 'unknown(7)'
 * color.fromName('COLOR_RED'); // 0
 */
export function defineKernelEnum<const T extends Readonly<Record<string, number>>, A extends keyof T & string = never>(
  prefix: string,
  values: T,
  options: { aliases?: readonly A[]; extraPrefixes?: readonly string[] } = {},
): KernelEnum<T[keyof T], LowerName<Exclude<keyof T, A>>> {
  type V = T[keyof T];
  type N = LowerName<Exclude<keyof T, A>>;
  const aliases = new Set<string>(options.aliases ?? []);
  const byValue = new Map<number, N>();
  const byName = new Map<string, V>();
  for (const [key, value] of Object.entries(values)) {
    const lower = key.toLowerCase();
    if (byName.has(lower)) throw new Error(`defineKernelEnum(${prefix}): duplicate name ${key}`);
    byName.set(lower, value as V);
    if (aliases.has(key)) continue;
    if (byValue.has(value)) throw new Error(`defineKernelEnum(${prefix}): ${key} repeats the number ${value} without being an alias`);
    byValue.set(value, lower as N);
  }
  for (const alias of aliases) {
    if (!Object.hasOwn(values, alias)) throw new Error(`defineKernelEnum(${prefix}): alias ${alias} is not a member`);
  }
  const prefixes = [prefix, ...(options.extraPrefixes ?? [])].map((p) => p.toLowerCase());
  const names = [...byValue.entries()].sort((a, b) => a[0] - b[0]).map(([, n]) => n);

  return {
    prefix,
    names,
    name(value: number): N | `unknown(${number})` {
      return byValue.get(value) ?? `unknown(${value})`;
    },
    fromName(name: string): V | undefined {
      if (typeof name !== 'string') return undefined;
      const lower = name.trim().toLowerCase();
      const direct = byName.get(lower);
      if (direct !== undefined) return direct;
      for (const p of prefixes) {
        if (lower.startsWith(p)) {
          const found = byName.get(lower.slice(p.length));
          if (found !== undefined) return found;
        }
      }
      return undefined;
    },
    has(value: number): value is V {
      return byValue.has(value);
    },
  };
}

/**
 * The names of the bits set in `flags`, lower case and without prefix, in bit
 * order; bits the table does not name are reported as `unknown(0x…)`.
 * Zero-valued members (such as `BPF_ANY`) are never listed.
 *
 * @example
 * flagNames(MapFlags, MapFlags.NO_PREALLOC | MapFlags.MMAPABLE); // ['no_prealloc', 'mmapable']
 * flagNames(AttachFlags, 1 << 30);                               // ['unknown(0x40000000)']
 */
export function flagNames(table: Readonly<Record<string, number>>, flags: number): string[] {
  const out: string[] = [];
  let rest = flags >>> 0;
  const members = Object.entries(table)
    .filter(([, bit]) => bit !== 0)
    .sort((a, b) => (a[1] >>> 0) - (b[1] >>> 0));
  for (const [key, bit] of members) {
    if ((rest & bit) >>> 0 === bit >>> 0) {
      out.push(key.toLowerCase());
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest !== 0) out.push(`unknown(0x${rest.toString(16)})`);
  return out;
}

/**
 * Turns a table of "introduced in Linux X" versions, keyed by canonical name,
 * into a lookup by number (`undefined` for numbers the enum does not define).
 *
 * @example
 * const since = minimumKernelLookup(defineKernelEnum('C_', { A: 0 } as const), { a: '5.8' });
 * since(0); // '5.8'
 */
export function minimumKernelLookup<V extends number, N extends string>(
  kernelEnum: KernelEnum<V, N>,
  since: Readonly<Record<N, string>>,
): (value: number) => string | undefined {
  return (value) => (kernelEnum.has(value) ? since[kernelEnum.name(value) as N] : undefined);
}
