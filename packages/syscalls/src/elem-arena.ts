import { type NativeAddon, native, nativeLoadError } from './native.js';

/**
 * The element arena's entry point (native/elem_arena.cc): `elem(cmd, fd,
 * keyOffset, valueOffset, flags)` runs one element command on bytes of
 * `arena` named by offset (-1: NULL). Returns the result or -errno; -EINVAL
 * for a command that is not an element command or an offset outside the
 * arena.
 */
interface ElemOps {
  readonly arena: ArrayBuffer;
  elem(cmd: number, fd: number, keyOffset: number, valueOffset: number, flags: number): number;
}

/**
 * Takes the element arena off the addon's exports, so that only this module
 * (which hands out its slots) reaches the buffer. Undefined when the addon did
 * not load or has no arena (the runtime refused external buffers, or the
 * memory could not be mapped).
 */
function takeElemOps(addon: NativeAddon, error: Error | null): ElemOps | undefined {
  if (error !== null) return undefined;
  const record = addon as unknown as Record<string, unknown>;
  const ops = record.elemOps as ElemOps | undefined;
  delete record.elemOps;
  if (typeof ops !== 'object' || ops === null || !(ops.arena instanceof ArrayBuffer) || typeof ops.elem !== 'function') return undefined;
  return ops;
}

const OPS = takeElemOps(native, nativeLoadError);

/** Whether the addon has an element arena: {@link allocElemSlot} answers undefined without one. */
export const hasElemArena: boolean = OPS !== undefined;

/**
 * A map's key and value bytes inside the addon's element arena: element
 * commands on them pass two offsets instead of two TypedArrays, which the
 * addon (and, in optimized code, V8's fast call) takes without touching any
 * object (see native/elem_arena.cc for what that saves).
 *
 * @example
 * const slot = allocElemSlot(4, 8);
 * if (slot) {
 *   slot.key.set([1, 0, 0, 0]);
 *   const rc = elemCall(1, fd, slot.keyOffset, slot.valueOffset, 0); // BPF_MAP_LOOKUP_ELEM into slot.value
 *   freeElemSlot(slot);
 * }
 */
export interface ElemSlot {
  /** The key's bytes (`keyBytes` long). */
  readonly key: Uint8Array;
  /** The value's bytes (`valueBytes` long, 8-byte aligned). */
  readonly value: Uint8Array;
  /** Offset of {@link key} in the arena. */
  readonly keyOffset: number;
  /** Offset of {@link value} in the arena. */
  readonly valueOffset: number;
}

/** Largest slot (key and value together) taken from the arena; larger ones keep their own buffers. */
export const ELEM_SLOT_MAX_BYTES = 4096;

const SLOT_ALIGN = 16;

interface SlotRecord {
  readonly start: number;
  readonly size: number;
}

const records = new WeakMap<ElemSlot, SlotRecord>();
/** Freed slots by size: maps of one shape come and go together, so a slot is reused only at its own size. */
const freeBySize = new Map<number, number[]>();
let top = 0;

const align = (n: number, to: number): number => Math.ceil(n / to) * to;

/**
 * A slot for a key of `keyBytes` and a value of `valueBytes` bytes, or
 * undefined when there is no arena ({@link hasElemArena}), the slot
 * would exceed {@link ELEM_SLOT_MAX_BYTES}, or the arena is full: the caller
 * then uses buffers of its own with the TypedArray entry points.
 *
 * @example
 * const slot = allocElemSlot(4, 8); // undefined without the addon
 */
export function allocElemSlot(keyBytes: number, valueBytes: number): ElemSlot | undefined {
  const ops = OPS;
  if (ops === undefined || !Number.isInteger(keyBytes) || !Number.isInteger(valueBytes) || keyBytes < 1 || valueBytes < 1) return undefined;
  const valueAt = align(keyBytes, 8);
  const size = align(valueAt + valueBytes, SLOT_ALIGN);
  if (size > ELEM_SLOT_MAX_BYTES) return undefined;
  let start = freeBySize.get(size)?.pop();
  if (start === undefined) {
    if (top + size > ops.arena.byteLength) return undefined;
    start = top;
    top += size;
  }
  const slot: ElemSlot = {
    key: new Uint8Array(ops.arena, start, keyBytes),
    value: new Uint8Array(ops.arena, start + valueAt, valueBytes),
    keyOffset: start,
    valueOffset: start + valueAt,
  };
  records.set(slot, { start, size });
  return slot;
}

/**
 * Returns a slot to the arena. Its views must not be used afterwards: the
 * bytes go to the next slot of that size. Freeing a slot twice does nothing.
 *
 * @example
 * const slot = allocElemSlot(4, 8);
 * if (slot) freeElemSlot(slot);
 */
export function freeElemSlot(slot: ElemSlot): void {
  const record = records.get(slot);
  if (record === undefined) return;
  records.delete(slot);
  let list = freeBySize.get(record.size);
  if (list === undefined) {
    list = [];
    freeBySize.set(record.size, list);
  }
  list.push(record.start);
}

/**
 * One element command (BPF_MAP_LOOKUP_ELEM, UPDATE_ELEM, DELETE_ELEM,
 * GET_NEXT_KEY, LOOKUP_AND_DELETE_ELEM) on arena bytes named by offset (-1:
 * NULL). Returns the result or -errno; -EINVAL without a system call for
 * another command or an offset outside the arena. Only for slots from
 * {@link allocElemSlot}, which exists only when the arena does.
 *
 * @example
 * const slot = allocElemSlot(4, 8);
 * if (slot) {
 *   const rc = elemCall(3, fd, slot.keyOffset, -1, 0); // BPF_MAP_DELETE_ELEM: 0, or -ENOENT
 *   freeElemSlot(slot);
 * }
 */
export function elemCall(cmd: number, fd: number, keyOffset: number, valueOffset: number, flags: number): number {
  // Called on the ops object, as V8's fast call wants its receiver.
  return (OPS as ElemOps).elem(cmd, fd, keyOffset, valueOffset, flags);
}
