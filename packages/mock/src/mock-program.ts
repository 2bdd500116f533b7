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
import { MOCK_PROGRAM_TYPES, mockHelperAllowed, type MockTailTarget, writableByProgram, XDP_META_MAX } from './helpers/table.js';
import type { MockRuntime, PacketState } from './helpers/runtime.js';
import { KERNEL_GPL_ONLY_HELPERS } from './helpers/kernel-helper-sets.js';
import { ETH_HLEN, packetType, SKB_CTX_SIZE, skbContext, XDP_CTX_SIZE, xdpContext, xdpContextOut } from './helpers/packet-context.js';
export { XDP_HEADROOM } from './helpers/packet-context.js';
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

/** Helpers the kernel gives GPL-compatible programs only (probed: scripts/mock-helper-sets.mjs). */
const GPL_ONLY: ReadonlySet<number> = new Set(KERNEL_GPL_ONLY_HELPERS);

/** How far `bpf_skb_change_tail` may grow a packet on a test run (the loopback device's MTU). */
const SKB_MAX_LEN = 65536;
/** The loopback's address (all zeros), for `pkt_type`. */
const LOOPBACK_MAC = new Uint8Array(6);
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
  /** Where the data out starts in the packet buffer (default: the packet's data; XDP: its metadata). */
  dataFrom?: () => number;
  /** Bytes at the start of the data out that are zeroed (socket filters: the link-layer header they did not see). */
  zeroPrefix?: number;
  /** The context after the run, `undefined` for none. */
  contextOut: () => Uint8Array | undefined;
}

/**
 * A program on the mock backend: the core {@link Program} interface over a
 * {@link MockProgramObject}. `testRun` runs it on the mock's VM with the
 * options and results of the kernel's BPF_PROG_TEST_RUN; `attach` puts it
 * on a hook of its mock system (interfaces, probes the test fires).
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
        const from = prepared.dataFrom?.() ?? p.data;
        dataSizeOut = p.end - from;
        const bytes = p.region.bytes.slice(from, p.end);
        if (prepared.zeroPrefix) bytes.fill(0, 0, prepared.zeroPrefix);
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
        const given = context ? new DataView(context.buffer, context.byteOffset, Math.min(context.byteLength, XDP_CTX_SIZE)) : undefined;
        const field = (offset: number) => (given && given.byteLength >= offset + 4 ? given.getUint32(offset, true) : 0);
        // bpf_prog_test_run_xdp: data_meta 0, data the metadata's length (the packet starts with it, a
        // multiple of 4 that meta_len holds), data_end the packet's length.
        const metaLength = field(0);
        if (
          given &&
          (field(8) !== 0 || field(4) !== packet.length || metaLength > packet.length || metaLength % 4 !== 0 || metaLength > XDP_META_MAX)
        ) {
          throw new BpfError(Errno.EINVAL, {
            syscall: 'bpf',
            command: 'BPF_PROG_TEST_RUN',
            subject: `program '${this.name}' (mock)`,
            hint: `the xdp_md context must have data_meta 0, data_end the packet's length (${packet.length}) and data the length of the metadata it starts with (a multiple of 4, at most 252)`,
          });
        }
        if (field(20) !== 0) {
          throw new NotSupportedError(
            'an xdp_md context with an egress interface',
            undefined,
            'egress_ifindex must be 0',
            'the mock backend',
          );
        }
        // The receive queue of the run is the loopback's unless the context names a device.
        const prepared = xdpContext(runtime, packet, { ingressIfindex: field(12) || 1, rxQueue: field(16), metaLength });
        return {
          r1: prepared.r1,
          packet: prepared.packet,
          dataFrom: () => prepared.packet.meta,
          contextOut: () => {
            // The run's device is the loopback's, but the context out keeps the ingress_ifindex it came with.
            const out = xdpContextOut(prepared);
            new DataView(out.buffer).setUint32(12, field(12), true);
            return out;
          },
        };
      }
      case 'skb': {
        const packet = data ?? new Uint8Array(0);
        const l2 = this.type === ProgramType.SCHED_CLS || this.type === ProgramType.SCHED_ACT;
        const prepared = skbContext(runtime, packet, {
          l2,
          ifindex: 1,
          ingressIfindex: 0,
          pktType: packetType(packet, LOOPBACK_MAC),
          maxLength: SKB_MAX_LEN + ETH_HLEN,
          given: context,
        });
        const p = prepared.packet;
        const ctx = prepared.ctx;
        return {
          r1: prepared.r1,
          packet: p,
          // A socket filter's data out starts at the link-layer header it did not see, zeroed.
          dataFrom: () => p.data - (l2 ? 0 : ETH_HLEN),
          zeroPrefix: l2 ? 0 : ETH_HLEN,
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
        if (!context?.length) return { r1: 0n, contextOut: () => undefined };
        const region = runtime.scratch(context.slice(), 'context (raw tracepoint arguments)', false).region;
        return { r1: runtime.memory.pointer(region), contextOut: () => undefined };
      }
      case 'syscall': {
        if (context && context.length > 0xffff) throw new InvalidArgumentError('testRun context', 'at most 65535 bytes', context);
        if (!context?.length) return { r1: 0n, contextOut: () => undefined };
        const bytes = context.slice();
        const region: VmRegion = runtime.scratch(bytes, 'context').region;
        return { r1: runtime.memory.pointer(region), contextOut: () => bytes };
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
