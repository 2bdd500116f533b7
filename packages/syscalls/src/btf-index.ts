/**
 * The native form of `parseBtf`'s two whole-blob passes.
 *
 * @module
 */
import { native } from './native.js';
import type { BtfIndexer } from '@bpfkit/elf';

/**
 * `parseBtf`'s `indexer` ({@link BtfIndexer}) done by the
 * addon: where each type record starts, and the essential-name hash table
 * of CO-RE candidate lookups. Cold, JavaScript takes ~40 ms for the two on
 * vmlinux's 125k types; this takes a few milliseconds (the scan ~2 ms, the
 * index CO-RE searches ~3.5 ms). The kernel backend parses the kernel's BTF
 * with it.
 *
 * @example
 * import { parseBtf } from '@bpfkit/elf';
 * const bytes = mapFileReadOnly('/sys/kernel/btf/vmlinux')!;
 * const btf = parseBtf(bytes, undefined, { owned: true, trusted: true, indexer: nativeBtfIndexer });
 */
export const nativeBtfIndexer: BtfIndexer = {
  // Node-API functions: no `this`, so they can be handed over as they are.
  scanTypes: native.btfScanTypes,
  indexNames: native.btfIndexNames,
};
