// Test helpers: read fields at literal offsets in host byte order.
import { expect } from 'vitest';
import { HOST_LITTLE_ENDIAN, type EncodedAttr, type EncodedStruct } from '../attr/layout.js';

const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

export const rd8 = (b: Uint8Array, off: number): number => b[off]!;
export const rd16 = (b: Uint8Array, off: number): number => dv(b).getUint16(off, HOST_LITTLE_ENDIAN);
export const rd32 = (b: Uint8Array, off: number): number => dv(b).getUint32(off, HOST_LITTLE_ENDIAN);
export const rds32 = (b: Uint8Array, off: number): number => dv(b).getInt32(off, HOST_LITTLE_ENDIAN);
export const rd64 = (b: Uint8Array, off: number): bigint => dv(b).getBigUint64(off, HOST_LITTLE_ENDIAN);
export const str = (b: Uint8Array, off: number, len: number): string => {
  const s = b.subarray(off, off + len);
  const n = s.indexOf(0);
  return new TextDecoder().decode(n < 0 ? s : s.subarray(0, n));
};

/** Writers for hand-built buffers (decoder tests). */
export class Builder {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = dv(this.bytes);
  }
  u32(off: number, v: number): this {
    this.view.setUint32(off, v, HOST_LITTLE_ENDIAN);
    return this;
  }
  s32(off: number, v: number): this {
    this.view.setInt32(off, v, HOST_LITTLE_ENDIAN);
    return this;
  }
  u64(off: number, v: bigint): this {
    this.view.setBigUint64(off, v, HOST_LITTLE_ENDIAN);
    return this;
  }
  text(off: number, s: string): this {
    this.bytes.set(new TextEncoder().encode(s), off);
    return this;
  }
  raw(off: number, b: ArrayLike<number>): this {
    this.bytes.set(b, off);
    return this;
  }
}

/** The buffer reported for the pointer at `offset` (fails the test when none). */
export function ptrAt(enc: EncodedAttr | EncodedStruct, offset: number): Uint8Array | null {
  const i = enc.ptrOffsets.indexOf(offset);
  expect(i, `a pointer at offset ${offset}`).toBeGreaterThanOrEqual(0);
  return enc.ptrBuffers[i]!;
}

/** A buffer of `n` bytes whose identity the tests check. */
export const buf = (n: number, fill = 0): Uint8Array => new Uint8Array(n).fill(fill);

/** The C string behind a pointer (NUL-terminated). */
export function cstrAt(enc: EncodedAttr | EncodedStruct, offset: number): string {
  const b = ptrAt(enc, offset)!;
  expect(b[b.length - 1]).toBe(0);
  return new TextDecoder().decode(b.subarray(0, b.length - 1));
}
