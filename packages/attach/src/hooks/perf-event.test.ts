import fs from 'node:fs';
import { BpfError, InvalidArgumentError, LinkType, NotSupportedError, ProgramType } from '@bpfkit/core';
import type { PerfEventTarget } from '@bpfkit/core';
import { mountPrivateBpffs, onlineCpus, PerfCountSw, PerfType } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { KernelLink } from '../link.js';
import { loadKernelProgram } from '../program.js';
import { assemble, counters, countInto } from '../test-support/packet-programs.js';
import { attachPerfEvent, PerfEventLinks } from './perf-event.js';

const perf = whenKernel('program:perf_event', 'link:perf_event');

const cpuClock = (rate: Partial<PerfEventTarget>): PerfEventTarget => ({
  kind: 'perf_event',
  type: PerfType.PERF_TYPE_SOFTWARE,
  config: BigInt(PerfCountSw.PERF_COUNT_SW_CPU_CLOCK),
  ...rate,
});

/** A perf_event program counting its runs in slot 0 of `mapFd`. */
const sampler = (mapFd: number) =>
  loadKernelProgram({
    name: 'count_samples',
    type: ProgramType.PERF_EVENT,
    instructions: assemble([
      ...countInto(mapFd, 0, 'out'),
      'out',
      { opcode: 0xb7, dst: 0, src: 0, offset: 0, imm: 0 },
      { opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 },
    ]),
    license: 'GPL',
  });

/** Burns CPU on this thread until `done()` or 10 s have passed (a wait, not an assertion). */
function burnUntil(done: () => boolean, ms = 10_000): void {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) {
    const slice = Date.now() + 20;
    while (Date.now() < slice) Math.sqrt(Math.random());
  }
}

const fdCount = () => fs.readdirSync('/proc/self/fd').length;

perf.it('perf_event: a cpu-clock sampler on every online CPU runs the program as the test burns CPU, and stops when closed', () => {
  using c = counters(1);
  using prog = sampler(c.fd);
  const link = prog.attach(cpuClock({ sampleFrequency: 1000 }));
  try {
    expect(link).toBeInstanceOf(PerfEventLinks);
    const all = link as PerfEventLinks;
    const info = all.info();
    expect(info).toMatchObject({ kind: 'perf_event', progId: prog.info().id, cpus: onlineCpus() });
    expect(info.linkIds).toHaveLength(onlineCpus().length);
    expect(new Set(info.linkIds).size).toBe(info.linkIds.length);
    for (const l of all.links) expect(l.info()).toMatchObject({ kind: 'perf_event', type: LinkType.PERF_EVENT });
    burnUntil(() => c.read() >= 20n);
    expect(c.read()).toBeGreaterThanOrEqual(20n);
  } finally {
    link.close();
  }
  for (const l of (link as PerfEventLinks).links) expect(l.closed).toBe(true);
  const after = c.read();
  burnUntil(() => false, 100);
  expect(c.read()).toBe(after);
});

perf.it('perf_event: with a pid, one event follows that process (a plain KernelLink), sampled every N ns of its CPU time', () => {
  using c = counters(1);
  using prog = sampler(c.fd);
  using link = attachPerfEvent(prog, cpuClock({ samplePeriod: 1_000_000n, pid: process.pid }));
  expect(link).toBeInstanceOf(KernelLink);
  burnUntil(() => c.read() >= 10n);
  expect(c.read()).toBeGreaterThanOrEqual(10n);
  link.detach(); // perf event links detach by closing
  expect(link.closed).toBe(true);
});

perf.it('perf_event: the per-CPU links pin one by one, not as one', () => {
  using c = counters(1);
  using prog = sampler(c.fd);
  using fsys = mountPrivateBpffs();
  using link = attachPerfEvent(prog, cpuClock({ sampleFrequency: 10 })) as PerfEventLinks;
  expect(() => link.pin(`${fsys.dir}/all`)).toThrow(NotSupportedError);
  const first = link.links[0]!;
  first.pin(`${fsys.dir}/cpu0`);
  expect(fs.existsSync(`${fsys.dir}/cpu0`)).toBe(true);
  first.unpin();
  expect(fs.existsSync(`${fsys.dir}/cpu0`)).toBe(false);
});

perf.it('perf_event: a target without a rate, a wrong program, or an event the kernel refuses fails and leaves no fd behind', () => {
  using c = counters(1);
  using prog = sampler(c.fd);
  expect(() => attachPerfEvent(prog, cpuClock({}))).toThrow(/one of samplePeriod .* and sampleFrequency/);
  expect(() => attachPerfEvent(prog, cpuClock({ samplePeriod: 1n, sampleFrequency: 1 }))).toThrow(InvalidArgumentError);
  expect(() => attachPerfEvent(prog, cpuClock({ sampleFrequency: 1, cpu: -1 }))).toThrow(/cpu: expected a CPU number/);
  using other = loadKernelProgram({
    name: 'not_perf',
    type: ProgramType.SOCKET_FILTER,
    instructions: Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0),
    license: 'GPL',
  });
  expect(() => other.attach(cpuClock({ sampleFrequency: 1 }))).toThrow(/expected a perf_event program .*, got .*socket_filter/);
  const before = fdCount();
  // No software event has config 0xffff: perf_event_open refuses it on the first CPU.
  expect(() => attachPerfEvent(prog, { ...cpuClock({ sampleFrequency: 1 }), config: 0xffffn })).toThrow(BpfError);
  expect(fdCount()).toBe(before);
});
