/**
 * The `bpf_attr.info` member of BPF_OBJ_GET_INFO_BY_FD.
 *
 * @module
 */
import { StructLayout, ptr, u32, type EncodedAttr, type Pointer } from './layout.js';

/** The `bpf_attr.info` member of `BPF_OBJ_GET_INFO_BY_FD` (4.13). */
export interface ObjGetInfoAttr {
  /** `info.bpf_fd`: program, map, BTF, link or token fd. */
  bpfFd: number;
  /** `info.info_len`: in: size of the info buffer (defaults to its length); out: bytes written. */
  infoLen?: number;
  /** `info.info`: the `struct bpf_*_info` buffer (see `src/info`). */
  info: Pointer;
}

/** Layout of the info member; size = offsetofend(info.info) = 16. */
export const objGetInfoLayout = new StructLayout<ObjGetInfoAttr>('bpf_attr (BPF_OBJ_GET_INFO_BY_FD)', 16, {
  bpfFd: u32(0, 'info.bpf_fd'),
  infoLen: u32(4, 'info.info_len'),
  info: ptr(8, 'info.info'),
});

/**
 * Encodes the `bpf_attr` of BPF_OBJ_GET_INFO_BY_FD.
 *
 * @example
 * encodeObjGetInfoAttr({ bpfFd: mapFd, info: new Uint8Array(MAP_INFO_SIZE) });
 */
export function encodeObjGetInfoAttr(fields: ObjGetInfoAttr): EncodedAttr {
  const info = fields.info;
  return objGetInfoLayout.encodeAttr({
    ...fields,
    infoLen: fields.infoLen ?? (info instanceof Uint8Array ? info.byteLength : undefined),
  });
}
