import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import type { ExecEvent } from './exec-snoop.js';
import { runExecSnoop } from './exec-snoop.js';

describe('exec-snoop', () => {
  it('runs on the mock: the played forks and execs come out with their parents, comms and file names', async () => {
    const lines: string[] = [];
    const events = await runExecSnoop({ backend: 'mock', durationMs: 200, log: (l) => lines.push(l) });
    expect(events).toEqual([
      { pid: 4101, ppid: 4100, comm: 'ls', filename: '/usr/bin/ls' },
      { pid: 4102, ppid: 4100, comm: 'cat', filename: '/usr/bin/cat' },
      { pid: 4103, ppid: 4102, comm: 'grep', filename: '/usr/bin/grep' },
    ]);
    expect(lines[0]).toMatch(/^\s+PID\s+PPID COMM\s+FILENAME$/);
    expect(lines[1]).toMatch(/^\s+4101\s+4100 ls\s+\/usr\/bin\/ls$/);

    const json: string[] = [];
    await runExecSnoop({ backend: 'mock', durationMs: 100, json: true, log: (l) => json.push(l) });
    expect(json.map((l) => JSON.parse(l))).toEqual(events);
  });

  whenKernel().describe('on the kernel', () => {
    it('an exec of this process shows up with this process as its parent', async () => {
      const program = ['/usr/bin/true', '/bin/true'].find((p) => fs.existsSync(p))!;
      const stop = new AbortController();
      const timeout = setTimeout(() => stop.abort(), 10_000);
      let mine: ExecEvent | undefined;
      await runExecSnoop({
        backend: 'kernel',
        signal: stop.signal,
        log: () => {},
        onReady: () => {
          // Several, spaced: the first may race the reader's first wake-up, none may be lost.
          for (let i = 0; i < 3; i++) setTimeout(() => execFile(program, () => {}), 50 * i);
        },
        onEvent: (e) => {
          if (e.ppid === process.pid && e.filename === program) {
            mine = e;
            stop.abort();
          }
        },
      });
      clearTimeout(timeout);
      expect(mine).toMatchObject({ ppid: process.pid, comm: 'true', filename: program });
      expect(mine!.pid).toBeGreaterThan(0);
    }, 20_000);
  });
});
