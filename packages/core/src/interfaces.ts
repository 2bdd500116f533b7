import type { Collection, CollectionOptions } from './collection.js';
import type { Codec } from './codecs/codec.js';
import type { Features } from './features.js';
import type { AttachTarget } from './attach-target.js';

/** How `update` treats an existing or missing key (uapi `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`). */
export type UpdateFlag = 'any' | 'noexist' | 'exist' | 'lock';

/** A pinning policy from a BTF map definition (`LIBBPF_PIN_BY_NAME`). */
export type Pinning = 'none' | 'by-name';

/**
 * Everything needed to create a map. Types are the numbers of the kernel's
 * `enum bpf_map_type`; see {@link MapType}.
 *
 * @example
 * const spec: MapSpec = { name: 'counts', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1024 };
 */
export interface MapSpec {
  /** Up to 15 characters are kept by the kernel (`BPF_OBJ_NAME_LEN` - 1). */
  name?: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** `BPF_F_*` map flags (no-prealloc, rdonly, mmapable, …). */
  flags?: number;
  /** For map-in-map types: the spec of the inner map. */
  innerMap?: MapSpec;
  /** `map_extra` (bloom filter hash count, arena address). */
  mapExtra?: bigint;
  /** NUMA node to allocate on (sets `BPF_F_NUMA_NODE`). */
  numaNode?: number;
  pinning?: Pinning;
  /** BTF type ids of key and value, when the spec carries BTF. */
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** Initial contents, written right after creation. */
  contents?: ReadonlyArray<{ key: Uint8Array; value: Uint8Array }>;
}

/** How {@link System.openOrCreateMap} treats an existing pin. */
export interface OpenOrCreateOptions {
  pinPath: string;
  /** `'fail'` (default): throw naming every difference; `'replace'`: unpin, create anew, pin. */
  onMismatch?: 'fail' | 'replace';
}

/** Encoders for a typed map view. */
export interface MapCodecs<K, V> {
  key: Codec<K>;
  value: Codec<V>;
}

/** What the kernel (or mock) says about a map. */
export interface MapInfo {
  id: number;
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  mapExtra: bigint;
  frozen: boolean;
}

/** Options of the batch operations. */
export interface BatchOptions {
  /** Elements per system call (default 4096, or fewer for large maps). */
  batchSize?: number;
}

/** What a batch operation did. */
export interface BatchStats {
  /** Elements processed. */
  count: number;
  /** System calls made. */
  calls: number;
  /** Whether it fell back to one element per call (the kernel or the map type lacks batch operations). */
  fallback: boolean;
}

/** Counts from a robust iteration: how it walked, how often it had to restart, and whether it gave up. */
export interface IterationStats {
  /** Keys visited. */
  visited: number;
  /** Times the walk came back to its first key because the current key vanished (next-key restarts then). */
  restarts: number;
  /** Whether the walk stopped early after `maxEntries + 1` steps without reaching the end. */
  aborted: boolean;
  /**
   * System calls of BPF_MAP_LOOKUP_BATCH the walk read the map with (0: it
   * walked with next-key and lookup, two system calls an element).
   */
  batches?: number;
}

/**
 * A BPF map, on the kernel or on the mock. `K` and `V` are the decoded key
 * and value types (raw bytes unless codecs were given).
 *
 * @example
 * using counts = system.createMap({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64 },
 *   { key: u32, value: u64 });
 * counts.update(1, 10n);
 * counts.lookup(1); // 10n
 */
export interface Map<K = Uint8Array, V = Uint8Array> extends Disposable, Iterable<[K, V]> {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** The kernel file descriptor (on the mock: a descriptor of its own fd table). */
  readonly fd: number;
  readonly closed: boolean;
  /** The value, or `undefined` when the key is absent. */
  lookup(key: K): V | undefined;
  update(key: K, value: V, flag?: UpdateFlag): void;
  /** `true` when the key was there. */
  delete(key: K): boolean;
  lookupAndDelete(key: K): V | undefined;
  /** The key after `key` (the first key when `key` is undefined), or `undefined` at the end. */
  nextKey(key?: K): K | undefined;
  keys(): IterableIterator<K>;
  values(): IterableIterator<V>;
  entries(): IterableIterator<[K, V]>;
  /** Statistics of the last `keys()`/`values()`/`entries()` walk. */
  readonly lastIteration: IterationStats;
  /**
   * Every entry, read `batchSize` at a time with BPF_MAP_LOOKUP_BATCH (one
   * element per call where the kernel or map type has no batch support).
   */
  lookupBatch(options?: BatchOptions): [K, V][];
  /**
   * The entries one batch at a time (an array per BPF_MAP_LOOKUP_BATCH call),
   * so a large map is read without holding it all: the streaming form of
   * {@link lookupBatch}.
   */
  lookupBatchChunks(options?: BatchOptions): IterableIterator<[K, V][]>;
  /** Removes and returns every entry (BPF_MAP_LOOKUP_AND_DELETE_BATCH, or one by one). */
  lookupAndDeleteBatch(options?: BatchOptions): [K, V][];
  /** Writes many entries (BPF_MAP_UPDATE_BATCH, or one by one); returns how many were written. */
  updateBatch(entries: Iterable<readonly [K, V]>, flag?: UpdateFlag, options?: BatchOptions): number;
  /** Deletes many keys (BPF_MAP_DELETE_BATCH, or one by one); returns how many were deleted. */
  deleteBatch(keys: Iterable<K>, options?: BatchOptions): number;
  /** Statistics of the last batch operation. */
  readonly lastBatch: BatchStats;
  /**
   * Empties the map: deletes every key, or zeroes every element of an array
   * (arrays cannot delete). Returns the number of elements removed or zeroed.
   */
  clear(): number;
  /** Queue, stack: adds `value` (BPF_MAP_UPDATE_ELEM with no key); `'exist'` overwrites the oldest when full. Bloom filter: adds `value`. */
  push(value: V, flag?: 'any' | 'exist'): void;
  /** Queue, stack: removes and returns the next value, or undefined when empty. */
  pop(): V | undefined;
  /** Queue, stack: the next value without removing it, or undefined when empty. */
  peek(): V | undefined;
  /** Bloom filter: false when `value` was certainly never added; true when it may have been. */
  has(value: V): boolean;
  /**
   * The elements of an mmapable array (`BPF_F_MMAPABLE`) as one view of the
   * map's memory: reads and writes need no system call. Element `i` starts at
   * `i * roundUp(valueSize, 8)`.
   */
  memory(): Uint8Array;
  /** Pins the map in bpffs at `path`. */
  pin(path: string): void;
  /** Removes the pin made by {@link pin}. */
  unpin(): void;
  /** Makes the map read-only for user space (`BPF_MAP_FREEZE`). */
  freeze(): void;
  info(): MapInfo;
  close(): void;
}

/** The kernel's program types, by name of `enum bpf_prog_type`. */
export interface ProgramSpec {
  name: string;
  /** `enum bpf_prog_type`. */
  type: number;
  /** `enum bpf_attach_type` the program expects, when its type needs one. */
  expectedAttachType?: number;
  /** Encoded instructions, 8 bytes each. */
  instructions: Uint8Array;
  license: string;
  /** The ELF section the program came from. */
  section?: string;
  /** Attach target, e.g. a kernel function for fentry. */
  attachTo?: string;
  /** `BPF_F_*` program flags (sleepable, xdp frags, …). */
  flags?: number;
  kernelVersion?: number;
}

/** A set of maps and programs to load together, as read from an object file. */
export interface CollectionSpec {
  maps: Record<string, MapSpec>;
  programs: Record<string, ProgramSpec>;
}

/**
 * Input of a test run (`BPF_PROG_TEST_RUN`). What each program type takes
 * is in the table of `testRunRule`: packet programs (skb, xdp,
 * flow_dissector, netfilter) take `data`; syscall, raw tracepoint and
 * sk_lookup programs take a `context` and no data.
 *
 * @example
 * const options: TestRunOptions = { data: packet, repeat: 100 };
 */
export interface TestRunOptions {
  /** The packet (types that take data; refused for the others). */
  data?: Uint8Array;
  /**
   * Capacity of the data-out buffer, for types that give data back.
   * Default: the data's length plus 4096 bytes, room for a program that
   * grows the packet (`bpf_xdp_adjust_head`/`_tail`, `bpf_skb_change_tail`);
   * a run that leaves more throws BpfError ENOSPC saying how much. 0: no
   * data back (`dataSizeOut` still says its size).
   */
  dataOutSize?: number;
  /** The program's context (`struct __sk_buff`, `struct xdp_md`, a syscall program's struct, raw tracepoint args…). */
  context?: Uint8Array;
  /**
   * Capacity of the context-out buffer, for types that copy a context back.
   * Default, when a context is given: 256 bytes or the context's length if
   * longer (the kernel writes its whole struct). 0: no context back. A
   * syscall program's context always comes back (the kernel rewrites the
   * context in), whatever this says.
   */
  contextOutSize?: number;
  /** Run this many times (types that repeat; 0 and 1 run once). `duration` is the mean. */
  repeat?: number;
  /** `TestRunFlag`s: `XDP_LIVE_FRAMES`, `SKB_CHECKSUM_COMPLETE`; `RUN_ON_CPU` is implied by `cpu`. */
  flags?: number;
  /** Run on this CPU (raw tracepoint programs; sets `TestRunFlag.RUN_ON_CPU`). */
  cpu?: number;
  /** Frames per batch with `TestRunFlag.XDP_LIVE_FRAMES` (1-256; the kernel's default 64). */
  batchSize?: number;
}

/**
 * Output of a test run: what the kernel returned, exactly.
 *
 * @example
 * const { returnValue, data, dataSizeOut } = prog.testRun({ data: packet });
 */
export interface TestRunResult {
  /** The program's return value (0 for XDP live frames, which report no verdict). */
  returnValue: number;
  /** Mean time per run in nanoseconds, as the kernel measured it (0 for types it does not time). */
  duration: number;
  /** The data the run left (the packet as the program changed it; flow keys for flow_dissector), `dataSizeOut` bytes; empty when none came back. */
  data: Uint8Array;
  /** The size of the data the run left (the kernel's `data_size_out`): a program that grows or shrinks the packet changes it. */
  dataSizeOut: number;
  /** The context after the run, as many bytes as the kernel wrote (for a syscall program: its context as it left it). */
  context?: Uint8Array;
}

export interface ProgramInfo {
  id: number;
  name: string;
  type: number;
  tag: string;
  mapIds: number[];
  runCount: bigint;
  runTimeNs: bigint;
  xlatedSize: number;
  jitedSize: number;
  btfId: number;
  loadTime: bigint;
  /** Whether the license is GPL-compatible (kernel only). */
  gplCompatible?: boolean;
  /** uid of the process that loaded the program (kernel only). */
  createdByUid?: number;
  /** Instructions the verifier processed while loading it (kernel 5.16+). */
  verifiedInsns?: number;
  /** Runs skipped because the program was already running on that CPU (kernel 5.12+). */
  recursionMisses?: bigint;
  /** Number of BTF function-info records (subprograms described by BTF). */
  funcInfoCount?: number;
  /** Number of BTF line-info records. */
  lineInfoCount?: number;
  /** BTF object holding the attach target's type (tracing, ext, lsm programs; 0 = vmlinux or none). */
  attachBtfObjId?: number;
  /** BTF type id of the attach target (0 when none). */
  attachBtfId?: number;
}

/**
 * A loaded program.
 *
 * @example
 * declare const spec: ProgramSpec;
 * using prog = system.loadProgram(spec);
 * const { returnValue } = prog.testRun({ data: packet });
 */
export interface Program extends Disposable {
  readonly name: string;
  readonly type: number;
  /** The kernel file descriptor (on the mock: a descriptor of its own fd table, which program arrays take). */
  readonly fd: number;
  readonly closed: boolean;
  testRun(options?: TestRunOptions): TestRunResult;
  /** Attaches the program to a hook; the link returned holds the attachment (closing it detaches). */
  attach(target: AttachTarget): Link;
  info(): ProgramInfo;
  pin(path: string): void;
  unpin(): void;
  close(): void;
}

/**
 * What a link says about itself. A kernel BPF link answers with the whole
 * `struct bpf_link_info` (`id`, and per kind the interface, cgroup, symbol…);
 * attachments that are not BPF links (netlink XDP, TC filters, socket
 * options) have no `id` and give what they attached to.
 */
export interface LinkInfo {
  /** `'xdp'`, `'tcx'`, `'perf_event'`, `'cgroup'`, `'tc'`, `'socket'`, … */
  readonly kind: string;
  /** The kernel's link id; undefined for attachments that are not BPF links. */
  readonly id?: number;
  /** The id of the attached program. */
  readonly progId: number;
}

/** The result of an attach: detaching it removes the program from the hook. */
export interface Link extends Disposable {
  readonly target: AttachTarget;
  readonly closed: boolean;
  /** What the link is: kind, id, program and what it is attached to. */
  info(): LinkInfo;
  /** Replaces the attached program atomically where the kernel allows it. */
  update(program: Program): void;
  pin(path: string): void;
  unpin(): void;
  detach(): void;
  close(): void;
}

/** Counters of an {@link EventReader}, all since it was opened. */
export interface EventReaderStats {
  /** Records delivered to the user. */
  received: number;
  /** Bytes of those records (payload only). */
  bytes: number;
  /**
   * Records the kernel could not write because the buffer was full: the
   * sum of PERF_RECORD_LOST counts for perf event arrays. A ring buffer's
   * kernel side does not count its failures (bpf_ringbuf_reserve just
   * returns NULL), so this stays 0 there: count them in the program.
   */
  lost: number;
  /** Ring buffer records the program discarded (bpf_ringbuf_discard), skipped. */
  discarded: number;
  /** Times the reader was woken by the kernel. */
  wakeups: number;
  /**
   * Records bpfkit itself dropped because a consumer fell behind a bounded
   * queue (batch forwarding with `maxQueued`): backpressure made visible.
   */
  dropped: number;
}

/**
 * Where a record came from: the CPU (perf event arrays), and the map, when
 * one reader serves several.
 */
export interface EventSource {
  /** The CPU whose ring held the record (perf event arrays); undefined for ring buffers. */
  cpu?: number;
  /** The name of the map the record came from. */
  map: string;
}

/** Options of {@link EventReader.subscribe}. */
export interface SubscribeOptions {
  /** Stops the subscription when aborted. */
  signal?: AbortSignal;
  /** Perf event arrays: called with each PERF_RECORD_LOST (records lost on one CPU). */
  onLost?: (lost: number, source: EventSource) => void;
  /** A failure of the reader (an error of poll, a record that cannot be decoded). Without it, such errors are thrown out of the event loop. */
  onError?: (error: Error) => void;
}

/** Options of {@link EventReader.batches}. */
export interface BatchForwardOptions {
  /** Largest batch handed over at once. Default 64. */
  size?: number;
  /** A partial batch is handed over after this many milliseconds. Default 1000. */
  flushIntervalMs?: number;
  /**
   * Most records held for a consumer that is still busy with earlier
   * batches; past it, new records are dropped and counted in
   * `stats().dropped`. Default 65536.
   */
  maxQueued?: number;
  signal?: AbortSignal;
}

/** Options of {@link System.openRingBuffer}. */
export interface RingBufferOptions<T = Uint8Array> {
  /** Decodes each record (a struct codec, or one built from the object's BTF); default the raw bytes. */
  codec?: Codec<T>;
}

/** Options of {@link System.openPerfEventArray}. */
export interface PerfEventArrayOptions<T = Uint8Array> {
  codec?: Codec<T>;
  /** Data pages of each CPU's ring, a power of two. Default 64 (256 KiB with 4 KiB pages). */
  pagesPerCpu?: number;
  /** Wake the reader every N records (`wakeup_events`)… Default 1. */
  wakeupEvents?: number;
  /** …or once N bytes are waiting (`wakeup_watermark`), instead. */
  wakeupBytes?: number;
  /** Overwritable rings (`write_backward`): the kernel overwrites the oldest records, the reader reads the newest when paused. */
  overwritable?: boolean;
}

/**
 * Events from a ring buffer or perf event array, decoded to `T` (raw bytes
 * by default).
 *
 * With the raw bytes, a record handed to a callback is a zero-copy view of
 * the kernel's buffer, valid only until the callback returns: copy it
 * (`record.slice()`) to keep it. Records from `readAvailable`, async
 * iteration and batches are copies.
 *
 * @example
 * using collection = system.loadCollection('prog.bpf.o');
 * using reader = system.openRingBuffer(collection.maps.events);
 * for await (const event of reader) console.log(event);
 */
export interface EventReader<T = Uint8Array> extends AsyncIterable<T>, Disposable {
  /**
   * Calls `callback` for every record as it arrives, woken by the event
   * loop, until the returned function is called, the signal aborts or the
   * reader closes.
   */
  subscribe(callback: (event: T, source: EventSource) => void, options?: SubscribeOptions): () => void;
  /** Consumes what is ready now, without waiting, handing each record to `callback`; returns how many. */
  consume(callback: (event: T, source: EventSource) => void, max?: number): number;
  /** Reads what is ready now, without waiting (copies). */
  readAvailable(max?: number): T[];
  /**
   * Waits until records are ready or `timeoutMs` passes (forever without
   * it), then consumes them as `consume` does; resolves how many. Rejects
   * with an AbortError when `signal` aborts.
   */
  poll(callback: (event: T, source: EventSource) => void, timeoutMs?: number, signal?: AbortSignal): Promise<number>;
  /** Arrays of records, at most `size` each, a partial one after `flushIntervalMs`. */
  batches(options?: BatchForwardOptions): AsyncIterable<T[]>;
  /** Whether a waiting reader keeps the process alive (like Node's handles): `unref()` lets it exit. */
  ref(): this;
  unref(): this;
  stats(): EventReaderStats;
  readonly closed: boolean;
  close(): void;
}

/**
 * A backend: the real kernel (`NativeSystem`) or memory (`MockSystem`).
 * User code is written once against this interface.
 *
 * @example
 * const system = await openSystem(); // kernel when privileged, mock otherwise
 * using map = system.createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
 */
export interface System extends Disposable {
  /** `'kernel'` or `'mock'`. */
  readonly kind: 'kernel' | 'mock';
  /**
   * Creates a map. For per-CPU types the raw value is the kernel's flat
   * layout (one slot per possible CPU, each rounded up to 8 bytes); use
   * {@link createPerCpuMap} for one typed value per CPU.
   */
  createMap(spec: MapSpec): Map;
  createMap<K, V>(spec: MapSpec, codecs: MapCodecs<K, V>): Map<K, V>;
  /** Creates a per-CPU map whose values are arrays with one value per possible CPU. */
  createPerCpuMap<K, V>(spec: MapSpec, codecs: MapCodecs<K, V>): Map<K, V[]>;
  /**
   * Opens the map pinned at `pinPath` when it matches `spec` (type, key and
   * value size, max entries, flags); otherwise fails (`onMismatch: 'fail'`,
   * the default, with every difference named) or replaces the pin with a new
   * map (`'replace'`). Creates and pins it when nothing is pinned there.
   */
  openOrCreateMap<K, V>(spec: MapSpec, options: OpenOrCreateOptions, codecs?: MapCodecs<K, V>): Map<K, V>;
  /** Opens a map by id. */
  openMapById<K = Uint8Array, V = Uint8Array>(id: number, codecs?: MapCodecs<K, V>): Map<K, V>;
  /** Every map of the system (all of the kernel's; the mock's own). */
  listMaps(): MapInfo[];
  /** CPUs a per-CPU value has a slot for (`/sys/devices/system/cpu/possible` on the kernel). */
  readonly possibleCpus: number;
  /** Opens a map pinned at `path` (in bpffs on the kernel, in the mock's own namespace on the mock). */
  openPinnedMap(path: string): Map;
  openPinnedMap<K, V>(path: string, codecs: MapCodecs<K, V>): Map<K, V>;
  loadProgram(spec: ProgramSpec): Program;
  /**
   * Loads a clang-compiled BPF object: a path, its bytes, or the
   * `readObject()` of it (`@bpfkit/elf`). The kernel backend loads
   * everything; the mock creates the object's maps and globals and loads
   * the programs on its VM (CO-RE and kfuncs need `kernelBtf` there, kconfig
   * externs `kconfig`).
   */
  loadCollection(object: string | Uint8Array | CollectionSpec, options?: CollectionOptions): Collection;
  /**
   * {@link loadCollection} without blocking the event loop while the
   * programs load: the kernel backend runs each BPF_PROG_LOAD (the verifier:
   * seconds for a large program) on the libuv thread pool, so timers and
   * sockets keep being served. Same options, same collection.
   *
   * @example
   * using coll = await system.loadCollectionAsync('flows.bpf.o');
   */
  loadCollectionAsync(object: string | Uint8Array | CollectionSpec, options?: CollectionOptions): Promise<Collection>;
  attach(program: Program, target: AttachTarget): Link;
  /**
   * Reads a BPF_MAP_TYPE_RINGBUF map, or several (one reader over all of
   * them, like libbpf's `ring_buffer__add`).
   */
  openRingBuffer(map: Map<unknown, unknown> | readonly Map<unknown, unknown>[]): EventReader;
  openRingBuffer<T>(
    map: Map<unknown, unknown> | readonly Map<unknown, unknown>[],
    options: RingBufferOptions<T> & { codec: Codec<T> },
  ): EventReader<T>;
  /** Reads a BPF_MAP_TYPE_PERF_EVENT_ARRAY map: one BPF-output perf event and ring per CPU. */
  openPerfEventArray(map: Map<unknown, unknown>, options?: PerfEventArrayOptions): EventReader;
  openPerfEventArray<T>(map: Map<unknown, unknown>, options: PerfEventArrayOptions<T> & { codec: Codec<T> }): EventReader<T>;
  /** What this backend supports, probed once and cached. */
  features(): Features;
  close(): void;
}
