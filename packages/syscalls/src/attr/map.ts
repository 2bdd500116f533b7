/**
 * `bpf_attr` members for map commands: BPF_MAP_CREATE, the element commands
 * (lookup, update, delete, get next key, lookup and delete, freeze) and the
 * batch commands.
 *
 * @module
 */
import type { MapFlags, MapType, UpdateFlags } from '@bpfkit/core'; // {@link} targets
import { StructLayout, ptr, s32, str, u32, u64, type EncodedAttr, type Pointer } from './layout.js';

// ---------------------------------------------------------------------------
// BPF_MAP_CREATE

/** The `bpf_attr` member of `BPF_MAP_CREATE`. */
export interface MapCreateAttr {
  /** `map_type`: one of {@link MapType}. */
  mapType: number;
  /** `key_size` in bytes. */
  keySize: number;
  /** `value_size` in bytes. */
  valueSize: number;
  /** `max_entries` (the ring buffer size in bytes for ring buffers). */
  maxEntries: number;
  /** `map_flags`: {@link MapFlags} bits. */
  mapFlags?: number;
  /** `inner_map_fd`: template map for map-in-map types (4.12). */
  innerMapFd?: number;
  /** `numa_node`, used with BPF_F_NUMA_NODE (4.14). */
  numaNode?: number;
  /** `map_name[BPF_OBJ_NAME_LEN]`: at most 15 bytes (4.15). */
  mapName?: string;
  /** `map_ifindex`: netdev to offload the map to (4.16). */
  mapIfindex?: number;
  /** `btf_fd`: BTF describing key and value (4.18). */
  btfFd?: number;
  /** `btf_key_type_id` (4.18). */
  btfKeyTypeId?: number;
  /** `btf_value_type_id` (4.18). */
  btfValueTypeId?: number;
  /** `btf_vmlinux_value_type_id`: kernel struct of a struct_ops map value (5.6). */
  btfVmlinuxValueTypeId?: number;
  /** `map_extra`: bloom filter hash count, arena mmap address (5.16). */
  mapExtra?: number | bigint;
  /** `value_type_btf_obj_fd`: module BTF for btf_vmlinux_value_type_id, with BPF_F_VTYPE_BTF_OBJ_FD (6.9). */
  valueTypeBtfObjFd?: number;
  /** `map_token_fd`: BPF token, with BPF_F_TOKEN_FD (6.9). */
  mapTokenFd?: number;
  /** `excl_prog_hash`: SHA-256 of the only program allowed to use the map (6.18). */
  exclProgHash?: Pointer;
  /** `excl_prog_hash_size`: must be 32 when excl_prog_hash is set (6.18). */
  exclProgHashSize?: number;
}

/** Layout of the BPF_MAP_CREATE member; size = offsetofend(excl_prog_hash_size) = 92. */
export const mapCreateLayout = new StructLayout<MapCreateAttr>('bpf_attr (BPF_MAP_CREATE)', 92, {
  mapType: u32(0, 'map_type'),
  keySize: u32(4, 'key_size'),
  valueSize: u32(8, 'value_size'),
  maxEntries: u32(12, 'max_entries'),
  mapFlags: u32(16, 'map_flags'),
  innerMapFd: u32(20, 'inner_map_fd'),
  numaNode: u32(24, 'numa_node'),
  mapName: str(28, 16, 'map_name'),
  mapIfindex: u32(44, 'map_ifindex'),
  btfFd: u32(48, 'btf_fd'),
  btfKeyTypeId: u32(52, 'btf_key_type_id'),
  btfValueTypeId: u32(56, 'btf_value_type_id'),
  btfVmlinuxValueTypeId: u32(60, 'btf_vmlinux_value_type_id'),
  mapExtra: u64(64, 'map_extra'),
  valueTypeBtfObjFd: s32(72, 'value_type_btf_obj_fd'),
  mapTokenFd: s32(76, 'map_token_fd'),
  exclProgHash: ptr(80, 'excl_prog_hash'),
  exclProgHashSize: u32(88, 'excl_prog_hash_size'),
});

/**
 * Encodes the `bpf_attr` of BPF_MAP_CREATE. `exclProgHashSize` defaults to
 * the length of `exclProgHash` when that is a buffer.
 *
 * @example
 * const { attr } = encodeMapCreateAttr({ mapType: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
 * attr.byteLength; // 92
 */
export function encodeMapCreateAttr(fields: MapCreateAttr): EncodedAttr {
  const h = fields.exclProgHash;
  return mapCreateLayout.encodeAttr({
    ...fields,
    exclProgHashSize: fields.exclProgHashSize ?? (h instanceof Uint8Array ? h.byteLength : undefined),
  });
}

// ---------------------------------------------------------------------------
// BPF_MAP_{LOOKUP,UPDATE,DELETE,LOOKUP_AND_DELETE}_ELEM, BPF_MAP_GET_NEXT_KEY, BPF_MAP_FREEZE

/**
 * The `bpf_attr` member of BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM,
 * BPF_MAP_DELETE_ELEM and BPF_MAP_LOOKUP_AND_DELETE_ELEM.
 */
export interface MapElemAttr {
  /** `map_fd`. */
  mapFd: number;
  /** `key`: the key bytes (NULL for keyless maps: queue, stack). */
  key?: Pointer;
  /** `value`: the value buffer (read for update, written for lookup). */
  value?: Pointer;
  /** `flags`: {@link UpdateFlags} (BPF_ANY/NOEXIST/EXIST, BPF_F_LOCK). */
  flags?: number | bigint;
}

/** Layout of the map element member; size = offsetofend(flags) = 32. */
export const mapElemLayout = new StructLayout<MapElemAttr>('bpf_attr (BPF_MAP_*_ELEM)', 32, {
  mapFd: u32(0, 'map_fd'),
  key: ptr(8, 'key'),
  value: ptr(16, 'value'),
  flags: u64(24, 'flags'),
});

/**
 * Encodes the `bpf_attr` of a map element command (lookup, update, delete,
 * lookup and delete).
 *
 * @example
 * encodeMapElemAttr({ mapFd: 3, key, value, flags: UpdateFlags.ANY });
 */
export function encodeMapElemAttr(fields: MapElemAttr): EncodedAttr {
  return mapElemLayout.encodeAttr(fields);
}

/** The `bpf_attr` member of BPF_MAP_GET_NEXT_KEY. */
export interface MapGetNextKeyAttr {
  /** `map_fd`. */
  mapFd: number;
  /** `key`: the current key, or NULL to get the first key. */
  key?: Pointer;
  /** `next_key`: receives the next key (shares a union with `value`). */
  nextKey: Pointer;
}

/** Layout of the BPF_MAP_GET_NEXT_KEY member; size = 24 (offsetofend(next_key)). */
export const mapGetNextKeyLayout = new StructLayout<MapGetNextKeyAttr>('bpf_attr (BPF_MAP_GET_NEXT_KEY)', 24, {
  mapFd: u32(0, 'map_fd'),
  key: ptr(8, 'key'),
  nextKey: ptr(16, 'next_key'),
});

/**
 * Encodes the `bpf_attr` of BPF_MAP_GET_NEXT_KEY.
 *
 * @example
 * encodeMapGetNextKeyAttr({ mapFd: 3, key: null, nextKey: new Uint8Array(4) });
 */
export function encodeMapGetNextKeyAttr(fields: MapGetNextKeyAttr): EncodedAttr {
  return mapGetNextKeyLayout.encodeAttr(fields);
}

/** The `bpf_attr` member of BPF_MAP_FREEZE (5.2). */
export interface MapFreezeAttr {
  /** `map_fd`. */
  mapFd: number;
}

/** Layout of the BPF_MAP_FREEZE member; size = offsetofend(map_fd) = 4. */
export const mapFreezeLayout = new StructLayout<MapFreezeAttr>('bpf_attr (BPF_MAP_FREEZE)', 4, {
  mapFd: u32(0, 'map_fd'),
});

/**
 * Encodes the `bpf_attr` of BPF_MAP_FREEZE.
 *
 * @example
 * encodeMapFreezeAttr({ mapFd: 3 }).attr.byteLength; // 4
 */
export function encodeMapFreezeAttr(fields: MapFreezeAttr): EncodedAttr {
  return mapFreezeLayout.encodeAttr(fields);
}

// ---------------------------------------------------------------------------
// BPF_MAP_{LOOKUP,LOOKUP_AND_DELETE,UPDATE,DELETE}_BATCH (5.6)

/** The `bpf_attr.batch` member of the batch commands (5.6). */
export interface MapBatchAttr {
  /** `batch.in_batch`: the cursor to continue from, NULL to start from the beginning. */
  inBatch?: Pointer;
  /** `batch.out_batch`: receives the cursor for the next call. */
  outBatch?: Pointer;
  /** `batch.keys`: `count` keys back to back. */
  keys?: Pointer;
  /** `batch.values`: `count` values back to back. */
  values?: Pointer;
  /** `batch.count`: in: the number of elements the buffers hold; out: the number processed. */
  count: number;
  /** `batch.map_fd`. */
  mapFd: number;
  /** `batch.elem_flags`: {@link UpdateFlags} applied to each element. */
  elemFlags?: number | bigint;
  /** `batch.flags`. */
  flags?: number | bigint;
}

/** Layout of the batch member; size = offsetofend(batch.flags) = 56. */
export const mapBatchLayout = new StructLayout<MapBatchAttr>('bpf_attr (BPF_MAP_*_BATCH)', 56, {
  inBatch: ptr(0, 'batch.in_batch'),
  outBatch: ptr(8, 'batch.out_batch'),
  keys: ptr(16, 'batch.keys'),
  values: ptr(24, 'batch.values'),
  count: u32(32, 'batch.count'),
  mapFd: u32(36, 'batch.map_fd'),
  elemFlags: u64(40, 'batch.elem_flags'),
  flags: u64(48, 'batch.flags'),
});

/**
 * Encodes the `bpf_attr` of a batch command. After the call, read the
 * processed count with `mapBatchLayout.read(attr, 'count')`.
 *
 * @example
 * encodeMapBatchAttr({ mapFd: 3, keys: new Uint8Array(64 * 4), values: new Uint8Array(64 * 8), count: 64, outBatch: new Uint8Array(4) });
 */
export function encodeMapBatchAttr(fields: MapBatchAttr): EncodedAttr {
  return mapBatchLayout.encodeAttr(fields);
}
