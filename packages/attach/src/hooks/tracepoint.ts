/**
 * Tracepoints (through tracefs and a perf event) and raw tracepoints.
 *
 * @module
 */
import { InvalidArgumentError } from '@bpfkit/core';
import type { Link, Program, RawTracepointTarget, TracepointTarget } from '@bpfkit/core';
import { PERF_FLAG_FD_CLOEXEC, PerfType, perfEventOpen, rawTracepointOpen } from '@bpfkit/syscalls';
import { KernelLink } from '../link.js';
import { tracepointId } from '../tracefs.js';
import { attachPerfEventFd } from './perf-link.js';

/**
 * A tracepoint: a PERF_TYPE_TRACEPOINT perf event (pid -1, CPU 0: the
 * program runs on every CPU all the same) with the program linked to it
 * (or, before perf event links, set on it by ioctl).
 */
export function attachTracepoint(program: Program, target: TracepointTarget): Link {
  const label = `tracepoint link '${target.group}:${target.name}' of program '${program.name}'`;
  const id = tracepointId(target.group, target.name);
  const perfFd = perfEventOpen({ type: PerfType.PERF_TYPE_TRACEPOINT, config: id }, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
  return attachPerfEventFd(program, perfFd, target, label, target.cookie);
}

/** A raw tracepoint (BPF_RAW_TRACEPOINT_OPEN, 4.17); writable ones the same way. */
export function attachRawTracepoint(program: Program, target: RawTracepointTarget): KernelLink {
  if (typeof target.name !== 'string' || !target.name)
    throw new InvalidArgumentError('raw_tracepoint target: name', 'a tracepoint name', target.name);
  const fd = rawTracepointOpen(program.fd, target.name, undefined, {
    subject: `program '${program.name}': attach to raw tracepoint '${target.name}'`,
  });
  return new KernelLink(fd, target, `raw_tracepoint link '${target.name}' of program '${program.name}'`);
}
