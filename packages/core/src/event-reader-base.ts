import { ClosedError, InvalidArgumentError, NotSupportedError } from './errors.js';
import type { Codec } from './codecs/codec.js';
import type { BatchForwardOptions, EventReader, EventReaderStats, EventSource, SubscribeOptions } from './interfaces.js';

/**
 * Readers whose wakers are started. A waker need not keep itself (or its reader) alive, and a reader
 * waited on by a suspended async function (poll, async iteration, batches) is reachable only through the
 * waker's callback: without this set a garbage collection could collect both and the wait would never end.
 */
const armed = new Set<EventReaderCore<unknown>>();

/**
 * A source of wake-ups for an {@link EventReaderCore}: it calls the
 * `onReady` it was made with when records may be ready (with an Error when
 * watching failed), between start() and stop(). The kernel readers use one
 * epoll watch per fd; the mock's are told by its runtime when a program
 * writes.
 *
 * @example
 * const idle: EventWaker = { start() {}, stop() {}, ref() {}, unref() {}, close() {} };
 */
export interface EventWaker {
  /** Starts calling back (again). */
  start(): void;
  /** Stops calling back until the next start(). */
  stop(): void;
  /** Lets the waker keep the event loop alive while started (the default). */
  ref(): void;
  /** Lets the process exit while the waker is started. */
  unref(): void;
  /** Stops for good and frees what the waker holds. */
  close(): void;
}

/** Called by a waker when records may be ready, or with the Error that ended its watch. */
export type WakeCallback = (error?: Error) => void;

/** Records one wake-up hands to subscribers at most before the event loop gets a turn. */
const MAX_PER_WAKEUP = 65_536;
/** Bounds of a moderation pause (see EventReaderCore.moderationDelayMs), in ms. */
const MAX_MODERATION_MS = 2;
const MIN_MODERATION_MS = 0.1;

/** Hands a raw record (a view valid only during the call) with its source to the reader's machinery. */
export type RawRecordCallback = (record: Uint8Array, source: EventSource) => void;

/** A record in place: `data[offset, offset + length)` of the mapped buffer, valid only during the call. */
export type InPlaceCallback = (data: Uint8Array, offset: number, length: number, source: EventSource) => void;

interface Subscriber<T> {
  deliver: (event: T, source: EventSource) => void;
  /** Set for subscribeInPlace: records handed in place, never as views. */
  inPlace?: InPlaceCallback;
  /** Wants copies of raw records (batches) rather than views. */
  copy: boolean;
  onError: ((error: Error) => void) | undefined;
  onLost: ((lost: number, source: EventSource) => void) | undefined;
  onClose: (() => void) | undefined;
  /** The delivery of raw records to this subscriber when it is the only one (made at its first drain). */
  raw?: RawRecordCallback;
}

interface Waiter {
  wake(): void;
  fail(error: Error): void;
}

type WaitOutcome = 'ready' | 'timeout' | 'closed';

const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/**
 * The backend-independent machinery of an {@link EventReader}, shared by
 * the kernel's ring buffer and perf event array readers (`@bpfkit/perf`)
 * and the mock's: subscribe, consume, readAvailable, poll, async
 * iteration, batches, ref/unref, stats and codec decoding, built on
 * primitives a subclass provides:
 *
 * - {@link EventReaderCore.consumeReady}: hand up to `max` ready records
 *   to a callback (views valid only during the call), release their space
 *   (also when the callback throws), return how many.
 * - {@link EventReaderCore.createWakers} / {@link EventReaderCore.hasReady}:
 *   the sources of wake-ups (started only while someone waits), and a
 *   cheap check used after arming and after a capped drain, so a wake-up
 *   that came before the wakers started is never lost.
 *
 * A subclass counts `discarded` in {@link EventReaderCore.counters} and
 * reports lost records with {@link EventReaderCore.reportLost}; it frees
 * its resources in {@link EventReaderCore.release}, which runs after every
 * waker is closed.
 *
 * @example
 * import { EventReaderCore } from '@bpfkit/core';
 * import type { EventSource, EventWaker, RawRecordCallback } from '@bpfkit/core';
 * class ArrayReader extends EventReaderCore {
 *   readonly items: Uint8Array[] = [];
 *   constructor() { super('array reader'); }
 *   protected consumeReady(callback: RawRecordCallback, max: number): number {
 *     const source: EventSource = { map: 'array' };
 *     let n = 0;
 *     while (n < max && this.items.length > 0) { callback(this.items.shift()!, source); n++; }
 *     return n;
 *   }
 *   protected createWakers(): readonly EventWaker[] { return []; }
 *   protected hasReady(): boolean { return this.items.length > 0; }
 *   protected release(): void {}
 * }
 */
export abstract class EventReaderCore<T = Uint8Array> implements EventReader<T> {
  /** The counters `stats()` copies; subclasses add `discarded` (and `lost` through reportLost). */
  protected readonly counters: EventReaderStats = { received: 0, bytes: 0, lost: 0, discarded: 0, wakeups: 0, dropped: 0 };
  /** Set by close(): a drain loop reads it after each callback (a property load, cheaper than a call per record). */
  protected readonly closedFlag: { closed: boolean } = { closed: false };
  readonly #label: string;
  readonly #codec: Codec<T> | undefined;
  #closed = false;
  #refed = true;
  #wakers: readonly EventWaker[] | undefined;
  #armed = false;
  #repumpScheduled = false;
  /** consumeReady calls in progress (a callback may close the reader: release() waits for them). */
  #consuming = 0;
  #released = false;
  readonly #subscribers = new Set<Subscriber<T>>();
  /** The subscriber when there is exactly one (kept by #updateArming, which runs after every change of the set). */
  #sole: Subscriber<T> | undefined;
  readonly #waiters = new Set<Waiter>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  /** While moderated (see #moderate): the timer that looks again, the wakers being stopped meanwhile. */
  #moderation: ReturnType<typeof setTimeout> | undefined;
  /** When the last drain by a wake-up ended (ms, {@link EventReaderCore.now}): the rate a moderation is sized by. */
  #lastDrain = 0;

  protected constructor(label: string, codec?: Codec<T>) {
    this.#label = label;
    this.#codec = codec;
  }

  /** Hands up to `max` ready records to `callback`, releasing their space; returns how many were handed over. */
  protected abstract consumeReady(callback: RawRecordCallback, max: number): number;
  /**
   * Like consumeReady, handing records in place (no view each) and counting
   * them in `counters` itself; readers that can serve subscribeInPlace
   * implement it.
   */
  protected consumeInPlaceReady?(callback: InPlaceCallback, max: number): number;
  /**
   * The sources of wake-ups, each calling `onReady` when records may be
   * ready (with an Error when its watch failed). Called once, when a wait
   * first arms the reader; they are started while someone waits.
   */
  protected abstract createWakers(onReady: WakeCallback): readonly EventWaker[];
  /** Whether a record is ready to consume now (cheap: no system call). */
  protected abstract hasReady(): boolean;
  /**
   * Whether the wakers call back for as long as records wait (a ring
   * buffer's poll looks at its positions), so that a drain that leaves
   * records behind needs no second look of its own: the event loop calls
   * back on its next turn. False (perf events report a wake-up once).
   */
  protected get levelTriggered(): boolean {
    return false;
  }
  /**
   * The bytes one buffer holds (the smallest, for a reader of several), for
   * interrupt moderation: undefined (the default) turns it off. See
   * {@link EventReaderCore.moderationDelayMs}.
   */
  protected bufferBytes(): number | undefined {
    return undefined;
  }
  /** The clock moderation measures rates with, in milliseconds (a test gives its own). */
  protected now(): number {
    return performance.now();
  }
  /**
   * Frees the backend's resources (mappings, fds). Runs once, after every
   * waker is closed: from close(), or when the consumeReady whose callback
   * called close() returns. consumeReady should stop early once `closed`.
   */
  protected abstract release(): void;

  /** A human name used in error messages. */
  protected get label(): string {
    return this.#label;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Throws {@link ClosedError} once the reader is closed. */
  protected assertOpen(): void {
    if (this.#closed) throw new ClosedError(this.#label);
  }

  /** Counts `lost` records and tells subscribers that asked (`onLost`). Call it from consumeReady. */
  protected reportLost(lost: number, source: EventSource): void {
    this.counters.lost += lost;
    for (const s of this.#subscribers) s.onLost?.(lost, source);
  }

  #convert(record: Uint8Array, copy: boolean): T {
    if (this.#codec !== undefined) return this.#codec.decode(record, 0);
    return (copy ? record.slice() : record) as unknown as T;
  }

  #consume(callback: (event: T, source: EventSource) => void, max: number, copy: boolean): number {
    const counters = this.counters;
    if (this.#codec === undefined && !copy) {
      // Raw views: the hot path, nothing to convert.
      const raw = callback as unknown as RawRecordCallback;
      return this.#run((record, source) => {
        counters.received++;
        counters.bytes += record.byteLength;
        raw(record, source);
      }, max);
    }
    return this.#run((record, source) => {
      counters.received++;
      counters.bytes += record.byteLength;
      callback(this.#convert(record, copy), source);
    }, max);
  }

  /** consumeReady, inside beginDrain/endDrain. */
  #run(callback: RawRecordCallback, max: number): number {
    this.beginDrain();
    try {
      return this.consumeReady(callback, max);
    } finally {
      this.endDrain();
    }
  }

  /** consumeInPlaceReady, inside beginDrain/endDrain. */
  #runInPlace(callback: InPlaceCallback, max: number): number {
    this.beginDrain();
    try {
      return this.consumeInPlaceReady?.(callback, max) ?? 0;
    } finally {
      this.endDrain();
    }
  }

  /**
   * Starts a drain (pair it with {@link EventReaderCore.endDrain} in a
   * `finally`). Refuses a drain started from inside a callback of this
   * reader: the records being delivered are released to the kernel only
   * when the outer drain returns, so a nested one would hand them out again.
   */
  protected beginDrain(): void {
    if (this.#consuming > 0) {
      throw new NotSupportedError(
        `reading the ${this.#label} from inside one of its own callbacks`,
        undefined,
        'the records being delivered are released only when the callback returns; collect what you need and read again after it',
        'bpfkit',
      );
    }
    this.#consuming++;
  }

  /** Ends a drain; runs the release() a callback's close() deferred. */
  protected endDrain(): void {
    if (--this.#consuming === 0 && this.#closed) this.#release();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.release();
  }

  static #checkMax(max: number): number {
    if (max === Number.POSITIVE_INFINITY) return max;
    if (!Number.isInteger(max) || max < 0) throw new InvalidArgumentError('max', 'a non-negative integer', max);
    return max;
  }

  consume(callback: (event: T, source: EventSource) => void, max = Number.POSITIVE_INFINITY): number {
    this.assertOpen();
    return this.#consume(callback, EventReaderCore.#checkMax(max), false);
  }

  readAvailable(max = Number.POSITIVE_INFINITY): T[] {
    this.assertOpen();
    const out: T[] = [];
    this.#consume((event) => out.push(event), EventReaderCore.#checkMax(max), true);
    return out;
  }

  subscribe(callback: (event: T, source: EventSource) => void, options: SubscribeOptions = {}): () => void {
    this.assertOpen();
    return this.#addSubscriber({ deliver: callback }, options);
  }

  /** Adds a subscriber until its unsubscribe, the signal's abort or close; arms the reader. */
  #addSubscriber(how: Pick<Subscriber<T>, 'deliver' | 'inPlace'>, options: SubscribeOptions): () => void {
    const { signal } = options;
    if (signal?.aborted) return () => {};
    const subscriber: Subscriber<T> = {
      ...how,
      copy: false,
      onError: options.onError,
      onLost: options.onLost,
      onClose: undefined,
    };
    const onAbort = () => unsubscribe();
    const unsubscribe = () => {
      signal?.removeEventListener('abort', onAbort);
      if (this.#subscribers.delete(subscriber)) this.#subscribersChanged();
    };
    subscriber.onClose = () => signal?.removeEventListener('abort', onAbort);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#subscribers.add(subscriber);
    this.#subscribersChanged();
    return unsubscribe;
  }

  /**
   * Like {@link EventReaderCore.subscribe}, with each record handed in place
   * (`data[offset, offset + length)` of the mapped buffer, valid only during
   * the call) instead of a view: no allocation per record, for readers that
   * must keep up with a fast producer. Raw bytes only (no codec).
   *
   * @example
   * declare const reader: EventReaderCore<Uint8Array>;
   * let bytes = 0;
   * const stop = reader.subscribeInPlace((data, offset, length) => { bytes += length; });
   */
  subscribeInPlace(callback: InPlaceCallback, options: SubscribeOptions = {}): () => void {
    this.assertOpen();
    if (this.consumeInPlaceReady === undefined)
      throw new NotSupportedError('subscribeInPlace on this reader', undefined, 'it hands records only as views; use subscribe', 'bpfkit');
    return this.#addSubscriber({ deliver: () => {}, inPlace: callback }, options);
  }

  async poll(callback: (event: T, source: EventSource) => void, timeoutMs?: number, signal?: AbortSignal): Promise<number> {
    this.assertOpen();
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 0)) {
      throw new InvalidArgumentError('timeoutMs', 'a non-negative number of milliseconds (or undefined: wait forever)', timeoutMs);
    }
    signal?.throwIfAborted();
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    for (;;) {
      const n = this.#consume(callback, Number.POSITIVE_INFINITY, false);
      if (n > 0) return n;
      const remaining = deadline === undefined ? undefined : deadline - Date.now();
      if (remaining !== undefined && remaining <= 0) return 0;
      const outcome = await this.#wait(remaining, signal);
      if (outcome === 'closed') return 0;
      if (outcome === 'timeout') return this.#closed ? 0 : this.#consume(callback, Number.POSITIVE_INFINITY, false);
    }
  }

  /**
   * Copies of the records as they come. Each record is consumed when it is
   * yielded, so breaking out of the loop loses none: the next reader call
   * starts at the record after the last one yielded.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    let event: T | undefined;
    let got = false;
    const take = (e: T) => {
      event = e;
      got = true;
    };
    while (!this.#closed) {
      got = false;
      this.#consume(take, 1, true);
      if (got) {
        yield event as T;
        continue;
      }
      if ((await this.#wait(undefined, undefined)) === 'closed') return;
    }
  }

  batches(options: BatchForwardOptions = {}): AsyncIterable<T[]> {
    const size = options.size ?? 64;
    const flushIntervalMs = options.flushIntervalMs ?? 1000;
    const maxQueued = options.maxQueued ?? 65_536;
    if (!Number.isInteger(size) || size < 1) throw new InvalidArgumentError('size', 'a positive integer', size);
    if (!Number.isFinite(flushIntervalMs) || flushIntervalMs < 0) {
      throw new InvalidArgumentError('flushIntervalMs', 'a non-negative number of milliseconds', flushIntervalMs);
    }
    if (!Number.isInteger(maxQueued) || maxQueued < size) {
      throw new InvalidArgumentError('maxQueued', `an integer of at least the batch size (${size})`, maxQueued);
    }
    this.assertOpen();
    return { [Symbol.asyncIterator]: () => this.#batches(size, flushIntervalMs, maxQueued, options.signal) };
  }

  async *#batches(
    size: number,
    flushIntervalMs: number,
    maxQueued: number,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<T[], void, undefined> {
    if (this.#closed || signal?.aborted) return;
    let queue: T[] = [];
    let oldest = 0; // when the oldest queued record arrived
    let failure: Error | undefined;
    let notify: (() => void) | undefined;
    let ended = false;
    const wake = () => {
      const resolve = notify;
      notify = undefined;
      resolve?.();
    };
    const subscriber: Subscriber<T> = {
      deliver: (event) => {
        if (queue.length >= maxQueued) {
          this.counters.dropped++;
          return;
        }
        if (queue.length === 0) {
          oldest = Date.now();
          queue.push(event);
          wake(); // arm the flush timer
          return;
        }
        queue.push(event);
        if (queue.length === size) wake();
      },
      copy: true,
      onError: (error) => {
        failure ??= error;
        wake();
      },
      onLost: undefined,
      onClose: () => {
        ended = true;
        wake();
      },
    };
    const onAbort = () => {
      ended = true;
      wake();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#subscribers.add(subscriber);
    this.#subscribersChanged();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const take = (n: number): T[] => {
      if (n >= queue.length) {
        const all = queue;
        queue = [];
        return all;
      }
      const batch = queue.slice(0, n);
      queue = queue.slice(n);
      oldest = Date.now();
      return batch;
    };
    try {
      for (;;) {
        if (failure !== undefined) throw failure;
        if (queue.length >= size) {
          yield take(size);
          continue;
        }
        if (ended) {
          while (queue.length > 0) yield take(size);
          return;
        }
        let waitMs: number | undefined;
        if (queue.length > 0) {
          waitMs = oldest + flushIntervalMs - Date.now();
          if (waitMs <= 0) {
            yield take(size);
            continue;
          }
        }
        await new Promise<void>((resolve) => {
          notify = resolve;
          if (waitMs !== undefined) timer = this.#setTimer(wake, waitMs);
        });
        if (timer !== undefined) this.#clearTimer(timer);
        timer = undefined;
      }
    } finally {
      if (timer !== undefined) this.#clearTimer(timer);
      signal?.removeEventListener('abort', onAbort);
      if (this.#subscribers.delete(subscriber)) this.#subscribersChanged();
    }
  }

  #setTimer(callback: () => void, ms: number): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      callback();
    }, ms);
    if (!this.#refed) timer.unref();
    this.#timers.add(timer);
    return timer;
  }

  #clearTimer(timer: ReturnType<typeof setTimeout>): void {
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  /** Waits for readiness, the timeout, close or abort (which rejects with the signal's reason). */
  #wait(timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<WaitOutcome> {
    if (this.#closed) return Promise.resolve('closed');
    return new Promise<WaitOutcome>((resolve, reject) => {
      let done = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (settle: () => void) => {
        if (done) return;
        done = true;
        if (timer !== undefined) this.#clearTimer(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.#waiters.delete(waiter)) this.#updateArming();
        settle();
      };
      const waiter: Waiter = {
        wake: () => finish(() => resolve(this.#closed ? 'closed' : 'ready')),
        fail: (error) => finish(() => reject(error)),
      };
      const onAbort = () => finish(() => reject(signal?.reason ?? new DOMException('The operation was aborted', 'AbortError')));
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) timer = this.#setTimer(() => finish(() => resolve('timeout')), timeoutMs);
      this.#waiters.add(waiter);
      this.#updateArming();
    });
  }

  /** After every change of the subscriber set: keeps #sole, arms or disarms. */
  #subscribersChanged(): void {
    this.#sole = this.#subscribers.size === 1 ? this.#subscribers.values().next().value : undefined;
    this.#updateArming();
  }

  #updateArming(): void {
    const want = !this.#closed && (this.#subscribers.size > 0 || this.#waiters.size > 0);
    if (want === this.#armed) return;
    if (!want) {
      this.#armed = false;
      this.#endModeration();
      for (const w of this.#wakers ?? []) w.stop();
      armed.delete(this as EventReaderCore<unknown>);
      return;
    }
    if (this.#wakers === undefined) {
      this.#wakers = this.createWakers((error) => this.#onReady(error));
      if (!this.#refed) for (const w of this.#wakers) w.unref();
    }
    this.#armed = true;
    armed.add(this as EventReaderCore<unknown>);
    for (const w of this.#wakers) w.start();
    // A wake-up that came before the wakers started may have been consumed by their start (perf_poll
    // reports one only once), or records may have waited before anyone subscribed: look once more.
    this.#scheduleRepump();
  }

  #scheduleRepump(): void {
    if (this.#repumpScheduled) return;
    this.#repumpScheduled = true;
    const immediate = setImmediate(() => {
      this.#repumpScheduled = false;
      if (this.#armed && !this.#closed && this.hasReady()) this.#pump();
    });
    if (!this.#refed) immediate.unref();
  }

  #onReady(error: Error | undefined): void {
    if (this.#closed || !this.#armed) return;
    if (error !== undefined) {
      this.#fail(error);
      return;
    }
    this.counters.wakeups++;
    this.#pump();
  }

  #fail(error: Error): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w.fail(error);
    let unhandled = false;
    for (const s of this.#subscribers) {
      if (s.onError) s.onError(error);
      else unhandled = true;
    }
    this.#subscribers.clear();
    this.#subscribersChanged();
    if (unhandled) throw error;
  }

  /** Drains ready records to the subscribers, then wakes the one-shot waiters. */
  #pump(): void {
    const before = this.counters.bytes;
    const n = this.#deliver();
    const delay = this.moderationDelayMs(this.counters.bytes - before);
    // A capped drain left a backlog: it drains on at once (a pause over it would let the buffer fill further).
    // Records that came during the drain do not stop a pause: at high rates some always do, and the pause is
    // sized to what the buffer takes in meanwhile.
    if (delay > 0 && n < MAX_PER_WAKEUP && this.#armed && !this.#closed && this.#subscribers.size > 0) {
      this.#moderate(delay);
      if (this.#waiters.size > 0) {
        const waiters = [...this.#waiters];
        this.#waiters.clear();
        for (const w of waiters) w.wake();
      }
      return;
    }
    // More may be ready: a capped drain, or records committed during this one. A level-triggered fd (a
    // ring buffer's poll reports data for as long as there is some) makes the event loop call back
    // again by itself; other readers (perf's poll reports a wake-up only once) look again next turn.
    if (!this.levelTriggered && (n >= MAX_PER_WAKEUP || this.hasReady())) this.#scheduleRepump();
    if (this.#waiters.size > 0) {
      const waiters = [...this.#waiters];
      this.#waiters.clear();
      for (const w of waiters) w.wake();
    }
    this.#updateArming();
  }

  /**
   * Interrupt moderation, as network drivers do it (NAPI): when one wake-up
   * drained a large part of the buffer, records arrive fast, and answering
   * each wake-up costs more than the records themselves (on these machines
   * a wake-up costs ~5 µs, a record a few ns). Then the reader stops its
   * wakers and looks again after a pause sized to let the buffer fill to at
   * most a quarter at the rate just seen (at most 2 ms), while the rate stays
   * high; below it, wake-ups resume. Busy readers so spend their time on
   * records, and a slow patch of the machine finds the buffer mostly empty.
   * Returns the pause in ms, or 0 for none. Readers without
   * {@link EventReaderCore.bufferBytes} are never moderated.
   */
  protected moderationDelayMs(drainedBytes: number): number {
    const capacity = this.bufferBytes();
    const now = this.now();
    const elapsed = now - this.#lastDrain;
    this.#lastDrain = now;
    if (capacity === undefined || drainedBytes < capacity / 16) return 0;
    // Bytes a millisecond since the previous drain (a floor on the interval: one turn of the loop).
    const rate = drainedBytes / Math.max(elapsed, 0.05);
    const delay = Math.min(MAX_MODERATION_MS, capacity / 4 / rate);
    return delay >= MIN_MODERATION_MS ? delay : 0;
  }

  /** Stops the wakers for `delayMs`, then drains (which may moderate again) or resumes them. */
  #moderate(delayMs: number): void {
    for (const w of this.#wakers ?? []) w.stop();
    const timer = setTimeout(() => {
      this.#moderation = undefined;
      this.#timers.delete(timer);
      if (!this.#armed || this.#closed) return;
      // Woken by the clock, not by the kernel: the drain that follows may moderate again.
      if (this.hasReady()) {
        this.counters.wakeups++;
        this.#pump();
        if (this.#moderation !== undefined) return;
      }
      if (!this.#armed || this.#closed) return;
      for (const w of this.#wakers ?? []) w.start();
      // Records that came between the drain and the restart found no waker running.
      this.#scheduleRepump();
    }, delayMs);
    this.#moderation = timer;
    this.#timers.add(timer);
    if (!this.#refed) timer.unref();
  }

  /** Ends a moderation early: the reader was disarmed or closed. */
  #endModeration(): void {
    if (this.#moderation === undefined) return;
    clearTimeout(this.#moderation);
    this.#timers.delete(this.#moderation);
    this.#moderation = undefined;
  }

  /** Counts each record and hands it (or a copy) to `s` while it is subscribed. */
  #rawDelivery(s: Subscriber<T>): RawRecordCallback {
    const counters = this.counters;
    const subscribers = this.#subscribers;
    const deliver = s.deliver as unknown as RawRecordCallback;
    return s.copy
      ? (record, source) => {
          counters.received++;
          counters.bytes += record.byteLength;
          if (subscribers.has(s)) deliver(record.slice(), source);
        }
      : (record, source) => {
          counters.received++;
          counters.bytes += record.byteLength;
          if (subscribers.has(s)) deliver(record, source);
        };
  }

  /** Hands what is ready to the subscribers; returns the records drained. Allocates nothing in the common cases. */
  #deliver(): number {
    const sole = this.#sole;
    if (sole !== undefined && sole.inPlace !== undefined && this.consumeInPlaceReady !== undefined) {
      return this.#runInPlace(sole.inPlace, MAX_PER_WAKEUP);
    }
    if (sole !== undefined && this.#codec === undefined && sole.inPlace === undefined) {
      // The common case, kept lean: one subscriber of raw views (no codec, no copy).
      sole.raw ??= this.#rawDelivery(sole);
      return this.#run(sole.raw, MAX_PER_WAKEUP);
    }
    if (this.#subscribers.size === 0) return 0;
    const subscribers = [...this.#subscribers];
    const codec = this.#codec;
    const counters = this.counters;
    return this.#run((record, source) => {
      counters.received++;
      counters.bytes += record.byteLength;
      let value: T | undefined;
      let failure: Error | undefined;
      if (codec !== undefined) {
        try {
          value = codec.decode(record, 0);
        } catch (e) {
          failure = toError(e);
        }
      }
      for (const s of subscribers) {
        if (!this.#subscribers.has(s)) continue;
        if (failure !== undefined) {
          if (s.onError === undefined) throw failure;
          s.onError(failure);
        } else if (s.inPlace !== undefined) s.inPlace(record, 0, record.byteLength, source);
        else s.deliver(codec !== undefined ? (value as T) : this.#convert(record, s.copy), source);
      }
    }, MAX_PER_WAKEUP);
  }

  ref(): this {
    this.#refed = true;
    for (const w of this.#wakers ?? []) w.ref();
    for (const t of this.#timers) t.ref();
    return this;
  }

  unref(): this {
    this.#refed = false;
    for (const w of this.#wakers ?? []) w.unref();
    for (const t of this.#timers) t.unref();
    return this;
  }

  stats(): EventReaderStats {
    return { ...this.counters };
  }

  /**
   * Stops every wait (pending polls resolve with 0, iteration and batches
   * end, subscriptions stop), closes the wakers, then frees the buffers.
   * Safe to call more than once.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closedFlag.closed = true;
    this.#armed = false;
    this.#endModeration();
    armed.delete(this as EventReaderCore<unknown>);
    for (const w of this.#wakers ?? []) w.close(); // stop watching before the fds are closed
    this.#wakers = undefined;
    try {
      if (this.#consuming === 0) this.#release(); // else when the consumeReady in progress returns
    } finally {
      const waiters = [...this.#waiters];
      this.#waiters.clear();
      for (const w of waiters) w.wake();
      const subscribers = [...this.#subscribers];
      this.#subscribers.clear();
      this.#sole = undefined;
      for (const s of subscribers) s.onClose?.();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
