/**
 * `struct bpf_map_info` (BPF_OBJ_GET_INFO_BY_FD on a map), as of Linux 6.18.
 *
 * @module
 */
import type { MapType } from '@bpfkit/core'; // {@link} targets
import { StructLayout, ptr, str, u32, u64, type Decoded, type EncodedStruct, type Pointer } from '../attr/layout.js';
import { zeroExtend } from './prog-info.js';

/** The fields of `struct bpf_map_info`. All are output except `hash` / `hashSize`. */
export interface MapInfoFields {
  /** `type`: one of {@link MapType}. */
  type?: number;
  /** `id`. */
  id?: number;
  /** `key_size`. */
  keySize?: number;
  /** `value_size`. */
  valueSize?: number;
  /** `max_entries`. */
  maxEntries?: number;
  /** `map_flags`. */
  mapFlags?: number;
  /** `name[BPF_OBJ_NAME_LEN]` (4.15). */
  name?: string;
  /** `ifindex`: offload device (4.16). */
  ifindex?: number;
  /** `btf_vmlinux_value_type_id`: kernel struct of a struct_ops map value (5.6). */
  btfVmlinuxValueTypeId?: number;
  /** `netns_dev` of the offload device (4.16). */
  netnsDev?: number | bigint;
  /** `netns_ino` of the offload device (4.16). */
  netnsIno?: number | bigint;
  /** `btf_id`: the map's BTF object (4.18). */
  btfId?: number;
  /** `btf_key_type_id` (4.18). */
  btfKeyTypeId?: number;
  /** `btf_value_type_id` (4.18). */
  btfValueTypeId?: number;
  /** `btf_vmlinux_id`: the BTF object of btf_vmlinux_value_type_id. */
  btfVmlinuxId?: number;
  /** `map_extra` (5.16). */
  mapExtra?: number | bigint;
  /** `hash`: in: buffer that receives the map's SHA-256 (6.18). */
  hash?: Pointer;
  /** `hash_size`: in: must be 32 when hash is set (6.18). */
  hashSize?: number;
}

/** `sizeof(struct bpf_map_info)` as of Linux 6.18. */
export const MAP_INFO_SIZE = 104;

/** Layout of `struct bpf_map_info`. */
export const mapInfoLayout = new StructLayout<MapInfoFields>('bpf_map_info', MAP_INFO_SIZE, {
  type: u32(0, 'type'),
  id: u32(4, 'id'),
  keySize: u32(8, 'key_size'),
  valueSize: u32(12, 'value_size'),
  maxEntries: u32(16, 'max_entries'),
  mapFlags: u32(20, 'map_flags'),
  name: str(24, 16, 'name'),
  ifindex: u32(40, 'ifindex'),
  btfVmlinuxValueTypeId: u32(44, 'btf_vmlinux_value_type_id'),
  netnsDev: u64(48, 'netns_dev'),
  netnsIno: u64(56, 'netns_ino'),
  btfId: u32(64, 'btf_id'),
  btfKeyTypeId: u32(68, 'btf_key_type_id'),
  btfValueTypeId: u32(72, 'btf_value_type_id'),
  btfVmlinuxId: u32(76, 'btf_vmlinux_id'),
  mapExtra: u64(80, 'map_extra'),
  hash: ptr(88, 'hash'),
  hashSize: u32(96, 'hash_size'),
});

/** A decoded `struct bpf_map_info`. */
export type BpfMapInfo = Decoded<MapInfoFields>;

/**
 * Decodes a `struct bpf_map_info` (a shorter buffer is zero-extended).
 *
 * @example
 * const info = decodeMapInfo(buf);
 * console.log(info.name, info.keySize, info.valueSize, info.maxEntries);
 */
export function decodeMapInfo(buf: Uint8Array): BpfMapInfo {
  return mapInfoLayout.decode(zeroExtend(buf, MAP_INFO_SIZE));
}

/**
 * Encodes a `struct bpf_map_info` request; `hash` (6.18) asks for the map's
 * SHA-256 (a 32-byte buffer).
 *
 * @example
 * const req = encodeMapInfoRequest({ hash: new Uint8Array(32) });
 */
export function encodeMapInfoRequest(req: { hash?: Uint8Array } = {}): EncodedStruct {
  return mapInfoLayout.encode({ hash: req.hash, hashSize: req.hash?.byteLength });
}
