import type { AttachTarget } from '@bpfkit/core';
import { AttachType, ClosedError, Errno, InvalidArgumentError, NotSupportedError, ProgramType } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { MockSystem } from '../mock-system.js';
import { load, ret, XDP_BYTE0 } from '../test-support/hook-programs.js';
import { ptRegs } from './pt-regs.js';

const frame = (first: number): Uint8Array => Uint8Array.from({ length: 64 }, (_, i) => (i === 0 ? first : i));

describe('links on the mock', () => {
  it('closing the link detaches (the next packet reaches the stack); closing the program does not', () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    const prog = load(system, 'drop', ProgramType.XDP, ret(1));
    const link = prog.attach({ kind: 'xdp', interface: 'eth0' });
    prog.close();
    expect(eth0.inject(frame(0)).outcome).toBe('dropped');
    expect(link.info()).toMatchObject({ kind: 'xdp', progId: prog.object.id });
    expect(link.info().id).toBeGreaterThan(0);
    link.close();
    expect(link.closed).toBe(true);
    expect(eth0.inject(frame(0))).toMatchObject({ stage: 'stack', outcome: 'received' });
    expect(() => link.info()).toThrow(ClosedError);
    // The program's last reference went with the link: its fd is closed and nothing holds it.
    expect(system.kernel.openFds).toBe(0);
  });

  it('closeLinks closes what attach returned; a pinned link stays attached until unpinned', () => {
    using system = new MockSystem();
    using prog = load(system, 'k', ProgramType.KPROBE, ret(1));
    const a = prog.attach({ kind: 'kprobe', symbol: 'f' });
    const b = prog.attach({ kind: 'kprobe', symbol: 'g' });
    b.pin('/sys/fs/bpf/g');
    prog.closeLinks();
    expect(a.closed && b.closed).toBe(true);
    expect(system.fire({ kind: 'kprobe', symbol: 'f' }, ptRegs())).toEqual([]);
    expect(system.fire({ kind: 'kprobe', symbol: 'g' }, ptRegs())).toEqual([{ program: 'k', returnValue: 1 }]);
    system.kernel.unpin('/sys/fs/bpf/g');
    expect(system.fire({ kind: 'kprobe', symbol: 'g' }, ptRegs())).toEqual([]);
  });

  it('a link nobody closes stays attached until the system closes', () => {
    const system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    const prog = load(system, 'drop', ProgramType.XDP, ret(1));
    system.attach(prog, { kind: 'xdp', interface: 'eth0' });
    prog.close();
    expect(eth0.inject(frame(0)).outcome).toBe('dropped');
    system.close();
    expect(eth0.inject(frame(0)).outcome).toBe('received');
    expect(system.kernel.openFds).toBe(0);
  });

  it('detach takes the program off even when pinned; update replaces it where the kernel allows', () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    using drop = load(system, 'drop', ProgramType.XDP, ret(1));
    using pass = load(system, 'pass', ProgramType.XDP, ret(2));
    using link = drop.attach({ kind: 'xdp', interface: 'eth0' });
    link.update(pass);
    expect(eth0.inject(frame(0))).toMatchObject({ verdict: 'pass', program: 'pass' });
    expect(link.info().progId).toBe(pass.object.id);
    using tc = load(system, 'tc', ProgramType.SCHED_CLS, ret(2));
    expect(() => link.update(tc)).toThrow(InvalidArgumentError);
    link.pin('/sys/fs/bpf/xdp');
    link.detach();
    expect(eth0.inject(frame(0)).stage).toBe('stack');
    using k = load(system, 'k', ProgramType.KPROBE, ret(0));
    using probe = k.attach({ kind: 'kprobe', symbol: 'f' });
    expect(() => probe.update(k)).toThrow(NotSupportedError);
  });

  it('one XDP program per interface: EBUSY, unless netlink replaces it', () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    using a = load(system, 'a', ProgramType.XDP, XDP_BYTE0);
    using b = load(system, 'b', ProgramType.XDP, ret(1));
    const first = a.attach({ kind: 'xdp', interface: 'eth0', method: 'netlink' });
    expect(() => b.attach({ kind: 'xdp', interface: 'eth0' })).toThrow(expect.objectContaining({ errno: Errno.EBUSY }));
    expect(() => b.attach({ kind: 'xdp', interface: 'eth0', method: 'netlink', replace: b })).toThrow(
      expect.objectContaining({ errno: Errno.EEXIST }),
    );
    using second = b.attach({ kind: 'xdp', interface: 'eth0', replace: a });
    expect(eth0.inject(frame(2))).toMatchObject({ program: 'b', verdict: 'drop' });
    // The replaced attachment's close leaves the new program alone; netlink attachments have no pin.
    first.close();
    expect(eth0.inject(frame(2)).program).toBe('b');
    expect(() => second.pin('/sys/fs/bpf/x')).toThrow(NotSupportedError);
    expect(second.info().id).toBeUndefined();
    using xlink = load(system, 'c', ProgramType.XDP, ret(2));
    expect(() => xlink.attach({ kind: 'xdp', interface: 'eth0', replace: 'any' })).not.toThrow();
  });

  it('classic tc filters: EEXIST at a taken priority and handle, replaced with replace: true', () => {
    using system = new MockSystem();
    const eth0 = system.addInterface('eth0');
    using a = load(system, 'a', ProgramType.SCHED_CLS, ret(2));
    using b = load(system, 'b', ProgramType.SCHED_CLS, ret(0));
    using _a = a.attach({ kind: 'tc', interface: 'eth0', direction: 'ingress', priority: 1, handle: 1 });
    expect(() => b.attach({ kind: 'tc', interface: 'eth0', direction: 'ingress', priority: 1, handle: 1 })).toThrow(
      expect.objectContaining({ errno: Errno.EEXIST }),
    );
    using _b = b.attach({ kind: 'tc', interface: 'eth0', direction: 'ingress', priority: 1, handle: 1, replace: true });
    expect(eth0.inject(frame(0))).toMatchObject({ program: 'b', verdict: 'ok' });
  });
});

describe('attach refusals on the mock', () => {
  it('refuses a program of the wrong type with the kernel backend’s error (InvalidArgumentError, or the kernel’s EINVAL)', () => {
    using system = new MockSystem();
    system.addInterface('eth0');
    using xdp = load(system, 'x', ProgramType.XDP, ret(2));
    using tc = load(system, 't', ProgramType.SCHED_CLS, ret(0));
    expect(() => tc.attach({ kind: 'xdp', interface: 'eth0' })).toThrow(/an XDP program \(ProgramType.XDP\)/);
    expect(() => xdp.attach({ kind: 'tc', interface: 'eth0', direction: 'ingress' })).toThrow(/a TC classifier \(ProgramType.SCHED_CLS\)/);
    expect(() => xdp.attach({ kind: 'tcx', interface: 'eth0', direction: 'egress' })).toThrow(InvalidArgumentError);
    expect(() => xdp.attach({ kind: 'kprobe', symbol: 'f' })).toThrow(/kprobe target: program 'x'.*ProgramType.KPROBE/);
    // Where the kernel backend leaves the check to the kernel, its EINVAL.
    expect(() => xdp.attach({ kind: 'tracepoint', group: 'sched', name: 's' })).toThrow(
      expect.objectContaining({ name: 'BpfError', errno: Errno.EINVAL, message: expect.stringMatching(/ProgramType.TRACEPOINT/) }),
    );
    expect(() => xdp.attach({ kind: 'raw_tracepoint', name: 's' })).toThrow(
      expect.objectContaining({
        errno: Errno.EINVAL,
        message: expect.stringMatching(/BPF_RAW_TRACEPOINT_OPEN.*ProgramType.RAW_TRACEPOINT/),
      }),
    );
    expect(() => xdp.attach({ kind: 'uprobe', binary: '/bin/true', offset: 0 })).toThrow(expect.objectContaining({ errno: Errno.EINVAL }));
    expect(() => xdp.attach({ kind: 'kprobe_multi', symbols: ['f'] })).toThrow(InvalidArgumentError);
  });

  it('unknown interfaces are InvalidArgumentError; netns and hooks the mock has not are NotSupportedError', () => {
    using system = new MockSystem();
    using xdp = load(system, 'x', ProgramType.XDP, ret(2));
    expect(() => xdp.attach({ kind: 'xdp', interface: 'eth5' })).toThrow(InvalidArgumentError);
    expect(() => xdp.attach({ kind: 'xdp', interface: 'lo', netns: '/run/netns/blue' })).toThrow(/one network namespace/);
    expect(() => xdp.attach({ kind: 'cgroup', path: '/sys/fs/cgroup', attachType: AttachType.CGROUP_INET_INGRESS })).toThrow(
      expect.objectContaining({ name: 'NotSupportedError', message: expect.stringMatching(/'cgroup'.*xdp, tc, tcx.*kprobe/) }),
    );
    expect(() => xdp.attach({ kind: 'lsm' })).toThrow(NotSupportedError);
    expect(() => xdp.attach({ kind: 'bogus' } as unknown as AttachTarget)).toThrow(/an AttachTarget, whose kind is one of/);
    expect(() => xdp.attach({ kind: 'xdp', interface: 'lo', mode: 'offload' })).toThrow(InvalidArgumentError);
    // A program of another system, and a closed one.
    using other = new MockSystem();
    using foreign = load(other, 'f', ProgramType.XDP, ret(2));
    foreign.object.retain();
    expect(() => system.attach(foreign, { kind: 'xdp', interface: 'lo' })).toThrow(/an open program of this mock system/);
    const closed = load(system, 'c', ProgramType.XDP, ret(2));
    closed.close();
    expect(() => system.attach(closed, { kind: 'xdp', interface: 'lo' })).toThrow(InvalidArgumentError);
    expect(() => system.fire({ kind: 'kprobe_multi', pattern: 'x*' }, ptRegs())).toThrow(InvalidArgumentError);
  });
});
