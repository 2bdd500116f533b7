import { Errno, MapFlags, MapType, perCpuSlotSize, UpdateFlags } from '@bpfkit/core';
import type { MapSpec } from '@bpfkit/core';
import type { MockMapMeta } from '../map-spec.js';
import { MockMapStore, readU32, writeU32, type BatchSupport, type LookupBatchResult, type MockValueRef } from '../map-store.js';
import type { MockKernel, MockObject } from '../mock-kernel.js';
import { checkInnerMap } from './inner.js';
import { LruLists, type LruNode } from './lru.js';

/** Stores a key as a string so it can index a JavaScript Map. */
export function keyString(key: Uint8Array): string {
  let s = '';
  for (let i = 0; i < key.length; i += 4096) s += String.fromCharCode.apply(null, key.subarray(i, i + 4096) as unknown as number[]);
  return s;
}

/** One element. Elements keep their place (their "bucket") for their whole life, like the kernel's. */
interface Entry {
  readonly key: Uint8Array;
  readonly ks: string;
  /** The value bytes (per-CPU maps: the flat per-CPU layout); null for hash of maps. */
  value: Uint8Array | null;
  /** Hash of maps: the inner map the slot holds. */
  inner: MockObject | null;
  /** Position in the walk order; a batch cursor names the first element not yet returned. */
  seq: number;
  prev: Entry | null;
  next: Entry | null;
  /** LRU maps: the node the element lives in. */
  node: LruNode<Entry> | null;
}

/** The cursor a hash batch returns once the end is reached; passing it back answers ENOENT at once. */
const END_CURSOR = 0xffffffff;

/**
 * Hash maps: `BPF_MAP_TYPE_HASH`, `PERCPU_HASH`, `LRU_HASH`,
 * `LRU_PERCPU_HASH` and `HASH_OF_MAPS`, with the kernel's semantics:
 *
 * - update flags: anything above BPF_EXIST is EINVAL; EEXIST / ENOENT for
 *   noexist / exist; a new key in a full map is E2BIG (updating an existing
 *   key in a full map works);
 * - next-key of an absent key restarts at the first key; elements keep their
 *   place in the walk order when updated;
 * - batches: the cursor is opaque (the position of the next element, like
 *   the kernel's bucket index), the last batch answers ENOENT (`done`) with
 *   what it copied, and a cursor returned at the end answers ENOENT at once.
 *   Every "bucket" holds one element, so ENOSPC never happens;
 * - LRU maps recycle nodes with the kernel's LRU lists (see stores/lru.ts) as
 *   for a process on CPU 0: every update of an LRU hash (also of an existing
 *   key, which gets a fresh node) takes a node; when the CPU's free list is
 *   empty it is refilled with `target_free = clamp(max_entries / possible
 *   CPUs / 2, 1, 128)` nodes, evicting the least recently *updated* elements
 *   (updated-again ones get a second chance) when too few are free — in
 *   batches, and possibly the very key being updated (then `noexist`
 *   succeeds and `exist` fails with ENOENT, as on the kernel). Lookups from
 *   user space do not count as use (htab_lru_map_lookup_elem_sys). Per-CPU
 *   LRU maps update existing keys in place and take no node for `exist`.
 *   With BPF_F_NO_COMMON_LRU CPU 0 owns `max_entries / CPUs` nodes.
 *
 * @example
 * using m = system.createMap({ type: MapType.LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 4 }, { key: u32, value: u32 });
 * for (let i = 1; i <= 5; i++) m.update(i, i); // 1, the least recently updated, is evicted
 */
export class HashStore extends MockMapStore {
  readonly batch: BatchSupport = { lookup: true, lookupAndDelete: true, update: true, delete: true };
  readonly #entries = new globalThis.Map<string, Entry>();
  readonly #bySeq = new globalThis.Map<number, Entry>();
  #head: Entry | null = null;
  #tail: Entry | null = null;
  #nextSeq = 0;
  /** LRU maps: the node lists. */
  readonly #lru: LruLists<Entry> | null;

  constructor(kernel: MockKernel, spec: MapSpec, meta: MockMapMeta) {
    super(kernel, spec, meta);
    const lru = meta.type === MapType.LRU_HASH || meta.type === MapType.LRU_PERCPU_HASH;
    this.#lru = lru
      ? new LruLists<Entry>(meta.maxEntries, this.possibleCpus, (meta.flags & MapFlags.NO_COMMON_LRU) !== 0, (e) => this.#unlink(e))
      : null;
  }

  /** Number of elements. */
  get size(): number {
    return this.#entries.size;
  }

  #copyOut(e: Entry, value: Uint8Array): void {
    if (e.inner) writeU32(value, e.inner.id);
    else value.set(e.value!);
  }

  lookupElem(key: Uint8Array, value: Uint8Array): boolean {
    const e = this.#entries.get(keyString(key));
    if (!e) return false;
    this.#copyOut(e, value);
    return true;
  }

  override valueRef(key: Uint8Array, cpu = 0): MockValueRef | undefined | null {
    if (this.type === MapType.HASH_OF_MAPS) return null;
    const e = this.#entries.get(keyString(key));
    if (!e?.value) return undefined;
    const percpu = this.type === MapType.PERCPU_HASH || this.type === MapType.LRU_PERCPU_HASH;
    return { bytes: e.value, offset: percpu ? cpu * perCpuSlotSize(this.meta.valueSize) : 0 };
  }

  /** The inner map of a hash of maps at `key` (undefined when absent or for other hashes). */
  innerAt(key: Uint8Array): MockObject | undefined {
    return this.#entries.get(keyString(key))?.inner ?? undefined;
  }

  #checkFlags(e: Entry | undefined, flags: number): void {
    if (e && flags === UpdateFlags.NOEXIST) this.fail(Errno.EEXIST, 'BPF_MAP_UPDATE_ELEM');
    if (!e && flags === UpdateFlags.EXIST) this.fail(Errno.ENOENT, 'BPF_MAP_UPDATE_ELEM');
  }

  #full(): never {
    return this.fail(Errno.E2BIG, 'BPF_MAP_UPDATE_ELEM', `the map is full (max_entries ${this.maxEntries})`);
  }

  updateElem(key: Uint8Array, value: Uint8Array, flags: number): void {
    const type = this.type;
    if (type === MapType.HASH_OF_MAPS) {
      this.#updateInner(key, value, flags);
      return;
    }
    if (flags > UpdateFlags.EXIST) this.fail(Errno.EINVAL, 'BPF_MAP_UPDATE_ELEM', `unknown update flags 0x${flags.toString(16)}`);
    const bytes = value.subarray(0, this.valueBytes);
    const ks = keyString(key);
    if (this.#lru === null) {
      const e = this.#entries.get(ks);
      this.#checkFlags(e, flags);
      if (e) e.value!.set(bytes);
      else if (this.#entries.size >= this.maxEntries) this.#full();
      else this.#insert(key, ks, bytes.slice(), null, null);
      return;
    }
    const lru = this.#lru;
    if (type === MapType.LRU_HASH) {
      // The kernel takes a fresh node before it looks the key up: that may evict the key itself.
      const node = this.#popNode(lru);
      const e = this.#entries.get(ks);
      try {
        this.#checkFlags(e, flags);
      } catch (err) {
        lru.push(node);
        throw err;
      }
      if (e) {
        const old = e.node!;
        node.owner = e;
        e.node = node;
        lru.setRef(node);
        e.value = bytes.slice();
        lru.push(old);
      } else {
        node.owner = this.#insert(key, ks, bytes.slice(), null, node);
      }
      return;
    }
    // LRU per-CPU hash: existing elements are updated in place; `exist` takes no node.
    const node = flags !== UpdateFlags.EXIST ? this.#popNode(lru) : null;
    const e = this.#entries.get(ks);
    try {
      this.#checkFlags(e, flags);
    } catch (err) {
      if (node) lru.push(node);
      throw err;
    }
    if (e) {
      lru.setRef(e.node!);
      e.value!.set(bytes);
      if (node) lru.push(node);
    } else {
      node!.owner = this.#insert(key, ks, bytes.slice(), null, node);
    }
  }

  #popNode(lru: LruLists<Entry>): LruNode<Entry> {
    return lru.pop() ?? this.fail(Errno.ENOMEM, 'BPF_MAP_UPDATE_ELEM', 'no free LRU node');
  }

  /** Hash of maps: the value is the fd of a map matching the inner template; it is resolved before the flags are looked at. */
  #updateInner(key: Uint8Array, value: Uint8Array, flags: number): void {
    const inner = checkInnerMap(this.kernel, this.meta.inner!, readU32(value) | 0, this.name);
    if (flags > UpdateFlags.EXIST) this.fail(Errno.EINVAL, 'BPF_MAP_UPDATE_ELEM', `unknown update flags 0x${flags.toString(16)}`);
    const ks = keyString(key);
    const e = this.#entries.get(ks);
    this.#checkFlags(e, flags);
    if (!e && this.#entries.size >= this.maxEntries) this.#full();
    inner.retain();
    if (e) {
      const old = e.inner;
      e.inner = inner;
      old?.release();
    } else {
      this.#insert(key, ks, null, inner, null);
    }
  }

  deleteElem(key: Uint8Array): boolean {
    const e = this.#entries.get(keyString(key));
    if (!e) return false;
    this.#remove(e);
    return true;
  }

  override lookupAndDeleteElem(key: Uint8Array | null, value: Uint8Array): boolean {
    if (this.type === MapType.HASH_OF_MAPS) return super.lookupAndDeleteElem(key, value);
    const e = this.#entries.get(keyString(key!));
    if (!e) return false;
    this.#copyOut(e, value);
    this.#remove(e);
    return true;
  }

  nextKeyElem(key: Uint8Array | null, next: Uint8Array): boolean {
    let n: Entry | null = this.#head;
    if (key !== null) {
      const e = this.#entries.get(keyString(key));
      // A key that is not there restarts the walk at the first key.
      if (e) n = e.next;
    }
    if (!n) return false;
    next.set(n.key);
    return true;
  }

  /** The first element at or after cursor position `seq`. */
  #atOrAfter(seq: number): Entry | null {
    const exact = this.#bySeq.get(seq);
    if (exact) return exact;
    let e = this.#head;
    while (e && e.seq < seq) e = e.next;
    return e;
  }

  override lookupBatch(
    del: boolean,
    inBatch: Uint8Array | null,
    outBatch: Uint8Array,
    keys: Uint8Array,
    values: Uint8Array,
    count: number,
  ): LookupBatchResult {
    if (count === 0) return { count: 0, done: false };
    const cursor = inBatch ? readU32(inBatch) : 0;
    // Like a bucket index past the table: ENOENT, nothing copied, no new cursor.
    if (cursor === END_CURSOR) return { count: 0, done: true };
    const ks = this.keySize;
    const vs = this.valueBytes;
    let e = this.#atOrAfter(cursor);
    let copied = 0;
    while (e && copied < count) {
      keys.set(e.key, copied * ks);
      this.#copyOut(e, values.subarray(copied * vs, (copied + 1) * vs));
      const next: Entry | null = e.next;
      if (del) this.#remove(e);
      copied++;
      e = next;
    }
    writeU32(outBatch, e ? e.seq : END_CURSOR);
    return { count: copied, done: e === null };
  }

  // ---- element list

  #insert(key: Uint8Array, ks: string, value: Uint8Array | null, inner: MockObject | null, node: LruNode<Entry> | null): Entry {
    if (this.#nextSeq >= END_CURSOR - 1) this.#renumber();
    const e: Entry = { key: key.slice(), ks, value, inner, seq: this.#nextSeq++, prev: this.#tail, next: null, node };
    if (this.#tail) this.#tail.next = e;
    else this.#head = e;
    this.#tail = e;
    this.#entries.set(ks, e);
    this.#bySeq.set(e.seq, e);
    return e;
  }

  /** Unlinks `e`, returns its LRU node and drops its inner map reference. */
  #remove(e: Entry): void {
    this.#unlink(e);
    if (this.#lru && e.node) this.#lru.push(e.node);
    e.node = null;
    const inner = e.inner;
    e.inner = null;
    inner?.release();
  }

  #unlink(e: Entry): void {
    if (e.prev) e.prev.next = e.next;
    else this.#head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.#tail = e.prev;
    this.#entries.delete(e.ks);
    this.#bySeq.delete(e.seq);
  }

  /** Positions only grow; after four billion inserts they are numbered again from 0 (older cursors then restart). */
  #renumber(): void {
    this.#bySeq.clear();
    let seq = 0;
    for (let e = this.#head; e; e = e.next) {
      e.seq = seq++;
      this.#bySeq.set(e.seq, e);
    }
    this.#nextSeq = seq;
  }

  protected override destroy(): void {
    for (let e = this.#head; e; e = e.next) {
      const inner = e.inner;
      e.inner = null;
      inner?.release();
    }
    this.#entries.clear();
    this.#bySeq.clear();
    this.#head = this.#tail = null;
  }
}
