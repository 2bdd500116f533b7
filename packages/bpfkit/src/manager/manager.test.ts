import path from 'node:path';
import { InvalidArgumentError, struct, u32, u64 } from '@bpfkit/core';
import { MockSystem, ptRegs } from '@bpfkit/mock';
import { describe, expect, it } from 'vitest';
import { describeTarget, ManagerStartError } from './errors.js';
import { Manager } from './manager.js';
import { defineReader } from './spec.js';

// Manager behaviour that needs no kernel (the contract suite runs the rest on both backends).

const OBJECT = path.resolve(import.meta.dirname, '../../testdata/manager.bpf.o');
const PROBES = path.resolve(import.meta.dirname, '../../testdata/manager_probes.bpf.o');
const OPENAT = { kind: 'tracepoint', group: 'syscalls', name: 'sys_enter_openat' } as const;
const event = struct({ pid: [0, u32], kind: [4, u32], seq: [8, u64] }, { size: 16, name: 'struct event' });

describe('Manager (mock only)', () => {
  it('refuses a spec it cannot run, naming what was expected', () => {
    using system = new MockSystem();
    expect(() => new Manager({ system, objects: {} })).toThrow(/at least one object/);
    expect(() => new Manager({ system: {} as MockSystem, objects: { a: { object: OBJECT } } })).toThrow(/a System/);
    expect(
      () =>
        new Manager({
          system,
          objects: { a: { object: OBJECT } },
          attachments: [
            { name: 'x', program: 'on_openat', target: OPENAT },
            { name: 'x', program: 'on_getcwd', target: OPENAT },
          ],
        }),
    ).toThrow(InvalidArgumentError);
  });

  it('a reader with a codec hands decoded records; a handler that throws is counted and reported', async () => {
    using system = new MockSystem();
    const seen: number[] = [];
    const errors: string[] = [];
    let calls = 0;
    const manager = new Manager({
      system,
      objects: { tracer: { object: OBJECT, options: { ignorePinning: true } } },
      attachments: [{ program: 'on_openat', target: OPENAT }],
      readers: [
        defineReader({
          map: 'events',
          codec: event,
          flushIntervalMs: 5,
          handler(batch) {
            calls++;
            seen.push(...batch.map((e) => Number(e.seq)));
            if (calls === 1) throw new Error('first batch refused');
          },
        }),
      ],
      onError: (err, reader) => errors.push(`${reader}: ${err.message}`),
    });
    await manager.start();
    try {
      system.fire(OPENAT, new Uint8Array(64));
      for (let i = 0; i < 100 && calls < 1; i++) await new Promise((r) => setTimeout(r, 5));
      system.fire(OPENAT, new Uint8Array(64));
      for (let i = 0; i < 100 && calls < 2; i++) await new Promise((r) => setTimeout(r, 5));
      expect(seen).toEqual([0, 1]);
      expect(errors).toEqual(['events: first batch refused']);
      expect(manager.stats().readerStats[0]).toMatchObject({ records: 2, batches: 2, handlerErrors: 1 });
    } finally {
      await manager.stop();
    }
  });

  it('stop drains the readers, but an aborted stop signal stops waiting for a handler that hangs', async () => {
    using system = new MockSystem();
    let handled = 0;
    const manager = new Manager({
      system,
      objects: { tracer: { object: OBJECT, options: { ignorePinning: true } } },
      attachments: [{ program: 'on_openat', target: OPENAT }],
      readers: [
        {
          map: 'events',
          batchSize: 1,
          flushIntervalMs: 1,
          handler: () => {
            handled++;
            return new Promise<void>(() => {}); // never settles
          },
        },
      ],
    });
    await manager.start();
    system.fire(OPENAT, new Uint8Array(64));
    for (let i = 0; i < 100 && handled < 1; i++) await new Promise((r) => setTimeout(r, 5));
    expect(handled).toBe(1);
    const started = Date.now();
    await manager.stop(AbortSignal.timeout(50));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(manager.state).toBe('stopped');
    expect(system.liveObjects).toBe(0);
  });

  it('a start that is already running or done is refused; stop of a stopped manager does nothing', async () => {
    using system = new MockSystem();
    const manager = new Manager({ system, objects: { tracer: { object: OBJECT, options: { ignorePinning: true } } } });
    await manager.stop();
    await manager.start();
    await expect(manager.start()).rejects.toThrow(/start: expected a stopped manager, it is started/);
    await manager.stop();
    await manager.stop();
    expect(manager.state).toBe('stopped');
  });

  it('the attach conveniences make the targets they name; each link runs its program until detached', async () => {
    using system = new MockSystem();
    const manager = new Manager({ system, objects: { probes: { object: PROBES } } });
    await manager.start();
    try {
      manager.attachKprobe('k', 'on_kprobe', 'do_unlinkat', { cookie: 7n });
      manager.attachKretprobe('kr', 'on_kretprobe', 'do_unlinkat');
      manager.attachUprobe('u', 'on_uprobe', '/usr/bin/true', 'main', { pid: 42 });
      manager.attachUretprobe('ur', 'on_uretprobe', '/usr/bin/true', 0x1234);
      manager.attachRawTracepoint('raw', 'on_raw', 'sched_switch');
      expect(manager.links().map((l) => [l.name, l.attachPoint, l.target])).toEqual([
        ['k', 'kprobe do_unlinkat', { kind: 'kprobe', symbol: 'do_unlinkat', cookie: 7n }],
        ['kr', 'kretprobe do_unlinkat', { kind: 'kprobe', symbol: 'do_unlinkat', ret: true }],
        ['u', 'uprobe /usr/bin/true:main pid 42', { kind: 'uprobe', binary: '/usr/bin/true', symbol: 'main', pid: 42 }],
        ['ur', 'uretprobe /usr/bin/true:0x1234', { kind: 'uprobe', binary: '/usr/bin/true', offset: 0x1234, ret: true }],
        ['raw', 'raw_tracepoint sched_switch', { kind: 'raw_tracepoint', name: 'sched_switch' }],
      ]);
      system.fire({ kind: 'kprobe', symbol: 'do_unlinkat' }, ptRegs());
      system.fire({ kind: 'kprobe', symbol: 'do_unlinkat', ret: true }, ptRegs());
      system.fire({ kind: 'uprobe', binary: '/usr/bin/true', symbol: 'main', pid: 42 }, ptRegs());
      system.fire({ kind: 'uprobe', binary: '/usr/bin/true', offset: 0x1234, ret: true }, ptRegs());
      system.fire({ kind: 'raw_tracepoint', name: 'sched_switch' }, new Uint8Array(64));
      const counts = () =>
        ['kprobes', 'kretprobes', 'uprobes', 'uretprobes', 'raw'].map((v) => manager.collection('probes').variables[v]!.get());
      expect(counts()).toEqual([1n, 1n, 1n, 1n, 1n]);
      expect(manager.detach('k')).toBe(true);
      system.fire({ kind: 'kprobe', symbol: 'do_unlinkat' }, ptRegs());
      expect(counts()[0]).toBe(1n);
      expect(manager.programs().find((p) => p.name === 'on_kprobe')!.links).toEqual([]);
    } finally {
      await manager.stop();
    }
  });

  it('a program or map no object has fails its step as a ManagerStartError naming what the objects have', async () => {
    using system = new MockSystem();
    const object = { tracer: { object: OBJECT, options: { ignorePinning: true } } };
    const attach = new Manager({ system, objects: object, attachments: [{ program: 'on_nothing', target: OPENAT }] });
    const err = (await attach.start().catch((e: unknown) => e)) as ManagerStartError;
    expect(err).toBeInstanceOf(ManagerStartError);
    expect(err.step).toMatchObject({ kind: 'attach', name: 'on_nothing', object: '(none)' });
    expect(err.message).toMatch(/a program of the loaded objects \(tracer\/on_openat, tracer\/on_getcwd\)/);
    const read = new Manager({ system, objects: object, readers: [{ map: 'nope', handler: () => {} }] });
    const err2 = (await read.start().catch((e: unknown) => e)) as ManagerStartError;
    expect(err2.step).toMatchObject({ kind: 'reader', name: 'nope' });
    expect(err2.cause).toBeInstanceOf(InvalidArgumentError);
    const wrongKind = new Manager({ system, objects: object, readers: [{ map: 'pid_filter', handler: () => {} }] });
    await expect(wrongKind.start()).rejects.toThrow(/a ring buffer \(BPF_MAP_TYPE_RINGBUF\) or perf event array/);
    expect(system.liveObjects).toBe(0);
  });

  it('describes attach points', () => {
    expect(describeTarget({ kind: 'kprobe', symbol: 'do_unlinkat', ret: true })).toBe('kretprobe do_unlinkat');
    expect(describeTarget({ kind: 'uprobe', binary: '/bin/true', offset: 0x10, pid: 3 })).toBe('uprobe /bin/true:0x10 pid 3');
    expect(describeTarget({ kind: 'tcx', interface: 'veth0', direction: 'egress' })).toBe('tcx egress veth0');
    expect(describeTarget({ kind: 'xdp', interface: 'veth0', mode: 'generic' })).toBe('xdp veth0 (generic)');
  });
});
