import fs from 'node:fs';
import path from 'node:path';
import type { AttachTarget } from '@bpfkit/core';
import { MockSystem } from '@bpfkit/mock';
import { listLinks } from '@bpfkit/attach';
import { networkFixtureUnavailable, vethPair, whenKernel } from '@bpfkit/syscalls/testing';
import type { VethPair } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../contract/backends.js';
import { Manager } from './manager.js';

// The Manager on network hooks: XDP and TC programs of testdata/manager_net.bpf.o attached by the
// manager count the packets they see and send a record for each. On the kernel: the far end of a
// veth pair in network namespaces of the test's own (pinged from the near end); on the mock: a
// mock interface the test injects packets into. Stop leaves no program on the interface.

const OBJECT = path.resolve(import.meta.dirname, '../../testdata/manager_net.bpf.o');
const openFds = () => fs.readdirSync('/proc/self/fd').length;

/** A 98-byte Ethernet frame of type IPv4 (the programs only count what they see). */
const frame = () => {
  const f = new Uint8Array(98);
  f[12] = 0x08; // EtherType 0x0800
  f[14] = 0x45; // IPv4, 20-byte header
  return f;
};

for (const backend of BACKENDS) {
  const gate =
    backend.name === 'mock'
      ? { describe }
      : whenKernel('program:xdp', 'program:sched_cls', 'map:ringbuf').unless(networkFixtureUnavailable({ ping: true }));
  gate.describe(`Manager on network hooks (${backend.name})`, () => {
    it('attaches XDP and TC to an interface, the handler gets a record per packet, stop detaches both', async () => {
      using system = backend.open();
      const fdsBefore = openFds();
      let net: VethPair | undefined;
      try {
        let where: { interface: string; netns?: string };
        let send: (n: number) => void;
        if (system instanceof MockSystem) {
          const iface = system.addInterface('veth0');
          where = { interface: 'veth0' };
          send = (n) => {
            for (let i = 0; i < n; i++) iface.inject(frame());
          };
        } else {
          net = vethPair();
          const pair = net;
          where = { interface: pair.b.name, netns: pair.b.netns };
          send = (n) => {
            pair.ping('a', pair.b.address, n);
          };
        }
        const xdp: AttachTarget = { kind: 'xdp', ...where };
        const tc: AttachTarget = { kind: 'tc', direction: 'ingress', ...where };
        const hooks: number[] = [];
        const manager = new Manager({
          system,
          objects: { net: { object: OBJECT } },
          attachments: [{ name: 'tc', program: 'tc_count', target: tc }],
          readers: [
            {
              map: 'packets',
              flushIntervalMs: 10,
              handler: (batch: Uint8Array[]) =>
                void hooks.push(...batch.map((r) => new DataView(r.buffer, r.byteOffset).getUint32(0, true))),
            },
          ],
        });
        await manager.start();
        // XDP at run time, through the convenience.
        manager.attachXdp('xdp', 'xdp_count', where.interface, where.netns !== undefined ? { netns: where.netns } : {});
        const ids = manager.links().flatMap((l) => (l.id === undefined ? [] : [l.id]));
        expect(manager.links().map((l) => [l.name, l.attachPoint])).toEqual([
          ['tc', `tc ingress ${where.interface}`],
          ['xdp', `xdp ${where.interface}`],
        ]);
        expect(manager.links().map((l) => l.target)).toEqual([tc, xdp]);
        send(3);
        for (let i = 0; i < 300 && !(hooks.filter((h) => h === 1).length >= 3 && hooks.includes(2)); i++)
          await new Promise((r) => setTimeout(r, 10));
        expect(hooks.filter((h) => h === 1).length).toBeGreaterThanOrEqual(3);
        expect(hooks.filter((h) => h === 2).length).toBeGreaterThanOrEqual(3);
        const coll = manager.collection('net');
        expect(coll.variables.xdp_seen!.get()).toBeGreaterThanOrEqual(3n);
        expect(manager.stats().readerStats[0]!.records).toBe(hooks.length);

        await manager.stop();
        expect(manager.links()).toEqual([]);
        if (backend.name === 'kernel') expect(listLinks().filter((l) => ids.includes(l.id))).toEqual([]);
        // Nothing runs on the interface any more: the handler hears nothing.
        const heard = hooks.length;
        if (system instanceof MockSystem) expect(system.interface('veth0').inject(frame())).toMatchObject({ outcome: 'received' });
        send(2);
        await new Promise((r) => setTimeout(r, 50));
        expect(hooks.length).toBe(heard);
        expect(openFds()).toBe(fdsBefore);
      } finally {
        net?.close();
      }
    });
  });
}
