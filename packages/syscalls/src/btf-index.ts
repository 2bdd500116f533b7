/**
 * The native form of `parseBtf`'s two whole-blob passes.
 *
 * @module
 */
import { native } from './native.js';

/**
 * `parseBtf`'s `indexer` (see `BtfIndexer` in `@bpfkit/elf`) done by the
 * addon: where each type record starts, and the essential-name hash table
 * of CO-RE candidate lookups. Cold, JavaScript takes ~40 ms for the two on
 * vmlinux's 125k types; this takes under 2 ms. The kernel backend parses
 * the kernel's BTF with it.
 *
 * @example
 * const btf = parseBtf(bytes, undefined, { owned: true, trusted: true, indexer: nativeBtfIndexer });
 */
export const nativeBtfIndexer = {
  scanTypes(blob: Uint8Array, start: number, length: number, littleEndian: boolean, offsets: Uint32Array | null): number {
    return native.btfScanTypes(blob, start, length, littleEndian, offsets);
  },
  indexNames(
    blob: Uint8Array,
    offsets: Uint32Array,
    strStart: number,
    strLen: number,
    firstStringOffset: number,
    littleEndian: boolean,
    heads: Int32Array,
    next: Int32Array,
  ): void {
    native.btfIndexNames(blob, offsets, strStart, strLen, firstStringOffset, littleEndian, heads, next);
  },
};
