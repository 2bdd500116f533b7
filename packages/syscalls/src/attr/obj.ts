/**
 * The `bpf_attr` member of BPF_OBJ_PIN and BPF_OBJ_GET.
 *
 * @module
 */
import { StructLayout, cstr, s32, u32, type CStringPointer, type EncodedAttr } from './layout.js';

/** The `bpf_attr` member of `BPF_OBJ_PIN` and `BPF_OBJ_GET` (4.4). */
export interface ObjAttr {
  /** `pathname`: the bpffs path (relative to pathFd when BPF_F_PATH_FD is set). */
  pathname: CStringPointer;
  /** `bpf_fd`: the object to pin (BPF_OBJ_PIN); 0 for BPF_OBJ_GET. */
  bpfFd?: number;
  /** `file_flags`: BPF_F_RDONLY / BPF_F_WRONLY for BPF_OBJ_GET (4.15), BPF_F_PATH_FD (6.5). */
  fileFlags?: number;
  /** `path_fd`: directory fd, like openat()'s dirfd, with BPF_F_PATH_FD (6.5). */
  pathFd?: number;
}

/** Layout of the obj member; size = offsetofend(path_fd) = 20. */
export const objLayout = new StructLayout<ObjAttr>('bpf_attr (BPF_OBJ_*)', 20, {
  pathname: cstr(0, 'pathname'),
  bpfFd: u32(8, 'bpf_fd'),
  fileFlags: u32(12, 'file_flags'),
  pathFd: s32(16, 'path_fd'),
});

/**
 * Encodes the `bpf_attr` of BPF_OBJ_PIN / BPF_OBJ_GET.
 *
 * @example
 * encodeObjAttr({ pathname: '/sys/fs/bpf/counts', bpfFd: mapFd });
 */
export function encodeObjAttr(fields: ObjAttr): EncodedAttr {
  return objLayout.encodeAttr(fields);
}
