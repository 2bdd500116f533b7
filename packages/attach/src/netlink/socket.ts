/**
 * An rtnetlink socket that sends one request at a time and collects its
 * answer: the echoed or dumped messages, then the ack or the error.
 *
 * @module
 */
import { BpfError, Errno } from '@bpfkit/core';
import { native } from '@bpfkit/syscalls';
import { decodeError, decodeMessages, encodeMessage, Nl, RTM_NAMES } from './message.js';
import type { Attr, Message } from './message.js';

const RECV_BUFFER = 256 * 1024;

/**
 * A NETLINK_ROUTE socket of the network namespace the thread is in when it
 * is opened (it stays bound to that namespace).
 *
 * @example
 * import { ifinfomsg, Nl } from './message.js';
 * using rtnl = RtnlSocket.open();
 * const links = rtnl.request(Nl.RTM_GETLINK, Nl.NLM_F_DUMP, ifinfomsg(0));
 */
export class RtnlSocket implements Disposable {
  readonly #fd: number;
  #seq = 1;
  #closed = false;
  readonly #buffer = new Uint8Array(RECV_BUFFER);

  private constructor(fd: number) {
    this.#fd = fd;
  }

  static open(): RtnlSocket {
    const c = native.constants;
    const fd = native.netlinkOpen(c.NETLINK_ROUTE ?? 0);
    if (fd < 0) throw new BpfError(-fd, { syscall: 'socket', subject: 'open an rtnetlink socket' });
    const on = new Uint8Array([1, 0, 0, 0]);
    // Extended acks (4.12) carry the reason of a refusal ("Exclusivity flag on, cannot modify"); capped acks leave the request out.
    native.setsockopt(fd, c.SOL_NETLINK ?? 270, c.NETLINK_EXT_ACK ?? 11, on);
    native.setsockopt(fd, c.SOL_NETLINK ?? 270, 10 /* NETLINK_CAP_ACK */, on);
    return new RtnlSocket(fd);
  }

  /**
   * Sends a request (NLM_F_REQUEST | NLM_F_ACK added) and returns the
   * messages that answered it before the ack or NLMSG_DONE. A refusal
   * throws a BpfError with the errno and the kernel's extended-ack text.
   */
  request(type: number, flags: number, header: Uint8Array, attrs: readonly Attr[] = [], subject?: string): Message[] {
    if (this.#closed) throw new Error('RtnlSocket: closed');
    const seq = this.#seq++;
    const command = RTM_NAMES[type] ?? `netlink message ${type}`;
    const sent = native.send(this.#fd, encodeMessage(type, flags | Nl.NLM_F_REQUEST | Nl.NLM_F_ACK, seq, header, attrs), 0);
    if (sent < 0) throw new BpfError(-sent, { syscall: 'netlink', command, subject });
    const replies: Message[] = [];
    const dump = (flags & Nl.NLM_F_DUMP) === Nl.NLM_F_DUMP;
    for (;;) {
      const n = native.recv(this.#fd, this.#buffer, 0);
      if (n < 0) throw new BpfError(-n, { syscall: 'netlink', command, subject });
      for (const m of decodeMessages(this.#buffer.subarray(0, Math.min(n, this.#buffer.byteLength)))) {
        if (m.seq !== seq) continue; // a stale answer to an earlier request
        if (m.type === Nl.NLMSG_ERROR) {
          const { errno, message } = decodeError(m);
          if (errno === 0) return replies;
          throw new BpfError(errno, { syscall: 'netlink', command, subject, ...(message ? { hint: message } : {}) });
        }
        if (m.type === Nl.NLMSG_DONE) {
          // A dump's end carries its own error (an int, 0 when it went through).
          const { errno, message } = decodeError({ ...m, flags: 0 });
          if (errno > 0) throw new BpfError(errno, { syscall: 'netlink', command, subject, ...(message ? { hint: message } : {}) });
          if (dump) return replies;
          continue;
        }
        replies.push({ ...m, payload: m.payload.slice() });
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.close(this.#fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Runs `fn` with an rtnetlink socket of the thread's current namespace, closed after. */
export function withRtnl<T>(fn: (rtnl: RtnlSocket) => T): T {
  using rtnl = RtnlSocket.open();
  return fn(rtnl);
}

/** Whether `err` is a netlink refusal with `errno`. */
export const isErrno = (err: unknown, errno: number): boolean => err instanceof BpfError && err.errno === errno;
export { Errno };
