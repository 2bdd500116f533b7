import { describe, expect, it } from 'vitest';
import type { Codec } from './codec.js';
import { bindCodec, codecReader } from './bound.js';
import { integerCodec, s16, s32, s64, s64n, s8, u16, u16be, u32, u32be, u64, u64be, u64n, u8 } from './integer.js';
import { struct } from './struct.js';

/** What a call threw (its class and message), or 'ok'. */
function outcome(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
  }
}

const s16le = integerCodec({ bits: 16, signed: true, byteOrder: 'little' });
const s64be = integerCodec({ bits: 64, signed: true, byteOrder: 'big', as: 'bigint' });
const s64nbe = integerCodec({ bits: 64, signed: true, byteOrder: 'big' });
const s32be = integerCodec({ bits: 32, signed: true, byteOrder: 'big' });
const s8le = integerCodec({ bits: 8, signed: true, byteOrder: 'little' });

const numberCodecs: Codec<number>[] = [u8, u16, u32, s8, s16, s32, u16be, u32be, u64n, s64n, s16le, s32be, s8le, s64nbe];
const bigintCodecs: Codec<bigint>[] = [u64, s64, u64be, s64be];

const numbers = [
  0,
  1,
  -1,
  127,
  -128,
  128,
  255,
  256,
  -129,
  32767,
  -32768,
  65535,
  65536,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 32 - 1,
  2 ** 32,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  2 ** 53,
  1.5,
  Number.NaN,
  Infinity,
];
const bigints = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, -(2n ** 63n) - 1n];
const oddValues: unknown[] = ['1', null, undefined, {}, 1n, 1];

describe('bindCodec', () => {
  it('writes the same bytes and throws the same errors as encode, for every integer codec and value', () => {
    for (const codec of [...numberCodecs, ...bigintCodecs] as Codec<unknown>[]) {
      const values: unknown[] = [...(bigintCodecs.includes(codec as Codec<bigint>) ? bigints : numbers), ...oddValues];
      const bound = new Uint8Array(new ArrayBuffer(codec.size + 3), 3, codec.size); // an unaligned view
      const io = bindCodec(codec, bound);
      for (const value of values) {
        const plain = new Uint8Array(codec.size).fill(0xaa);
        bound.fill(0xaa);
        const expected = outcome(() => codec.encode(value, plain));
        expect(
          outcome(() => io.encode(value)),
          `${codec.name} encode ${String(value)}`,
        ).toBe(expected);
        expect([...bound], `${codec.name} bytes of ${String(value)}`).toEqual([...plain]);
      }
    }
  });

  it('reads the same values and throws the same errors as decode, for every integer codec and byte pattern', () => {
    const patterns = [
      [0],
      [0xff],
      [0x80],
      [0x7f],
      [0x01, 0x80],
      [0xff, 0xff, 0xff, 0x7f],
      [0, 0, 0, 0, 0, 0, 0x20],
      [0, 0, 0, 0, 0, 0, 0xe0, 0xff],
      [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0],
    ];
    for (const codec of [...numberCodecs, ...bigintCodecs] as Codec<unknown>[]) {
      const bound = new Uint8Array(new ArrayBuffer(codec.size + 1), 1, codec.size);
      const io = bindCodec(codec, bound);
      for (const pattern of patterns) {
        for (const order of [pattern, [...pattern].reverse()]) {
          bound.fill(0);
          bound.set(order.slice(0, codec.size));
          let plain: unknown;
          const expected = outcome(() => {
            plain = codec.decode(bound.slice());
          });
          let got: unknown;
          expect(
            outcome(() => {
              got = io.decode();
            }),
            `${codec.name} decode ${order.join(',')}`,
          ).toBe(expected);
          expect(got, `${codec.name} value of ${order.join(',')}`).toBe(plain);
        }
      }
    }
  });

  it('goes through encode and decode for codecs without a binder', () => {
    const flow = struct({ port: [0, u16be], proto: [2, u8] }, { size: 4 });
    const buf = new Uint8Array(4);
    const io = bindCodec(flow, buf);
    io.encode({ port: 443, proto: 6 });
    expect([...buf]).toEqual([1, 187, 6, 0]);
    expect(io.decode()).toEqual({ port: 443, proto: 6 });
    expect(outcome(() => io.encode({ port: -1, proto: 6 }))).toBe(outcome(() => flow.encode({ port: -1, proto: 6 }, new Uint8Array(4))));
  });

  it('falls back to the codec for a buffer shorter than its size', () => {
    const short = new Uint8Array(2);
    expect(outcome(() => bindCodec(u32, short).encode(1))).toBe(outcome(() => u32.encode(1, short)));
  });

  it('reads and writes at offsets, and a reader rebinds when the buffer changes', () => {
    for (const codec of [...numberCodecs, ...bigintCodecs] as Codec<unknown>[]) {
      const read = codecReader(codec);
      for (let b = 0; b < 3; b++) {
        const buffer = new Uint8Array(new ArrayBuffer(codec.size * 5 + b), b, codec.size * 5).map((_, i) => (i * 37 + b * 11) & 0xff);
        const io = bindCodec(codec, buffer);
        for (let i = 0; i < 5; i++) {
          const at = i * codec.size;
          expect(
            outcome(() => read(buffer, at)),
            `${codec.name} at ${at}`,
          ).toBe(outcome(() => codec.decode(buffer, at)));
          if (outcome(() => codec.decode(buffer, at)) === 'ok') {
            expect(read(buffer, at)).toBe(codec.decode(buffer, at));
            expect(io.decode(at)).toBe(codec.decode(buffer, at));
            const copy = buffer.slice();
            io.encode(codec.decode(buffer, at), at);
            expect([...buffer]).toEqual([...copy]);
          }
        }
      }
    }
  });
});
