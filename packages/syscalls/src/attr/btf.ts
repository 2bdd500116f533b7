/**
 * The `bpf_attr` member of BPF_BTF_LOAD.
 *
 * @module
 */
import { StructLayout, ptr, s32, u32, type EncodedAttr, type Pointer } from './layout.js';

/** The `bpf_attr` member of `BPF_BTF_LOAD` (4.18). */
export interface BtfLoadAttr {
  /** `btf`: the raw BTF (header, types, strings). */
  btf: Pointer;
  /** `btf_log_buf`: receives the BTF verifier log. */
  btfLogBuf?: Pointer;
  /** `btf_size`: defaults to `btf.byteLength`. */
  btfSize?: number;
  /** `btf_log_size`: defaults to `btfLogBuf.byteLength`. */
  btfLogSize?: number;
  /** `btf_log_level`: 0 = no log, 1 = log. */
  btfLogLevel?: number;
  /** `btf_log_true_size`: output: the log size needed, including the NUL (6.4). */
  btfLogTrueSize?: number;
  /** `btf_flags`: BPF_F_TOKEN_FD (6.9). */
  btfFlags?: number;
  /** `btf_token_fd`: BPF token, with BPF_F_TOKEN_FD (6.9). */
  btfTokenFd?: number;
}

/** Layout of the BTF load member; size = offsetofend(btf_token_fd) = 40. */
export const btfLoadLayout = new StructLayout<BtfLoadAttr>('bpf_attr (BPF_BTF_LOAD)', 40, {
  btf: ptr(0, 'btf'),
  btfLogBuf: ptr(8, 'btf_log_buf'),
  btfSize: u32(16, 'btf_size'),
  btfLogSize: u32(20, 'btf_log_size'),
  btfLogLevel: u32(24, 'btf_log_level'),
  btfLogTrueSize: u32(28, 'btf_log_true_size'),
  btfFlags: u32(32, 'btf_flags'),
  btfTokenFd: s32(36, 'btf_token_fd'),
});

/**
 * Encodes the `bpf_attr` of BPF_BTF_LOAD; sizes left out are taken from the buffers.
 *
 * @example
 * declare const rawBtf: Uint8Array; // encoded BTF: a header, types and strings
 * encodeBtfLoadAttr({ btf: rawBtf, btfLogBuf: new Uint8Array(65536), btfLogLevel: 1 });
 */
export function encodeBtfLoadAttr(fields: BtfLoadAttr): EncodedAttr {
  const len = (p: Pointer | undefined): number | undefined => (p instanceof Uint8Array ? p.byteLength : undefined);
  return btfLoadLayout.encodeAttr({
    ...fields,
    btfSize: fields.btfSize ?? len(fields.btf),
    btfLogSize: fields.btfLogSize ?? len(fields.btfLogBuf),
  });
}
