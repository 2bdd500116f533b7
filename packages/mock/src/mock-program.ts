import { createHash } from 'node:crypto';
import {
  BpfError,
  checkProgramSpec,
  readTestRunOptions,
  Errno,
  helperName,
  InvalidArgumentError,
  NotSupportedError,
  ProgramType,
  programTypeName,
  TestRunFlag,
  testRunRule,
  testRunUnsupported,
  ClosedError,
  Helper,
  ProgramFlags,
  VerifierError,
} from '@bpfkit/core';
import type { AttachTarget, Link, Program, ProgramInfo, ProgramSpec, TestRunOptions, TestRunResult } from '@bpfkit/core';
import { compileProgram, type VmLddwRef, type VmLegacyPacket, type VmProgram, type VmRegion } from './vm/index.js';
import type { MockMapStore } from './map-store.js';
import type { MockKernel } from './mock-kernel.js';
import { MOCK_PROGRAM_TYPES, mockHelperAllowed, type MockTailTarget, writableByProgram } from './helpers/table.js';
import type { MockRuntime, PacketState } from './helpers/runtime.js';
import type { VmHelper } from './vm/index.js';
import { mockHooks } from './hooks/hooks.js';
import type { MockLink } from './hooks/link.js';

/** Licenses the kernel counts as GPL-compatible (license_is_gpl_compatible). */
const GPL_COMPATIBLE: ReadonlySet<string> = new Set([
  'GPL',
  'GPL v2',
  'GPL and additional rights',
  'Dual BSD/GPL',
  'Dual MIT/GPL',
  'Dual MPL/GPL',
]);

/** Helpers the mock implements that the kernel gives GPL-compatible programs only. */
const GPL_ONLY: ReadonlySet<number> = new Set([Helper.trace_printk, Helper.perf_event_output]);

/** Room before an XDP packet, as the kernel's XDP_PACKET_HEADROOM. */
export const XDP_HEADROOM = 256;
/** The `struct xdp_frame` the kernel keeps at the start of the buffer: adjust_head cannot move the data below it. */
const XDP_FRAME_SIZE = 40;
/** The `struct skb_shared_info` at the end of an XDP buffer: adjust_tail cannot grow into it. */
const XDP_TAILROOM = 320;
/** An XDP test run's buffer: a page. */
const XDP_FRAME = 4096;
/** Room before an skb's data in a test run (the mock's choice; programs cannot see it). */
const SKB_HEADROOM = 64;
/** How far `bpf_skb_change_tail` may grow a packet on the mock (the loopback device's MTU). */
const SKB_MAX_LEN = 65536;
const ETH_HLEN = 14;
/** Bytes of `struct __sk_buff` and `struct xdp_md`. */
const SKB_CTX_SIZE = 192;
const XDP_CTX_SIZE = 24;
/** Raw tracepoint programs take at most 12 u64 arguments. */
const RAW_TP_MAX_ARGS = 12;
/** Room the default data-out buffer leaves for a program that grows the packet (as the kernel backend). */
const DATA_OUT_HEADROOM = 4096;
const CONTEXT_OUT_DEFAULT = 256;

/**
 * A program loaded on the mock: the kernel object that descriptors, pins
 * and program arrays hold (the mock's `struct bpf_prog`). It keeps the maps
 * its instructions refer to alive, like the kernel's `used_maps`.
 *
 * @example
 * declare const system: MockSystem;
 * declare const spec: ProgramSpec;
 * using prog = system.loadProgram(spec);
 * system.kernel.file(prog.fd)?.object.kind; // 'program'
 */
export class MockProgramObject implements MockTailTarget {
  readonly kind = 'program' as const;
  readonly id: number;
  readonly loadTime = process.hrtime.bigint();
  #refs = 0;
  #dead = false;

  constructor(
    kernel: MockKernel,
    readonly name: string,
    readonly type: number,
    readonly vm: VmProgram,
    readonly maps: readonly MockMapStore[],
    readonly instructions: Uint8Array,
    /** Releases what the program holds (its maps, its global data regions). */
    private readonly unload: () => void = () => {
      for (const m of maps) m.release();
    },
  ) {
    this.id = kernel.nextId('program');
  }

  retain(): void {
    if (this.#dead) throw new Error(`mock program ${this.id} is gone`);
    this.#refs++;
  }

  release(): void {
    if (this.#dead || --this.#refs > 0) return;
    this.#dead = true;
    this.unload();
  }
}

/** What loading a program needs from its mock system. */
export interface MockProgramHost {
  readonly kernel: MockKernel;
  readonly runtime: MockRuntime;
  readonly helpers: ReadonlyMap<number, VmHelper>;
}

/**
 * Loads a program on the mock (BPF_PROG_LOAD): map references in the
 * instructions are fds of the mock's fd table; the instructions are checked
 * as the kernel's verifier checks their structure and translated for the
 * VM. A program type the mock does not run, or a helper it does not
 * implement, is a NotSupportedError naming it.
 *
 * @example
 * declare const host: MockProgramHost;
 * declare const spec: ProgramSpec;
 * using prog = loadMockProgram(host, spec);
 */
export function loadMockProgram(host: MockProgramHost, spec: ProgramSpec): MockProgram {
  checkProgramSpec(spec);
  const { kernel, runtime } = host;
  const name = spec.name;
  const type = spec.type;
  if (!MOCK_PROGRAM_TYPES.has(type)) {
    throw new NotSupportedError(
      `loading ${programTypeName(type)} programs`,
      undefined,
      `program '${name}': the mock runs xdp, socket_filter, sched_cls, sched_act, raw_tracepoint, syscall, kprobe and tracepoint programs`,
      'the mock backend',
    );
  }
  if (type === ProgramType.SYSCALL && ((spec.flags ?? 0) & ProgramFlags.SLEEPABLE) === 0) {
    throw new VerifierError(name, Errno.EINVAL, 'Syscall programs can only be sleepable\n');
  }
  const gpl = GPL_COMPATIBLE.has(spec.license);
  if (!gpl) {
    const insns = spec.instructions;
    const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
    for (let i = 0; i < insns.length / 8; i++) {
      const op = insns[i * 8];
      if (op === 0x18) {
        i++;
        continue;
      }
      if (op === 0x85 && (insns[i * 8 + 1] as number) >> 4 === 0 && GPL_ONLY.has(view.getInt32(i * 8 + 4, true))) {
        const id = view.getInt32(i * 8 + 4, true);
        throw new VerifierError(
          name,
          Errno.EINVAL,
          `${i}: (85) call bpf_${helperName(id)}#${id}\ncannot call GPL-restricted function from non-GPL compatible program\n`,
        );
      }
    }
  }
  const maps: MockMapStore[] = [];
  /** The global data regions this program's lddw point into (released when it is unloaded). */
  const globals: bigint[] = [];
  const release = (): void => {
    for (const g of globals) runtime.releasePointer(g);
    for (const m of maps) m.release();
  };
  const useMap = (fd: number, ref: VmLddwRef): MockMapStore => {
    const object = kernel.resolveFd(fd, 'BPF_PROG_LOAD', 'map', `program '${name}' (mock), instruction ${ref.instruction}`);
    const store = object as MockMapStore;
    if (!maps.includes(store)) {
      store.retain();
      maps.push(store);
    }
    return store;
  };
  const resolveLddw = (ref: VmLddwRef): bigint => {
    if (ref.kind === 'map_fd') return runtime.mapHandle(useMap(ref.imm, ref));
    if (ref.kind === 'map_value') {
      const store = useMap(ref.imm, ref);
      const value = store.valueRef(new Uint8Array(store.keySize), 0);
      const size = store.meta.valueSize;
      if (!value || store.keySize !== 4) {
        throw new InvalidArgumentError(
          `program '${name}': instruction ${ref.instruction}`,
          'a direct value access into an array map',
          `map '${store.name}'`,
        );
      }
      if (ref.nextImm < 0 || ref.nextImm >= size) {
        throw new InvalidArgumentError(
          `program '${name}': instruction ${ref.instruction}`,
          `an offset inside the ${size}-byte value of map '${store.name}'`,
          ref.nextImm,
        );
      }
      const base = runtime.pointerInto(value.bytes, value.offset, size, `value of map '${store.name}'`, writableByProgram(store), true);
      globals.push(base);
      return base + BigInt(ref.nextImm);
    }
    throw new NotSupportedError(
      `lddw of a ${ref.kind}`,
      undefined,
      `program '${name}' (instruction ${ref.instruction}) needs kernel BTF objects or an fd_array`,
      'the mock backend',
    );
  };
  const skb = type === ProgramType.SOCKET_FILTER || type === ProgramType.SCHED_CLS || type === ProgramType.SCHED_ACT;
  let vm: VmProgram;
  try {
    vm = compileProgram({
      name,
      instructions: spec.instructions,
      helpers: host.helpers,
      helperAllowed: (id) => mockHelperAllowed(type, id),
      helperName: (id) => `bpf_${helperName(id)}`,
      resolveLddw,
      ...(skb ? { legacyPacket: (ctx: bigint) => legacyPacket(runtime, ctx) } : {}),
    });
  } catch (err) {
    release();
    throw err;
  }
  const object = new MockProgramObject(kernel, name, type, vm, maps, spec.instructions.slice(), release);
  return new MockProgram(kernel, runtime, object, spec.expectedAttachType);
}

function legacyPacket(runtime: MockRuntime, ctx: bigint): VmLegacyPacket | undefined {
  const p = runtime.packetOf(ctx);
  return p ? { region: p.region, offset: p.data, length: p.end - p.data } : undefined;
}

/** One run's input, prepared: the argument for r1 and what to read back afterwards. */
interface Prepared {
  r1: bigint;
  packet?: PacketState;
  /** The bytes before the packet data that the data out includes (socket filters: the zeroed link-layer header). */
  dataPrefix: number;
  /** The context after the run, `undefined` for none. */
  contextOut: () => Uint8Array | undefined;
}

/**
 * A program on the mock backend: the core {@link Program} interface over a
 * {@link MockProgramObject}. `testRun` runs it on the mock's VM with the
 * options and results of the kernel's BPF_PROG_TEST_RUN; attaching needs
 * hooks the mock does not have yet (NotSupportedError).
 *
 * @example
 * import { assemble } from '@bpfkit/elf';
 * import { ProgramType } from '@bpfkit/core';
 * declare const system: MockSystem;
 * using prog = system.loadProgram({ name: 'pass', type: ProgramType.XDP, license: 'GPL', instructions: assemble('mov %r0, 2\nexit') });
 * prog.testRun({ data: new Uint8Array(64) }).returnValue; // 2
 */
export class MockProgram implements Program {
  readonly name: string;
  readonly type: number;
  readonly fd: number;
  readonly object: MockProgramObject;
  readonly #kernel: MockKernel;
  readonly #runtime: MockRuntime;
  readonly #expectedAttachType: number | undefined;
  #closed = false;
  #pinned: string | undefined;

  constructor(kernel: MockKernel, runtime: MockRuntime, object: MockProgramObject, expectedAttachType?: number) {
    this.#kernel = kernel;
    this.#runtime = runtime;
    this.object = object;
    this.name = object.name;
    this.type = object.type;
    this.#expectedAttachType = expectedAttachType;
    this.fd = kernel.openFd(object);
  }

  get closed(): boolean {
    return this.#closed;
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError(`program '${this.name}'`);
  }

  /**
   * Runs the program as BPF_PROG_TEST_RUN would: packet programs (xdp,
   * socket_filter, sched_cls, sched_act) take `data` and give the packet
   * back as they left it; raw tracepoint and syscall programs take a
   * `context`. `repeat` runs it that many times and `duration` is the mean.
   *
   * @example
   * declare const prog: MockProgram;
   * const { returnValue, data, dataSizeOut } = prog.testRun({ data: new Uint8Array(64), repeat: 10 });
   */
  testRun(options: TestRunOptions = {}): TestRunResult {
    this.#assertOpen();
    const type = this.type;
    const typeName = programTypeName(type);
    const who = `${typeName} programs`;
    if (testRunUnsupported(type)) {
      throw new NotSupportedError(
        `BPF_PROG_TEST_RUN of ${typeName} programs`,
        undefined,
        `the kernel has no test runner for ${typeName} programs; attach it to run it`,
      );
    }
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('testRun options', 'an object', options);
    const rule = testRunRule(type);
    if (!rule) throw new NotSupportedError(`BPF_PROG_TEST_RUN of ${typeName} programs`, undefined, undefined, 'the mock backend');
    const { data, context, dataOutSize, contextOutSize, repeat, cpu, flags } = readTestRunOptions(options);
    if (data && rule.data === 'none') {
      throw new InvalidArgumentError('testRun data', `no data: ${who} take a context (${rule.contextType}) and no data`, data);
    }
    if (rule.data === 'required' && (data?.byteLength ?? 0) < rule.minDataSize) {
      throw new InvalidArgumentError('testRun data', `a packet of at least ${rule.minDataSize} bytes for ${who}`, data);
    }
    if (repeat > 1 && !rule.repeat) {
      throw new InvalidArgumentError('testRun repeat', `0 or 1: ${who} run once per test run (the kernel takes no repeat)`, repeat);
    }
    if (cpu !== undefined && !rule.cpu) {
      throw new InvalidArgumentError('testRun cpu', 'no cpu: only raw_tracepoint programs run on a chosen CPU', cpu);
    }
    if ((flags & ~rule.flags) !== 0) throw new InvalidArgumentError('testRun flags', `only the flags ${rule.flags} for ${who}`, flags);
    if (flags & TestRunFlag.XDP_LIVE_FRAMES) {
      throw new NotSupportedError(
        'XDP live frames (TestRunFlag.XDP_LIVE_FRAMES)',
        undefined,
        'it has no network devices to send frames on',
        'the mock backend',
      );
    }
    if (flags & TestRunFlag.SKB_CHECKSUM_COMPLETE) {
      throw new NotSupportedError('TestRunFlag.SKB_CHECKSUM_COMPLETE', undefined, 'it keeps no skb checksum', 'the mock backend');
    }
    if (options.batchSize !== undefined) {
      throw new InvalidArgumentError(
        'testRun batchSize',
        'no batchSize without TestRunFlag.XDP_LIVE_FRAMES (XDP programs)',
        options.batchSize,
      );
    }
    if (dataOutSize && rule.dataOut === 'none')
      throw new InvalidArgumentError('testRun dataOutSize', `0: ${who} give no data back`, dataOutSize);
    if (contextOutSize && rule.contextOut === 'none') {
      throw new InvalidArgumentError('testRun contextOutSize', `0: ${who} give no context back`, contextOutSize);
    }
    const dataOutCapacity = rule.dataOut === 'none' ? 0 : (dataOutSize ?? (data?.byteLength ?? 0) + DATA_OUT_HEADROOM);
    const contextOutCapacity =
      rule.contextOut === 'copy' ? (contextOutSize ?? (context ? Math.max(CONTEXT_OUT_DEFAULT, context.byteLength) : 0)) : 0;

    const runtime = this.#runtime;
    const savedCpu = runtime.environment.cpu;
    if (cpu !== undefined) runtime.environment.cpu = cpu;
    runtime.beginRun();
    try {
      const prepared = this.#prepare(rule.runner, data, context);
      const runs = Math.max(1, repeat);
      const start = process.hrtime.bigint();
      let r0 = 0n;
      for (let i = 0; i < runs; i++) r0 = this.object.vm.run(runtime.memory, { r1: prepared.r1 });
      const elapsed = process.hrtime.bigint() - start;
      const duration = rule.duration ? Number(elapsed / BigInt(runs)) : 0;
      let out = new Uint8Array(0);
      let dataSizeOut = 0;
      const p = prepared.packet;
      if (p && rule.dataOut === 'packet') {
        const from = p.data - prepared.dataPrefix;
        dataSizeOut = p.end - from;
        const bytes = p.region.bytes.slice(from, p.end);
        if (prepared.dataPrefix > 0) bytes.fill(0, 0, prepared.dataPrefix);
        if (dataOutCapacity > 0 && dataSizeOut > dataOutCapacity) {
          throw new BpfError(Errno.ENOSPC, {
            syscall: 'bpf',
            command: 'BPF_PROG_TEST_RUN',
            subject: `program '${this.name}' (mock)`,
            hint: `the run left ${dataSizeOut} bytes of data and dataOutSize is ${dataOutCapacity}`,
          });
        }
        out = dataOutCapacity > 0 ? bytes : new Uint8Array(0);
      }
      const ctxAfter = prepared.contextOut();
      let contextResult: Uint8Array | undefined;
      if (rule.contextOut === 'in-place') contextResult = ctxAfter;
      else if (contextOutCapacity > 0 && ctxAfter) contextResult = ctxAfter.slice(0, Math.min(ctxAfter.length, contextOutCapacity));
      return {
        returnValue: Number(r0 & 0xffffffffn),
        duration,
        data: out,
        dataSizeOut,
        ...(contextResult ? { context: contextResult } : {}),
      };
    } finally {
      runtime.endRun();
      runtime.environment.cpu = savedCpu;
    }
  }

  #prepare(runner: string, data: Uint8Array | undefined, context: Uint8Array | undefined): Prepared {
    const runtime = this.#runtime;
    switch (runner) {
      case 'xdp': {
        const packet = data ?? new Uint8Array(0);
        const frame = Math.max(XDP_FRAME, XDP_HEADROOM + packet.length + XDP_TAILROOM);
        const buffer = new Uint8Array(frame);
        buffer.set(packet, XDP_HEADROOM);
        const { region } = runtime.scratch(buffer, 'packet');
        region.start = XDP_HEADROOM;
        region.end = XDP_HEADROOM + packet.length;
        const p: PacketState = {
          kind: 'xdp',
          region,
          data: XDP_HEADROOM,
          end: XDP_HEADROOM + packet.length,
          headMin: XDP_FRAME_SIZE,
          tailMax: frame - XDP_TAILROOM,
          minLength: ETH_HLEN,
        };
        const ctx = new Uint8Array(XDP_CTX_SIZE);
        if (context) ctx.set(context.subarray(0, XDP_CTX_SIZE));
        const view = new DataView(ctx.buffer);
        if (context && view.getUint32(4, true) !== packet.length) {
          // The kernel's xdp_convert_md_to_buff: data_end must be the packet's length.
          throw new BpfError(Errno.EINVAL, {
            syscall: 'bpf',
            command: 'BPF_PROG_TEST_RUN',
            subject: `program '${this.name}' (mock)`,
            hint: `the xdp_md context's data_end (${view.getUint32(4, true)}) must be the packet's length (${packet.length})`,
          });
        }
        if (context && (view.getUint32(0, true) !== 0 || view.getUint32(8, true) !== 0 || view.getUint32(20, true) !== 0)) {
          throw new NotSupportedError(
            'an xdp_md context with metadata or an egress interface',
            undefined,
            'data, data_meta and egress_ifindex must be 0',
            'the mock backend',
          );
        }
        const ctxRegion = runtime.scratch(ctx, 'context (struct xdp_md)', false).region;
        ctxRegion.load = (offset, size) => {
          if (size !== 4) return undefined;
          if (offset === 0 || offset === 8) return { region, offset: p.data };
          if (offset === 4) return { region, offset: p.end };
          // The receive queue of the run is the loopback's unless the context names a device.
          if (offset === 12) return view.getUint32(12, true) || 1;
          return undefined;
        };
        runtime.setPacket(ctxRegion, p);
        return {
          r1: runtime.memory.pointer(ctxRegion),
          packet: p,
          dataPrefix: 0,
          contextOut: () => {
            const out = ctx.slice();
            const v = new DataView(out.buffer);
            v.setUint32(0, 0, true);
            v.setUint32(4, p.end - p.data, true);
            v.setUint32(8, 0, true);
            return out;
          },
        };
      }
      case 'skb': {
        const packet = data ?? new Uint8Array(0);
        const l2 = this.type === ProgramType.SCHED_CLS || this.type === ProgramType.SCHED_ACT;
        const buffer = new Uint8Array(SKB_HEADROOM + Math.max(packet.length, SKB_MAX_LEN) + ETH_HLEN);
        buffer.set(packet, SKB_HEADROOM);
        const { region } = runtime.scratch(buffer, 'packet');
        const dataStart = SKB_HEADROOM + (l2 ? 0 : ETH_HLEN);
        region.start = dataStart;
        region.end = SKB_HEADROOM + packet.length;
        const p: PacketState = {
          kind: 'skb',
          region,
          data: dataStart,
          end: SKB_HEADROOM + packet.length,
          headMin: SKB_HEADROOM,
          tailMax: buffer.length,
          minLength: l2 ? ETH_HLEN : 0,
        };
        const ctx = new Uint8Array(SKB_CTX_SIZE);
        if (context) ctx.set(context.subarray(0, SKB_CTX_SIZE));
        const view = new DataView(ctx.buffer);
        // eth_type_trans: the protocol is the EtherType as it is on the wire; the device is the loopback.
        ctx[16] = packet[12] ?? 0;
        ctx[17] = packet[13] ?? 0;
        view.setUint32(40, 1, true);
        view.setUint32(4, packetType(packet), true);
        // wire_len: the length the skb had when the run started, unless the context gives one.
        if (view.getUint32(160, true) === 0) view.setUint32(160, p.end - p.data, true);
        const ctxRegion = runtime.scratch(ctx, 'context (struct __sk_buff)').region;
        ctxRegion.load = (offset, size) => {
          if (offset === 0 && size === 4) return p.end - p.data;
          if (size !== 4) return undefined;
          if (offset === 76 || offset === 140) return { region, offset: p.data };
          if (offset === 80) return { region, offset: p.end };
          return undefined;
        };
        runtime.setPacket(ctxRegion, p);
        return {
          r1: runtime.memory.pointer(ctxRegion),
          packet: p,
          dataPrefix: l2 ? 0 : ETH_HLEN,
          contextOut: () => {
            // The fields the kernel copies back (convert_skb_to___skb), the others zero.
            const out = new Uint8Array(SKB_CTX_SIZE);
            for (const [from, to] of [
              [8, 12],
              [32, 44],
              [48, 68],
              [152, 168],
              [176, 180],
              [184, 192],
            ] as const) {
              out.set(ctx.subarray(from, to), from);
            }
            return out;
          },
        };
      }
      case 'raw_tp': {
        if (context && (context.length % 8 !== 0 || context.length > RAW_TP_MAX_ARGS * 8)) {
          throw new InvalidArgumentError('testRun context', `at most ${RAW_TP_MAX_ARGS} u64 arguments (a multiple of 8 bytes)`, context);
        }
        if (!context?.length) return { r1: 0n, dataPrefix: 0, contextOut: () => undefined };
        const region = runtime.scratch(context.slice(), 'context (raw tracepoint arguments)', false).region;
        return { r1: runtime.memory.pointer(region), dataPrefix: 0, contextOut: () => undefined };
      }
      case 'syscall': {
        if (context && context.length > 0xffff) throw new InvalidArgumentError('testRun context', 'at most 65535 bytes', context);
        if (!context?.length) return { r1: 0n, dataPrefix: 0, contextOut: () => undefined };
        const bytes = context.slice();
        const region: VmRegion = runtime.scratch(bytes, 'context').region;
        return { r1: runtime.memory.pointer(region), dataPrefix: 0, contextOut: () => bytes };
      }
      default:
        throw new NotSupportedError(
          `BPF_PROG_TEST_RUN of ${programTypeName(this.type)} programs`,
          undefined,
          undefined,
          'the mock backend',
        );
    }
  }

  /**
   * Attaches the program to a hook of its mock system (see
   * {@link MockSystem.attach}): XDP and TC programs to mock interfaces,
   * probes to hooks the test fires. The program remembers the link for
   * {@link closeLinks}.
   *
   * @example
   * declare const system: MockSystem, prog: MockProgram;
   * system.addInterface('eth0');
   * using link = prog.attach({ kind: 'xdp', interface: 'eth0' });
   */
  attach(target: AttachTarget): MockLink {
    this.#assertOpen();
    const link = mockHooks(this.#kernel, this.#runtime).attach(this, target);
    for (const ref of this.#links) {
      const l = ref.deref();
      if (l === undefined || l.closed) this.#links.delete(ref);
    }
    this.#links.add(new WeakRef(link));
    return link;
  }

  /** The links {@link attach} returned (weakly held: a link nobody holds stays attached until the system closes). */
  readonly #links = new Set<WeakRef<Link>>();

  /**
   * Closes every link {@link attach} returned that is still open,
   * detaching the program from those hooks (a pinned link stays attached:
   * its pin holds it). `close()` of the program does not do this. Works on
   * a closed program too.
   *
   * @example
   * declare const prog: MockProgram;
   * const link = prog.attach({ kind: 'raw_tracepoint', name: 'sched_switch' });
   * prog.closeLinks();
   * link.closed; // true
   */
  closeLinks(): void {
    for (const ref of this.#links) ref.deref()?.close();
    this.#links.clear();
  }

  /**
   * What the kernel would say about the program (BPF_OBJ_GET_INFO_BY_FD).
   *
   * @example
   * declare const prog: MockProgram;
   * prog.info().tag; // 16 hex digits
   */
  info(): ProgramInfo {
    this.#assertOpen();
    const o = this.object;
    return {
      id: o.id,
      name: o.name.slice(0, 15),
      type: o.type,
      tag: programTag(o.instructions),
      mapIds: o.maps.map((m) => m.id),
      runCount: 0n,
      runTimeNs: 0n,
      xlatedSize: o.instructions.length,
      jitedSize: 0,
      btfId: 0,
      loadTime: o.loadTime,
      ...(this.#expectedAttachType !== undefined ? {} : {}),
    };
  }

  /**
   * Pins the program on the mock's virtual bpffs.
   *
   * @example
   * declare const prog: MockProgram;
   * prog.pin('/sys/fs/bpf/prog');
   */
  pin(path: string): void {
    this.#assertOpen();
    if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError('pin path', 'a path in bpffs', path);
    this.#kernel.pin(path, this.object, `program '${this.name}' (mock)`);
    this.#pinned = path;
  }

  /**
   * Removes the pin {@link pin} made.
   *
   * @example
   * declare const prog: MockProgram;
   * prog.unpin();
   */
  unpin(): void {
    this.#assertOpen();
    if (this.#pinned === undefined) {
      throw new InvalidArgumentError(`program '${this.name}': unpin`, 'a program pinned with pin()', 'a program that is not pinned');
    }
    this.#kernel.unpin(this.#pinned, `program '${this.name}' (mock)`);
    this.#pinned = undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#kernel.closeFd(this.fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The `pkt_type` eth_type_trans gives a frame on the loopback device, whose
 * address and broadcast address are all zeros: PACKET_HOST 0 for that
 * address, PACKET_MULTICAST 2 for a group address (ff:ff:ff:ff:ff:ff
 * included: it is not the device's broadcast address), PACKET_OTHERHOST 3.
 */
function packetType(packet: Uint8Array): number {
  const dest = packet.subarray(0, 6);
  if (dest.every((b) => b === 0)) return 0;
  return ((dest[0] ?? 0) & 1) !== 0 ? 2 : 3;
}

/**
 * The kernel's program tag (bpf_prog_calc_tag): the first 8 bytes of the SHA-256 of the instructions as
 * loaded (SHA-1 before Linux 6.18), both immediates of a map `lddw` zeroed (they hold an fd, or a map pointer
 * and value offset).
 */
function programTag(instructions: Uint8Array): string {
  const insns = instructions.slice();
  for (let i = 0; i + 16 <= insns.length; i += 8) {
    if (insns[i] === 0x18) {
      const src = (insns[i + 1] as number) >> 4;
      if (src === 1 || src === 2 || src === 5 || src === 6) {
        insns.fill(0, i + 4, i + 8);
        insns.fill(0, i + 12, i + 16);
      }
      i += 8;
    }
  }
  return createHash('sha256').update(insns).digest('hex').slice(0, 16);
}
