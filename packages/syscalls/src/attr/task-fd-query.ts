/**
 * The `bpf_attr.task_fd_query` member of BPF_TASK_FD_QUERY.
 *
 * @module
 */
import { StructLayout, ptr, u32, u64, type EncodedAttr, type Pointer } from './layout.js';

/** The `bpf_attr.task_fd_query` member of `BPF_TASK_FD_QUERY` (4.18). */
export interface TaskFdQueryAttr {
  /** `task_fd_query.pid`: the process owning `fd`. */
  pid: number;
  /** `task_fd_query.fd`: a perf event or raw tracepoint fd in that process. */
  fd: number;
  /** `task_fd_query.flags`: must be 0. */
  flags?: number;
  /** `task_fd_query.buf_len`: in: capacity of buf (defaults to its length); out: name length. */
  bufLen?: number;
  /** `task_fd_query.buf`: receives the tracepoint name, kprobe symbol or uprobe file name. */
  buf?: Pointer;
  /** `task_fd_query.prog_id`: output. */
  progId?: number;
  /** `task_fd_query.fd_type`: output: one of {@link BpfTaskFdType}. */
  fdType?: number;
  /** `task_fd_query.probe_offset`: output. */
  probeOffset?: number | bigint;
  /** `task_fd_query.probe_addr`: output. */
  probeAddr?: number | bigint;
}

/** Layout of the task_fd_query member; size = offsetofend(task_fd_query.probe_addr) = 48. */
export const taskFdQueryLayout = new StructLayout<TaskFdQueryAttr>('bpf_attr (BPF_TASK_FD_QUERY)', 48, {
  pid: u32(0, 'task_fd_query.pid'),
  fd: u32(4, 'task_fd_query.fd'),
  flags: u32(8, 'task_fd_query.flags'),
  bufLen: u32(12, 'task_fd_query.buf_len'),
  buf: ptr(16, 'task_fd_query.buf'),
  progId: u32(24, 'task_fd_query.prog_id'),
  fdType: u32(28, 'task_fd_query.fd_type'),
  probeOffset: u64(32, 'task_fd_query.probe_offset'),
  probeAddr: u64(40, 'task_fd_query.probe_addr'),
});

/**
 * Encodes the `bpf_attr` of BPF_TASK_FD_QUERY.
 *
 * @example
 * declare const perfFd: number; // a perf event (kprobe, tracepoint) a program is attached to
 * encodeTaskFdQueryAttr({ pid: process.pid, fd: perfFd, buf: new Uint8Array(256) });
 */
export function encodeTaskFdQueryAttr(fields: TaskFdQueryAttr): EncodedAttr {
  const buf = fields.buf;
  return taskFdQueryLayout.encodeAttr({
    ...fields,
    bufLen: fields.bufLen ?? (buf instanceof Uint8Array ? buf.byteLength : undefined),
  });
}
