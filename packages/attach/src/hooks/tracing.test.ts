import fs from 'node:fs';
import os from 'node:os';
import { AttachType, InvalidArgumentError, LinkType, ProgramType } from '@bpfkit/core';
import { BtfKind } from '@bpfkit/elf';
import type { ProgramSpec } from '@bpfkit/core';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { attachProgram } from '../attach-program.js';
import { loadKernelProgram, openProgramById } from '../program.js';
import { counters } from '../test-support/packet-programs.js';
import {
  bpfLsmInactive,
  countPidProgram,
  denyPidProgram,
  fentryProgram,
  fexitProgram,
  fmodRetProgram,
  kernelFunc,
  kernelType,
  pidFilterUnavailable,
} from '../test-support/trace-programs.js';
import { attachLsm, attachTracing } from './tracing.js';

const tracing = whenKernel('program:tracing');
const lsmBase = whenKernel('program:lsm');
// Only asked where LSM programs load at all (it may mount securityfs for a moment).
const lsm = lsmBase.skip || lsmBase.broken ? lsmBase : lsmBase.unless(bpfLsmInactive() ?? pidFilterUnavailable());

/** Loads a TRACING/LSM program against kernel BTF id `attachBtfId`. */
function load(name: string, type: number, expectedAttachType: number, instructions: Uint8Array, attachBtfId: number) {
  const spec: ProgramSpec = { name, type, expectedAttachType, instructions, license: 'GPL' };
  return loadKernelProgram(spec, { attachBtfId });
}

tracing.it('fentry: counts each call of bpf_fentry_test1 (one per test run of a fentry program), with the cookie, until closed', () => {
  using c = counters(2);
  using prog = load('fentry_count', ProgramType.TRACING, AttachType.TRACE_FENTRY, fentryProgram(c.fd), kernelFunc('bpf_fentry_test1'));
  // A test run of a fentry/fexit program calls bpf_fentry_test1..9 once each (net/bpf/test_run.c).
  prog.testRun();
  expect(c.read(0)).toBe(0n);
  const link = prog.attach({ kind: 'tracing', cookie: 0x1234_5678_9abcn });
  for (let i = 0; i < 3; i++) prog.testRun();
  expect(c.read(0)).toBe(3n);
  expect(c.read(1)).toBe(0x1234_5678_9abcn);
  const info = link.info();
  expect(info).toMatchObject({ kind: 'tracing', type: LinkType.TRACING, progId: prog.info().id });
  expect((info as { tracing?: { attachType: number; targetBtfId: number } }).tracing).toMatchObject({
    attachType: AttachType.TRACE_FENTRY,
    targetBtfId: kernelFunc('bpf_fentry_test1'),
  });
  link.close();
  prog.testRun();
  expect(c.read(0)).toBe(3n);
});

tracing.it('fexit: sees bpf_fentry_test1(1) return 2, once per call', () => {
  using c = counters(2);
  using prog = load('fexit_ret', ProgramType.TRACING, AttachType.TRACE_FEXIT, fexitProgram(c.fd), kernelFunc('bpf_fentry_test1'));
  using link = attachTracing(prog, { kind: 'tracing' });
  prog.testRun();
  prog.testRun();
  expect(c.read(0)).toBe(2n);
  expect(c.read(1) & 0xffff_ffffn).toBe(2n);
  link.detach(); // tracing links detach by closing
  expect(link.closed).toBe(true);
  prog.testRun();
  expect(c.read(0)).toBe(2n);
});

tracing.it('fmod_ret: bpf_modify_return_test returns what the program says, and only while attached', () => {
  using c = counters(1);
  using prog = load(
    'fmod_ret_42',
    ProgramType.TRACING,
    AttachType.MODIFY_RETURN,
    fmodRetProgram(c.fd, 42),
    kernelFunc('bpf_modify_return_test'),
  );
  // The test run of a fmod_ret program reports (side effects << 16) | sum of the two test functions' returns;
  // bpf_modify_return_test(1, &b) normally bumps b (a side effect) and returns 1 + 3 = 4.
  const plain = prog.testRun().returnValue;
  {
    using _link = prog.attach({ kind: 'tracing' });
    const modified = prog.testRun().returnValue;
    expect(modified & 0xffff).toBe((plain & 0xffff) - 4 + 42);
    expect(modified >>> 16).toBe((plain >>> 16) - 1); // the body did not run: no side effect
    expect(c.read()).toBe(1n);
  }
  expect(prog.testRun().returnValue).toBe(plain);
  expect(c.read()).toBe(1n);
});

tracing.unless(pidFilterUnavailable()).it("tp_btf: task_rename fires for each of this process's writes to /proc/self/comm", () => {
  using c = counters(1);
  const typedef = kernelType('btf_trace_task_rename', BtfKind.TYPEDEF).id; // tp_btf targets are the btf_trace_<name> typedefs
  using prog = load('tp_btf_rename', ProgramType.TRACING, AttachType.TRACE_RAW_TP, countPidProgram(c.fd, process.pid), typedef);
  const comm = fs.readFileSync('/proc/self/comm', 'utf8').trim();
  try {
    using link = prog.attach({ kind: 'tracing' });
    for (const name of ['bpfkit-a', 'bpfkit-b', 'bpfkit-c']) fs.writeFileSync('/proc/self/comm', name);
    expect(c.read()).toBe(3n);
    expect(link.info()).toMatchObject({ kind: 'raw_tracepoint', type: LinkType.RAW_TRACEPOINT }); // what tp_btf links are
  } finally {
    fs.writeFileSync('/proc/self/comm', comm);
  }
  // Closed: the restoring write above was not counted either.
  expect(c.read()).toBe(3n);
});

tracing.it('fentry: a program opened by id (attach type unknown) attaches through BPF_RAW_TRACEPOINT_OPEN', () => {
  using c = counters(2);
  using loaded = load('fentry_by_id', ProgramType.TRACING, AttachType.TRACE_FENTRY, fentryProgram(c.fd), kernelFunc('bpf_fentry_test1'));
  using prog = openProgramById(loaded.info().id);
  expect(prog.expectedAttachType).toBeUndefined();
  expect(() => attachTracing(prog, { kind: 'tracing', cookie: 1n })).toThrow(/expected attach type this handle knows/);
  using link = attachTracing(prog, { kind: 'tracing' });
  loaded.testRun();
  expect(c.read(0)).toBe(1n);
  expect(link.info().kind).toBe('tracing');
});

lsm.it("lsm: a task_setnice program refuses this process's setpriority while attached, and counts each refusal", () => {
  using c = counters(1);
  using prog = load(
    'lsm_no_nice',
    ProgramType.LSM,
    AttachType.LSM_MAC,
    denyPidProgram(c.fd, process.pid),
    kernelFunc('bpf_lsm_task_setnice'),
  );
  const nice = os.getPriority(0);
  {
    using link = prog.attach({ kind: 'lsm' });
    expect(() => os.setPriority(0, nice)).toThrow(/EPERM|permission/i);
    expect(() => os.setPriority(0, nice)).toThrow(/EPERM|permission/i);
    expect(c.read()).toBe(2n);
    expect(link.info()).toMatchObject({ kind: 'tracing', tracing: { attachType: AttachType.LSM_MAC } });
  }
  os.setPriority(0, nice);
  expect(c.read()).toBe(2n);
});

whenKernel().it('tracing: a program of another type is refused, naming the type expected', () => {
  using c = counters(1);
  using prog = loadKernelProgram({
    name: 'not_tracing',
    type: ProgramType.SOCKET_FILTER,
    instructions: fmodRetProgram(c.fd, 0),
    license: 'GPL',
  });
  expect(() => attachProgram(prog, { kind: 'tracing' })).toThrow(InvalidArgumentError);
  expect(() => attachProgram(prog, { kind: 'tracing' })).toThrow(
    /expected a TRACING program .* or an EXT program .*, got .*a program of type socket_filter/,
  );
  expect(() => attachProgram(prog, { kind: 'lsm' })).toThrow(/expected an LSM program/);
  expect(() => attachLsm(prog, { kind: 'lsm' })).toThrow(InvalidArgumentError);
});

tracing.it('tracing: an iterator program is sent to { kind: "iter" }, a bad cookie refused', () => {
  using c = counters(1);
  using iter = load('not_fentry', ProgramType.TRACING, AttachType.TRACE_ITER, fmodRetProgram(c.fd, 0), kernelFunc('bpf_iter_task'));
  expect(() => attachTracing(iter, { kind: 'tracing' })).toThrow(/an iterator attaches with \{ kind: "iter" \}/);
  using fentry = load('fentry_cookie', ProgramType.TRACING, AttachType.TRACE_FENTRY, fentryProgram(c.fd), kernelFunc('bpf_fentry_test1'));
  expect(() => attachTracing(fentry, { kind: 'tracing', cookie: -1n })).toThrow(/cookie: expected a bigint from 0 to 2\^64-1/);
});
