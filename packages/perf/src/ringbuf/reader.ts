/**
 * The reader of BPF_MAP_TYPE_RINGBUF maps.
 *
 * @module
 */
import { InvalidArgumentError, MapType } from '@bpfkit/core';
import type { EventReaderStats, EventSource, RingBufferOptions } from '@bpfkit/core';
import { native } from '@bpfkit/syscalls';
import { EventReaderBase } from '../reader-base.js';
import type { RawRecordCallback } from '../reader-base.js';
import {
  BPF_RINGBUF_BUSY_BIT,
  BPF_RINGBUF_DISCARD_BIT,
  bytesAhead,
  ConsumerPosition,
  mapRing,
  openRingMap,
  RINGBUF_LEN_MASK,
  sys,
  TSO,
} from './shared.js';
import type { OpenedRingMap, RingBufferMapRef } from './shared.js';

/** Releases the mappings and fds of rings; also run for a reader dropped without close(). */
function releaseRings(resources: { mappings: ArrayBuffer[]; fds: number[] }): void {
  for (const m of resources.mappings.splice(0)) native.munmap(m);
  for (const fd of resources.fds.splice(0)) native.close(fd);
}

const finalizer = new FinalizationRegistry<{ mappings: ArrayBuffer[]; fds: number[] }>((resources) => {
  try {
    releaseRings(resources);
  } catch {
    // a finalizer never throws
  }
});

/** One mapped ring: the consumer page we write, the producer page and the data area (mapped twice) we read. */
class Ring {
  readonly fd: number;
  readonly source: EventSource;
  /** The data area's size in bytes (the map's max_entries). */
  readonly size: number;
  readonly #consumer: ConsumerPosition;
  /** The producer position's halves (we read the low one only: it is never 2^32 or more ahead of us). */
  readonly #producer: Int32Array;
  /** The data area as int32s (a header read is then a small integer, whatever its busy bit). */
  readonly #headers: Int32Array;
  readonly #buffer: ArrayBuffer;
  readonly #dataOffset: number;
  readonly #data: Uint8Array;
  readonly #mask: number;

  constructor(opened: OpenedRingMap, consumerPage: ArrayBuffer, producerMapping: ArrayBuffer, page: number) {
    this.fd = opened.fd;
    this.source = Object.freeze({ map: opened.name });
    this.size = opened.size;
    this.#consumer = new ConsumerPosition(consumerPage);
    this.#producer = new Int32Array(producerMapping, 0, 2);
    this.#headers = new Int32Array(producerMapping, page, (2 * opened.size) / 4);
    this.#buffer = producerMapping;
    this.#dataOffset = page;
    this.#data = new Uint8Array(producerMapping, page, 2 * opened.size);
    this.#mask = opened.size - 1;
  }

  /** Whether a committed (or discarded) record waits at the consumer position. */
  ready(): boolean {
    const lo = this.#consumer.lo;
    if (bytesAhead(this.#producer, lo) === 0) return false;
    const header = Atomics.load(this.#headers, (lo & this.#mask) >>> 2);
    return (header & BPF_RINGBUF_BUSY_BIT) === 0;
  }

  /** Bytes between the consumer and producer positions. */
  pending(): number {
    return bytesAhead(this.#producer, this.#consumer.lo);
  }

  // The two drains below are one loop written twice (a record as a view, or in place): a shared loop
  // with the delivery passed in would cost a call per record that V8 does not inline.
  // They work on the offset in the data area and on the bytes consumed so far (small integers): the
  // u64 position passes 2^31 after 2 GiB of records, and a loop on doubles would allocate.

  consume(callback: RawRecordCallback, max: number, onDiscard: () => void, closed: () => boolean): number {
    let n = 0;
    let done = 0;
    const consumer = this.#consumer;
    let lo = consumer.lo;
    let offset = lo & this.#mask;
    const headers = this.#headers;
    const mask = this.#mask;
    try {
      outer: for (;;) {
        if (done >= 0x4000_0000) {
          // A drain that a fast producer keeps fed: move the position on before it is 2^32 behind.
          consumer.advance(done);
          lo = consumer.lo;
          done = 0;
        }
        const available = bytesAhead(this.#producer, lo) - done; // acquire: records before it are reserved
        if (available <= 0) break;
        // At most 1 GiB a pass, so that `end` stays a small integer (a ring holds at most 2 GiB).
        const end = done + Math.min(available, 0x4000_0000);
        while (done < end) {
          if (n >= max) break outer;
          const header = TSO ? headers[offset >>> 2]! : Atomics.load(headers, offset >>> 2);
          if ((header & BPF_RINGBUF_BUSY_BIT) !== 0) break outer; // still being written: its commit wakes us
          const length = header & RINGBUF_LEN_MASK;
          const step = (length + 15) & ~7; // header + record, 8-byte aligned
          const at = offset + 8;
          done += step;
          offset = (offset + step) & mask;
          if ((header & BPF_RINGBUF_DISCARD_BIT) !== 0) {
            onDiscard();
            continue;
          }
          // The data area is mapped twice in a row: a record that wraps is contiguous here.
          const record = new Uint8Array(this.#buffer, this.#dataOffset + at, length);
          n++;
          callback(record, this.source);
          // Release the space to the kernel every 64 records (and at the end).
          if ((n & 63) === 0) consumer.publish(done);
          if (closed()) break outer; // the callback closed the reader
        }
      }
    } finally {
      // Also when the callback threw: its record counts as consumed.
      if (done !== 0) consumer.advance(done);
    }
    return n;
  }

  /** Like consume, without a view per record: hands the data area with each record's offset and length. */
  consumeInPlace(callback: InPlaceRecordCallback, max: number, counters: EventReaderStats, closed: { closed: boolean }): number {
    let n = 0;
    let bytes = 0;
    let done = 0;
    const consumer = this.#consumer;
    let lo = consumer.lo;
    let offset = lo & this.#mask;
    const headers = this.#headers;
    const mask = this.#mask;
    const data = this.#data;
    const source = this.source;
    try {
      outer: for (;;) {
        if (done >= 0x4000_0000) {
          consumer.advance(done);
          lo = consumer.lo;
          done = 0;
        }
        const available = bytesAhead(this.#producer, lo) - done;
        if (available <= 0) break;
        const end = done + Math.min(available, 0x4000_0000);
        while (done < end) {
          if (n >= max) break outer;
          // Acquire: the record is complete once not busy (see TSO).
          const header = TSO ? headers[offset >>> 2]! : Atomics.load(headers, offset >>> 2);
          if ((header & BPF_RINGBUF_BUSY_BIT) !== 0) break outer;
          const length = header & RINGBUF_LEN_MASK;
          const step = (length + 15) & ~7;
          const at = offset + 8;
          done += step;
          offset = (offset + step) & mask;
          if ((header & BPF_RINGBUF_DISCARD_BIT) !== 0) {
            counters.discarded++;
            continue;
          }
          n++;
          bytes += length;
          callback(data, at, length, source);
          if ((n & 63) === 0) consumer.publish(done);
          if (closed.closed) break outer;
        }
      }
    } finally {
      counters.received += n;
      counters.bytes += bytes;
      if (done !== 0) consumer.advance(done);
    }
    return n;
  }
}

/**
 * Hands a record in place: `data` is the ring's data area (mapped twice in
 * a row, so a record that wraps is contiguous), the record is
 * `data[offset, offset + length)`. Valid only during the call.
 */
export type InPlaceRecordCallback = (data: Uint8Array, offset: number, length: number, source: EventSource) => void;

/**
 * Reads one or more BPF_MAP_TYPE_RINGBUF maps (like libbpf's
 * `ring_buffer__add`): the consumer page is mapped read-write, the
 * producer page and data area read-only, the data area twice so a record
 * that wraps is contiguous. Positions and headers are read with acquire
 * and the consumer position written with release ordering (`Atomics`);
 * busy records are waited for, discarded ones skipped and counted. Wake-ups
 * come from the event loop (a `native.Poller` per map, started only while
 * someone waits). Each record's {@link EventSource} names its map.
 *
 * The full `EventReader` contract of `@bpfkit/core`: see {@link EventReaderBase}.
 * `stats().lost` stays 0: the kernel does not count failed reservations.
 *
 * @example
 * declare const mapFd: number;
 * using reader = RingBufferReader.open({ fd: mapFd, name: 'events' });
 * reader.subscribe((record, source) => console.log(source.map, record.byteLength));
 */
export class RingBufferReader<T = Uint8Array> extends EventReaderBase<T> {
  readonly #rings: Ring[];
  readonly #resources: { mappings: ArrayBuffer[]; fds: number[] };
  #next = 0;
  readonly #onDiscard = () => {
    this.counters.discarded++;
  };
  readonly #closed = () => this.closed;

  private constructor(rings: Ring[], resources: { mappings: ArrayBuffer[]; fds: number[] }, options: RingBufferOptions<T>) {
    super(`ring buffer reader of ${rings.map((r) => `'${r.source.map}'`).join(', ')}`, options.codec);
    this.#rings = rings;
    this.#resources = resources;
    finalizer.register(this, resources, this);
  }

  /**
   * Maps one ring buffer map, or several (an fd, or `{ fd, name }`).
   * Refuses a map of another type with an InvalidArgumentError.
   *
   * @example
   * import { u64 } from '@bpfkit/core';
   * declare const a: number, b: number;
   * using reader = RingBufferReader.open([{ fd: a, name: 'a' }, { fd: b, name: 'b' }], { codec: u64 });
   * const n = await reader.poll((value, source) => console.log(source.map, value), 100);
   */
  static open<T = Uint8Array>(
    maps: number | RingBufferMapRef | readonly (number | RingBufferMapRef)[],
    options: RingBufferOptions<T> = {},
  ): RingBufferReader<T> {
    const list = Array.isArray(maps) ? (maps as readonly (number | RingBufferMapRef)[]) : [maps as number | RingBufferMapRef];
    if (list.length === 0) throw new InvalidArgumentError('maps', 'at least one ring buffer map', list);
    const resources = { mappings: [] as ArrayBuffer[], fds: [] as number[] };
    const rings: Ring[] = [];
    try {
      const { PAGE_SIZE, PROT_READ, PROT_WRITE } = sys();
      for (const ref of list) {
        const opened = openRingMap(ref, MapType.RINGBUF, 'BPF_MAP_TYPE_RINGBUF');
        if (opened.owned) resources.fds.push(opened.fd);
        const consumer = mapRing(opened.fd, PAGE_SIZE, PROT_READ | PROT_WRITE, 0, opened.name, 'consumer page');
        resources.mappings.push(consumer);
        const producer = mapRing(opened.fd, PAGE_SIZE + 2 * opened.size, PROT_READ, PAGE_SIZE, opened.name, 'producer page and data');
        resources.mappings.push(producer);
        rings.push(new Ring(opened, consumer, producer, PAGE_SIZE));
      }
    } catch (e) {
      releaseRings(resources);
      throw e;
    }
    return new RingBufferReader<T>(rings, resources, options);
  }

  /** Bytes written by the kernel and not consumed yet, over all rings. */
  pending(): number {
    this.assertOpen();
    let sum = 0;
    for (const r of this.#rings) sum += r.pending();
    return sum;
  }

  /**
   * The fastest way to drain: like `consume`, but without allocating a view
   * per record (and without the codec): `callback` gets the ring's data
   * area, the record's offset and its length, valid only during the call.
   * Counts in `stats()` like `consume`.
   *
   * @example
   * declare const reader: RingBufferReader;
   * let sum = 0;
   * reader.consumeInPlace((data, offset, length) => { sum += data[offset]! + length; });
   */
  consumeInPlace(callback: InPlaceRecordCallback, max = Number.POSITIVE_INFINITY): number {
    this.assertOpen();
    if (max !== Number.POSITIVE_INFINITY && (!Number.isInteger(max) || max < 0)) {
      throw new InvalidArgumentError('max', 'a non-negative integer', max);
    }
    this.beginDrain();
    try {
      return this.consumeInPlaceReady(callback, max);
    } finally {
      this.endDrain();
    }
  }

  protected override consumeInPlaceReady(callback: InPlaceRecordCallback, max: number): number {
    const rings = this.#rings;
    let n = 0;
    for (let i = 0; i < rings.length && n < max && !this.closedFlag.closed; i++) {
      n += rings[i]!.consumeInPlace(callback, max - n, this.counters, this.closedFlag);
    }
    return n;
  }

  protected consumeReady(callback: RawRecordCallback, max: number): number {
    const rings = this.#rings;
    if (rings.length === 1) return rings[0]!.consume(callback, max, this.#onDiscard, this.#closed);
    // Round robin over the rings so that a busy one does not starve the others.
    let n = 0;
    const start = this.#next;
    this.#next = (start + 1) % rings.length;
    for (let i = 0; i < rings.length && n < max && !this.closed; i++) {
      n += rings[(start + i) % rings.length]!.consume(callback, max - n, this.#onDiscard, this.#closed);
    }
    return n;
  }

  /** ringbuf_map_poll_kern reports EPOLLIN while the producer is ahead of the consumer. */
  protected override get levelTriggered(): boolean {
    return true;
  }

  /** The smallest ring's data area: busy subscriptions are moderated against it (see EventReaderCore.moderationDelayMs). */
  protected override bufferBytes(): number {
    return Math.min(...this.#rings.map((r) => r.size));
  }

  protected readinessFds(): readonly number[] {
    return this.#rings.map((r) => r.fd);
  }

  protected hasReady(): boolean {
    for (const r of this.#rings) if (r.ready()) return true;
    return false;
  }

  protected release(): void {
    finalizer.unregister(this);
    releaseRings(this.#resources);
  }
}
