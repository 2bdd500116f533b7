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
