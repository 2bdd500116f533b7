/**
 * The demo's XDP object attached for real, as a user would: loaded with a
 * constant, attached to one end of a veth pair in test namespaces, fed
 * with ping from the other end.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { networkFixtureUnavailable, vethPair, whenKernel } from '@bpfkit/syscalls/testing';
import { openSystem } from 'bpfkit';
import { expect } from 'vitest';

const OBJECT = fileURLToPath(new URL('../bpf/packet_counter.bpf.o', import.meta.url));
const ICMP = 1;

whenKernel('program:xdp')
  .unless(networkFixtureUnavailable({ ping: true }))
  .it('xdp: the demo object, loaded to drop ICMP and attached to a veth end, stops ping until its link closes', async () => {
    using net = vethPair();
    using system = await openSystem({ backend: 'kernel' });
    using coll = system.loadCollection(OBJECT, { constants: { drop_protocol: ICMP } });
    const prog = coll.programs.count_packets;
    if (!prog) throw new Error('no count_packets program');
    expect(net.ping('a', net.b.address)).toBe(true);
    const link = system.attach(prog, { kind: 'xdp', interface: net.b.name, netns: net.b.netns });
    try {
      expect(net.ping('a', net.b.address, 2)).toBe(false);
      const icmp = coll.maps.packets_by_protocol?.lookup(new Uint8Array([ICMP]));
      expect(icmp && new DataView(icmp.buffer, icmp.byteOffset).getBigUint64(0, os.endianness() === 'LE')).toBeGreaterThanOrEqual(2n);
      expect(coll.variables.dropped?.get()).toBeGreaterThanOrEqual(2n);
      expect(link.info()).toMatchObject({ kind: 'xdp', progId: prog.info().id });
    } finally {
      link.close();
    }
    expect(net.ping('a', net.b.address)).toBe(true);
  });
