/**
 * `struct bpf_prog_info` (BPF_OBJ_GET_INFO_BY_FD on a program), as of Linux 6.18.
 *
 * @module
 */
import type { ProgramType } from '@bpfkit/core'; // {@link} targets
import {
  HOST_LITTLE_ENDIAN,
  StructLayout,
  bytes,
  flag,
  ptr,
  str,
  u32,
  u64,
  type Decoded,
  type EncodedStruct,
  type Pointer,
} from '../attr/layout.js';

/**
 * The fields of `struct bpf_prog_info`. As a request (what the kernel reads),
 * the pointer fields name buffers to fill and the `nr_*` / `*_len` fields
 * their capacity; everything else is output.
 */
export interface ProgInfoFields {
  /** `type`: one of {@link ProgramType}. */
  type?: number;
  /** `id`. */
  id?: number;
  /** `tag[BPF_TAG_SIZE]`: hash of the instructions. */
  tag?: Uint8Array;
  /** `jited_prog_len`: in: capacity of jited_prog_insns; out: size of the JITed image. */
  jitedProgLen?: number;
  /** `xlated_prog_len`: in: capacity of xlated_prog_insns; out: size of the translated program. */
  xlatedProgLen?: number;
  /** `jited_prog_insns`: receives the JITed machine code. */
  jitedProgInsns?: Pointer;
  /** `xlated_prog_insns`: receives the instructions after verification / rewriting. */
  xlatedProgInsns?: Pointer;
  /** `load_time`: ns since boot (4.15). */
  loadTime?: number | bigint;
  /** `created_by_uid` (4.15). */
  createdByUid?: number;
  /** `nr_map_ids`: in: capacity of map_ids; out: number of maps used (4.15). */
  nrMapIds?: number;
  /** `map_ids`: receives `__u32` ids of the maps the program uses (4.15). */
  mapIds?: Pointer;
  /** `name[BPF_OBJ_NAME_LEN]` (4.15). */
  name?: string;
  /** `ifindex`: offload device (4.16). */
  ifindex?: number;
  /** `gpl_compatible:1`: whether the license is GPL-compatible (4.18). */
  gplCompatible?: boolean;
  /** `netns_dev` of the offload device (4.16). */
  netnsDev?: number | bigint;
  /** `netns_ino` of the offload device (4.16). */
  netnsIno?: number | bigint;
  /** `nr_jited_ksyms`: capacity / count of jited_ksyms (4.18). */
  nrJitedKsyms?: number;
  /** `nr_jited_func_lens`: capacity / count of jited_func_lens (4.18). */
  nrJitedFuncLens?: number;
  /** `jited_ksyms`: receives `__u64` addresses of the JITed functions (4.18). */
  jitedKsyms?: Pointer;
  /** `jited_func_lens`: receives `__u32` lengths of the JITed functions (4.18). */
  jitedFuncLens?: Pointer;
  /** `btf_id`: the program's BTF object (5.0). */
  btfId?: number;
  /** `func_info_rec_size`: record size of func_info (8) (5.0). */
  funcInfoRecSize?: number;
  /** `func_info`: receives `struct bpf_func_info[]` (5.0). */
  funcInfo?: Pointer;
  /** `nr_func_info`: capacity / count of func_info (5.0). */
  nrFuncInfo?: number;
  /** `nr_line_info`: capacity / count of line_info (5.0). */
  nrLineInfo?: number;
  /** `line_info`: receives `struct bpf_line_info[]` (5.0). */
  lineInfo?: Pointer;
  /** `jited_line_info`: receives `__u64` JITed addresses of the line_info entries (5.0). */
  jitedLineInfo?: Pointer;
  /** `nr_jited_line_info`: capacity / count of jited_line_info (5.0). */
  nrJitedLineInfo?: number;
  /** `line_info_rec_size`: record size of line_info (16) (5.0). */
  lineInfoRecSize?: number;
  /** `jited_line_info_rec_size`: record size of jited_line_info (8) (5.0). */
  jitedLineInfoRecSize?: number;
  /** `nr_prog_tags`: capacity / count of prog_tags (5.0). */
  nrProgTags?: number;
  /** `prog_tags`: receives one 8-byte tag per function (5.0). */
  progTags?: Pointer;
  /** `run_time_ns`: total run time, with BPF_ENABLE_STATS (5.1). */
  runTimeNs?: number | bigint;
  /** `run_cnt`: number of runs, with BPF_ENABLE_STATS (5.1). */
  runCnt?: number | bigint;
  /** `recursion_misses`: runs skipped because of recursion (5.12). */
  recursionMisses?: number | bigint;
  /** `verified_insns`: instructions the verifier processed (5.16). */
  verifiedInsns?: number;
  /** `attach_btf_obj_id`: BTF object of the attach target (6.0). */
  attachBtfObjId?: number;
  /** `attach_btf_id`: BTF type id of the attach target (6.0). */
  attachBtfId?: number;
}

/** `sizeof(struct bpf_prog_info)` as of Linux 6.18. */
export const PROG_INFO_SIZE = 232;

/** Layout of `struct bpf_prog_info`. */
export const progInfoLayout = new StructLayout<ProgInfoFields>('bpf_prog_info', PROG_INFO_SIZE, {
  type: u32(0, 'type'),
  id: u32(4, 'id'),
  tag: bytes(8, 8, 'tag'),
  jitedProgLen: u32(16, 'jited_prog_len'),
  xlatedProgLen: u32(20, 'xlated_prog_len'),
  jitedProgInsns: ptr(24, 'jited_prog_insns'),
  xlatedProgInsns: ptr(32, 'xlated_prog_insns'),
  loadTime: u64(40, 'load_time'),
  createdByUid: u32(48, 'created_by_uid'),
  nrMapIds: u32(52, 'nr_map_ids'),
  mapIds: ptr(56, 'map_ids'),
  name: str(64, 16, 'name'),
  ifindex: u32(80, 'ifindex'),
  gplCompatible: flag(84, 0, 'gpl_compatible', 4),
  netnsDev: u64(88, 'netns_dev'),
  netnsIno: u64(96, 'netns_ino'),
  nrJitedKsyms: u32(104, 'nr_jited_ksyms'),
  nrJitedFuncLens: u32(108, 'nr_jited_func_lens'),
  jitedKsyms: ptr(112, 'jited_ksyms'),
  jitedFuncLens: ptr(120, 'jited_func_lens'),
  btfId: u32(128, 'btf_id'),
  funcInfoRecSize: u32(132, 'func_info_rec_size'),
  funcInfo: ptr(136, 'func_info'),
  nrFuncInfo: u32(144, 'nr_func_info'),
  nrLineInfo: u32(148, 'nr_line_info'),
  lineInfo: ptr(152, 'line_info'),
  jitedLineInfo: ptr(160, 'jited_line_info'),
  nrJitedLineInfo: u32(168, 'nr_jited_line_info'),
  lineInfoRecSize: u32(172, 'line_info_rec_size'),
  jitedLineInfoRecSize: u32(176, 'jited_line_info_rec_size'),
  nrProgTags: u32(180, 'nr_prog_tags'),
  progTags: ptr(184, 'prog_tags'),
  runTimeNs: u64(192, 'run_time_ns'),
  runCnt: u64(200, 'run_cnt'),
  recursionMisses: u64(208, 'recursion_misses'),
  verifiedInsns: u32(216, 'verified_insns'),
  attachBtfObjId: u32(220, 'attach_btf_obj_id'),
  attachBtfId: u32(224, 'attach_btf_id'),
});

/** A decoded `struct bpf_prog_info`: pointer and 64-bit fields are bigints. */
export type BpfProgInfo = Decoded<ProgInfoFields>;

/**
 * Decodes a `struct bpf_prog_info` filled by BPF_OBJ_GET_INFO_BY_FD. A
 * shorter buffer (an older kernel writes less) is zero-extended.
 *
 * @example
 * const info = decodeProgInfo(buf);
 * console.log(info.name, info.type, info.verifiedInsns);
 */
export function decodeProgInfo(buf: Uint8Array): BpfProgInfo {
  return progInfoLayout.decode(zeroExtend(buf, PROG_INFO_SIZE));
}

/**
 * The arrays a program-info request can ask the kernel to fill, as buffers.
 * Counts and lengths are derived from the buffer sizes.
 */
export interface ProgInfoRequest {
  /** Receives the JITed image (`jited_prog_len` = byteLength). */
  jitedProgInsns?: Uint8Array;
  /** Receives the translated instructions (`xlated_prog_len` = byteLength). */
  xlatedProgInsns?: Uint8Array;
  /** Receives `__u32` map ids (`nr_map_ids` = byteLength / 4). */
  mapIds?: Uint8Array;
  /** Receives `__u64` function addresses (`nr_jited_ksyms` = byteLength / 8). */
  jitedKsyms?: Uint8Array;
  /** Receives `__u32` function lengths (`nr_jited_func_lens` = byteLength / 4). */
  jitedFuncLens?: Uint8Array;
  /** Receives `struct bpf_func_info` records (`nr_func_info` = byteLength / funcInfoRecSize). */
  funcInfo?: Uint8Array;
  /** Record size of funcInfo; default 8. */
  funcInfoRecSize?: number;
  /** Receives `struct bpf_line_info` records (`nr_line_info` = byteLength / lineInfoRecSize). */
  lineInfo?: Uint8Array;
  /** Record size of lineInfo; default 16. */
  lineInfoRecSize?: number;
  /** Receives `__u64` JITed line addresses (`nr_jited_line_info` = byteLength / jitedLineInfoRecSize). */
  jitedLineInfo?: Uint8Array;
  /** Record size of jitedLineInfo; default 8. */
  jitedLineInfoRecSize?: number;
  /** Receives 8-byte tags, one per function (`nr_prog_tags` = byteLength / 8). */
  progTags?: Uint8Array;
}

/**
 * Encodes a `struct bpf_prog_info` request: the pointers to the given
 * buffers (reported as offsets inside the info struct) and their counts.
 *
 * @example
 * const first = progInfoByFd(progFd);
 * const req = encodeProgInfoRequest({ mapIds: new Uint8Array(first.nrMapIds * 4) });
 */
export function encodeProgInfoRequest(req: ProgInfoRequest): EncodedStruct {
  const n = (b: Uint8Array | undefined, size: number): number | undefined =>
    b === undefined ? undefined : Math.floor(b.byteLength / size);
  const funcRec = req.funcInfoRecSize ?? 8;
  const lineRec = req.lineInfoRecSize ?? 16;
  const jitedLineRec = req.jitedLineInfoRecSize ?? 8;
  return progInfoLayout.encode({
    jitedProgInsns: req.jitedProgInsns,
    jitedProgLen: req.jitedProgInsns?.byteLength,
    xlatedProgInsns: req.xlatedProgInsns,
    xlatedProgLen: req.xlatedProgInsns?.byteLength,
    mapIds: req.mapIds,
    nrMapIds: n(req.mapIds, 4),
    jitedKsyms: req.jitedKsyms,
    nrJitedKsyms: n(req.jitedKsyms, 8),
    jitedFuncLens: req.jitedFuncLens,
    nrJitedFuncLens: n(req.jitedFuncLens, 4),
    funcInfo: req.funcInfo,
    nrFuncInfo: n(req.funcInfo, funcRec),
    funcInfoRecSize: req.funcInfo ? funcRec : undefined,
    lineInfo: req.lineInfo,
    nrLineInfo: n(req.lineInfo, lineRec),
    lineInfoRecSize: req.lineInfo ? lineRec : undefined,
    jitedLineInfo: req.jitedLineInfo,
    nrJitedLineInfo: n(req.jitedLineInfo, jitedLineRec),
    jitedLineInfoRecSize: req.jitedLineInfo ? jitedLineRec : undefined,
    progTags: req.progTags,
    nrProgTags: n(req.progTags, 8),
  });
}

/**
 * Allocates the buffers of a {@link ProgInfoRequest} sized from a first,
 * plain query's counts, for the arrays named in `want`.
 *
 * @example
 * const first = progInfoByFd(progFd);
 * const req = allocProgInfoRequest(first, ['mapIds', 'xlatedProgInsns']);
 */
export function allocProgInfoRequest(
  first: BpfProgInfo,
  want: readonly (
    | 'jitedProgInsns'
    | 'xlatedProgInsns'
    | 'mapIds'
    | 'jitedKsyms'
    | 'jitedFuncLens'
    | 'funcInfo'
    | 'lineInfo'
    | 'jitedLineInfo'
    | 'progTags'
  )[],
): ProgInfoRequest {
  const req: ProgInfoRequest = {};
  for (const w of want) {
    switch (w) {
      case 'jitedProgInsns':
        req.jitedProgInsns = new Uint8Array(first.jitedProgLen);
        break;
      case 'xlatedProgInsns':
        req.xlatedProgInsns = new Uint8Array(first.xlatedProgLen);
        break;
      case 'mapIds':
        req.mapIds = new Uint8Array(first.nrMapIds * 4);
        break;
      case 'jitedKsyms':
        req.jitedKsyms = new Uint8Array(first.nrJitedKsyms * 8);
        break;
      case 'jitedFuncLens':
        req.jitedFuncLens = new Uint8Array(first.nrJitedFuncLens * 4);
        break;
      case 'funcInfo':
        req.funcInfoRecSize = first.funcInfoRecSize || 8;
        req.funcInfo = new Uint8Array(first.nrFuncInfo * req.funcInfoRecSize);
        break;
      case 'lineInfo':
        req.lineInfoRecSize = first.lineInfoRecSize || 16;
        req.lineInfo = new Uint8Array(first.nrLineInfo * req.lineInfoRecSize);
        break;
      case 'jitedLineInfo':
        req.jitedLineInfoRecSize = first.jitedLineInfoRecSize || 8;
        req.jitedLineInfo = new Uint8Array(first.nrJitedLineInfo * req.jitedLineInfoRecSize);
        break;
      case 'progTags':
        req.progTags = new Uint8Array(first.nrProgTags * 8);
        break;
    }
  }
  return req;
}

/** A zero-extended copy of `buf` when it is shorter than `size` (else `buf`). */
export function zeroExtend(buf: Uint8Array, size: number): Uint8Array {
  if (buf.byteLength >= size) return buf;
  const out = new Uint8Array(size);
  out.set(buf);
  return out;
}

/**
 * Reads `count` host-order `__u32`s (e.g. the map ids the kernel wrote).
 *
 * @example
 * const req = allocProgInfoRequest(progInfoByFd(progFd), ['mapIds']);
 * const info = progInfoByFd(progFd, req);
 * readU32Array(req.mapIds!, info.nrMapIds);
 */
export function readU32Array(buf: Uint8Array, count = Math.floor(buf.byteLength / 4)): number[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: number[] = [];
  for (let i = 0; i < count && (i + 1) * 4 <= buf.byteLength; i++) out.push(dv.getUint32(i * 4, HOST_LITTLE_ENDIAN));
  return out;
}

/**
 * Reads `count` host-order `__u64`s (e.g. JITed symbol addresses).
 *
 * @example
 * const req = allocProgInfoRequest(progInfoByFd(progFd), ['jitedKsyms']);
 * const info = progInfoByFd(progFd, req);
 * readU64Array(req.jitedKsyms!, info.nrJitedKsyms);
 */
export function readU64Array(buf: Uint8Array, count = Math.floor(buf.byteLength / 8)): bigint[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: bigint[] = [];
  for (let i = 0; i < count && (i + 1) * 8 <= buf.byteLength; i++) out.push(dv.getBigUint64(i * 8, HOST_LITTLE_ENDIAN));
  return out;
}
