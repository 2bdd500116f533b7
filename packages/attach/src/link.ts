import { BpfError, Errno, InvalidArgumentError, OwnedHandle } from '@bpfkit/core';
import type { AttachTarget, Link, Program } from '@bpfkit/core';
import { bpfObjectKind, linkDetach, linkInfoByFd, linkUpdate, native, objGet, readEachById } from '@bpfkit/syscalls';
import type { BpfLinkInfo } from '@bpfkit/syscalls';
import { OwnPin } from './own-pin.js';

/**
 * A BPF link on the kernel (`bpf_link`): detach, pin, update, info.
 *
 * @example
 * using link = attachProgram(prog, { kind: 'raw_tracepoint', name: 'sched_process_exec' });
 * link.info().progId; // the id of `prog`
 */
export class KernelLink extends OwnedHandle implements Link {
  readonly fd: number;
  readonly target: AttachTarget;
  readonly #pin = new OwnPin();

  /** Takes ownership of `fd`, a link file descriptor. */
  constructor(fd: number, target: AttachTarget, label = `${target.kind} link`) {
    super(label, () => native.close(fd));
    this.fd = fd;
    this.target = target;
  }

  /** The kernel's `struct bpf_link_info`: type, id, program id and what the link is attached to. */
  info(): BpfLinkInfo {
    this.assertOpen();
    return linkInfoByFd(this.fd, undefined, { subject: this.label });
  }

  /** Replaces the attached program in place (BPF_LINK_UPDATE), where the link type allows it. */
  update(program: Program): void {
    this.assertOpen();
    if (program.closed || program.fd < 0) throw new InvalidArgumentError(`${this.label}: update`, 'an open kernel program', program.name);
    linkUpdate({ linkFd: this.fd, newProgFd: program.fd }, { subject: this.label });
  }

  /**
   * Detaches the program now. Links the kernel can detach in place
   * (BPF_LINK_DETACH, 5.9: cgroup, netns, xdp, tcx, netfilter, …) stay open
   * and pinned but inert; the others (raw tracepoint, tracing, perf event,
   * iterator links answer EOPNOTSUPP) detach when their last reference
   * goes, so this closes the handle — unless this handle pinned the link,
   * which then must be unpinned first.
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
          `an unpinned link (this kind detaches only when its last reference goes; unpin '${this.#pin.path}' first)`,
          'a pinned link',
        );
      }
      this.close();
    }
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
