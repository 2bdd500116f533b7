import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { InvalidArgumentError, ProgramType } from '@bpfkit/core';
import { loadKernelProgram } from '@bpfkit/attach';
import { assemble } from '@bpfkit/elf';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import { socketFd } from './index.js';

const isSocket = (fd: number) => fs.fstatSync(fd).isSocket();
const once = <T>(register: (resolve: (value: T) => void) => void) => new Promise<T>(register);

describe('socketFd', () => {
  it('gives the fd of a bound dgram socket, and refuses one not bound yet or closed', async () => {
    const udp = dgram.createSocket('udp4');
    expect(() => socketFd(udp)).toThrow(/socket: expected a bound dgram socket \(after bind\(\) called back\)/);
    await once<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const fd = socketFd(udp);
    expect(isSocket(fd)).toBe(true);
    await once<void>((resolve) => udp.close(resolve));
    expect(() => socketFd(udp)).toThrow(InvalidArgumentError);
  });

  it('gives the fd of a listening net.Server and of both ends of a connection, and refuses them before', async () => {
    const server = net.createServer();
    expect(() => socketFd(server)).toThrow(/socket: expected a listening net.Server, got the string "no handle \(not yet, or closed\)"/);
    const accepted = once<net.Socket>((resolve) => server.once('connection', resolve));
    await once<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    expect(isSocket(socketFd(server))).toBe(true);
    expect(() => socketFd(new net.Socket())).toThrow(/socket: expected a connected net.Socket/);
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await once<void>((resolve) => client.once('connect', resolve));
    const peer = await accepted;
    try {
      const fds = new Set([socketFd(server), socketFd(client), socketFd(peer)]);
      expect(fds.size).toBe(3);
      for (const fd of fds) expect(isSocket(fd)).toBe(true);
    } finally {
      client.destroy();
      peer.destroy();
      await once((resolve) => server.close(resolve));
    }
  });

  it('refuses what is not a Node socket', () => {
    expect(() => socketFd({ fd: 3 } as unknown as net.Socket)).toThrow(/socket: expected a dgram.Socket, net.Socket or net.Server/);
  });
});

whenKernel('program:socket_filter').it(
  'socket: a filter attached through socketFd() keeps from a Node dgram socket what it drops',
  async () => {
    const LE = os.endianness() === 'LE';
    // skb->len (UDP header included) under 64 bytes: keep all of it; else keep nothing.
    using filter = loadKernelProgram({
      name: 'short_only',
      type: ProgramType.SOCKET_FILTER,
      license: 'GPL',
      instructions: assemble('ldxw %r2, [%r1+0]\nmov %r0, 0\njge %r2, 64, out\nmov %r0, -1\nout:\nexit', LE),
    });
    const udp = dgram.createSocket('udp4');
    const got: number[] = [];
    udp.on('message', (m) => got.push(m.length));
    await once<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const sender = dgram.createSocket('udp4');
    const send = (size: number) =>
      once<void>((resolve) => sender.send(Buffer.alloc(size), udp.address().port, '127.0.0.1', () => resolve()));
    try {
      {
        using link = filter.attach({ kind: 'socket', fd: socketFd(udp) });
        expect(link.info()).toMatchObject({ kind: 'socket', progId: filter.info().id });
        for (const size of [200, 16, 200, 16]) await send(size);
        await until(() => got.length >= 2);
        expect(got).toEqual([16, 16]);
      }
      for (const size of [200, 16]) await send(size);
      await until(() => got.length >= 4);
      expect(got).toEqual([16, 16, 200, 16]);
    } finally {
      sender.close();
      udp.close();
    }
  },
);

async function until(done: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}
