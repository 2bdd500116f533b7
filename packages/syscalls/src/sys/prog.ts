/**
 * Typed wrappers for the program commands: load, attach, detach, query, test
 * run, bind map, stream read, raw tracepoint open, task fd query.
 *
 * @module
 */
import { Errno, VerifierError } from '@bpfkit/core';
import { BpfCommand } from '../commands.js';
import { HOST_LITTLE_ENDIAN, readCString } from '../attr/layout.js';
import { encodeProgLoadAttr, progLoadLayout, type ProgLoadAttr } from '../attr/prog-load.js';
import {
  encodeProgAttachAttr,
  encodeProgQueryAttr,
  progQueryLayout,
  type ProgAttachAttr,
  type ProgQueryAttr,
} from '../attr/prog-attach.js';
import { encodeProgTestRunAttr, progTestRunLayout, type ProgTestRunAttr } from '../attr/prog-test-run.js';
import { encodeProgBindMapAttr } from '../attr/prog-bind-map.js';
import { encodeProgStreamReadAttr } from '../attr/prog-stream.js';
import { encodeRawTracepointOpenAttr } from '../attr/raw-tracepoint.js';
import { encodeTaskFdQueryAttr, taskFdQueryLayout } from '../attr/task-fd-query.js';
import { bpfError, callBpf, tryBpf, tryBpfAsync, type BpfCallContext } from './call.js';

/** A verifier log request for {@link progLoad}. */
export interface ProgLoadLog {
  /** Receives the log (its length is `log_size`). */
  buffer: Uint8Array;
  /** `log_level`: 1 (default) = the failing path, 2 = every instruction, 4 = statistics. */
  level?: number;
}

/**
 * BPF_PROG_LOAD: verifies and loads a program, returning its fd.
 *
 * With a `log` buffer the verifier writes its log there, and a rejection
 * throws a `VerifierError` carrying the whole log. Without one a
 * rejection throws a plain `BpfError`. A load the verifier abandoned
 * because a signal arrived (EAGAIN) is tried again, up to 5 times.
 *
 * @throws VerifierError when a log was requested and the verifier rejected the program
 * @throws BpfError for other failures
 * @example
 * const insns = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0); // r0 = 0; exit
 * const fd = progLoad({ progType: ProgramType.SOCKET_FILTER, insns, license: 'GPL' },
 *   new Uint8Array(64 * 1024));
 */
export function progLoad(fields: ProgLoadAttr, log?: Uint8Array | ProgLoadLog, ctx: BpfCallContext = {}): number {
  const call = progLoadCall(fields, log);
  let r = tryBpf(BpfCommand.BPF_PROG_LOAD, call.enc);
  for (let retry = 1; r === -Errno.EAGAIN && retry < PROG_LOAD_ATTEMPTS; retry++) r = tryBpf(BpfCommand.BPF_PROG_LOAD, call.enc);
  return progLoadResult(r, call, fields, ctx);
}

/**
 * How many times a load interrupted by a signal is tried. The verifier
 * gives up with EAGAIN when a signal is pending (kernel/bpf/verifier.c,
 * `do_check`: `signal_pending(current)`), which a child's SIGCHLD arriving
 * during a long verification causes; libbpf tries 5 times too. A CPU
 * profiler's SIGPROF, which arrives every millisecond or less and would cut
 * every attempt short, is held off by the addon for the call.
 */
const PROG_LOAD_ATTEMPTS = 5;

/**
 * {@link progLoad} with the system call on the libuv thread pool: the
 * verifier runs there, and the event loop keeps serving while it does.
 * Leave `fields` and the log buffer alone until it settles.
 *
 * @throws VerifierError when a log was requested and the verifier rejected the program
 * @throws BpfError for other failures
 * @example
 * const insns = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0); // r0 = 0; exit
 * const fd = await progLoadAsync({ progType: ProgramType.SOCKET_FILTER, insns, license: 'GPL' });
 */
export async function progLoadAsync(fields: ProgLoadAttr, log?: Uint8Array | ProgLoadLog, ctx: BpfCallContext = {}): Promise<number> {
  const call = progLoadCall(fields, log);
  let r = await tryBpfAsync(BpfCommand.BPF_PROG_LOAD, call.enc);
  for (let retry = 1; r === -Errno.EAGAIN && retry < PROG_LOAD_ATTEMPTS; retry++) r = await tryBpfAsync(BpfCommand.BPF_PROG_LOAD, call.enc);
  return progLoadResult(r, call, fields, ctx);
}

/** The attr of a BPF_PROG_LOAD, with the log request folded in. */
function progLoadCall(fields: ProgLoadAttr, log: Uint8Array | ProgLoadLog | undefined) {
  const logReq = log instanceof Uint8Array ? { buffer: log } : log;
  const all: ProgLoadAttr = logReq
    ? { ...fields, logBuf: logReq.buffer, logSize: logReq.buffer.byteLength, logLevel: logReq.level ?? 1 }
    : fields;
  return { all, enc: encodeProgLoadAttr(all) };
}

/** The fd a BPF_PROG_LOAD returned, or the error it means: a VerifierError when a log came back. */
function progLoadResult(r: number, call: ReturnType<typeof progLoadCall>, fields: ProgLoadAttr, ctx: BpfCallContext): number {
  if (r >= 0) return r;
  const { all, enc } = call;
  const errno = -r;
  const name = fields.progName || 'unnamed';
  const logBuf = all.logBuf;
  if (logBuf instanceof Uint8Array && (all.logLevel ?? 0) > 0) {
    const text = readCString(logBuf);
    if (text.length > 0) {
      const trueSize = progLoadLayout.read(enc.attr, 'logTrueSize');
      const truncated = errno === Errno.ENOSPC || trueSize > logBuf.byteLength;
      throw new VerifierError(name, errno, text, { truncated });
    }
  }
  const hint =
    ctx.hint ??
    ((errno === Errno.EACCES || errno === Errno.EINVAL) && !logBuf
      ? 'the verifier rejected the program, or privileges are missing; load with a log buffer to see the reason'
      : undefined);
  throw bpfError(BpfCommand.BPF_PROG_LOAD, errno, { subject: ctx.subject ?? `program '${name}'`, hint });
}

/**
 * BPF_PROG_ATTACH: attaches a program to a cgroup, sockmap, netns, tcx hook…
 *
 * @example
 * const cgroupFd = fs.openSync('/sys/fs/cgroup', 'r');
 * progAttach({ targetFd: cgroupFd, attachBpfFd: progFd, attachType: AttachType.CGROUP_INET_INGRESS,
 *   attachFlags: AttachFlags.ALLOW_MULTI });
 */
export function progAttach(fields: ProgAttachAttr, ctx?: BpfCallContext): void {
  callBpf(BpfCommand.BPF_PROG_ATTACH, encodeProgAttachAttr(fields), ctx);
}

/**
 * BPF_PROG_DETACH: detaches a program attached with {@link progAttach}.
 *
 * @example
 * const cgroupFd = fs.openSync('/sys/fs/cgroup', 'r');
 * progDetach({ targetFd: cgroupFd, attachBpfFd: progFd, attachType: AttachType.CGROUP_INET_INGRESS });
 */
export function progDetach(fields: ProgAttachAttr, ctx?: BpfCallContext): void {
  callBpf(BpfCommand.BPF_PROG_DETACH, encodeProgAttachAttr(fields), ctx);
}

/** The outputs of BPF_PROG_QUERY. */
export interface ProgQueryResult {
  /** `attach_flags` of the hook. */
  attachFlags: number;
  /** `prog_cnt`: number of programs attached (may exceed the ids array's capacity). */
  progCnt: number;
  /** `revision` of the hook (6.6; 0 before). */
  revision: bigint;
}

/**
 * BPF_PROG_QUERY: lists the programs attached to a hook; ids go to the
 * given buffers.
 *
 * @example
 * const ids = new Uint8Array(64 * 4);
 * const { progCnt } = progQuery({ targetIfindex: 1, attachType: AttachType.TCX_INGRESS, progIds: ids });
 */
export function progQuery(fields: ProgQueryAttr, ctx?: BpfCallContext): ProgQueryResult {
  const enc = encodeProgQueryAttr(fields);
  callBpf(BpfCommand.BPF_PROG_QUERY, enc, ctx);
  return {
    attachFlags: progQueryLayout.read(enc.attr, 'attachFlags'),
    progCnt: progQueryLayout.read(enc.attr, 'progCnt'),
    revision: progQueryLayout.read(enc.attr, 'revision'),
  };
}

/** The outputs of BPF_PROG_TEST_RUN. */
export interface ProgTestRunResult {
  /** The program's return value. */
  retval: number;
  /** Average duration of one run, in ns (0 for program types the kernel does not time). */
  duration: number;
  /** The size of the data the run left: what the kernel wrote to `dataOut` (0 for types without data out). */
  dataSizeOut: number;
  /** The size of the context the run left: what the kernel wrote to `ctxOut`. */
  ctxSizeOut: number;
  /** How many times EINTR interrupted the run and it was started again (0 almost always). */
  interrupted: number;
}

/**
 * How many EINTRs in a row {@link progTestRun} retries before it gives up:
 * a signal arriving every time means the run is longer than the gap between
 * signals.
 */
export const PROG_TEST_RUN_MAX_INTERRUPTIONS = 100;

/**
 * BPF_PROG_TEST_RUN: runs a program on the given input without attaching it.
 *
 * EINTR is retried. The kernel answers EINTR when a signal is pending
 * between two runs of a repeated test run (seen under Node 22; a CPU
 * profiler's SIGPROF is held off by the addon for the call);
 * it then copies no result out (not even the return value), so the whole
 * call is made again, and the program may run more often than `repeat`
 * (side effects such as map updates count those runs too). Older kernels
 * (before the shared test timer of commit 607b9cc92bd7) checked for signals
 * before counting runs, so could answer EINTR with `repeat` 1 after the
 * single run; that is retried the same way (cilium/ebpf instead counts it a success, without a
 * return value). After {@link PROG_TEST_RUN_MAX_INTERRUPTIONS} EINTRs in a
 * row the BpfError (EINTR) is thrown.
 *
 * ENOSPC (the output is larger than `dataOut` or `ctxOut`) throws a
 * BpfError whose hint gives the size the kernel needed.
 *
 * @example
 * const { retval } = progTestRun({ progFd, dataIn: new Uint8Array(64), repeat: 1 });
 */
export function progTestRun(fields: ProgTestRunAttr, ctx?: BpfCallContext): ProgTestRunResult {
  const enc = encodeProgTestRunAttr(fields);
  // The kernel overwrites data_size_out and ctx_size_out: keep the capacities to restore them for a retry.
  const dataCapacity = progTestRunLayout.read(enc.attr, 'dataSizeOut');
  const ctxCapacity = progTestRunLayout.read(enc.attr, 'ctxSizeOut');
  let interrupted = 0;
  for (;;) {
    const r = tryBpf(BpfCommand.BPF_PROG_TEST_RUN, enc);
    if (r >= 0) break;
    const errno = -r;
    if (errno === Errno.EINTR && interrupted < PROG_TEST_RUN_MAX_INTERRUPTIONS) {
      interrupted++;
      const view = new DataView(enc.attr.buffer, enc.attr.byteOffset, enc.attr.byteLength);
      view.setUint32(progTestRunLayout.offsetOf('dataSizeOut'), dataCapacity, HOST_LITTLE_ENDIAN);
      view.setUint32(progTestRunLayout.offsetOf('ctxSizeOut'), ctxCapacity, HOST_LITTLE_ENDIAN);
      continue;
    }
    throw bpfError(BpfCommand.BPF_PROG_TEST_RUN, errno, {
      ...ctx,
      hint: testRunHint(errno, enc.attr, dataCapacity, ctxCapacity, interrupted) ?? ctx?.hint,
    });
  }
  return {
    retval: progTestRunLayout.read(enc.attr, 'retval'),
    duration: progTestRunLayout.read(enc.attr, 'duration'),
    dataSizeOut: progTestRunLayout.read(enc.attr, 'dataSizeOut'),
    ctxSizeOut: progTestRunLayout.read(enc.attr, 'ctxSizeOut'),
    interrupted,
  };
}

/** What a failed test run's errno means, from what the kernel left in the attr. */
function testRunHint(errno: number, attr: Uint8Array, dataCapacity: number, ctxCapacity: number, interrupted: number): string | undefined {
  if (errno === Errno.EINTR) {
    return `signals interrupted the run ${interrupted + 1} times in a row; a smaller repeat finishes between them`;
  }
  if (errno !== Errno.ENOSPC) return undefined;
  const dataSize = progTestRunLayout.read(attr, 'dataSizeOut');
  if (dataSize > dataCapacity) return `the run left ${dataSize} bytes of data, more than the ${dataCapacity}-byte data_out buffer`;
  const ctxSize = progTestRunLayout.read(attr, 'ctxSizeOut');
  if (ctxSize > ctxCapacity) return `the run left a ${ctxSize}-byte context, more than the ${ctxCapacity}-byte ctx_out buffer`;
  return 'an output buffer is smaller than what the run left';
}

/**
 * BPF_PROG_BIND_MAP (5.10): keeps `mapFd` alive as long as the program.
 *
 * @example
 * progBindMap(progFd, mapFd); // e.g. a .rodata map the program no longer references
 */
export function progBindMap(progFd: number, mapFd: number, flags = 0, ctx?: BpfCallContext): void {
  callBpf(BpfCommand.BPF_PROG_BIND_MAP, encodeProgBindMapAttr({ progFd, mapFd, flags }), ctx);
}

/**
 * BPF_PROG_STREAM_READ_BY_FD (6.17): reads from a program's BPF stream
 * (BPF_STREAM_STDOUT = 1, BPF_STREAM_STDERR = 2); returns the bytes read.
 *
 * @example
 * const buf = new Uint8Array(4096);
 * const n = progStreamRead(progFd, BPF_STREAM_STDERR, buf);
 */
export function progStreamRead(progFd: number, streamId: number, buf: Uint8Array, ctx?: BpfCallContext): number {
  return callBpf(BpfCommand.BPF_PROG_STREAM_READ_BY_FD, encodeProgStreamReadAttr({ progFd, streamId, streamBuf: buf }), ctx);
}

/**
 * BPF_RAW_TRACEPOINT_OPEN: attaches a raw tracepoint program (by
 * tracepoint name) or a BTF-typed tracing program (name null); returns a
 * link fd.
 *
 * @example
 * const linkFd = rawTracepointOpen(progFd, 'sched_switch');
 */
export function rawTracepointOpen(progFd: number, name: string | null = null, cookie?: number | bigint, ctx?: BpfCallContext): number {
  return callBpf(BpfCommand.BPF_RAW_TRACEPOINT_OPEN, encodeRawTracepointOpenAttr({ progFd, name, cookie }), ctx);
}

/** The outputs of BPF_TASK_FD_QUERY. */
export interface TaskFdQueryResult {
  /** The attached program's id. */
  progId: number;
  /** One of {@link BpfTaskFdType}. */
  fdType: number;
  /** The probe's offset. */
  probeOffset: bigint;
  /** The probe's address. */
  probeAddr: bigint;
  /** The tracepoint name, kprobe symbol or uprobe file name ('' when none). */
  name: string;
}

/**
 * BPF_TASK_FD_QUERY: describes the BPF program and probe behind a perf event
 * or raw tracepoint fd of process `pid`.
 *
 * @example
 * declare const perfFd: number; // a perf event (kprobe, tracepoint) a program is attached to
 * const { progId, name } = taskFdQuery(process.pid, perfFd);
 */
export function taskFdQuery(pid: number, fd: number, buf: Uint8Array = new Uint8Array(4096), ctx?: BpfCallContext): TaskFdQueryResult {
  const enc = encodeTaskFdQueryAttr({ pid, fd, buf });
  callBpf(BpfCommand.BPF_TASK_FD_QUERY, enc, ctx);
  const len = taskFdQueryLayout.read(enc.attr, 'bufLen');
  return {
    progId: taskFdQueryLayout.read(enc.attr, 'progId'),
    fdType: taskFdQueryLayout.read(enc.attr, 'fdType'),
    probeOffset: taskFdQueryLayout.read(enc.attr, 'probeOffset'),
    probeAddr: taskFdQueryLayout.read(enc.attr, 'probeAddr'),
    name: readCString(buf, 0, Math.min(len + 1, buf.byteLength)),
  };
}
