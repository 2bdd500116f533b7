/**
 * Typed wrappers for the map commands.
 *
 * @module
 */
import { Errno } from '@bpfkit/core';
import { BpfCommand } from '../commands.js';
import {
  encodeMapBatchAttr,
  encodeMapCreateAttr,
  encodeMapElemAttr,
  encodeMapFreezeAttr,
  encodeMapGetNextKeyAttr,
  mapBatchLayout,
  type MapBatchAttr,
  type MapCreateAttr,
} from '../attr/map.js';
import { bpfError, callBpf, tryBpf, type BpfCallContext } from './call.js';

/**
 * BPF_MAP_CREATE: creates a map and returns its fd.
 *
 * @throws BpfError (EINVAL for bad sizes or flags, E2BIG, EPERM, ENOMEM…)
 * @example
 * const fd = mapCreate({ mapType: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1024, mapName: 'counts' });
 */
export function mapCreate(fields: MapCreateAttr, ctx: BpfCallContext = {}): number {
  const subject = ctx.subject ?? (fields.mapName ? `map '${fields.mapName}'` : undefined);
  let hint = ctx.hint;
  const r = tryBpf(BpfCommand.BPF_MAP_CREATE, encodeMapCreateAttr(fields));
  if (r >= 0) return r;
  if (hint === undefined && -r === Errno.EINVAL) {
    if (fields.maxEntries === 0) hint = 'max_entries is 0';
    else if (fields.keySize === 0 || fields.valueSize === 0) hint = 'key_size or value_size is 0 (allowed only for some map types)';
  }
  throw bpfError(BpfCommand.BPF_MAP_CREATE, -r, { subject, hint });
}

/**
 * BPF_MAP_LOOKUP_ELEM: copies the value of `key` into `value`.
 *
 * @throws BpfError ENOENT when the key is not in the map
 * @example
 * const value = new Uint8Array(8);
 * mapLookupElem(fd, Uint8Array.of(1, 0, 0, 0), value);
 */
export function mapLookupElem(mapFd: number, key: Uint8Array | null, value: Uint8Array, flags = 0, ctx?: BpfCallContext): void {
  callBpf(BpfCommand.BPF_MAP_LOOKUP_ELEM, encodeMapElemAttr({ mapFd, key, value, flags }), ctx);
}

/**
 * BPF_MAP_UPDATE_ELEM: creates or updates `key` (flags: BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK).
 *
 * @throws BpfError EEXIST / ENOENT per flags, E2BIG when the map is full
 * @example
 * mapUpdateElem(fd, key, value, UpdateFlags.NOEXIST);
 */
export function mapUpdateElem(mapFd: number, key: Uint8Array | null, value: Uint8Array, flags = 0, ctx?: BpfCallContext): void {
  callBpf(BpfCommand.BPF_MAP_UPDATE_ELEM, encodeMapElemAttr({ mapFd, key, value, flags }), ctx);
}

/**
 * BPF_MAP_DELETE_ELEM: deletes `key`.
 *
 * @throws BpfError ENOENT when the key is not in the map
 * @example
 * mapDeleteElem(fd, key);
 */
export function mapDeleteElem(mapFd: number, key: Uint8Array, ctx?: BpfCallContext): void {
  callBpf(BpfCommand.BPF_MAP_DELETE_ELEM, encodeMapElemAttr({ mapFd, key }), ctx);
}

/**
 * BPF_MAP_GET_NEXT_KEY: writes the key after `key` (the first key when
 * `key` is null) into `nextKey`. Returns false when there is none.
 *
 * @example
 * const next = new Uint8Array(4);
 * for (let k: Uint8Array | null = null; mapGetNextKey(fd, k, next); k = next.slice()) console.log(next);
 */
export function mapGetNextKey(mapFd: number, key: Uint8Array | null, nextKey: Uint8Array, ctx?: BpfCallContext): boolean {
  const r = tryBpf(BpfCommand.BPF_MAP_GET_NEXT_KEY, encodeMapGetNextKeyAttr({ mapFd, key, nextKey }));
  if (r >= 0) return true;
  if (-r === Errno.ENOENT) return false;
  throw bpfError(BpfCommand.BPF_MAP_GET_NEXT_KEY, -r, ctx);
}

/**
 * BPF_MAP_LOOKUP_AND_DELETE_ELEM: copies and removes `key` (for queues and
 * stacks `key` is null and the head is popped).
 *
 * @throws BpfError ENOENT when there is no such element
 * @example
 * const queueFd = mapCreate({ mapType: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 16 });
 * const value = new Uint8Array(4);
 * mapLookupAndDeleteElem(queueFd, null, value);
 */
export function mapLookupAndDeleteElem(mapFd: number, key: Uint8Array | null, value: Uint8Array, flags = 0, ctx?: BpfCallContext): void {
  callBpf(BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_ELEM, encodeMapElemAttr({ mapFd, key, value, flags }), ctx);
}

/**
 * BPF_MAP_FREEZE: makes the map read-only for user space (5.2).
 *
 * @example
 * mapFreeze(mapFd); // e.g. a .rodata map, once its contents are written
 */
export function mapFreeze(mapFd: number, ctx?: BpfCallContext): void {
  callBpf(BpfCommand.BPF_MAP_FREEZE, encodeMapFreezeAttr({ mapFd }), ctx);
}

/** The result of a lookup batch. */
export interface MapBatchResult {
  /** Number of elements written to `keys` / `values`. */
  count: number;
  /** Whether the end of the map was reached (the kernel answered ENOENT). */
  done: boolean;
}

function lookupBatch(cmd: BpfCommand, fields: MapBatchAttr, ctx?: BpfCallContext): MapBatchResult {
  const enc = encodeMapBatchAttr(fields);
  const r = tryBpf(cmd, enc);
  const count = mapBatchLayout.read(enc.attr, 'count');
  if (r >= 0) return { count, done: false };
  if (-r === Errno.ENOENT) return { count, done: true };
  throw bpfError(cmd, -r, ctx);
}

function writeBatch(cmd: BpfCommand, fields: MapBatchAttr, ctx: BpfCallContext = {}): number {
  const enc = encodeMapBatchAttr(fields);
  const r = tryBpf(cmd, enc);
  const count = mapBatchLayout.read(enc.attr, 'count');
  if (r >= 0) return count;
  const done = `${count} of ${fields.count} elements processed`;
  throw bpfError(cmd, -r, { ...ctx, subject: ctx.subject ? `${ctx.subject} (${done})` : done });
}

/**
 * BPF_MAP_LOOKUP_BATCH (5.6): reads up to `count` elements after the
 * `inBatch` cursor; `outBatch` receives the next cursor.
 *
 * @example
 * const keys = new Uint8Array(64 * 4), values = new Uint8Array(64 * 8), cursor = new Uint8Array(4);
 * const { count, done } = mapLookupBatch({ mapFd, outBatch: cursor, keys, values, count: 64 });
 */
export function mapLookupBatch(fields: MapBatchAttr, ctx?: BpfCallContext): MapBatchResult {
  return lookupBatch(BpfCommand.BPF_MAP_LOOKUP_BATCH, fields, ctx);
}

/**
 * BPF_MAP_LOOKUP_AND_DELETE_BATCH (5.6): like {@link mapLookupBatch}, deleting what it returns.
 *
 * @example
 * const keys = new Uint8Array(64 * 4), values = new Uint8Array(64 * 8), cursor = new Uint8Array(4);
 * mapLookupAndDeleteBatch({ mapFd, outBatch: cursor, keys, values, count: 64 });
 */
export function mapLookupAndDeleteBatch(fields: MapBatchAttr, ctx?: BpfCallContext): MapBatchResult {
  return lookupBatch(BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_BATCH, fields, ctx);
}

/**
 * BPF_MAP_UPDATE_BATCH (5.6): writes `count` key/value pairs; returns the number written.
 *
 * @throws BpfError naming how many elements were processed before the failure
 * @example
 * mapUpdateBatch({ mapFd, keys: Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0), values: new Uint8Array(2 * 8), count: 2 });
 */
export function mapUpdateBatch(fields: MapBatchAttr, ctx?: BpfCallContext): number {
  return writeBatch(BpfCommand.BPF_MAP_UPDATE_BATCH, fields, ctx);
}

/**
 * BPF_MAP_DELETE_BATCH (5.6): deletes `count` keys; returns the number deleted.
 *
 * @example
 * mapDeleteBatch({ mapFd, keys: Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0), count: 2 });
 */
export function mapDeleteBatch(fields: MapBatchAttr, ctx?: BpfCallContext): number {
  return writeBatch(BpfCommand.BPF_MAP_DELETE_BATCH, fields, ctx);
}
