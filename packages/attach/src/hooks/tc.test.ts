import { InvalidArgumentError, NotSupportedError, ProgramType, TcAction } from '@bpfkit/core';
import type { Link, Program } from '@bpfkit/core';
import { networkFixtureUnavailable, vethPair, whenKernel } from '@bpfkit/syscalls/testing';
import type { VethPair } from '@bpfkit/syscalls/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachProgram } from '../attach-program.js';
import { queryTcx } from './tcx.js';
import { loadKernelProgram } from '../program.js';
import { counters, packetProgram, ticketProgram } from '../test-support/packet-programs.js';
import { sendUdp } from '../test-support/traffic.js';

const UDP = 17;
const PORT = 40_123;
const SENT = 25;
/** tcx: TC_ACT_UNSPEC (-1) is TCX_NEXT, run the next program. */
const TCX_NEXT = -1;

function udpCounter(mapFd: number, verdict: number = TcAction.OK, name = 'tc_count'): Program {
  return loadKernelProgram({
    name,
    type: ProgramType.SCHED_CLS,
    license: 'GPL',
    instructions: packetProgram({ ctx: 'skb', protocol: UDP, port: PORT, mapFd, match: verdict, otherwise: verdict }),
  });
}

const qdiscs = (net: VethPair, side: 'a' | 'b') => net.exec(side, 'tc', ['qdisc', 'show', 'dev', net[side].name]).stdout;
const filters = (net: VethPair, side: 'a' | 'b', dir: string) =>
  net.exec(side, 'tc', ['filter', 'show', 'dev', net[side].name, dir]).stdout;

const gate = whenKernel('program:sched_cls').unless(networkFixtureUnavailable());

gate.describe('tc (clsact + cls_bpf) on a veth pair in test namespaces', () => {
  let net: VethPair;
  beforeAll(() => {
    net = vethPair();
  });
  afterAll(() => net?.close());

  it('tc: ingress and egress counters match the datagrams sent; the clsact qdisc bpfkit made goes with its last filter', () => {
    using inCount = counters();
    using outCount = counters();
    using inProg = udpCounter(inCount.fd, TcAction.OK, 'tc_in');
    using outProg = udpCounter(outCount.fd, TcAction.OK, 'tc_out');
    expect(qdiscs(net, 'b')).not.toMatch(/clsact/);
    const ingress = attachProgram(inProg, { kind: 'tc', interface: net.b.name, direction: 'ingress', netns: net.b.netns });
    const egress = attachProgram(outProg, { kind: 'tc', interface: net.a.name, direction: 'egress', netns: net.a.netns });
    try {
      expect(qdiscs(net, 'b')).toMatch(/clsact/);
      expect(filters(net, 'b', 'ingress')).toMatch(/bpf.*tc_in.*direct-action/s);
      expect(ingress.info()).toMatchObject({ kind: 'tc', direction: 'ingress', progId: inProg.info().id });
      sendUdp(net, 'a', net.b.address, PORT, SENT);
      expect(inCount.read()).toBe(BigInt(SENT));
      expect(outCount.read()).toBe(BigInt(SENT));
    } finally {
      ingress.close();
      egress.close();
    }
    expect(filters(net, 'b', 'ingress')).toBe('');
    expect(qdiscs(net, 'b')).not.toMatch(/clsact/);
    expect(qdiscs(net, 'a')).not.toMatch(/clsact/);
    sendUdp(net, 'a', net.b.address, PORT, 3);
    expect(inCount.read()).toBe(BigInt(SENT));
  });

  it('tc: priority and handle as asked; EEXIST without replace; replace and update() swap the program; a qdisc that was there stays', () => {
    expect(net.exec('b', 'tc', ['qdisc', 'add', 'dev', net.b.name, 'clsact']).status).toBe(0);
    try {
      using count = counters();
      using pass = udpCounter(count.fd, TcAction.OK, 'tc_pass');
      using drop = udpCounter(count.fd, TcAction.SHOT, 'tc_drop');
      const where = { kind: 'tc', interface: net.b.name, direction: 'ingress', priority: 7, handle: 3, netns: net.b.netns } as const;
      const link = attachProgram(pass, where);
      expect(link.info()).toMatchObject({ priority: 7, handle: 3 });
      // A cls_bpf filter is not a BPF link: no pin.
      expect(() => link.pin('/sys/fs/bpf/bpfkit-never')).toThrow(NotSupportedError);
      expect(filters(net, 'b', 'ingress')).toMatch(/pref 7 bpf.*handle 0x3/s);
      expect(() => attachProgram(drop, where)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
      const replaced = attachProgram(drop, { ...where, replace: true });
      expect(filters(net, 'b', 'ingress')).toMatch(/tc_drop/);
      // The first handle's program is no longer in the filter: closing it leaves the filter alone.
      link.close();
      expect(filters(net, 'b', 'ingress')).toMatch(/tc_drop/);
      replaced.update(pass);
      expect(filters(net, 'b', 'ingress')).toMatch(/tc_pass/);
      replaced.close();
      expect(filters(net, 'b', 'ingress')).toBe('');
      // bpfkit did not create this qdisc: it stays.
      expect(qdiscs(net, 'b')).toMatch(/clsact/);
    } finally {
      net.exec('b', 'tc', ['qdisc', 'del', 'dev', net.b.name, 'clsact']);
    }
  });

  it('tc: a failed attach removes the clsact qdisc it created', () => {
    // A "program" whose fd is not a BPF program: the kernel refuses the filter after the qdisc exists.
    const notAProgram = { name: 'bogus', type: ProgramType.SCHED_CLS, fd: 0, closed: false } as unknown as Program;
    expect(() => attachProgram(notAProgram, { kind: 'tc', interface: net.b.name, direction: 'egress', netns: net.b.netns })).toThrow();
    expect(qdiscs(net, 'b')).not.toMatch(/clsact/);
  });

  it('tc: two filters share the qdisc bpfkit made; it goes only when both are gone', () => {
    using count = counters();
    using prog = udpCounter(count.fd);
    const one = attachProgram(prog, { kind: 'tc', interface: net.b.name, direction: 'ingress', netns: net.b.netns });
    const two = attachProgram(prog, { kind: 'tc', interface: net.b.name, direction: 'egress', netns: net.b.netns });
    one.close();
    expect(qdiscs(net, 'b')).toMatch(/clsact/);
    two.close();
    expect(qdiscs(net, 'b')).not.toMatch(/clsact/);
  });
});

const tcx = whenKernel('program:sched_cls', 'link:tcx').unless(networkFixtureUnavailable());

tcx.describe('tcx on a veth pair in test namespaces', () => {
  let net: VethPair;
  beforeAll(() => {
    net = vethPair();
  });
  afterAll(() => net?.close());

  it('tcx: ingress and egress counters match the datagrams sent; closing the links detaches them', () => {
    using inCount = counters();
    using outCount = counters();
    using inProg = udpCounter(inCount.fd, TCX_NEXT, 'tcx_in');
    using outProg = udpCounter(outCount.fd, TCX_NEXT, 'tcx_out');
    const ingress = attachProgram(inProg, { kind: 'tcx', interface: net.b.name, direction: 'ingress', netns: net.b.netns });
    const egress = attachProgram(outProg, { kind: 'tcx', interface: net.a.ifindex, direction: 'egress', netns: net.a.netns });
    try {
      expect(ingress.info()).toMatchObject({ kind: 'tcx', progId: inProg.info().id, tcx: { ifindex: net.b.ifindex } });
      sendUdp(net, 'a', net.b.address, PORT, SENT);
      expect(inCount.read()).toBe(BigInt(SENT));
      expect(outCount.read()).toBe(BigInt(SENT));
    } finally {
      ingress.close();
      egress.close();
    }
    sendUdp(net, 'a', net.b.address, PORT, 3);
    expect(inCount.read()).toBe(BigInt(SENT));
    // tcx needs no qdisc.
    expect(qdiscs(net, 'b')).not.toMatch(/clsact/);
  });

  it('tcx: programs run in the stated order (appended, before all, after a given link)', () => {
    using tickets = counters(4);
    using first = loadKernelProgram({
      name: 'tcx_a',
      type: ProgramType.SCHED_CLS,
      license: 'GPL',
      instructions: ticketProgram(tickets.fd, 1, TCX_NEXT),
    });
    using second = loadKernelProgram({
      name: 'tcx_b',
      type: ProgramType.SCHED_CLS,
      license: 'GPL',
      instructions: ticketProgram(tickets.fd, 2, TCX_NEXT),
    });
    using third = loadKernelProgram({
      name: 'tcx_c',
      type: ProgramType.SCHED_CLS,
      license: 'GPL',
      instructions: ticketProgram(tickets.fd, 3, TCX_NEXT),
    });
    const where = { kind: 'tcx', interface: net.b.name, direction: 'ingress', netns: net.b.netns } as const;
    const links: Link[] = [];
    try {
      links.push(attachProgram(first, where)); // a
      links.push(attachProgram(second, where)); // a, b (appended)
      links.push(attachProgram(third, { ...where, before: 'all' })); // c, a, b
      sendUdp(net, 'a', net.b.address, PORT, 1);
      const order = () => [1, 2, 3].sort((x, y) => Number(tickets.read(x) - tickets.read(y)));
      expect(order()).toEqual([3, 1, 2]);
      // The kernel lists them in the same order, with their links and the hook's revision.
      const state = queryTcx({ interface: net.b.name, direction: 'ingress', netns: net.b.netns });
      expect(state.programs).toEqual([third, first, second].map((p) => p.info().id));
      expect(state.links).toEqual([links[2], links[0], links[1]].map((l) => l?.info().id));
      // An attach that expects a stale revision is refused (ESTALE); the current one goes through.
      using count = counters();
      using extra = udpCounter(count.fd, TCX_NEXT, 'tcx_extra');
      expect(() => attachProgram(extra, { ...where, expectedRevision: state.revision - 1n })).toThrow(
        expect.objectContaining({ code: 'ESTALE' }),
      );
      attachProgram(extra, { ...where, expectedRevision: state.revision }).close();
      // Move c after b: detach it and attach after b's link.
      links.pop()?.close();
      links.push(attachProgram(third, { ...where, after: links[1] as Link & { fd: number } }));
      sendUdp(net, 'a', net.b.address, PORT, 1);
      expect(order()).toEqual([1, 2, 3]);
      // Before a program (not a link): c before a.
      links.pop()?.close();
      links.push(attachProgram(third, { ...where, before: first }));
      sendUdp(net, 'a', net.b.address, PORT, 1);
      expect(order()).toEqual([3, 1, 2]);
    } finally {
      for (const l of links) l.close();
    }
  });
});

describe('tc and tcx refusals', () => {
  const fake = (type: number) => ({ name: 'p', type, fd: 3, closed: false }) as unknown as Program;
  it('tc: refuses a non-classifier, a bad direction, priority or handle, and replace without a filter to replace', () => {
    expect(() => attachProgram(fake(ProgramType.XDP), { kind: 'tc', interface: 'x', direction: 'ingress' })).toThrow(/SCHED_CLS/);
    expect(() => attachProgram(fake(ProgramType.SCHED_CLS), { kind: 'tc', interface: 'x', direction: 'in' as 'ingress' })).toThrow(
      InvalidArgumentError,
    );
    expect(() => attachProgram(fake(ProgramType.SCHED_CLS), { kind: 'tc', interface: 'x', direction: 'ingress', priority: 0 })).toThrow(
      /1 to 65535/,
    );
    expect(() => attachProgram(fake(ProgramType.SCHED_CLS), { kind: 'tc', interface: 'x', direction: 'ingress', handle: -1 })).toThrow(
      /handle/,
    );
    expect(() => attachProgram(fake(ProgramType.SCHED_CLS), { kind: 'tc', interface: 'x', direction: 'ingress', replace: true })).toThrow(
      /priority and a handle/,
    );
  });
  it('tcx: refuses before and after together, and an anchor that is not an open program or link', () => {
    expect(() =>
      attachProgram(fake(ProgramType.SCHED_CLS), { kind: 'tcx', interface: 'x', direction: 'ingress', before: 'all', after: 'all' }),
    ).toThrow(/either before or after/);
    expect(() =>
      attachProgram(fake(ProgramType.SCHED_CLS), {
        kind: 'tcx',
        interface: 'x',
        direction: 'ingress',
        before: { closed: true } as unknown as Program,
      }),
    ).toThrow(/open program or link/);
  });
});
