import fs from 'node:fs';
import { Session } from 'node:inspector';
import os from 'node:os';
import { ProgramType } from '@bpfkit/core';
import { describe, expect } from 'vitest';
import { native } from '../native.js';
import { whenKernel } from '../test-support/index.js';
import { progLoad, progTestRun } from './prog.js';

// Node's CPU profilers (--cpu-prof, --prof, the inspector's Profiler domain) sample the JavaScript thread by
// sending it SIGPROF. The verifier abandons a load when a signal is pending (EAGAIN) and a repeated test run
// stops between two runs (EINTR), so a verification or test run longer than the sampling interval used to fail
// on every attempt. The addon blocks SIGPROF on the calling thread for those two commands.

/** `r0 = 0` `count` times, then `exit`: a program the verifier walks instruction by instruction. */
function straightLine(count: number): Uint8Array {
  const insns = new Uint8Array((count + 1) * 8);
  for (let i = 0; i < count; i++) insns[i * 8] = 0xb7;
  insns[count * 8] = 0x95;
  return insns;
}

/** Runs `body` while the inspector's CPU profiler samples this thread every `intervalUs`; returns its result and the samples taken. */
function underProfiler<T>(intervalUs: number, body: () => T): { result: T; samples: number } {
  const session = new Session();
  session.connect();
  // A session of the thread's own inspector answers synchronously.
  const post = (method: string, params?: object): unknown => {
    let answer: unknown;
    let failure: Error | null = null;
    session.post(method, params, (err, result) => {
      failure = err;
      answer = result;
    });
    if (failure) throw failure;
    return answer;
  };
  try {
    post('Profiler.enable');
    post('Profiler.setSamplingInterval', { interval: intervalUs });
    post('Profiler.start');
    let result: T;
    try {
      result = body();
    } catch (err) {
      post('Profiler.stop');
      throw err;
    }
    const stopped = post('Profiler.stop') as { profile?: { samples?: number[] } } | undefined;
    return { result, samples: stopped?.profile?.samples?.length ?? 0 };
  } finally {
    session.disconnect();
  }
}

/** The signals blocked on this thread (`SigBlk` of /proc/thread-self/status). */
function blockedSignals(): bigint {
  const line = /^SigBlk:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/thread-self/status', 'utf8'));
  if (!line) throw new Error('no SigBlk line in /proc/thread-self/status');
  return BigInt(`0x${line[1]}`);
}

const SIGPROF_BIT = 1n << BigInt(os.constants.signals.SIGPROF - 1);

describe('loads and test runs under a CPU profiler', () => {
  whenKernel('program:socket_filter').it(
    'a verification far longer than the sampling interval completes, and the thread signal mask is as it was',
    () => {
      const before = blockedSignals();
      expect(before & SIGPROF_BIT).toBe(0n);
      const insns = straightLine(200_000);
      const { result: fd, samples } = underProfiler(50, () =>
        progLoad({ progType: ProgramType.SOCKET_FILTER, insns, license: 'GPL', progName: 'long_line' }),
      );
      try {
        expect(fd).toBeGreaterThan(0);
        // The profiler did sample, so SIGPROF was being sent (200,000 instructions take the verifier milliseconds:
        // without the addon's mask every attempt ended in EAGAIN).
        expect(samples).toBeGreaterThan(0);
      } finally {
        native.close(fd);
      }
      expect(blockedSignals()).toBe(before);
    },
  );

  whenKernel('program:socket_filter').it('a repeated test run is not interrupted by the samples', () => {
    const fd = progLoad({ progType: ProgramType.SOCKET_FILTER, insns: straightLine(64), license: 'GPL', progName: 'short_line' });
    try {
      const before = blockedSignals();
      const { result, samples } = underProfiler(50, () => progTestRun({ progFd: fd, dataIn: new Uint8Array(64), repeat: 200_000 }));
      expect(samples).toBeGreaterThan(0);
      expect(result.retval).toBe(0);
      expect(result.interrupted).toBe(0);
      expect(blockedSignals()).toBe(before);
    } finally {
      native.close(fd);
    }
  });
});
