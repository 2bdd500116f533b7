// The mock's ring buffer and perf event array readers: the records programs
// write (bpf_ringbuf_output, reserve/submit, bpf_perf_event_output) wait in
// the runtime's per-map queues; these readers deliver them through the same
// EventReader machinery (@bpfkit/core's EventReaderCore) as the kernel's,
// woken by the runtime when a program writes. Delivery to subscribers and
// waiters happens on a later event-loop turn (setImmediate), so a program
// run never calls user code synchronously.
import { EventReaderCore } from '@bpfkit/core';
import type { Codec, EventSource, EventWaker, InPlaceCallback, RawRecordCallback, WakeCallback } from '@bpfkit/core';
import type { MockRuntime } from './helpers/runtime.js';
import type { MockMapStore } from './map-store.js';

/** Wakes a reader on the turn after a program wrote into one of its maps. */
class RuntimeWaker implements EventWaker {
  readonly #runtime: MockRuntime;
  readonly #stores: readonly MockMapStore[];
  readonly #onReady: WakeCallback;
  #stops: (() => void)[] = [];
  #immediate: ReturnType<typeof setImmediate> | undefined;
  #refed = true;
  #closed = false;

  constructor(runtime: MockRuntime, stores: readonly MockMapStore[], onReady: WakeCallback) {
    this.#runtime = runtime;
    this.#stores = stores;
    this.#onReady = onReady;
  }

  start(): void {
    if (this.#closed || this.#stops.length > 0) return;
    const schedule = () => this.#schedule();
    this.#stops = this.#stores.map((store) => this.#runtime.watchRecords(store, schedule));
  }

  #schedule(): void {
    if (this.#immediate !== undefined) return;
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      this.#onReady();
    });
    if (!this.#refed) this.#immediate.unref();
  }

  stop(): void {
    for (const stop of this.#stops) stop();
    this.#stops = [];
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
  }

  ref(): void {
    this.#refed = true;
    this.#immediate?.ref();
  }

  unref(): void {
    this.#refed = false;
    this.#immediate?.unref();
  }

  close(): void {
    this.stop();
    this.#closed = true;
  }
}

/**
 * What both mock readers share: the record queues the runtime keeps for
 * their maps, drained by `consumeReady` of each, and a waker that a
 * program's write to one of them sets off.
 *
 * @example
 * declare const reader: MockQueueReader<Uint8Array>;
 * reader.stats().received;
 */
export abstract class MockQueueReader<T> extends EventReaderCore<T> {
  protected readonly runtime: MockRuntime;
  protected readonly stores: readonly MockMapStore[];

  protected constructor(label: string, runtime: MockRuntime, stores: readonly MockMapStore[], codec: Codec<T> | undefined) {
    super(label, codec);
    this.runtime = runtime;
    this.stores = [...stores];
  }

  protected override consumeInPlaceReady(callback: InPlaceCallback, max: number): number {
    const counters = this.counters;
    return this.consumeReady((record, source) => {
      counters.received++;
      counters.bytes += record.byteLength;
      callback(record, 0, record.byteLength, source);
    }, max);
  }

  protected createWakers(onReady: WakeCallback): readonly EventWaker[] {
    return [new RuntimeWaker(this.runtime, this.stores, onReady)];
  }

  protected hasReady(): boolean {
    return this.stores.some((s) => this.runtime.hasRecords(s));
  }

  protected release(): void {}
}

/**
 * Reads ring buffer maps of a {@link MockSystem} (what
 * `system.openRingBuffer(map | maps, { codec })` returns): the records the
 * programs wrote, oldest first, map by map. `lost` counts outputs and
 * reservations refused because the buffer was full (the kernel's failed
 * reservations); `discarded`, reserved records the programs discarded.
 * Records come only from test runs in this process, so a waiting reader
 * does not keep the process alive by itself.
 *
 * @example
 * import { MapType } from '@bpfkit/core';
 * using system = new MockSystem();
 * using events = system.createMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
 * using reader = system.openRingBuffer(events);
 * reader.readAvailable(); // [] until a program writes
 */
export class MockRingBufferReader<T = Uint8Array> extends MockQueueReader<T> {
  readonly #sources: readonly EventSource[];

  /** Reads `stores` (ring buffers of `runtime`'s system). */
  constructor(runtime: MockRuntime, stores: readonly MockMapStore[], codec?: Codec<T>) {
    super(`ring buffer reader of ${stores.map((s) => `'${s.name}'`).join(', ')}`, runtime, stores, codec);
    this.#sources = stores.map((s) => Object.freeze({ map: s.name }));
  }

  #takeCounts(): void {
    for (let i = 0; i < this.stores.length; i++) {
      const { lost, discarded } = this.runtime.takeRingCounts(this.stores[i] as MockMapStore);
      this.counters.discarded += discarded;
      if (lost > 0) this.reportLost(lost, this.#sources[i] as EventSource);
    }
  }

  protected consumeReady(callback: RawRecordCallback, max: number): number {
    this.#takeCounts();
    let n = 0;
    for (let i = 0; i < this.stores.length; i++) {
      const store = this.stores[i] as MockMapStore;
      const source = this.#sources[i] as EventSource;
      while (n < max && !this.closedFlag.closed) {
        const record = this.runtime.nextRecord(store);
        if (record === undefined) break;
        n++;
        callback(record.data, source);
      }
    }
    return n;
  }
}

/**
 * Reads a perf event array map of a {@link MockSystem} (what
 * `system.openPerfEventArray(map, options)` returns): the records programs
 * wrote with `bpf_perf_event_output`, oldest first, each with the CPU it
 * was written on (the environment's `cpu` for BPF_F_CURRENT_CPU).
 *
 * @example
 * import { MapType } from '@bpfkit/core';
 * using system = new MockSystem();
 * using events = system.createMap({ type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
 * using reader = system.openPerfEventArray(events);
 * reader.stats().received; // 0
 */
export class MockPerfEventArrayReader<T = Uint8Array> extends MockQueueReader<T> {
  readonly #store: MockMapStore;
  readonly #sources = new globalThis.Map<number, EventSource>();

  /** Reads `store` (a perf event array of `runtime`'s system). */
  constructor(runtime: MockRuntime, store: MockMapStore, codec?: Codec<T>) {
    super(`perf event array reader of '${store.name}'`, runtime, [store], codec);
    this.#store = store;
  }

  #source(cpu: number): EventSource {
    let source = this.#sources.get(cpu);
    if (source === undefined) {
      source = Object.freeze({ map: this.#store.name, cpu });
      this.#sources.set(cpu, source);
    }
    return source;
  }

  protected consumeReady(callback: RawRecordCallback, max: number): number {
    let n = 0;
    while (n < max && !this.closedFlag.closed) {
      const record = this.runtime.nextRecord(this.#store);
      if (record === undefined) break;
      n++;
      callback(record.data, this.#source(record.cpu ?? 0));
    }
    return n;
  }
}
