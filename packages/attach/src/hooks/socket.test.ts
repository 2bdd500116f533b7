import fs from 'node:fs';
import { AttachType, ClosedError, InvalidArgumentError, MapType, NotSupportedError, ProgramType } from '@bpfkit/core';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { attachProgram } from '../attach-program.js';
import { eventually, load, sendDatagrams, socketMap, udpSocket } from '../test-support/sockets.js';

/** skb->len of a UDP datagram at a socket filter counts the 8-byte UDP header. */
const LIMIT = 64;
const SHORT = 16;
const LONG = 200;

/** A socket filter keeping datagrams shorter (or, with `longOnly`, not shorter) than LIMIT bytes: it returns the bytes to keep, 0 drops. */
function lengthFilter(longOnly = false) {
  return load(
    longOnly ? 'long_only' : 'short_only',
    ProgramType.SOCKET_FILTER,
    `
      ldxw %r2, [%r1+0]        # skb->len
      mov %r0, ${longOnly ? -1 : 0}
      jge %r2, ${LIMIT}, out
      mov %r0, ${longOnly ? 0 : -1}
    out:
      exit`,
  );
}

/** Collects what `socket` receives until `count` datagrams came (or a generous deadline passed). */
async function receive(socket: ReturnType<typeof udpSocket>, count: number): Promise<number[]> {
  const got: number[] = [];
  await eventually(() => {
    got.push(...socket.recv());
    return got.length >= count;
  });
  return got;
}

const socketGate = whenKernel('program:socket_filter');

socketGate.it(
  'socket: a UDP socket receives only what its filter passes, what an update passes instead, and everything once detached',
  async () => {
    using sock = udpSocket();
    using shortOnly = lengthFilter();
    using longOnly = lengthFilter(true);
    const link = attachProgram(shortOnly, { kind: 'socket', fd: sock.fd });
    try {
      expect(link.info()).toEqual({ kind: 'socket', progId: shortOnly.info().id, fd: sock.fd });
      // The last datagram passes: once it is in, every one sent before it went through the filter.
      await sendDatagrams(sock.port, [LONG, SHORT, LONG, SHORT, SHORT]);
      expect(await receive(sock, 3)).toEqual([SHORT, SHORT, SHORT]);
      link.update(longOnly);
      expect(link.info().progId).toBe(longOnly.info().id);
      await sendDatagrams(sock.port, [SHORT, LONG, SHORT, LONG]);
      expect(await receive(sock, 2)).toEqual([LONG, LONG]);
    } finally {
      link.detach();
    }
    expect(link.closed).toBe(true);
    expect(() => link.info()).toThrow(ClosedError);
    await sendDatagrams(sock.port, [LONG, SHORT]);
    expect(await receive(sock, 2)).toEqual([LONG, SHORT]);
  },
);

socketGate.it(
  'socket: cannot be pinned; closing it after its socket closed leaves the socket now holding that fd number alone',
  async () => {
    using shortOnly = lengthFilter();
    const first = udpSocket();
    const stale = attachProgram(shortOnly, { kind: 'socket', fd: first.fd });
    expect(() => stale.pin('/sys/fs/bpf/bpfkit-never')).toThrow(NotSupportedError);
    expect(() => stale.pin('/sys/fs/bpf/bpfkit-never')).toThrow(/a socket filter \(a socket option\) is not a BPF link/);
    expect(() => stale.unpin()).toThrow(NotSupportedError);
    first.close();
    // Most often the next socket gets the same number; either way the stale handle must not touch it.
    using second = udpSocket();
    using filter = attachProgram(shortOnly, { kind: 'socket', fd: second.fd });
    stale.close();
    await sendDatagrams(second.port, [LONG, SHORT]);
    expect(await receive(second, 1)).toEqual([SHORT]);
    expect(filter.info()).toMatchObject({ fd: second.fd });
  },
);

socketGate.it('socket: refuses a program of another type, a closed program, a file that is not a socket and an fd that is not open', () => {
  using sock = udpSocket();
  using reuseport = load('pick', ProgramType.SK_REUSEPORT, 'mov %r0, 1\nexit', { expectedAttachType: AttachType.SK_REUSEPORT_SELECT });
  expect(() => attachProgram(reuseport, { kind: 'socket', fd: sock.fd })).toThrow(
    /socket target: program 'pick': expected a program of type ProgramType.SOCKET_FILTER, got the string "ProgramType.SK_REUSEPORT"/,
  );
  const closed = lengthFilter();
  closed.close();
  expect(() => attachProgram(closed, { kind: 'socket', fd: sock.fd })).toThrow(InvalidArgumentError);
  using filter = lengthFilter();
  const file = fs.openSync('/dev/null', 'r');
  try {
    expect(() => attachProgram(filter, { kind: 'socket', fd: file })).toThrow(
      /socket target: fd: expected a socket file descriptor, got .*\(not a socket\)/,
    );
  } finally {
    fs.closeSync(file);
  }
  expect(() => attachProgram(filter, { kind: 'socket', fd: 1_000_000 })).toThrow(/\(not open\)/);
  expect(() => attachProgram(filter, { kind: 'socket', fd: -1 })).toThrow(InvalidArgumentError);
});

const reuseportGate = whenKernel('program:socket_filter', 'program:sk_reuseport', 'map:reuseport_sockarray');

/** Two UDP sockets in one reuseport group on 127.0.0.1 (`a` bound first: index 0 of the group). */
function reuseportPair() {
  const a = udpSocket({ reuseport: true });
  const b = udpSocket({ reuseport: true, port: a.port });
  return {
    a,
    b,
    port: a.port,
    /** Sends `n` datagrams, each from a socket of its own (a new source port each), and counts where they land. */
    async spread(n: number): Promise<{ a: number; b: number }> {
      await sendDatagrams(a.port, Array(n).fill(SHORT), { socketEach: true });
      const got = { a: 0, b: 0 };
      await eventually(() => {
        got.a += a.recv().length;
        got.b += b.recv().length;
        return got.a + got.b >= n;
      });
      return got;
    },
    [Symbol.dispose]() {
      a.close();
      b.close();
    },
  };
}

reuseportGate.it(
  'reuseport: a socket filter picks the socket by its index in the group; an update picks the other; detached, the hash spreads them',
  async () => {
    using pair = reuseportPair();
    using second = load('pick_1', ProgramType.SOCKET_FILTER, 'mov %r0, 1\nexit');
    using first = load('pick_0', ProgramType.SOCKET_FILTER, 'mov %r0, 0\nexit');
    const link = attachProgram(second, { kind: 'reuseport', fd: pair.a.fd });
    try {
      expect(link.info()).toEqual({ kind: 'reuseport', progId: second.info().id, fd: pair.a.fd });
      expect(await pair.spread(16)).toEqual({ a: 0, b: 16 });
      link.update(first);
      expect(await pair.spread(16)).toEqual({ a: 16, b: 0 });
    } finally {
      link.close();
    }
    // Without a program the kernel hashes the source port: 32 sources all on one socket would be a 1 in 2^31 chance.
    const spread = await pair.spread(32);
    expect(spread.a).toBeGreaterThan(0);
    expect(spread.b).toBeGreaterThan(0);
  },
);

reuseportGate.it(
  'reuseport: an SK_REUSEPORT program selects a socket from a REUSEPORT_SOCKARRAY with bpf_sk_select_reuseport',
  async () => {
    using pair = reuseportPair();
    using socks = socketMap(MapType.REUSEPORT_SOCKARRAY, 2);
    socks.set(0, pair.a.fd);
    socks.set(1, pair.b.fd);
    // Drops (SK_DROP) when the selection fails, so a failure cannot hide behind the hash.
    const select = (slot: number) =>
      load(
        `select_${slot}`,
        ProgramType.SK_REUSEPORT,
        `
        mov %r6, %r1
        stw [%r10-4], ${slot}
        mov %r1, %r6
        lddw %r2, map_fd ${socks.fd}
        mov %r3, %r10
        add %r3, -4
        mov %r4, 0
        call bpf_sk_select_reuseport
        mov %r1, %r0
        mov %r0, 0
        jne %r1, 0, out
        mov %r0, 1
      out:
        exit`,
        { expectedAttachType: AttachType.SK_REUSEPORT_SELECT },
      );
    using toB = select(1);
    using toA = select(0);
    {
      using link = attachProgram(toB, { kind: 'reuseport', fd: pair.b.fd });
      expect(await pair.spread(16)).toEqual({ a: 0, b: 16 });
      link.update(toA);
      expect(await pair.spread(16)).toEqual({ a: 16, b: 0 });
    }
    const spread = await pair.spread(32);
    expect(spread.a).toBeGreaterThan(0);
    expect(spread.b).toBeGreaterThan(0);
  },
);

reuseportGate.it('reuseport: refuses a socket without SO_REUSEPORT and a program that cannot select', () => {
  using plain = udpSocket();
  using pick = load('pick_1', ProgramType.SOCKET_FILTER, 'mov %r0, 1\nexit');
  expect(() => attachProgram(pick, { kind: 'reuseport', fd: plain.fd })).toThrow(
    /reuseport target: fd: expected a socket with SO_REUSEPORT set \(before it was bound\)/,
  );
  using pair = reuseportPair();
  using xdp = load('xdp_pass', ProgramType.XDP, 'mov %r0, 2\nexit');
  expect(() => attachProgram(xdp, { kind: 'reuseport', fd: pair.a.fd })).toThrow(
    /expected a program of type ProgramType.SK_REUSEPORT or ProgramType.SOCKET_FILTER/,
  );
});
