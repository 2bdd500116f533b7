import fs from 'node:fs';
import { ProgramType } from '@bpfkit/core';
import { expect, it } from 'vitest';
import { loadKernelProgram } from './program.js';
import { enableRunStats } from './stats.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

// r0 = 0; exit
const RET0 = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);
const sysctl = () => fs.readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();

whenKernel().describe('run statistics', () => {
  it('counts runs and run time while enabled, and stops counting when closed', () => {
    using prog = loadKernelProgram({ name: 'counted', type: ProgramType.SOCKET_FILTER, instructions: RET0, license: 'GPL' });
    const counting = sysctl() === '1';
    {
      using stats = enableRunStats();
      prog.testRun({ data: new Uint8Array(64), repeat: 50 });
      const info = prog.info();
      expect(info.runCount).toBeGreaterThanOrEqual(50n);
      expect(info.runTimeNs).toBeGreaterThan(0n);
      expect(stats.closed).toBe(false);
    }
    const after = prog.info().runCount;
    prog.testRun({ data: new Uint8Array(64), repeat: 50 });
    // With the sysctl off (the default) nothing more is counted once the handle is closed.
    if (!counting) expect(prog.info().runCount).toBe(after);
  });
});
