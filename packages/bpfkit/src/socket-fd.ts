/**
 * The file descriptor behind a Node socket, for the socket hooks
 * (`{ kind: 'socket', fd }`, `{ kind: 'reuseport', fd }`).
 *
 * @module
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { InvalidArgumentError } from '@bpfkit/core';

/** A Node handle's file descriptor (libuv answers -1 or a negative errno where it has none). */
interface HandleWithFd {
  fd?: unknown;
}

/**
 * The file descriptor of a Node `dgram.Socket` (once bound), `net.Socket`
 * (once connected) or `net.Server` (once listening), to attach socket
 * filters and reuseport programs to. The fd stays Node's: close the socket
 * through Node, which also drops any filter on it.
 *
 * Node creates a socket's fd lazily (a `dgram.Socket` at `bind()`, a
 * `net.Socket` while connecting), so this throws InvalidArgumentError
 * until then, and on a platform or runtime whose handles have no fd.
 *
 * @example
 * import dgram from 'node:dgram';
 * const udp = dgram.createSocket('udp4');
 * udp.bind(0, '127.0.0.1', () => {
 *   const filter = prog.attach({ kind: 'socket', fd: socketFd(udp) });
 * });
 */
export function socketFd(socket: dgram.Socket | net.Socket | net.Server): number {
  let handle: HandleWithFd | null | undefined;
  let when: string;
  if (socket instanceof dgram.Socket) {
    handle = dgramHandle(socket);
    when = 'a bound dgram socket (after bind() called back)';
  } else if (socket instanceof net.Socket) {
    handle = (socket as unknown as { _handle?: HandleWithFd | null })._handle;
    when = 'a connected net.Socket';
  } else if (socket instanceof net.Server) {
    handle = (socket as unknown as { _handle?: HandleWithFd | null })._handle;
    when = 'a listening net.Server';
  } else {
    throw new InvalidArgumentError('socket', 'a dgram.Socket, net.Socket or net.Server', socket);
  }
  if (handle === null || handle === undefined) throw new InvalidArgumentError('socket', when, 'no handle (not yet, or closed)');
  const fd = handle.fd;
  if (typeof fd !== 'number')
    throw new InvalidArgumentError('socket', `${when}, on a runtime and platform whose handles expose their fd`, 'a handle without an fd');
  if (fd < 0) throw new InvalidArgumentError('socket', when, `no file descriptor yet (fd ${fd})`);
  return fd;
}

/**
 * A dgram socket's handle. Node keeps it in a symbol-keyed state object;
 * `_handle` would return it too but prints a deprecation warning (DEP0112).
 */
function dgramHandle(socket: dgram.Socket): HandleWithFd | null | undefined {
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  if (state !== undefined) {
    const value = (socket as unknown as Record<symbol, { handle?: HandleWithFd | null } | undefined>)[state];
    if (value && 'handle' in value) return value.handle;
  }
  return (socket as unknown as { _handle?: HandleWithFd | null })._handle;
}
