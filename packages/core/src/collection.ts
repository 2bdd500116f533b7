import type { LoadProgramOptions } from './load-program-options.js';
import type { Codec } from './codecs/codec.js';
import { InvalidArgumentError } from './errors.js';
import type { Map, MapCodecs, MapSpec, Program } from './interfaces.js';
import { MapBase } from './map-base.js';
import { mapDifferences, MapMismatchError } from './map-compat.js';

/** A value for a global variable: an integer (number or bigint) or boolean for integer types, or raw bytes of the exact size. */
export type GlobalValue = number | bigint | boolean | Uint8Array;

/** Where a {@link CollectionOptions.onProgress | collection load} is: about to load program `program`. */
export interface LoadProgress {
  /** The program about to be loaded (its function name). */
  program: string;
  /** Programs done before this one (loaded or left out). */
  done: number;
  /** Programs to load in all. */
  total: number;
}

/** How a backend loads an object ({@link System.loadCollection}). */
export interface CollectionOptions {
  /** Values for `const volatile` globals (in `.rodata*`), set before load. */
  constants?: Record<string, GlobalValue>;
  /** Existing maps to use instead of creating the object's maps of those names (checked for compatibility). */
  mapReplacements?: Record<string, Map<unknown, unknown>>;
  /**
   * Directory (bpffs on the kernel) where maps with `pinning:
   * LIBBPF_PIN_BY_NAME` are reused (after a compatibility check) or created
   * and pinned.
   */
  pinPath?: string;
  /** Create maps that ask to be pinned (by name, or at a path of their own) without pinning them (no `pinPath` needed). */
  ignorePinning?: boolean;
  /** Load only these programs (by function name); the others are left out. Default: all. `[]`: maps and globals only. */
  programs?: readonly string[];
  /**
   * What a program the kernel (or the mock's VM) refuses does to the load:
   * `'throw'` (default) closes everything and throws; `'skip'` leaves that
   * program out — one failed load, the rest of the collection as it is —
   * records its error in {@link Collection.programErrors}, adds a warning,
   * and leaves the prog array slots that would have held it empty.
   */
  programErrors?: 'throw' | 'skip';
  /**
   * Called before each program is loaded (the verifier's part of a load is
   * most of its time): its name, how many were loaded (or left out) before
   * it, and how many there are. The CLI's progress line on a terminal.
   */
  onProgress?: (progress: LoadProgress) => void;
  /** Verifier log options for every program: level 1 (default) or 2, or 0 for none; first buffer size; keep the log of successful loads too (`KernelProgram.verifierLog`). */
  load?: Pick<LoadProgramOptions, 'logLevel' | 'logSize' | 'logAlways'>;
  /**
   * Kernel BTF to resolve CO-RE relocations, ksyms and attach points
   * against: a path or bytes of a BTF file (for a kernel without
   * `/sys/kernel/btf/vmlinux`). Default: the running kernel's BTF.
   */
  kernelBtf?: string | Uint8Array;
  /**
   * Kernel config values for `__kconfig` externs, added to (and overriding)
   * the running kernel's (`/proc/config.gz` or `/boot/config-<release>`):
   * config text (`CONFIG_X=y` lines) or name → value. For kernels whose
   * config is not on the machine.
   */
  kconfig?: string | Readonly<Record<string, string>>;
}

/** Where one global variable lives: its section's map, offset and size, and whether it reads as an integer. */
export interface GlobalVariableLayout {
  name: string;
  section: string;
  offset: number;
  size: number;
  /** For integer types of at most 8 bytes (by BTF): their sign. */
  int?: { signed: boolean };
}

const ZERO_KEY = new Uint8Array(4);

/**
 * One global variable of a loaded object (`.data`, `.bss`, `.rodata`…),
 * read and written through its section's map. Integers (by their BTF type)
 * read as bigint, anything else as bytes. A read-modify-write of one
 * variable is not atomic against a program writing the same section.
 *
 * @example
 * using coll = system.loadCollection('counter.bpf.o');
 * coll.variables.packets.get(); // 2n
 * coll.variables.enabled.set(true);
 */
export class CollectionVariable {
  readonly name: string;
  readonly section: string;
  readonly offset: number;
  readonly size: number;
  readonly #map: Map;
  readonly #int: { signed: boolean } | undefined;

  constructor(layout: GlobalVariableLayout, map: Map) {
    this.name = layout.name;
    this.section = layout.section;
    this.offset = layout.offset;
    this.size = layout.size;
    this.#map = map;
    this.#int = layout.int;
  }

  /** Whether programs and user space can only read it (`.rodata*`: frozen after load). */
  get readOnly(): boolean {
    return this.section.startsWith('.rodata');
  }

  /** The variable's bytes. */
  bytes(): Uint8Array {
    const value = this.#map.lookup(ZERO_KEY) as Uint8Array;
    return value.slice(this.offset, this.offset + this.size);
  }

  /** The value: a bigint for integer types (sign from BTF), bytes otherwise. */
  get(): bigint | Uint8Array {
    const b = this.bytes();
    if (!this.#int) return b;
    let v = 0n;
    for (let i = this.size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    return this.#int.signed ? BigInt.asIntN(this.size * 8, v) : v;
  }

  /** Writes the variable (integers range-checked; bytes of the exact size). */
  set(value: GlobalValue): void {
    if (this.readOnly)
      throw new InvalidArgumentError(`variable '${this.name}'`, 'a writable global (.data or .bss): .rodata is frozen once loaded', value);
    const bytes = encodeGlobal(this.name, value, this.size, this.#int);
    const whole = this.#map.lookup(ZERO_KEY) as Uint8Array;
    whole.set(bytes, this.offset);
    this.#map.update(ZERO_KEY, whole);
  }
}

/** A global's value in host (little-endian) byte order, range-checked for integers. */
function encodeGlobal(name: string, value: GlobalValue, size: number, int: { signed: boolean } | undefined): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.byteLength !== size) throw new InvalidArgumentError(`variable '${name}'`, `${size} bytes`, value);
    return value;
  }
  if (!int) throw new InvalidArgumentError(`variable '${name}'`, `${size} raw bytes (its type is not an integer)`, value);
  if (typeof value === 'number' && !Number.isInteger(value)) throw new InvalidArgumentError(`variable '${name}'`, 'an integer', value);
  const n = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
  const bits = BigInt(size * 8);
  const min = int.signed ? -(1n << (bits - 1n)) : 0n;
  const max = int.signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (n < min || n > max) throw new InvalidArgumentError(`variable '${name}'`, `an integer from ${min} to ${max}`, value);
  const out = new Uint8Array(size);
  let u = BigInt.asUintN(size * 8, n);
  for (let i = 0; i < size; i++, u >>= 8n) out[i] = Number(u & 0xffn);
  return out;
}

/**
 * An object's maps and programs, loaded. Closing it closes every map and
 * program it created (pinned maps stay pinned; replacement maps stay open).
 *
 * @example
 * using coll = system.loadCollection('counter.bpf.o', { constants: { target_pid: process.pid } });
 * coll.programs.count_packets.testRun({ data: packet });
 * coll.variables.packets.get(); // 1n
 */
export class Collection implements Disposable {
  readonly #owned: readonly { close(): void }[];
  readonly #typeCodec: ((type: string) => Codec<unknown> | undefined) | undefined;
  /** The object's global variables by name, read and written through their section's map. */
  readonly variables: Record<string, CollectionVariable>;

  /**
   * What each entry of {@link Collection.maps} is: a map the object declared
   * (`'map'`), a global data section (`'global-data'`: `.bss`, `.data*`,
   * `.rodata*`), the `.kconfig` values (`'kconfig'`), or a struct_ops map.
   */
  readonly mapKinds: Readonly<Record<string, CollectionMapKind>>;
  readonly #mapTypes: Readonly<Record<string, CollectionMapTypes>>;
  /** The programs refused and left out with `programErrors: 'skip'`, and why (a `VerifierError` with its log, or a `BpfError`). */
  readonly programErrors: Readonly<Record<string, Error>>;

  constructor(
    readonly maps: Record<string, Map>,
    readonly programs: Record<string, Program>,
    owned: readonly { close(): void }[],
    /** What the loader did differently from what the object asked, e.g. BTF it could not load. */
    readonly warnings: readonly string[] = [],
    variables: readonly GlobalVariableLayout[] = [],
    /** Builds a codec for a type of the object's BTF by name; undefined when it has none of that name. */
    typeCodec?: (type: string) => Codec<unknown> | undefined,
    /** The object's BTF key and value types of its maps, which maps are struct_ops maps, programs refused and skipped. */
    described: {
      mapTypes?: Readonly<Record<string, CollectionMapTypes>>;
      structOps?: readonly string[];
      programErrors?: Readonly<Record<string, Error>>;
    } = {},
  ) {
    this.#owned = owned;
    this.programErrors = described.programErrors ?? {};
    this.#typeCodec = typeCodec;
    this.#mapTypes = described.mapTypes ?? {};
    const structOps = new Set(described.structOps ?? []);
    this.mapKinds = Object.fromEntries(
      Object.keys(maps).map((name): [string, CollectionMapKind] => [
        name,
        name === '.kconfig' ? 'kconfig' : GLOBAL_DATA.test(name) ? 'global-data' : structOps.has(name) ? 'struct_ops' : 'map',
      ]),
    );
    this.variables = {};
    for (const v of variables) {
      const map = maps[v.section];
      if (map) this.variables[v.name] = new CollectionVariable(v, map);
    }
  }

  /**
   * A codec for a type of the object's BTF, by name (`'struct event'`,
   * `'event'`, a typedef): ring buffer records and map values decoded into
   * objects by member name without writing offsets by hand (integers up to
   * 32 bits as numbers, 64-bit ones and pointers as bigints, `char` arrays
   * as strings, bitfields and anonymous members as C lays them out).
   *
   * @example
   * using coll = system.loadCollection('events.bpf.o');
   * using reader = system.openRingBuffer(coll.maps.events, { codec: coll.codec<{ pid: number; comm: string }>('struct event') });
   * for await (const e of reader) console.log(e.pid, e.comm);
   */
  codec<T = Record<string, unknown>>(type: string): Codec<T> {
    if (typeof type !== 'string' || !type) throw new InvalidArgumentError('codec: type', "a type name of the object's BTF", type);
    const codec = this.#typeCodec?.(type);
    if (!codec) {
      throw new InvalidArgumentError(
        'codec: type',
        this.#typeCodec ? "a type the object's BTF defines" : 'an object with BTF (compile with -g)',
        type,
      );
    }
    return codec as Codec<T>;
  }

  /**
   * One of the collection's maps seen through codecs, checked against the
   * map (key and value sizes, as aya's `check_kv_size` does) and, where the
   * object declares the map's key or value with a struct or union type in
   * its BTF, against that type: a codec named `struct x` (as
   * {@link Collection.codec} names them) must be for that struct. The view
   * shares the map (the collection still owns it). Per-CPU maps: see
   * {@link Collection.typedPerCpuMap}.
   *
   * @example
   * import { u64 } from '@bpfkit/core';
   * using coll = system.loadCollection('flows.bpf.o');
   * const flows = coll.typedMap('flows', { key: coll.codec('struct flow'), value: u64 });
   * for (const [flow, packets] of flows) console.log(flow, packets);
   */
  typedMap<K, V>(name: string, codecs: MapCodecs<K, V>): Map<K, V> {
    return this.#base(name, codecs).withCodecs(codecs);
  }

  /**
   * {@link Collection.typedMap} for per-CPU maps: `codecs.value` is one
   * CPU's value, and values come as arrays with one value per possible CPU.
   *
   * @example
   * import { u32, u64 } from '@bpfkit/core';
   * using coll = system.loadCollection('counters.bpf.o');
   * const perCpu = coll.typedPerCpuMap('packets', { key: u32, value: u64 });
   * const total = (perCpu.lookup(0) ?? []).reduce((a, b) => a + b, 0n);
   */
  typedPerCpuMap<K, V>(name: string, codecs: MapCodecs<K, V>): Map<K, V[]> {
    return this.#base(name, codecs).withPerCpuCodecs(codecs);
  }

  #base(name: string, codecs: MapCodecs<unknown, unknown>): MapBase<unknown, unknown> {
    const map = Object.hasOwn(this.maps, name) ? this.maps[name] : undefined;
    if (!map) throw new InvalidArgumentError('typedMap: name', `one of the collection's maps (${Object.keys(this.maps).join(', ')})`, name);
    if (!(map instanceof MapBase)) throw new InvalidArgumentError('typedMap: map', 'a map of a bpfkit backend', name);
    const types = this.#mapTypes[name];
    if (typeof codecs === 'object' && codecs !== null) {
      for (const part of ['key', 'value'] as const) {
        const declared = types?.[part];
        const codec = codecs[part] as Codec<unknown> | undefined;
        if (!declared || !codec || typeof codec.name !== 'string') continue;
        const aggregate = /^(struct|union) /.test(codec.name);
        if (aggregate && /^(struct|union) /.test(declared.name) && codec.name !== declared.name) {
          throw new InvalidArgumentError(
            `map '${name}': ${part} codec`,
            `a codec of ${declared.name} (the object's BTF type of the map's ${part})`,
            codec.name,
          );
        }
      }
    }
    return map;
  }

  close(): void {
    for (const o of this.#owned) o.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** What an entry of `Collection.maps` is: see {@link Collection.mapKinds}. */
export type CollectionMapKind = 'map' | 'global-data' | 'kconfig' | 'struct_ops';

/** A map's key and value types as the object's BTF declares them (`'struct flow'`, `'__u64'`) and their sizes. */
export interface CollectionMapTypes {
  key?: { name: string; size: number };
  value?: { name: string; size: number };
}

const GLOBAL_DATA = /^\.(data|rodata|bss)(\..+)?$/;

/** One map a collection creates: its spec, and whether the object asks to pin it by name. */
export interface CollectionMapPlan {
  name: string;
  spec: MapSpec;
  pinByName: boolean;
  /** A path the object asks the map to be pinned at (goebpf's `persistent_path`): reused when a compatible map is pinned there. */
  pinAt?: string;
}

/** One global data section (or `.kconfig`) a collection creates as a single-entry array. */
export interface CollectionGlobalPlan {
  section: string;
  spec: MapSpec;
  contents: Uint8Array;
  /** Frozen once written. */
  readOnly: boolean;
}

/** How a backend makes maps for a collection. */
export interface CollectionMapFactory {
  create(spec: MapSpec): Map;
  /** Opens the map pinned at `pinPath` after checking it against `spec`, or creates and pins it. */
  openOrCreate(spec: MapSpec, pinPath: string): Map;
}

/**
 * Creates (or reuses) a collection's maps, the same way on every backend:
 * replacements are checked against the spec ({@link MapMismatchError}
 * naming every difference) and used as they are; maps pinned by name are
 * opened or created under `options.pinPath`; global data is written and
 * `.rodata`/`.kconfig` frozen. Everything created is appended to `owned`.
 *
 * @example
 * declare const plan: { maps: CollectionMapPlan[]; globals: CollectionGlobalPlan[] }; // planCollection() of @bpfkit/elf
 * const owned: { close(): void }[] = [];
 * const maps = createCollectionMaps(plan.maps, plan.globals, {}, {
 *   create: (s) => system.createMap(s),
 *   openOrCreate: (s, pinPath) => system.openOrCreateMap(s, { pinPath }),
 * }, owned);
 */
export function createCollectionMaps(
  maps: readonly CollectionMapPlan[],
  globals: readonly CollectionGlobalPlan[],
  options: CollectionOptions,
  factory: CollectionMapFactory,
  owned: { close(): void }[],
): Record<string, Map> {
  const out: Record<string, Map> = {};
  for (const name of Object.keys(options.mapReplacements ?? {})) {
    if (!maps.some((m) => m.name === name)) {
      throw new InvalidArgumentError(
        `options.mapReplacements: '${name}'`,
        `one of the object's maps (${maps.map((m) => m.name).join(', ')})`,
        name,
      );
    }
  }
  for (const { name, spec, pinByName, pinAt } of maps) {
    const replacement = options.mapReplacements?.[name];
    if (replacement) {
      const differences = mapDifferences(replacement.info(), spec);
      if (differences.length) throw new MapMismatchError(`replacement for map '${name}'`, differences);
      out[name] = replacement as Map;
      continue;
    }
    let map: Map;
    if (pinAt !== undefined && !options.ignorePinning) {
      map = factory.openOrCreate(spec, pinAt);
    } else if (pinByName && !options.ignorePinning) {
      if (!options.pinPath) {
        throw new InvalidArgumentError(
          `map '${name}' (pinning: by name)`,
          'options.pinPath, a bpffs directory to pin it in (or ignorePinning: true)',
          undefined,
        );
      }
      map = factory.openOrCreate(spec, `${options.pinPath.replace(/\/+$/, '')}/${name}`);
    } else {
      map = factory.create(spec);
    }
    owned.push(map);
    out[name] = map;
  }
  for (const g of globals) {
    const map = factory.create(g.spec);
    owned.push(map);
    map.update(ZERO_KEY, g.contents);
    // Constants: frozen, so the verifier may treat them as known values.
    if (g.readOnly) map.freeze();
    out[g.section] = map;
  }
  return out;
}

/**
 * Writes the slots prog arrays and map-in-maps initialise in the object
 * (`.values = { [i] = &prog_or_map }`); a program left out of the load
 * leaves its slot empty.
 *
 * @example
 * declare const maps: Record<string, Map>, programs: Record<string, Program>;
 * fillInitialValues({ jump_table: [{ slot: 0, kind: 'program', target: 'tail' }] }, maps, programs);
 */
export function fillInitialValues(
  initial: Record<string, readonly { slot: number; kind: 'program' | 'map'; target: string }[]>,
  maps: Record<string, Map>,
  programs: Record<string, Program>,
): void {
  for (const [name, slots] of Object.entries(initial)) {
    const map = maps[name];
    if (!map) continue;
    for (const s of slots) {
      const target = s.kind === 'program' ? programs[s.target] : maps[s.target];
      if (!target) continue;
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, s.slot, true);
      const value = new Uint8Array(4);
      new DataView(value.buffer).setUint32(0, target.fd, true);
      map.update(key, value);
    }
  }
}
