/**
 * perf_event sampling programs, on one CPU or every CPU.
 *
 * @module
 */
import { InvalidArgumentError, NotSupportedError, OwnedHandle, ProgramType, programTypeName } from '@bpfkit/core';
import type { Link, LinkInfo, PerfEventTarget, Program } from '@bpfkit/core';
import { onlineCpus, PERF_FLAG_FD_CLOEXEC, perfEventOpen } from '@bpfkit/syscalls';
import type { PerfEventAttrFields } from '@bpfkit/syscalls';
import type { KernelLink } from '../link.js';
import { linkPerfEvent } from './perf-link.js';

/** What {@link PerfEventLinks.info} says: the perf events' common kind and program, and each CPU's link. */
export interface PerfEventLinksInfo extends LinkInfo {
  readonly kind: 'perf_event';
  /** The CPU of each link, in the order of {@link PerfEventLinks.links}. */
  readonly cpus: readonly number[];
  /** The kernel's id of each link, in the same order. */
  readonly linkIds: readonly number[];
}

/**
 * One perf_event program sampling on every online CPU: a perf event and a
 * perf event link per CPU, held as one {@link Link}. Closing or detaching
 * it closes every per-CPU link (and with it its perf event).
 *
 * @example
 * import { PerfCountSw, PerfType } from '@bpfkit/syscalls';
 * using link = prog.attach({ kind: 'perf_event', type: PerfType.PERF_TYPE_SOFTWARE,
 *   config: BigInt(PerfCountSw.PERF_COUNT_SW_CPU_CLOCK), sampleFrequency: 99 }) as PerfEventLinks;
 * link.info().cpus; // [0, 1, …]
 */
export class PerfEventLinks extends OwnedHandle implements Link {
  readonly target: PerfEventTarget;
  /** One link per CPU; each may be pinned on its own. */
  readonly links: readonly KernelLink[];
  /** The CPU of each link, in order. */
  readonly cpus: readonly number[];

  /** Takes ownership of `links` (one per CPU of `cpus`, in order). */
  constructor(links: readonly KernelLink[], cpus: readonly number[], target: PerfEventTarget, label: string) {
    // The per-CPU links each close themselves when unreachable; this closes them all at once.
    super(label, () => {
      for (const l of links) l.close();
    });
    this.links = links;
    this.cpus = cpus;
    this.target = target;
  }

  info(): PerfEventLinksInfo {
    this.assertOpen();
    const infos = this.links.map((l) => l.info());
    return { kind: 'perf_event', progId: infos[0]?.progId ?? 0, cpus: this.cpus, linkIds: infos.map((i) => i.id) };
  }

  /** Perf event links cannot swap their program (BPF_LINK_UPDATE answers EOPNOTSUPP): the kernel's answer, from the first link. */
  update(program: Program): void {
    this.assertOpen();
    for (const l of this.links) l.update(program);
  }

  /** Not possible as one pin: pin the per-CPU links of {@link links} one by one. */
  pin(_path: string): void {
    this.assertOpen();
    throw new NotSupportedError(
      'pinning a perf_event attachment on every CPU as one pin',
      undefined,
      `it is ${this.links.length} kernel links, one per CPU: pin each of .links on its own`,
      'bpfkit',
    );
  }

  /** Nothing to unpin: this handle pins nothing itself (see {@link pin}). */
  unpin(): void {
    this.assertOpen();
    throw new InvalidArgumentError(
      `${this.label}: unpin`,
      'a link pinned by this handle (pins of .links are undone on each of them)',
      undefined,
    );
  }

  /** Detaches the program from every CPU: perf event links detach only by closing, so this closes them all. */
  detach(): void {
    this.assertOpen();
    this.close();
  }
}

function checkTarget(target: PerfEventTarget): void {
  if (!Number.isInteger(target.type) || target.type < 0 || target.type > 0xffff_ffff)
    throw new InvalidArgumentError(
      'perf_event target: type',
      'a perf_event_attr type (PerfType.PERF_TYPE_SOFTWARE, …, or a PMU type from sysfs)',
      target.type,
    );
  if (typeof target.config !== 'bigint' || target.config < 0n)
    throw new InvalidArgumentError(
      'perf_event target: config',
      'a bigint perf_event_attr config (PerfCountSw.PERF_COUNT_SW_CPU_CLOCK, …)',
      target.config,
    );
  const { samplePeriod: period, sampleFrequency: freq } = target;
  if ((period === undefined) === (freq === undefined))
    throw new InvalidArgumentError(
      'perf_event target',
      'one of samplePeriod (a sample every N events) and sampleFrequency (N samples a second): without either the event only counts and the program never runs',
      period === undefined ? 'neither' : 'both',
    );
  if (period !== undefined && (typeof period !== 'bigint' || period < 1n))
    throw new InvalidArgumentError('perf_event target: samplePeriod', 'a positive bigint', period);
  if (freq !== undefined && (!Number.isInteger(freq) || freq < 1))
    throw new InvalidArgumentError('perf_event target: sampleFrequency', 'a positive integer (samples a second)', freq);
  if (target.pid !== undefined && (!Number.isInteger(target.pid) || target.pid < 0))
    throw new InvalidArgumentError('perf_event target: pid', 'a process id (0: this process)', target.pid);
  if (target.cpu !== undefined && (!Number.isInteger(target.cpu) || target.cpu < 0))
    throw new InvalidArgumentError('perf_event target: cpu', 'a CPU number', target.cpu);
}

/**
 * Attaches a perf_event program to a sampling perf event: for `pid` and/or
 * `cpu` one event and link ({@link KernelLink}), and with neither one per
 * online CPU (perf_event_open(2) with pid -1 watches one CPU), held as one
 * {@link PerfEventLinks}. Each link (BPF_LINK_CREATE, 5.15) holds its perf
 * event, carrying `target.cookie`. A failure part-way closes the events
 * and links already made.
 *
 * @throws InvalidArgumentError for a program that is not PERF_EVENT, or a target without a sampling rate
 * @example
 * import { PerfCountSw, PerfType } from '@bpfkit/syscalls';
 * using link = attachPerfEvent(prog, { kind: 'perf_event', type: PerfType.PERF_TYPE_SOFTWARE,
 *   config: BigInt(PerfCountSw.PERF_COUNT_SW_CPU_CLOCK), sampleFrequency: 99 });
 */
export function attachPerfEvent(program: Program, target: PerfEventTarget): KernelLink | PerfEventLinks {
  if (program.type !== ProgramType.PERF_EVENT) {
    throw new InvalidArgumentError(
      `perf_event target: program '${program.name}'`,
      'a perf_event program (ProgramType.PERF_EVENT)',
      `a program of type ${programTypeName(program.type)}`,
    );
  }
  checkTarget(target);
  const attr: PerfEventAttrFields = {
    type: target.type,
    config: target.config,
    ...(target.sampleFrequency !== undefined ? { sampleFreq: target.sampleFrequency, freq: true } : { samplePeriod: target.samplePeriod }),
  };
  const what = `perf event ${target.type}:${target.config} of program '${program.name}'`;
  const open = (pid: number, cpu: number, where: string): KernelLink => {
    const label = `perf_event link (${where}) of program '${program.name}'`;
    const perfFd = perfEventOpen(attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC, { subject: `${what} (${where})` });
    return linkPerfEvent(program, perfFd, target, label, target.cookie);
  };
  if (target.pid !== undefined || target.cpu !== undefined) {
    const where = [target.pid !== undefined ? `pid ${target.pid}` : '', target.cpu !== undefined ? `CPU ${target.cpu}` : '']
      .filter(Boolean)
      .join(', ');
    return open(target.pid ?? -1, target.cpu ?? -1, where);
  }
  const cpus = onlineCpus();
  const links: KernelLink[] = [];
  try {
    for (const cpu of cpus) links.push(open(-1, cpu, `CPU ${cpu}`));
  } catch (err) {
    for (const l of links) l.close();
    throw err;
  }
  return new PerfEventLinks(links, cpus, target, `perf_event links (every CPU) of program '${program.name}'`);
}
