import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@bpfkit/core';
import { HOST_LITTLE_ENDIAN, StructLayout, bits, bytes, cString, flag, ptr, readCString, s32, str, u16, u32, u64, u8 } from './layout.js';

interface Sample {
  a?: number;
  b?: number;
  c?: number;
  d?: number | bigint;
  name?: string;
  tag?: Uint8Array;
  p?: Uint8Array | bigint | null;
  f0?: boolean;
  f1?: boolean;
  two?: number;
  e?: number;
}

const sample = new StructLayout<Sample>('sample', 48, {
  a: u8(0, 'a'),
  b: u16(2, 'b'),
  c: s32(4, 'c'),
  d: u64(8, 'd'),
  name: str(16, 8, 'name'),
  tag: bytes(24, 4, 'tag'),
  p: ptr(32, 'p'),
  f0: flag(40, 0, 'f0'),
  f1: flag(40, 1, 'f1'),
  two: bits(40, 2, 2, 'two'),
  e: u32(44, 'e'),
});

describe('host byte order', () => {
  it('matches what a Uint32Array sees', () => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, 0x01020304, HOST_LITTLE_ENDIAN);
    expect(new Uint32Array(b.buffer)[0]).toBe(0x01020304);
  });
});

describe('StructLayout', () => {
  it('round-trips every kind', () => {
    const p = new Uint8Array(3);
    const enc = sample.encode({
      a: 255,
      b: 65535,
      c: -2,
      d: 2n ** 64n - 1n,
      name: 'seven77',
      tag: Uint8Array.of(1, 2, 3, 4),
      p,
      f0: true,
      f1: false,
      two: 3,
      e: 0xffff_ffff,
    });
    expect(enc.bytes.byteLength).toBe(48);
    expect(enc.ptrOffsets).toEqual([32]);
    expect(enc.ptrBuffers[0]).toBe(p);
    const back = sample.decode(enc.bytes);
    expect(back).toEqual({
      a: 255,
      b: 65535,
      c: -2,
      d: 2n ** 64n - 1n,
      name: 'seven77',
      tag: Uint8Array.of(1, 2, 3, 4),
      p: 0n,
      f0: true,
      f1: false,
      two: 3,
      e: 0xffff_ffff,
    });
  });

  it('places bitfields from the least significant bit on little-endian hosts', () => {
    const w = sample.encode({ f0: true, two: 2 }).bytes;
    const word = new DataView(w.buffer).getBigUint64(40, HOST_LITTLE_ENDIAN);
    expect(word).toBe(HOST_LITTLE_ENDIAN ? 0b1001n : (1n << 63n) | (2n << 60n));
  });

  it('accepts numbers for 64-bit fields and rejects unsafe or negative ones', () => {
    expect(sample.decode(sample.encode({ d: 12345 }).bytes).d).toBe(12345n);
    expect(() => sample.encode({ d: -1 })).toThrow(InvalidArgumentError);
    expect(() => sample.encode({ d: 2 ** 60 })).toThrow(/64-bit/);
    expect(() => sample.encode({ d: 2n ** 64n })).toThrow(/64-bit/);
  });

  it('checks integer ranges with the field name in the message', () => {
    expect(() => sample.encode({ a: 256 })).toThrow(/^a: expected an integer in 0\.\.255, got the number 256$/);
    expect(() => sample.encode({ c: 2 ** 31 })).toThrow(/c: expected a signed 32-bit integer/);
    expect(() => sample.encode({ two: 4 })).toThrow(/two: expected an integer in 0\.\.3/);
    expect(() => sample.encode({ tag: new Uint8Array(5) })).toThrow(/tag/);
    expect(() => sample.encode({ name: 'eight888' })).toThrow(/at most 7 bytes/);
  });

  it('rejects fields that do not fit at construction', () => {
    expect(() => new StructLayout<{ x: number }>('bad', 4, { x: u32(2, 'x') })).toThrow(RangeError);
  });

  it('reads single fields and offsets', () => {
    const enc = sample.encode({ e: 99 });
    expect(sample.read(enc.bytes, 'e')).toBe(99);
    expect(sample.offsetOf('p')).toBe(32);
  });

  it('rejects a too short buffer when decoding', () => {
    expect(() => sample.decode(new Uint8Array(47))).toThrow(InvalidArgumentError);
  });
});

describe('C strings', () => {
  it('terminates and reads back', () => {
    const c = cString('héllo');
    expect(c[c.length - 1]).toBe(0);
    expect(readCString(c)).toBe('héllo');
    expect(readCString(Uint8Array.of(0x61, 0x62))).toBe('ab');
  });
});
