import { BpfError, InvalidArgumentError, MapType, NotSupportedError, ProgramType, XdpAction } from '@bpfkit/core';
import type { Program } from '@bpfkit/core';
import { closeFd, inNetns, mapCreate, mapUpdateElem } from '@bpfkit/syscalls';
import { networkFixtureUnavailable, vethPair, whenKernel } from '@bpfkit/syscalls/testing';
import type { VethPair } from '@bpfkit/syscalls/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachProgram } from '../attach-program.js';
import { interfaceState } from '../netlink/interfaces.js';
import { RtnlSocket } from '../netlink/socket.js';
import { loadKernelProgram } from '../program.js';
import { assemble, counters, I, packetProgram } from '../test-support/packet-programs.js';

const ICMP = 1;

/** An XDP program dropping (or otherwise treating) ICMP and counting it. */
function icmpProgram(mapFd: number, verdict: number = XdpAction.DROP, name = 'xdp_icmp'): Program {
  return loadKernelProgram({
    name,
    type: ProgramType.XDP,
    license: 'GPL',
    instructions: packetProgram({ ctx: 'xdp', protocol: ICMP, mapFd, match: verdict, otherwise: XdpAction.PASS }),
  });
}

/** The XDP program ids on an interface of a test namespace. */
function xdpOn(net: VethPair, side: 'a' | 'b') {
  const end = net[side];
  return inNetns(end.netns, () => {
    using rtnl = RtnlSocket.open();
    return interfaceState(rtnl, end.name).xdp;
  });
}

const gate = whenKernel('program:xdp').unless(networkFixtureUnavailable({ ping: true }));

gate.describe('xdp on a veth pair in test namespaces', () => {
  let net: VethPair;
  beforeAll(() => {
    net = vethPair();
  });
  afterAll(() => net?.close());

  for (const method of ['link', 'netlink'] as const) {
    for (const mode of ['generic', 'native'] as const) {
      it(`xdp (${method}, ${mode}): dropping ICMP stops ping while attached; detach lets it through`, () => {
        using count = counters();
        using prog = icmpProgram(count.fd);
        expect(net.ping('a', net.b.address)).toBe(true);
        const link = attachProgram(prog, { kind: 'xdp', interface: net.b.name, mode, method, netns: net.b.netns });
        try {
          expect(xdpOn(net, 'b')[mode]).toBe(prog.info().id);
          expect(link.info()).toMatchObject({ kind: 'xdp', progId: prog.info().id });
          expect(net.ping('a', net.b.address)).toBe(false);
          expect(count.read()).toBeGreaterThan(0n);
        } finally {
          link.close();
        }
        expect(xdpOn(net, 'b')).toEqual({ native: 0, generic: 0, offload: 0 });
        expect(net.ping('a', net.b.address)).toBe(true);
      });
    }
  }

  it('xdp: by interface index; a link on an occupied hook is EBUSY; update() swaps the program in place', () => {
    using count = counters();
    using drop = icmpProgram(count.fd, XdpAction.DROP, 'xdp_drop');
    using pass = icmpProgram(count.fd, XdpAction.PASS, 'xdp_pass');
    using link = attachProgram(pass, { kind: 'xdp', interface: net.b.ifindex, mode: 'generic', method: 'link', netns: net.b.netns });
    expect(() => attachProgram(drop, { kind: 'xdp', interface: net.b.name, mode: 'generic', method: 'link', netns: net.b.netns })).toThrow(
      expect.objectContaining({ code: 'EBUSY' }),
    );
    expect(net.ping('a', net.b.address)).toBe(true);
    link.update(drop);
    expect(xdpOn(net, 'b').generic).toBe(drop.info().id);
    expect(net.ping('a', net.b.address)).toBe(false);
  });

  it('xdp (netlink): refuses an occupied interface unless asked to replace (any, or exactly one program)', () => {
    using count = counters();
    using first = icmpProgram(count.fd, XdpAction.PASS, 'xdp_first');
    using second = icmpProgram(count.fd, XdpAction.DROP, 'xdp_second');
    using third = icmpProgram(count.fd, XdpAction.PASS, 'xdp_third');
    const where = { kind: 'xdp', interface: net.b.name, mode: 'generic', method: 'netlink', netns: net.b.netns } as const;
    using one = attachProgram(first, where);
    // An attachment made over netlink is not a BPF link: no pin.
    expect(() => one.pin('/sys/fs/bpf/bpfkit-never')).toThrow(NotSupportedError);
    expect(() => attachProgram(second, where)).toThrow(/already has an XDP program/);
    // Replacing a program that is not the attached one is refused (XDP_FLAGS_REPLACE, 5.7).
    expect(() => attachProgram(second, { ...where, replace: third })).toThrow(BpfError);
    const two = attachProgram(second, { ...where, replace: first });
    expect(xdpOn(net, 'b').generic).toBe(second.info().id);
    expect(net.ping('a', net.b.address)).toBe(false);
    // The first handle's program is no longer attached: closing it leaves the second in place.
    one.close();
    expect(xdpOn(net, 'b').generic).toBe(second.info().id);
    using three = attachProgram(third, { ...where, replace: 'any' });
    expect(xdpOn(net, 'b').generic).toBe(third.info().id);
    two.close();
    expect(xdpOn(net, 'b').generic).toBe(third.info().id);
    three.update(first);
    expect(xdpOn(net, 'b').generic).toBe(first.info().id);
    three.close();
    expect(xdpOn(net, 'b').generic).toBe(0);
    expect(() => three.info()).toThrow();
  });

  it('xdp: XDP_TX bounces echo requests back to the sender (seen by a counting program on the other end)', () => {
    using seen = counters();
    using bounced = counters();
    // On a: count ICMP echo requests arriving (only bounced ones can), pass everything.
    using watch = icmpProgram(seen.fd, XdpAction.PASS, 'xdp_watch');
    using tx = icmpProgram(bounced.fd, XdpAction.TX, 'xdp_tx');
    using watchLink = attachProgram(watch, { kind: 'xdp', interface: net.a.name, mode: 'native', netns: net.a.netns });
    net.ping('a', net.b.address);
    const repliesOnly = seen.read();
    using txLink = attachProgram(tx, { kind: 'xdp', interface: net.b.name, mode: 'native', netns: net.b.netns });
    expect(net.ping('a', net.b.address, 2)).toBe(false);
    expect(bounced.read()).toBeGreaterThan(0n);
    // Every bounced echo request came back to a (plus the earlier replies).
    expect(seen.read()).toBeGreaterThanOrEqual(repliesOnly + bounced.read());
    expect(watchLink.closed || txLink.closed).toBe(false);
  });

  it('xdp: redirect through a devmap sends packets out of the interface the map names', () => {
    using seen = counters();
    using redirected = counters();
    const devmap = mapCreate({ mapType: MapType.DEVMAP, keySize: 4, valueSize: 4, maxEntries: 1, mapName: 'tx_port' });
    try {
      const value = new Uint8Array(4);
      new DataView(value.buffer).setUint32(0, net.b.ifindex, true);
      // A devmap resolves the ifindex in the namespace of the thread updating it: do it inside b, never here.
      inNetns(net.b.netns, () => mapUpdateElem(devmap, new Uint8Array(4), value, 0));
      // bpf_redirect_map(&tx_port, 0, XDP_PASS) for ICMP, counted.
      using redirect = loadKernelProgram({
        name: 'xdp_redirect',
        type: ProgramType.XDP,
        license: 'GPL',
        instructions: redirectProgram(devmap, redirected.fd),
      });
      using watch = icmpProgram(seen.fd, XdpAction.PASS, 'xdp_watch');
      using w = attachProgram(watch, { kind: 'xdp', interface: net.a.name, mode: 'native', netns: net.a.netns });
      using r = attachProgram(redirect, { kind: 'xdp', interface: net.b.name, mode: 'native', netns: net.b.netns });
      const before = seen.read();
      expect(net.ping('a', net.b.address, 2)).toBe(false);
      expect(redirected.read()).toBeGreaterThan(0n);
      expect(seen.read() - before).toBeGreaterThan(0n);
      expect(w.closed || r.closed).toBe(false);
    } finally {
      closeFd(devmap);
    }
  });
});

/** Counts ICMP in `countFd` and redirects it through slot 0 of `devmapFd`; the rest passes. */
function redirectProgram(devmapFd: number, countFd: number): Uint8Array {
  return assemble([
    I(0xbf, { dst: 6, src: 1 }),
    I(0x61, { dst: 2, src: 6, offset: 4 }),
    I(0x61, { dst: 1, src: 6, offset: 0 }),
    I(0xbf, { dst: 3, src: 1 }),
    I(0x07, { dst: 3, imm: 34 }),
    I(0x2d, { dst: 3, src: 2 }, 'pass'),
    I(0x71, { dst: 3, src: 1, offset: 23 }),
    I(0x55, { dst: 3, imm: ICMP }, 'pass'),
    I(0x18, { dst: 1, src: 1, imm: countFd }),
    I(0x62, { dst: 10, offset: -4, imm: 0 }),
    I(0xbf, { dst: 2, src: 10 }),
    I(0x07, { dst: 2, imm: -4 }),
    I(0x85, { imm: 1 }),
    I(0x15, { dst: 0 }, 'redirect'),
    I(0xb7, { dst: 1, imm: 1 }),
    I(0xdb, { dst: 0, src: 1 }),
    'redirect',
    I(0x18, { dst: 1, src: 1, imm: devmapFd }),
    I(0xb7, { dst: 2, imm: 0 }),
    I(0xb7, { dst: 3, imm: XdpAction.PASS }),
    I(0x85, { imm: 51 }), // bpf_redirect_map
    I(0x95),
    'pass',
    I(0xb7, { dst: 0, imm: XdpAction.PASS }),
    I(0x95),
  ]);
}

describe('xdp refusals', () => {
  const fake = (type: number) => ({ name: 'p', type, fd: 3, closed: false }) as unknown as Program;
  it('xdp: refuses offload, unknown modes and methods, a non-XDP program, replace with a link, and bad interfaces', () => {
    expect(() => attachProgram(fake(ProgramType.XDP), { kind: 'xdp', interface: 'x', mode: 'offload' })).toThrow(NotSupportedError);
    expect(() => attachProgram(fake(ProgramType.XDP), { kind: 'xdp', interface: 'x', mode: 'fast' as 'native' })).toThrow(
      /'native', 'generic'/,
    );
    expect(() => attachProgram(fake(ProgramType.XDP), { kind: 'xdp', interface: 'x', method: 'ioctl' as 'link' })).toThrow(
      InvalidArgumentError,
    );
    expect(() => attachProgram(fake(ProgramType.SCHED_CLS), { kind: 'xdp', interface: 'x' })).toThrow(/an XDP program/);
    expect(() => attachProgram(fake(ProgramType.XDP), { kind: 'xdp', interface: 'x', method: 'link', replace: 'any' })).toThrow(
      /link\.update/,
    );
  });

  whenKernel()
    .unless(networkFixtureUnavailable())
    .it('xdp: an interface that is not in the namespace is an InvalidArgumentError naming it', () => {
      using net = vethPair();
      expect(() => attachProgram(fake(ProgramType.XDP), { kind: 'xdp', interface: 'nosuchif0', netns: net.a.netns })).toThrow(
        /xdp target: interface: expected an interface of the network namespace.*nosuchif0/,
      );
      // veth1 lives in b, not a.
      expect(() => attachProgram(fake(ProgramType.XDP), { kind: 'xdp', interface: net.b.name, netns: net.a.netns })).toThrow(
        InvalidArgumentError,
      );
      expect(() => attachProgram(fake(ProgramType.XDP), { kind: 'xdp', interface: '', netns: net.a.netns })).toThrow(/IFNAMSIZ/);
      expect(() => attachProgram(fake(ProgramType.XDP), { kind: 'xdp', interface: -3, netns: net.a.netns })).toThrow(
        /positive interface index/,
      );
    });
});
