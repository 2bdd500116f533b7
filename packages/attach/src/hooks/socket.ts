/**
 * Socket filters (SO_ATTACH_BPF) and reuseport select programs
 * (SO_ATTACH_REUSEPORT_EBPF): socket options, not BPF links.
 *
 * @module
 */
import fs from 'node:fs';
import { Errno, InvalidArgumentError, NotSupportedError, OwnedHandle, ProgramType } from '@bpfkit/core';
import type { Link, LinkInfo, Program, ReuseportTarget, SocketFilterTarget } from '@bpfkit/core';
import { getSocketOptionInt, native, setSocketOption } from '@bpfkit/syscalls';
import { expectProgramType, isErrno, notPinnable } from './attachment.js';

const c = native.constants;
const SOL_SOCKET = c.SOL_SOCKET ?? 1;
const SO_TYPE = c.SO_TYPE ?? 3;
const SO_REUSEPORT = c.SO_REUSEPORT ?? 15;
const SO_ATTACH_BPF = c.SO_ATTACH_BPF ?? 50;
const SO_DETACH_BPF = c.SO_DETACH_BPF ?? 27;
const SO_ATTACH_REUSEPORT_EBPF = c.SO_ATTACH_REUSEPORT_EBPF ?? 52;
const SO_DETACH_REUSEPORT_BPF = c.SO_DETACH_REUSEPORT_BPF ?? 68;

/** The two socket hooks: what each takes and which options attach and detach. */
const HOOKS = {
  socket: {
    programTypes: [ProgramType.SOCKET_FILTER],
    attach: ['SO_ATTACH_BPF', SO_ATTACH_BPF],
    detach: ['SO_DETACH_BPF', SO_DETACH_BPF],
    what: 'a socket filter',
  },
  reuseport: {
    // The kernel takes a classic socket filter here too: its return value indexes the group's sockets.
    programTypes: [ProgramType.SK_REUSEPORT, ProgramType.SOCKET_FILTER],
    attach: ['SO_ATTACH_REUSEPORT_EBPF', SO_ATTACH_REUSEPORT_EBPF],
    detach: ['SO_DETACH_REUSEPORT_BPF', SO_DETACH_REUSEPORT_BPF],
    what: 'a reuseport select program',
  },
} as const;

type Hook = keyof typeof HOOKS;

/**
 * A socket filter on one socket (SO_ATTACH_BPF, 3.19): the program sees
 * every packet the socket receives and returns how many bytes of it to
 * keep (0 drops it). A socket holds one filter: attaching replaces the one
 * there. The attachment lasts until detached, or until the socket closes.
 */
export function attachSocketFilter(program: Program, target: SocketFilterTarget): SocketAttachment {
  return attachToSocket('socket', program, target);
}

/**
 * A reuseport group's select program (SO_ATTACH_REUSEPORT_EBPF, 4.5; SK_REUSEPORT
 * programs 4.19), given through any socket of the group (SO_REUSEPORT set
 * before bind): an SK_REUSEPORT program picks a socket with
 * bpf_sk_select_reuseport(), a socket filter returns the index of the
 * socket in the group. The program belongs to the group; detaching
 * (SO_DETACH_REUSEPORT_BPF, 5.3) goes through the socket given.
 */
export function attachReuseport(program: Program, target: ReuseportTarget): SocketAttachment {
  return attachToSocket('reuseport', program, target);
}

function attachToSocket(hook: Hook, program: Program, target: SocketFilterTarget | ReuseportTarget): SocketAttachment {
  const h = HOOKS[hook];
  expectProgramType(program, h.programTypes, `${hook} target: program`);
  const fd = target.fd;
  const label = `${hook} attachment to socket fd ${fd} of program '${program.name}'`;
  const inode = socketInode(hook, fd, label);
  if (hook === 'reuseport' && getSocketOptionInt(fd, SOL_SOCKET, SO_REUSEPORT, { optionName: 'SO_REUSEPORT', subject: label }) === 0) {
    throw new InvalidArgumentError(
      'reuseport target: fd',
      'a socket with SO_REUSEPORT set (before it was bound)',
      `fd ${fd} (SO_REUSEPORT off)`,
    );
  }
  setSocketOption(fd, SOL_SOCKET, h.attach[1], program.fd, {
    optionName: h.attach[0],
    subject: label,
    ...(hook === 'reuseport'
      ? { hint: 'the socket must be bound with SO_REUSEPORT; SK_REUSEPORT programs take TCP or UDP sockets only' }
      : {}),
  });
  return new SocketAttachment(hook, program, target, inode, label);
}

/** The inode of socket `fd`, which tells it from a later socket given the same number; refuses what is not a socket. */
function socketInode(hook: Hook, fd: number, label: string): number {
  if (!Number.isInteger(fd) || fd < 0) throw new InvalidArgumentError(`${hook} target: fd`, 'a socket file descriptor', fd);
  try {
    getSocketOptionInt(fd, SOL_SOCKET, SO_TYPE, { optionName: 'SO_TYPE', subject: label });
  } catch (err) {
    if (isErrno(err, Errno.ENOTSOCK))
      throw new InvalidArgumentError(`${hook} target: fd`, 'a socket file descriptor', `fd ${fd} (not a socket)`);
    if (isErrno(err, Errno.EBADF)) throw new InvalidArgumentError(`${hook} target: fd`, 'a socket file descriptor', `fd ${fd} (not open)`);
    throw err;
  }
  return fs.fstatSync(fd).ino;
}

/** Whether `fd` is still the socket that was given (not closed, its number not reused). */
function sameSocket(fd: number, inode: number): boolean {
  try {
    const st = fs.fstatSync(fd);
    return st.isSocket() && st.ino === inode;
  } catch {
    return false;
  }
}

/**
 * A program attached to a socket through a socket option. Not a BPF link:
 * it cannot be pinned, and the kernel keeps no id for it. Closing it (or
 * its garbage collection) detaches the program, when the socket is still
 * open and still the one given; a closed socket took its filter with it.
 *
 * @example
 * declare const udp: import('node:dgram').Socket; // bound
 * using filter = attachProgram(prog, { kind: 'socket', fd: socketFd(udp) });
 * filter.info(); // { kind: 'socket', progId: …, fd: … }
 */
export class SocketAttachment extends OwnedHandle implements Link {
  readonly target: SocketFilterTarget | ReuseportTarget;
  readonly #hook: Hook;
  readonly #state: { progId: number; fd: number; inode: number };

  /** Takes over an attachment made on `target.fd`. */
  constructor(hook: Hook, program: Program, target: SocketFilterTarget | ReuseportTarget, inode: number, label: string) {
    const state = { progId: program.info().id, fd: target.fd, inode };
    super(label, () => detachFromSocket(hook, state, label));
    this.target = target;
    this.#hook = hook;
    this.#state = state;
  }

  /** `{ kind: 'socket' | 'reuseport', progId, fd }`: no id, as this is not a BPF link. */
  info(): LinkInfo & { fd: number } {
    this.assertOpen();
    return { kind: this.#hook, progId: this.#state.progId, fd: this.#state.fd };
  }

  /** Attaches `program` instead (the option replaces the program there atomically). */
  update(program: Program): void {
    this.assertOpen();
    const h = HOOKS[this.#hook];
    expectProgramType(program, h.programTypes, `${this.label}: update`);
    if (!sameSocket(this.#state.fd, this.#state.inode))
      throw new InvalidArgumentError(`${this.label}: update`, 'the socket still open', `fd ${this.#state.fd} (closed or reused)`);
    setSocketOption(this.#state.fd, SOL_SOCKET, h.attach[1], program.fd, { optionName: h.attach[0], subject: this.label });
    this.#state.progId = program.info().id;
  }

  pin(_path: string): never {
    throw notPinnable(this.label, `${HOOKS[this.#hook].what} (a socket option)`);
  }

  unpin(): never {
    throw notPinnable(this.label, `${HOOKS[this.#hook].what} (a socket option)`, 'unpinning');
  }

  /** Detaches the program from the socket and closes this handle. */
  detach(): void {
    this.assertOpen();
    this.close();
  }
}

function detachFromSocket(hook: Hook, state: { fd: number; inode: number }, label: string): void {
  if (!sameSocket(state.fd, state.inode)) return; // the socket closed, and its program went with it
  const [name, option] = HOOKS[hook].detach;
  try {
    setSocketOption(state.fd, SOL_SOCKET, option, 0, { optionName: name, subject: `detach ${label}` });
  } catch (err) {
    // ENOENT: nothing attached any more (detached elsewhere, or the socket left its reuseport group).
    if (isErrno(err, Errno.ENOENT)) return;
    if (isErrno(err, Errno.ENOPROTOOPT))
      throw new NotSupportedError(
        'detaching a reuseport program (SO_DETACH_REUSEPORT_BPF)',
        '5.3',
        'it stays with the group until its last socket closes',
      );
    throw err;
  }
}
