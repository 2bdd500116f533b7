import { BpfError, checkMapSpec, Errno, MapBase, UpdateFlags, MapType, mapTypeName, NotSupportedError } from '@bpfkit/core';
import type { Codec, MapInfo, MapSpec, RawMapOps } from '@bpfkit/core';
import type { MockKernel } from './mock-kernel.js';

/** Stores a key as a string so it can live in a JavaScript Map. */
function keyString(key: Uint8Array): string {
  let s = '';
  for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i]!);
  return s;
}

function stringKey(s: string, into: Uint8Array): void {
  for (let i = 0; i < s.length; i++) into[i] = s.charCodeAt(i);
}

/** The map types the mock backend implements. */
export const MOCK_MAP_TYPES: ReadonlySet<number> = new Set([MapType.HASH, MapType.ARRAY, MapType.LRU_HASH]);

const fail = (errno: number, command: string, name: string, hint?: string): never => {
  throw new BpfError(errno, { syscall: 'bpf', command, subject: `map '${name}' (mock)`, hint });
};

/**
 * The element store of one mock map, with the kernel's semantics for hash,
 * LRU hash and array maps: capacity (E2BIG), NOEXIST/EXIST (EEXIST/ENOENT),
 * arrays zero-filled and undeletable (EINVAL), LRU eviction on a full map.
 */
export class MockMapStore implements RawMapOps {
  readonly id: number;
  readonly spec: MapSpec;
  readonly #entries = new globalThis.Map<string, Uint8Array>();
  readonly #kernel: MockKernel;
  #frozen = false;
  #refs = 1;

  constructor(kernel: MockKernel, spec: MapSpec) {
    checkMapSpec(spec);
    if (!MOCK_MAP_TYPES.has(spec.type)) {
      throw new NotSupportedError(`map type '${mapTypeName(spec.type)}' on the mock backend`);
    }
    if (spec.keySize <= 0 && spec.type !== MapType.ARRAY) fail(Errno.EINVAL, 'BPF_MAP_CREATE', spec.name ?? '', 'key size must be positive');
    if (spec.type === MapType.ARRAY && spec.keySize !== 4) fail(Errno.EINVAL, 'BPF_MAP_CREATE', spec.name ?? '', 'array maps have 4-byte keys');
    if (spec.valueSize <= 0) fail(Errno.EINVAL, 'BPF_MAP_CREATE', spec.name ?? '', 'value size must be positive');
    if (spec.maxEntries <= 0) fail(Errno.EINVAL, 'BPF_MAP_CREATE', spec.name ?? '', 'max_entries must be positive');
    this.#kernel = kernel;
    this.spec = spec;
    this.id = kernel.nextId();
    if (spec.type === MapType.ARRAY) {
      const k = new Uint8Array(4);
      const view = new DataView(k.buffer);
      for (let i = 0; i < spec.maxEntries; i++) {
        view.setUint32(0, i, true);
        this.#entries.set(keyString(k), new Uint8Array(spec.valueSize));
      }
    }
  }

  get #name(): string {
    return this.spec.name ?? '';
  }

  #arrayIndex(key: Uint8Array): number {
    return new DataView(key.buffer, key.byteOffset, 4).getUint32(0, true);
  }

  lookup(key: Uint8Array, value: Uint8Array): boolean {
    const stored = this.#entries.get(keyString(key));
    if (!stored) return false;
    // A lookup from user space does not mark an LRU entry as used
    // (the kernel's htab_lru_map_lookup_elem_sys skips the reference bit).
    value.set(stored);
    return true;
  }

  update(key: Uint8Array, value: Uint8Array, flags: number): void {
    if (this.#frozen) fail(Errno.EPERM, 'BPF_MAP_UPDATE_ELEM', this.#name, 'the map is frozen');
    const mode = flags & ~UpdateFlags.LOCK;
    if (flags & ~(UpdateFlags.NOEXIST | UpdateFlags.EXIST | UpdateFlags.LOCK) || mode === (UpdateFlags.NOEXIST | UpdateFlags.EXIST)) fail(Errno.EINVAL, 'BPF_MAP_UPDATE_ELEM', this.#name, 'unknown update flags');
    if (flags & UpdateFlags.LOCK) fail(Errno.EINVAL, 'BPF_MAP_UPDATE_ELEM', this.#name, 'BPF_F_LOCK needs a value with a bpf_spin_lock');
    const s = keyString(key);
    const exists = this.#entries.has(s);
    if (this.spec.type === MapType.ARRAY) {
      if (this.#arrayIndex(key) >= this.spec.maxEntries) fail(Errno.E2BIG, 'BPF_MAP_UPDATE_ELEM', this.#name, `index ${this.#arrayIndex(key)} is outside the array (max_entries ${this.spec.maxEntries})`);
      if (mode === UpdateFlags.NOEXIST) fail(Errno.EEXIST, 'BPF_MAP_UPDATE_ELEM', this.#name, 'array elements always exist');
      this.#entries.get(s)!.set(value);
      return;
    }
    if (mode === UpdateFlags.NOEXIST && exists) fail(Errno.EEXIST, 'BPF_MAP_UPDATE_ELEM', this.#name, 'the key exists (flag noexist)');
    if (mode === UpdateFlags.EXIST && !exists) fail(Errno.ENOENT, 'BPF_MAP_UPDATE_ELEM', this.#name, 'the key does not exist (flag exist)');
    if (!exists && this.#entries.size >= this.spec.maxEntries) {
      if (this.spec.type === MapType.LRU_HASH) {
        const oldest = this.#entries.keys().next().value as string;
        this.#entries.delete(oldest);
      } else {
        fail(Errno.E2BIG, 'BPF_MAP_UPDATE_ELEM', this.#name, `the map is full (max_entries ${this.spec.maxEntries})`);
      }
    }
    if (exists) this.#entries.delete(s);
    this.#entries.set(s, value.slice());
  }

  delete(key: Uint8Array): boolean {
    if (this.#frozen) fail(Errno.EPERM, 'BPF_MAP_DELETE_ELEM', this.#name, 'the map is frozen');
    if (this.spec.type === MapType.ARRAY) fail(Errno.EINVAL, 'BPF_MAP_DELETE_ELEM', this.#name, 'array elements cannot be deleted');
    return this.#entries.delete(keyString(key));
  }

  lookupAndDelete(key: Uint8Array | null, value: Uint8Array): boolean {
    if (this.spec.type === MapType.ARRAY) fail(Errno.EINVAL, 'BPF_MAP_LOOKUP_AND_DELETE_ELEM', this.#name, 'array elements cannot be deleted');
    if (key === null) fail(Errno.EINVAL, 'BPF_MAP_LOOKUP_AND_DELETE_ELEM', this.#name, 'a key is required');
    const s = keyString(key!);
    const stored = this.#entries.get(s);
    if (!stored) return false;
    value.set(stored);
    this.#entries.delete(s);
    return true;
  }

  nextKey(key: Uint8Array | null, next: Uint8Array): boolean {
    if (this.spec.type === MapType.ARRAY) {
      // Arrays: the key after index i is i + 1; an out-of-range or missing key gives index 0.
      const index = key === null ? -1 : this.#arrayIndex(key);
      const n = index >= this.spec.maxEntries ? 0 : index + 1;
      if (n >= this.spec.maxEntries) return false;
      new DataView(next.buffer, next.byteOffset, 4).setUint32(0, n, true);
      return true;
    }
    const keys = [...this.#entries.keys()];
    let i = 0;
    if (key !== null) {
      const at = keys.indexOf(keyString(key));
      // Hash maps: a key that is not there restarts the walk at the first key.
      i = at < 0 ? 0 : at + 1;
    }
    if (i >= keys.length) return false;
    stringKey(keys[i]!, next);
    return true;
  }

  pin(path: string): void {
    this.#kernel.pin(path, this);
  }

  unpin(path: string): void {
    this.#kernel.unpin(path);
  }

  freeze(): void {
    if (this.#frozen) fail(Errno.EBUSY, 'BPF_MAP_FREEZE', this.#name, 'the map is already frozen');
    this.#frozen = true;
  }

  info(): MapInfo {
    return {
      id: this.id, name: this.#name.slice(0, 15), type: this.spec.type, keySize: this.spec.keySize,
      valueSize: this.spec.valueSize, maxEntries: this.spec.maxEntries, flags: this.spec.flags ?? 0,
      btfId: 0, btfKeyTypeId: this.spec.btfKeyTypeId ?? 0, btfValueTypeId: this.spec.btfValueTypeId ?? 0,
      mapExtra: this.spec.mapExtra ?? 0n, frozen: this.#frozen,
    };
  }

  /** Another handle to the same store (opening a pin). */
  retain(): this {
    this.#refs++;
    return this;
  }

  release(): void {
    if (--this.#refs === 0) this.#kernel.forget(this);
  }
}

/**
 * A map of the mock backend: the same {@link MapBase} rules as kernel maps,
 * over {@link MockMapStore}.
 *
 * @example
 * const system = new MockSystem();
 * using m = system.createMap({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 8 });
 */
export class MockMap<K = Uint8Array, V = Uint8Array> extends MapBase<K, V> {
  readonly fd = -1;
  constructor(store: MockMapStore, codecs?: { key?: Codec<K>; value?: Codec<V> }) {
    super(store.spec, store, codecs);
  }
}

