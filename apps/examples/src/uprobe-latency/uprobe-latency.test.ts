import { spawnSync } from 'node:child_process';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import { bucketOf, runUprobeLatency } from './uprobe-latency.js';

const compiler = spawnSync(process.env.CC ?? 'cc', ['--version']).status === 0;

describe('uprobe-latency', () => {
  it('runs on the mock: each fired call lands in the log2 bucket of its time', async () => {
    const report = await runUprobeLatency({ backend: 'mock', requests: 24, log: () => {} });
    expect(report.calls).toBe(24);
    expect(report.meanUs).toBeCloseTo((50 + 120 + 300 + 800 + 2000 + 5000) / 6, 6);
    expect(report.histogram).toEqual(
      [50, 120, 300, 800, 2000, 5000].map((us) => ({ lowUs: 2 ** bucketOf(us), highUs: 2 ** (bucketOf(us) + 1), calls: 4 })),
    );
    expect(report.metrics).toContain('uprobe_latency_seconds_bucket{le="0.000064"} 4\n');
    expect(report.metrics).toContain('uprobe_latency_seconds_bucket{le="+Inf"} 24\n');
    expect(report.metrics).toContain('uprobe_latency_seconds_count 24\n');
    // The Manager attached both programs and reports them (the mock counts no run statistics).
    expect(report.probeRuns).toEqual({ on_enter: 0, on_return: 0 });
    expect(report.metrics).toContain('bpfkit_manager_links 2\n');
  });

  it('buckets as the program does', () => {
    expect([0, 1, 2, 3, 4, 63, 64, 5000].map(bucketOf)).toEqual([0, 0, 1, 1, 2, 5, 6, 12]);
  });

  whenKernel()
    .unless(compiler ? undefined : 'no C compiler to build the server (apt-get install gcc, or set CC)')
    .it('runs on the kernel: a uprobe/uretprobe pair on the server it starts counts every request', async () => {
      const report = await runUprobeLatency({ backend: 'kernel', requests: 12, log: () => {} });
      expect(report.calls).toBe(12);
      expect(report.histogram.reduce((n, b) => n + b.calls, 0)).toBe(12);
      // A call sleeps at least what it was asked: nothing under 32 µs (the 50 µs requests' bucket).
      expect(report.histogram.every((b) => b.lowUs >= 32)).toBe(true);
      expect(report.meanUs).toBeGreaterThanOrEqual((50 + 120 + 300 + 800 + 2000 + 5000) / 6);
      // The Manager's BPF run statistics count each probe once per request.
      expect(report.probeRuns).toEqual({ on_enter: 12, on_return: 12 });
    });
});
