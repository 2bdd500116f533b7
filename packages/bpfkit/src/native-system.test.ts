import { InvalidArgumentError, ProgramType } from '@bpfkit/core';
import type { Program } from '@bpfkit/core';
import { listLinks } from '@bpfkit/attach';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { NativeSystem } from './native-system.js';

const RET_0 = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0); // r0 = 0; exit
const raw = whenKernel('program:raw_tracepoint');

raw.it('raw: system.attach returns the link of attachProgram, which the program records for closeLinks()', () => {
  using system = new NativeSystem();
  using prog = system.loadProgram({ name: 'sys_attach', type: ProgramType.RAW_TRACEPOINT, instructions: RET_0, license: 'GPL' });
  using link = system.attach(prog, { kind: 'raw_tracepoint', name: 'sched_switch' });
  const info = link.info();
  expect(info).toMatchObject({ kind: 'raw_tracepoint', progId: prog.info().id });
  expect(listLinks().some((l) => l.id === info.id)).toBe(true);
  (prog as unknown as { closeLinks(): void }).closeLinks();
  expect(link.closed).toBe(true);
  expect(listLinks().some((l) => l.id === info.id)).toBe(false);
});

// A NativeSystem needs bpf(): unprivileged, its constructor refuses first.
whenKernel().it('system.attach refuses a program without a kernel fd (a mock program), saying so, before any call', () => {
  using system = new NativeSystem();
  // What a program of the mock backend looks like to the kernel system: no file descriptor.
  const mocked: Program = {
    name: 'mocked',
    type: ProgramType.RAW_TRACEPOINT,
    fd: -1,
    closed: false,
    testRun: () => ({ returnValue: 0, duration: 0, data: new Uint8Array(0), dataSizeOut: 0 }),
    attach: () => {
      throw new Error('not reached');
    },
    info: () => {
      throw new Error('not reached');
    },
    pin: () => {},
    unpin: () => {},
    close: () => {},
    [Symbol.dispose]: () => {},
  };
  const attempt = () => system.attach(mocked, { kind: 'raw_tracepoint', name: 'sched_switch' });
  expect(attempt).toThrow(InvalidArgumentError);
  expect(attempt).toThrow(
    "attach: program 'mocked': expected a kernel file descriptor (a program loaded by this system, or opened by id or pin; a mock program attaches only on the mock system), got the number -1",
  );
});
