import path from 'node:path';
import { BpfError, Errno, InvalidArgumentError, MapType, ProgramType, u32 } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { MockSystem } from '../mock-system.js';
import { mockHooks } from './hooks.js';
import { load, redirect, ret, tcStamp, XDP_BYTE0, XDP_STAMP } from '../test-support/hook-programs.js';
import { ldMapFd } from '../test-support/index.js';

const testdata = path.resolve(import.meta.dirname, '../../../bpfkit/testdata');

/** A 64-byte frame whose first byte is `first` and the others their index. */
function frame(first: number, size = 64): Uint8Array {
  const p = Uint8Array.from({ length: size }, (_, i) => i);
  p[0] = first;
  return p;
}

const u32At = (p: Uint8Array, at: number): number => new DataView(p.buffer, p.byteOffset).getUint32(at, true);

describe('mock network interfaces', () => {
  it('has lo at ifindex 1 and numbers new interfaces from 2; names and indexes are unique', () => {
    using system = new MockSystem();
    expect(system.interface(1).name).toBe('lo');
    expect(system.interface('lo').ifindex).toBe(1);
    const eth0 = system.addInterface('eth0');
    expect(eth0.ifindex).toBe(2);
    expect(system.addInterface('eth9', { ifindex: 9, mtu: 9000 }).mtu).toBe(9000);
    expect(system.interface(9).name).toBe('eth9');
    expect(() => system.addInterface('eth0')).toThrow(expect.objectContaining({ errno: Errno.EEXIST }));
    expect(() => system.addInterface('other', { ifindex: 2 })).toThrow(BpfError);
    expect(() => system.addInterface('a/b')).toThrow(InvalidArgumentError);
    expect(() => system.interface('eth7')).toThrow(InvalidArgumentError);
  });

  it('with no program, inject reaches the stack and send the wire', () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    const r = eth0.inject(frame(7));
    expect(r).toMatchObject({ stage: 'stack', verdict: 'pass', outcome: 'received', returnValue: undefined });
    expect(eth0.received).toEqual([frame(7)]);
    expect(eth0.send(frame(8)).outcome).toBe('transmitted');
    expect(eth0.transmitted).toEqual([frame(8)]);
    expect(eth0.stats()).toMatchObject({ received: 1, transmitted: 1, dropped: 0 });
  });

  it('XDP: pass reaches the stack, drop and aborted are counted, tx leaves the same interface', () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    using prog = load(system, 'byte0', ProgramType.XDP, XDP_BYTE0);
    using _link = prog.attach({ kind: 'xdp', interface: 'eth0' });
    expect(eth0.inject(frame(2))).toMatchObject({ stage: 'xdp', verdict: 'pass', returnValue: 2, program: 'byte0', outcome: 'received' });
    expect(eth0.inject(frame(1))).toMatchObject({ stage: 'xdp', verdict: 'drop', returnValue: 1, outcome: 'dropped' });
    expect(eth0.inject(frame(0))).toMatchObject({ verdict: 'aborted', outcome: 'dropped' });
    expect(eth0.inject(frame(9))).toMatchObject({ verdict: 'aborted', returnValue: 9, outcome: 'dropped' });
    expect(eth0.inject(frame(3))).toMatchObject({ verdict: 'tx', outcome: 'transmitted' });
    expect(eth0.received).toEqual([frame(2)]);
    expect(eth0.transmitted).toEqual([frame(3)]);
    const stats = eth0.stats();
    expect(stats).toMatchObject({ received: 1, transmitted: 1, dropped: 3, redirected: 0 });
    expect(stats.xdp).toEqual({ runs: 5, passed: 1, dropped: 3, redirected: 0, transmitted: 1, consumed: 0 });
  });

  it("XDP sees the interface's ifindex and the receive queue in xdp_md", () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0', { ifindex: 5 });
    using prog = load(system, 'stamp', ProgramType.XDP, XDP_STAMP);
    using _link = system.attach(prog, { kind: 'xdp', interface: 5 });
    const { packet } = eth0.inject(frame(0), { rxQueue: 3 });
    expect(u32At(packet, 0)).toBe(5);
    expect(u32At(packet, 4)).toBe(3);
    expect(eth0.received[0]).toEqual(packet);
  });

  it('XDP redirect delivers to the target interface, which transmits it; an unknown target drops it', () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    const eth1 = system.addInterface('eth1');
    using prog = load(system, 'redir', ProgramType.XDP, redirect(eth1.ifindex));
    using link = prog.attach({ kind: 'xdp', interface: eth0.ifindex });
    const r = eth0.inject(frame(1));
    expect(r).toMatchObject({ stage: 'xdp', verdict: 'redirect', returnValue: 4, outcome: 'redirected' });
    expect(r.redirect).toEqual({ ifindex: eth1.ifindex, ingress: false, target: eth1 });
    expect(eth1.transmitted).toEqual([frame(1)]);
    expect(eth0.received).toEqual([]);
    expect(eth0.stats()).toMatchObject({ redirected: 1, dropped: 0 });
    link.close();
    using lost = load(system, 'redir_nowhere', ProgramType.XDP, redirect(77));
    using _l2 = lost.attach({ kind: 'xdp', interface: 'eth0' });
    const gone = eth0.inject(frame(1));
    expect(gone).toMatchObject({ verdict: 'redirect', outcome: 'dropped', redirect: { ifindex: 77, ingress: false } });
    expect(gone.redirect?.target).toBeUndefined();
    expect(eth0.stats().dropped).toBe(1);
  });

  it('XDP redirect_map through a DEVMAP: the entry is the target; a missing key gives the flags low bits', () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    const eth1 = system.addInterface('eth1');
    using ports = system.createMap(
      { name: 'tx_port', type: MapType.DEVMAP, keySize: 4, valueSize: 4, maxEntries: 4 },
      { key: u32, value: u32 },
    );
    ports.update(0, eth1.ifindex);
    const byKey = (key: number, flags: number) => `
      ${ldMapFd(1, ports.fd)}
      mov %r2, ${key}
      mov %r3, ${flags}
      call 51
      exit`;
    using hit = load(system, 'devmap_hit', ProgramType.XDP, byKey(0, 0));
    using miss = load(system, 'devmap_miss', ProgramType.XDP, byKey(3, 2));
    {
      using _link = hit.attach({ kind: 'xdp', interface: 'eth0' });
      expect(eth0.inject(frame(4))).toMatchObject({ verdict: 'redirect', outcome: 'redirected', redirect: { target: eth1 } });
      expect(eth1.transmitted).toEqual([frame(4)]);
    }
    {
      using _link = miss.attach({ kind: 'xdp', interface: 'eth0' });
      expect(eth0.inject(frame(5))).toMatchObject({ verdict: 'pass', returnValue: 2, outcome: 'received' });
    }
    expect(hit.testRun({ data: frame(4) }).returnValue).toBe(4);
  });

  it("adjust_head in packets.bpf.o's xdp_push_head is in the packet that reaches the stack, and tc_grow's change_tail in what TC passes", () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    using coll = system.loadCollection(path.join(testdata, 'packets.bpf.o'));
    using _x = coll.programs.xdp_push_head!.attach({ kind: 'xdp', interface: 'eth0' });
    const r = eth0.inject(frame(1));
    expect(r).toMatchObject({ stage: 'xdp', verdict: 'pass' });
    expect(r.packet.length).toBe(72);
    expect([...r.packet.subarray(0, 8)]).toEqual(Array(8).fill(0xbb));
    expect(r.packet.subarray(8)).toEqual(frame(1));
    using _t = coll.programs.tc_grow!.attach({ kind: 'tc', interface: 'eth0', direction: 'ingress' });
    const grown = eth0.inject(frame(1));
    expect(grown).toMatchObject({ stage: 'tc', verdict: 'ok', returnValue: 0, program: 'tc_grow', outcome: 'received' });
    expect(grown.packet.length).toBe(82);
    expect(eth0.received.at(-1)).toEqual(grown.packet);
  });
});

describe('TC on mock interfaces', () => {
  it('runs ingress programs in the kernel order (tcx in its order, then tc by priority) on one skb', () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    using a = load(system, 'a', ProgramType.SCHED_CLS, tcStamp(1, -1));
    using b = load(system, 'b', ProgramType.SCHED_CLS, tcStamp(2, -1));
    using c = load(system, 'c', ProgramType.SCHED_CLS, tcStamp(3, -1));
    using d = load(system, 'd', ProgramType.SCHED_CLS, tcStamp(4, -1));
    using _c = c.attach({ kind: 'tc', interface: 'eth0', direction: 'ingress', priority: 2 });
    using _d = d.attach({ kind: 'tc', interface: 'eth0', direction: 'ingress', priority: 1 });
    using _a = a.attach({ kind: 'tcx', interface: 'eth0', direction: 'ingress' });
    using _b = b.attach({ kind: 'tcx', interface: 'eth0', direction: 'ingress', before: 'all' });
    const r = eth0.inject(frame(0));
    // Every program said TC_ACT_UNSPEC: the stack decides.
    expect(r).toMatchObject({ stage: 'stack', verdict: 'pass', returnValue: -1, outcome: 'received' });
    expect(u32At(r.packet, 0)).toBe(0x2143);
    expect(eth0.stats().tcIngress).toMatchObject({ runs: 1, passed: 1 });
  });

  it('stops at the first verdict: shot drops, ok passes, stolen consumes; the skb carries the ifindex', () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    using shot = load(system, 'shot', ProgramType.SCHED_CLS, tcStamp(1, 2));
    using after = load(system, 'after', ProgramType.SCHED_CLS, tcStamp(2, 0));
    using _s = shot.attach({ kind: 'tcx', interface: 'eth0', direction: 'ingress' });
    using _a = after.attach({ kind: 'tcx', interface: 'eth0', direction: 'ingress' });
    expect(eth0.inject(frame(0))).toMatchObject({ stage: 'tc', verdict: 'shot', returnValue: 2, program: 'shot', outcome: 'dropped' });
    expect(eth0.received).toEqual([]);
    expect(eth0.stats()).toMatchObject({ dropped: 1, tcIngress: { runs: 1, dropped: 1 } });
    _s.close();
    expect(eth0.inject(frame(0))).toMatchObject({ stage: 'tc', verdict: 'ok', program: 'after', outcome: 'received' });
    using stolen = load(system, 'stolen', ProgramType.SCHED_CLS, ret(4));
    using _x = stolen.attach({ kind: 'tcx', interface: 'eth0', direction: 'ingress', before: 'all' });
    expect(eth0.inject(frame(0))).toMatchObject({ verdict: 'stolen', outcome: 'consumed' });
    // __sk_buff ifindex (offset 40) and ingress_ifindex (36).
    using ifx = load(
      system,
      'ifindex',
      ProgramType.SCHED_CLS,
      'ldxw %r2, [%r1+40]\nldxw %r3, [%r1+36]\nlsh %r3, 8\nor %r2, %r3\nmov %r0, %r2\nexit',
    );
    using _i = ifx.attach({ kind: 'tcx', interface: 'eth0', direction: 'ingress', before: 'all' });
    expect(eth0.inject(frame(0)).returnValue).toBe((eth0.ifindex << 8) | eth0.ifindex);
  });

  it('egress programs run on send; shot drops, ok transmits', () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    using ok = load(system, 'ok', ProgramType.SCHED_CLS, tcStamp(5, 0));
    {
      using _l = ok.attach({ kind: 'tc', interface: 'eth0', direction: 'egress' });
      expect(eth0.send(frame(0))).toMatchObject({ stage: 'tc', verdict: 'ok', outcome: 'transmitted' });
      expect(u32At(eth0.transmitted[0]!, 0)).toBe(5);
      // Ingress has no program: the egress one does not run on inject.
      expect(eth0.inject(frame(0)).stage).toBe('stack');
    }
    using shot = load(system, 'shot', ProgramType.SCHED_CLS, ret(2));
    using _l = shot.attach({ kind: 'tcx', interface: 'eth0', direction: 'egress' });
    expect(eth0.send(frame(0))).toMatchObject({ verdict: 'shot', outcome: 'dropped' });
    expect(eth0.stats()).toMatchObject({ transmitted: 1, dropped: 1, tcEgress: { runs: 2, passed: 1, dropped: 1 } });
  });

  it('redirect to another interface runs its egress programs and transmits; BPF_F_INGRESS goes up its stack', () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    const eth1 = system.addInterface('eth1');
    using out = load(system, 'to_eth1', ProgramType.SCHED_CLS, redirect(eth1.ifindex));
    using stamp = load(system, 'eth1_egress', ProgramType.SCHED_CLS, tcStamp(9, 0));
    using _e = stamp.attach({ kind: 'tc', interface: 'eth1', direction: 'egress' });
    {
      using _l = out.attach({ kind: 'tc', interface: 'eth0', direction: 'ingress' });
      const r = eth0.inject(frame(0));
      expect(r).toMatchObject({
        stage: 'tc',
        verdict: 'redirect',
        returnValue: 7,
        outcome: 'redirected',
        redirect: { ingress: false, target: eth1 },
      });
      expect(eth1.transmitted.length).toBe(1);
      expect(u32At(eth1.transmitted[0]!, 0)).toBe(9);
      expect(eth1.stats().tcEgress.runs).toBe(1);
    }
    using up = load(system, 'to_eth1_ingress', ProgramType.SCHED_CLS, redirect(eth1.ifindex, 1));
    using _u = up.attach({ kind: 'tc', interface: 'eth0', direction: 'ingress' });
    expect(eth0.inject(frame(3)).redirect).toEqual({ ifindex: eth1.ifindex, ingress: true, target: eth1 });
    expect(eth1.received).toEqual([frame(3)]);
    expect(eth0.stats()).toMatchObject({ redirected: 2, received: 0 });
  });

  it('tcx orders by before/after anchors (program or link) and refuses a stale expectedRevision', () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    const hooks = mockHooks(system.kernel, system.runtime);
    expect(hooks.tcxRevision('eth0', 'ingress')).toBe(1n);
    using a = load(system, 'a', ProgramType.SCHED_CLS, tcStamp(1, -1));
    using b = load(system, 'b', ProgramType.SCHED_CLS, tcStamp(2, -1));
    using c = load(system, 'c', ProgramType.SCHED_CLS, tcStamp(3, -1));
    using linkA = a.attach({ kind: 'tcx', interface: 'eth0', direction: 'ingress' });
    using _b = b.attach({ kind: 'tcx', interface: 'eth0', direction: 'ingress', before: linkA });
    using _c = c.attach({ kind: 'tcx', interface: 'eth0', direction: 'ingress', after: b, expectedRevision: 3n });
    expect(u32At(eth0.inject(frame(0)).packet, 0)).toBe(0x231);
    expect(hooks.tcxRevision('eth0', 'ingress')).toBe(4n);
    using d = load(system, 'd', ProgramType.SCHED_CLS, tcStamp(4, -1));
    expect(() => d.attach({ kind: 'tcx', interface: 'eth0', direction: 'ingress', expectedRevision: 3n })).toThrow(
      expect.objectContaining({ errno: Errno.ESTALE }),
    );
    expect(() => a.attach({ kind: 'tcx', interface: 'eth0', direction: 'ingress' })).toThrow(
      expect.objectContaining({ errno: Errno.EEXIST }),
    );
    expect(() => d.attach({ kind: 'tcx', interface: 'eth0', direction: 'egress', before: a })).toThrow(
      expect.objectContaining({ errno: Errno.ENOENT }),
    );
  });

  it('drops a frame redirected to an interface whose MTU it exceeds', () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    const small = system.addInterface('small', { mtu: 100 });
    using prog = load(system, 'to_small', ProgramType.XDP, redirect(small.ifindex));
    using _l = prog.attach({ kind: 'xdp', interface: 'eth0' });
    expect(eth0.inject(frame(0, 114)).outcome).toBe('redirected');
    expect(eth0.inject(frame(0, 115))).toMatchObject({ outcome: 'dropped', redirect: { target: small } });
    expect(small.transmitted.length).toBe(1);
  });

  it("a program's fault reaches the test, naming the program, and the next packet runs normally", () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    // Reads 8 bytes past data without a bounds check.
    using prog = load(system, 'oob', ProgramType.XDP, 'ldxw %r2, [%r1+0]\nldxdw %r0, [%r2+4096]\nmov %r0, 2\nexit');
    using _l = prog.attach({ kind: 'xdp', interface: 'eth0' });
    expect(() => eth0.inject(frame(0))).toThrow(/oob/);
    _l.close();
    expect(eth0.inject(frame(0)).outcome).toBe('received');
  });

  it('a redirect loop ends in a drop after 8 redirects', () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    using loop = load(system, 'loop', ProgramType.SCHED_CLS, redirect(eth0.ifindex, 1));
    using _l = loop.attach({ kind: 'tc', interface: 'eth0', direction: 'ingress' });
    expect(eth0.inject(frame(0)).outcome).toBe('redirected');
    expect(eth0.stats()).toMatchObject({ redirected: 8, dropped: 1, received: 0, tcIngress: { runs: 9, redirected: 9 } });
  });

  it("a TC redirect to an ingress runs the target's generic XDP program, not a native one", () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    const eth1 = system.addInterface('eth1');
    using up = load(system, 'up', ProgramType.SCHED_CLS, redirect(eth1.ifindex, 1));
    using drop = load(system, 'drop', ProgramType.XDP, ret(1));
    using _u = up.attach({ kind: 'tc', interface: 'eth0', direction: 'ingress' });
    {
      using _d = drop.attach({ kind: 'xdp', interface: 'eth1', mode: 'native' });
      eth0.inject(frame(0));
      expect(eth1.stats()).toMatchObject({ received: 1, dropped: 0 });
    }
    using _d = drop.attach({ kind: 'xdp', interface: 'eth1', mode: 'generic' });
    eth0.inject(frame(0));
    expect(eth1.stats()).toMatchObject({ received: 1, dropped: 1, xdp: { runs: 1, dropped: 1 } });
  });

  it("bpf_skb_change_tail grows a packet up to the interface's MTU plus its Ethernet header", () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0', { mtu: 68 });
    using coll = system.loadCollection(path.join(testdata, 'packets.bpf.o'));
    using _t = coll.programs.tc_grow!.attach({ kind: 'tc', interface: 'eth0', direction: 'ingress' });
    expect(eth0.inject(frame(0, 72))).toMatchObject({ verdict: 'ok' });
    expect(eth0.received[0]!.length).toBe(82);
    expect(eth0.inject(frame(0, 73))).toMatchObject({ verdict: 'shot', outcome: 'dropped' });
  });
});
