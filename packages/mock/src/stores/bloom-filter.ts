import { Errno, hostLittleEndian, MapFlags, UpdateFlags } from '@bpfkit/core';
import type { MapSpec } from '@bpfkit/core';
import type { MockMapMeta } from '../map-spec.js';
import { MockMapStore, type BatchSupport } from '../map-store.js';
import type { MockKernel } from '../mock-kernel.js';
import { jhash, jhash2 } from './jhash.js';

/** Bit arrays up to this many bits are a typed array; larger ones (up to 2^32 bits) keep a set of the bits that are on. */
const DENSE_MAX_BITS = 2 ** 27;

/**
 * Bloom filters (`BPF_MAP_TYPE_BLOOM_FILTER`), built like the kernel's: the
 * low 4 bits of `map_extra` are the number of hash functions (0 means 5), the
 * bit array has `max_entries × hashes × 7 / 5` bits rounded up to a power of
 * two (at least 64, at most 2^32), and bit `i` of a value is
 * `jhash(value, seed + i)` masked to the array (`jhash2` over u32 words when
 * the value size is a multiple of 4). The seed is random unless the map has
 * BPF_F_ZERO_SEED — then the mock sets exactly the kernel's bits, and
 * answers the same false positives.
 *
 * Push (update with a null key, flag any only; others EINVAL) adds a value;
 * lookup with a null key and the value answers ENOENT when some bit is off
 * (never for an added value). Delete and next-key are EOPNOTSUPP,
 * lookup-and-delete and batches ENOTSUPP.
 *
 * @example
 * using b = system.createMap({ type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 100, mapExtra: 3n }, { key: noKey, value: u32 });
 * b.push(42);
 * b.has(42); // true
 */
export class BloomFilterStore extends MockMapStore {
  readonly batch: BatchSupport = { lookup: false, lookupAndDelete: false, update: false, delete: false };
  /** Number of hash functions. */
  readonly hashes: number;
  /** Bits in the bit array. */
  readonly bits: number;
  readonly #mask: number;
  readonly #seed: number;
  readonly #words: number;
  readonly #dense: Uint8Array | null;
  readonly #sparse: Set<number> | null;

  constructor(kernel: MockKernel, spec: MapSpec, meta: MockMapMeta) {
    super(kernel, spec, meta);
    this.hashes = Number(meta.mapExtra & 0xfn) || 5;
    const wanted = meta.maxEntries * this.hashes;
    const scaled = Math.floor(wanted / 5) * 7;
    if (wanted > 0xffffffff || scaled > 0xffffffff || scaled > 2 ** 31) {
      this.bits = 2 ** 32;
    } else {
      let bits = 64;
      while (bits < scaled) bits *= 2;
      this.bits = bits;
    }
    this.#mask = this.bits - 1;
    this.#seed = meta.flags & MapFlags.ZERO_SEED ? 0 : Math.floor(Math.random() * 2 ** 32) >>> 0;
    this.#words = meta.valueSize % 4 === 0 ? meta.valueSize / 4 : 0;
    this.#dense = this.bits <= DENSE_MAX_BITS ? new Uint8Array(this.bits / 8) : null;
    this.#sparse = this.#dense ? null : new Set();
  }

  /** The bit hash function `i` picks for `value`. */
  #bit(value: Uint8Array, i: number): number {
    const seed = (this.#seed + i) >>> 0;
    const h = this.#words
      ? jhash2(value, this.#words, seed, hostLittleEndian)
      : jhash(value.subarray(0, this.meta.valueSize), seed, hostLittleEndian);
    // The mask is 2^n - 1 (n <= 32): keep the low n bits as an unsigned number.
    return this.bits === 2 ** 32 ? h : h & this.#mask;
  }

  #test(bit: number): boolean {
    return this.#dense ? (this.#dense[bit >>> 3]! & (1 << (bit & 7))) !== 0 : this.#sparse!.has(bit);
  }

  #setBit(bit: number): void {
    if (this.#dense) this.#dense[bit >>> 3]! |= 1 << (bit & 7);
    else this.#sparse!.add(bit);
  }

  lookupElem(_key: null, value: Uint8Array): boolean {
    for (let i = 0; i < this.hashes; i++) if (!this.#test(this.#bit(value, i))) return false;
    return true;
  }

  updateElem(_key: null, value: Uint8Array, flags: number): void {
    if (flags !== UpdateFlags.ANY) this.fail(Errno.EINVAL, 'BPF_MAP_UPDATE_ELEM', 'a bloom filter push takes flag any only');
    for (let i = 0; i < this.hashes; i++) this.#setBit(this.#bit(value, i));
  }

  deleteElem(): boolean {
    return this.fail(Errno.EOPNOTSUPP, 'BPF_MAP_DELETE_ELEM', 'values cannot be removed from a bloom filter');
  }

  nextKeyElem(): boolean {
    return this.fail(Errno.EOPNOTSUPP, 'BPF_MAP_GET_NEXT_KEY', 'a bloom filter has no keys to walk');
  }

  protected override destroy(): void {
    this.#dense?.fill(0);
    this.#sparse?.clear();
  }
}
