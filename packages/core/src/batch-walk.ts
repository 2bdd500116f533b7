import { bindCodec } from './codecs/bound.js';
import type { Codec } from './codecs/codec.js';

/**
 * The element-by-element iterator over a map's batches, as an iterator
 * object rather than a generator: V8 inlines a `next()` call into the
 * caller's `for…of` and can drop its result object, where it must resume a
 * generator's frame for every element. Measured on a 1M-entry walk (u32 →
 * u64, Node 20): about 30 ns an element through generators, 17 ns through
 * this. The decoders are bound to each batch buffer once and kept in fields,
 * and the stats and the map are reached directly: calling them through the
 * map's closures cost another ~20 ns an element.
 *
 * @module
 */

/** One batch as BPF_MAP_LOOKUP_BATCH left it: `count` keys and values packed in the buffers. */
export interface RawBatch {
  keys: Uint8Array;
  values: Uint8Array;
  count: number;
}

/** What each step of a walk yields: the key, the value, or an `[key, value]` pair. */
export type WalkYield = 'keys' | 'values' | 'entries';

/** What a {@link BatchWalk} walks and how: given by the map, all read on the first `next()`. */
export interface BatchWalkSource<T> {
  /** Starts the walk: the batches, or undefined when the map cannot be walked by batches at all. */
  begin(): Iterator<RawBatch> | undefined;
  /** Called once the batches end (or never began): an iterator over the rest (the next-key walk), or undefined when the walk is over. */
  rest(): Iterator<T> | undefined;
  /** Called once when the walk ends, however it ends (the map restores its batch stats). */
  end(): void;
  /** The map: once it is closed, the walk stops. */
  handle: { readonly closed: boolean };
  /** Counted into as the walk goes: elements yielded from batches, batches read. */
  stats: { visited: number; batches?: number };
  /** The codecs of the packed keys and values; their sizes are the strides in the batch buffers. */
  keyCodec: Codec<unknown>;
  valueCodec: Codec<unknown>;
  yields: WalkYield;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * Yields one element at a time from a map's batches, then from `rest()`.
 *
 * @example
 * declare const source: BatchWalkSource<number>;
 * for (const element of new BatchWalk(source)) console.log(element);
 */
export class BatchWalk<T> implements IterableIterator<T> {
  readonly #source: BatchWalkSource<T>;
  #batches: Iterator<RawBatch> | undefined;
  #rest: Iterator<T> | undefined;
  /** The batch buffers the decoders are bound to (the map reuses them until a bucket outgrows them). */
  #keys: Uint8Array | undefined;
  #values: Uint8Array | undefined;
  #decodeKey: (offset: number) => unknown = () => undefined;
  #decodeValue: (offset: number) => unknown = () => undefined;
  readonly #keyBytes: number;
  readonly #valueBytes: number;
  readonly #yields: WalkYield;
  #count = 0;
  #index = 0;
  #state: 'new' | 'batches' | 'rest' | 'done' = 'new';

  constructor(source: BatchWalkSource<T>) {
    this.#source = source;
    this.#keyBytes = source.keyCodec.size;
    this.#valueBytes = source.valueCodec.size;
    this.#yields = source.yields;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<T> {
    if (this.#state === 'batches' && this.#index < this.#count) {
      const source = this.#source;
      if (source.handle.closed) return this.#finish();
      const i = this.#index++;
      source.stats.visited++;
      const yields = this.#yields;
      const value =
        yields === 'entries'
          ? [this.#decodeKey(i * this.#keyBytes), this.#decodeValue(i * this.#valueBytes)]
          : yields === 'keys'
            ? this.#decodeKey(i * this.#keyBytes)
            : this.#decodeValue(i * this.#valueBytes);
      return { value: value as T, done: false };
    }
    return this.#slow();
  }

  /** Everything but the next element of the current batch: starting, the next batch, the rest, the end. */
  #slow(): IteratorResult<T> {
    const source = this.#source;
    try {
      if (this.#state === 'new') {
        this.#batches = source.begin();
        this.#state = 'batches';
      }
      while (this.#state === 'batches') {
        if (source.handle.closed) return this.#finish();
        const r = this.#batches?.next();
        if (!r || r.done) {
          this.#batches = undefined;
          this.#rest = source.rest();
          this.#state = 'rest';
          break;
        }
        source.stats.batches = (source.stats.batches ?? 0) + 1;
        const { keys, values, count } = r.value;
        if (keys !== this.#keys || values !== this.#values) {
          this.#keys = keys;
          this.#values = values;
          this.#decodeKey = bindCodec(source.keyCodec, keys).decode;
          this.#decodeValue = bindCodec(source.valueCodec, values).decode;
        }
        this.#count = count;
        this.#index = 0;
        if (this.#count > 0) return this.next();
      }
      if (this.#state === 'rest') {
        const r = this.#rest?.next();
        if (r && !r.done) return r;
        return this.#finish();
      }
      return DONE;
    } catch (err) {
      this.#finish();
      throw err;
    }
  }

  /** Stops the walk early (a `break` out of `for…of`): the batches and the rest are closed. */
  return(): IteratorResult<T> {
    return this.#finish();
  }

  #finish(): IteratorResult<T> {
    if (this.#state === 'done') return DONE;
    this.#state = 'done';
    const batches = this.#batches;
    const rest = this.#rest;
    this.#batches = undefined;
    this.#rest = undefined;
    this.#keys = this.#values = undefined;
    try {
      batches?.return?.();
      rest?.return?.();
    } finally {
      this.#source.end();
    }
    return DONE;
  }
}
