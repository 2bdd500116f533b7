import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import type { Codec } from './codec.js';
import { encodeToBytes } from './bytes.js';
import { hostLittleEndian, integerCodec, s16, s32, s64, s64n, s8, u16, u16be, u32, u32be, u64, u64be, u64n, u8 } from './integer.js';
import { errorOf } from '../test-support/codec-errors.js';

const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
/** The bytes of `b` in host order: reversed when the host is little-endian (big-endian literal → host bytes). */
const host = (bigEndianHex: string): string => (hostLittleEndian ? bigEndianHex.split(' ').reverse().join(' ') : bigEndianHex);

function roundTrip<T>(codec: Codec<T>, value: T): T {
  return codec.decode(encodeToBytes(codec, value));
}

describe('host byte order', () => {
  it('is detected from a Uint16Array probe', () => {
    const probe = new Uint8Array(new Uint16Array([0x0102]).buffer);
    expect(hostLittleEndian).toBe(probe[0] === 0x02);
    expect(new Uint8Array(new Uint32Array([1]).buffer)[0] === 1).toBe(hostLittleEndian);
  });
});

describe('integer codecs', () => {
  it('have sizes and names', () => {
    expect([u8, u16, u32, u64, s8, s16, s32, s64, u64n, s64n, u16be, u32be, u64be].map((c) => [c.name, c.size])).toEqual([
      ['u8', 1],
      ['u16', 2],
      ['u32', 4],
      ['u64', 8],
      ['s8', 1],
      ['s16', 2],
      ['s32', 4],
      ['s64', 8],
      ['u64n', 8],
      ['s64n', 8],
      ['u16be', 2],
      ['u32be', 4],
      ['u64be', 8],
    ]);
  });

  it('round-trip edge values', () => {
    for (const [codec, values] of [
      [u8, [0, 1, 127, 128, 255]],
      [u16, [0, 1, 0x1234, 0xffff]],
      [u32, [0, 1, 0x7fffffff, 0x80000000, 0xdeadbeef, 4294967295]],
      [s8, [-128, -1, 0, 1, 127]],
      [s16, [-32768, -1, 0, 0x1234, 32767]],
      [s32, [-2147483648, -1, 0, 2147483647]],
      [u16be, [0, 80, 443, 65535]],
      [u32be, [0, 0x01020304, 4294967295]],
      [u64n, [0, 1, 2 ** 32, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]],
      [s64n, [Number.MIN_SAFE_INTEGER, -(2 ** 32) - 1, -(2 ** 32), -1, 0, 1, 2 ** 40, Number.MAX_SAFE_INTEGER]],
    ] as const) {
      for (const v of values) expect([codec.name, roundTrip(codec as Codec<number>, v)]).toEqual([codec.name, v]);
    }
    for (const [codec, values] of [
      [u64, [0n, 1n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n]],
      [s64, [-(2n ** 63n), -1n, 0n, 1n, 2n ** 63n - 1n]],
      [u64be, [0n, 0x0102030405060708n, 2n ** 64n - 1n]],
    ] as const) {
      for (const v of values) expect([codec.name, roundTrip(codec as Codec<bigint>, v)]).toEqual([codec.name, v]);
    }
  });

  it('write host byte order by default', () => {
    expect(hex(encodeToBytes(u16, 0x0102))).toBe(host('01 02'));
    expect(hex(encodeToBytes(u32, 0x01020304))).toBe(host('01 02 03 04'));
    expect(hex(encodeToBytes(u64, 0x0102030405060708n))).toBe(host('01 02 03 04 05 06 07 08'));
    expect(hex(encodeToBytes(u64n, 0x0010203040506))).toBe(host('00 00 01 02 03 04 05 06'));
    expect(hex(encodeToBytes(s32, -2))).toBe(host('ff ff ff fe'));
  });

  it('write big-endian variants in network order', () => {
    expect(hex(encodeToBytes(u32be, 0x01020304))).toBe('01 02 03 04');
    expect(hex(encodeToBytes(u16be, 443))).toBe('01 bb');
    expect(hex(encodeToBytes(u64be, 0x0102030405060708n))).toBe('01 02 03 04 05 06 07 08');
    expect(u32be.decode(new Uint8Array([0xc0, 0, 2, 1]))).toBe(0xc0000201);
  });

  it('write two’s complement for negative values', () => {
    expect(hex(encodeToBytes(s8, -1))).toBe('ff');
    expect(hex(encodeToBytes(s16, -32768))).toBe(host('80 00'));
    expect(hex(encodeToBytes(s64, -1n))).toBe('ff ff ff ff ff ff ff ff');
    expect(hex(encodeToBytes(s64, -(2n ** 63n)))).toBe(host('80 00 00 00 00 00 00 00'));
    expect(hex(encodeToBytes(s64n, -1))).toBe('ff ff ff ff ff ff ff ff');
    expect(hex(encodeToBytes(s64n, Number.MIN_SAFE_INTEGER))).toBe(host('ff e0 00 00 00 00 00 01'));
    expect(s64.decode(encodeToBytes(u64, 2n ** 64n - 1n))).toBe(-1n);
    expect(u64.decode(encodeToBytes(s64, -1n))).toBe(2n ** 64n - 1n);
    expect(s32.decode(encodeToBytes(u32, 0x80000000))).toBe(-2147483648);
    expect(u8.decode(encodeToBytes(s8, -128))).toBe(128);
  });

  it('honour offsets and leave other bytes alone', () => {
    const buf = new Uint8Array(12).fill(0xaa);
    u32be.encode(0x01020304, buf, 3);
    expect(hex(buf)).toBe('aa aa aa 01 02 03 04 aa aa aa aa aa');
    expect(u32be.decode(buf, 3)).toBe(0x01020304);
    u64be.encode(5n, buf, 4);
    expect(u64be.decode(buf, 4)).toBe(5n);
    expect(buf[3]).toBe(0x01);
    u16.encode(7, buf, 10);
    expect(u16.decode(buf, 10)).toBe(7);
    s64n.encode(-3, buf, 2);
    expect(s64n.decode(buf, 2)).toBe(-3);
    expect(buf[0]).toBe(0xaa);
    expect(buf[1]).toBe(0xaa);
    expect(u16.decode(buf, 10)).toBe(7); // untouched by the s64n at 2..9
  });

  it('reject values out of range, of the wrong type, or not integers', () => {
    const buf = new Uint8Array(8);
    expect(errorOf(() => u32.encode(-1, buf)).message).toBe('u32: expected an integer from 0 to 4294967295, got the number -1');
    expect(errorOf(() => u32.encode(4294967296, buf)).message).toBe(
      'u32: expected an integer from 0 to 4294967295, got the number 4294967296',
    );
    expect(errorOf(() => u8.encode(1.5, buf)).message).toBe('u8: expected an integer from 0 to 255, got the number 1.5');
    expect(errorOf(() => s8.encode(128, buf)).message).toBe('s8: expected an integer from -128 to 127, got the number 128');
    expect(errorOf(() => s16.encode(-32769, buf)).expected).toBe('an integer from -32768 to 32767');
    expect(errorOf(() => u16.encode(NaN, buf)).given).toBe('the number NaN');
    expect(errorOf(() => u16.encode(Infinity, buf)).given).toBe('the number Infinity');
    expect(errorOf(() => u32.encode('5' as unknown as number, buf)).message).toBe(
      'u32: expected an integer from 0 to 4294967295, got the string "5"',
    );
    expect(errorOf(() => u32.encode(5n as unknown as number, buf)).given).toBe('the bigint 5n');
    expect(errorOf(() => u16be.encode(65536, buf)).argument).toBe('u16be');
    expect(errorOf(() => u64.encode(-1n, buf)).message).toBe('u64: expected a bigint from 0n to 18446744073709551615n, got the bigint -1n');
    expect(errorOf(() => u64.encode(2n ** 64n, buf)).given).toBe('the bigint 18446744073709551616n');
    expect(errorOf(() => u64.encode(5 as unknown as bigint, buf)).message).toBe(
      'u64: expected a bigint from 0n to 18446744073709551615n, got the number 5',
    );
    expect(errorOf(() => s64.encode(2n ** 63n, buf)).expected).toBe('a bigint from -9223372036854775808n to 9223372036854775807n');
    expect(errorOf(() => s64.encode(-(2n ** 63n) - 1n, buf)).argument).toBe('s64');
    expect(errorOf(() => u64be.encode(null as unknown as bigint, buf)).given).toBe('null');
  });

  it('number variants of 64-bit codecs refuse unsafe integers both ways', () => {
    const buf = new Uint8Array(8);
    expect(errorOf(() => u64n.encode(2 ** 53, buf)).message).toBe(
      'u64n: expected a safe integer from 0 to 9007199254740991, got the number 9007199254740992',
    );
    expect(errorOf(() => u64n.encode(-1, buf)).expected).toBe('a safe integer from 0 to 9007199254740991');
    expect(errorOf(() => s64n.encode(-(2 ** 53), buf)).expected).toBe('a safe integer from -9007199254740991 to 9007199254740991');
    expect(errorOf(() => u64n.encode(0.5, buf)).argument).toBe('u64n');
    expect(errorOf(() => u64n.encode(1n as unknown as number, buf)).argument).toBe('u64n');
    u64.encode(2n ** 64n - 1n, buf);
    expect(errorOf(() => u64n.decode(buf)).message).toBe(
      'u64n: expected bytes holding a safe integer from 0 to 9007199254740991 (use the bigint codec u64 for the full range), got the bigint 18446744073709551615n',
    );
    expect(s64n.decode(buf)).toBe(-1);
    s64.encode(-(2n ** 63n), buf);
    expect(errorOf(() => s64n.decode(buf)).given).toBe('the bigint -9223372036854775808n');
    s64.encode(-(2n ** 53n), buf);
    expect(() => s64n.decode(buf)).toThrow(InvalidArgumentError);
    u64.encode(2n ** 53n, buf);
    expect(() => u64n.decode(buf)).toThrow(/u64n/);
  });

  it('check the buffer and offset', () => {
    expect(errorOf(() => u32.encode(1, new Uint8Array(3))).message).toBe(
      'u32: expected a buffer with room for 4 bytes at offset 0, got a Uint8Array of 3 bytes',
    );
    expect(errorOf(() => u32.encode(1, new Uint8Array(8), 6)).message).toBe(
      'u32: expected a buffer with room for 4 bytes at offset 6, got a Uint8Array of 8 bytes',
    );
    expect(errorOf(() => u64.decode(new Uint8Array(8), 1)).expected).toBe('a buffer with room for 8 bytes at offset 1');
    expect(errorOf(() => u16.decode(new Uint8Array(1))).argument).toBe('u16');
    expect(errorOf(() => u8.encode(1, new Uint8Array(1), -1)).message).toBe(
      'u8: expected an offset that is a non-negative integer, got the number -1',
    );
    expect(errorOf(() => u8.decode(new Uint8Array(1), 0.5)).given).toBe('the number 0.5');
    expect(errorOf(() => u8.encode(1, [0] as unknown as Uint8Array)).message).toBe(
      'u8: expected a Uint8Array to write into, got an array of 1 elements',
    );
    expect(errorOf(() => u8.decode(new Uint16Array(2) as unknown as Uint8Array)).message).toBe(
      'u8: expected a Uint8Array to read from, got a Uint16Array of 4 bytes',
    );
    // A value error wins over a buffer error, and nothing is written on failure.
    const small = new Uint8Array(2).fill(9);
    expect(errorOf(() => u32.encode(-1, small)).expected).toBe('an integer from 0 to 4294967295');
    expect([...small]).toEqual([9, 9]);
  });

  it('works on Buffer-like subclasses and views with a byteOffset', () => {
    const backing = new Uint8Array(16);
    const view = backing.subarray(4, 12);
    u32be.encode(0xa0b0c0d0, view, 2);
    expect(hex(backing.subarray(6, 10))).toBe('a0 b0 c0 d0');
    expect(u32be.decode(view, 2)).toBe(0xa0b0c0d0);
  });
});

describe('integerCodec', () => {
  it('builds other combinations', () => {
    const s32be = integerCodec({ bits: 32, signed: true, byteOrder: 'big' });
    expect(s32be.name).toBe('s32be');
    expect(hex(encodeToBytes(s32be, -2))).toBe('ff ff ff fe');
    expect(s32be.decode(new Uint8Array([0xff, 0xff, 0xff, 0xfe]))).toBe(-2);
    const u32le = integerCodec({ bits: 32, signed: false, byteOrder: 'little' });
    expect(hex(encodeToBytes(u32le, 0x01020304))).toBe('04 03 02 01');
    const s64le = integerCodec({ bits: 64, signed: true, byteOrder: 'little', as: 'bigint' });
    expect(hex(encodeToBytes(s64le, -2n))).toBe('fe ff ff ff ff ff ff ff');
    const u64nbe = integerCodec({ bits: 64, signed: false, byteOrder: 'big', as: 'number' });
    expect(u64nbe.name).toBe('u64nbe');
    expect(hex(encodeToBytes(u64nbe, 0x010203040506))).toBe('00 00 01 02 03 04 05 06');
    expect(integerCodec({ bits: 16, signed: false, name: 'port' }).name).toBe('port');
  });

  it('rejects impossible options', () => {
    expect(() => integerCodec({ bits: 24 as 32, signed: false })).toThrow(
      'integerCodec: bits: expected 8, 16, 32 or 64, got the number 24',
    );
    expect(() => integerCodec({ bits: 32, signed: false, as: 'bigint' } as never)).toThrow(/'number' for widths below 64 bits/);
    expect(() => integerCodec({ bits: 32, signed: false, byteOrder: 'middle' as 'big' })).toThrow(InvalidArgumentError);
    expect(() => integerCodec({ bits: 32, signed: false, as: 'string' as 'number' })).toThrow(InvalidArgumentError);
  });
});
