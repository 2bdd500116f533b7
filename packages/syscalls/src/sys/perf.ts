/**
 * Typed wrappers for perf_event_open(2) and close(2).
 *
 * @module
 */
import { BpfError } from '@bpfkit/core';
import { native } from '../native.js';
import type { EncodedStruct } from '../attr/layout.js';
import { encodePerfEventAttr, type PerfEventAttrFields } from '../perf/perf-event-attr.js';
import { resolveNestedPointers, type BpfCallContext } from './call.js';

/**
 * perf_event_open(2): opens a perf event and returns its fd (always
 * O_CLOEXEC). `attr` is a field object (encoded at PERF_ATTR_SIZE_VER8) or
 * an already encoded attr; `kprobeFunc` / `uprobePath` strings are passed by
 * pointer.
 *
 * @throws BpfError with `syscall: 'perf_event_open'`
 * @example
 * const fd = perfEventOpen({ type: PerfType.PERF_TYPE_SOFTWARE, config: PerfCountSw.PERF_COUNT_SW_CPU_CLOCK,
 *   samplePeriod: 1_000_000, disabled: true }, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
 */
export function perfEventOpen(
  attr: PerfEventAttrFields | EncodedStruct,
  pid: number,
  cpu: number,
  groupFd: number,
  flags: number,
  ctx: BpfCallContext = {},
): number {
  const enc = 'bytes' in attr ? attr : encodePerfEventAttr(attr);
  resolveNestedPointers(enc);
  const r = native.perfEventOpen(enc.bytes, pid, cpu, groupFd, flags);
  if (r < 0) throw new BpfError(-r, { syscall: 'perf_event_open', subject: ctx.subject, hint: ctx.hint });
  return r;
}

/**
 * close(2) on a file descriptor bpfkit opened.
 *
 * @throws BpfError with `syscall: 'close'` (EBADF when it was not open)
 * @example
 * closeFd(mapFd);
 */
export function closeFd(fd: number, ctx: BpfCallContext = {}): void {
  const r = native.close(fd);
  if (r < 0) throw new BpfError(-r, { syscall: 'close', subject: ctx.subject ?? `fd ${fd}`, hint: ctx.hint });
}
