import { Errno, MapType, UpdateFlags } from '@bpfkit/core';
import type { MapSpec } from '@bpfkit/core';
import type { MockMapMeta } from '../map-spec.js';
import { MockMapStore, type BatchSupport } from '../map-store.js';
import type { MockKernel } from '../mock-kernel.js';

/**
 * Queues and stacks (`BPF_MAP_TYPE_QUEUE`, `STACK`): no keys (key size 0).
 * Push is BPF_MAP_UPDATE_ELEM with a null key: `any` on a full map is E2BIG,
 * `exist` makes room by dropping the oldest value, `noexist` is EINVAL. Peek
 * is a lookup and pop a lookup-and-delete with a null key: ENOENT when
 * empty. Delete and next-key are EINVAL, batches ENOTSUPP.
 *
 * @example
 * using q = system.createMap({ type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 2 }, { key: noKey, value: u32 });
 * q.push(1); q.push(2); q.push(3, 'exist'); // drops 1
 * q.pop(); // 2
 */
export class QueueStackStore extends MockMapStore {
  readonly batch: BatchSupport = { lookup: false, lookupAndDelete: false, update: false, delete: false };
  /** Values from oldest to newest, from index {@link #head} on. */
  #values: Uint8Array[] = [];
  #head = 0;
  readonly #stack: boolean;

  constructor(kernel: MockKernel, spec: MapSpec, meta: MockMapMeta) {
    super(kernel, spec, meta);
    this.#stack = meta.type === MapType.STACK;
  }

  /** Number of values held. */
  get size(): number {
    return this.#values.length - this.#head;
  }

  /** The index of the value a peek or pop returns, or -1 when empty. */
  #next(): number {
    if (this.size === 0) return -1;
    return this.#stack ? this.#values.length - 1 : this.#head;
  }

  lookupElem(_key: null, value: Uint8Array): boolean {
    const i = this.#next();
    if (i < 0) return false;
    value.set(this.#values[i]!);
    return true;
  }

  override lookupAndDeleteElem(_key: null, value: Uint8Array): boolean {
    const i = this.#next();
    if (i < 0) return false;
    value.set(this.#values[i]!);
    if (this.#stack) this.#values.pop();
    else this.#dropOldest();
    return true;
  }

  #dropOldest(): void {
    this.#values[this.#head++] = undefined as unknown as Uint8Array;
    if (this.#head > 1024 && this.#head * 2 > this.#values.length) {
      this.#values = this.#values.slice(this.#head);
      this.#head = 0;
    }
    if (this.#head === this.#values.length) {
      this.#values = [];
      this.#head = 0;
    }
  }

  updateElem(_key: null, value: Uint8Array, flags: number): void {
    if (flags & UpdateFlags.NOEXIST || flags > UpdateFlags.EXIST)
      this.fail(Errno.EINVAL, 'BPF_MAP_UPDATE_ELEM', `a push takes flag any or exist (got 0x${flags.toString(16)})`);
    if (this.size >= this.maxEntries) {
      if (flags !== UpdateFlags.EXIST)
        this.fail(
          Errno.E2BIG,
          'BPF_MAP_UPDATE_ELEM',
          `the ${this.#stack ? 'stack' : 'queue'} is full (max_entries ${this.maxEntries}); push with flag exist to drop the oldest value`,
        );
      this.#dropOldest();
    }
    this.#values.push(value.slice(0, this.valueBytes));
  }

  deleteElem(): boolean {
    return this.fail(Errno.EINVAL, 'BPF_MAP_DELETE_ELEM', `${this.#stack ? 'stacks' : 'queues'} have no keys to delete: pop instead`);
  }

  nextKeyElem(): boolean {
    return this.fail(
      Errno.EINVAL,
      'BPF_MAP_GET_NEXT_KEY',
      `${this.#stack ? 'stacks' : 'queues'} have no keys to walk: pop or peek instead`,
    );
  }

  protected override destroy(): void {
    this.#values = [];
    this.#head = 0;
  }
}
