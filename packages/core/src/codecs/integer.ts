import { InvalidArgumentError } from '../errors.js';
import type { Codec } from './codec.js';
import { registerBinder } from './bound.js';
import { checkBuffer, codecError } from './check.js';

/**
 * Whether this machine stores integers least significant byte first, found
 * once by looking at the bytes of a `Uint16Array` holding 1. BPF maps hold
 * keys and values in this order unless a program says otherwise.
 *
 * @example
 * hostLittleEndian; // true on x86-64 and arm64
 */
export const hostLittleEndian: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Byte order of an integer codec: the machine's, or an explicit one. */
export type ByteOrder = 'host' | 'big' | 'little';

/** What {@link integerCodec} builds. */
export interface IntegerCodecOptions {
  /** Width in bits. */
  bits: 8 | 16 | 32 | 64;
  /** Two's complement when true. */
  signed: boolean;
  /** Default `'host'`. `'big'` is network byte order. */
  byteOrder?: ByteOrder;
  /**
   * JavaScript type of the values: `'number'` (default) or `'bigint'` (64 bits
   * only). 64-bit codecs with `'number'` accept and produce safe integers only.
   */
  as?: 'number' | 'bigint';
  /** Name used in error messages; derived from the other options by default (`'u32be'`). */
  name?: string;
}

const TWO_32 = 4294967296;

/** Writes the low `n` (≤ 4) bytes of the non-negative integer `u` (< 2^32). */
function writeUint(into: Uint8Array, pos: number, n: number, u: number, little: boolean): void {
  if (little) {
    for (let i = 0; i < n; i++) {
      into[pos + i] = u & 0xff;
      u >>>= 8;
    }
  } else {
    for (let i = n - 1; i >= 0; i--) {
      into[pos + i] = u & 0xff;
      u >>>= 8;
    }
  }
}

/** Reads `n` (≤ 4) bytes as a non-negative integer. */
function readUint(from: Uint8Array, pos: number, n: number, little: boolean): number {
  let u = 0;
  if (little) for (let i = n - 1; i >= 0; i--) u = u * 256 + from[pos + i]!;
  else for (let i = 0; i < n; i++) u = u * 256 + from[pos + i]!;
  return u;
}

// Scratch for 64-bit bigint conversions: one 8-byte buffer seen three ways,
// so encoding a bigint allocates no typed array.
const scratch = new ArrayBuffer(8);
const scratchU64 = new BigUint64Array(scratch);
const scratchS64 = new BigInt64Array(scratch);
const scratchBytes = new Uint8Array(scratch);

/** Copies 8 bytes between `scratchBytes` and `buf`, reversing them when the codec's order is not the host's. */
function copy64(buf: Uint8Array, pos: number, toBuf: boolean, reverse: boolean): void {
  for (let i = 0; i < 8; i++) {
    const j = reverse ? 7 - i : i;
    if (toBuf) buf[pos + i] = scratchBytes[j]!;
    else scratchBytes[j] = buf[pos + i]!;
  }
}

/**
 * Builds an integer codec. Every integer codec of bpfkit (`u8` … `s64n`,
 * `u16be` …) comes from this one factory; use it for combinations that have
 * no ready-made constant, such as a big-endian signed 32-bit value.
 *
 * @example
 * const s32be = integerCodec({ bits: 32, signed: true, byteOrder: 'big' });
 * const buf = new Uint8Array(4);
 * s32be.encode(-2, buf); // buf: ff ff ff fe
 * s32be.decode(buf);     // -2
 */
export function integerCodec(options: IntegerCodecOptions & { as: 'bigint' }): Codec<bigint>;
export function integerCodec(options: IntegerCodecOptions & { as?: 'number' }): Codec<number>;
export function integerCodec(options: IntegerCodecOptions): Codec<number> | Codec<bigint>;
export function integerCodec(options: IntegerCodecOptions): Codec<number> | Codec<bigint> {
  const { bits, signed } = options;
  const order = options.byteOrder ?? 'host';
  const as = options.as ?? 'number';
  if (bits !== 8 && bits !== 16 && bits !== 32 && bits !== 64)
    throw new InvalidArgumentError('integerCodec: bits', '8, 16, 32 or 64', bits);
  if (as !== 'number' && as !== 'bigint') throw new InvalidArgumentError('integerCodec: as', "'number' or 'bigint'", as);
  if (as === 'bigint' && bits !== 64) throw new InvalidArgumentError('integerCodec: as', "'number' for widths below 64 bits", as);
  if (order !== 'host' && order !== 'big' && order !== 'little')
    throw new InvalidArgumentError('integerCodec: byteOrder', "'host', 'big' or 'little'", order);
  const little = order === 'host' ? hostLittleEndian : order === 'little';
  const size = bits / 8;
  const suffix = order === 'big' ? 'be' : order === 'little' ? 'le' : '';
  const name = options.name ?? `${signed ? 's' : 'u'}${bits}${bits === 64 && as === 'number' ? 'n' : ''}${suffix}`;

  if (as === 'bigint') {
    const min = signed ? -(1n << 63n) : 0n;
    const max = signed ? (1n << 63n) - 1n : (1n << 64n) - 1n;
    const expected = `a bigint from ${min}n to ${max}n`;
    const reverse = little !== hostLittleEndian;
    const codec: Codec<bigint> = {
      size,
      name,
      encode(value: bigint, into: Uint8Array, offset = 0): void {
        if (typeof value !== 'bigint' || value < min || value > max) throw codecError(name, expected, value);
        checkBuffer(name, size, into, offset, true);
        scratchU64[0] = value; // negative values wrap to their two's complement
        copy64(into, offset, true, reverse);
      },
      decode(from: Uint8Array, offset = 0): bigint {
        checkBuffer(name, size, from, offset, false);
        copy64(from, offset, false, reverse);
        return signed ? scratchS64[0]! : scratchU64[0]!;
      },
    };
    registerBinder(codec, (buffer) => {
      const view = viewOf(buffer);
      // The range checks as BigInt.asIntN/asUintN(64): optimized code computes them inline, without the bounds.
      return signed
        ? {
            encode(value: bigint, offset = 0): void {
              if (typeof value !== 'bigint' || BigInt.asIntN(64, value) !== value) throw codecError(name, expected, value);
              view.setBigInt64(offset, value, little);
            },
            decode: (offset = 0): bigint => view.getBigInt64(offset, little),
          }
        : {
            encode(value: bigint, offset = 0): void {
              if (typeof value !== 'bigint' || BigInt.asUintN(64, value) !== value) throw codecError(name, expected, value);
              view.setBigUint64(offset, value, little);
            },
            decode: (offset = 0): bigint => view.getBigUint64(offset, little),
          };
    });
    return codec;
  }

  if (bits === 64) {
    const min = signed ? Number.MIN_SAFE_INTEGER : 0;
    const max = Number.MAX_SAFE_INTEGER;
    const expected = `a safe integer from ${min} to ${max}`;
    const loAt = little ? 0 : 4;
    const hiAt = little ? 4 : 0;
    const check = (value: number): void => {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw codecError(name, expected, value);
    };
    /** The value of the two halves (`hi` as stored, unsigned), or the codec's error when it is not a safe integer. */
    const join = (lo: number, hi: number): number => {
      if (signed && hi >= 0x80000000) hi -= TWO_32;
      const value = hi * TWO_32 + lo;
      if (!Number.isSafeInteger(value)) {
        throw codecError(
          name,
          `bytes holding ${expected} (use the bigint codec ${signed ? 's64' : 'u64'} for the full range)`,
          BigInt(hi) * 4294967296n + BigInt(lo),
        );
      }
      return value;
    };
    const codec: Codec<number> = {
      size,
      name,
      encode(value: number, into: Uint8Array, offset = 0): void {
        check(value);
        checkBuffer(name, size, into, offset, true);
        const hi = Math.floor(value / TWO_32); // negative for negative values
        const lo = value - hi * TWO_32; // 0 ≤ lo < 2^32
        writeUint(into, offset + loAt, 4, lo, little);
        writeUint(into, offset + hiAt, 4, hi >>> 0, little);
      },
      decode(from: Uint8Array, offset = 0): number {
        checkBuffer(name, size, from, offset, false);
        return join(readUint(from, offset + loAt, 4, little), readUint(from, offset + hiAt, 4, little));
      },
    };
    registerBinder(codec, (buffer) => {
      const view = viewOf(buffer);
      return {
        encode(value: number, offset = 0): void {
          check(value);
          const hi = Math.floor(value / TWO_32);
          view.setUint32(offset + loAt, value - hi * TWO_32, little);
          view.setUint32(offset + hiAt, hi >>> 0, little);
        },
        decode: (offset = 0): number => join(view.getUint32(offset + loAt, little), view.getUint32(offset + hiAt, little)),
      };
    });
    return codec;
  }

  const full = 2 ** bits;
  const min = signed ? -(full / 2) : 0;
  const max = signed ? full / 2 - 1 : full - 1;
  const expected = `an integer from ${min} to ${max}`;
  const codec: Codec<number> = {
    size,
    name,
    encode(value: number, into: Uint8Array, offset = 0): void {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw codecError(name, expected, value);
      checkBuffer(name, size, into, offset, true);
      writeUint(into, offset, size, value < 0 ? value + full : value, little);
    },
    decode(from: Uint8Array, offset = 0): number {
      checkBuffer(name, size, from, offset, false);
      const u = readUint(from, offset, size, little);
      return signed && u > max ? u - full : u;
    },
  };
  registerBinder(codec, (buffer) => {
    const view = viewOf(buffer);
    // The range checks as integer operations on the value (a value outside the range, or not an integer,
    // does not survive them): optimized code does them inline, without loading the bounds. The signed
    // getters read the bytes back signed.
    const fail = (value: unknown): never => {
      throw codecError(name, expected, value);
    };
    if (bits === 8) {
      return signed
        ? {
            encode: (value: number, offset = 0): void =>
              view.setInt8(offset, typeof value === 'number' && (value << 24) >> 24 === value ? value : fail(value)),
            decode: (offset = 0): number => view.getInt8(offset),
          }
        : {
            encode: (value: number, offset = 0): void =>
              view.setUint8(offset, typeof value === 'number' && (value & 0xff) === value ? value : fail(value)),
            decode: (offset = 0): number => view.getUint8(offset),
          };
    }
    if (bits === 16) {
      return signed
        ? {
            encode: (value: number, offset = 0): void =>
              view.setInt16(offset, typeof value === 'number' && (value << 16) >> 16 === value ? value : fail(value), little),
            decode: (offset = 0): number => view.getInt16(offset, little),
          }
        : {
            encode: (value: number, offset = 0): void =>
              view.setUint16(offset, typeof value === 'number' && (value & 0xffff) === value ? value : fail(value), little),
            decode: (offset = 0): number => view.getUint16(offset, little),
          };
    }
    return signed
      ? {
          encode: (value: number, offset = 0): void =>
            view.setInt32(offset, typeof value === 'number' && (value | 0) === value ? value : fail(value), little),
          decode: (offset = 0): number => view.getInt32(offset, little),
        }
      : {
          encode: (value: number, offset = 0): void =>
            view.setUint32(offset, typeof value === 'number' && value >>> 0 === value ? value : fail(value), little),
          decode: (offset = 0): number => view.getUint32(offset, little),
        };
  });
  return codec;
}

/** A DataView over the bytes of `buffer`. */
function viewOf(buffer: Uint8Array): DataView {
  return new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Unsigned and signed integers of 8, 16 and 32 bits as numbers, in host byte
 * order.
 *
 * @example
 * const buf = new Uint8Array(4);
 * u32.encode(0xdeadbeef, buf);
 * u32.decode(buf); // 3735928559
 * s8.encode(-1, buf); // buf[0] === 0xff
 */
export const u8: Codec<number> = integerCodec({ bits: 8, signed: false });
/** Unsigned 16-bit integer (`__u16`), host byte order; see {@link u8}. */
export const u16: Codec<number> = integerCodec({ bits: 16, signed: false });
/** Unsigned 32-bit integer (`__u32`), host byte order; see {@link u8}. */
export const u32: Codec<number> = integerCodec({ bits: 32, signed: false });
/** Signed 8-bit integer (`__s8`); see {@link u8}. */
export const s8: Codec<number> = integerCodec({ bits: 8, signed: true });
/** Signed 16-bit integer (`__s16`), host byte order; see {@link u8}. */
export const s16: Codec<number> = integerCodec({ bits: 16, signed: true });
/** Signed 32-bit integer (`__s32`), host byte order; see {@link u8}. */
export const s32: Codec<number> = integerCodec({ bits: 32, signed: true });

/**
 * 64-bit integers in host byte order: `u64`/`s64` as bigint over the full
 * range; `u64n`/`s64n` as number, which throw for values that are not safe
 * integers (beyond ±(2^53 − 1)), both when encoding and when decoding.
 *
 * @example
 * const buf = new Uint8Array(8);
 * u64.encode(2n ** 64n - 1n, buf); // all bytes 0xff
 * s64.decode(buf);                 // -1n
 * u64n.encode(1234, buf);
 * u64n.decode(buf);                // 1234
 */
export const u64: Codec<bigint> = integerCodec({ bits: 64, signed: false, as: 'bigint' });
/** Signed 64-bit integer (`__s64`) as bigint, host byte order; see {@link u64}. */
export const s64: Codec<bigint> = integerCodec({ bits: 64, signed: true, as: 'bigint' });
/** Unsigned 64-bit integer as a number, host byte order; throws beyond 2^53 − 1; see {@link u64}. */
export const u64n: Codec<number> = integerCodec({ bits: 64, signed: false, as: 'number' });
/** Signed 64-bit integer as a number, host byte order; throws beyond ±(2^53 − 1); see {@link u64}. */
export const s64n: Codec<number> = integerCodec({ bits: 64, signed: true, as: 'number' });

/**
 * Big-endian (network byte order) unsigned integers, for keys such as ports
 * and addresses that programs read straight from packet headers.
 *
 * @example
 * const buf = new Uint8Array(4);
 * u32be.encode(0x01020304, buf); // buf: 01 02 03 04
 * u16be.encode(443, buf);        // buf: 01 bb …
 */
export const u16be: Codec<number> = integerCodec({ bits: 16, signed: false, byteOrder: 'big' });
/** Unsigned 32-bit integer in network byte order (`__be32`); see {@link u16be}. */
export const u32be: Codec<number> = integerCodec({ bits: 32, signed: false, byteOrder: 'big' });
/** Unsigned 64-bit integer as bigint in network byte order (`__be64`); see {@link u16be}. */
export const u64be: Codec<bigint> = integerCodec({ bits: 64, signed: false, byteOrder: 'big', as: 'bigint' });
