// KernelProgram.testRun on the kernel, per program type: what BPF_PROG_TEST_RUN serves
// (data in/out, context in/out, repeat, flags) and what bpfkit refuses before the call.
import os from 'node:os';
import {
  BpfError,
  Errno,
  InvalidArgumentError,
  NotSupportedError,
  ProgramType,
  TestRunFlag,
  testRunUnsupported,
  XdpAction,
} from '@bpfkit/core';
import { closeFd, inNetns, onlineCpus, progLoad, progTestRun } from '@bpfkit/syscalls';
import { networkFixtureUnavailable, vethPair, whenKernel } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import { KernelProgram, loadKernelProgram } from './program.js';
import { assemble, counters, countInto, I } from './test-support/packet-programs.js';

const LE = os.endianness() === 'LE';
const BPF_F_SLEEPABLE = 1 << 4;
const HELPER = { getSmpProcessorId: 8, xdpAdjustHead: 44, xdpAdjustTail: 65 } as const;

/** A packet of `n` bytes counting up from 1, so a shifted or cut copy shows. */
const packet = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i + 1) & 0xff);

/** `r0 = bpf_xdp_adjust_<head|tail>(ctx, delta)`; on failure returns XDP_ABORTED. */
const adjust = (helper: number, delta: number) => [
  I(0xbf, { dst: 6, src: 1 }), // r6 = ctx
  I(0xb7, { dst: 2, imm: delta }), // r2 = delta
  I(0x85, { imm: helper }),
  I(0x55, { dst: 0, imm: 0 }, 'aborted'), // if r0 != 0 goto aborted
];

/** Grows the packet by 8 bytes at the front and writes 0xa1..0xa8 there; XDP_PASS. */
const GROW_HEAD = assemble([
  ...adjust(HELPER.xdpAdjustHead, -8),
  I(0x61, { dst: 2, src: 6, offset: 4 }), // r2 = ctx->data_end
  I(0x61, { dst: 1, src: 6, offset: 0 }), // r1 = ctx->data
  I(0xbf, { dst: 3, src: 1 }),
  I(0x07, { dst: 3, imm: 8 }),
  I(0x2d, { dst: 3, src: 2 }, 'aborted'), // if data + 8 > data_end goto aborted
  ...Array.from({ length: 8 }, (_, i) => I(0x72, { dst: 1, offset: i, imm: 0xa1 + i })), // *(u8 *)(r1 + i) = 0xa1 + i
  I(0xb7, { dst: 0, imm: XdpAction.PASS }),
  I(0x95),
  'aborted',
  I(0xb7, { dst: 0, imm: XdpAction.ABORTED }),
  I(0x95),
]);

/** Cuts 10 bytes off the end; XDP_PASS. */
const SHRINK_TAIL = assemble([
  ...adjust(HELPER.xdpAdjustTail, -10),
  I(0xb7, { dst: 0, imm: XdpAction.PASS }),
  I(0x95),
  'aborted',
  I(0xb7, { dst: 0, imm: XdpAction.ABORTED }),
  I(0x95),
]);

/** Grows the packet by 20 bytes at the end (the kernel zeroes them); XDP_PASS. */
const GROW_TAIL = assemble([
  ...adjust(HELPER.xdpAdjustTail, 20),
  I(0xb7, { dst: 0, imm: XdpAction.PASS }),
  I(0x95),
  'aborted',
  I(0xb7, { dst: 0, imm: XdpAction.ABORTED }),
  I(0x95),
]);

whenKernel('program:xdp').describe('testRun: XDP programs that grow and shrink the packet', () => {
  const load = (name: string, instructions: Uint8Array) => loadKernelProgram({ name, type: ProgramType.XDP, instructions, license: 'GPL' });

  it('adjust_head -8: dataSizeOut is 8 more and data is the new header followed by the packet', () => {
    using prog = load('grow_head', GROW_HEAD);
    const input = packet(64);
    const r = prog.testRun({ data: input });
    expect(r.returnValue).toBe(XdpAction.PASS);
    expect(r.dataSizeOut).toBe(72);
    expect(r.data).toEqual(Uint8Array.of(0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, ...input));
    expect(input).toEqual(packet(64)); // the caller's packet is not touched
  });

  it('adjust_tail -10: dataSizeOut is 10 less and data is the packet cut short', () => {
    using prog = load('shrink_tail', SHRINK_TAIL);
    const r = prog.testRun({ data: packet(100) });
    expect(r.returnValue).toBe(XdpAction.PASS);
    expect(r.dataSizeOut).toBe(90);
    expect(r.data).toEqual(packet(100).subarray(0, 90));
  });

  it('adjust_tail +20: the packet and 20 zero bytes', () => {
    using prog = load('grow_tail', GROW_TAIL);
    const r = prog.testRun({ data: packet(50) });
    expect(r.returnValue).toBe(XdpAction.PASS);
    expect(r.dataSizeOut).toBe(70);
    expect(r.data).toEqual(Uint8Array.of(...packet(50), ...new Uint8Array(20)));
  });

  it('a data-out buffer too small for the grown packet: ENOSPC saying the size; dataOutSize 0: no data, the size still told', () => {
    using prog = load('grow_head', GROW_HEAD);
    let err: unknown;
    try {
      prog.testRun({ data: packet(64), dataOutSize: 64 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).code).toBe('ENOSPC');
    expect((err as Error).message).toMatch(/the run left 72 bytes of data, more than the 64-byte data_out buffer/);
    const r = prog.testRun({ data: packet(64), dataOutSize: 0 });
    expect(r.data).toEqual(new Uint8Array(0));
    expect(r.dataSizeOut).toBe(72);
  });

  it('repeat runs it that many times and duration is the kernel’s mean; a context (xdp_md) comes back', () => {
    using c = counters();
    using prog = load('count', assemble([...countInto(c.fd, 0, 'done'), 'done', I(0xb7, { dst: 0, imm: XdpAction.DROP }), I(0x95)]));
    const r = prog.testRun({ data: packet(64), repeat: 1000 });
    expect(r.returnValue).toBe(XdpAction.DROP);
    expect(c.read()).toBeGreaterThanOrEqual(1000n); // more when an EINTR made the kernel start again
    expect(r.duration).toBeGreaterThan(0);
    // struct xdp_md: data 0, data_end 4 (= the data length), data_meta 8, ingress_ifindex 12, rx_queue_index 16, egress_ifindex 20.
    const md = new Uint8Array(24);
    new DataView(md.buffer).setUint32(4, 64, LE);
    const withCtx = prog.testRun({ data: packet(64), context: md });
    expect(withCtx.context?.byteLength).toBe(24);
    expect(new DataView(withCtx.context!.buffer).getUint32(4, LE)).toBe(64);
  });

  it('refuses what XDP does not take: a short packet, cpu, a batch size without live frames, an unknown flag', () => {
    using prog = load('shrink_tail', SHRINK_TAIL);
    expect(() => prog.testRun({ data: new Uint8Array(10) })).toThrow(/a packet of at least 14 bytes for xdp programs/);
    expect(() => prog.testRun({ data: packet(64), cpu: 0 })).toThrow(/only raw_tracepoint programs run on a chosen CPU/);
    expect(() => prog.testRun({ data: packet(64), batchSize: 8 })).toThrow(/no batchSize without TestRunFlag.XDP_LIVE_FRAMES/);
    expect(() => prog.testRun({ data: packet(64), flags: TestRunFlag.SKB_CHECKSUM_COMPLETE })).toThrow(
      /testRun flags: expected no flags but TestRunFlag.XDP_LIVE_FRAMES for xdp programs/,
    );
  });
});

// Live frames: the frames go to the stack of the current namespace's loopback. The test runs inside a
// namespace it creates, and the program drops every frame, so nothing is sent anywhere.
whenKernel('program:xdp')
  .unless(networkFixtureUnavailable())
  .it('XDP live frames with a batch size: the program runs `repeat` times, no verdict and no data come back', () => {
    using net = vethPair();
    using c = counters();
    using prog = loadKernelProgram({
      name: 'live_drop',
      type: ProgramType.XDP,
      instructions: assemble([...countInto(c.fd, 0, 'done'), 'done', I(0xb7, { dst: 0, imm: XdpAction.DROP }), I(0x95)]),
      license: 'GPL',
    });
    const r = inNetns(net.a.netns, () =>
      prog.testRun({ data: packet(64), repeat: 100, flags: TestRunFlag.XDP_LIVE_FRAMES, batchSize: 16 }),
    );
    expect(c.read()).toBeGreaterThanOrEqual(100n);
    expect(r.returnValue).toBe(0);
    expect(r.data).toEqual(new Uint8Array(0));
    expect(r.context).toBeUndefined();
    // The kernel's limit on a batch is 256 frames.
    expect(() =>
      inNetns(net.a.netns, () => prog.testRun({ data: packet(64), repeat: 10, flags: TestRunFlag.XDP_LIVE_FRAMES, batchSize: 257 })),
    ).toThrow(expect.objectContaining({ code: 'E2BIG' }) as unknown as Error);
  });

whenKernel('program:syscall').describe('testRun: syscall programs (a context, no data)', () => {
  // ctx->b = ctx->a + 1; ctx->a = 0x55; return ctx->b
  const BUMP = assemble([
    I(0x61, { dst: 2, src: 1, offset: 0 }), // r2 = *(u32 *)(ctx + 0)
    I(0x07, { dst: 2, imm: 1 }),
    I(0x63, { dst: 1, src: 2, offset: 4 }), // *(u32 *)(ctx + 4) = r2
    I(0x62, { dst: 1, offset: 0, imm: 0x55 }), // *(u32 *)(ctx + 0) = 0x55
    I(0xbf, { dst: 0, src: 2 }),
    I(0x95),
  ]);
  const load = () =>
    loadKernelProgram({ name: 'bump', type: ProgramType.SYSCALL, instructions: BUMP, license: 'GPL', flags: BPF_F_SLEEPABLE });

  it('the context comes back as the program left it; the caller’s array is untouched', () => {
    using prog = load();
    const ctx = new Uint8Array(8);
    new DataView(ctx.buffer).setUint32(0, 41, LE);
    const r = prog.testRun({ context: ctx });
    expect(r.returnValue).toBe(42);
    const out = new DataView(r.context!.buffer, r.context!.byteOffset);
    expect([out.getUint32(0, LE), out.getUint32(4, LE)]).toEqual([0x55, 42]);
    expect(new DataView(ctx.buffer).getUint32(0, LE)).toBe(41);
    expect(r.data).toEqual(new Uint8Array(0));
    expect(r.dataSizeOut).toBe(0);
    expect(r.duration).toBe(0);
  });

  it('data is refused with an InvalidArgumentError saying syscall programs take a context and no data; so is a repeat', () => {
    using prog = load();
    let err: unknown;
    try {
      prog.testRun({ data: packet(64), context: new Uint8Array(8) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toMatch(/testRun data: expected no data: syscall programs take a context .* and no data/);
    expect(() => prog.testRun({ context: new Uint8Array(8), repeat: 5 })).toThrow(/syscall programs run once per test run/);
    expect(prog.testRun({ context: new Uint8Array(8), repeat: 1 }).returnValue).toBe(1);
    // A context shorter than what the program reads and writes: the kernel's EINVAL.
    expect(() => prog.testRun({ context: new Uint8Array(4) })).toThrow(expect.objectContaining({ code: 'EINVAL' }) as unknown as Error);
  });
});

whenKernel('program:raw_tracepoint').describe('testRun: raw tracepoint programs (args as the context, no data)', () => {
  it('returns what the program computes from its args', () => {
    // return args[0] + args[1]
    const SUM = assemble([
      I(0x79, { dst: 0, src: 1, offset: 0 }),
      I(0x79, { dst: 2, src: 1, offset: 8 }),
      I(0x0f, { dst: 0, src: 2 }),
      I(0x95),
    ]);
    using prog = loadKernelProgram({ name: 'sum', type: ProgramType.RAW_TRACEPOINT, instructions: SUM, license: 'GPL' });
    const args = new Uint8Array(16);
    new DataView(args.buffer).setBigUint64(0, 40n, LE);
    new DataView(args.buffer).setBigUint64(8, 2n, LE);
    const r = prog.testRun({ context: args });
    expect(r.returnValue).toBe(42);
    expect(r.context).toBeUndefined();
    expect(r.data).toEqual(new Uint8Array(0));
    expect(() => prog.testRun({ context: args, data: packet(64) })).toThrow(/raw_tracepoint programs take a context \(u64 args/);
    expect(() => prog.testRun({ context: args, repeat: 10 })).toThrow(InvalidArgumentError);
  });

  it('cpu runs it on that CPU (BPF_F_TEST_RUN_ON_CPU): bpf_get_smp_processor_id() says which', () => {
    const WHICH_CPU = assemble([I(0x85, { imm: HELPER.getSmpProcessorId }), I(0x95)]);
    using prog = loadKernelProgram({ name: 'which_cpu', type: ProgramType.RAW_TRACEPOINT, instructions: WHICH_CPU, license: 'GPL' });
    for (const cpu of onlineCpus()) expect(prog.testRun({ cpu }).returnValue).toBe(cpu);
    expect(prog.testRun({ cpu: 0, flags: TestRunFlag.RUN_ON_CPU }).returnValue).toBe(0);
    // A CPU that is not there: ENXIO from the kernel.
    expect(() => prog.testRun({ cpu: 100_000 })).toThrow(expect.objectContaining({ code: 'ENXIO' }) as unknown as Error);
  });
});

whenKernel('program:socket_filter').it('testRun: an skb program’s __sk_buff context goes in and comes back', () => {
  // skb->cb[0] = skb->mark + 1; return skb->mark (a socket filter may write only cb[]).
  const MARK = assemble([
    I(0x61, { dst: 0, src: 1, offset: 8 }), // r0 = skb->mark
    I(0xbf, { dst: 2, src: 0 }),
    I(0x07, { dst: 2, imm: 1 }),
    I(0x63, { dst: 1, src: 2, offset: 48 }), // skb->cb[0] = r2
    I(0x95),
  ]);
  using prog = loadKernelProgram({ name: 'mark', type: ProgramType.SOCKET_FILTER, instructions: MARK, license: 'GPL' });
  // struct __sk_buff: mark at 8, cb[5] at 48; the kernel takes only a few fields in.
  const skb = new Uint8Array(192);
  new DataView(skb.buffer).setUint32(8, 77, LE);
  const r = prog.testRun({ data: packet(64), context: skb });
  expect(r.returnValue).toBe(77);
  expect(r.context!.byteLength).toBeGreaterThanOrEqual(192);
  expect(new DataView(r.context!.buffer).getUint32(48, LE)).toBe(78);
  expect(r.dataSizeOut).toBe(64);
  expect(r.duration).toBeGreaterThanOrEqual(0);
  // SKB_CHECKSUM_COMPLETE: the kernel checksums the skb before the run and checks it after (the program changed nothing).
  expect(prog.testRun({ data: packet(64), flags: TestRunFlag.SKB_CHECKSUM_COMPLETE, repeat: 3 }).returnValue).toBe(0);
});

whenKernel('program:tracepoint').it('testRun of a type the kernel cannot test-run: NotSupportedError naming the type', () => {
  using prog = loadKernelProgram({ name: 'tp', type: ProgramType.TRACEPOINT, instructions: assemble([I(0xb7), I(0x95)]), license: 'GPL' });
  let err: unknown;
  try {
    prog.testRun();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(NotSupportedError);
  expect((err as Error).message).toMatch(
    /BPF_PROG_TEST_RUN of tracepoint programs is not supported.*no test runner for tracepoint programs/,
  );
});

whenKernel('program:sk_lookup').it('testRun: an sk_lookup program needs its context (struct bpf_sk_lookup) and takes no data', () => {
  using prog = loadKernelProgram({
    name: 'lookup',
    type: ProgramType.SK_LOOKUP,
    instructions: assemble([I(0xb7, { imm: 1 }), I(0x95)]), // SK_PASS
    license: 'GPL',
    expectedAttachType: 36, // BPF_SK_LOOKUP
  });
  expect(() => prog.testRun()).toThrow(/testRun context: expected a context \(struct bpf_sk_lookup\) for sk_lookup programs/);
  expect(() => prog.testRun({ data: packet(64) })).toThrow(/no data: sk_lookup programs take a context/);
  // struct bpf_sk_lookup: family at 8 (AF_INET 2), protocol at 12 (TCP 6), local_port at 40.
  const ctx = new Uint8Array(72);
  const v = new DataView(ctx.buffer);
  v.setUint32(8, 2, LE);
  v.setUint32(12, 6, LE);
  v.setUint32(40, 80, LE);
  const r = prog.testRun({ context: ctx, repeat: 10 });
  expect(r.returnValue).toBe(1);
  expect(r.context).toBeDefined();
  expect(r.data).toEqual(new Uint8Array(0));
});

describe('testRun options are checked before the call', () => {
  whenKernel('program:socket_filter').it('refuses values that are not counts or buffers', () => {
    using prog = loadKernelProgram({
      name: 'ret0',
      type: ProgramType.SOCKET_FILTER,
      instructions: assemble([I(0xb7), I(0x95)]),
      license: 'GPL',
    });
    expect(() => prog.testRun({ data: packet(64), repeat: -1 })).toThrow(/testRun repeat: expected an integer from 0 to 4294967295/);
    expect(() => prog.testRun({ data: [1, 2, 3] as unknown as Uint8Array })).toThrow(/testRun data: expected a Uint8Array/);
    expect(() => prog.testRun({ data: packet(64), cpu: 0 })).toThrow(InvalidArgumentError);
  });
});

whenKernel().it('the table agrees with this kernel: the types it says cannot be test-run answer ENOTSUPP, the others do not', () => {
  // r0 = 0; exit, loaded as every type that takes it without an attach target; run with nothing.
  const RET_0 = assemble([I(0xb7), I(0x95)]);
  const attachTypes: Partial<Record<number, number>> = {
    [ProgramType.CGROUP_SOCK_ADDR]: 8,
    [ProgramType.CGROUP_SOCKOPT]: 21,
    [ProgramType.SK_LOOKUP]: 36,
    [ProgramType.NETFILTER]: 45,
  };
  const checked: string[] = [];
  for (const [name, type] of Object.entries(ProgramType)) {
    if (type === ProgramType.UNSPEC) continue;
    let fd: number;
    try {
      fd = progLoad({
        progType: type,
        insns: RET_0,
        license: 'GPL',
        expectedAttachType: attachTypes[type] ?? 0,
        progFlags: type === ProgramType.SYSCALL ? BPF_F_SLEEPABLE : 0,
      });
    } catch {
      continue; // needs BTF or an attach target (tracing, struct_ops, ext, lsm, lirc), or not built
    }
    try {
      let errno = 0;
      try {
        progTestRun({ progFd: fd });
      } catch (err) {
        errno = (err as BpfError).errno;
      }
      expect(errno === Errno.ENOTSUPP, name).toBe(testRunUnsupported(type));
      checked.push(name);
    } finally {
      closeFd(fd);
    }
  }
  expect(checked.length).toBeGreaterThan(20);
});

whenKernel('program:xdp').it('a signal during a repeated run: the kernel answers EINTR and the run is made again, to the end', async () => {
  const { spawn } = await import('node:child_process');
  using c = counters();
  using prog = loadKernelProgram({
    name: 'count',
    type: ProgramType.XDP,
    instructions: assemble([...countInto(c.fd, 0, 'done'), 'done', I(0xb7, { dst: 0, imm: XdpAction.DROP }), I(0x95)]),
    license: 'GPL',
  });
  // Long enough (about 1.5 s) for two signals to arrive during it.
  const perRun = Math.max(1, prog.testRun({ data: packet(64), repeat: 100_000 }).duration);
  const repeat = Math.min(0xffffffff, Math.ceil(1.5e9 / perRun));
  const onSignal = () => {};
  process.on('SIGUSR2', onSignal);
  try {
    // A signal to the process goes to its main thread first when it does not block it: this thread, inside bpf().
    const sender = spawn('sh', ['-c', `sleep 0.2; kill -USR2 ${process.pid}; sleep 0.3; kill -USR2 ${process.pid}`], { stdio: 'ignore' });
    const before = c.read();
    const r = progTestRun({ progFd: prog.fd, dataIn: packet(64), dataOut: new Uint8Array(64), repeat });
    await new Promise((resolve) => sender.once('exit', resolve));
    expect(r.interrupted).toBeGreaterThanOrEqual(1);
    expect(r.retval).toBe(XdpAction.DROP);
    expect(r.dataSizeOut).toBe(64);
    // The interrupted runs counted too: more than `repeat` runs in all.
    expect(c.read() - before).toBeGreaterThan(BigInt(repeat));
  } finally {
    process.off('SIGUSR2', onSignal);
  }
});

whenKernel('program:flow_dissector').it('testRun: a flow dissector’s data out is the struct bpf_flow_keys it filled', () => {
  using prog = loadKernelProgram({
    name: 'dissect',
    type: ProgramType.FLOW_DISSECTOR,
    instructions: assemble([I(0xb7), I(0x95)]), // BPF_OK, keys as the kernel set them up
    license: 'GPL',
    expectedAttachType: 17, // BPF_FLOW_DISSECTOR
  });
  const r = prog.testRun({ data: packet(64), repeat: 5 });
  expect(r.returnValue).toBe(0);
  // struct bpf_flow_keys is 56 bytes: nhoff at 0, thoff at 2, n_proto (the frame’s EtherType, bytes 12-13) at 10.
  expect(r.dataSizeOut).toBe(56);
  expect(r.data.byteLength).toBe(56);
  const keys = new DataView(r.data.buffer);
  expect(keys.getUint16(0, LE)).toBe(14);
  expect([r.data[10], r.data[11]]).toEqual([13, 14]);
  expect(() => prog.testRun({ data: packet(64), flags: TestRunFlag.SKB_CHECKSUM_COMPLETE })).toThrow(
    /testRun flags: expected no flags for flow_dissector programs/,
  );
});

whenKernel('program:netfilter').it('testRun: a netfilter program takes a packet and gives back only its verdict', () => {
  using prog = loadKernelProgram({
    name: 'nf_accept',
    type: ProgramType.NETFILTER,
    instructions: assemble([I(0xb7, { imm: 1 }), I(0x95)]), // NF_ACCEPT
    license: 'GPL',
    expectedAttachType: 45, // BPF_NETFILTER
  });
  const ipv4 = new Uint8Array(20);
  ipv4[0] = 0x45;
  const r = prog.testRun({ data: ipv4, repeat: 3 });
  expect(r.returnValue).toBe(1);
  expect(r.dataSizeOut).toBe(0);
  expect(r.data).toEqual(new Uint8Array(0));
  expect(r.context).toBeUndefined();
  expect(() => prog.testRun({ data: new Uint8Array(19) })).toThrow(/a packet of at least 20 bytes for netfilter programs/);
  expect(() => prog.testRun({ data: ipv4, dataOutSize: 64 })).toThrow(
    /testRun dataOutSize: expected 0: netfilter programs give no data back/,
  );
});

describe('testRun refusals before any call (no kernel: a program object over no fd)', () => {
  const fake = (type: number, expectedAttachType?: number) => new KernelProgram(-1, 'fake', type, undefined, expectedAttachType);

  it('says which types the kernel cannot test-run, and what each type does not take', () => {
    using kprobe = fake(ProgramType.KPROBE);
    expect(() => kprobe.testRun()).toThrow(/BPF_PROG_TEST_RUN of kprobe programs is not supported/);
    using tpBtf = fake(ProgramType.TRACING, 23); // BPF_TRACE_RAW_TP
    expect(() => tpBtf.testRun()).toThrow(/only fentry, fexit and fmod_ret tracing programs/);
    using syscall = fake(ProgramType.SYSCALL);
    expect(() => syscall.testRun({ data: packet(14) })).toThrow(/syscall programs take a context .* and no data/);
    expect(() => syscall.testRun({ context: new Uint8Array(8), contextOutSize: 0, dataOutSize: 64 })).toThrow(
      /dataOutSize: expected 0: syscall programs give no data back/,
    );
    using xdp = fake(ProgramType.XDP);
    expect(() => xdp.testRun({ data: packet(64), flags: TestRunFlag.XDP_LIVE_FRAMES, dataOutSize: 100 })).toThrow(
      /XDP live frames give no data back/,
    );
    expect(() => xdp.testRun({ data: packet(64), flags: TestRunFlag.XDP_LIVE_FRAMES, contextOutSize: 24 })).toThrow(
      /XDP live frames give no context back/,
    );
    expect(() => xdp.testRun({ data: packet(64), flags: 1 << 5 })).toThrow(InvalidArgumentError);
    using tracing = fake(ProgramType.TRACING, 24); // fentry
    expect(() => tracing.testRun({ context: new Uint8Array(8) })).toThrow(/no context: tracing programs take none/);
  });
});
