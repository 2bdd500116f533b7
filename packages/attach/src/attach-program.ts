/**
 * Attaching a program to each hook the kernel offers: one function per
 * target kind, each in its own module under `hooks/`.
 *
 * @module
 */
import { InvalidArgumentError } from '@bpfkit/core';
import type { AttachTarget, AttachTargetKind, Link, Program } from '@bpfkit/core';
import { attachCgroup } from './hooks/cgroup.js';
import { attachIter } from './hooks/iter.js';
import { attachKprobe, attachKprobeMulti } from './hooks/kprobe.js';
import { attachNetfilter } from './hooks/netfilter.js';
import { attachFlowDissector, attachSkLookup } from './hooks/netns-link.js';
import { attachPerfEvent } from './hooks/perf-event.js';
import { attachReuseport, attachSocketFilter } from './hooks/socket.js';
import { attachSockmap } from './hooks/sockmap.js';
import { attachTc } from './hooks/tc.js';
import { attachTcx } from './hooks/tcx.js';
import { attachLsm, attachTracing } from './hooks/tracing.js';
import { attachRawTracepoint, attachTracepoint } from './hooks/tracepoint.js';
import { attachUprobe, attachUprobeMulti } from './hooks/uprobe.js';
import { attachXdp } from './hooks/xdp.js';

type Attacher<K extends AttachTargetKind> = (program: Program, target: Extract<AttachTarget, { kind: K }>) => Link;

const attachers: { [K in AttachTargetKind]: Attacher<K> } = {
  xdp: attachXdp,
  tc: attachTc,
  tcx: attachTcx,
  kprobe: attachKprobe,
  kprobe_multi: attachKprobeMulti,
  uprobe: attachUprobe,
  uprobe_multi: attachUprobeMulti,
  tracepoint: attachTracepoint,
  raw_tracepoint: attachRawTracepoint,
  tracing: attachTracing,
  lsm: attachLsm,
  perf_event: attachPerfEvent,
  cgroup: attachCgroup,
  socket: attachSocketFilter,
  reuseport: attachReuseport,
  sockmap: attachSockmap,
  flow_dissector: attachFlowDissector,
  sk_lookup: attachSkLookup,
  netfilter: attachNetfilter,
  iter: attachIter,
};

/**
 * Attaches a loaded program to a hook and returns the link that holds it:
 * closing or detaching the link removes the program from the hook, and a
 * link that becomes unreachable is closed when garbage-collected.
 *
 * @example
 * using link = attachProgram(prog, { kind: 'raw_tracepoint', name: 'sched_process_exec' });
 */
export function attachProgram(program: Program, target: AttachTarget): Link {
  if (program === null || typeof program !== 'object' || program.closed || program.fd < 0)
    throw new InvalidArgumentError('attach: program', 'an open kernel program', program?.name ?? program);
  if (target === null || typeof target !== 'object' || !Object.hasOwn(attachers, target.kind)) {
    throw new InvalidArgumentError('attach: target', `an AttachTarget, whose kind is one of ${Object.keys(attachers).join(', ')}`, target);
  }
  const attach = attachers[target.kind] as Attacher<AttachTargetKind>;
  return attach(program, target);
}
