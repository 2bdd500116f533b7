import { BpfError, EventReaderCore } from '@bpfkit/core';
import type { Codec, EventWaker, WakeCallback } from '@bpfkit/core';
import { native } from '@bpfkit/syscalls';

export type { InPlaceCallback, RawRecordCallback } from '@bpfkit/core';

/**
 * The kernel readers' {@link EventReaderCore}: its wake-ups come from one
 * `native.Poller` (epoll) per fd the subclass names in
 * {@link EventReaderBase.readinessFds}, started only while someone waits.
 * Everything else (subscribe, consume, readAvailable, poll, async
 * iteration, batches, ref/unref, stats) is the core's; a subclass provides
 * consumeReady, hasReady (a cheap check of the shared pages) and release.
 *
 * @example
 * import type { EventSource } from '@bpfkit/core';
 * import { EventReaderBase } from '@bpfkit/perf';
 * import type { RawRecordCallback } from '@bpfkit/perf';
 * class ArrayReader extends EventReaderBase {
 *   readonly items: Uint8Array[] = [];
 *   constructor() { super('array reader'); }
 *   protected consumeReady(callback: RawRecordCallback, max: number): number {
 *     const source: EventSource = { map: 'array' };
 *     let n = 0;
 *     while (n < max && this.items.length > 0) { callback(this.items.shift()!, source); n++; }
 *     return n;
 *   }
 *   protected readinessFds(): readonly number[] { return []; }
 *   protected hasReady(): boolean { return this.items.length > 0; }
 *   protected release(): void {}
 * }
 */
export abstract class EventReaderBase<T = Uint8Array> extends EventReaderCore<T> {
  protected constructor(label: string, codec?: Codec<T>) {
    super(label, codec);
  }

  /** The fds to watch for POLLIN. Called once, when a wait first arms the reader. */
  protected abstract readinessFds(): readonly number[];

  /** One Poller per readiness fd; a negative status (the watch failed) is a {@link BpfError}. */
  protected createWakers(onReady: WakeCallback): readonly EventWaker[] {
    const { POLLIN } = native.constants as Readonly<Record<'POLLIN', number>>;
    const label = this.label;
    const callback = (status: number) => {
      if (status < 0) onReady(new BpfError(-status, { syscall: 'poll', subject: label }));
      else onReady();
    };
    return this.readinessFds().map((fd) => new native.Poller(fd, POLLIN, callback));
  }
}
