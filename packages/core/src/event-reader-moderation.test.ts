import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventReaderCore } from './event-reader-base.js';
import type { EventWaker, RawRecordCallback, WakeCallback } from './event-reader-base.js';

/** A reader of a queue of records, with a buffer size, a clock and wakers the test drives. */
class QueueReader extends EventReaderCore<Uint8Array> {
  readonly queue: Uint8Array[] = [];
  readonly log: string[] = [];
  clock = 0;
  wake: WakeCallback = () => {};
  constructor(readonly capacity: number | undefined) {
    super('queue reader');
  }
  /** Consumes what was there when it started (as a ring buffer reads up to the producer position it sampled). */
  protected consumeReady(callback: RawRecordCallback, max: number): number {
    const n = Math.min(max, this.queue.length);
    for (let i = 0; i < n; i++) callback(this.queue.shift()!, { map: 'q' });
    return n;
  }
  protected createWakers(onReady: WakeCallback): readonly EventWaker[] {
    this.wake = onReady;
    const log = this.log;
    return [{ start: () => log.push('start'), stop: () => log.push('stop'), ref() {}, unref() {}, close: () => log.push('close') }];
  }
  protected hasReady(): boolean {
    return this.queue.length > 0;
  }
  protected release(): void {
    this.log.push('release');
  }
  protected override get levelTriggered(): boolean {
    return true;
  }
  protected override bufferBytes(): number | undefined {
    return this.capacity;
  }
  protected override now(): number {
    return this.clock;
  }
  push(records: number, size = 64): void {
    for (let i = 0; i < records; i++) this.queue.push(new Uint8Array(size));
  }
}

describe('interrupt moderation of busy readers', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('pauses the wakers after a wake-up that drained a sixteenth of the buffer, for the time a quarter takes to fill', async () => {
    using reader = new QueueReader(64 * 1024);
    let received = 0;
    reader.subscribe(() => received++);
    await vi.runOnlyPendingTimersAsync(); // the first look of a new subscription
    reader.log.length = 0;
    // 4096 bytes in 1 ms: 64 records of 64 bytes, a sixteenth of 64 KiB: 4 KiB/ms fills a quarter (16 KiB) in 4 ms → 2 ms (the cap).
    reader.clock = 1;
    reader.push(64);
    reader.wake();
    expect(received).toBe(64);
    expect(reader.log).toEqual(['stop']);
    // Meanwhile more arrives, more slowly: the timer drains it and, the rate being lower, resumes the wakers.
    reader.push(10);
    reader.clock = 3;
    await vi.advanceTimersByTimeAsync(2);
    expect(received).toBe(74);
    expect(reader.log).toEqual(['stop', 'start']);
    expect(reader.stats().wakeups).toBe(2); // the kernel's, then the clock's
  });

  it('keeps polling by the clock while the rate stays high, and sizes the pause by the rate', async () => {
    using reader = new QueueReader(64 * 1024);
    let received = 0;
    reader.subscribe(() => received++);
    await vi.runOnlyPendingTimersAsync();
    reader.log.length = 0;
    reader.clock = 0.5;
    reader.push(256); // 16 KiB in 0.5 ms: 32 KiB/ms, a quarter in 0.5 ms
    reader.wake();
    expect(reader.log).toEqual(['stop']);
    reader.push(256);
    reader.clock = 1;
    await vi.advanceTimersByTimeAsync(0.5);
    expect(received).toBe(512);
    expect(reader.log).toEqual(['stop', 'stop']); // moderated again, not resumed
    reader.clock = 1.5;
    await vi.advanceTimersByTimeAsync(0.5); // nothing came: the wakers resume
    expect(reader.log).toEqual(['stop', 'stop', 'start']);
  });

  it('does not pause after a drain capped by the records a wake-up may hand over (a backlog drains on at once)', async () => {
    using reader = new QueueReader(8 * 1024 * 1024);
    let received = 0;
    reader.subscribe(() => received++);
    await vi.runOnlyPendingTimersAsync();
    reader.log.length = 0;
    reader.clock = 1;
    reader.push(70_000, 256); // more than one wake-up hands over (65,536), far over a sixteenth of 8 MiB
    reader.wake();
    expect(received).toBe(65_536);
    expect(reader.log).toEqual([]); // not paused: the level-triggered waker calls back for the rest
    reader.clock = 2;
    reader.wake();
    expect(received).toBe(70_000);
    expect(reader.log).toEqual(['stop']); // caught up at that rate: now it pauses
  });

  it('answers every wake-up of a reader that drains little, and never moderates readers without a buffer size', async () => {
    using small = new QueueReader(64 * 1024);
    using unsized = new QueueReader(undefined);
    for (const reader of [small, unsized]) {
      reader.subscribe(() => {});
      await vi.runOnlyPendingTimersAsync();
      reader.log.length = 0;
    }
    small.clock = 1;
    small.push(63); // under a sixteenth
    small.wake();
    unsized.clock = 1;
    unsized.push(10_000);
    unsized.wake();
    expect(small.log).toEqual([]);
    expect(unsized.log).toEqual([]);
  });

  it('ends a pause when the last subscriber leaves or the reader closes', async () => {
    const reader = new QueueReader(64 * 1024);
    const stop = reader.subscribe(() => {});
    await vi.runOnlyPendingTimersAsync();
    reader.log.length = 0;
    reader.clock = 1;
    reader.push(64);
    reader.wake();
    stop();
    reader.push(64);
    await vi.advanceTimersByTimeAsync(5);
    expect(reader.queue).toHaveLength(64); // nobody drained after the unsubscribe
    expect(reader.log).toEqual(['stop', 'stop']);
    reader.subscribe(() => {});
    await vi.runOnlyPendingTimersAsync(); // its first look drains the 64 waiting, and pauses
    expect(reader.log.at(-1)).toBe('stop');
    reader.close();
    reader.push(64);
    await vi.advanceTimersByTimeAsync(5);
    // Closed during the pause: the pause's timer never restarts a waker nor drains.
    expect(reader.log.slice(-2)).toEqual(['close', 'release']);
    expect(reader.queue).toHaveLength(64);
  });
});
