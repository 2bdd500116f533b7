import fs from 'node:fs';
import { AttachType, BpfError, LinkType, MapType, ProgramType } from '@bpfkit/core';
import { inNetns } from '@bpfkit/syscalls';
import { networkFixtureUnavailable, vethPair, whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { attachProgram } from '../attach-program.js';
import { counters, countAsm, eventually, load, socketMap, udpSocket } from '../test-support/sockets.js';
import { sendUdp } from '../test-support/traffic.js';

const noNetwork = networkFixtureUnavailable({ ping: true });
const flowGate = whenKernel('program:flow_dissector', 'link:netns').unless(noNetwork);

/** A flow dissector that counts its runs and leaves the flow keys empty (BPF_OK: the kernel takes what it was given). */
function countingDissector(countsFd: number) {
  return load('count_flows', ProgramType.FLOW_DISSECTOR, `${countAsm(countsFd, 0, 'out')}\nout:\n mov %r0, 0\n exit`);
}

flowGate.it('flow_dissector: a netns link dissects the packets of its namespace (RPS hashes them), and not once closed', () => {
  using net = vethPair();
  using counts = counters();
  using prog = countingDissector(counts.fd);
  // Receive packet steering hashes each packet veth1 receives: the hash comes from the flow dissector.
  const rps = net.exec('b', 'sh', ['-c', `echo 1 > /sys/class/net/${net.b.name}/queues/rx-0/rps_cpus`]);
  expect(rps.stderr).toBe('');
  {
    using link = attachProgram(prog, { kind: 'flow_dissector', netns: net.b.netns });
    const info = link.info();
    expect(info).toMatchObject({ kind: 'netns', type: LinkType.NETNS, progId: prog.info().id });
    expect(info).toMatchObject({ netns: { attachType: AttachType.FLOW_DISSECTOR, netnsIno: fs.statSync(net.b.netns).ino } });
    expect(net.ping('a', net.b.address, 2)).toBe(true);
    expect(counts.read()).toBeGreaterThan(0n);
    // One flow dissector per namespace.
    expect(() => attachProgram(prog, { kind: 'flow_dissector', netns: net.b.netns })).toThrow(/has a flow dissector already/);
  }
  const after = counts.read();
  expect(net.ping('a', net.b.address, 2)).toBe(true);
  expect(counts.read()).toBe(after);
});

flowGate.it('flow_dissector: refuses another program type, a netns path that does not open and a file that is no network namespace', () => {
  using counts = counters();
  using prog = countingDissector(counts.fd);
  using lookup = load('pass', ProgramType.SK_LOOKUP, 'mov %r0, 1\nexit', { expectedAttachType: AttachType.SK_LOOKUP });
  expect(() => attachProgram(lookup, { kind: 'flow_dissector' })).toThrow(/expected a program of type ProgramType.FLOW_DISSECTOR/);
  expect(() => attachProgram(prog, { kind: 'flow_dissector', netns: '/run/netns/bpfkit-no-such-netns' })).toThrow(
    /flow_dissector target: netns '\/run\/netns\/bpfkit-no-such-netns': expected a network namespace file this process can open, got the string "ENOENT"/,
  );
  expect(() => attachProgram(prog, { kind: 'flow_dissector', netns: '/proc/self/ns/mnt' })).toThrow(BpfError);
  expect(() => attachProgram(prog, { kind: 'flow_dissector', netns: '/proc/self/ns/mnt' })).toThrow(/is not a network namespace file/);
});

const lookupGate = whenKernel('program:sk_lookup', 'link:netns', 'map:sockmap').unless(noNetwork);

lookupGate.it(
  'sk_lookup: a program steers the datagrams for one port to a socket bound to another, in its namespace, until closed',
  async () => {
    using net = vethPair();
    // Both sockets live in the test namespace: created there by this thread, which then returns.
    using wanted = inNetns(net.b.netns, () => udpSocket({ address: '127.0.0.1' }));
    using steered = inNetns(net.b.netns, () => udpSocket({ address: '127.0.0.1' }));
    using socks = socketMap(MapType.SOCKMAP, 1);
    socks.set(0, steered.fd);
    using prog = load(
      'steer',
      ProgramType.SK_LOOKUP,
      `
      mov %r6, %r1
      ldxw %r2, [%r6+60]       # bpf_sk_lookup->local_port, host byte order
      jne %r2, ${wanted.port}, pass
      lddw %r1, map_fd ${socks.fd}
      stw [%r10-4], 0
      mov %r2, %r10
      add %r2, -4
      call bpf_map_lookup_elem
      jeq %r0, 0, pass
      mov %r7, %r0
      mov %r1, %r6
      mov %r2, %r7
      mov %r3, 0
      call bpf_sk_assign
      mov %r1, %r7
      call bpf_sk_release
    pass:
      mov %r0, 1               # SK_PASS
      exit`,
      { expectedAttachType: AttachType.SK_LOOKUP },
    );
    const got = { wanted: 0, steered: 0 };
    const settle = (n: number) =>
      eventually(() => {
        got.wanted += wanted.recv().length;
        got.steered += steered.recv().length;
        return got.wanted + got.steered >= n;
      });
    {
      using link = attachProgram(prog, { kind: 'sk_lookup', netns: net.b.netns });
      expect(link.info()).toMatchObject({ type: LinkType.NETNS, progId: prog.info().id, netns: { attachType: AttachType.SK_LOOKUP } });
      sendUdp(net, 'b', '127.0.0.1', wanted.port, 4);
      await settle(4);
      expect(got).toEqual({ wanted: 0, steered: 4 });
    }
    sendUdp(net, 'b', '127.0.0.1', wanted.port, 4);
    await settle(8);
    expect(got).toEqual({ wanted: 4, steered: 4 });
  },
);

lookupGate.it('sk_lookup: defaults to this thread’s namespace, and refuses a program of another type', () => {
  using prog = load('pass', ProgramType.SK_LOOKUP, 'mov %r0, 1\nexit', { expectedAttachType: AttachType.SK_LOOKUP });
  using counts = counters();
  using dissector = countingDissector(counts.fd);
  expect(() => attachProgram(dissector, { kind: 'sk_lookup' })).toThrow(/expected a program of type ProgramType.SK_LOOKUP/);
  using net = vethPair();
  using link = inNetns(net.a.netns, () => attachProgram(prog, { kind: 'sk_lookup' }));
  expect(link.info()).toMatchObject({ netns: { netnsIno: fs.statSync(net.a.netns).ino } });
});
