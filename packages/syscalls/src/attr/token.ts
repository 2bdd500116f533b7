/**
 * The `bpf_attr.token_create` member of BPF_TOKEN_CREATE.
 *
 * @module
 */
import { StructLayout, u32, type EncodedAttr } from './layout.js';

/** The `bpf_attr.token_create` member of `BPF_TOKEN_CREATE` (6.9). */
export interface TokenCreateAttr {
  /** `token_create.flags`: must be 0. */
  flags?: number;
  /** `token_create.bpffs_fd`: an O_PATH/O_DIRECTORY fd of a bpffs mounted with delegation options. */
  bpffsFd: number;
}

/** Layout of the token_create member; size 8. */
export const tokenCreateLayout = new StructLayout<TokenCreateAttr>('bpf_attr (BPF_TOKEN_CREATE)', 8, {
  flags: u32(0, 'token_create.flags'),
  bpffsFd: u32(4, 'token_create.bpffs_fd'),
});

/**
 * Encodes the `bpf_attr` of BPF_TOKEN_CREATE.
 *
 * @example
 * const bpffsFd = fs.openSync('/sys/fs/bpf', 'r');
 * encodeTokenCreateAttr({ bpffsFd });
 */
export function encodeTokenCreateAttr(fields: TokenCreateAttr): EncodedAttr {
  return tokenCreateLayout.encodeAttr(fields);
}
