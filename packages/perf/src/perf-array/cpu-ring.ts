/**
 * One CPU's BPF-output perf event and its mmap'd ring, read forward (the
 * kernel's usual mode) or backward (an overwritable ring).
 *
 * @module
 */
import { BpfError } from '@bpfkit/core';
import {
  HOST_LITTLE_ENDIAN,
  native,
  PERF_FLAG_FD_CLOEXEC,
  PERF_RECORD_LOST,
  PERF_RECORD_SAMPLE,
  PERF_SAMPLE_RAW,
  PerfCountSw,
  PerfEventIoc,
  PerfEventMmapPage,
  PerfType,
  perfEventOpen,
} from '@bpfkit/syscalls';
import type { EventSource } from '@bpfkit/core';
import type { PerfEventAttrFields } from '@bpfkit/syscalls';
import type { InPlaceRecordCallback } from '../ringbuf/reader.js';

/** Constants of the addon, read on first use (importing must work without the addon). */
const sys = () => native.constants as Readonly<Record<'PAGE_SIZE' | 'PROT_READ' | 'PROT_WRITE' | 'MAP_SHARED', number>>;

const HEAD = PerfEventMmapPage.dataHead / 8;
const TAIL = PerfEventMmapPage.dataTail / 8;
/** perf_event_header (8) + the u32 size of PERF_SAMPLE_RAW. */
const RAW_OFFSET = 12;
/** A record's size is a u16: the largest record the kernel can write. */
const MAX_RECORD = 0xffff;

/** Where a ring hands what it reads. */
export interface RingSink {
  /** Set when the reader closed during a read: the ring stops handing out records. */
  stop: boolean;
  /** A PERF_RECORD_SAMPLE's raw data: a view of the ring (or of a scratch copy), valid only during the call. */
  sample: (raw: Uint8Array, source: EventSource) => void;
  /** A PERF_RECORD_LOST: `lost` records the kernel could not write on this CPU. */
  lost(lost: number, ring: CpuRing): void;
}

/** How the per-CPU events are opened. */
export interface CpuRingOptions {
  /** Data pages, a power of two. */
  pages: number;
  wakeupEvents?: number;
  wakeupBytes?: number;
  overwritable: boolean;
}

/**
 * The perf event of one CPU (PERF_TYPE_SOFTWARE / PERF_COUNT_SW_BPF_OUTPUT,
 * pid -1, PERF_SAMPLE_RAW) and its ring. Not exported from the package: the
 * reader owns these.
 */
export class CpuRing {
  readonly cpu: number;
  readonly fd: number;
  readonly overwritable: boolean;
  /** What records of this ring are tagged with (set by the reader). */
  source: EventSource;
  /** PERF_RECORD_LOST counts of this CPU. */
  lost = 0;
  #mapping: ArrayBuffer | undefined;
  readonly #meta: BigUint64Array;
  readonly #data: Uint8Array;
  readonly #view: DataView;
  /** The mapping itself, for views of records (`new Uint8Array(buffer, …)`). */
  readonly #buffer: ArrayBuffer;
  /** Where the data area starts in the mapping. */
  readonly #base: number;
  /** Host-endian word views of the data area (records are 8-byte aligned; the kernel writes host-endian). */
  readonly #u32: Uint32Array;
  readonly #u16: Uint16Array;
  readonly #size: number;
  readonly #mask: number;
  /** Backward rings: data_head when last read (the kernel starts at 0 and counts down). */
  #lastHead = 0n;
  /** Where a record split by the ring's end is stitched together. */
  #scratch: Uint8Array | undefined;
  #scratchView: DataView | undefined;

  private constructor(cpu: number, fd: number, mapping: ArrayBuffer, overwritable: boolean) {
    this.cpu = cpu;
    this.fd = fd;
    this.overwritable = overwritable;
    this.#mapping = mapping;
    const page = sys().PAGE_SIZE;
    this.#meta = new BigUint64Array(mapping, 0, page / 8);
    this.#data = new Uint8Array(mapping, page);
    this.#view = new DataView(mapping, page);
    this.#buffer = mapping;
    this.#base = page;
    this.#u32 = new Uint32Array(mapping, page);
    this.#u16 = new Uint16Array(mapping, page);
    this.source = { cpu, map: '' };
    this.#size = this.#data.byteLength;
    this.#mask = this.#size - 1;
  }

  /** The perf_event_attr of a BPF-output event with these options. */
  static attr(options: CpuRingOptions): PerfEventAttrFields {
    return {
      type: PerfType.PERF_TYPE_SOFTWARE,
      config: PerfCountSw.PERF_COUNT_SW_BPF_OUTPUT,
      sampleType: PERF_SAMPLE_RAW,
      samplePeriod: 1,
      disabled: true,
      ...(options.wakeupBytes !== undefined
        ? { watermark: true, wakeupWatermark: options.wakeupBytes }
        : { wakeupEvents: options.wakeupEvents ?? 1 }),
      ...(options.overwritable ? { writeBackward: true } : {}),
    };
  }

  /** Opens the event of `cpu` and maps its ring (read-only when overwritable: the kernel then overwrites). */
  static open(cpu: number, options: CpuRingOptions): CpuRing {
    const fd = perfEventOpen(CpuRing.attr(options), -1, cpu, -1, PERF_FLAG_FD_CLOEXEC, {
      subject: `BPF output perf event of CPU ${cpu}`,
    });
    const { PAGE_SIZE, PROT_READ, PROT_WRITE, MAP_SHARED } = sys();
    const prot = options.overwritable ? PROT_READ : PROT_READ | PROT_WRITE;
    const mapping = native.mmap(fd, (options.pages + 1) * PAGE_SIZE, prot, MAP_SHARED, 0);
    if (typeof mapping === 'number') {
      native.close(fd);
      throw new BpfError(-mapping, {
        syscall: 'mmap',
        subject: `perf ring of CPU ${cpu}`,
        hint: `mapping 1 + ${options.pages} pages failed (fewer pagesPerCpu, or raise /proc/sys/kernel/perf_event_mlock_kb)`,
      });
    }
    return new CpuRing(cpu, fd, mapping, options.overwritable);
  }

  /** ioctl on the event; throws a BpfError naming the request. */
  ioctl(request: number, arg: number, name: string): void {
    const rc = native.ioctl(this.fd, request, arg);
    if (rc < 0) throw new BpfError(-rc, { syscall: 'ioctl', command: name, subject: `perf event of CPU ${this.cpu}` });
  }

  enable(): void {
    this.ioctl(PerfEventIoc.PERF_EVENT_IOC_ENABLE, 0, 'PERF_EVENT_IOC_ENABLE');
  }

  /** PERF_EVENT_IOC_PAUSE_OUTPUT: while paused the kernel writes nothing and counts what it drops as lost. */
  pauseOutput(paused: boolean): void {
    this.ioctl(PerfEventIoc.PERF_EVENT_IOC_PAUSE_OUTPUT, paused ? 1 : 0, 'PERF_EVENT_IOC_PAUSE_OUTPUT');
  }

  /** Whether unread records wait (forward), or the kernel wrote since the last read (backward). */
  pending(): boolean {
    const head = Atomics.load(this.#meta, HEAD);
    return this.overwritable ? head !== this.#lastHead : head !== this.#meta[TAIL];
  }

  /** Bytes written and not yet consumed (forward rings). */
  pendingBytes(): number {
    if (this.overwritable) return Number(BigInt.asUintN(64, this.#lastHead - Atomics.load(this.#meta, HEAD)));
    return Number(Atomics.load(this.#meta, HEAD) - this.#meta[TAIL]!);
  }

  #stitch(pos: number, size: number): DataView {
    if (this.#scratch === undefined) {
      this.#scratch = new Uint8Array(MAX_RECORD + 1);
      this.#scratchView = new DataView(this.#scratch.buffer);
    }
    const first = this.#size - pos;
    this.#scratch.set(this.#data.subarray(pos), 0);
    this.#scratch.set(this.#data.subarray(0, size - first), first);
    return this.#scratchView!;
  }

  /** Hands the record at `pos` (of `size` bytes, its header's type `type`) to `sink`. */
  #deliver(pos: number, type: number, size: number, sink: RingSink): boolean {
    if (type === PERF_RECORD_SAMPLE) {
      if (size < RAW_OFFSET) return false;
      let rawSize: number;
      let raw: Uint8Array;
      if (pos + size <= this.#size) {
        rawSize = this.#view.getUint32(pos + 8, HOST_LITTLE_ENDIAN);
        if (RAW_OFFSET + rawSize > size) return false;
        raw = new Uint8Array(this.#buffer, this.#base + pos + RAW_OFFSET, rawSize);
      } else {
        const v = this.#stitch(pos, size); // split by the ring's end: a copy, reused for the next split record
        rawSize = v.getUint32(8, HOST_LITTLE_ENDIAN);
        if (RAW_OFFSET + rawSize > size) return false;
        raw = this.#scratch!.subarray(RAW_OFFSET, RAW_OFFSET + rawSize);
      }
      sink.sample(raw, this.source);
      return true;
    }
    if (type === PERF_RECORD_LOST) {
      if (size < 24) return false; // header, u64 id, u64 lost
      const lost =
        pos + size <= this.#size
          ? this.#view.getBigUint64(pos + 16, HOST_LITTLE_ENDIAN)
          : this.#stitch(pos, size).getBigUint64(16, HOST_LITTLE_ENDIAN);
      const n = Number(lost);
      this.lost += n;
      sink.lost(n, this);
    }
    return false; // other record types: skipped
  }

  /**
   * Forward rings: hands up to `max` samples (and every LOST record met on
   * the way) to `sink`, then releases their space (data_tail). Returns the
   * samples delivered.
   */
  consume(sink: RingSink, max: number): number {
    const head = Atomics.load(this.#meta, HEAD); // acquire: everything before head is written
    const tail = this.#meta[TAIL]!; // only this reader writes it
    const avail = Number(head - tail);
    if (avail === 0) return 0;
    let pos = Number(BigInt.asUintN(32, tail)) & this.#mask;
    let done = 0;
    let count = 0;
    const u32 = this.#u32;
    const u16 = this.#u16;
    const buffer = this.#buffer;
    const base = this.#base;
    const end = this.#size;
    const mask = this.#mask;
    const source = this.source;
    const sample = sink.sample;
    try {
      while (done < avail && count < max && !sink.stop) {
        const type = u32[pos >>> 2]!; // 8-byte aligned: a header never wraps
        const size = u16[(pos + 6) >>> 1]!;
        if (size < 8 || size > avail - done) break; // torn or corrupt: stop here
        done += size; // consumed even if the callback throws: a poisoned record is not handed out again
        if (type === PERF_RECORD_SAMPLE && pos + size <= end && size >= RAW_OFFSET) {
          // the common case, inline: a sample in one piece
          const rawSize = u32[(pos + 8) >>> 2]!;
          if (RAW_OFFSET + rawSize <= size) {
            sample(new Uint8Array(buffer, base + pos + RAW_OFFSET, rawSize), source);
            count++;
          }
        } else if (this.#deliver(pos, type, size, sink)) count++;
        pos = (pos + size) & mask;
      }
    } finally {
      // release: the kernel may reuse the space (unless a callback closed the reader and the ring is unmapped)
      if (this.#mapping !== undefined) Atomics.store(this.#meta, TAIL, tail + BigInt(done));
    }
    return count;
  }

  /** Bytes of the samples the last {@link CpuRing.consumeInPlace} handed out. */
  inPlaceBytes = 0;

  /**
   * {@link CpuRing.consume} without a view per record: each sample's raw
   * data is handed to `visit` as (the data area, offset, length), or (the
   * scratch buffer, 12, length) when the ring's end splits it.
   */
  consumeInPlace(sink: RingSink, visit: InPlaceRecordCallback, max: number): number {
    const head = Atomics.load(this.#meta, HEAD);
    const tail = this.#meta[TAIL]!;
    const avail = Number(head - tail);
    this.inPlaceBytes = 0;
    if (avail === 0) return 0;
    let pos = Number(BigInt.asUintN(32, tail)) & this.#mask;
    let done = 0;
    let count = 0;
    let bytes = 0;
    const u32 = this.#u32;
    const u16 = this.#u16;
    const data = this.#data;
    const end = this.#size;
    const mask = this.#mask;
    const source = this.source;
    try {
      while (done < avail && count < max && !sink.stop) {
        const type = u32[pos >>> 2]!;
        const size = u16[(pos + 6) >>> 1]!;
        if (size < 8 || size > avail - done) break;
        done += size;
        if (type === PERF_RECORD_SAMPLE && size >= RAW_OFFSET) {
          let rawSize: number;
          if (pos + size <= end) {
            rawSize = u32[(pos + 8) >>> 2]!;
            if (RAW_OFFSET + rawSize <= size) visit(data, pos + RAW_OFFSET, rawSize, source);
          } else {
            rawSize = this.#stitch(pos, size).getUint32(8, HOST_LITTLE_ENDIAN);
            if (RAW_OFFSET + rawSize <= size) visit(this.#scratch!, RAW_OFFSET, rawSize, source);
          }
          if (RAW_OFFSET + rawSize <= size) {
            count++;
            bytes += rawSize;
          }
        } else this.#deliver(pos, type, size, sink);
        pos = (pos + size) & mask;
      }
    } finally {
      this.inPlaceBytes = bytes;
      if (this.#mapping !== undefined) Atomics.store(this.#meta, TAIL, tail + BigInt(done));
    }
    return count;
  }

  /**
   * Backward (overwritable) rings, which must not be written while read:
   * the records written since the last read, at most a ring's worth and
   * newest `max` of them, handed to `sink` oldest first. The kernel writes
   * each record just below the previous one (data_head counts down), so the
   * newest starts at data_head and the older ones follow it upward.
   */
  consumeBackward(sink: RingSink, max: number): number {
    const head = Atomics.load(this.#meta, HEAD);
    const written = BigInt.asUintN(64, this.#lastHead - head);
    this.#lastHead = head;
    if (written === 0n) return 0;
    const limit = written < BigInt(this.#size) ? Number(written) : this.#size;
    const start = Number(BigInt.asUintN(32, head)) & this.#mask;
    const found: number[] = [];
    let done = 0;
    let samples = 0;
    while (done < limit) {
      const pos = (start + done) & this.#mask;
      const size = this.#view.getUint16(pos + 6, HOST_LITTLE_ENDIAN);
      if (size < 8 || size > limit - done) break; // never written (zeros), or partly overwritten by a newer record
      const type = this.#view.getUint32(pos, HOST_LITTLE_ENDIAN);
      if (type === PERF_RECORD_SAMPLE) {
        if (samples === max) break;
        samples++;
      }
      found.push(pos);
      done += size;
    }
    let count = 0;
    for (let i = found.length - 1; i >= 0 && !sink.stop; i--) {
      const pos = found[i]!;
      const type = this.#view.getUint32(pos, HOST_LITTLE_ENDIAN);
      if (this.#deliver(pos, type, this.#view.getUint16(pos + 6, HOST_LITTLE_ENDIAN), sink)) count++;
    }
    return count;
  }

  /** Unmaps and closes (the caller stopped its Poller and removed the fd from the map first). */
  close(): void {
    const mapping = this.#mapping;
    if (mapping === undefined) return;
    this.#mapping = undefined;
    native.munmap(mapping);
    native.close(this.fd);
  }
}
