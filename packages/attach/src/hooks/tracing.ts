/**
 * fentry/fexit/fmod_ret/tp_btf/freplace (tracing links) and LSM programs.
 *
 * @module
 */
import os from 'node:os';
import {
  AttachType,
  attachTypeName,
  BpfError,
  Errno,
  InvalidArgumentError,
  kernelReleaseAtLeast,
  NotSupportedError,
  ProgramType,
  programTypeName,
} from '@bpfkit/core';
import type { LsmTarget, Program, TracingTarget } from '@bpfkit/core';
import { linkCreate, rawTracepointOpen } from '@bpfkit/syscalls';
import { KernelLink } from '../link.js';

/**
 * The `expected_attach_type` a program was loaded with, when its handle
 * knows it (a `KernelProgram` loaded by bpfkit does; one opened by id or
 * pin does not: `bpf_prog_info` has no such field).
 */
export function expectedAttachTypeOf(program: Program): number | undefined {
  const t = (program as { expectedAttachType?: unknown }).expectedAttachType;
  return typeof t === 'number' ? t : undefined;
}

/** The attach types of TRACING programs that `attachTracing` links (iterators go through `attachIter`). */
const TRACING_ATTACH_TYPES: ReadonlySet<number> = new Set([
  AttachType.TRACE_FENTRY,
  AttachType.TRACE_FEXIT,
  AttachType.MODIFY_RETURN,
  AttachType.TRACE_RAW_TP,
]);

/**
 * Links a tracing or LSM program to the function it was loaded for:
 * BPF_LINK_CREATE with the program's own expected attach type (the kernel
 * requires the two to match) and the cookie. Kernels before 5.19 create
 * such links only through BPF_RAW_TRACEPOINT_OPEN with no name (5.5):
 * BPF_LINK_CREATE answers EINVAL there, and so does a program whose attach
 * type this handle does not know, which goes straight to that path.
 */
function linkTracing(program: Program, attachType: number | undefined, cookie: bigint | undefined, label: string): number {
  if (cookie !== undefined && attachType === AttachType.TRACE_RAW_TP && !kernelReleaseAtLeast(os.release(), 6, 10)) {
    // Before 6.10 bpf_raw_tp_link_attach took no cookie: the kernel would drop it without a word.
    throw new NotSupportedError('cookies on tp_btf links', '6.10');
  }
  if (attachType !== undefined) {
    try {
      return linkCreate({ progFd: program.fd, attachType, ...(cookie !== undefined ? { tracing: { cookie } } : {}) }, { subject: label });
    } catch (err) {
      // EINVAL: a kernel whose BPF_LINK_CREATE does not link tracing and LSM programs (before 5.19).
      if (!(err instanceof BpfError) || err.errno !== Errno.EINVAL) throw err;
      if (cookie !== undefined) {
        throw new NotSupportedError(
          'cookies on tracing and LSM links',
          '5.19',
          `BPF_LINK_CREATE refused ${label} with EINVAL; without a cookie bpfkit would link it through BPF_RAW_TRACEPOINT_OPEN`,
        );
      }
    }
  } else if (cookie !== undefined) {
    throw new InvalidArgumentError(
      `${label}: cookie`,
      'a program whose expected attach type this handle knows (loaded by bpfkit, not opened by id or pin): a cookie needs BPF_LINK_CREATE, which repeats it',
      cookie,
    );
  }
  return rawTracepointOpen(program.fd, null, undefined, { subject: label });
}

/**
 * Attaches a TRACING program (fentry, fexit, fmod_ret, tp_btf) or an EXT
 * program (freplace) to the kernel function, tracepoint or program function
 * it was loaded for (`attachBtfId`, and for freplace the target program):
 * a tracing link (raw tracepoint link for tp_btf), with `target.cookie` for
 * `bpf_get_attach_cookie()` (5.19; tp_btf 6.10). Iterators, also TRACING
 * programs, attach with `{ kind: 'iter' }`.
 *
 * @throws InvalidArgumentError for a program of another type or attach type
 * @throws NotSupportedError for a cookie the kernel cannot carry
 * @example
 * // prog: loaded as ProgramType.TRACING, expectedAttachType AttachType.TRACE_FENTRY, attachBtfId of 'do_unlinkat'
 * using link = attachTracing(prog, { kind: 'tracing', cookie: 7n });
 */
export function attachTracing(program: Program, target: TracingTarget): KernelLink {
  const attachType = expectedAttachTypeOf(program);
  const label = `tracing link of program '${program.name}'`;
  checkCookie(target.cookie, 'tracing target: cookie');
  if (program.type === ProgramType.EXT) {
    // freplace: the kernel checks no attach type for EXT programs; their target came with the load.
    const fd = linkTracing(program, attachType ?? 0, target.cookie, label);
    return new KernelLink(fd, target, label);
  }
  if (program.type !== ProgramType.TRACING) {
    throw new InvalidArgumentError(
      `tracing target: program '${program.name}'`,
      'a TRACING program (fentry, fexit, fmod_ret, tp_btf) or an EXT program (freplace); LSM programs attach with { kind: "lsm" }',
      `a program of type ${programTypeName(program.type)}`,
    );
  }
  if (attachType === AttachType.TRACE_ITER) {
    throw new InvalidArgumentError(
      `tracing target: program '${program.name}'`,
      'a fentry, fexit, fmod_ret or tp_btf program (an iterator attaches with { kind: "iter" })',
      'an iterator program (BPF_TRACE_ITER)',
    );
  }
  if (attachType !== undefined && !TRACING_ATTACH_TYPES.has(attachType)) {
    throw new InvalidArgumentError(
      `tracing target: program '${program.name}'`,
      'a TRACING program loaded with expectedAttachType TRACE_FENTRY, TRACE_FEXIT, MODIFY_RETURN or TRACE_RAW_TP',
      `expected attach type ${attachTypeName(attachType)}`,
    );
  }
  return new KernelLink(linkTracing(program, attachType, target.cookie, label), target, label);
}

/**
 * Attaches an LSM program to the security hook it was loaded for (its
 * `attachBtfId`, a `bpf_lsm_<hook>` function): an LSM link (BPF_LSM_MAC),
 * with `target.cookie` (5.19). The hook runs only where the kernel's active
 * LSM list (`lsm=` / CONFIG_LSM, shown in /sys/kernel/security/lsm)
 * includes `bpf`; elsewhere the link is made but the program never runs.
 *
 * @throws InvalidArgumentError for a program of another type or attach type
 * @example
 * // prog: loaded as ProgramType.LSM, expectedAttachType AttachType.LSM_MAC, attachBtfId of 'bpf_lsm_file_open'
 * using link = attachLsm(prog, { kind: 'lsm' });
 */
export function attachLsm(program: Program, target: LsmTarget): KernelLink {
  if (program.type !== ProgramType.LSM) {
    throw new InvalidArgumentError(
      `lsm target: program '${program.name}'`,
      'an LSM program (ProgramType.LSM, expectedAttachType AttachType.LSM_MAC)',
      `a program of type ${programTypeName(program.type)}`,
    );
  }
  const attachType = expectedAttachTypeOf(program);
  if (attachType === AttachType.LSM_CGROUP) {
    throw new InvalidArgumentError(
      `lsm target: program '${program.name}'`,
      'an LSM program loaded with expectedAttachType LSM_MAC (lsm_cgroup programs attach to a cgroup: { kind: "cgroup", attachType: AttachType.LSM_CGROUP })',
      'an lsm_cgroup program',
    );
  }
  if (attachType !== undefined && attachType !== AttachType.LSM_MAC) {
    throw new InvalidArgumentError(
      `lsm target: program '${program.name}'`,
      'an LSM program loaded with expectedAttachType LSM_MAC',
      `expected attach type ${attachTypeName(attachType)}`,
    );
  }
  checkCookie(target.cookie, 'lsm target: cookie');
  const label = `lsm link of program '${program.name}'`;
  return new KernelLink(linkTracing(program, attachType, target.cookie, label), target, label);
}

function checkCookie(cookie: unknown, argument: string): void {
  if (cookie !== undefined && (typeof cookie !== 'bigint' || cookie < 0n || cookie > 0xffff_ffff_ffff_ffffn))
    throw new InvalidArgumentError(argument, 'a bigint from 0 to 2^64-1', cookie);
}
