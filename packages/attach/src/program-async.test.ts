import fs from 'node:fs';
import { ProgramType, VerifierError } from '@bpfkit/core';
import { assemble } from '@bpfkit/elf';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect, it } from 'vitest';
import { loadKernelProgram, loadKernelProgramAsync } from './program.js';

// A program the verifier takes a while over: a loop it walks 300000 times (r1 is exact at every
// step, so no state is pruned): ~150-250 ms here.
const slow = () =>
  assemble(`mov %r1, 0
    add %r1, 1
    jlt %r1, 300000, -2
    mov %r0, 0
    exit`);

whenKernel('program:socket_filter').describe('loading a program off the event loop', () => {
  it('loadKernelProgramAsync keeps timers firing while the verifier runs; the synchronous load blocks them', async () => {
    const spec = { name: 'slow_verify', type: ProgramType.SOCKET_FILTER, license: 'GPL', instructions: slow() };
    let ticks = 0;
    const timer = setInterval(() => ticks++, 2);
    try {
      // Synchronous: the timer cannot run until the load returns.
      const before = ticks;
      const sync = loadKernelProgram(spec);
      const blocked = ticks - before;
      sync.close();
      const started = ticks;
      const start = process.hrtime.bigint();
      using prog = await loadKernelProgramAsync(spec);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      expect(blocked).toBe(0);
      expect(ticks - started).toBeGreaterThanOrEqual(Math.min(10, Math.floor(ms / 8)));
      expect(prog.info().name).toBe('slow_verify');
      expect(prog.testRun({ data: new Uint8Array(64) }).returnValue).toBe(0);
    } finally {
      clearInterval(timer);
    }
  });

  it('refuses as the synchronous load does: a VerifierError with the whole log, no fd left open', async () => {
    const fdsBefore = fs.readdirSync('/proc/self/fd').length;
    const bad = { name: 'bad_read', type: ProgramType.SOCKET_FILTER, license: 'GPL', instructions: assemble('ldxdw %r0, [%r2+0]\nexit') };
    const error = await loadKernelProgramAsync(bad).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(VerifierError);
    expect((error as VerifierError).log).toMatch(/R2 !read_ok/);
    expect(() => loadKernelProgram(bad)).toThrow((error as VerifierError).message);
    expect(fs.readdirSync('/proc/self/fd').length).toBe(fdsBefore);
  });
});
