import { Errno, MapFlags, MapType, perCpuSlotSize, UpdateFlags } from '@bpfkit/core';
import type { MapSpec } from '@bpfkit/core';
import type { MockMapMeta } from '../map-spec.js';
import { MockMapStore, readU32, writeU32, type BatchSupport, type MockValueRef } from '../map-store.js';
import type { MockKernel, MockObject } from '../mock-kernel.js';
import { checkInnerMap } from './inner.js';

/**
 * Array maps: `BPF_MAP_TYPE_ARRAY`, `PERCPU_ARRAY`, `ARRAY_OF_MAPS` and
 * `PROG_ARRAY`, with the kernel's semantics: every index exists from the
 * start (zero-filled), an index past the end is ENOENT on lookup and E2BIG on
 * update, `noexist` is EEXIST, deleting is EINVAL (map-in-map and program
 * arrays empty a slot instead: ENOENT when it is empty), next-key of an index
 * past the end is 0. Elements are `roundUp(valueSize, 8)` bytes apart in one
 * buffer, which an mmapable array (`BPF_F_MMAPABLE`) exposes as its memory.
 * Map-in-map and program array slots take an fd and answer the id.
 *
 * @example
 * using a = system.createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, flags: MapFlags.MMAPABLE }, { key: u32, value: u32 });
 * a.update(1, 7);
 * new DataView(a.memory().buffer).getUint32(8, true); // 7
 */
export class ArrayStore extends MockMapStore {
  readonly batch: BatchSupport;
  /** Array and per-CPU array elements. */
  readonly #data: Uint8Array | null = null;
  /** Map-in-map and program array slots. */
  readonly #slots: globalThis.Map<number, MockObject> | null = null;
  /** Bytes from one element to the next in {@link #data}. */
  readonly #stride: number;

  constructor(kernel: MockKernel, spec: MapSpec, meta: MockMapMeta) {
    super(kernel, spec, meta);
    const fdArray = meta.type === MapType.ARRAY_OF_MAPS || meta.type === MapType.PROG_ARRAY;
    const batch = meta.type !== MapType.PROG_ARRAY;
    this.batch = { lookup: batch, lookupAndDelete: false, update: batch, delete: false };
    this.#stride = meta.type === MapType.PERCPU_ARRAY ? perCpuSlotSize(meta.valueSize) * this.possibleCpus : perCpuSlotSize(meta.valueSize);
    if (fdArray) {
      this.#slots = new globalThis.Map();
    } else {
      try {
        this.#data = new Uint8Array(meta.maxEntries * this.#stride);
      } catch {
        kernelGone(this);
        this.fail(Errno.ENOMEM, 'BPF_MAP_CREATE', `cannot allocate ${meta.maxEntries} elements of ${this.#stride} bytes`);
      }
    }
  }

  lookupElem(key: Uint8Array, value: Uint8Array): boolean {
    const i = readU32(key);
    if (i >= this.maxEntries) return false;
    if (this.#slots) {
      const object = this.#slots.get(i);
      if (!object) return false;
      writeU32(value, object.id);
      return true;
    }
    const start = i * this.#stride;
    value.set(this.#data!.subarray(start, start + this.valueBytes));
    return true;
  }

  updateElem(key: Uint8Array, value: Uint8Array, flags: number): void {
    const i = readU32(key);
    if (this.#slots) {
      if (flags !== UpdateFlags.ANY)
        this.fail(Errno.EINVAL, 'BPF_MAP_UPDATE_ELEM', 'map-in-map and program array slots take flag any only');
      if (i >= this.maxEntries)
        this.fail(Errno.E2BIG, 'BPF_MAP_UPDATE_ELEM', `index ${i} is outside the array (max_entries ${this.maxEntries})`);
      const fd = readU32(value) | 0;
      const object =
        this.type === MapType.ARRAY_OF_MAPS
          ? checkInnerMap(this.kernel, this.meta.inner!, fd, this.name)
          : this.kernel.resolveFd(fd, 'BPF_MAP_UPDATE_ELEM', 'program', `map '${this.name}' (mock)`);
      object.retain();
      const old = this.#slots.get(i);
      this.#slots.set(i, object);
      old?.release();
      return;
    }
    if (flags > UpdateFlags.EXIST) this.fail(Errno.EINVAL, 'BPF_MAP_UPDATE_ELEM', `unknown update flags 0x${flags.toString(16)}`);
    if (i >= this.maxEntries)
      this.fail(Errno.E2BIG, 'BPF_MAP_UPDATE_ELEM', `index ${i} is outside the array (max_entries ${this.maxEntries})`);
    if (flags === UpdateFlags.NOEXIST) this.fail(Errno.EEXIST, 'BPF_MAP_UPDATE_ELEM', 'array elements always exist (flag noexist)');
    this.#data!.set(value.subarray(0, this.valueBytes), i * this.#stride);
  }

  deleteElem(key: Uint8Array): boolean {
    if (!this.#slots)
      return this.fail(Errno.EINVAL, 'BPF_MAP_DELETE_ELEM', 'array elements cannot be deleted (update them with zeros instead)');
    const i = readU32(key);
    if (i >= this.maxEntries)
      this.fail(Errno.E2BIG, 'BPF_MAP_DELETE_ELEM', `index ${i} is outside the array (max_entries ${this.maxEntries})`);
    const object = this.#slots.get(i);
    if (!object) return false;
    this.#slots.delete(i);
    object.release();
    return true;
  }

  nextKeyElem(key: Uint8Array | null, next: Uint8Array): boolean {
    // No key or an index past the end: the first index. The last index: the end.
    const i = key === null ? 0xffffffff : readU32(key);
    if (i >= this.maxEntries) {
      writeU32(next, 0);
      return true;
    }
    if (i === this.maxEntries - 1) return false;
    writeU32(next, i + 1);
    return true;
  }

  override valueRef(key: Uint8Array, cpu = 0): MockValueRef | undefined | null {
    if (this.#slots) return null;
    const i = readU32(key);
    if (i >= this.maxEntries) return undefined;
    const slot = this.type === MapType.PERCPU_ARRAY ? cpu * perCpuSlotSize(this.meta.valueSize) : 0;
    return { bytes: this.#data!, offset: i * this.#stride + slot };
  }

  /** The object in slot `index` of a program array or array of maps (undefined when empty or for other arrays). */
  slot(index: number): MockObject | undefined {
    return this.#slots?.get(index);
  }

  override memory(): Uint8Array {
    if (this.type === MapType.ARRAY && this.meta.flags & MapFlags.MMAPABLE) return this.#data!;
    return super.memory();
  }

  protected override destroy(): void {
    if (!this.#slots) return;
    const held = [...this.#slots.values()];
    this.#slots.clear();
    for (const object of held) object.release();
  }
}

/** A store whose allocation failed is no map: take it off the live list. */
function kernelGone(store: MockMapStore): void {
  store.retain();
  store.release();
}
