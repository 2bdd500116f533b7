/**
 * Attachments nobody holds any more are detached once garbage-collected —
 * BPF links (their fd closes) and netlink attachments (their release runs).
 */
import { ProgramType, TcAction, XdpAction } from '@bpfkit/core';
import { inNetns } from '@bpfkit/syscalls';
import { networkFixtureUnavailable, vethPair, whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { attachProgram } from '../attach-program.js';
import { interfaceState } from '../netlink/interfaces.js';
import { RtnlSocket } from '../netlink/socket.js';
import { loadKernelProgram } from '../program.js';
import { counters, packetProgram } from '../test-support/packet-programs.js';

const gc = globalThis.gc;

whenKernel('program:xdp', 'program:sched_cls')
  .unless(networkFixtureUnavailable())
  .unless(typeof gc === 'function' ? undefined : 'needs node --expose-gc (vitest.shared.ts sets it)')
  .it('xdp, tc: a link or filter dropped without close() is detached once collected', async () => {
    using net = vethPair();
    using count = counters();
    using xdp = loadKernelProgram({
      name: 'xdp_dropped',
      type: ProgramType.XDP,
      license: 'GPL',
      instructions: packetProgram({ ctx: 'xdp', protocol: 1, mapFd: count.fd, match: XdpAction.PASS, otherwise: XdpAction.PASS }),
    });
    using tc = loadKernelProgram({
      name: 'tc_dropped',
      type: ProgramType.SCHED_CLS,
      license: 'GPL',
      instructions: packetProgram({ ctx: 'skb', protocol: 1, mapFd: count.fd, match: TcAction.OK, otherwise: TcAction.OK }),
    });
    const xdpProgram = () =>
      inNetns(net.b.netns, () => {
        using rtnl = RtnlSocket.open();
        return interfaceState(rtnl, net.b.name).xdp.generic;
      });
    const tcFilters = () => net.exec('b', 'tc', ['filter', 'show', 'dev', net.b.name, 'ingress']).stdout;
    (() => {
      attachProgram(xdp, { kind: 'xdp', interface: net.b.name, mode: 'generic', method: 'link', netns: net.b.netns });
      attachProgram(tc, { kind: 'tc', interface: net.b.name, direction: 'ingress', netns: net.b.netns });
    })();
    expect(xdpProgram()).toBe(xdp.info().id);
    expect(tcFilters()).toMatch(/tc_dropped/);
    for (let i = 0; i < 30 && (xdpProgram() !== 0 || tcFilters() !== ''); i++) {
      gc?.();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(xdpProgram()).toBe(0);
    expect(tcFilters()).toBe('');
  });
