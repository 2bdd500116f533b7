import { BpfError, Errno, MapBase, MapFlags, MapType, UpdateFlags } from '@bpfkit/core';
import type { Codec, MapInfo, MapSpec, RawMapOps } from '@bpfkit/core';
import { mapFail, type MapCommand } from './map-errors.js';
import { checkMockMapSpec } from './map-spec.js';
import type { MockMapStore } from './map-store.js';
import type { MockFileMode, MockKernel } from './mock-kernel.js';
import { ArrayStore } from './stores/array.js';
import { BloomFilterStore } from './stores/bloom-filter.js';
import { HashStore } from './stores/hash.js';
import { LpmTrieStore } from './stores/lpm-trie.js';
import { QueueStackStore } from './stores/queue-stack.js';
import { PerfEventArrayStore, RingbufStore } from './stores/event-maps.js';
import { DevmapHashStore, DevmapStore } from './stores/devmap.js';

export { MOCK_MAP_TYPES } from './map-spec.js';
export { MockMapStore } from './map-store.js';

/**
 * Creates the store of a new map as BPF_MAP_CREATE would: the spec is
 * checked like the kernel checks it (BpfError with the kernel's errno),
 * then the map comes to life with an id and no references yet.
 *
 * @example
 * const { kernel } = new MockSystem();
 * const store = createMockMapStore(kernel, { type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 8 });
 */
export function createMockMapStore(kernel: MockKernel, spec: MapSpec): MockMapStore {
  const meta = checkMockMapSpec(spec, kernel.possibleCpus);
  switch (meta.type) {
    case MapType.HASH:
    case MapType.PERCPU_HASH:
    case MapType.LRU_HASH:
    case MapType.LRU_PERCPU_HASH:
    case MapType.HASH_OF_MAPS:
      return new HashStore(kernel, spec, meta);
    case MapType.ARRAY:
    case MapType.PERCPU_ARRAY:
    case MapType.ARRAY_OF_MAPS:
    case MapType.PROG_ARRAY:
      return new ArrayStore(kernel, spec, meta);
    case MapType.DEVMAP:
      return new DevmapStore(kernel, spec, meta);
    case MapType.DEVMAP_HASH:
      return new DevmapHashStore(kernel, spec, meta);
    case MapType.LPM_TRIE:
      return new LpmTrieStore(kernel, spec, meta);
    case MapType.QUEUE:
    case MapType.STACK:
      return new QueueStackStore(kernel, spec, meta);
    case MapType.RINGBUF:
      return new RingbufStore(kernel, spec, meta);
    case MapType.PERF_EVENT_ARRAY:
      return new PerfEventArrayStore(kernel, spec, meta);
    default:
      return new BloomFilterStore(kernel, spec, meta);
  }
}

/**
 * One open descriptor of a mock map: the {@link RawMapOps} a {@link MockMap}
 * drives. It applies what the kernel's bpf() commands check before the map
 * type sees a call — the descriptor's permissions (a frozen map or a
 * BPF_F_RDONLY descriptor cannot write: EPERM; a BPF_F_WRONLY one cannot
 * read: EPERM), BPF_F_LOCK without a spin lock (EINVAL), keys on keyless maps
 * (EINVAL), lookup-and-delete and batch commands the map type lacks
 * (ENOTSUPP) — then hands the call to the map's store. Closing it closes the
 * fd and drops its reference to the map.
 *
 * @example
 * const system = new MockSystem();
 * const store = createMockMapStore(system.kernel, { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 8 });
 * const file = new MockMapFile(system.kernel, store, { read: true, write: true });
 * file.update(Uint8Array.of(1, 0, 0, 0), Uint8Array.of(2, 0, 0, 0), 0);
 * file.release();
 */
export class MockMapFile implements RawMapOps {
  readonly store: MockMapStore;
  readonly fd: number;
  readonly #kernel: MockKernel;
  readonly #mode: MockFileMode;
  #open = true;
  /** Whether memory() mapped the map writable through this descriptor. */
  #mapped = false;

  /** Opens a new descriptor on `store` with `mode`. */
  constructor(kernel: MockKernel, store: MockMapStore, mode: MockFileMode) {
    this.#kernel = kernel;
    this.store = store;
    this.#mode = { ...mode };
    this.fd = kernel.openFd(store, mode);
  }

  #fail(errno: number, command: MapCommand, hint?: string): never {
    return mapFail(errno, command, this.store.name, hint);
  }

  #checkOpen(command: MapCommand): void {
    if (!this.#open) this.#fail(Errno.EBADF, command, `fd ${this.fd} was closed`);
  }

  #canRead(command: MapCommand): void {
    this.#checkOpen(command);
    if (!this.#mode.read) this.#fail(Errno.EPERM, command, 'the map was opened write-only (BPF_F_WRONLY): user space cannot read it');
  }

  #canWrite(command: MapCommand): void {
    this.#checkOpen(command);
    if (!this.#mode.write) this.#fail(Errno.EPERM, command, 'the map was opened read-only (BPF_F_RDONLY): user space cannot write it');
    if (this.store.frozen) this.#fail(Errno.EPERM, command, 'the map is frozen: user space cannot write it');
  }

  /** The key as the kernel copies it: none for keyless maps (a key there is EINVAL), exactly key size bytes otherwise. */
  #key(key: Uint8Array | null, command: MapCommand): Uint8Array | null {
    const size = this.store.keySize;
    if (size === 0) {
      if (key !== null && key.byteLength !== 0) this.#fail(Errno.EINVAL, command, `${this.#typeName()} maps take no key (key size 0)`);
      return null;
    }
    if (key === null || key.byteLength < size) this.#fail(Errno.EFAULT, command, `a key of ${size} bytes is needed`);
    return key.byteLength === size ? key : key.subarray(0, size);
  }

  #value(value: Uint8Array, command: MapCommand): Uint8Array {
    const size = this.store.valueBytes;
    if (value.byteLength < size) this.#fail(Errno.EFAULT, command, `a value buffer of ${size} bytes is needed`);
    return value.byteLength === size ? value : value.subarray(0, size);
  }

  #typeName(): string {
    const t = this.store.type;
    return t === MapType.QUEUE ? 'queue' : t === MapType.STACK ? 'stack' : t === MapType.BLOOM_FILTER ? 'bloom filter' : 'these';
  }

  lookup(key: Uint8Array | null, value: Uint8Array): boolean {
    const command = 'BPF_MAP_LOOKUP_ELEM';
    this.#canRead(command);
    return this.store.lookupElem(this.#key(key, command), this.#value(value, command));
  }

  update(key: Uint8Array | null, value: Uint8Array, flags: number): void {
    const command = 'BPF_MAP_UPDATE_ELEM';
    this.#canWrite(command);
    if (flags & UpdateFlags.LOCK)
      this.#fail(Errno.EINVAL, command, 'BPF_F_LOCK needs a value with a struct bpf_spin_lock (BTF), which mock maps do not have');
    this.store.updateElem(this.#key(key, command), this.#value(value, command), flags);
  }

  delete(key: Uint8Array | null): boolean {
    const command = 'BPF_MAP_DELETE_ELEM';
    this.#canWrite(command);
    return this.store.deleteElem(this.#key(key, command));
  }

  lookupAndDelete(key: Uint8Array | null, value: Uint8Array): boolean {
    const command = 'BPF_MAP_LOOKUP_AND_DELETE_ELEM';
    this.#canRead(command);
    this.#canWrite(command);
    // Only hash maps (not hash of maps), queues and stacks have it: the others answer ENOTSUPP.
    return this.store.lookupAndDeleteElem(this.#key(key, command), this.#value(value, command));
  }

  nextKey(key: Uint8Array | null, next: Uint8Array): boolean {
    const command = 'BPF_MAP_GET_NEXT_KEY';
    this.#canRead(command);
    const k = key === null ? null : this.#key(key, command);
    if (next.byteLength < this.store.keySize) this.#fail(Errno.EFAULT, command, `a key buffer of ${this.store.keySize} bytes is needed`);
    return this.store.nextKeyElem(k, next);
  }

  lookupBatch(
    del: boolean,
    inBatch: Uint8Array | null,
    outBatch: Uint8Array,
    keys: Uint8Array,
    values: Uint8Array,
    count: number,
  ): { count: number; done: boolean } {
    const command = del ? 'BPF_MAP_LOOKUP_AND_DELETE_BATCH' : 'BPF_MAP_LOOKUP_BATCH';
    this.#canRead(command);
    if (del) this.#canWrite(command);
    this.#checkBuffers(command, keys, values, count);
    return this.store.lookupBatch(del, inBatch, outBatch, keys, values, count);
  }

  #checkBuffers(command: MapCommand, keys: Uint8Array, values: Uint8Array | null, count: number): void {
    if (!Number.isInteger(count) || count < 0 || count > 0xffffffff) this.#fail(Errno.EINVAL, command, `count ${count} is not a u32`);
    if (keys.byteLength < count * this.store.keySize) this.#fail(Errno.EFAULT, command, `the keys buffer holds fewer than ${count} keys`);
    if (values && values.byteLength < count * this.store.valueBytes)
      this.#fail(Errno.EFAULT, command, `the values buffer holds fewer than ${count} values`);
  }

  /** The checks of the generic update/delete batch: write permission, the map type has it, only BPF_F_LOCK as element flag. */
  #writeBatchCheck(command: MapCommand, has: boolean, flags: number): void {
    this.#canWrite(command);
    if (!has) this.#fail(Errno.ENOTSUPP, command, 'this map type has no batch command for this');
    if (flags & ~UpdateFlags.LOCK)
      this.#fail(Errno.EINVAL, command, 'batch updates take only BPF_F_LOCK as element flags (noexist/exist are per element)');
    if (flags & UpdateFlags.LOCK)
      this.#fail(Errno.EINVAL, command, 'BPF_F_LOCK needs a value with a struct bpf_spin_lock (BTF), which mock maps do not have');
  }

  updateBatch(keys: Uint8Array, values: Uint8Array, count: number, flags: number): { count: number; errno: number } {
    const command = 'BPF_MAP_UPDATE_BATCH';
    this.#writeBatchCheck(command, this.store.batch.update, flags);
    this.#checkBuffers(command, keys, values, count);
    const ks = this.store.keySize;
    const vs = this.store.valueBytes;
    for (let i = 0; i < count; i++) {
      try {
        this.store.updateElem(keys.subarray(i * ks, (i + 1) * ks), values.subarray(i * vs, (i + 1) * vs), flags);
      } catch (err) {
        if (err instanceof BpfError) return { count: i, errno: err.errno };
        throw err;
      }
    }
    return { count, errno: 0 };
  }

  deleteBatch(keys: Uint8Array, count: number): { count: number; errno: number } {
    const command = 'BPF_MAP_DELETE_BATCH';
    this.#writeBatchCheck(command, this.store.batch.delete, 0);
    this.#checkBuffers(command, keys, null, count);
    const ks = this.store.keySize;
    for (let i = 0; i < count; i++) {
      try {
        if (!this.store.deleteElem(keys.subarray(i * ks, (i + 1) * ks))) return { count: i, errno: Errno.ENOENT };
      } catch (err) {
        if (err instanceof BpfError) return { count: i, errno: err.errno };
        throw err;
      }
    }
    return { count, errno: 0 };
  }

  /**
   * The array's memory, mapped read-write as the kernel backend maps it:
   * EACCES (mmap) for a read-only or write-only descriptor and for maps with
   * BPF_F_RDONLY_PROG, EPERM for a frozen map. While mapped (until this
   * descriptor closes) the map cannot be frozen (EBUSY).
   */
  memory(): Uint8Array {
    this.#checkOpen('BPF_MAP_LOOKUP_ELEM');
    const memory = this.store.memory();
    if (this.#mapped) return memory;
    const mmapFail = (errno: number, hint: string): never => {
      throw new BpfError(errno, { syscall: 'mmap', subject: `map '${this.store.name}' (mock)`, hint });
    };
    if (!this.#mode.read || !this.#mode.write)
      mmapFail(
        Errno.EACCES,
        'this handle is read-only or write-only (BPF_F_RDONLY / BPF_F_WRONLY): its memory cannot be mapped read-write',
      );
    if (this.store.frozen) mmapFail(Errno.EPERM, 'the map is frozen: its memory cannot be mapped writable');
    if (this.store.meta.flags & MapFlags.RDONLY_PROG)
      mmapFail(Errno.EACCES, 'the map is read-only for programs (BPF_F_RDONLY_PROG): its memory cannot be mapped writable');
    this.#mapped = true;
    this.store.writableMappings++;
    return memory;
  }

  pin(path: string): void {
    this.#checkOpen('BPF_OBJ_PIN');
    this.#kernel.pin(path, this.store, `map '${this.store.name}' (mock)`);
  }

  unpin(path: string): void {
    this.#kernel.unpin(path, `map '${this.store.name}' pin ${path} (mock)`);
  }

  freeze(): void {
    const command = 'BPF_MAP_FREEZE';
    // The kernel checks for write permission first, so freezing twice is EPERM, not EBUSY.
    this.#canWrite(command);
    this.store.freeze();
  }

  info(): MapInfo {
    this.#checkOpen('BPF_MAP_LOOKUP_ELEM');
    return this.store.info();
  }

  release(): void {
    if (!this.#open) return;
    this.#open = false;
    if (this.#mapped) this.store.writableMappings--;
    this.#mapped = false;
    this.#kernel.closeFd(this.fd);
  }
}

/**
 * A map of the mock backend: the same {@link MapBase} rules as kernel maps,
 * over a {@link MockMapFile}. `fd` is a fake descriptor from the mock's own
 * fd table: pass it as the value of a map-in-map update, like a kernel fd.
 *
 * @example
 * using system = new MockSystem();
 * using m = system.createMap({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 8 });
 * m.fd; // 3, 4, … — unique within the system
 */
export class MockMap<K = Uint8Array, V = Uint8Array> extends MapBase<K, V> {
  readonly fd: number;
  /** The map behind this handle. */
  readonly store: MockMapStore;

  /**
   * Wraps an open descriptor (taking ownership: a codec mismatch closes it).
   * `spec` is what the handle reports (name, sizes, flags); per-CPU maps
   * take raw values of `possibleCpus × roundUp(valueSize, 8)` bytes unless
   * `valueCodec` says otherwise.
   */
  constructor(file: MockMapFile, spec: MapSpec, codecs?: { key?: Codec<K>; value?: Codec<V> }) {
    try {
      super(spec, file, codecs, file.store.valueBytes);
    } catch (err) {
      file.release();
      throw err;
    }
    this.fd = file.fd;
    this.store = file.store;
  }

  /** Records that this handle was opened from the pin at `path`, so `unpin()` removes that pin. */
  rememberPin(path: string): this {
    this.adoptPin(path);
    return this;
  }
}
