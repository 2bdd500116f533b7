/**
 * Linking a program to a perf event, the way kprobes, uprobes, tracepoints
 * and perf event samplers attach.
 *
 * @module
 */
import fs from 'node:fs';
import { AttachType, NotSupportedError } from '@bpfkit/core';
import type { AttachTarget, Program } from '@bpfkit/core';
import { linkCreate, native } from '@bpfkit/syscalls';
import { KernelLink } from '../link.js';

/**
 * Links `program` to the perf event `perfFd` (BPF_LINK_CREATE, attach type
 * BPF_PERF_EVENT, 5.15) and closes `perfFd` whatever happens: the link holds
 * the perf event itself (bpf_perf_link keeps a reference to its file).
 */
export function linkPerfEvent(program: Program, perfFd: number, target: AttachTarget, label: string, cookie?: bigint): KernelLink {
  try {
    const fd = linkCreate(
      {
        progFd: program.fd,
        targetFd: perfFd,
        attachType: AttachType.PERF_EVENT,
        ...(cookie !== undefined ? { perfEvent: { bpfCookie: cookie } } : {}),
      },
      { subject: label },
    );
    return new KernelLink(fd, target, label);
  } finally {
    native.close(perfFd);
  }
}

/** The perf PMU of dynamic probes: its type number, and the config bit that makes a return probe. */
export function probePmu(name: 'kprobe' | 'uprobe'): { type: number; retprobeBit: number } {
  const dir = `/sys/bus/event_source/devices/${name}`;
  let type: string;
  try {
    type = fs.readFileSync(`${dir}/type`, 'utf8');
  } catch {
    const config = name === 'kprobe' ? 'CONFIG_KPROBES / CONFIG_KPROBE_EVENTS' : 'CONFIG_UPROBE_EVENTS';
    throw new NotSupportedError(`${name}s through the ${name} PMU`, '4.17', `this kernel has no ${dir} (built without ${config})`);
  }
  // format/retprobe reads "config:<bit>" (bit 0 on every kernel so far).
  const format = /config:(\d+)/.exec(fs.existsSync(`${dir}/format/retprobe`) ? fs.readFileSync(`${dir}/format/retprobe`, 'utf8') : '');
  return { type: Number.parseInt(type.trim(), 10), retprobeBit: format ? Number(format[1]) : 0 };
}
