import fs from 'node:fs';
import { InvalidArgumentError } from '@bpfkit/core';
import { PerfCountSw, PerfRecord, PerfSample, PerfType } from '@bpfkit/syscalls';
import { describe, expect, it } from 'vitest';
import { PerfRing } from './perf-ring.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

const clock = (extra = {}) => ({
  type: PerfType.PERF_TYPE_SOFTWARE,
  config: PerfCountSw.PERF_COUNT_SW_TASK_CLOCK,
  samplePeriod: 20_000, // a sample every 20 µs of this thread's CPU time
  sampleType: PerfSample.PERF_SAMPLE_TID | PerfSample.PERF_SAMPLE_TIME,
  disabled: true,
  ...extra,
});

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('perf ring arguments', () => {
  it('wants a power-of-two page count', () => {
    expect(() => PerfRing.open(clock(), { pages: 3 })).toThrow(InvalidArgumentError);
  });
});

whenKernel().describe('perf ring on the kernel', () => {
  it("reads the samples of a software clock event of this thread from the mmap'd ring", () => {
    using ring = PerfRing.open(clock(), { pages: 8 });
    ring.enable();
    spin(30);
    ring.disable();
    expect(ring.pending()).toBeGreaterThan(0);
    const pids = new Set<number>();
    let lastTime = 0n;
    let ordered = true;
    const n = ring.read((type, _misc, rec) => {
      if (type !== PerfRecord.PERF_RECORD_SAMPLE) return;
      const v = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
      pids.add(v.getUint32(8, true)); // PERF_SAMPLE_TID: u32 pid, u32 tid
      const time = v.getBigUint64(16, true);
      if (time < lastTime) ordered = false;
      lastTime = time;
    });
    expect(n).toBeGreaterThan(10);
    expect([...pids]).toEqual([process.pid]);
    expect(ordered).toBe(true);
    expect(ring.pending()).toBe(0);
  });

  it('wraps around a small ring many times, stitching records, and reports overruns as LOST records', () => {
    using ring = PerfRing.open(clock({ samplePeriod: 5_000 }), { pages: 1 });
    ring.enable();
    let samples = 0;
    let lost = 0;
    for (let i = 0; i < 40; i++) {
      spin(2);
      ring.read((type) => {
        if (type === PerfRecord.PERF_RECORD_SAMPLE) samples++;
        if (type === PerfRecord.PERF_RECORD_LOST) lost++;
      });
    }
    ring.disable();
    // 80 ms of samples every 5 µs is far more than one 4 KiB page holds: the ring wrapped.
    expect(samples * 24).toBeGreaterThan(4096 * 2);
    expect(lost).toBeGreaterThan(0);
  });

  it('wakes an awaiting reader through the event loop', async () => {
    using ring = PerfRing.open(clock({ wakeupEvents: 1 }), { pages: 2 });
    const woken = ring.readable(); // nothing yet: waits on the event loop
    ring.enable();
    const producer = setInterval(() => spin(1), 2); // burn CPU between loop turns so samples arrive while waiting
    try {
      await woken;
    } finally {
      clearInterval(producer);
    }
    ring.disable();
    await ring.readable(); // data pending: resolves at once
    expect(ring.read(() => {})).toBeGreaterThan(0);
  });

  it.skipIf(typeof globalThis.gc !== 'function')('readable() keeps alive a ring that only the awaiting function holds', async () => {
    // Only this suspended function references the ring. A collection during the wait must not take the
    // ring and its Poller: the wakeup would never come (and the finalizer would close the fd).
    using ring = PerfRing.open(clock({ samplePeriod: 20_000_000, wakeupEvents: 1 }), { pages: 2 });
    ring.enable();
    const waited = ring.readable();
    // the first sample comes after 20 ms of this thread's CPU time, several collections later
    const producer = setInterval(() => {
      globalThis.gc!();
      spin(2);
    }, 3);
    try {
      await waited;
    } finally {
      clearInterval(producer);
    }
    ring.disable();
    expect(ring.read(() => {})).toBeGreaterThan(0);
  });

  it('closes fd and mapping; 1,000 open/close cycles leak no fd', () => {
    const before = fs.readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 1000; i++) PerfRing.open(clock(), { pages: 1 }).close();
    expect(fs.readdirSync('/proc/self/fd').length).toBe(before);
    const ring = PerfRing.open(clock(), { pages: 1 });
    ring.close();
    ring.close();
    expect(() => ring.read(() => {})).toThrow(/closed/);
  });
});
