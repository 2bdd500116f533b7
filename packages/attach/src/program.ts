import {
  AttachType,
  checkProgramSpec,
  readTestRunOptions,
  BpfError,
  Errno,
  InvalidArgumentError,
  NotSupportedError,
  OwnedHandle,
  ProgramType,
  programTypeName,
  runSteps,
  runStepsAsync,
  TestRunFlag,
  testRunRule,
  testRunUnsupported,
  VerifierError,
} from '@bpfkit/core';
import type {
  AttachTarget,
  Link,
  LoadProgramOptions,
  Program,
  ProgramInfo,
  ProgramSpec,
  TestRunOptions,
  TestRunResult,
} from '@bpfkit/core';
import {
  capabilities,
  getFdById,
  kernelObjectName,
  native,
  objGet,
  progInfoByFd,
  progLoad,
  progLoadAsync,
  progTestRun,
} from '@bpfkit/syscalls';
import type { BpfCallContext, ProgLoadAttr, ProgLoadLog, ProgTestRunAttr } from '@bpfkit/syscalls';
import { attachProgram } from './attach-program.js';
import { OwnPin } from './own-pin.js';
import { kernelProgramInfo } from './program-info.js';

export type { LoadProgramOptions } from '@bpfkit/core';

const FUNC_INFO_SIZE = 8; // struct bpf_func_info
const LINE_INFO_SIZE = 16; // struct bpf_line_info

function u32Records(records: readonly Record<string, number>[], fields: readonly string[]): Uint8Array {
  const out = new Uint8Array(records.length * fields.length * 4);
  const view = new DataView(out.buffer);
  records.forEach((r, i) => {
    fields.forEach((f, j) => {
      view.setUint32((i * fields.length + j) * 4, r[f]! >>> 0, true);
    });
  });
  return out;
}

/** The smallest log_size kernels before 6.4 accept. */
const MIN_LOG_SIZE = 128;

/** The kernel's limit on log_size (`UINT_MAX >> 2`, since 5.2). */
const MAX_LOG_SIZE = 0x3fffffff;

/**
 * A program loaded into the kernel. Closing it unloads it unless it is
 * pinned or attached: a link holds its program in the kernel, so closing
 * the program's handle after attaching it is normal and leaves the links
 * working. Links are closed by their own handles, or all at once by
 * {@link KernelProgram.closeLinks} (what closing a collection does).
 *
 * @example
 * import { assemble } from '@bpfkit/elf';
 * const instructions = assemble('mov %r0, 42\nexit');
 * using prog = loadKernelProgram({ name: 'ret42', type: ProgramType.SOCKET_FILTER, instructions, license: 'GPL' });
 * prog.testRun({ data: new Uint8Array(64) }).returnValue;
 */
export class KernelProgram extends OwnedHandle implements Program {
  readonly name: string;
  readonly type: number;
  readonly fd: number;
  /** The verifier's log of a successful load, when it was loaded with `logAlways`. */
  readonly verifierLog: string | undefined;
  /**
   * The `expected_attach_type` it was loaded with (`AttachType.TRACE_FENTRY`,
   * …; 0 when none was given), which tracing, LSM and iterator links must
   * repeat; undefined for a program opened by id or pin, whose attach type
   * `bpf_prog_info` does not report.
   */
  readonly expectedAttachType: number | undefined;
  readonly #pin = new OwnPin();
  /**
   * The links {@link attach} returned, held weakly: a link nobody
   * references is still garbage-collected (and closed by its finalizer).
   */
  readonly #links = new Set<WeakRef<Link>>();

  /** Takes ownership of `fd`. */
  constructor(fd: number, name: string, type: number, verifierLog?: string, expectedAttachType?: number) {
    super(`program '${name}'`, () => native.close(fd));
    this.fd = fd;
    this.name = name;
    this.type = type;
    this.verifierLog = verifierLog;
    this.expectedAttachType = expectedAttachType;
  }

  /**
   * Runs the program without attaching it (BPF_PROG_TEST_RUN), as the
   * kernel's runner for its type allows ({@link testRunRule} has the table):
   * packet programs (socket_filter, sched_cls/act, cgroup_skb, lwt_*, xdp,
   * flow_dissector, netfilter) on `data`; syscall, raw tracepoint and
   * sk_lookup programs on a `context` and no data; fentry/fexit/fmod_ret on
   * the kernel's own test functions, with nothing.
   *
   * - `data` and `context` of the result are exactly what the kernel wrote
   *   (`dataSizeOut`, `ctx_size_out` bytes). The data-out buffer holds the
   *   data plus 4096 bytes unless `dataOutSize` says otherwise; a program
   *   that grows the packet past it fails with BpfError ENOSPC naming the
   *   size it left.
   * - A syscall program's context comes back as it left it (the kernel
   *   writes it over the context in; the caller's array is not touched).
   * - `repeat` and `duration` (mean ns per run) for the types that repeat;
   *   `cpu` (implies `TestRunFlag.RUN_ON_CPU`) for raw tracepoints;
   *   `TestRunFlag.XDP_LIVE_FRAMES` and `batchSize` for XDP (frames the
   *   program passes go up the stack of the current network namespace's
   *   loopback, or of the `xdp_md.ingress_ifindex` device; XDP_TX and
   *   XDP_REDIRECT send them: no data or context comes back, and the
   *   return value is 0).
   * - An EINTR (a signal during a repeated run; the kernel then returns no
   *   result) is retried, so the program may run more than `repeat` times.
   *
   * @throws InvalidArgumentError for what the type does not take (`data`
   *   for a syscall program, `repeat` for a raw tracepoint, a flag…), saying so
   * @throws NotSupportedError naming the type when the kernel cannot test-run it
   * @throws BpfError for the kernel's refusals (EINVAL, ENOSPC, ENXIO for an offline CPU…)
   * @example
   * const { returnValue, data, dataSizeOut } = prog.testRun({ data: packet, repeat: 100 });
   */
  testRun(options: TestRunOptions = {}): TestRunResult {
    this.assertOpen();
    const typeName = programTypeName(this.type);
    if (testRunUnsupported(this.type) || (this.type === ProgramType.TRACING && !fentryLike(this.expectedAttachType))) {
      throw new NotSupportedError(
        `BPF_PROG_TEST_RUN of ${typeName} programs`,
        undefined,
        this.type === ProgramType.TRACING
          ? 'the kernel test-runs only fentry, fexit and fmod_ret tracing programs'
          : `the kernel has no test runner for ${typeName} programs; attach it to run it`,
      );
    }
    const fields = testRunFields(this.type, typeName, options);
    const ctxIn = fields.ctxIn instanceof Uint8Array ? fields.ctxIn : null;
    const dataOut = fields.dataOut instanceof Uint8Array ? fields.dataOut : null;
    const ctxOut = fields.ctxOut instanceof Uint8Array ? fields.ctxOut : null;
    let r: ReturnType<typeof progTestRun>;
    try {
      r = progTestRun({ progFd: this.fd, ...fields }, { subject: this.label });
    } catch (err) {
      if (err instanceof BpfError && err.errno === Errno.ENOTSUPP) {
        throw new NotSupportedError(`BPF_PROG_TEST_RUN of ${typeName} programs`, undefined, 'the kernel answered ENOTSUPP');
      }
      throw err;
    }
    const context =
      this.type === ProgramType.SYSCALL
        ? (ctxIn ?? undefined) // the run's copy, written back by the kernel
        : ctxOut
          ? ctxOut.slice(0, Math.min(r.ctxSizeOut, ctxOut.byteLength))
          : undefined;
    return {
      returnValue: r.retval,
      duration: r.duration,
      data: dataOut ? dataOut.slice(0, Math.min(r.dataSizeOut, dataOut.byteLength)) : new Uint8Array(0),
      dataSizeOut: r.dataSizeOut,
      ...(context ? { context } : {}),
    };
  }

  /**
   * Attaches the program to a hook ({@link attachProgram}); closing the link
   * returned detaches it.
   *
   * @example
   * using link = prog.attach({ kind: 'raw_tracepoint', name: 'sched_process_exec' });
   */
  attach(target: AttachTarget): Link {
    this.assertOpen();
    const link = attachProgram(this, target);
    // Forget links already closed or collected, so a program attached and detached in a loop keeps a small set.
    for (const ref of this.#links) {
      const l = ref.deref();
      if (l === undefined || l.closed) this.#links.delete(ref);
    }
    this.#links.add(new WeakRef(link));
    return link;
  }

  /**
   * Closes every link that {@link attach} returned and that is still
   * open, detaching the program from those hooks. A link pinned in bpffs
   * stays attached (its pin holds it; only unpinning detaches it), and
   * links made by {@link attachProgram} directly are not tracked.
   * `close()` of the program does not do this: a program's handle may be
   * closed while its links keep it attached. Closing a collection calls
   * this for each of its programs. Works on a closed program too.
   *
   * @example
   * declare const prog: KernelProgram;
   * const link = prog.attach({ kind: 'raw_tracepoint', name: 'sched_switch' });
   * prog.closeLinks();
   * link.closed; // true
   */
  closeLinks(): void {
    const errors: unknown[] = [];
    for (const ref of this.#links) {
      try {
        ref.deref()?.close();
      } catch (err) {
        errors.push(err);
      }
    }
    this.#links.clear();
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${this.label}: closing its links`);
  }

  info(): ProgramInfo {
    this.assertOpen();
    return kernelProgramInfo(this.fd, this.label);
  }

  pin(path: string): void {
    this.assertOpen();
    this.#pin.pin(this.label, this.fd, path);
  }

  unpin(): void {
    this.assertOpen();
    this.#pin.unpin(this.label, 'a program');
  }
}

/** Room the default data-out buffer leaves after the data, for a program that grows the packet. */
export const TEST_RUN_DATA_HEADROOM = 4096;

/** The default context-out capacity: the kernel writes its whole context struct (`struct __sk_buff` is 192 bytes). */
const CONTEXT_OUT_DEFAULT = 256;

/** Whether a tracing program's attach type is one the kernel test-runs (undefined: opened by id, not known: let the kernel say). */
function fentryLike(attachType: number | undefined): boolean {
  return (
    attachType === undefined ||
    attachType === AttachType.TRACE_FENTRY ||
    attachType === AttachType.TRACE_FEXIT ||
    attachType === AttachType.MODIFY_RETURN
  );
}

/**
 * The BPF_PROG_TEST_RUN fields for a program of `type`, checked against
 * the kernel's rules for it (types without a rule, newer than the table,
 * get what was asked for).
 */
function testRunFields(type: number, typeName: string, options: TestRunOptions): Omit<ProgTestRunAttr, 'progFd'> {
  const { data, context, dataOutSize, contextOutSize, repeat, cpu, batchSize, flags } = readTestRunOptions(options);
  const rule = testRunRule(type);
  const who = `${typeName} programs`;
  if (rule) {
    if (data && rule.data === 'none') {
      throw new InvalidArgumentError(
        'testRun data',
        `no data: ${who} take ${rule.context === 'none' ? 'no input' : `a context (${rule.contextType})`} and no data`,
        data,
      );
    }
    if (rule.data === 'required' && (data?.byteLength ?? 0) < rule.minDataSize) {
      throw new InvalidArgumentError('testRun data', `a packet of at least ${rule.minDataSize} bytes for ${who}`, data);
    }
    if (context && rule.context === 'none') throw new InvalidArgumentError('testRun context', `no context: ${who} take none`, context);
    if (!context && rule.context === 'required') {
      throw new InvalidArgumentError('testRun context', `a context (${rule.contextType}) for ${who}`, context);
    }
    if (repeat > 1 && !rule.repeat) {
      throw new InvalidArgumentError('testRun repeat', `0 or 1: ${who} run once per test run (the kernel takes no repeat)`, repeat);
    }
    if (cpu !== undefined && !rule.cpu) {
      throw new InvalidArgumentError('testRun cpu', `no cpu: only raw_tracepoint programs run on a chosen CPU`, cpu);
    }
    const unknown = flags & ~rule.flags;
    if (unknown !== 0) {
      throw new InvalidArgumentError('testRun flags', `${flagNames(rule.flags)} for ${who}`, flags);
    }
  }
  const live = (flags & TestRunFlag.XDP_LIVE_FRAMES) !== 0;
  if (batchSize !== undefined && !live) {
    throw new InvalidArgumentError('testRun batchSize', 'no batchSize without TestRunFlag.XDP_LIVE_FRAMES (XDP programs)', batchSize);
  }
  const dataOutKind = rule?.dataOut ?? (data ? 'packet' : 'none');
  const dataOutCapacity = live || dataOutKind === 'none' ? 0 : (dataOutSize ?? (data?.byteLength ?? 0) + TEST_RUN_DATA_HEADROOM);
  if (dataOutSize && (live || dataOutKind === 'none')) {
    throw new InvalidArgumentError('testRun dataOutSize', `0: ${live ? 'XDP live frames give' : `${who} give`} no data back`, dataOutSize);
  }
  const contextOutKind = rule?.contextOut ?? (context || contextOutSize ? 'copy' : 'none');
  let contextOutCapacity = 0;
  if (live && contextOutSize) {
    throw new InvalidArgumentError('testRun contextOutSize', '0: XDP live frames give no context back', contextOutSize);
  }
  if (contextOutKind === 'copy' && !live) {
    contextOutCapacity = contextOutSize ?? (context ? Math.max(CONTEXT_OUT_DEFAULT, context.byteLength) : 0);
  } else if (contextOutSize && contextOutKind === 'none') {
    throw new InvalidArgumentError('testRun contextOutSize', `0: ${who} give no context back`, contextOutSize);
  }
  return {
    dataIn: data?.byteLength ? data : null,
    dataSizeIn: data?.byteLength ?? 0,
    dataOut: dataOutCapacity ? new Uint8Array(dataOutCapacity) : null,
    dataSizeOut: dataOutCapacity,
    // A syscall program's run writes the context back into ctx_in: give the kernel a copy, never the caller's array.
    ctxIn: context?.byteLength ? context.slice() : null,
    ctxSizeIn: context?.byteLength ?? 0,
    ctxOut: contextOutCapacity ? new Uint8Array(contextOutCapacity) : null,
    ctxSizeOut: contextOutCapacity,
    // The once-only runners refuse any repeat, 1 included.
    repeat: rule && !rule.repeat ? 0 : repeat,
    flags,
    cpu: cpu ?? 0,
    batchSize: batchSize ?? 0,
  };
}

function flagNames(accepted: number): string {
  const names = Object.entries(TestRunFlag)
    .filter(([, bit]) => (accepted & bit) !== 0)
    .map(([name]) => `TestRunFlag.${name}`);
  return names.length ? `no flags but ${names.join(', ')}` : 'no flags';
}

/** Program types that read kernel memory through BTF (fentry/fexit/tp_btf/iter, LSM, freplace): what lockdown forbids. */
const TRACING_TYPES: ReadonlySet<number> = new Set([ProgramType.TRACING, ProgramType.LSM, ProgramType.EXT]);

/** Whether this process holds CAP_SYS_ADMIN, CAP_PERFMON and CAP_BPF. */
function fullyPrivileged(): boolean {
  const c = capabilities();
  return c.CAP_SYS_ADMIN && c.CAP_PERFMON && c.CAP_BPF;
}

/** An EPERM for a tracing, LSM or extension program of a fully privileged process: the kernel's own policy, said so. */
function lockdownHint(err: unknown, spec: ProgramSpec, subject: string): unknown {
  if (!(err instanceof BpfError) || err.errno !== Errno.EPERM || !TRACING_TYPES.has(spec.type) || !fullyPrivileged()) return err;
  return new BpfError(Errno.EPERM, {
    syscall: 'bpf',
    command: 'BPF_PROG_LOAD',
    subject,
    hint: 'this process has CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN, so the kernel itself refuses this program type: kernel lockdown (integrity/confidentiality) or a security module forbids tracing, LSM and extension programs',
  });
}

/** The BTF, func/line info, attach-BTF and fd_array fields of BPF_PROG_LOAD (records in host byte order, as the kernel reads them). */
function btfFields(options: LoadProgramOptions) {
  const { btf, attachBtfId, attachBtfObjFd, fdArray } = options;
  const funcInfo = btf?.funcInfo?.length ? btf.funcInfo : undefined;
  const lineInfo = btf?.lineInfo?.length ? btf.lineInfo : undefined;
  return {
    ...(btf ? { progBtfFd: btf.fd } : {}),
    ...(funcInfo
      ? { funcInfoRecSize: FUNC_INFO_SIZE, funcInfo: u32Records(funcInfo, ['insnOff', 'typeId']), funcInfoCnt: funcInfo.length }
      : {}),
    ...(lineInfo
      ? {
          lineInfoRecSize: LINE_INFO_SIZE,
          lineInfo: u32Records(lineInfo, ['insnOff', 'fileNameOff', 'lineOff', 'lineCol']),
          lineInfoCnt: lineInfo.length,
        }
      : {}),
    ...(attachBtfId ? { attachBtfId } : {}),
    ...(attachBtfObjFd ? { attachBtfObjFd } : {}),
    ...(fdArray?.length ? { fdArray: new Uint8Array(Int32Array.from(fdArray).buffer) } : {}),
  };
}

/**
 * Loads a program (BPF_PROG_LOAD). The first load runs without a log; if the
 * verifier rejects the program it is loaded again with a log, growing the
 * buffer until the whole log fits, and a {@link VerifierError} carries it.
 *
 * @example
 * const insns = Uint8Array.of(0xb7, 0, 0, 0, 42, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0); // r0 = 42; exit
 * using prog = loadKernelProgram({ name: 'answer', type: ProgramType.SOCKET_FILTER, instructions: insns, license: 'GPL' });
 */
export function loadKernelProgram(spec: ProgramSpec, options: LoadProgramOptions = {}): KernelProgram {
  return runSteps(loadSteps(spec, options), (s) => progLoad(s.fields, s.log, s.ctx));
}

/**
 * {@link loadKernelProgram} with each BPF_PROG_LOAD on the libuv thread
 * pool: the verifier (seconds for a large program) runs there, and the
 * event loop keeps serving timers and sockets meanwhile.
 *
 * @example
 * const insns = Uint8Array.of(0xb7, 0, 0, 0, 42, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0); // r0 = 42; exit
 * using prog = await loadKernelProgramAsync({ name: 'answer', type: ProgramType.SOCKET_FILTER, instructions: insns, license: 'GPL' });
 */
export function loadKernelProgramAsync(spec: ProgramSpec, options: LoadProgramOptions = {}): Promise<KernelProgram> {
  return runStepsAsync(loadSteps(spec, options), (s) => progLoadAsync(s.fields, s.log, s.ctx));
}

/** One BPF_PROG_LOAD a load asks for. */
interface ProgLoadStep {
  fields: ProgLoadAttr;
  log: ProgLoadLog | undefined;
  ctx: BpfCallContext;
}

/**
 * The loading logic, whatever runs the system calls: yields each
 * BPF_PROG_LOAD to make, receives its fd (or its error, thrown in), returns
 * the program.
 */
function* loadSteps(spec: ProgramSpec, options: LoadProgramOptions): Generator<ProgLoadStep, KernelProgram, number> {
  checkProgramSpec(spec);
  const fields: ProgLoadAttr = {
    progType: spec.type,
    insns: spec.instructions,
    insnCnt: spec.instructions.byteLength / 8,
    license: spec.license,
    progName: kernelObjectName(spec.name),
    expectedAttachType: spec.expectedAttachType ?? 0,
    progFlags: spec.flags ?? 0,
    kernVersion: spec.kernelVersion ?? 0,
    ...btfFields(options),
  };
  const ctx = { subject: `program '${spec.name}' (${programTypeName(spec.type)})` };
  const expectedAttachType = spec.expectedAttachType ?? 0;
  let firstError: BpfError | undefined;
  if (!options.logAlways || options.logLevel === 0) {
    try {
      const fd = yield { fields, log: undefined, ctx };
      return new KernelProgram(fd, spec.name, spec.type, undefined, expectedAttachType);
    } catch (err) {
      const level = options.logLevel ?? 1;
      // The verifier explains EINVAL, EACCES, ENOENT (unknown BTF ids), E2BIG, EFAULT, ENOTSUPP…; EPERM and ENOMEM it never sees.
      if (!(err instanceof BpfError) || level === 0 || err.errno === Errno.EPERM || err.errno === Errno.ENOMEM)
        throw lockdownHint(err, spec, ctx.subject);
      firstError = err;
    }
  }
  // Load with a log: to explain a rejection, or because the caller wants it always.
  // Kernels before 6.4 refuse a log buffer under 128 bytes with EINVAL (bpf_verifier_log_attr_valid).
  for (let size = Math.max(MIN_LOG_SIZE, options.logSize ?? 64 * 1024); ; size = Math.min(size * 4, MAX_LOG_SIZE)) {
    const buffer = new Uint8Array(size);
    try {
      const fd = yield { fields, log: { buffer, level: options.logLevel ?? 1 }, ctx };
      // Loaded (with logAlways, or a transient failure the first time): keep it, and its log when asked for.
      const end = buffer.indexOf(0);
      const log = options.logAlways ? new TextDecoder().decode(buffer.subarray(0, end < 0 ? buffer.length : end)) : undefined;
      return new KernelProgram(fd, spec.name, spec.type, log, expectedAttachType);
    } catch (err) {
      if (err instanceof VerifierError && err.truncated && size < MAX_LOG_SIZE) continue;
      if (err instanceof VerifierError && err.program !== spec.name) {
        throw new VerifierError(spec.name, err.errno, err.log, { truncated: err.truncated });
      }
      // No log came back: the first error says as much as we know.
      throw err instanceof VerifierError ? err : lockdownHint(firstError ?? err, spec, ctx.subject);
    }
  }
}

/**
 * Opens a program pinned in bpffs.
 *
 * @example
 * using prog = openPinnedProgram('/sys/fs/bpf/my_prog');
 */
export function openPinnedProgram(path: string): KernelProgram {
  if (typeof path !== 'string' || !path) throw new InvalidArgumentError('pin path', 'a path in bpffs', path);
  return adoptProgram(objGet(path, {}, { subject: `pin '${path}'` }));
}

/**
 * Opens a program by its kernel id.
 *
 * @example
 * using prog = openProgramById(17);
 */
export function openProgramById(id: number): KernelProgram {
  if (!Number.isInteger(id) || id <= 0) throw new InvalidArgumentError('program id', 'a positive integer', id);
  return adoptProgram(getFdById('prog', id, {}, { subject: `program id ${id}` }));
}

function adoptProgram(fd: number): KernelProgram {
  try {
    const i = progInfoByFd(fd);
    return new KernelProgram(fd, i.name, i.type);
  } catch (err) {
    native.close(fd);
    throw err;
  }
}
