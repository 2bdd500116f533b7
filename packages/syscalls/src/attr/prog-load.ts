/**
 * The `bpf_attr` member of BPF_PROG_LOAD.
 *
 * @module
 */
import type { AttachType, ProgramFlags, ProgramType } from '@bpfkit/core'; // {@link} targets
import { StructLayout, cstr, ptr, s32, str, u32, type CStringPointer, type EncodedAttr, type Pointer } from './layout.js';

/** Size of one instruction (`struct bpf_insn`). */
export const BPF_INSN_SIZE = 8;

/** The `bpf_attr` member of `BPF_PROG_LOAD`. */
export interface ProgLoadAttr {
  /** `prog_type`: one of {@link ProgramType}. */
  progType: number;
  /** `insn_cnt`: defaults to `insns.byteLength / 8`. */
  insnCnt?: number;
  /** `insns`: the instructions (`struct bpf_insn[]`, 8 bytes each). */
  insns: Pointer;
  /** `license`: e.g. `'GPL'` (GPL-only helpers need a GPL-compatible license). */
  license: CStringPointer;
  /** `log_level`: 0 = no log, 1 = on failure, 2 = every instruction, 4 = statistics. */
  logLevel?: number;
  /** `log_size`: defaults to `logBuf.byteLength`. */
  logSize?: number;
  /** `log_buf`: receives the verifier log. */
  logBuf?: Pointer;
  /** `kern_version`: checked for kprobes before 5.0, unused since. */
  kernVersion?: number;
  /** `prog_flags`: {@link ProgramFlags} bits. */
  progFlags?: number;
  /** `prog_name[BPF_OBJ_NAME_LEN]`: at most 15 bytes (4.15). */
  progName?: string;
  /** `prog_ifindex`: netdev to offload to / bind to (4.15). */
  progIfindex?: number;
  /** `expected_attach_type`: one of {@link AttachType} (4.17). */
  expectedAttachType?: number;
  /** `prog_btf_fd`: BTF for func/line info (5.0). */
  progBtfFd?: number;
  /** `func_info_rec_size`: `sizeof(struct bpf_func_info)` = 8 (5.0). */
  funcInfoRecSize?: number;
  /** `func_info`: `struct bpf_func_info[]` (5.0). */
  funcInfo?: Pointer;
  /** `func_info_cnt` (5.0). */
  funcInfoCnt?: number;
  /** `line_info_rec_size`: `sizeof(struct bpf_line_info)` = 16 (5.0). */
  lineInfoRecSize?: number;
  /** `line_info`: `struct bpf_line_info[]` (5.0). */
  lineInfo?: Pointer;
  /** `line_info_cnt` (5.0). */
  lineInfoCnt?: number;
  /** `attach_btf_id`: in-kernel BTF type id to attach to (5.5). */
  attachBtfId?: number;
  /** `attach_prog_fd`: program to attach to (freplace, fentry on BPF) (5.5); shares a union with attachBtfObjFd. */
  attachProgFd?: number;
  /** `attach_btf_obj_fd`: module BTF object holding attach_btf_id, 0 for vmlinux (5.11). */
  attachBtfObjFd?: number;
  /** `core_relo_cnt`: number of `struct bpf_core_relo` (5.17). */
  coreReloCnt?: number;
  /** `fd_array`: `int[]` of map / BTF fds referenced by index (5.17). */
  fdArray?: Pointer;
  /** `core_relos`: `struct bpf_core_relo[]` for in-kernel CO-RE (5.17). */
  coreRelos?: Pointer;
  /** `core_relo_rec_size`: `sizeof(struct bpf_core_relo)` = 16 (5.17). */
  coreReloRecSize?: number;
  /** `log_true_size`: output: the log size the kernel needed, including the NUL (6.4). */
  logTrueSize?: number;
  /** `prog_token_fd`: BPF token, with BPF_F_TOKEN_FD in prog_flags (6.9). */
  progTokenFd?: number;
  /** `fd_array_cnt`: length of fd_array; its maps are bound to the program (6.14). */
  fdArrayCnt?: number;
  /** `signature`: the program's signature (6.18). */
  signature?: Pointer;
  /** `signature_size` in bytes (6.18). */
  signatureSize?: number;
  /** `keyring_id`: kernel keyring to verify the signature with (6.18). */
  keyringId?: number;
}

/** Layout of the BPF_PROG_LOAD member; size = offsetofend(keyring_id) = 168. */
export const progLoadLayout = new StructLayout<ProgLoadAttr>('bpf_attr (BPF_PROG_LOAD)', 168, {
  progType: u32(0, 'prog_type'),
  insnCnt: u32(4, 'insn_cnt'),
  insns: ptr(8, 'insns'),
  license: cstr(16, 'license'),
  logLevel: u32(24, 'log_level'),
  logSize: u32(28, 'log_size'),
  logBuf: ptr(32, 'log_buf'),
  kernVersion: u32(40, 'kern_version'),
  progFlags: u32(44, 'prog_flags'),
  progName: str(48, 16, 'prog_name'),
  progIfindex: u32(64, 'prog_ifindex'),
  expectedAttachType: u32(68, 'expected_attach_type'),
  progBtfFd: u32(72, 'prog_btf_fd'),
  funcInfoRecSize: u32(76, 'func_info_rec_size'),
  funcInfo: ptr(80, 'func_info'),
  funcInfoCnt: u32(88, 'func_info_cnt'),
  lineInfoRecSize: u32(92, 'line_info_rec_size'),
  lineInfo: ptr(96, 'line_info'),
  lineInfoCnt: u32(104, 'line_info_cnt'),
  attachBtfId: u32(108, 'attach_btf_id'),
  attachProgFd: u32(112, 'attach_prog_fd'),
  attachBtfObjFd: u32(112, 'attach_btf_obj_fd'),
  coreReloCnt: u32(116, 'core_relo_cnt'),
  fdArray: ptr(120, 'fd_array'),
  coreRelos: ptr(128, 'core_relos'),
  coreReloRecSize: u32(136, 'core_relo_rec_size'),
  logTrueSize: u32(140, 'log_true_size'),
  progTokenFd: s32(144, 'prog_token_fd'),
  fdArrayCnt: u32(148, 'fd_array_cnt'),
  signature: ptr(152, 'signature'),
  signatureSize: u32(160, 'signature_size'),
  keyringId: s32(164, 'keyring_id'),
});

/**
 * Encodes the `bpf_attr` of BPF_PROG_LOAD. Counts and sizes left out are
 * derived from the buffers: `insnCnt` from `insns`, `logSize` from `logBuf`,
 * `signatureSize` from `signature`.
 *
 * @example
 * const insns = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0); // r0 = 0; exit
 * const enc = encodeProgLoadAttr({ progType: ProgramType.SOCKET_FILTER, insns, license: 'GPL' });
 */
export function encodeProgLoadAttr(fields: ProgLoadAttr): EncodedAttr {
  const len = (p: Pointer | undefined): number | undefined => (p instanceof Uint8Array ? p.byteLength : undefined);
  const insnBytes = len(fields.insns);
  return progLoadLayout.encodeAttr({
    ...fields,
    insnCnt: fields.insnCnt ?? (insnBytes === undefined ? undefined : Math.floor(insnBytes / BPF_INSN_SIZE)),
    logSize: fields.logSize ?? len(fields.logBuf),
    signatureSize: fields.signatureSize ?? len(fields.signature),
  });
}
