/**
 * Typed wrappers for setsockopt(2) and getsockopt(2): socket filters and
 * reuseport programs attach through socket options, not bpf().
 *
 * @module
 */
import { BpfError } from '@bpfkit/core';
import { native } from '../native.js';
import type { BpfCallContext } from './call.js';

/** What a caller can add to the error of a failed socket option call. */
export interface SocketOptionContext extends BpfCallContext {
  /** The option's name (`'SO_ATTACH_BPF'`), shown as the command in the error. */
  optionName?: string;
}

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A C `int` in host byte order. */
function intBytes(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, value, HOST_LE);
  return bytes;
}

/**
 * setsockopt(2) with `value` as the option bytes, or a number passed as a C
 * `int` (4 bytes, host byte order).
 *
 * @throws BpfError with `syscall: 'setsockopt'` and the option name as its command
 * @example
 * declare const sock: number; // a socket's fd
 * setSocketOption(sock, native.constants.SOL_SOCKET!, native.constants.SO_ATTACH_BPF!, progFd, { optionName: 'SO_ATTACH_BPF' });
 */
export function setSocketOption(
  fd: number,
  level: number,
  option: number,
  value: Uint8Array | number,
  ctx: SocketOptionContext = {},
): void {
  const bytes = typeof value === 'number' ? intBytes(value) : value;
  const r = native.setsockopt(fd, level, option, bytes);
  if (r < 0) throw new BpfError(-r, { syscall: 'setsockopt', command: ctx.optionName, subject: ctx.subject, hint: ctx.hint });
}

/**
 * getsockopt(2) of an `int` option (SO_TYPE, SO_DOMAIN, SO_PROTOCOL, …).
 *
 * @throws BpfError with `syscall: 'getsockopt'` (ENOTSOCK when `fd` is not a socket, EBADF when it is not open)
 * @example
 * declare const sock: number; // a socket's fd
 * const type = getSocketOptionInt(sock, native.constants.SOL_SOCKET!, native.constants.SO_TYPE!); // SOCK_DGRAM = 2
 */
export function getSocketOptionInt(fd: number, level: number, option: number, ctx: SocketOptionContext = {}): number {
  const bytes = new Uint8Array(4);
  const r = native.getsockopt(fd, level, option, bytes);
  if (r < 0) throw new BpfError(-r, { syscall: 'getsockopt', command: ctx.optionName, subject: ctx.subject, hint: ctx.hint });
  return new DataView(bytes.buffer).getInt32(0, HOST_LE);
}
