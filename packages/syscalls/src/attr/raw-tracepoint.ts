/**
 * The `bpf_attr.raw_tracepoint` member of BPF_RAW_TRACEPOINT_OPEN.
 *
 * @module
 */
import { StructLayout, cstr, u32, u64, type CStringPointer, type EncodedAttr } from './layout.js';

/** The `bpf_attr.raw_tracepoint` member of `BPF_RAW_TRACEPOINT_OPEN` (4.17). */
export interface RawTracepointOpenAttr {
  /** `raw_tracepoint.name`: the tracepoint, or NULL for BTF-typed programs (fentry, tp_btf, lsm…). */
  name?: CStringPointer;
  /** `raw_tracepoint.prog_fd`. */
  progFd: number;
  /** `raw_tracepoint.cookie`: value returned by bpf_get_attach_cookie() (6.10). */
  cookie?: number | bigint;
}

/** Layout of the raw_tracepoint member; size = offsetofend(raw_tracepoint.cookie) = 24. */
export const rawTracepointOpenLayout = new StructLayout<RawTracepointOpenAttr>('bpf_attr (BPF_RAW_TRACEPOINT_OPEN)', 24, {
  name: cstr(0, 'raw_tracepoint.name'),
  progFd: u32(8, 'raw_tracepoint.prog_fd'),
  cookie: u64(16, 'raw_tracepoint.cookie'),
});

/**
 * Encodes the `bpf_attr` of BPF_RAW_TRACEPOINT_OPEN.
 *
 * @example
 * encodeRawTracepointOpenAttr({ name: 'sched_switch', progFd });
 */
export function encodeRawTracepointOpenAttr(fields: RawTracepointOpenAttr): EncodedAttr {
  return rawTracepointOpenLayout.encodeAttr(fields);
}
