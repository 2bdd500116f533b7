import { Errno, hostLittleEndian, InvalidArgumentError, mapTypeName } from '@bpfkit/core';
import type { MapInfo, MapSpec } from '@bpfkit/core';
import { mapFail, type MapCommand } from './map-errors.js';
import { rawValueSize } from '@bpfkit/core';
import type { MockMapMeta } from './map-spec.js';
import type { MockKernel, MockObject } from './mock-kernel.js';

/**
 * Which batch commands a map type has (a missing one answers ENOTSUPP, as in the kernel).
 *
 * @example
 * const arrays: BatchSupport = { lookup: true, lookupAndDelete: false, update: true, delete: false };
 */
export interface BatchSupport {
  lookup: boolean;
  lookupAndDelete: boolean;
  update: boolean;
  delete: boolean;
}

/**
 * The result of a lookup batch: elements copied, and whether the end was reached (ENOENT).
 *
 * @example
 * const last: LookupBatchResult = { count: 2, done: true }; // a partial last batch
 */
export interface LookupBatchResult {
  count: number;
  done: boolean;
}

/** Reads a host-order u32 (array index, prefix length, descriptor) at `offset`. */
export function readU32(bytes: Uint8Array, offset = 0): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, hostLittleEndian);
}

/** Writes a host-order u32 at `offset`. */
export function writeU32(bytes: Uint8Array, value: number, offset = 0): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(offset, value >>> 0, hostLittleEndian);
}

/**
 * A map value in place: `bytes` (a stable array, the same for every lookup of
 * the element) holds it from `offset`.
 *
 * @example
 * const ref: MockValueRef = { bytes: new Uint8Array(16), offset: 8 };
 */
export interface MockValueRef {
  bytes: Uint8Array;
  offset: number;
}

/**
 * One mock map: the kernel object behind every descriptor, pin and
 * map-in-map slot that refers to it (the mock's `struct bpf_map`). It holds
 * the elements and implements each map type's element operations with the
 * kernel's semantics and errors; descriptor permissions (frozen, read-only,
 * write-only) are checked by the descriptor ({@link MockMapFile}) before it
 * calls in here.
 *
 * Subclasses: {@link HashStore} (hash, per-CPU and LRU hashes, hash of maps),
 * {@link ArrayStore} (array, per-CPU array, array of maps, program array),
 * {@link LpmTrieStore}, {@link QueueStackStore}, {@link BloomFilterStore}.
 *
 * @example
 * using m = system.createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
 * const store = (m as MockMap).store;
 * store.info().id === m.info().id; // true
 */
export abstract class MockMapStore implements MockObject {
  readonly kind = 'map' as const;
  readonly id: number;
  /** The spec the map was created from. */
  readonly spec: MapSpec;
  /** What the kernel made of the spec. */
  readonly meta: MockMapMeta;
  /** CPUs per-CPU values have a slot for. */
  readonly possibleCpus: number;
  /** Bytes of a value as user space sees it (per-CPU maps: one rounded slot per CPU). */
  readonly valueBytes: number;
  protected readonly kernel: MockKernel;
  #frozen = false;
  #refs = 0;
  #dead = false;

  protected constructor(kernel: MockKernel, spec: MapSpec, meta: MockMapMeta) {
    this.kernel = kernel;
    this.spec = spec;
    this.meta = meta;
    this.possibleCpus = kernel.possibleCpus;
    this.valueBytes = rawValueSize(meta, kernel.possibleCpus);
    this.id = kernel.nextId('map');
    kernel.track(this);
  }

  /** The name errors show: the spec's name, or the kernel's. */
  get name(): string {
    return this.spec.name ?? this.meta.name;
  }

  get type(): number {
    return this.meta.type;
  }

  get keySize(): number {
    return this.meta.keySize;
  }

  get maxEntries(): number {
    return this.meta.maxEntries;
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  /** Whether the last reference went away. */
  get dead(): boolean {
    return this.#dead;
  }

  /** Which batch commands this map type has. */
  abstract readonly batch: BatchSupport;

  /** Throws the kernel's BpfError for this map. */
  protected fail(errno: number, command: MapCommand, hint?: string): never {
    return mapFail(errno, command, this.name, hint);
  }

  // ---- element operations (syscall semantics; permissions already checked)

  /** BPF_MAP_LOOKUP_ELEM: fills `value`; false for ENOENT. */
  abstract lookupElem(key: Uint8Array | null, value: Uint8Array): boolean;
  /** BPF_MAP_UPDATE_ELEM with `flags` (BPF_F_LOCK already refused). */
  abstract updateElem(key: Uint8Array | null, value: Uint8Array, flags: number): void;
  /** BPF_MAP_DELETE_ELEM: false for ENOENT. */
  abstract deleteElem(key: Uint8Array | null): boolean;
  /** BPF_MAP_GET_NEXT_KEY: fills `next`; false for ENOENT (the end). */
  abstract nextKeyElem(key: Uint8Array | null, next: Uint8Array): boolean;

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM: only hash maps, queues and stacks have it. */
  lookupAndDeleteElem(_key: Uint8Array | null, _value: Uint8Array): boolean {
    return this.fail(Errno.ENOTSUPP, 'BPF_MAP_LOOKUP_AND_DELETE_ELEM', `${mapTypeName(this.type)} maps have no lookup-and-delete`);
  }

  /**
   * BPF_MAP_LOOKUP_BATCH / BPF_MAP_LOOKUP_AND_DELETE_BATCH. The default is
   * the kernel's generic batch (arrays, LPM tries, array of maps): the cursor
   * is the last key visited, written to `outBatch` only when something was
   * copied; absent elements are skipped; ENOENT (`done`) when next-key runs
   * out. Hash maps override it with bucket cursors.
   */
  lookupBatch(
    del: boolean,
    inBatch: Uint8Array | null,
    outBatch: Uint8Array,
    keys: Uint8Array,
    values: Uint8Array,
    count: number,
  ): LookupBatchResult {
    const command = del ? 'BPF_MAP_LOOKUP_AND_DELETE_BATCH' : 'BPF_MAP_LOOKUP_BATCH';
    if (!(del ? this.batch.lookupAndDelete : this.batch.lookup))
      this.fail(Errno.ENOTSUPP, command, `${mapTypeName(this.type)} maps have no ${del ? 'lookup-and-delete ' : 'lookup '}batch`);
    if (count === 0) return { count: 0, done: false };
    const ks = this.keySize;
    let prev: Uint8Array | null = inBatch ? inBatch.slice(0, ks) : null;
    let key: Uint8Array = new Uint8Array(ks);
    const value = new Uint8Array(this.valueBytes);
    let copied = 0;
    let done = false;
    while (copied < count) {
      if (!this.nextKeyElem(prev, key)) {
        done = true;
        break;
      }
      if (this.lookupElem(key, value)) {
        keys.set(key, copied * ks);
        values.set(value, copied * this.valueBytes);
        copied++;
      }
      const visited = key;
      key = prev ?? new Uint8Array(ks);
      prev = visited;
    }
    if (copied > 0 && prev) outBatch.set(prev);
    return { count: copied, done };
  }

  /**
   * The value of `key` in place, for a program on the mock (what
   * `bpf_map_lookup_elem` returns a pointer to): the stable array holding it
   * and where it starts (per-CPU maps: the slot of `cpu`). `undefined` when
   * the key is absent; `null` when this map type keeps no value a program
   * could point into (the helper then works on a copy).
   */
  valueRef(_key: Uint8Array, _cpu = 0): MockValueRef | undefined | null {
    return null;
  }

  /** The memory of an mmapable array; other maps have none. */
  memory(): Uint8Array {
    throw new InvalidArgumentError(
      `map '${this.name}': memory()`,
      'an array map created with BPF_F_MMAPABLE',
      `${mapTypeName(this.type)} map with flags 0x${this.meta.flags.toString(16)}`,
    );
  }

  /** Writable mappings of the memory (descriptors that called memory()): they keep the map from freezing. */
  writableMappings = 0;

  /** BPF_MAP_FREEZE (permissions already checked): EBUSY while the memory is mapped writable. */
  freeze(): void {
    if (this.writableMappings > 0)
      this.fail(
        Errno.EBUSY,
        'BPF_MAP_FREEZE',
        'its memory is mapped writable (memory()): freeze before mapping it, or close the handles that mapped it',
      );
    this.#frozen = true;
  }

  info(): MapInfo {
    const m = this.meta;
    return {
      id: this.id,
      name: m.name,
      type: m.type,
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
      flags: m.flags,
      btfId: 0,
      btfKeyTypeId: m.btfKeyTypeId,
      btfValueTypeId: m.btfValueTypeId,
      mapExtra: m.mapExtra,
      frozen: this.#frozen,
    };
  }

  // ---- references

  retain(): void {
    if (this.#dead) throw new Error(`mock map ${this.id} is gone`);
    this.#refs++;
  }

  release(): void {
    if (this.#dead || --this.#refs > 0) return;
    this.#dead = true;
    this.kernel.forget(this);
    this.destroy();
  }

  /** Called once when the last reference goes away: drop what the map itself references. */
  protected destroy(): void {}
}
