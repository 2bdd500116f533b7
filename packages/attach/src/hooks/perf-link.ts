/**
 * Linking a program to a perf event, the way kprobes, uprobes, tracepoints
 * and perf event samplers attach: a perf event link (5.15), or on older
 * kernels the program set on the perf event itself (PERF_EVENT_IOC_SET_BPF).
 *
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import { AttachType, BpfError, Errno, InvalidArgumentError, NotSupportedError, OwnedHandle, kernelReleaseAtLeast } from '@bpfkit/core';
import type { AttachTarget, Link, LinkInfo, Program } from '@bpfkit/core';
import { PERF_EVENT_IOC_DISABLE, PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_SET_BPF, linkCreate, native } from '@bpfkit/syscalls';
import { KernelLink } from '../link.js';

/** BPF_LINK_CREATE (BPF_PERF_EVENT) on `perfFd`, which stays open (the link takes its own reference). */
function createPerfLink(program: Program, perfFd: number, target: AttachTarget, label: string, cookie?: bigint): KernelLink {
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
}

/**
 * Links `program` to the perf event `perfFd` (BPF_LINK_CREATE, attach type
 * BPF_PERF_EVENT, 5.15) and closes `perfFd` whatever happens: the link holds
 * the perf event itself (bpf_perf_link keeps a reference to its file).
 * {@link attachPerfEventFd} falls back to an ioctl on older kernels.
 */
export function linkPerfEvent(program: Program, perfFd: number, target: AttachTarget, label: string, cookie?: bigint): KernelLink {
  try {
    return createPerfLink(program, perfFd, target, label, cookie);
  } finally {
    native.close(perfFd);
  }
}

/**
 * Whether a failed BPF_LINK_CREATE on a perf event says "this kernel has no
 * perf event links": before 5.15 attach type BPF_PERF_EVENT is unknown
 * (EINVAL; before 5.7 the command itself is), and a bpf_attr longer than
 * the kernel knows with non-zero bytes past its end is E2BIG. A 5.15 or
 * later kernel has them, so its EINVAL is about the program or the event.
 */
function noPerfLinks(err: unknown, release: string = os.release()): err is BpfError {
  return (
    err instanceof BpfError &&
    (err.errno === Errno.EINVAL || err.errno === Errno.EOPNOTSUPP || err.errno === Errno.E2BIG) &&
    !kernelReleaseAtLeast(release, 5, 15)
  );
}

/** How {@link attachPerfEventFd} attaches: `'auto'` (a link, else ioctl) or `'ioctl'` only. */
export type PerfAttachMethod = 'auto' | 'ioctl';

/**
 * Attaches `program` to the perf event `perfFd`, taking ownership of the
 * fd: a perf event link ({@link linkPerfEvent}) where the kernel has them
 * (5.15), else — when BPF_LINK_CREATE answers as a kernel without perf
 * links does — PERF_EVENT_IOC_SET_BPF and PERF_EVENT_IOC_ENABLE on the
 * event, held by a {@link PerfEventAttachment}. A cookie needs the link:
 * with one, the link's error stands.
 *
 * @example
 * import { PERF_FLAG_FD_CLOEXEC, PerfType, perfEventOpen } from '@bpfkit/syscalls';
 * declare const tracepointId: number; // from events/sched/sched_process_exec/id
 * const perfFd = perfEventOpen({ type: PerfType.PERF_TYPE_TRACEPOINT, config: tracepointId }, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
 * using link = attachPerfEventFd(prog, perfFd, { kind: 'tracepoint', group: 'sched', name: 'sched_process_exec' }, 'exec tracepoint');
 */
export function attachPerfEventFd(
  program: Program,
  perfFd: number,
  target: AttachTarget,
  label: string,
  cookie?: bigint,
  method: PerfAttachMethod = 'auto',
): KernelLink | PerfEventAttachment {
  if (method === 'auto') {
    let link: KernelLink;
    try {
      link = createPerfLink(program, perfFd, target, label, cookie);
    } catch (err) {
      if (noPerfLinks(err) && cookie === undefined) return ioctlAttach(program, perfFd, target, label, err);
      native.close(perfFd);
      if (noPerfLinks(err)) {
        throw new BpfError(err.errno, {
          syscall: 'bpf',
          command: 'BPF_LINK_CREATE',
          subject: label,
          hint: 'a cookie (bpf_get_attach_cookie) needs a perf event link (Linux 5.15); on older kernels attach without one',
        });
      }
      throw err;
    }
    native.close(perfFd);
    return link;
  }
  if (cookie !== undefined) {
    native.close(perfFd);
    throw new NotSupportedError('cookies on perf events attached by ioctl', '5.15', 'a cookie needs a perf event link');
  }
  return ioctlAttach(program, perfFd, target, label);
}

/** PERF_EVENT_IOC_SET_BPF then ENABLE on `perfFd` (owned: closed on failure). */
function ioctlAttach(program: Program, perfFd: number, target: AttachTarget, label: string, linkError?: unknown): PerfEventAttachment {
  let request = 'PERF_EVENT_IOC_SET_BPF';
  let r = native.ioctl(perfFd, PERF_EVENT_IOC_SET_BPF, program.fd);
  if (r >= 0) {
    request = 'PERF_EVENT_IOC_ENABLE';
    r = native.ioctl(perfFd, PERF_EVENT_IOC_ENABLE, 0);
  }
  if (r < 0) {
    native.close(perfFd);
    throw new BpfError(-r, {
      syscall: 'ioctl',
      command: request,
      subject: label,
      hint:
        linkError instanceof Error
          ? `BPF_LINK_CREATE had failed first (${linkError.message}); the program type may not fit the event (kprobe programs for kprobes and uprobes, tracepoint programs for tracepoints)`
          : 'the program type may not fit the event (kprobe programs for kprobes and uprobes, tracepoint programs for tracepoints)',
    });
  }
  let progId = 0;
  try {
    progId = program.info().id;
  } catch {
    // An id is for info() only: without one the attachment stands.
  }
  return new PerfEventAttachment(perfFd, target, label, progId);
}

/**
 * A program set on a perf event with PERF_EVENT_IOC_SET_BPF: what kernels
 * without perf event links (before 5.15) attach kprobes, uprobes and
 * tracepoints with. Closing it disables and closes the event, which
 * detaches the program. It is no BPF link: it cannot be pinned, and
 * `update` is refused (a perf event takes its program once).
 *
 * @example
 * declare const perfFd: number; // a kprobe, uprobe or tracepoint perf event
 * using a = attachPerfEventFd(prog, perfFd, { kind: 'tracepoint', group: 'sched', name: 'sched_switch' }, 'probe', undefined, 'ioctl');
 * a.info(); // { kind: 'perf_event', progId }
 */
export class PerfEventAttachment extends OwnedHandle implements Link {
  readonly target: AttachTarget;
  /** The perf event fd that holds the program. */
  readonly fd: number;
  readonly #progId: number;

  /** Takes ownership of `perfFd`, an enabled perf event with a program set. */
  constructor(perfFd: number, target: AttachTarget, label: string, progId: number) {
    super(label, () => {
      native.ioctl(perfFd, PERF_EVENT_IOC_DISABLE, 0);
      native.close(perfFd);
    });
    this.fd = perfFd;
    this.target = target;
    this.#progId = progId;
  }

  info(): LinkInfo {
    this.assertOpen();
    return { kind: 'perf_event', progId: this.#progId };
  }

  update(_program: Program): never {
    this.assertOpen();
    throw new NotSupportedError(
      `replacing the program of ${this.label}`,
      '5.15',
      'a perf event attached by PERF_EVENT_IOC_SET_BPF keeps its program; close this and attach the new one',
    );
  }

  pin(_path: string): never {
    this.assertOpen();
    throw new NotSupportedError(
      `pinning ${this.label}`,
      '5.15',
      'a program set on a perf event by ioctl is no BPF link; kernels with perf event links pin them',
    );
  }

  unpin(): never {
    this.assertOpen();
    throw new InvalidArgumentError(`${this.label}: unpin`, 'a pinned link (an ioctl attachment has no pin)', 'an ioctl attachment');
  }

  /** Detaches the program: disables and closes the perf event. */
  detach(): void {
    this.assertOpen();
    this.close();
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
    throw new NotSupportedError(
      `attaching ${name}s through the ${name} PMU`,
      '4.17',
      `this kernel has no ${dir} (built without ${config})`,
    );
  }
  // format/retprobe reads "config:<bit>" (bit 0 on every kernel so far).
  const format = /config:(\d+)/.exec(fs.existsSync(`${dir}/format/retprobe`) ? fs.readFileSync(`${dir}/format/retprobe`, 'utf8') : '');
  return { type: Number.parseInt(type.trim(), 10), retprobeBit: format ? Number(format[1]) : 0 };
}
