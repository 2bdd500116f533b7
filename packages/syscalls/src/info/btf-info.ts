/**
 * `struct bpf_btf_info` (BPF_OBJ_GET_INFO_BY_FD on a BTF object).
 *
 * @module
 */
import { StructLayout, ptr, u32, type Decoded, type EncodedStruct, type Pointer } from '../attr/layout.js';
import { zeroExtend } from './prog-info.js';

/** The fields of `struct bpf_btf_info` (4.18). */
export interface BtfInfoFields {
  /** `btf`: receives the raw BTF. */
  btf?: Pointer;
  /** `btf_size`: in: capacity of btf; out: size of the BTF. */
  btfSize?: number;
  /** `id`. */
  id?: number;
  /** `name`: receives the object's name, e.g. `vmlinux` or a module name (5.11). */
  name?: Pointer;
  /** `name_len`: in: capacity of name; out: length including the NUL (5.11). */
  nameLen?: number;
  /** `kernel_btf`: 1 for vmlinux / module BTF (5.11). */
  kernelBtf?: number;
}

/** `sizeof(struct bpf_btf_info)`. */
export const BTF_INFO_SIZE = 32;

/** Layout of `struct bpf_btf_info`. */
export const btfInfoLayout = new StructLayout<BtfInfoFields>('bpf_btf_info', BTF_INFO_SIZE, {
  btf: ptr(0, 'btf'),
  btfSize: u32(8, 'btf_size'),
  id: u32(12, 'id'),
  name: ptr(16, 'name'),
  nameLen: u32(24, 'name_len'),
  kernelBtf: u32(28, 'kernel_btf'),
});

/** A decoded `struct bpf_btf_info`. */
export type BpfBtfInfo = Decoded<BtfInfoFields>;

/**
 * Decodes a `struct bpf_btf_info`.
 *
 * @example
 * const { id, btfSize, kernelBtf } = decodeBtfInfo(buf);
 */
export function decodeBtfInfo(buf: Uint8Array): BpfBtfInfo {
  return btfInfoLayout.decode(zeroExtend(buf, BTF_INFO_SIZE));
}

/**
 * Encodes a `struct bpf_btf_info` request for the raw BTF and / or the name.
 *
 * @example
 * const req = encodeBtfInfoRequest({ name: new Uint8Array(64) });
 */
export function encodeBtfInfoRequest(req: { btf?: Uint8Array; name?: Uint8Array } = {}): EncodedStruct {
  return btfInfoLayout.encode({ btf: req.btf, btfSize: req.btf?.byteLength, name: req.name, nameLen: req.name?.byteLength });
}
