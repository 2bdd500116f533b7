import { BpfError, Errno, InvalidArgumentError, OwnedHandle } from '@bpfkit/core';
import type { AttachTarget, Link, Program } from '@bpfkit/core';
import { bpfObjectKind, linkDetach, linkInfoByFd, linkUpdate, native, objGet, readEachById } from '@bpfkit/syscalls';
import type { BpfLinkInfo } from '@bpfkit/syscalls';
import { OwnPin } from './own-pin.js';

/**
 * What every handle of a kernel BPF link shares, whatever it links: its
 * fd, `info()`, in-place detach where the kernel has it, pin and unpin.
 * {@link KernelLink} (a program on a hook) and `StructOpsLink` (a
 * struct_ops map) build on it.
 *
 * @example
 * declare const link: BpfLinkHandle;
 * link.info().id;
 */
export abstract class BpfLinkHandle extends OwnedHandle {
  readonly fd: number;
  readonly #pin = new OwnPin();

  /** Takes ownership of `fd`, a link file descriptor. */
  constructor(fd: number, label: string) {
    super(label, () => native.close(fd));
    this.fd = fd;
  }

  /** The kernel's `struct bpf_link_info`: type, id, program id and what the link is attached to. */
  info(): BpfLinkInfo {
    this.assertOpen();
    return linkInfoByFd(this.fd, undefined, { subject: this.label });
  }

  /**
   * Detaches now. Links the kernel can detach in place (BPF_LINK_DETACH,
   * 5.9: cgroup, netns, xdp, tcx, netfilter, …) stay open and pinned but
   * inert; the others (raw tracepoint, tracing, perf event, iterator links
   * answer EOPNOTSUPP) detach when their last reference goes, so this
   * closes the handle — unless this handle pinned the link, which then
   * must be unpinned first.
   */
  detach(): void {
    this.assertOpen();
    try {
      linkDetach(this.fd, { subject: this.label });
    } catch (err) {
      if (!(err instanceof BpfError) || err.errno !== Errno.EOPNOTSUPP) throw err;
      if (this.#pin.path !== undefined) {
        throw new InvalidArgumentError(
          `${this.label}: detach`,
          `an unpinned link (${this.lastReferenceNote}; unpin '${this.#pin.path}' first)`,
          'a pinned link',
        );
      }
      this.close();
    }
  }

  /** How this kind of link goes away when it cannot detach in place, for the refusal to detach a pinned one. */
  protected get lastReferenceNote(): string {
    return 'this kind detaches only when its last reference goes';
  }

  /** Pins the link in bpffs so that it outlives this process. */
  pin(path: string): void {
    this.assertOpen();
    this.#pin.pin(this.label, this.fd, path);
  }

  /** Removes the pin this handle made. */
  unpin(): void {
    this.assertOpen();
    this.#pin.unpin(this.label, 'a link');
  }
}

/**
 * A BPF link on the kernel (`bpf_link`) holding a program on a hook:
 * detach, pin, update, info.
 *
 * @example
 * using link = attachProgram(prog, { kind: 'raw_tracepoint', name: 'sched_process_exec' });
 * link.info().progId; // the id of `prog`
 */
export class KernelLink extends BpfLinkHandle implements Link {
  readonly target: AttachTarget;

  /** Takes ownership of `fd`, a link file descriptor. */
  constructor(fd: number, target: AttachTarget, label = `${target.kind} link`) {
    super(fd, label);
    this.target = target;
  }

  /** Replaces the attached program in place (BPF_LINK_UPDATE), where the link type allows it. */
  update(program: Program): void {
    this.assertOpen();
    if (program.closed || program.fd < 0) throw new InvalidArgumentError(`${this.label}: update`, 'an open kernel program', program.name);
    linkUpdate({ linkFd: this.fd, newProgFd: program.fd }, { subject: this.label });
  }
}

/**
 * Opens a link pinned in bpffs; `target` describes it for the caller (the
 * kernel keeps no such description).
 *
 * @example
 * using link = openPinnedLink('/sys/fs/bpf/my_link', { kind: 'raw_tracepoint', name: 'sched_process_exec' });
 */
export function openPinnedLink(path: string, target: AttachTarget): KernelLink {
  if (typeof path !== 'string' || !path) throw new InvalidArgumentError('pinned link path', 'a path in bpffs', path);
  const fd = objGet(path, {}, { subject: `open pinned link '${path}'` });
  const kind = bpfObjectKind(fd);
  if (kind !== 'link') {
    native.close(fd);
    throw new InvalidArgumentError(`pinned link '${path}'`, 'a pinned BPF link', `a pinned ${kind ?? 'object'}`);
  }
  return new KernelLink(fd, target, `link '${path}'`);
}

/**
 * Every link on the system (walks BPF_LINK_GET_NEXT_ID; links that go away
 * meanwhile are skipped): type, id, program id and what each is attached to.
 *
 * @example
 * for (const l of listLinks()) console.log(l.id, l.kind, l.progId);
 */
export function listLinks(): BpfLinkInfo[] {
  return readEachById('link', (fd, id) => linkInfoByFd(fd, undefined, { subject: `link id ${id}` }));
}

/**
 * A link's `struct bpf_link_info` with the string the kernel gives only
 * into a buffer of the caller's: the tracepoint (raw or perf), the kernel
 * function of a kprobe, the file of a uprobe or uprobe_multi link, the
 * target of an iterator (`task`, `bpf_map_elem`, …).
 */
export type LinkDetails = BpfLinkInfo & {
  /** The tracepoint, function, file or iterator target; absent for other kinds (and when the kernel withholds it). */
  readonly targetName?: string;
};

/** A buffer for a name (tracepoint, kernel function), and one for a path (PATH_MAX). */
const NAME_BUFFER = 512;
const PATH_BUFFER = 4096;

/**
 * The details of a link: its info, then its target's name in a second
 * query (a kernel too old to report a name just leaves it out).
 *
 * @example
 * const d = linkDetails(linkFd);
 * if (d.kind === 'raw_tracepoint') console.log(d.targetName); // 'sched_switch'
 */
export function linkDetails(fd: number, subject = `link fd ${fd}`): LinkDetails {
  const info = linkInfoByFd(fd, undefined, { subject });
  const buf = (size: number) => new Uint8Array(size);
  let name: Uint8Array;
  let req: Parameters<typeof linkInfoByFd>[1];
  switch (info.kind) {
    case 'raw_tracepoint':
      name = buf(NAME_BUFFER);
      req = { rawTracepoint: { tpName: name } };
      break;
    case 'iter':
      name = buf(NAME_BUFFER);
      req = { iter: { targetName: name } };
      break;
    case 'uprobe_multi':
      name = buf(PATH_BUFFER);
      req = { uprobeMulti: { path: name } };
      break;
    case 'perf_event': {
      const pe = info.perfEvent;
      if (pe.kind === 'tracepoint') {
        name = buf(NAME_BUFFER);
        req = { perfEvent: { tracepoint: { tpName: name } } };
      } else if (pe.kind === 'kprobe') {
        name = buf(NAME_BUFFER);
        req = { perfEvent: { kprobe: { funcName: name } } };
      } else if (pe.kind === 'uprobe') {
        name = buf(PATH_BUFFER);
        req = { perfEvent: { uprobe: { fileName: name } } };
      } else return info;
      break;
    }
    default:
      return info;
  }
  let full: BpfLinkInfo;
  try {
    full = linkInfoByFd(fd, req, { subject });
  } catch (err) {
    // EINVAL/ENOSPC: a kernel that cannot report this name (or not into these buffers); the info stands without it.
    if (err instanceof BpfError && (err.errno === Errno.EINVAL || err.errno === Errno.ENOSPC)) return info;
    throw err;
  }
  const end = name.indexOf(0);
  const targetName = new TextDecoder().decode(name.subarray(0, end < 0 ? name.length : end));
  return targetName ? { ...full, targetName } : full;
}
