import path from 'node:path';
import { BpfError, Helper, InvalidArgumentError, MapType, NotSupportedError, ProgramType, u32, u64, VerifierError } from '@bpfkit/core';
import { assemble } from '@bpfkit/elf';
import { describe, expect, it } from 'vitest';
import { MockSystem } from './mock-system.js';
import { ldMapFd, markMapFds } from './test-support/index.js';

const testdata = path.resolve(import.meta.dirname, '../../bpfkit/testdata');
const XDP_DROP = 1;
const XDP_PASS = 2;

/** `lddw rN, map_fd fd` as the two instructions of a BPF_PSEUDO_MAP_FD load. */

function xdp(system: MockSystem, name: string, asm: string) {
  return system.loadProgram({ name, type: ProgramType.XDP, license: 'GPL', instructions: markMapFds(assemble(asm)) });
}

function packet(size: number, fill = 0): Uint8Array {
  return new Uint8Array(size).fill(fill);
}

describe('programs on the mock backend', () => {
  it('counts packets in an array map and drops by a byte of the packet', () => {
    using system = new MockSystem();
    using counts = system.createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 }, { key: u32, value: u64 });
    // counts[0]++ for every packet; drop (and counts[1]++) when byte 14 is 0x45.
    using prog = xdp(
      system,
      'count',
      `
      mov %r6, %r1
      stw [%r10-4], 0
      ${ldMapFd(1, counts.fd)}
      mov %r2, %r10
      add %r2, -4
      call 1
      jeq %r0, 0, +3
      ldxdw %r1, [%r0+0]
      add %r1, 1
      stxdw [%r0+0], %r1
      ldxw %r2, [%r6+0]
      ldxw %r3, [%r6+4]
      mov %r4, %r2
      add %r4, 15
      jgt %r4, %r3, +14
      ldxb %r4, [%r2+14]
      jne %r4, 0x45, +12
      stw [%r10-4], 1
      ${ldMapFd(1, counts.fd)}
      mov %r2, %r10
      add %r2, -4
      call 1
      jeq %r0, 0, +3
      ldxdw %r1, [%r0+0]
      add %r1, 1
      stxdw [%r0+0], %r1
      mov %r0, ${XDP_DROP}
      exit
      mov %r0, ${XDP_PASS}
      exit`,
    );
    const ip = packet(64);
    ip[14] = 0x45;
    expect(prog.testRun({ data: ip }).returnValue).toBe(XDP_DROP);
    expect(prog.testRun({ data: packet(64) }).returnValue).toBe(XDP_PASS);
    expect(prog.testRun({ data: ip }).returnValue).toBe(XDP_DROP);
    expect(counts.lookup(0)).toBe(3n);
    expect(counts.lookup(1)).toBe(2n);
    // The program keeps its maps: the handle closed, it still counts.
    expect(prog.info().mapIds).toEqual([counts.info().id]);
  });

  it('testRun repeat runs the program that many times and reports a mean duration', () => {
    using system = new MockSystem();
    using counts = system.createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 }, { key: u32, value: u64 });
    using prog = xdp(
      system,
      'repeat',
      `stw [%r10-4], 0
      ${ldMapFd(1, counts.fd)}
      mov %r2, %r10
      add %r2, -4
      call 1
      jeq %r0, 0, +2
      mov %r1, 1
      lock add [%r0+0], %r1
      mov %r0, 2
      exit`,
    );
    const r = prog.testRun({ data: packet(64), repeat: 1000 });
    expect(r.returnValue).toBe(XDP_PASS);
    expect(counts.lookup(0)).toBe(1000n);
    expect(r.duration).toBeGreaterThan(0);
    expect(r.dataSizeOut).toBe(64);
    // Raw tracepoint programs run once, as on the kernel.
    using tp = system.loadProgram({
      name: 'tp',
      type: ProgramType.RAW_TRACEPOINT,
      license: 'GPL',
      instructions: assemble('mov %r0, 7\nexit'),
    });
    expect(() => tp.testRun({ repeat: 2 })).toThrow(InvalidArgumentError);
    expect(tp.testRun().returnValue).toBe(7);
  });

  it('xdp_adjust_head and xdp_adjust_tail move the packet, and the data out is the packet as left', () => {
    using system = new MockSystem();
    // Push 4 bytes of 0xee at the head, grow the tail by 6 (zeros), return the new length.
    using prog = xdp(
      system,
      'adjust',
      `mov %r6, %r1
      mov %r2, -4
      call ${Helper.xdp_adjust_head}
      jne %r0, 0, +14
      mov %r1, %r6
      mov %r2, 6
      call ${Helper.xdp_adjust_tail}
      jne %r0, 0, +11
      ldxw %r2, [%r6+0]
      ldxw %r3, [%r6+4]
      mov %r4, %r2
      add %r4, 4
      jgt %r4, %r3, +6
      stw [%r2+0], 0xeeeeeeee
      mov %r0, %r3
      sub %r0, %r2
      exit
      mov %r0, 0
      exit
      mov %r0, 0
      exit`,
    );
    const input = new Uint8Array(64).map((_, i) => i + 1);
    const r = prog.testRun({ data: input });
    expect(r.returnValue).toBe(74);
    expect(r.dataSizeOut).toBe(74);
    expect([...r.data.subarray(0, 4)]).toEqual([0xee, 0xee, 0xee, 0xee]);
    expect([...r.data.subarray(4, 68)]).toEqual([...input]);
    expect([...r.data.subarray(68)]).toEqual([0, 0, 0, 0, 0, 0]);
    // Past the headroom (256 bytes, 40 of them the kernel's xdp_frame): -EINVAL.
    using far = xdp(system, 'far', `mov %r2, -217\ncall ${Helper.xdp_adjust_head}\nexit`);
    expect(far.testRun({ data: packet(64) }).returnValue).toBe(-22 >>> 0);
    using near = xdp(system, 'near', `mov %r2, -216\ncall ${Helper.xdp_adjust_head}\nexit`);
    expect(near.testRun({ data: packet(64) }).returnValue).toBe(0);
    // Shrinking below an Ethernet header: -EINVAL.
    using shrink = xdp(system, 'shrink', `mov %r2, -51\ncall ${Helper.xdp_adjust_tail}\nexit`);
    expect(shrink.testRun({ data: packet(64) }).returnValue).toBe(-22 >>> 0);
  });

  it('an xdp_md context in: data_end must be the packet length; the context out says where the packet ends', () => {
    using system = new MockSystem();
    using prog = xdp(system, 'ctx', `mov %r2, 8\ncall ${Helper.xdp_adjust_tail}\nmov %r0, 2\nexit`);
    const ctx = new Uint8Array(24);
    new DataView(ctx.buffer).setUint32(4, 64, true);
    new DataView(ctx.buffer).setUint32(16, 3, true); // rx_queue_index
    const r = prog.testRun({ data: packet(64), context: ctx });
    const out = new DataView(r.context!.buffer, r.context!.byteOffset);
    expect(r.context!.byteLength).toBe(24);
    expect([out.getUint32(0, true), out.getUint32(4, true), out.getUint32(16, true)]).toEqual([0, 72, 3]);
    new DataView(ctx.buffer).setUint32(4, 60, true);
    expect(() => prog.testRun({ data: packet(64), context: ctx })).toThrow(BpfError);
  });

  it('reading past data_end is a fault naming the program', () => {
    using system = new MockSystem();
    using prog = xdp(system, 'overread', 'ldxw %r2, [%r1+0]\nldxb %r0, [%r2+64]\nexit');
    expect(() => prog.testRun({ data: packet(64) })).toThrow(/program 'overread': instruction 1: read of 1 byte/);
  });

  it('tail calls go through a program array', () => {
    using system = new MockSystem();
    using target = xdp(system, 'target', 'mov %r0, 1\nexit');
    using jumps = system.createMap({ type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 }, { key: u32, value: u32 });
    using entry = xdp(system, 'entry', `${ldMapFd(2, jumps.fd)}\nmov %r3, 2\ncall 12\nmov %r0, 42\nexit`);
    // An empty slot: the call fails and the program goes on.
    expect(entry.testRun({ data: packet(64) }).returnValue).toBe(42);
    jumps.update(2, target.fd);
    expect(entry.testRun({ data: packet(64) }).returnValue).toBe(1);
    // The array keeps the program: closing its handle leaves it in the slot.
    target.close();
    expect(entry.testRun({ data: packet(64) }).returnValue).toBe(1);
  });

  it('bpf_loop calls the callback until it returns non-zero', () => {
    using system = new MockSystem();
    // sum of 0..9 into the stack through the callback's context pointer; loop returns the iterations.
    // No function-pointer syntax in the assembler: the lddw becomes a BPF_PSEUDO_FUNC (src 4) to instruction 12.
    const insns = markMapFds(
      assemble(`stdw [%r10-8], 0
      mov %r1, 10
      lddw %r2, 0
      mov %r3, %r10
      add %r3, -8
      mov %r4, 0
      call ${Helper.loop}
      ldxdw %r1, [%r10-8]
      lsh %r0, 16
      or %r0, %r1
      exit
      ldxdw %r3, [%r2+0]
      add %r3, %r1
      stxdw [%r2+0], %r3
      mov %r0, 0
      exit`),
    );
    insns[2 * 8 + 1] = (insns[2 * 8 + 1] as number) | (4 << 4);
    new DataView(insns.buffer).setInt32(2 * 8 + 4, 12 - 3, true);
    using looped = system.loadProgram({ name: 'loop', type: ProgramType.XDP, license: 'GPL', instructions: insns });
    expect(looped.testRun({ data: packet(64) }).returnValue).toBe((10 << 16) | 45);
  });

  it('bpf_ringbuf_output, reserve/submit and discard leave records for the test', () => {
    using system = new MockSystem();
    using events = system.createMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
    using prog = xdp(
      system,
      'events',
      `mov %r6, %r1
      stdw [%r10-8], 0x1234
      ${ldMapFd(1, events.fd)}
      mov %r2, %r10
      add %r2, -8
      mov %r3, 8
      mov %r4, 0
      call ${Helper.ringbuf_output}
      ${ldMapFd(1, events.fd)}
      mov %r2, 4
      mov %r3, 0
      call ${Helper.ringbuf_reserve}
      jeq %r0, 0, +10
      stw [%r0+0], 0x55667788
      mov %r1, %r0
      mov %r2, 0
      call ${Helper.ringbuf_submit}
      ${ldMapFd(1, events.fd)}
      mov %r2, 4
      mov %r3, 0
      call ${Helper.ringbuf_reserve}
      mov %r1, %r0
      mov %r2, 0
      call ${Helper.ringbuf_discard}
      mov %r0, 2
      exit`,
    );
    expect(prog.testRun({ data: packet(64) }).returnValue).toBe(XDP_PASS);
    const records = system.takeRecords(events);
    expect(records.map((r) => [...r])).toEqual([
      [0x34, 0x12, 0, 0, 0, 0, 0, 0],
      [0x88, 0x77, 0x66, 0x55],
    ]);
    expect(system.takeRecords(events)).toEqual([]);
  });

  it('bpf_perf_event_output queues records; queues push and pop; skb_load_bytes and skb_store_bytes reach the packet', () => {
    using system = new MockSystem({ environment: { cpu: 1 } });
    using perf = system.createMap({ type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
    using queue = system.createMap({ type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 4 });
    using prog = xdp(
      system,
      'perf',
      `stdw [%r10-8], 0x0201
      ${ldMapFd(2, perf.fd)}
      lddw %r3, 0xffffffff
      mov %r4, %r10
      add %r4, -8
      mov %r5, 2
      call ${Helper.perf_event_output}
      stw [%r10-4], 11
      ${ldMapFd(1, queue.fd)}
      mov %r2, %r10
      add %r2, -4
      mov %r3, 0
      call ${Helper.map_push_elem}
      stw [%r10-4], 22
      ${ldMapFd(1, queue.fd)}
      mov %r2, %r10
      add %r2, -4
      mov %r3, 0
      call ${Helper.map_push_elem}
      ${ldMapFd(1, queue.fd)}
      mov %r2, %r10
      add %r2, -4
      call ${Helper.map_pop_elem}
      ldxw %r0, [%r10-4]
      exit`,
    );
    expect(prog.testRun({ data: packet(64) }).returnValue).toBe(11);
    expect(system.takeRecords(perf).map((r) => [...r])).toEqual([[1, 2]]);
    expect(queue.pop()).toEqual(new Uint8Array([22, 0, 0, 0]));
    expect(queue.pop()).toBeUndefined();

    // TC: read the EtherType with skb_load_bytes, write it over the first two bytes, return it.
    using tc = system.loadProgram({
      name: 'tc',
      type: ProgramType.SCHED_CLS,
      license: 'GPL',
      instructions: assemble(`mov %r6, %r1
      mov %r2, 12
      mov %r3, %r10
      add %r3, -8
      mov %r4, 2
      call ${Helper.skb_load_bytes}
      mov %r1, %r6
      mov %r2, 0
      mov %r3, %r10
      add %r3, -8
      mov %r4, 2
      mov %r5, 0
      call ${Helper.skb_store_bytes}
      ldxh %r0, [%r10-8]
      exit`),
    });
    const p = packet(64);
    p[12] = 0x86;
    p[13] = 0xdd;
    const r = tc.testRun({ data: p });
    expect(r.returnValue).toBe(0xdd86);
    expect([...r.data.subarray(0, 2)]).toEqual([0x86, 0xdd]);
    // A map helper given something that is not a map: a fault naming the program.
    using bad = xdp(
      system,
      'bad',
      `mov %r1, 0\nmov %r2, %r10\nadd %r2, -8\nstdw [%r10-8], 0\ncall ${Helper.map_lookup_elem}\nmov %r0, 0\nexit`,
    );
    expect(() => bad.testRun({ data: packet(64) })).toThrow(/program 'bad': instruction 4: bpf_map_lookup_elem: 0x0 is not a map/);
  });

  it('answers the environment: clock, pid, comm, trace_printk', () => {
    using system = new MockSystem({ environment: { clock: () => 123n, pid: 7, tgid: 9, comm: 'tester' } });
    const fmt = Array.from(new TextEncoder().encode('t=%llu\0\0'));
    const fmtWord = new DataView(new Uint8Array(fmt).buffer).getBigUint64(0, true);
    using prog = system.loadProgram({
      name: 'env',
      type: ProgramType.RAW_TRACEPOINT,
      license: 'GPL',
      instructions: assemble(`call ${Helper.ktime_get_ns}
      mov %r3, %r0
      lddw %r1, ${fmtWord}
      stxdw [%r10-8], %r1
      mov %r1, %r10
      add %r1, -8
      mov %r2, 8
      call ${Helper.trace_printk}
      call ${Helper.get_current_pid_tgid}
      exit`),
    });
    const r = prog.testRun();
    expect(r.returnValue).toBe(7);
    expect(system.traceLog).toEqual(['t=123']);
    system.environment.pid = 8;
    expect(prog.testRun().returnValue).toBe(8);
  });

  it('refuses what it cannot run, naming it', () => {
    using system = new MockSystem();
    const insns = assemble('mov %r0, 0\nexit');
    expect(() => system.loadProgram({ name: 'lsm', type: ProgramType.LSM, license: 'GPL', instructions: insns })).toThrow(
      NotSupportedError,
    );
    // A helper the mock does not implement: the load fails naming it and the program.
    expect(() => xdp(system, 'lookup', `call ${Helper.sk_lookup_tcp}\nexit`)).toThrow(/helper bpf_sk_lookup_tcp#84.*program 'lookup'/);
    // A helper the program type may not call: the verifier's words.
    expect(() => xdp(system, 'skb', `call ${Helper.skb_load_bytes}\nexit`)).toThrow(VerifierError);
    using prog = xdp(system, 'p', 'mov %r0, 2\nexit');
    expect(() => prog.attach({ kind: 'cgroup', path: '/sys/fs/cgroup', attachType: 0 })).toThrow(/mock backend/);
    expect(() => prog.testRun({ data: new Uint8Array(8) })).toThrow(InvalidArgumentError);
    expect(() =>
      system.loadProgram({
        name: 'bad',
        type: ProgramType.XDP,
        license: 'GPL',
        instructions: markMapFds(assemble(`${ldMapFd(1, 999)}\nexit`)),
      }),
    ).toThrow(BpfError);
    using kp = system.loadProgram({ name: 'kp', type: ProgramType.KPROBE, license: 'GPL', instructions: insns });
    expect(() => kp.testRun()).toThrow(NotSupportedError);
  });

  it('socket filters see the packet from the network header; TC programs from the link layer', () => {
    using system = new MockSystem();
    // r0 = skb->len; and skb->protocol in the high bits.
    const asm = 'ldxw %r0, [%r1+0]\nldxw %r2, [%r1+16]\nlsh %r2, 16\nor %r0, %r2\nexit';
    using sf = system.loadProgram({ name: 'sf', type: ProgramType.SOCKET_FILTER, license: 'GPL', instructions: assemble(asm) });
    using tc = system.loadProgram({ name: 'tc', type: ProgramType.SCHED_CLS, license: 'GPL', instructions: assemble(asm) });
    const p = packet(64, 0x11);
    p[12] = 0x08;
    p[13] = 0x00;
    const s = sf.testRun({ data: p });
    expect(s.returnValue).toBe((0x0008 << 16) | 50);
    // The kernel gives the link-layer header back zeroed to a socket filter's run.
    expect([...s.data.subarray(0, 14)]).toEqual(new Array(14).fill(0));
    expect(s.dataSizeOut).toBe(64);
    expect(tc.testRun({ data: p }).returnValue).toBe((0x0008 << 16) | 64);
  });
});

describe('collections on the mock backend', () => {
  it("typed.bpf.o's count counts packets and bytes and records a flow", () => {
    using system = new MockSystem({ possibleCpus: 2 });
    using coll = system.loadCollection(path.join(testdata, 'typed.bpf.o'));
    expect(Object.keys(coll.programs)).toEqual(['count']);
    const r = coll.programs.count!.testRun({ data: packet(60), repeat: 3 });
    expect(r.returnValue).toBe(XDP_PASS);
    const totals = coll.maps.totals!.lookup(new Uint8Array(4)) as Uint8Array;
    const view = new DataView(totals.buffer, totals.byteOffset);
    expect(view.getBigUint64(0, true)).toBe(3n);
    expect(view.getBigUint64(8, true)).toBe(180n);
    // hits is per-CPU: the program ran on CPU 0.
    const hits = coll.maps.hits!.lookup(new Uint8Array(4)) as Uint8Array;
    expect(new DataView(hits.buffer, hits.byteOffset).getBigUint64(0, true)).toBe(3n);
    expect(new DataView(hits.buffer, hits.byteOffset).getBigUint64(8, true)).toBe(0n);
    // The flow key's saddr is the constant drop_protocol (6 as compiled, 17 when set).
    const flowKey = (saddr: number) => new Uint8Array([saddr, 0, 0, 0, 2, 0, 0, 0, 3, 0, 4, 0]);
    expect(coll.maps.flows!.lookup(flowKey(6))).toEqual(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]));
    using again = system.loadCollection(path.join(testdata, 'typed.bpf.o'), { constants: { drop_protocol: 17 } });
    again.programs.count!.testRun({ data: packet(60) });
    expect(again.maps.flows!.lookup(flowKey(17))).toEqual(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]));
  });

  it("callbacks.bpf.o's loops, for_each and plain give the kernel's results", () => {
    using system = new MockSystem();
    const file = path.join(testdata, 'callbacks.bpf.o');
    using coll = system.loadCollection(file, { programs: ['loops', 'for_each', 'plain'] });
    const key = (i: number) => new Uint8Array(new Uint32Array([i]).buffer);
    const result = (slot: number) => {
      const v = coll.maps.results!.lookup(key(slot)) as Uint8Array;
      return new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
    };
    coll.programs.loops!.testRun({ data: packet(64) });
    expect(result(0)).toBe(45n);
    for (let i = 0; i < 4; i++) coll.maps.values!.update(key(i), new Uint8Array(new BigUint64Array([BigInt(i + 1)]).buffer));
    coll.programs.for_each!.testRun({ data: packet(64) });
    expect(result(1)).toBe(10n);
    coll.programs.plain!.testRun({ data: packet(64) });
    expect(result(6)).toBe(1n);
    using hidden = system.loadCollection(file, { programs: ['hidden_global'] });
    hidden.programs.hidden_global!.testRun({ data: packet(64) });
    const v = hidden.maps.results!.lookup(key(5)) as Uint8Array;
    expect(new DataView(v.buffer, v.byteOffset).getBigUint64(0, true)).toBe(42n);
    // The timer program needs helpers the mock does not implement yet: refused naming the helper and the program.
    expect(() => system.loadCollection(file, { programs: ['timer'] })).toThrow(/helper bpf_timer_init#169.*program 'timer'/);
  });

  it("packets.bpf.o's programs grow and shrink the packet as on the kernel", () => {
    using system = new MockSystem();
    using coll = system.loadCollection(path.join(testdata, 'packets.bpf.o'));
    const p = coll.programs;
    const input = new Uint8Array(64).map((_, i) => i);
    const grown = p.xdp_grow!.testRun({ data: input });
    expect(grown.returnValue).toBe(2);
    expect(grown.dataSizeOut).toBe(80);
    expect(grown.data.byteLength).toBe(80);
    expect(grown.data[0]).toBe(0xaa);
    expect(Buffer.from(grown.data.subarray(1, 64)).equals(Buffer.from(input.subarray(1)))).toBe(true);
    const shrunk = p.xdp_shrink!.testRun({ data: input });
    expect(shrunk.dataSizeOut).toBe(48);
    expect(Buffer.from(shrunk.data).equals(Buffer.from(input.subarray(0, 48)))).toBe(true);
    const pushed = p.xdp_push_head!.testRun({ data: input });
    expect(pushed.dataSizeOut).toBe(72);
    expect([...pushed.data.subarray(0, 8)]).toEqual(new Array(8).fill(0xbb));
    expect(Buffer.from(pushed.data.subarray(8)).equals(Buffer.from(input))).toBe(true);
    const tcGrown = p.tc_grow!.testRun({ data: input });
    expect(tcGrown.returnValue).toBe(0);
    expect(tcGrown.dataSizeOut).toBe(74);
    expect(Buffer.from(tcGrown.data.subarray(0, 64)).equals(Buffer.from(input))).toBe(true);
    const tcShrunk = p.tc_shrink!.testRun({ data: input });
    expect(tcShrunk.returnValue).toBe(0);
    expect(tcShrunk.dataSizeOut).toBe(54);
    expect(Buffer.from(tcShrunk.data).equals(Buffer.from(input.subarray(0, 54)))).toBe(true);
  });

  it('unloading programs frees the memory regions of their global data', () => {
    using system = new MockSystem();
    const mapped = () => system.runtime.memory.regions.filter((r) => r !== undefined).length;
    // The stacks of the frames are the machine's own, mapped on first use.
    using warm = system.loadProgram({
      name: 'warm',
      type: ProgramType.XDP,
      license: 'GPL',
      instructions: assemble('stw [%r10-4], 0\nmov %r0, 2\nexit'),
    });
    warm.testRun({ data: packet(64) });
    const before = mapped();
    for (let i = 0; i < 3; i++) {
      using coll = system.loadCollection(path.join(testdata, 'typed.bpf.o'));
      coll.programs.count!.testRun({ data: packet(60) });
      expect(mapped()).toBeGreaterThan(before);
    }
    expect(mapped()).toBe(before);
  });

  it('fills program arrays and map-in-maps the object initialises: tailcalls.bpf.o dispatches by its constant', () => {
    using system = new MockSystem();
    const file = path.resolve(testdata, '../../elf/testdata/tailcalls.bpf.o');
    const answers = (coll: { maps: Record<string, { lookup(k: Uint8Array): unknown }> }) => {
      const v = coll.maps.answers!.lookup(new Uint8Array(4)) as Uint8Array;
      return new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
    };
    using pass = system.loadCollection(file);
    expect(pass.programs.dispatch!.testRun({ data: packet(64) }).returnValue).toBe(XDP_PASS);
    expect(answers(pass)).toBe(1n); // through the inner map of outer[1]
    using drop = system.loadCollection(file, { constants: { slot: 2 } });
    expect(drop.programs.dispatch!.testRun({ data: packet(64) }).returnValue).toBe(XDP_DROP);
    // An empty slot: the tail call fails and dispatch returns XDP_ABORTED.
    using empty = system.loadCollection(file, { constants: { slot: 1 } });
    expect(empty.programs.dispatch!.testRun({ data: packet(64) }).returnValue).toBe(0);
  });
});
