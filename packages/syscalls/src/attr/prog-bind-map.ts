/**
 * The `bpf_attr.prog_bind_map` member of BPF_PROG_BIND_MAP.
 *
 * @module
 */
import { StructLayout, u32, type EncodedAttr } from './layout.js';

/** The `bpf_attr.prog_bind_map` member of `BPF_PROG_BIND_MAP` (5.10). */
export interface ProgBindMapAttr {
  /** `prog_bind_map.prog_fd`. */
  progFd: number;
  /** `prog_bind_map.map_fd`: the map to keep alive as long as the program. */
  mapFd: number;
  /** `prog_bind_map.flags`: must be 0. */
  flags?: number;
}

/** Layout of the prog_bind_map member; size 12. */
export const progBindMapLayout = new StructLayout<ProgBindMapAttr>('bpf_attr (BPF_PROG_BIND_MAP)', 12, {
  progFd: u32(0, 'prog_bind_map.prog_fd'),
  mapFd: u32(4, 'prog_bind_map.map_fd'),
  flags: u32(8, 'prog_bind_map.flags'),
});

/**
 * Encodes the `bpf_attr` of BPF_PROG_BIND_MAP.
 *
 * @example
 * encodeProgBindMapAttr({ progFd, mapFd });
 */
export function encodeProgBindMapAttr(fields: ProgBindMapAttr): EncodedAttr {
  return progBindMapLayout.encodeAttr(fields);
}
