import { BpfError, InvalidArgumentError, type MapType, mapTypeName } from '@bpfkit/core';
import { getFdById, HOST_LITTLE_ENDIAN, mapInfoByFd, native } from '@bpfkit/syscalls';

/** Set in a record header's length while the producer still writes the record. */
export const BPF_RINGBUF_BUSY_BIT = 0x8000_0000;
/** Set in a record header's length when the producer discarded the record. */
export const BPF_RINGBUF_DISCARD_BIT = 0x4000_0000;
/** Bytes of a record header: u32 length (with the two bits above), u32 page offset. */
export const BPF_RINGBUF_HDR_SZ = 8;
/** The length bits of a header. */
export const RINGBUF_LEN_MASK = 0x3fff_ffff;

/**
 * Whether plain loads and stores of the mapped pages already have the
 * ordering the ring buffer protocol asks for (acquire loads, release
 * stores). On x86 (TSO) loads are not reordered with other loads nor
 * stores with other stores, which is why the kernel's smp_load_acquire and
 * smp_store_release (and libbpf's) are plain `mov`s there; V8 keeps
 * typed-array accesses in program order (its effect chain), so `a[i]` is
 * the same instruction. `Atomics.load`/`store` are calls into builtins on
 * Node 20-24, about 5 ns each: with plain loads a 64-byte record drains in
 * 3.1 ns, with Atomics.load in 7.9 (measured side by side here). Elsewhere
 * (arm64, whose accesses may be reordered) the readers use `Atomics`.
 */
export const TSO = process.arch === 'x64' || process.arch === 'ia32';

/** Index of the low (and high) 32-bit half of a u64 in a Uint32Array. */
export const LO = HOST_LITTLE_ENDIAN ? 0 : 1;
export const HI = 1 - LO;

export const sys = () =>
  native.constants as Readonly<Record<'PAGE_SIZE' | 'PROT_READ' | 'PROT_WRITE' | 'MAP_SHARED' | 'POLLIN' | 'POLLOUT', number>>;

/** Reads a u64 position whose other writer may update it concurrently, from 32-bit halves (stable high half). */
export function loadPosition(words: Uint32Array): number {
  let hi = Atomics.load(words, HI);
  for (;;) {
    const lo = Atomics.load(words, LO);
    const again = Atomics.load(words, HI);
    if (again === hi) return hi * 0x1_0000_0000 + lo;
    hi = again;
  }
}

/**
 * Writes a u64 position we own with release ordering: the low half alone
 * while the high half is unchanged (the same u64 store as far as a reader
 * can tell), the whole u64 at once when it changes.
 */
export class PositionWriter {
  readonly #words: Uint32Array;
  readonly #whole: BigUint64Array;
  #hi: number;

  constructor(buffer: ArrayBuffer) {
    this.#words = new Uint32Array(buffer, 0, 2);
    this.#whole = new BigUint64Array(buffer, 0, 1);
    this.#hi = Atomics.load(this.#words, HI);
  }

  /** The current value (read once, when we start owning it). */
  initial(): number {
    return Number(Atomics.load(this.#whole, 0));
  }

  store(pos: number): void {
    const hi = Math.floor(pos / 0x1_0000_0000);
    if (hi === this.#hi) Atomics.store(this.#words, LO, pos >>> 0);
    else {
      Atomics.store(this.#whole, 0, BigInt(pos));
      this.#hi = hi;
    }
  }
}

/**
 * The u64 consumer position a reader owns, kept as two 32-bit halves so
 * that no step of a drain allocates: the low half as an int32 (a small
 * integer to V8, where a uint32 past 2^31 is a heap number), the high half
 * written only when the low half wraps (every 4 GiB), with the whole u64
 * at once so the kernel never reads a torn value.
 */
export class ConsumerPosition {
  readonly #words: Int32Array;
  readonly #whole: BigUint64Array;
  /** The low 32 bits, as an int32. */
  lo: number;
  #hi: number;

  constructor(buffer: ArrayBuffer) {
    this.#words = new Int32Array(buffer, 0, 2);
    this.#whole = new BigUint64Array(buffer, 0, 1);
    const value = Atomics.load(this.#whole, 0);
    this.lo = Number(value & 0xffff_ffffn) | 0;
    this.#hi = Number(value >> 32n);
  }

  /** The position as a number (exact below 2^53). */
  get value(): number {
    return this.#hi * 0x1_0000_0000 + (this.lo >>> 0);
  }

  /** Writes (release) the position `done` bytes past `lo`, leaving `lo` where it is. */
  publish(done: number): void {
    const sum = (this.lo >>> 0) + done;
    if (sum > 0xffff_ffff) Atomics.store(this.#whole, 0, (BigInt(this.#hi + 1) << 32n) | BigInt(sum >>> 0));
    else if (TSO) this.#words[LO] = sum | 0;
    else Atomics.store(this.#words, LO, sum | 0);
  }

  /** Moves the position `done` (< 2^32) bytes on, and writes it. */
  advance(done: number): void {
    this.publish(done);
    const sum = (this.lo >>> 0) + done;
    if (sum > 0xffff_ffff) this.#hi++;
    this.lo = sum | 0;
  }
}

/** Bytes from the position whose low half is `lo` to the producer position (whose low half `producer` holds): less than 2^32. */
export function bytesAhead(producer: Int32Array, lo: number): number {
  return ((TSO ? producer[LO]! : Atomics.load(producer, LO)) - lo) >>> 0; // acquire
}

/** A ring buffer map as the readers take it: its fd, and the name records are tagged with. */
export interface RingBufferMapRef {
  /** An fd of the map. The reader opens its own fd of the map (by id) when it may, so this one can be closed later. */
  readonly fd: number;
  /** Name in `EventSource.map`; default the kernel's name of the map. */
  readonly name?: string;
}

export interface OpenedRingMap {
  /** The reader's fd (its own, or the caller's when `owned` is false). */
  fd: number;
  owned: boolean;
  name: string;
  /** Bytes of the data area (the map's max_entries). */
  size: number;
}

/** Checks the map type and opens the reader's own fd of the map. */
export function openRingMap(ref: number | RingBufferMapRef, expected: MapType, what: string): OpenedRingMap {
  const given = typeof ref === 'number' ? { fd: ref } : ref;
  if (!Number.isInteger(given.fd) || given.fd < 0) throw new InvalidArgumentError('map', `a ${what} map fd`, given.fd);
  const info = mapInfoByFd(given.fd, undefined, { subject: `map fd ${given.fd}` });
  if (info.type !== expected) {
    throw new InvalidArgumentError(
      'map',
      `a BPF_MAP_TYPE_${mapTypeName(expected).toUpperCase()} map`,
      `map '${given.name ?? info.name ?? ''}' of type ${mapTypeName(info.type ?? 0)}`,
    );
  }
  const size = info.maxEntries ?? 0;
  const name = given.name ?? info.name ?? `map ${info.id}`;
  let fd = given.fd;
  let owned = false;
  try {
    fd = getFdById('map', info.id ?? 0);
    owned = true;
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    // BPF_MAP_GET_FD_BY_ID needs CAP_SYS_ADMIN: read through the caller's fd, which must then stay open.
  }
  return { fd, owned, name, size };
}

/** mmap of a ring buffer map, throwing a BpfError naming the map. */
export function mapRing(fd: number, length: number, prot: number, offset: number, name: string, part: string): ArrayBuffer {
  const mapping = native.mmap(fd, length, prot, sys().MAP_SHARED, offset);
  if (typeof mapping === 'number') {
    throw new BpfError(-mapping, {
      syscall: 'mmap',
      subject: `ring buffer '${name}'`,
      hint: `mapping the ${part} (${length} bytes at offset ${offset})`,
    });
  }
  return mapping;
}
