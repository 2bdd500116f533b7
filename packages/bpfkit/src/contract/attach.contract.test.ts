import { BpfError, Errno, InvalidArgumentError, ProgramType } from '@bpfkit/core';
import { assemble } from '@bpfkit/elf';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from './backends.js';

/** What `f` throws, as `{ name, errno }` (errno only for a BpfError). */
function refusal(f: () => unknown): { name: string; errno?: number } {
  try {
    f();
  } catch (err) {
    if (err instanceof BpfError) return { name: 'BpfError', errno: err.errno };
    if (err instanceof Error) return { name: err.name };
    throw err;
  }
  throw new Error('expected an error, nothing was thrown');
}

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(
    `attaching on the ${backend.name} backend${backend.skip ? ` — skipped: ${backend.skip}` : ''}`,
    () => {
      it('refuses a program of the wrong type with the same error on each hook', () => {
        using system = backend.open();
        using xdp = system.loadProgram({ name: 'x', type: ProgramType.XDP, license: 'GPL', instructions: assemble('mov %r0, 2\nexit') });
        expect(refusal(() => system.attach(xdp, { kind: 'kprobe', symbol: 'do_unlinkat' }))).toEqual({ name: 'InvalidArgumentError' });
        expect(refusal(() => system.attach(xdp, { kind: 'kprobe_multi', symbols: ['do_unlinkat'] }))).toEqual({
          name: 'InvalidArgumentError',
        });
        expect(refusal(() => system.attach(xdp, { kind: 'tracepoint', group: 'syscalls', name: 'sys_enter_openat' }))).toEqual({
          name: 'BpfError',
          errno: Errno.EINVAL,
        });
        expect(refusal(() => system.attach(xdp, { kind: 'raw_tracepoint', name: 'sched_switch' }))).toEqual({
          name: 'BpfError',
          errno: Errno.EINVAL,
        });
        // Refused before anything touches the interface.
        expect(refusal(() => system.attach(xdp, { kind: 'tc', interface: 'lo', direction: 'ingress' }))).toEqual({
          name: 'InvalidArgumentError',
        });
        expect(() => system.attach(xdp, { kind: 'tc', interface: 'lo', direction: 'ingress' })).toThrow(InvalidArgumentError);
      });

      it('attaches a raw tracepoint program and detaches it on close', () => {
        using system = backend.open();
        using prog = system.loadProgram({
          name: 'rtp',
          type: ProgramType.RAW_TRACEPOINT,
          license: 'GPL',
          instructions: assemble('mov %r0, 0\nexit'),
        });
        const link = system.attach(prog, { kind: 'raw_tracepoint', name: 'sched_switch' });
        expect(link.info()).toMatchObject({ kind: 'raw_tracepoint' });
        expect(link.info().id).toBeGreaterThan(0);
        link.close();
        expect(link.closed).toBe(true);
      });
    },
  );
}
