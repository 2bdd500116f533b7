/**
 * Programs attached with BPF_PROG_ATTACH (cgroups, sockmaps): not BPF
 * links, so the attachment is undone with BPF_PROG_DETACH.
 *
 * @module
 */
import { Errno, OwnedHandle } from '@bpfkit/core';
import type { AttachTarget, Link, LinkInfo, Program } from '@bpfkit/core';
import { closeFd, progDetach } from '@bpfkit/syscalls';
import { isErrno, notPinnable, withProgramFd } from './attachment.js';

/** What a {@link ProgAttachment} tracks; its hook's functions read and update it. */
export interface ProgAttachState {
  /** The fd of what the program is attached to (cgroup directory, map), owned by the attachment. */
  readonly targetFd: number;
  readonly attachType: number;
  /** The program attached now. */
  progId: number;
}

/** What differs per hook. */
export interface ProgAttachHook<T extends AttachTarget> {
  /** `'cgroup'`, `'sockmap'`. */
  readonly kind: string;
  /** What the attachment is, in a sentence's words (for the refusal to pin). */
  readonly what: string;
  /** The extra fields of `info()`. */
  describe(state: ProgAttachState): Record<string, unknown>;
  /** Attaches `program` in place of the one there (checked and attached; the caller records its id). */
  replace(state: ProgAttachState, program: Program, label: string): void;
  /** Whether the program `state.progId` is still the one attached, when the hook's detach cannot tell by itself. */
  stillAttached?(state: ProgAttachState): boolean;
  readonly target: T;
}

/**
 * A program attached with BPF_PROG_ATTACH. It stays attached until
 * detached: by this handle's `close()`/`detach()`, or when the handle is
 * garbage-collected. Detaching removes only this handle's program (found
 * again by its id), never one that replaced it meanwhile.
 *
 * @example
 * using attachment = attachProgram(prog, { kind: 'cgroup', path: '/sys/fs/cgroup/app', attachType: AttachType.CGROUP_INET_EGRESS,
 *   method: 'attach', flags: AttachFlags.ALLOW_MULTI });
 * attachment.info(); // { kind: 'cgroup', progId: …, method: 'attach', … }
 */
export class ProgAttachment<T extends AttachTarget> extends OwnedHandle implements Link {
  readonly target: T;
  readonly #state: ProgAttachState;
  readonly #hook: ProgAttachHook<T>;

  /** Takes ownership of `state.targetFd`: closed when the attachment is. */
  constructor(hook: ProgAttachHook<T>, state: ProgAttachState, label: string) {
    super(label, () => detachProgram(hook, state, label));
    this.target = hook.target;
    this.#state = state;
    this.#hook = hook;
  }

  /** `{ kind, progId, method: 'attach', attachType, … }`: no id, as this is not a BPF link. */
  info(): LinkInfo & Record<string, unknown> {
    this.assertOpen();
    const s = this.#state;
    return { kind: this.#hook.kind, progId: s.progId, method: 'attach', attachType: s.attachType, ...this.#hook.describe(s) };
  }

  /** Replaces the attached program with `program`. */
  update(program: Program): void {
    this.assertOpen();
    this.#hook.replace(this.#state, program, this.label);
    this.#state.progId = program.info().id;
  }

  pin(_path: string): never {
    throw notPinnable(this.label, this.#hook.what);
  }

  unpin(): never {
    throw notPinnable(this.label, this.#hook.what, 'unpinning');
  }

  /** Detaches the program and closes this handle. */
  detach(): void {
    this.assertOpen();
    this.close();
  }
}

function detachProgram<T extends AttachTarget>(hook: ProgAttachHook<T>, state: ProgAttachState, label: string): void {
  try {
    if (hook.stillAttached && !hook.stillAttached(state)) return;
    withProgramFd(state.progId, (progFd) => {
      try {
        progDetach({ targetFd: state.targetFd, attachBpfFd: progFd, attachType: state.attachType }, { subject: `detach ${label}` });
      } catch (err) {
        // ENOENT: ours is no longer attached (detached or replaced elsewhere).
        if (!isErrno(err, Errno.ENOENT)) throw err;
      }
    });
  } finally {
    closeFd(state.targetFd);
  }
}
