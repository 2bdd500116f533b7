import type { Codec } from './codecs/codec.js';
import { type BoundCodec, bindCodec, codecReader } from './codecs/bound.js';
import { BpfError, ClosedError, describeValue, InvalidArgumentError } from './errors.js';
import { Errno } from './errno.js';
import { OwnedHandle } from './disposable.js';
import { BatchWalk } from './batch-walk.js';
import type { WalkYield } from './batch-walk.js';
import { UpdateFlags } from './kernel/flags.js';
import { MapType } from './kernel/map-type.js';
import type { BatchOptions, BatchStats, IterationStats, Map, MapCodecs, MapInfo, MapSpec, UpdateFlag } from './interfaces.js';
import { perCpu, perCpuSlotSize } from './codecs/per-cpu.js';
import { isPerCpuMapType } from './map-kinds.js';
import { mapTypeName } from './kernel/map-type.js';

/** Update flag numbers of uapi `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`. */
export const UPDATE_FLAG_BITS: Readonly<Record<UpdateFlag, number>> = {
  any: UpdateFlags.ANY,
  noexist: UpdateFlags.NOEXIST,
  exist: UpdateFlags.EXIST,
  lock: UpdateFlags.LOCK,
};

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A codec that passes bytes through, checking the length. */
function rawCodec(size: number, what: string): Codec<Uint8Array> {
  return {
    size,
    name: `${size} bytes`,
    encode(value, into, offset = 0) {
      if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(what, `a Uint8Array of ${size} bytes`, value);
      if (value.byteLength !== size) throw new InvalidArgumentError(what, `${size} bytes`, value);
      into.set(value, offset);
    },
    decode(from, offset = 0) {
      return from.slice(offset, offset + size);
    },
  };
}

/**
 * Checks the shape of a map spec before any backend sees it: integer type,
 * sizes and max entries in the kernel's u32 range, non-negative flags.
 *
 * @example
 * checkMapSpec({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: -1 }); // throws InvalidArgumentError
 */
export function checkMapSpec(spec: MapSpec): void {
  if (typeof spec !== 'object' || spec === null) throw new InvalidArgumentError('map spec', 'an object', spec);
  for (const field of ['type', 'keySize', 'valueSize', 'maxEntries'] as const) {
    const v = spec[field];
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw new InvalidArgumentError(`map spec ${field}`, 'an integer from 0 to 4294967295', v);
  }
  if (spec.flags !== undefined && (!Number.isInteger(spec.flags) || spec.flags < 0 || spec.flags > 0xffffffff)) {
    throw new InvalidArgumentError('map spec flags', 'a u32 of BPF_F_* bits', spec.flags);
  }
}

/**
 * What a backend provides for one map: the raw element operations on byte
 * buffers of exactly `keySize`/`valueSize` bytes. Absence is reported by the
 * return value, every other failure by a thrown `BpfError`.
 */
export interface RawMapOps {
  /** Fills `value`; false when the key is absent. `key` is null for queue/stack peek and bloom filter checks. */
  lookup(key: Uint8Array | null, value: Uint8Array): boolean;
  /** `key` is null for queue/stack push and bloom filter add. */
  update(key: Uint8Array | null, value: Uint8Array, flags: number): void;
  /** False when the key was absent. */
  delete(key: Uint8Array): boolean;
  /** Fills `value` and removes the key; false when absent. `key` is null for queue/stack pops. */
  lookupAndDelete(key: Uint8Array | null, value: Uint8Array): boolean;
  /** Fills `next` with the key after `key` (the first key when null); false at the end. */
  nextKey(key: Uint8Array | null, next: Uint8Array): boolean;
  /**
   * BPF_MAP_LOOKUP_BATCH / BPF_MAP_LOOKUP_AND_DELETE_BATCH: reads up to `count`
   * elements after the opaque cursor `inBatch` (null: from the start) into
   * `keys`/`values` (packed: `keySize` and value bytes each), and writes the
   * cursor for the next call into `outBatch`. `done` is true when the kernel
   * answered ENOENT (no more elements; `count` may still be > 0). Throws
   * BpfError: ENOSPC when one bucket holds more than `count` elements,
   * EINVAL/ENOTSUPP/EOPNOTSUPP when the map type has no batch support.
   * Absent when the backend has no batch operations at all.
   */
  lookupBatch?(
    del: boolean,
    inBatch: Uint8Array | null,
    outBatch: Uint8Array,
    keys: Uint8Array,
    values: Uint8Array,
    count: number,
  ): { count: number; done: boolean };
  /**
   * BPF_MAP_UPDATE_BATCH of `count` packed elements with `elem_flags`
   * `flags`: how many were written and the errno that stopped the kernel
   * (0 when all were). Throws only when the call itself is refused (EINVAL,
   * ENOTSUPP, EOPNOTSUPP: no batch support) before any element.
   */
  updateBatch?(keys: Uint8Array, values: Uint8Array, count: number, flags: number): { count: number; errno: number };
  /**
   * BPF_MAP_DELETE_BATCH of `count` packed keys: how many were deleted and
   * the errno that stopped the kernel (ENOENT at an absent key), 0 when all
   * were. Throws like {@link updateBatch}.
   */
  deleteBatch?(keys: Uint8Array, count: number): { count: number; errno: number };
  /**
   * The buffers this backend passes fastest as the key and value of element
   * operations, `keyBytes` and `valueBytes` long; MapBase encodes into them
   * and hands them back to {@link lookup}, {@link update} and the others.
   * Undefined, or the method absent: MapBase makes its own. Asked once, by
   * the map's constructor; the buffers belong to the map until
   * {@link release}.
   */
  scratch?(keyBytes: number, valueBytes: number): { key: Uint8Array; value: Uint8Array } | undefined;
  /** The memory of an mmapable array (see {@link Map.memory}); throws when the map is not mmapable. */
  memory(): Uint8Array;
  pin(path: string): void;
  unpin(path: string): void;
  freeze(): void;
  info(): MapInfo;
  /** Releases the backing object. */
  release(): void;
}

/** What a walk yields for each element: the key and the value at those offsets of scratch buffers. */
type WalkMake<T> = (keys: Uint8Array, keyOffset: number, values: Uint8Array, valueOffset: number) => T;

/** Map types whose batch lookup walks every element (kernel/bpf/hashtab.c, arraymap.c: generic_map_lookup_batch). */
const BATCH_WALK_TYPES: ReadonlySet<number> = new Set<number>([
  MapType.HASH,
  MapType.PERCPU_HASH,
  MapType.LRU_HASH,
  MapType.LRU_PERCPU_HASH,
  MapType.ARRAY,
  MapType.PERCPU_ARRAY,
]);

/**
 * The backend-independent half of every map: codecs, argument checks,
 * scratch buffers and robust iteration, over a backend's {@link RawMapOps}.
 * Kernel and mock maps both extend it, so they cannot differ in these rules.
 *
 * Iteration rule: `keys()`, `values()`, `entries()` and `for…of` read the
 * map a batch at a time (BPF_MAP_LOOKUP_BATCH, as many elements a system
 * call as the batch holds, decoded one at a time as the caller asks for
 * them: memory stays flat) where the backend and the map type have batch
 * lookups (hash, per-CPU hash, LRU, array, per-CPU array). Every key
 * present from the start of the walk to its end is seen exactly once; a key
 * added or deleted meanwhile may or may not be (a hash map is read a bucket
 * at a time, an array an index at a time; a batch's elements are a copy
 * taken at its system call). Elsewhere keys are walked with next-key and
 * lookup: when the current key is deleted concurrently (by a program or
 * another process), the kernel's hash maps restart from the first key, so a
 * key may be seen twice; that walk is capped at `maxEntries + 1` steps and
 * then reports `aborted` in {@link lastIteration}; a key deleted between
 * next-key and its lookup is skipped. `lastIteration.batches` says which
 * walk ran.
 */
export abstract class MapBase<K = Uint8Array, V = Uint8Array> extends OwnedHandle implements Map<K, V> {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  abstract readonly fd: number;
  lastIteration: IterationStats = { visited: 0, restarts: 0, aborted: false };
  lastBatch: BatchStats = { count: 0, calls: 0, fallback: false };

  protected readonly keyCodec: Codec<K>;
  protected readonly valueCodec: Codec<V>;
  readonly #ops: RawMapOps;
  readonly #key: Uint8Array;
  readonly #value: Uint8Array;
  /** The codecs tied to #key and #value. */
  readonly #keyIO: BoundCodec<K>;
  readonly #valueIO: BoundCodec<V>;
  readonly #valueBytes: number;
  #pinnedAt: string | undefined;
  /** Set once the backend refused a batch command for this map: later batches go element by element. */
  #noBatch = false;

  protected constructor(spec: MapSpec, ops: RawMapOps, codecs: { key?: Codec<K>; value?: Codec<V> } = {}, valueBytes = spec.valueSize) {
    const label = `map '${spec.name ?? ''}'`;
    super(label, () => ops.release());
    this.name = spec.name ?? '';
    this.type = spec.type;
    this.keySize = spec.keySize;
    this.valueSize = spec.valueSize;
    this.maxEntries = spec.maxEntries;
    this.flags = spec.flags ?? 0;
    this.#ops = ops;
    this.keyCodec = codecs.key ?? (rawCodec(spec.keySize, 'key') as unknown as Codec<K>);
    this.valueCodec = codecs.value ?? (rawCodec(valueBytes, 'value') as unknown as Codec<V>);
    if (this.keyCodec.size !== spec.keySize) {
      throw new InvalidArgumentError(
        `${label}: key codec`,
        `a codec of ${spec.keySize} bytes (the map's key size)`,
        `${this.keyCodec.name} of ${this.keyCodec.size} bytes`,
      );
    }
    if (this.valueCodec.size !== valueBytes) {
      throw new InvalidArgumentError(
        `${label}: value codec`,
        `a codec of ${valueBytes} bytes (the map's value size)`,
        `${this.valueCodec.name} of ${this.valueCodec.size} bytes`,
      );
    }
    this.#valueBytes = valueBytes;
    const keyBytes = Math.max(spec.keySize, 1);
    const valueBufferBytes = Math.max(valueBytes, 1);
    const scratch = ops.scratch?.(keyBytes, valueBufferBytes);
    // Else backed by their own ArrayBuffers: the addon takes their addresses without moving them off the V8 heap.
    this.#key = scratch?.key ?? new Uint8Array(new ArrayBuffer(keyBytes));
    this.#value = scratch?.value ?? new Uint8Array(new ArrayBuffer(valueBufferBytes));
    this.#keyIO = bindCodec(this.keyCodec, this.#key);
    this.#valueIO = bindCodec(this.valueCodec, this.#value);
  }

  #encodeKey(key: K, into?: Uint8Array): Uint8Array {
    this.assertOpen();
    if (key === undefined || key === null) throw new InvalidArgumentError(`${this.label}: key`, this.keyCodec.name, key);
    if (into === undefined) {
      this.#keyIO.encode(key);
      return this.#key;
    }
    this.keyCodec.encode(key, into);
    return into;
  }

  #encodeValue(value: V): Uint8Array {
    if (value === undefined || value === null) throw new InvalidArgumentError(`${this.label}: value`, this.valueCodec.name, value);
    this.#valueIO.encode(value);
    return this.#value;
  }

  lookup(key: K): V | undefined {
    const k = this.#encodeKey(key);
    return this.#ops.lookup(k, this.#value) ? this.#valueIO.decode() : undefined;
  }

  update(key: K, value: V, flag: UpdateFlag = 'any'): void {
    const bits = UPDATE_FLAG_BITS[flag];
    if (bits === undefined)
      throw new InvalidArgumentError(`${this.label}: flag`, `one of ${Object.keys(UPDATE_FLAG_BITS).join(', ')}`, flag);
    const k = this.#encodeKey(key);
    this.#ops.update(k, this.#encodeValue(value), bits);
  }

  delete(key: K): boolean {
    return this.#ops.delete(this.#encodeKey(key));
  }

  lookupAndDelete(key: K): V | undefined {
    const k = this.#encodeKey(key);
    return this.#ops.lookupAndDelete(k, this.#value) ? this.#valueIO.decode() : undefined;
  }

  nextKey(key?: K): K | undefined {
    this.assertOpen();
    const current = key === undefined ? null : this.#encodeKey(key, new Uint8Array(this.#key.length));
    return this.#ops.nextKey(current, this.#key) ? this.#keyIO.decode() : undefined;
  }

  /**
   * Walks the map (a batch at a time where it can, see the class comment),
   * yielding the keys, the values or `[key, value]` pairs; the next-key walk
   * makes each with `make(keys, keyOffset, values, valueOffset)` from
   * scratch buffers reused at every step.
   */
  #walk<T>(yields: WalkYield, make: WalkMake<T>, keyCodec: Codec<unknown> = this.keyCodec): IterableIterator<T> {
    const stats: IterationStats = { visited: 0, restarts: 0, aborted: false, batches: 0 };
    let lastBatch: BatchStats | undefined;
    return new BatchWalk<T>({
      begin: () => {
        this.assertOpen();
        this.lastIteration = stats;
        if (!this.#ops.lookupBatch || this.#noBatch || !BATCH_WALK_TYPES.has(this.type)) return undefined;
        // The walk's batches are not a batch operation of the caller's: lastBatch keeps what that was.
        lastBatch = this.lastBatch;
        return this.#rawBatches(false, this.#batchSize(undefined));
      },
      rest: () => {
        if (lastBatch) {
          this.lastBatch = lastBatch;
          lastBatch = undefined;
          // A backend or kernel without batch lookups for this map: the first call said so, nothing was read.
          if (!this.#noBatch) return undefined;
        }
        stats.batches = 0;
        return this.#walkNextKey(make, stats);
      },
      end: () => {
        if (lastBatch) this.lastBatch = lastBatch;
        lastBatch = undefined;
      },
      handle: this,
      stats,
      keyCodec,
      valueCodec: this.valueCodec,
      yields,
    });
  }

  /** The next-key walk: two system calls an element, restarts counted (see the class comment). */
  *#walkNextKey<T>(make: WalkMake<T>, stats: IterationStats): Generator<T> {
    const keyBytes = this.#key.length;
    const current = new Uint8Array(new ArrayBuffer(keyBytes));
    const next = new Uint8Array(new ArrayBuffer(keyBytes));
    const value = new Uint8Array(new ArrayBuffer(this.#value.length));
    const ops = this.#ops;
    let has = ops.nextKey(null, current);
    const first = has ? current.slice() : undefined;
    let steps = 0;
    const limit = this.maxEntries + 1;
    while (has) {
      if (++steps > limit) {
        stats.aborted = true;
        return;
      }
      // A key deleted between next-key and this lookup is skipped.
      if (ops.lookup(current, value)) {
        stats.visited++;
        yield make(current, 0, value, 0);
        if (this.closed) return;
      }
      has = ops.nextKey(current, next);
      // When `current` vanished meanwhile, the kernel's next-key starts over at the first key.
      if (has && first && sameBytes(next, first)) stats.restarts++;
      current.set(next);
    }
  }

  keys(): IterableIterator<K> {
    const key = codecReader(this.keyCodec);
    return this.#walk('keys', (k, ko) => key(k, ko));
  }

  values(): IterableIterator<V> {
    const value = codecReader(this.valueCodec);
    return this.#walk('values', (_k, _ko, v, vo) => value(v, vo));
  }

  entries(): IterableIterator<[K, V]> {
    const key = codecReader(this.keyCodec);
    const value = codecReader(this.valueCodec);
    return this.#walk('entries', (k, ko, v, vo): [K, V] => [key(k, ko), value(v, vo)]);
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  #batchSize(options: BatchOptions | undefined): number {
    const size = options?.batchSize ?? Math.min(4096, Math.max(this.maxEntries, 1));
    if (!Number.isInteger(size) || size < 1) throw new InvalidArgumentError(`${this.label}: batchSize`, 'a positive integer', size);
    return size;
  }

  /** Whether a batch refusal means "this map (type) or kernel has no batch commands". */
  #unsupported(err: unknown): boolean {
    return err instanceof BpfError && [Errno.EINVAL, Errno.ENOTSUPP, Errno.EOPNOTSUPP, Errno.ENOSYS].includes(err.errno as never);
  }

  /**
   * BPF_MAP_(LOOKUP|LOOKUP_AND_DELETE)_BATCH a batch at a time: the batch
   * buffers of each call (valid until the next) and how many elements they
   * hold. Ends at once, setting `#noBatch`, when the first call says the
   * backend, kernel or map type has no batch commands. Counts into
   * {@link lastBatch}.
   */
  *#rawBatches(del: boolean, batchSize: number): Generator<{ keys: Uint8Array; values: Uint8Array; count: number }> {
    let size = batchSize;
    const stats: BatchStats = { count: 0, calls: 0, fallback: false };
    this.lastBatch = stats;
    const ops = this.#ops;
    if (!ops.lookupBatch || this.#noBatch) return;
    // The cursor is opaque: a bucket index for hash maps, a key for arrays.
    const cursorSize = Math.max(this.keySize, 8);
    let inBatch: Uint8Array | null = null;
    let outBatch: Uint8Array = new Uint8Array(new ArrayBuffer(cursorSize));
    const spare = new Uint8Array(new ArrayBuffer(cursorSize));
    let keys = new Uint8Array(new ArrayBuffer(size * this.keySize));
    let values = new Uint8Array(new ArrayBuffer(size * this.#valueBytes));
    for (;;) {
      let r: { count: number; done: boolean };
      try {
        r = ops.lookupBatch(del, inBatch, outBatch, keys, values, size);
      } catch (err) {
        if (err instanceof BpfError && err.errno === Errno.ENOSPC && size < this.maxEntries * 2 + 2) {
          // One hash bucket holds more elements than the batch: grow and retry from the same cursor.
          size *= 2;
          keys = new Uint8Array(new ArrayBuffer(size * this.keySize));
          values = new Uint8Array(new ArrayBuffer(size * this.#valueBytes));
          continue;
        }
        if (stats.calls === 0 && this.#unsupported(err)) {
          this.#noBatch = true;
          return;
        }
        throw err;
      }
      stats.calls++;
      stats.count += r.count;
      if (r.count > 0) {
        yield { keys, values, count: r.count };
        if (this.closed) return;
      }
      if (r.done) return;
      // The cursor the kernel wrote becomes the next call's input; the old input buffer takes the next output.
      const previous: Uint8Array = inBatch ?? spare;
      inBatch = outBatch;
      outBatch = previous;
    }
  }

  /** Reads the map a batch at a time: one array of entries per system call (or per fallback chunk). */
  *#batches(del: boolean, options: BatchOptions | undefined): Generator<[K, V][]> {
    this.assertOpen();
    const size = this.#batchSize(options);
    const keyBytes = this.keySize;
    const valueBytes = this.#valueBytes;
    // Decoders bound once per batch buffer (they change only when a bucket outgrows them), as BatchWalk does.
    let bound: Uint8Array | undefined;
    let decodeKey: (offset: number) => K = () => undefined as K;
    let decodeValue: (offset: number) => V = () => undefined as V;
    for (const { keys, values, count } of this.#rawBatches(del, size)) {
      if (keys !== bound) {
        bound = keys;
        decodeKey = bindCodec(this.keyCodec, keys).decode;
        decodeValue = bindCodec(this.valueCodec, values).decode;
      }
      const chunk: [K, V][] = new Array(count);
      for (let i = 0; i < count; i++) chunk[i] = [decodeKey(i * keyBytes), decodeValue(i * valueBytes)];
      yield chunk;
      if (this.closed) return;
    }
    if (!this.#noBatch && this.#ops.lookupBatch) return;
    const stats = this.lastBatch;
    stats.fallback = true;
    let chunk: [K, V][] = [];
    const walkStats: IterationStats = { visited: 0, restarts: 0, aborted: false, batches: 0 };
    for (const [k, v] of this.#walkNextKey((key, _ko, value) => [key.slice(), value] as const, walkStats)) {
      if (del && !this.#ops.delete(k)) continue; // gone meanwhile
      chunk.push([this.keyCodec.decode(k), this.valueCodec.decode(v)]);
      stats.count++;
      stats.calls += del ? 3 : 2;
      if (chunk.length === size) {
        yield chunk;
        chunk = [];
      }
    }
    if (chunk.length) yield chunk;
  }

  lookupBatch(options?: BatchOptions): [K, V][] {
    return [...this.#batches(false, options)].flat();
  }

  lookupAndDeleteBatch(options?: BatchOptions): [K, V][] {
    return [...this.#batches(true, options)].flat();
  }

  lookupBatchChunks(options?: BatchOptions): IterableIterator<[K, V][]> {
    return this.#batches(false, options);
  }

  /** Runs `write` over chunks of packed elements, falling back to `single` when the backend refuses batches. */
  #writeBatch<T>(
    items: Iterable<T>,
    options: BatchOptions | undefined,
    pack: (item: T, keys: Uint8Array, values: Uint8Array, index: number) => void,
    batch: ((keys: Uint8Array, values: Uint8Array, count: number) => { count: number; errno: number }) | undefined,
    single: (item: T) => boolean,
    skipErrno: number | undefined,
    command: string,
    withValues: boolean,
  ): number {
    this.assertOpen();
    const size = this.#batchSize(options);
    const stats: BatchStats = { count: 0, calls: 0, fallback: false };
    this.lastBatch = stats;
    const keys = new Uint8Array(size * this.keySize);
    const values = new Uint8Array(withValues ? size * this.#valueBytes : 0);
    let chunk: T[] = [];
    const flush = () => {
      let start = 0;
      while (start < chunk.length) {
        if (batch && !this.#noBatch) {
          const n = chunk.length - start;
          for (let i = 0; i < n; i++) pack(chunk[start + i]!, keys, values, i);
          let r: { count: number; errno: number };
          try {
            r = batch(keys, values, n);
          } catch (err) {
            if (!this.#unsupported(err) || stats.calls > 0) throw err;
            this.#noBatch = true;
            continue;
          }
          stats.calls++;
          stats.count += r.count;
          start += r.count;
          if (r.errno === 0) continue;
          if (r.errno === skipErrno) {
            start++; // the kernel stopped at an element that is not there: skip it and go on
            continue;
          }
          throw new BpfError(r.errno, { syscall: 'bpf', command, subject: `${this.label} (after ${stats.count} elements)` });
        }
        stats.fallback = true;
        for (; start < chunk.length; start++) {
          stats.calls++;
          if (single(chunk[start]!)) stats.count++;
        }
      }
      chunk = [];
    };
    for (const item of items) {
      chunk.push(item);
      if (chunk.length === size) flush();
    }
    flush();
    return stats.count;
  }

  updateBatch(entries: Iterable<readonly [K, V]>, flag: UpdateFlag = 'any', options?: BatchOptions): number {
    const bits = UPDATE_FLAG_BITS[flag];
    if (bits === undefined)
      throw new InvalidArgumentError(`${this.label}: flag`, `one of ${Object.keys(UPDATE_FLAG_BITS).join(', ')}`, flag);
    const ops = this.#ops;
    return this.#writeBatch(
      entries,
      options,
      ([k, v], keys, values, i) => {
        this.keyCodec.encode(k, keys, i * this.keySize);
        this.valueCodec.encode(v, values, i * this.#valueBytes);
      },
      // Batch updates take only BPF_F_LOCK as elem_flags: noexist/exist go element by element.
      ops.updateBatch && (flag === 'any' || flag === 'lock') ? (keys, values, n) => ops.updateBatch!(keys, values, n, bits) : undefined,
      ([k, v]) => {
        this.update(k, v, flag);
        return true;
      },
      undefined,
      'BPF_MAP_UPDATE_BATCH',
      true,
    );
  }

  deleteBatch(keys: Iterable<K>, options?: BatchOptions): number {
    const ops = this.#ops;
    return this.#writeBatch(
      keys,
      options,
      (k, packed, _values, i) => this.keyCodec.encode(k, packed, i * this.keySize),
      ops.deleteBatch ? (packed, _values, n) => ops.deleteBatch!(packed, n) : undefined,
      (k) => this.delete(k),
      Errno.ENOENT,
      'BPF_MAP_DELETE_BATCH',
      false,
    );
  }

  clear(): number {
    this.assertOpen();
    if (this.#isArrayLike()) {
      // Arrays cannot delete: zero every element instead.
      const zero = new Uint8Array(this.#valueBytes);
      const key = new Uint8Array(this.keySize);
      const view = new DataView(key.buffer);
      for (let i = 0; i < this.maxEntries; i++) {
        view.setUint32(0, i, true);
        this.#ops.update(key, zero, 0);
      }
      return this.maxEntries;
    }
    const keys: Uint8Array[] = [];
    // Copies of the raw key bytes, whatever the key codec: batches and the next-key walk alike.
    const bytes = rawCodec(this.keySize, 'key');
    for (const k of this.#walk('keys', (key, ko) => bytes.decode(key, ko), bytes)) keys.push(k);
    let n = 0;
    for (const k of keys) if (this.#ops.delete(k)) n++;
    return n;
  }

  /** Array maps (plain and per-CPU) hold every index and cannot delete. */
  #isArrayLike(): boolean {
    return this.type === MapType.ARRAY || this.type === MapType.PERCPU_ARRAY;
  }

  push(value: V, flag: 'any' | 'exist' = 'any'): void {
    this.assertOpen();
    if (flag !== 'any' && flag !== 'exist') throw new InvalidArgumentError(`${this.label}: push flag`, "'any' or 'exist'", flag);
    this.#ops.update(null, this.#encodeValue(value), UPDATE_FLAG_BITS[flag]);
  }

  pop(): V | undefined {
    this.assertOpen();
    return this.#ops.lookupAndDelete(null, this.#value) ? this.#valueIO.decode() : undefined;
  }

  peek(): V | undefined {
    this.assertOpen();
    return this.#ops.lookup(null, this.#value) ? this.#valueIO.decode() : undefined;
  }

  has(value: V): boolean {
    this.assertOpen();
    return this.#ops.lookup(null, this.#encodeValue(value));
  }

  memory(): Uint8Array {
    this.assertOpen();
    return this.#ops.memory();
  }

  pin(path: string): void {
    this.assertOpen();
    if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError(`${this.label}: pin path`, 'a path in bpffs', path);
    this.#ops.pin(path);
    this.#pinnedAt = path;
  }

  unpin(): void {
    this.assertOpen();
    if (this.#pinnedAt === undefined)
      throw new InvalidArgumentError(`${this.label}: unpin`, 'a map pinned by this handle', describeValue(undefined));
    this.#ops.unpin(this.#pinnedAt);
    this.#pinnedAt = undefined;
  }

  /** Records that the map is pinned at `path` (it was opened from there), so {@link unpin} can remove it. */
  protected adoptPin(path: string): void {
    this.#pinnedAt = path;
  }

  /** The path this handle pinned the map at, if any. */
  get pinnedAt(): string | undefined {
    return this.#pinnedAt;
  }

  freeze(): void {
    this.assertOpen();
    this.#ops.freeze();
  }

  info(): MapInfo {
    this.assertOpen();
    return this.#ops.info();
  }

  /**
   * A view of this map through other codecs, sharing the map: closing the
   * view leaves the map open, and once the map is closed the view throws
   * ClosedError. The codecs must match the map's key and value sizes. Not
   * for per-CPU map types: see {@link MapBase.withPerCpuCodecs}.
   *
   * @example
   * import { u32, u64 } from '@bpfkit/core';
   * declare const raw: MapBase;
   * using counts = raw.withCodecs({ key: u32, value: u64 });
   * counts.lookup(1); // 10n
   */
  withCodecs<K2, V2>(codecs: MapCodecs<K2, V2>): Map<K2, V2> {
    if (isPerCpuMapType(this.type)) {
      throw new InvalidArgumentError(
        `${this.label}: withCodecs`,
        'a map that is not per-CPU (a per-CPU map has a value per CPU: use withPerCpuCodecs)',
        mapTypeName(this.type),
      );
    }
    return this.#view(MapBase.#checkCodecs(this.label, codecs), codecs.value);
  }

  /**
   * {@link MapBase.withCodecs} for per-CPU map types: `codecs.value` is one
   * CPU's value, and the view's values are arrays with one value per
   * possible CPU (the kernel's flat layout, each slot rounded up to 8 bytes).
   *
   * @example
   * import { u32, u64 } from '@bpfkit/core';
   * declare const raw: MapBase;
   * using perCpuCounts = raw.withPerCpuCodecs({ key: u32, value: u64 });
   * perCpuCounts.lookup(0); // [3n, 0n, 1n, …] one per possible CPU
   */
  withPerCpuCodecs<K2, V2>(codecs: MapCodecs<K2, V2>): Map<K2, V2[]> {
    if (!isPerCpuMapType(this.type)) {
      throw new InvalidArgumentError(
        `${this.label}: withPerCpuCodecs`,
        'a per-CPU map (percpu_hash, percpu_array, lru_percpu_hash)',
        mapTypeName(this.type),
      );
    }
    const checked = MapBase.#checkCodecs(this.label, codecs);
    const cpus = this.#valueBytes / perCpuSlotSize(this.valueSize);
    return this.#view(checked, perCpu(codecs.value, cpus));
  }

  static #checkCodecs<K2, V2>(label: string, codecs: MapCodecs<K2, V2>): MapCodecs<K2, V2> {
    if (typeof codecs !== 'object' || codecs === null || typeof codecs.key !== 'object' || typeof codecs.value !== 'object') {
      throw new InvalidArgumentError(`${label}: codecs`, '{ key, value } codecs', codecs);
    }
    return codecs;
  }

  #view<K2, V2>(codecs: MapCodecs<K2, unknown>, value: Codec<V2>): Map<K2, V2> {
    this.assertOpen();
    const parent = this as MapBase<unknown, unknown>;
    const label = this.label;
    // Every operation of the view checks the map first: its fd may be closed (and reused) after the map is.
    const ops = this.#ops as unknown as Record<string, unknown>;
    const guarded: Record<string, unknown> = {};
    for (let proto: object | null = ops; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
      for (const name of Object.getOwnPropertyNames(proto)) {
        const f = ops[name];
        if (name === 'constructor' || typeof f !== 'function' || name in guarded) continue;
        guarded[name] = (...args: unknown[]) => {
          if (parent.closed) throw new ClosedError(label);
          return (f as (...a: unknown[]) => unknown).apply(ops, args);
        };
      }
    }
    guarded.release = () => {}; // the view owns nothing
    const spec: MapSpec = {
      name: this.name,
      type: this.type,
      keySize: this.keySize,
      valueSize: this.valueSize,
      maxEntries: this.maxEntries,
      flags: this.flags,
    };
    return new MapView<K2, V2>(spec, guarded as unknown as RawMapOps, { key: codecs.key, value }, this.#valueBytes, this.fd);
  }
}

/** A map seen through other codecs ({@link MapBase.withCodecs}): shares the map, owns nothing. */
class MapView<K, V> extends MapBase<K, V> {
  readonly fd: number;
  constructor(spec: MapSpec, ops: RawMapOps, codecs: { key: Codec<K>; value: Codec<V> }, valueBytes: number, fd: number) {
    super(spec, ops, codecs, valueBytes);
    this.fd = fd;
  }
}
