import path from 'node:path';
import { Helper, InvalidArgumentError, MapType, ProgramType } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { MockSystem } from '../mock-system.js';
import { load } from '../test-support/hook-programs.js';
import { ldMapFd } from '../test-support/index.js';
import { ptRegs, PT_REGS_SIZE } from './pt-regs.js';

/** kprobe: returns PT_REGS_PARM1 + PT_REGS_PARM2 (di + si). */
const SUM_ARGS = 'ldxdw %r2, [%r1+112]\nldxdw %r3, [%r1+104]\nadd %r2, %r3\nmov %r0, %r2\nexit';
/** kretprobe: returns PT_REGS_RC (ax). */
const RC = 'ldxdw %r0, [%r1+80]\nexit';

describe('ptRegs', () => {
  it('lays the arguments, return value and ip out as x86-64 pt_regs', () => {
    const regs = ptRegs({ args: [1n, 2n, 3, 4n, 5n, -1n], ret: 7n, ip: 0x1234n, sp: 8n, registers: { r10: 9n } });
    const view = new DataView(regs.buffer);
    expect(regs.length).toBe(PT_REGS_SIZE);
    expect([112, 104, 96, 88, 72, 64].map((o) => view.getBigUint64(o, true))).toEqual([1n, 2n, 3n, 4n, 5n, 0xffffffffffffffffn]);
    expect(view.getBigUint64(80, true)).toBe(7n);
    expect(view.getBigUint64(128, true)).toBe(0x1234n);
    expect(view.getBigUint64(152, true)).toBe(8n);
    expect(view.getBigUint64(56, true)).toBe(9n);
    expect(() => ptRegs({ args: [1, 2, 3, 4, 5, 6, 7] })).toThrow(InvalidArgumentError);
  });
});

describe('probes fired by the test', () => {
  it('a kprobe reads its arguments from pt_regs; a kretprobe its return value; kprobe_multi covers the function', () => {
    using system = new MockSystem();
    using entry = load(system, 'entry', ProgramType.KPROBE, SUM_ARGS);
    using exit = load(system, 'exit', ProgramType.KPROBE, RC);
    using multi = load(system, 'multi', ProgramType.KPROBE, 'mov %r0, 99\nexit');
    using _e = entry.attach({ kind: 'kprobe', symbol: 'do_unlinkat' });
    using _x = exit.attach({ kind: 'kprobe', symbol: 'do_unlinkat', ret: true });
    using _m = multi.attach({ kind: 'kprobe_multi', pattern: 'do_un*' });
    expect(system.fire({ kind: 'kprobe', symbol: 'do_unlinkat' }, ptRegs({ args: [40n, 2n] }))).toEqual([
      { program: 'entry', returnValue: 42 },
      { program: 'multi', returnValue: 99 },
    ]);
    expect(system.fire({ kind: 'kprobe', symbol: 'do_unlinkat', ret: true }, { ret: 5n })).toEqual([{ program: 'exit', returnValue: 5 }]);
    expect(system.fire({ kind: 'kprobe', symbol: 'do_rmdir' }, ptRegs())).toEqual([]);
    expect(() => system.fire({ kind: 'kprobe', symbol: 'do_unlinkat' }, new Uint8Array(8))).toThrow(InvalidArgumentError);
  });

  it('runs programs in attach order, with the environment the helpers answer from', () => {
    using system = new MockSystem();
    system.environment.pid = 1234;
    system.environment.tgid = 1200;
    // Returns the tgid (bpf_get_current_pid_tgid >> 32).
    using tgid = load(system, 'tgid', ProgramType.KPROBE, `call ${Helper.get_current_pid_tgid}\nrsh %r0, 32\nexit`);
    using pid = load(system, 'pid', ProgramType.KPROBE, `call ${Helper.get_current_pid_tgid}\nexit`);
    using _b = pid.attach({ kind: 'uprobe', binary: '/usr/bin/app', symbol: 'main' });
    using _a = tgid.attach({ kind: 'uprobe', binary: '/usr/bin/app', symbol: 'main', pid: 1200 });
    expect(system.fire({ kind: 'uprobe', binary: '/usr/bin/app', symbol: 'main' }, ptRegs())).toEqual([
      { program: 'pid', returnValue: 1234 },
      { program: 'tgid', returnValue: 1200 },
    ]);
    // The pid filter: another process runs only the unfiltered program.
    expect(system.fire({ kind: 'uprobe', binary: '/usr/bin/app', symbol: 'main', pid: 7 }, ptRegs()).map((r) => r.program)).toEqual([
      'pid',
    ]);
  });

  it('a raw tracepoint takes its u64 arguments as the context', () => {
    using system = new MockSystem();
    using prog = load(system, 'second', ProgramType.RAW_TRACEPOINT, 'ldxdw %r0, [%r1+8]\nexit');
    using _l = prog.attach({ kind: 'raw_tracepoint', name: 'sched_switch' });
    expect(system.fire({ kind: 'raw_tracepoint', name: 'sched_switch' }, [1n, 77n])).toEqual([{ program: 'second', returnValue: 77 }]);
    expect(system.fire({ kind: 'raw_tracepoint', name: 'sched_wakeup' }, [1n, 77n])).toEqual([]);
  });

  it('a tracepoint program writes its record to a ring buffer that openRingBuffer reads', async () => {
    using system = new MockSystem();
    using events = system.createMap({ name: 'events', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
    // bpf_ringbuf_output(&events, ctx + 8, 8, 0): the record's first field after the common header.
    using prog = load(
      system,
      'on_exec',
      ProgramType.TRACEPOINT,
      `mov %r2, %r1
      add %r2, 8
      ${ldMapFd(1, events.fd)}
      mov %r3, 8
      mov %r4, 0
      call ${Helper.ringbuf_output}
      exit`,
    );
    using _l = prog.attach({ kind: 'tracepoint', group: 'sched', name: 'sched_process_exec' });
    using reader = system.openRingBuffer(events);
    const record = (value: number) => {
      const bytes = new Uint8Array(16);
      new DataView(bytes.buffer).setBigUint64(8, BigInt(value), true);
      return bytes;
    };
    expect(system.fire({ kind: 'tracepoint', group: 'sched', name: 'sched_process_exec' }, record(11))).toEqual([
      { program: 'on_exec', returnValue: 0 },
    ]);
    system.fire({ kind: 'tracepoint', group: 'sched', name: 'sched_process_exec' }, record(12));
    const got: bigint[] = [];
    for await (const r of reader) {
      got.push(new DataView(r.buffer, r.byteOffset).getBigUint64(0, true));
      if (got.length === 2) break;
    }
    expect(got).toEqual([11n, 12n]);
  });

  it('uprobe_multi runs for each of its symbols and offsets; firing several functions runs each in turn', () => {
    using system = new MockSystem();
    using prog = load(system, 'multi', ProgramType.KPROBE, RC);
    using _l = prog.attach({ kind: 'uprobe_multi', binary: 'libc.so.6', symbols: ['malloc', 'free'], offsets: [0x40] });
    expect(system.fire({ kind: 'uprobe', binary: 'libc.so.6', symbol: 'free' }, { ret: 3n })).toEqual([
      { program: 'multi', returnValue: 3 },
    ]);
    expect(system.fire({ kind: 'uprobe', binary: 'libc.so.6', offset: 0x40 }, { ret: 4n })).toEqual([{ program: 'multi', returnValue: 4 }]);
    expect(system.fire({ kind: 'uprobe', binary: 'libc.so.6', symbol: 'calloc' }, { ret: 4n })).toEqual([]);
    expect(system.fire({ kind: 'uprobe_multi', binary: 'libc.so.6', symbols: ['malloc', 'calloc', 'free'] }, { ret: 5n })).toEqual([
      { program: 'multi', returnValue: 5, symbol: 'malloc' },
      { program: 'multi', returnValue: 5, symbol: 'free' },
    ]);
    // The entry program is not a return probe: a uretprobe fire does not run it.
    expect(system.fire({ kind: 'uprobe', binary: 'libc.so.6', symbol: 'free', ret: true }, ptRegs())).toEqual([]);
  });

  it("bpf_get_attach_cookie gives each attachment's cookie (kprobe_multi: the fired symbol's)", () => {
    using system = new MockSystem();
    using prog = load(system, 'cookie', ProgramType.KPROBE, `call ${Helper.get_attach_cookie}\nexit`);
    using _k = prog.attach({ kind: 'kprobe', symbol: 'f', cookie: 11n });
    using _m = prog.attach({ kind: 'kprobe_multi', symbols: ['f', 'g'], cookies: [21n, 22n] });
    expect(system.fire({ kind: 'kprobe', symbol: 'f' }, ptRegs()).map((r) => r.returnValue)).toEqual([11, 21]);
    expect(system.fire({ kind: 'kprobe', symbol: 'g' }, ptRegs()).map((r) => r.returnValue)).toEqual([22]);
    // Outside a fired probe (a test run) it is 0.
    using raw = load(system, 'raw_cookie', ProgramType.RAW_TRACEPOINT, `call ${Helper.get_attach_cookie}\nexit`);
    expect(raw.testRun({}).returnValue).toBe(0);
  });

  it('basics.bpf.o: trace_openat on its tracepoint reserves and submits a record the reader gets; count_packets on an interface', async () => {
    using system = new MockSystem();
    using coll = system.loadCollection(path.resolve(import.meta.dirname, '../../../elf/testdata/basics.bpf.o'), {
      pinPath: '/sys/fs/bpf/basics',
    });
    using _t = coll.programs.trace_openat!.attach({ kind: 'tracepoint', group: 'syscalls', name: 'sys_enter_openat' });
    using reader = system.openRingBuffer(coll.maps.events!);
    expect(system.fire({ kind: 'tracepoint', group: 'syscalls', name: 'sys_enter_openat' }, new Uint8Array(64))).toEqual([
      { program: 'trace_openat', returnValue: 0 },
    ]);
    const records: number[] = [];
    await reader.poll((r) => records.push(new DataView(r.buffer, r.byteOffset).getUint32(0, true)), 1000);
    expect(records).toEqual([7]);
    const eth0 = system.addInterface('eth0');
    using _x = coll.programs.count_packets!.attach({ kind: 'xdp', interface: 'eth0' });
    expect(eth0.inject(new Uint8Array(64))).toMatchObject({ stage: 'xdp', verdict: 'pass', outcome: 'received' });
    eth0.inject(new Uint8Array(64));
    expect(coll.variables.packets!.get()).toBe(2n);
  });
});
