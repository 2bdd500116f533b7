import {
  BpfError,
  checkMapSpec,
  type Collection,
  Errno,
  InvalidArgumentError,
  isPerCpuMapType,
  mapDifferences,
  MapMismatchError,
  mapTypeFromName,
  mapTypeName,
  mapTypeNames,
  parseKernelRelease,
  perCpu,
  programTypeFromName,
  programTypeNames,
  MapType,
  ringBufferMaps,
} from '@bpfkit/core';
import type {
  AttachTarget,
  Codec,
  CollectionOptions,
  CollectionSpec,
  EventReader,
  Features,
  InterfaceRef,
  Map,
  MapCodecs,
  MapInfo,
  MapSpec,
  OpenOrCreateOptions,
  PerfEventArrayOptions,
  RingBufferOptions,
  Program,
  ProgramSpec,
  System,
} from '@bpfkit/core';
import { checkMockMapSpec, MOCK_MAP_TYPES, type MockMapMeta } from './map-spec.js';
import { MockMapStore } from './map-store.js';
import { MockPerfEventArrayReader, MockRingBufferReader } from './event-readers.js';
import { MockKernel, type MockFileMode } from './mock-kernel.js';
import { createMockMapStore, MockMap, MockMapFile } from './mock-map.js';
import { defaultEnvironment, MockRuntime, type MockEnvironment } from './helpers/runtime.js';
import type { MockProbeMemory } from './helpers/probe-memory.js';
import { MOCK_PROGRAM_TYPES, mockHelpers } from './helpers/table.js';
import { loadMockProgram, type MockProgram } from './mock-program.js';
import type { VmHelper } from './vm/index.js';
import { loadMockCollection } from './mock-loader.js';
import { mockHooks, type MockHooks, type MockInterfaceOptions } from './hooks/hooks.js';
import type { MockInterface } from './hooks/interface.js';
import type { MockLink } from './hooks/link.js';
import type { MockFireContext, MockFireResult, ProbeTarget } from './hooks/probes.js';

/**
 * Options of a {@link MockSystem}.
 *
 * @example
 * const system = new MockSystem({ possibleCpus: 2 }); // like a 2-CPU machine
 */
export interface MockSystemOptions {
  /**
   * CPUs the mock machine could have (`/sys/devices/system/cpu/possible`):
   * per-CPU maps keep one value for each, and LRU maps size their free lists
   * by it. Default 4.
   */
  possibleCpus?: number;
  /**
   * What helpers of programs on the mock answer (clock, CPU, pid, uid, comm,
   * randomness); change it later on {@link MockSystem.environment}.
   */
  environment?: Partial<MockEnvironment>;
}

/** The spec an opened map reports: what the kernel says about it. */
function specOf(meta: MockMapMeta): MapSpec {
  return {
    name: meta.name,
    type: meta.type,
    keySize: meta.keySize,
    valueSize: meta.valueSize,
    maxEntries: meta.maxEntries,
    flags: meta.flags,
    mapExtra: meta.mapExtra,
    btfKeyTypeId: meta.btfKeyTypeId,
    btfValueTypeId: meta.btfValueTypeId,
  };
}

/**
 * An in-memory {@link System}: the same interfaces as the kernel backend,
 * with the kernel's semantics and no kernel, so tests run anywhere.
 *
 * Every map and handle lives in this system's own mock kernel: ids, fake
 * file descriptors (positive, unique, never reused), pins in a virtual
 * bpffs. Per-CPU maps keep one value per possible CPU (option
 * `possibleCpus`, default 4).
 *
 * @example
 * import { MockSystem } from '@bpfkit/mock';
 * import { MapType, u32 } from '@bpfkit/core';
 * using system = new MockSystem({ possibleCpus: 2 });
 * using m = system.createMap({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 16 }, { key: u32, value: u32 });
 * m.update(1, 2);
 */
export class MockSystem implements System {
  readonly kind = 'mock' as const;
  readonly kernel: MockKernel;
  readonly possibleCpus: number;
  #features: Features | undefined;
  /** What programs on this system share: their memory, environment and output. */
  readonly runtime: MockRuntime;
  readonly #helpers: ReadonlyMap<number, VmHelper>;

  constructor(options: MockSystemOptions = {}) {
    const cpus = options.possibleCpus ?? 4;
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 8192)
      throw new InvalidArgumentError('MockSystem possibleCpus', 'an integer from 1 to 8192', cpus);
    this.possibleCpus = cpus;
    this.kernel = new MockKernel(cpus);
    this.runtime = new MockRuntime({ ...defaultEnvironment(), ...options.environment });
    this.#helpers = mockHelpers(this.runtime);
  }

  /**
   * What the helpers of programs on this system answer: the clock, the CPU
   * they run on, the current pid/tgid, uid/gid and comm, randomness.
   * Change its fields between runs.
   *
   * @example
   * using system = new MockSystem();
   * system.environment.pid = 42;
   * system.environment.clock = () => 1_000_000n;
   */
  get environment(): MockEnvironment {
    return this.runtime.environment;
  }

  /**
   * The lines programs on this system printed with `bpf_trace_printk`, in order.
   *
   * @example
   * using system = new MockSystem();
   * system.traceLog.length; // 0
   */
  get traceLog(): string[] {
    return this.runtime.traceLog;
  }

  /**
   * Memory the test provides at kernel and user addresses, for programs'
   * probe reads (`bpf_probe_read_kernel`, `bpf_probe_read_user`, their
   * `_str` forms): the structures and strings a tracing program follows
   * pointers to.
   *
   * @example
   * using system = new MockSystem();
   * const file = system.probeMemory.provide(new TextEncoder().encode('/etc/hosts\0'), { space: 'user' });
   * system.environment.task; // where bpf_get_current_task points: provide a task_struct there
   */
  get probeMemory(): MockProbeMemory {
    return this.runtime.probeMemory;
  }

  /**
   * Takes the records programs wrote into a ring buffer
   * (`bpf_ringbuf_output`, reserve and submit) or perf event array
   * (`bpf_perf_event_output`) of this system, oldest first; they leave the
   * buffer (freeing its room). {@link openRingBuffer} and
   * {@link openPerfEventArray} read the same queues as event readers.
   *
   * @example
   * using system = new MockSystem();
   * using events = system.createMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
   * system.takeRecords(events); // []
   */
  takeRecords(map: Map<unknown, unknown>): Uint8Array[] {
    const store = map instanceof MockMap ? map.store : undefined;
    if (!store || (store.type !== MapType.RINGBUF && store.type !== MapType.PERF_EVENT_ARRAY)) {
      throw new InvalidArgumentError('takeRecords map', 'a ring buffer or perf event array of this mock system', map);
    }
    return this.runtime.takeRecords(store);
  }

  /**
   * Creates a map (BPF_MAP_CREATE on the mock): the spec is refused like the
   * kernel refuses it, then `contents` are written. For per-CPU types the raw
   * value is the flat per-CPU layout; see {@link createPerCpuMap}.
   *
   * @example
   * using counts = system.createMap({ name: 'counts', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 }, { key: u32, value: u64 });
   */
  createMap(spec: MapSpec): Map;
  createMap<K, V>(spec: MapSpec, codecs: MapCodecs<K, V>): Map<K, V>;
  createMap<K, V>(spec: MapSpec, codecs?: MapCodecs<K, V>): Map<K, V> | Map {
    return this.#create<K, V>(spec, codecs);
  }

  #create<K, V>(spec: MapSpec, codecs?: { key?: Codec<K>; value?: Codec<V> }): MockMap<K, V> {
    const store = createMockMapStore(this.kernel, spec);
    const file = new MockMapFile(this.kernel, store, store.meta.mode);
    const map = new MockMap<K, V>(file, spec, codecs);
    try {
      for (const { key, value } of spec.contents ?? []) file.update(key, value, 0);
    } catch (err) {
      map.close();
      throw err;
    }
    return map;
  }

  /**
   * Creates a per-CPU map (per-CPU hash, per-CPU array, LRU per-CPU hash)
   * whose values are arrays of `possibleCpus` values.
   *
   * @example
   * using m = system.createPerCpuMap({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 }, { key: u32, value: u64 });
   * m.update(0, Array(system.possibleCpus).fill(0n));
   */
  createPerCpuMap<K, V>(spec: MapSpec, codecs: MapCodecs<K, V>): Map<K, V[]> {
    checkMapSpec(spec);
    if (!isPerCpuMapType(spec.type)) {
      throw new InvalidArgumentError(
        `map '${spec.name ?? ''}': type`,
        'a per-CPU map type (percpu_hash, percpu_array, lru_percpu_hash)',
        mapTypeName(spec.type),
      );
    }
    if (codecs?.value?.size !== spec.valueSize) {
      throw new InvalidArgumentError(
        `map '${spec.name ?? ''}': value codec`,
        `a codec of ${spec.valueSize} bytes (the map's value size, one CPU's value)`,
        codecs?.value ? `${codecs.value.name} of ${codecs.value.size} bytes` : codecs?.value,
      );
    }
    return this.#create<K, V[]>(spec, { key: codecs.key, value: perCpu(codecs.value, this.possibleCpus) });
  }

  #open<K, V>(store: MockMapStore, mode: MockFileMode, spec: MapSpec, codecs?: MapCodecs<K, V>): MockMap<K, V> {
    return new MockMap<K, V>(new MockMapFile(this.kernel, store, mode), spec, codecs);
  }

  #pinned(path: string, command: 'BPF_OBJ_GET'): MockMapStore | undefined {
    if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError('pin path', 'a path in bpffs', path);
    const object = this.kernel.pins.get(path);
    if (object === undefined) return undefined;
    if (!(object instanceof MockMapStore)) {
      throw new BpfError(Errno.EINVAL, {
        syscall: 'bpf',
        command,
        subject: `pin '${path}' (mock)`,
        hint: `the pin holds a ${object.kind}, not a map`,
      });
    }
    return object;
  }

  /**
   * Opens a map pinned on this mock's virtual bpffs (read-write, like
   * BPF_OBJ_GET without file flags).
   *
   * @example
   * const again = system.openPinnedMap('/sys/fs/bpf/counts');
   */
  openPinnedMap(path: string): Map;
  openPinnedMap<K, V>(path: string, codecs: MapCodecs<K, V>): Map<K, V>;
  openPinnedMap<K, V>(path: string, codecs?: MapCodecs<K, V>): Map<K, V> | Map {
    const store = this.#pinned(path, 'BPF_OBJ_GET');
    if (!store)
      throw new BpfError(Errno.ENOENT, {
        syscall: 'bpf',
        command: 'BPF_OBJ_GET',
        subject: `pin '${path}' (mock)`,
        hint: 'nothing is pinned at this path',
      });
    return this.#open(store, { read: true, write: true }, specOf(store.meta), codecs).rememberPin(path);
  }

  /**
   * Opens the map pinned at `options.pinPath` when its type, key and value
   * size, max entries and flags match `spec` (as core's `mapDifferences`
   * compares them, like the kernel backend); creates and pins it when
   * nothing is pinned there. On a mismatch it throws a `MapMismatchError`
   * naming every difference ("maxEntries: 64 changed to 128"), or with
   * `onMismatch: 'replace'` creates a new map and moves the pin to it. A
   * pinned map opens with the spec's BPF_F_RDONLY / BPF_F_WRONLY access.
   *
   * @example
   * using m = system.openOrCreateMap({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 100 },
   *   { pinPath: '/sys/fs/bpf/counts' }, { key: u32, value: u64 });
   */
  openOrCreateMap<K, V>(spec: MapSpec, options: OpenOrCreateOptions, codecs?: MapCodecs<K, V>): Map<K, V> {
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError('openOrCreate options', '{ pinPath, onMismatch? }', options);
    const { pinPath } = options;
    const onMismatch = options.onMismatch ?? 'fail';
    if (onMismatch !== 'fail' && onMismatch !== 'replace') throw new InvalidArgumentError('onMismatch', "'fail' or 'replace'", onMismatch);
    // The whole spec is checked first: an invalid spec must not touch an existing pin.
    const wanted = checkMockMapSpec(spec, this.possibleCpus);
    const pinned = this.#pinned(pinPath, 'BPF_OBJ_GET');
    if (pinned) {
      const differences = mapDifferences(pinned.info(), spec);
      if (differences.length === 0) return this.#open(pinned, wanted.mode, spec, codecs).rememberPin(pinPath);
      if (onMismatch === 'fail') throw new MapMismatchError(pinPath, differences);
    }
    const map = this.#create<K, V>(spec, codecs);
    try {
      if (pinned) this.kernel.unpin(pinPath);
      map.pin(pinPath);
    } catch (err) {
      map.close();
      throw err;
    }
    return map;
  }

  /**
   * Opens a live map of this system by id (BPF_MAP_GET_FD_BY_ID): ENOENT
   * when no map has it.
   *
   * @example
   * using m = system.createMap({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 8 });
   * using again = system.openMapById(m.info().id);
   */
  openMapById<K = Uint8Array, V = Uint8Array>(id: number, codecs?: MapCodecs<K, V>): Map<K, V> {
    if (!Number.isInteger(id) || id <= 0 || id > 0xffffffff) throw new InvalidArgumentError('map id', 'a positive integer', id);
    const store = this.kernel.maps.get(id);
    if (!(store instanceof MockMapStore)) {
      throw new BpfError(Errno.ENOENT, {
        syscall: 'bpf',
        command: 'BPF_MAP_GET_FD_BY_ID',
        subject: `map id ${id} (mock)`,
        hint: 'no live map has this id',
      });
    }
    return this.#open(store, { read: true, write: true }, specOf(store.meta), codecs);
  }

  /**
   * Every live map of this mock system (held by a handle, a pin or another
   * map), by id.
   *
   * @example
   * system.listMaps().map((m) => m.name);
   */
  listMaps(): MapInfo[] {
    const out: MapInfo[] = [];
    for (const object of this.kernel.maps.values()) if (object instanceof MockMapStore) out.push(object.info());
    return out.sort((a, b) => a.id - b.id);
  }

  /**
   * Creates an object's maps and global data in memory, as the kernel
   * backend would (same specs, pins by name under `pinPath`, replacements
   * checked, `.rodata` frozen, map-in-maps initialised, variables by name),
   * so user code around an object can be tested without a kernel. The
   * programs (all, or `options.programs`) are loaded on the mock's VM against
   * those maps and can be test-run; one needing CO-RE relocations, kfuncs or
   * kconfig/ksym externs is a NotSupportedError naming it (leave it out with
   * `options.programs`).
   *
   * @example
   * using coll = system.loadCollection('counter.bpf.o', { programs: [], constants: { target_pid: 7 } });
   * coll.variables.target_pid.get(); // 7n
   */
  loadCollection(object: string | Uint8Array | CollectionSpec, options: CollectionOptions = {}): Collection {
    return loadMockCollection(this, object, options);
  }

  /**
   * {@link loadCollection} as a promise, like the kernel backend's (the
   * mock's VM compiles programs quickly: nothing to move off the event loop).
   *
   * @example
   * using system = new MockSystem();
   * using coll = await system.loadCollectionAsync('counter.bpf.o');
   */
  loadCollectionAsync(object: string | Uint8Array | CollectionSpec, options: CollectionOptions = {}): Promise<Collection> {
    try {
      return Promise.resolve(this.loadCollection(object, options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Loads a program on the mock (BPF_PROG_LOAD): map references in its
   * instructions are fds of this system's maps. It runs on the mock's VM
   * with `testRun`; helpers answer from {@link environment}. Program types
   * and helpers the mock does not implement are a NotSupportedError naming
   * them; what the kernel's verifier refuses structurally, a VerifierError.
   *
   * @example
   * import { assemble } from '@bpfkit/elf';
   * using system = new MockSystem();
   * using prog = system.loadProgram({ name: 'pass', type: ProgramType.XDP, license: 'GPL', instructions: assemble('mov %r0, 2\nexit') });
   * prog.testRun({ data: new Uint8Array(64) }).returnValue; // 2
   */
  loadProgram(spec: ProgramSpec): MockProgram {
    return loadMockProgram({ kernel: this.kernel, runtime: this.runtime, helpers: this.#helpers }, spec);
  }

  /**
   * Attaches a program of this system to a hook: XDP and TC programs to
   * its mock interfaces ({@link addInterface}), probes to hooks the test
   * fires ({@link fire}). The returned link detaches on `close()`; closing
   * the program does not. Wrong program types are refused as on the kernel;
   * hooks the mock does not model (cgroup, sockmap, netfilter, lsm,
   * tracing…) are a NotSupportedError.
   *
   * @example
   * import { assemble } from '@bpfkit/elf';
   * using system = new MockSystem();
   * const eth0 = system.addInterface('eth0');
   * using prog = system.loadProgram({ name: 'drop', type: ProgramType.XDP, license: 'GPL', instructions: assemble('mov %r0, 1\nexit') });
   * using link = system.attach(prog, { kind: 'xdp', interface: 'eth0' });
   * eth0.inject(new Uint8Array(64)).verdict; // 'drop'
   */
  attach(program: Program, target: AttachTarget): MockLink {
    return this.#hooks().attach(program, target);
  }

  #hooks(): MockHooks {
    return mockHooks(this.kernel, this.runtime);
  }

  /**
   * Adds a mock network interface that XDP, tc and tcx programs attach to
   * (by name or index) and tests drive packets through. `lo` (ifindex 1)
   * exists from the start; others get the next free index unless given one.
   *
   * @example
   * using system = new MockSystem();
   * const eth0 = system.addInterface('eth0', { mtu: 9000 });
   * eth0.ifindex; // 2
   */
  addInterface(name: string, options?: MockInterfaceOptions): MockInterface {
    return this.#hooks().addInterface(name, options);
  }

  /**
   * A mock interface by name or index (InvalidArgumentError when none has it).
   *
   * @example
   * using system = new MockSystem();
   * system.interface(1).name; // 'lo'
   */
  interface(ref: InterfaceRef): MockInterface {
    return this.#hooks().interface(ref);
  }

  /**
   * Fires a probe: runs every program attached to the hook `target` names,
   * in attach order, with `context` (a tracepoint's record, a raw
   * tracepoint's u64 arguments, a `struct pt_regs` from `ptRegs` or
   * the registers to build it), and returns what each returned. A kprobe
   * fired on a function also runs the kprobe_multi programs that cover it.
   * Helpers answer from {@link environment} (pid, comm, clock, CPU).
   *
   * @example
   * using system = new MockSystem();
   * system.environment.pid = 42;
   * system.fire({ kind: 'kprobe', symbol: 'do_unlinkat' }, ptRegs({ args: [-100n, 0x1000n] })); // [{ program, returnValue }]
   */
  fire(target: ProbeTarget, context: MockFireContext): MockFireResult[] {
    return this.#hooks().fire(target, context);
  }

  /**
   * Reads ring buffer maps of this system: the records programs write
   * (`bpf_ringbuf_output`, reserve and submit) arrive through the same
   * {@link EventReader} contract as on the kernel (subscribers are woken on
   * the event-loop turn after a program writes; never during its run).
   * `stats().lost` counts writes refused because the buffer was full.
   *
   * @example
   * using system = new MockSystem();
   * using events = system.createMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
   * using reader = system.openRingBuffer(events);
   * const stop = reader.subscribe((record) => console.log(record.byteLength));
   */
  openRingBuffer(map: Map<unknown, unknown> | readonly Map<unknown, unknown>[]): EventReader;
  openRingBuffer<T>(
    map: Map<unknown, unknown> | readonly Map<unknown, unknown>[],
    options: RingBufferOptions<T> & { codec: Codec<T> },
  ): EventReader<T>;
  openRingBuffer<T>(
    map: Map<unknown, unknown> | readonly Map<unknown, unknown>[],
    options: RingBufferOptions<T> = {},
  ): EventReader<T> | EventReader {
    const maps = ringBufferMaps(map);
    const stores = maps.map((m) => this.#eventStore('openRingBuffer', m, MapType.RINGBUF));
    return new MockRingBufferReader<T>(this.runtime, stores, options.codec);
  }

  /**
   * Reads a perf event array of this system: the records programs write
   * with `bpf_perf_event_output`, each with its CPU, through the same
   * {@link EventReader} contract as on the kernel. `pagesPerCpu` is
   * checked like the kernel's (a power of two) and otherwise unused.
   *
   * @example
   * using system = new MockSystem();
   * using events = system.createMap({ type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
   * using reader = system.openPerfEventArray(events);
   * reader.readAvailable(); // []
   */
  openPerfEventArray(map: Map<unknown, unknown>, options?: PerfEventArrayOptions): EventReader;
  openPerfEventArray<T>(map: Map<unknown, unknown>, options: PerfEventArrayOptions<T> & { codec: Codec<T> }): EventReader<T>;
  openPerfEventArray<T>(map: Map<unknown, unknown>, options: PerfEventArrayOptions<T> = {}): EventReader<T> | EventReader {
    const store = this.#eventStore('openPerfEventArray', map, MapType.PERF_EVENT_ARRAY);
    const pages = options.pagesPerCpu ?? 64;
    if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0) {
      throw new InvalidArgumentError('pagesPerCpu', 'a power of two (the kernel requires 2^n data pages per ring)', pages);
    }
    return new MockPerfEventArrayReader<T>(this.runtime, store, options.codec);
  }

  /** The store of an open map of this system of type `type`, or an InvalidArgumentError naming `what`. */
  #eventStore(what: string, map: Map<unknown, unknown>, type: MapType): MockMapStore {
    if (map.type !== type) {
      throw new InvalidArgumentError(`${what}: map '${map.name}'`, `a ${mapTypeName(type)} map, not ${mapTypeName(map.type)}`, map.type);
    }
    const store = map instanceof MockMap && !map.closed ? map.store : undefined;
    if (store === undefined || store.dead) {
      throw new InvalidArgumentError(`${what}: map '${map.name}'`, 'an open map of this mock system', map.closed ? 'a closed map' : map);
    }
    return store;
  }

  /** What the mock implements: the map types it stores, batch operations, and no programs yet. */
  features(): Features {
    this.#features ??= {
      kernel: parseKernelRelease('0.0.0-mock'),
      bpf: { available: true },
      btf: false,
      bpffs: '/sys/fs/bpf',
      mapTypes: Object.fromEntries(mapTypeNames.filter((n) => n !== 'unspec').map((n) => [n, MOCK_MAP_TYPES.has(mapTypeFromName(n)!)])),
      programTypes: Object.fromEntries(
        programTypeNames.filter((n) => n !== 'unspec').map((n) => [n, MOCK_PROGRAM_TYPES.has(programTypeFromName(n) ?? -1)]),
      ),
      mapTypeRestrictions: {},
      programTypeRestrictions: {},
      linkTypes: {},
      helpers: {},
      batchOps: true,
      ringBuffer: false,
      kprobePmu: false,
      uprobePmu: false,
      pinPathFd: true,
      programStreams: false,
      structOpsLink: false,
      capabilities: {
        root: false,
        CAP_BPF: true,
        CAP_PERFMON: true,
        CAP_SYS_ADMIN: true,
        CAP_NET_ADMIN: true,
        CAP_SYS_RESOURCE: true,
        CAP_IPC_LOCK: true,
      },
      memlockAccounting: false,
    };
    return this.#features;
  }

  /** Number of maps still alive (open handles, pins, map-in-map slots): lets tests check for leaks. */
  get liveObjects(): number {
    return this.kernel.live;
  }

  /** Removes every pin of the virtual bpffs; maps still open stay usable until closed. */
  close(): void {
    this.#hooks().closeAll();
    for (const path of [...this.kernel.pins.keys()]) this.kernel.unpin(path);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
