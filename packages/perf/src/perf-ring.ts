import { BpfError, InvalidArgumentError, OwnedHandle } from '@bpfkit/core';
import { HOST_LITTLE_ENDIAN, native, perfEventOpen, PerfEventIoc, PerfEventMmapPage, PERF_FLAG_FD_CLOEXEC } from '@bpfkit/syscalls';
import type { PerfEventAttrFields, Poller } from '@bpfkit/syscalls';
import { walkPerfRecords } from './records.js';

/** Constants of the addon, read on first use (importing must work without the addon). */
const sys = () => native.constants as Readonly<Record<'PAGE_SIZE' | 'PROT_READ' | 'PROT_WRITE' | 'MAP_SHARED' | 'POLLIN', number>>;

/**
 * Rings with a pending {@link PerfRing.readable}. A Poller does not keep itself alive, and a caller that
 * awaits readable() usually holds its ring only from the suspended async function, which is reachable
 * only through the Poller's callback: a garbage collection during the wait would collect ring and Poller
 * (the callback never comes) and the FinalizationRegistry would close the fd. This set holds them.
 */
const waiting = new Set<PerfRing>();

/** Where a perf event is opened and how large its ring is. */
export interface PerfRingOptions {
  /** Process to watch: 0 = this thread, -1 = all (needs `cpu` >= 0). Default 0. */
  pid?: number;
  /** CPU to watch, -1 = any. Default -1. */
  cpu?: number;
  /** Data pages, a power of two. Default 8. */
  pages?: number;
}

/**
 * One perf event with its mmap'd ring buffer: the metadata page plus a
 * power-of-two data area the kernel writes records into. Records are read in
 * place (no system call per record) with acquire/release ordering on
 * `data_head`/`data_tail` through `Atomics`.
 *
 * @example
 * import { PerfCountSw, PerfSample, PerfType } from '@bpfkit/syscalls';
 * using ring = PerfRing.open({ type: PerfType.PERF_TYPE_SOFTWARE, config: PerfCountSw.PERF_COUNT_SW_CPU_CLOCK,
 *   samplePeriod: 100_000, sampleType: PerfSample.PERF_SAMPLE_TID, disabled: true });
 * ring.enable();
 * ring.read((type, misc, record) => console.log(type, record.byteLength));
 */
export class PerfRing extends OwnedHandle {
  readonly fd: number;
  /** The data area, a view of the mapping. */
  readonly #data: Uint8Array;
  readonly #meta: BigUint64Array;
  #poller: Poller | undefined;

  private constructor(fd: number, mapping: ArrayBuffer) {
    super(`perf event fd ${fd}`, () => {
      native.munmap(mapping);
      native.close(fd);
    });
    this.fd = fd;
    const page = sys().PAGE_SIZE;
    this.#meta = new BigUint64Array(mapping, 0, page / 8);
    this.#data = new Uint8Array(mapping, page);
  }

  /**
   * Opens a perf event (perf_event_open) and maps its ring.
   *
   * @example
   * import type { PerfEventAttrFields } from '@bpfkit/syscalls';
   * declare const attr: PerfEventAttrFields;
   * using ring = PerfRing.open(attr, { cpu: 0, pages: 16 });
   */
  static open(attr: PerfEventAttrFields, options: PerfRingOptions = {}): PerfRing {
    const pages = options.pages ?? 8;
    if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0) {
      throw new InvalidArgumentError('pages', 'a power of two (the kernel requires 2^n data pages)', pages);
    }
    const fd = perfEventOpen(attr, options.pid ?? 0, options.cpu ?? -1, -1, PERF_FLAG_FD_CLOEXEC);
    const { PAGE_SIZE, PROT_READ, PROT_WRITE, MAP_SHARED } = sys();
    const mapping = native.mmap(fd, (pages + 1) * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
    if (typeof mapping === 'number') {
      native.close(fd);
      throw new BpfError(-mapping, {
        syscall: 'mmap',
        subject: 'perf ring',
        hint: `mapping 1 + ${pages} pages of a perf event failed (check perf_event_mlock_kb)`,
      });
    }
    return new PerfRing(fd, mapping);
  }

  #ioctl(request: number, name: string): void {
    this.assertOpen();
    const rc = native.ioctl(this.fd, request, 0);
    if (rc < 0) throw new BpfError(-rc, { syscall: 'ioctl', command: name, subject: this.label });
  }

  /** Starts counting/sampling (PERF_EVENT_IOC_ENABLE). */
  enable(): void {
    this.#ioctl(PerfEventIoc.PERF_EVENT_IOC_ENABLE, 'PERF_EVENT_IOC_ENABLE');
  }

  /** Stops counting/sampling (PERF_EVENT_IOC_DISABLE). */
  disable(): void {
    this.#ioctl(PerfEventIoc.PERF_EVENT_IOC_DISABLE, 'PERF_EVENT_IOC_DISABLE');
  }

  /** Bytes written by the kernel and not yet consumed. */
  pending(): number {
    this.assertOpen();
    return Number(this.#head() - this.#tail());
  }

  #head(): bigint {
    return Atomics.load(this.#meta, PerfEventMmapPage.dataHead / 8);
  }

  #tail(): bigint {
    return Atomics.load(this.#meta, PerfEventMmapPage.dataTail / 8);
  }

  /**
   * Hands every available record to `onRecord` (views into the mapping are
   * valid only during the call), then releases the space to the kernel.
   * Returns the number of records read.
   */
  read(onRecord: (type: number, misc: number, record: Uint8Array) => void): number {
    this.assertOpen();
    let count = 0;
    const head = this.#head(); // acquire: records up to head are complete
    const tail = walkPerfRecords(this.#data, this.#tail(), head, HOST_LITTLE_ENDIAN, (t, m, r) => {
      count++;
      onRecord(t, m, r);
    });
    Atomics.store(this.#meta, PerfEventMmapPage.dataTail / 8, tail); // release: the kernel may reuse the space
    return count;
  }

  /**
   * Resolves when the kernel has woken readers (per `wakeupEvents` /
   * `wakeupWatermark`), without blocking the event loop.
   */
  readable(): Promise<void> {
    this.assertOpen();
    // perf_poll() reports a wakeup only once (it exchanges rb->poll with 0), and
    // epoll may consume it while registering the fd: data already in the ring
    // must not wait for the next wakeup.
    if (this.pending() > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#poller?.close();
      const poller = new native.Poller(this.fd, sys().POLLIN, (status) => {
        poller.close();
        if (this.#poller === poller) {
          this.#poller = undefined;
          waiting.delete(this);
        }
        if (status < 0) reject(new BpfError(-status, { syscall: 'poll', subject: this.label }));
        else resolve();
      });
      this.#poller = poller;
      waiting.add(this);
      poller.start();
      // libuv registers the fd with epoll on the next loop turn. A wakeup that came before that is
      // consumed by the registration's perf_poll() and can be lost to epoll's level-triggered re-poll;
      // if the ring then fills, no further wakeup comes. So look once more after the registration.
      setImmediate(() => {
        if (this.#poller !== poller || this.closed || this.pending() === 0) return;
        poller.close();
        this.#poller = undefined;
        waiting.delete(this);
        resolve();
      });
    });
  }

  override close(): void {
    this.#poller?.close(); // stop watching before the fd is closed
    this.#poller = undefined;
    waiting.delete(this);
    super.close();
  }
}
