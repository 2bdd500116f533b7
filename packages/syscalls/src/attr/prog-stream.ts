/**
 * The `bpf_attr.prog_stream_read` member of BPF_PROG_STREAM_READ_BY_FD.
 *
 * @module
 */
import { StructLayout, ptr, u32, type EncodedAttr, type Pointer } from './layout.js';

/** The `bpf_attr.prog_stream_read` member of `BPF_PROG_STREAM_READ_BY_FD` (6.17). */
export interface ProgStreamReadAttr {
  /** `prog_stream_read.stream_buf`: receives the stream's bytes. */
  streamBuf: Pointer;
  /** `prog_stream_read.stream_buf_len`: defaults to `streamBuf.byteLength`. */
  streamBufLen?: number;
  /** `prog_stream_read.stream_id`: BPF_STREAM_STDOUT (1) or BPF_STREAM_STDERR (2). */
  streamId: number;
  /** `prog_stream_read.prog_fd`. */
  progFd: number;
}

/** Layout of the prog_stream_read member; size = offsetofend(prog_stream_read.prog_fd) = 20. */
export const progStreamReadLayout = new StructLayout<ProgStreamReadAttr>('bpf_attr (BPF_PROG_STREAM_READ_BY_FD)', 20, {
  streamBuf: ptr(0, 'prog_stream_read.stream_buf'),
  streamBufLen: u32(8, 'prog_stream_read.stream_buf_len'),
  streamId: u32(12, 'prog_stream_read.stream_id'),
  progFd: u32(16, 'prog_stream_read.prog_fd'),
});

/**
 * Encodes the `bpf_attr` of BPF_PROG_STREAM_READ_BY_FD.
 *
 * @example
 * encodeProgStreamReadAttr({ progFd, streamId: BPF_STREAM_STDERR, streamBuf: new Uint8Array(4096) });
 */
export function encodeProgStreamReadAttr(fields: ProgStreamReadAttr): EncodedAttr {
  const b = fields.streamBuf;
  return progStreamReadLayout.encodeAttr({
    ...fields,
    streamBufLen: fields.streamBufLen ?? (b instanceof Uint8Array ? b.byteLength : undefined),
  });
}
