/**
 * The `bpf_attr` member of the BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID
 * commands (programs, maps, BTF objects, links).
 *
 * @module
 */
import { BpfCommand } from '../commands.js';
import { StructLayout, s32, u32, type EncodedAttr } from './layout.js';

/** The kinds of kernel object that have ids. */
export type ObjectKind = 'prog' | 'map' | 'btf' | 'link';

/** The GET_NEXT_ID command for each object kind. */
export const GET_NEXT_ID_COMMAND: Readonly<Record<ObjectKind, BpfCommand>> = {
  prog: BpfCommand.BPF_PROG_GET_NEXT_ID,
  map: BpfCommand.BPF_MAP_GET_NEXT_ID,
  btf: BpfCommand.BPF_BTF_GET_NEXT_ID,
  link: BpfCommand.BPF_LINK_GET_NEXT_ID,
};

/** The GET_FD_BY_ID command for each object kind. */
export const GET_FD_BY_ID_COMMAND: Readonly<Record<ObjectKind, BpfCommand>> = {
  prog: BpfCommand.BPF_PROG_GET_FD_BY_ID,
  map: BpfCommand.BPF_MAP_GET_FD_BY_ID,
  btf: BpfCommand.BPF_BTF_GET_FD_BY_ID,
  link: BpfCommand.BPF_LINK_GET_FD_BY_ID,
};

/** The `bpf_attr` member of `BPF_{PROG,MAP,BTF,LINK}_GET_NEXT_ID`. */
export interface GetNextIdAttr {
  /** `start_id`: ids greater than this are searched. */
  startId: number;
  /** `next_id`: output: the next id. */
  nextId?: number;
}

/** Layout of the get-next-id member; size = offsetofend(next_id) = 8. */
export const getNextIdLayout = new StructLayout<GetNextIdAttr>('bpf_attr (BPF_*_GET_NEXT_ID)', 8, {
  startId: u32(0, 'start_id'),
  nextId: u32(4, 'next_id'),
});

/**
 * Encodes the `bpf_attr` of a GET_NEXT_ID command; read the answer with
 * `getNextIdLayout.read(attr, 'nextId')`.
 *
 * @example
 * encodeGetNextIdAttr({ startId: 0 });
 */
export function encodeGetNextIdAttr(fields: GetNextIdAttr): EncodedAttr {
  return getNextIdLayout.encodeAttr(fields);
}

/** The `bpf_attr` member of `BPF_{PROG,MAP,BTF,LINK}_GET_FD_BY_ID`. */
export interface GetFdByIdAttr {
  /** `prog_id` / `map_id` / `btf_id` / `link_id` (one union). */
  id: number;
  /** `open_flags`: BPF_F_RDONLY / BPF_F_WRONLY for maps (4.15), BPF_F_TOKEN_FD for BTF (6.15). */
  openFlags?: number;
  /** `fd_by_id_token_fd`: BPF token, for BPF_BTF_GET_FD_BY_ID with BPF_F_TOKEN_FD (6.15). */
  fdByIdTokenFd?: number;
}

/** Layout of the get-fd-by-id member; size = offsetofend(fd_by_id_token_fd) = 16. */
export const getFdByIdLayout = new StructLayout<GetFdByIdAttr>('bpf_attr (BPF_*_GET_FD_BY_ID)', 16, {
  id: u32(0, 'prog_id/map_id/btf_id/link_id'),
  openFlags: u32(8, 'open_flags'),
  fdByIdTokenFd: s32(12, 'fd_by_id_token_fd'),
});

/**
 * Encodes the `bpf_attr` of a GET_FD_BY_ID command.
 *
 * @example
 * encodeGetFdByIdAttr({ id: 42 });
 */
export function encodeGetFdByIdAttr(fields: GetFdByIdAttr): EncodedAttr {
  return getFdByIdLayout.encodeAttr(fields);
}
