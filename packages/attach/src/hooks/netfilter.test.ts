import fs from 'node:fs';
import { AttachType, InvalidArgumentError, LinkType, ProgramType } from '@bpfkit/core';
import { BtfKind, parseBtf } from '@bpfkit/elf';
import { inNetns } from '@bpfkit/syscalls';
import { networkFixtureUnavailable, vethPair, whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { attachProgram } from '../attach-program.js';
import { counters, countAsm, eventually, load, udpSocket } from '../test-support/sockets.js';
import { sendUdp } from '../test-support/traffic.js';

const NF_DROP = 0;
const NF_ACCEPT = 1;
const IPPROTO_UDP = 17;
/** Netfilter programs are loaded for the one attach type they have. */
const NETFILTER_LOAD = { expectedAttachType: AttachType.NETFILTER };

const gate = whenKernel('program:netfilter', 'link:netfilter', 'kernel-btf').unless(networkFixtureUnavailable());

/** The BTF id of a kernel function (a kfunc), from the running kernel's BTF. */
function kfuncId(name: string): number {
  const id = parseBtf(fs.readFileSync('/sys/kernel/btf/vmlinux')).find(name, BtfKind.FUNC)?.id;
  if (id === undefined) throw new Error(`kernel BTF has no function ${name}`);
  return id;
}

/**
 * A netfilter program dropping UDP (and counting what it drops), accepting
 * the rest: it reads the IPv4 header's protocol through a dynptr over the
 * skb (bpf_dynptr_from_skb, a kfunc netfilter programs may call; the skb's
 * data starts at the IP header at the IPv4 hooks).
 */
function dropUdp(countsFd: number) {
  return load(
    'drop_udp',
    ProgramType.NETFILTER,
    `
      ldxdw %r1, [%r1+8]       # bpf_nf_ctx->skb
      mov %r2, 0
      mov %r3, %r10
      add %r3, -16             # struct bpf_dynptr on the stack
      call kfunc ${kfuncId('bpf_dynptr_from_skb')}
      jne %r0, 0, accept
      mov %r1, %r10
      add %r1, -24             # one byte of the header lands here
      mov %r2, 1
      mov %r3, %r10
      add %r3, -16
      mov %r4, 9               # iphdr->protocol
      mov %r5, 0
      call bpf_dynptr_read
      jne %r0, 0, accept
      ldxb %r1, [%r10-24]
      jne %r1, ${IPPROTO_UDP}, accept
      ${countAsm(countsFd, 0, 'drop')}
    drop:
      mov %r0, ${NF_DROP}
      exit
    accept:
      mov %r0, ${NF_ACCEPT}
      exit`,
    NETFILTER_LOAD,
  );
}

gate.it(
  'netfilter: a program on local_in of a test namespace drops the UDP it receives (ping still answers), until the link closes',
  async () => {
    using net = vethPair();
    using dropped = counters();
    using prog = dropUdp(dropped.fd);
    using sock = inNetns(net.b.netns, () => udpSocket({ address: net.b.address }));
    {
      using link = attachProgram(prog, { kind: 'netfilter', family: 'ipv4', hook: 'local_in', priority: -100, netns: net.b.netns });
      expect(link.info()).toMatchObject({
        kind: 'netfilter',
        type: LinkType.NETFILTER,
        progId: prog.info().id,
        netfilter: { pf: 2, hooknum: 1, priority: -100, flags: 0 },
      });
      sendUdp(net, 'a', net.b.address, sock.port, 5);
      // The sender has finished: every datagram reached the hook (the count) and none the socket.
      expect(await eventually(() => dropped.read() === 5n)).toBe(true);
      expect(sock.recv()).toEqual([]);
      expect(net.ping('a', net.b.address)).toBe(true);
    }
    sendUdp(net, 'a', net.b.address, sock.port, 5);
    const got: number[] = [];
    expect(await eventually(() => got.push(...sock.recv()) >= 5)).toBe(true);
    expect(got).toHaveLength(5);
    expect(dropped.read()).toBe(5n);
  },
);

gate.it('netfilter: defrag and ipv6 hooks attach; refuses a reserved priority, an unknown hook or family, and another program type', () => {
  using net = vethPair();
  using accept = load('accept', ProgramType.NETFILTER, `mov %r0, ${NF_ACCEPT}\nexit`, NETFILTER_LOAD);
  {
    using link = attachProgram(accept, {
      kind: 'netfilter',
      family: 'ipv6',
      hook: 'pre_routing',
      priority: 10,
      defrag: true,
      netns: net.a.netns,
    });
    expect(link.info()).toMatchObject({ netfilter: { pf: 10, hooknum: 0, priority: 10, flags: 1 } });
  }
  const base = { kind: 'netfilter', family: 'ipv4', hook: 'local_out', priority: 0, netns: net.a.netns } as const;
  expect(() => attachProgram(accept, { ...base, priority: -(2 ** 31) })).toThrow(
    /netfilter target: priority: expected an integer strictly between INT_MIN and INT_MAX/,
  );
  expect(() => attachProgram(accept, { ...base, priority: 1.5 })).toThrow(InvalidArgumentError);
  expect(() => attachProgram(accept, { ...base, hook: 'input' as 'local_in' })).toThrow(
    /netfilter target: hook: expected 'pre_routing', 'local_in'/,
  );
  expect(() => attachProgram(accept, { ...base, family: 'arp' as 'ipv4' })).toThrow(/netfilter target: family: expected 'ipv4' or 'ipv6'/);
  using socketFilter = load('pass', ProgramType.SOCKET_FILTER, 'mov %r0, 0\nexit');
  expect(() => attachProgram(socketFilter, base)).toThrow(/expected a program of type ProgramType.NETFILTER/);
});
