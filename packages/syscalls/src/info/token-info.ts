/**
 * `struct bpf_token_info` (BPF_OBJ_GET_INFO_BY_FD on a BPF token, 6.17).
 *
 * @module
 */
import { StructLayout, u64, type Decoded } from '../attr/layout.js';
import { zeroExtend } from './prog-info.js';

/** The fields of `struct bpf_token_info` (6.17): bit masks of what the token allows. */
export interface TokenInfoFields {
  /** `allowed_cmds`: bit n = {@link BpfCommand} n. */
  allowedCmds?: number | bigint;
  /** `allowed_maps`: bit n = map type n. */
  allowedMaps?: number | bigint;
  /** `allowed_progs`: bit n = program type n. */
  allowedProgs?: number | bigint;
  /** `allowed_attachs`: bit n = attach type n. */
  allowedAttachs?: number | bigint;
}

/** `sizeof(struct bpf_token_info)`. */
export const TOKEN_INFO_SIZE = 32;

/** Layout of `struct bpf_token_info`. */
export const tokenInfoLayout = new StructLayout<TokenInfoFields>('bpf_token_info', TOKEN_INFO_SIZE, {
  allowedCmds: u64(0, 'allowed_cmds'),
  allowedMaps: u64(8, 'allowed_maps'),
  allowedProgs: u64(16, 'allowed_progs'),
  allowedAttachs: u64(24, 'allowed_attachs'),
});

/** A decoded `struct bpf_token_info`. */
export type BpfTokenInfo = Decoded<TokenInfoFields>;

/**
 * Decodes a `struct bpf_token_info`.
 *
 * @example
 * const { allowedCmds } = decodeTokenInfo(buf);
 */
export function decodeTokenInfo(buf: Uint8Array): BpfTokenInfo {
  return tokenInfoLayout.decode(zeroExtend(buf, TOKEN_INFO_SIZE));
}
