/**
 * The producer side of BPF_MAP_TYPE_USER_RINGBUF maps.
 *
 * @module
 */
import { InvalidArgumentError, MapType, OwnedHandle } from '@bpfkit/core';
import { native } from '@bpfkit/syscalls';
import {
  BPF_RINGBUF_BUSY_BIT,
  BPF_RINGBUF_DISCARD_BIT,
  BPF_RINGBUF_HDR_SZ,
  loadPosition,
  mapRing,
  openRingMap,
  PositionWriter,
  sys,
} from './shared.js';
import type { RingBufferMapRef } from './shared.js';

/**
 * A JavaScript producer for a BPF_MAP_TYPE_USER_RINGBUF map, drained by BPF
 * programs with `bpf_user_ringbuf_drain`. The consumer page is mapped
 * read-only, the producer page and data area read-write (the data area
 * twice, so a sample that wraps is contiguous).
 *
 * `reserve(size)` advances the producer position at once and writes the
 * sample's header with the busy bit (the kernel stops draining at a busy
 * sample); `submit` clears the bit, `discard` replaces it with the discard
 * bit (the kernel skips the sample), both with release ordering. Samples
 * are drained in reservation order. A single producer: this object is not
 * meant to be shared with another process writing the same map.
 *
 * @example
 * declare const mapFd: number;
 * using producer = UserRingBuffer.open(mapFd);
 * producer.write(new Uint8Array([1, 2, 3, 4]));
 * const sample = producer.reserve(8);
 * if (sample) {
 *   new DataView(sample.buffer, sample.byteOffset).setBigUint64(0, 42n, true);
 *   producer.submit(sample);
 * }
 */
export class UserRingBuffer extends OwnedHandle {
  /** Bytes of the data area (the map's max_entries). */
  readonly size: number;
  /** The map's name (or the one given). */
  readonly name: string;
  readonly #consumer: Uint32Array;
  readonly #producer: PositionWriter;
  readonly #headers: Uint32Array;
  readonly #buffer: ArrayBuffer;
  readonly #dataOffset: number;
  readonly #mask: number;
  #pos: number;
  /** Outstanding reservations: the sample view → its header index. */
  readonly #reserved = new WeakMap<Uint8Array, number>();

  private constructor(fd: number, owned: boolean, name: string, size: number, consumer: ArrayBuffer, producer: ArrayBuffer, page: number) {
    super(`user ring buffer '${name}'`, () => {
      native.munmap(producer);
      native.munmap(consumer);
      if (owned) native.close(fd);
    });
    this.name = name;
    this.size = size;
    this.#consumer = new Uint32Array(consumer, 0, 2);
    this.#producer = new PositionWriter(producer);
    this.#headers = new Uint32Array(producer, page, (2 * size) / 4);
    this.#buffer = producer;
    this.#dataOffset = page;
    this.#mask = size - 1;
    this.#pos = this.#producer.initial();
  }

  /**
   * Maps a user ring buffer map (an fd, or `{ fd, name }`); refuses a map of
   * another type with an InvalidArgumentError.
   *
   * @example
   * declare const mapFd: number;
   * using producer = UserRingBuffer.open({ fd: mapFd, name: 'commands' });
   */
  static open(map: number | RingBufferMapRef): UserRingBuffer {
    const opened = openRingMap(map, MapType.USER_RINGBUF, 'BPF_MAP_TYPE_USER_RINGBUF');
    const { PAGE_SIZE, PROT_READ, PROT_WRITE } = sys();
    let consumer: ArrayBuffer | undefined;
    try {
      consumer = mapRing(opened.fd, PAGE_SIZE, PROT_READ, 0, opened.name, 'consumer page');
      const producer = mapRing(
        opened.fd,
        PAGE_SIZE + 2 * opened.size,
        PROT_READ | PROT_WRITE,
        PAGE_SIZE,
        opened.name,
        'producer page and data',
      );
      return new UserRingBuffer(opened.fd, opened.owned, opened.name, opened.size, consumer, producer, PAGE_SIZE);
    } catch (e) {
      if (consumer) native.munmap(consumer);
      if (opened.owned) native.close(opened.fd);
      throw e;
    }
  }

  /** The kernel's consumer position (acquire). */
  get consumerPosition(): number {
    this.assertOpen();
    return loadPosition(this.#consumer);
  }

  /** The producer position: bytes reserved so far, headers included. */
  get producerPosition(): number {
    this.assertOpen();
    return this.#pos;
  }

  /** Bytes free for new samples (each takes its length plus an 8-byte header, rounded up to 8). */
  available(): number {
    return this.size - (this.producerPosition - this.consumerPosition);
  }

  /**
   * Reserves a sample of `size` bytes and returns a view of it to fill, or
   * `undefined` when the ring has no room now (the kernel frees room as
   * programs drain it). Pass the view to {@link submit} or {@link discard}.
   *
   * @example
   * declare const producer: UserRingBuffer;
   * const sample = producer.reserve(16);
   * if (sample) { sample.fill(7); producer.submit(sample); }
   */
  reserve(size: number): Uint8Array | undefined {
    this.assertOpen();
    const total = (size + BPF_RINGBUF_HDR_SZ + 7) & ~7;
    if (!Number.isInteger(size) || size < 0 || total > this.size) {
      throw new InvalidArgumentError(
        'size',
        `a sample size of at most ${this.size - BPF_RINGBUF_HDR_SZ} bytes (the ring's size less the header)`,
        size,
      );
    }
    const consumer = loadPosition(this.#consumer); // acquire: the kernel is done with the space before it
    if (this.#pos + total - consumer > this.size) return undefined;
    const offset = (this.#pos >>> 0) & this.#mask;
    const index = offset >>> 2;
    // Header first (busy, length; pg_off 0), then publish the new producer position.
    Atomics.store(this.#headers, index + 1, 0);
    Atomics.store(this.#headers, index, (size | BPF_RINGBUF_BUSY_BIT) >>> 0);
    this.#pos += total;
    this.#producer.store(this.#pos); // release
    const sample = new Uint8Array(this.#buffer, this.#dataOffset + offset + BPF_RINGBUF_HDR_SZ, size);
    this.#reserved.set(sample, index);
    return sample;
  }

  #finish(sample: Uint8Array, discard: boolean): void {
    this.assertOpen();
    const index = this.#reserved.get(sample);
    if (index === undefined)
      throw new InvalidArgumentError('sample', 'a sample reserved from this ring and not yet submitted or discarded', sample);
    this.#reserved.delete(sample);
    const header = Atomics.load(this.#headers, index) & ~BPF_RINGBUF_BUSY_BIT;
    Atomics.store(this.#headers, index, (discard ? header | BPF_RINGBUF_DISCARD_BIT : header) >>> 0); // release
  }

  /** Hands a reserved sample to the kernel (clears its busy bit). */
  submit(sample: Uint8Array): void {
    this.#finish(sample, false);
  }

  /** Gives a reserved sample up: the kernel skips it. */
  discard(sample: Uint8Array): void {
    this.#finish(sample, true);
  }

  /**
   * Reserves, copies `bytes` in and submits; returns false when the ring
   * has no room now.
   *
   * @example
   * declare const producer: UserRingBuffer;
   * if (!producer.write(new TextEncoder().encode('hello'))) console.log('full');
   */
  write(bytes: Uint8Array): boolean {
    const sample = this.reserve(bytes.byteLength);
    if (sample === undefined) return false;
    sample.set(bytes);
    this.submit(sample);
    return true;
  }
}
