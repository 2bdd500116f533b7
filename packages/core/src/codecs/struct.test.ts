import { describe, expect, expectTypeOf, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { array } from './array.js';
import { bool } from './bool.js';
import { bytes, encodeToBytes } from './bytes.js';
import type { Codec, CodecValue } from './codec.js';
import { cstring } from './cstring.js';
import { hostLittleEndian, s32, u16, u16be, u32, u64, u8 } from './integer.js';
import { ipv4, ipv6 } from './net.js';
import { struct } from './struct.js';
import { errorOf } from '../test-support/codec-errors.js';

const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

// struct flow { __be32 saddr; __be32 daddr; __be16 sport; __be16 dport; __u8 proto; /* 3 bytes padding */ }
const flow = struct(
  { saddr: [0, ipv4], daddr: [4, ipv4], sport: [8, u16be], dport: [10, u16be], proto: [12, u8] },
  { size: 16, name: 'struct flow' },
);

describe('struct', () => {
  it('lays fields out at their offsets, big-endian where asked', () => {
    const bytesOut = encodeToBytes(flow, { saddr: '10.0.0.1', daddr: '10.0.0.2', sport: 1234, dport: 80, proto: 6 });
    expect(hex(bytesOut)).toBe('0a 00 00 01 0a 00 00 02 04 d2 00 50 06 00 00 00');
    expect(flow.decode(bytesOut)).toEqual({ saddr: '10.0.0.1', daddr: '10.0.0.2', sport: 1234, dport: 80, proto: 6 });
    expect(flow.size).toBe(16);
    expect(flow.name).toBe('struct flow');
  });

  it('zeroes padding bytes, inside and at the end', () => {
    // struct { __u8 a; /* 3 */ __u32 b; __u8 c; /* 7 */ __u64 d; } = 24 bytes
    const s = struct({ a: [0, u8], b: [4, u32], c: [8, u8], d: [16, u64] }, { size: 24 });
    const buf = new Uint8Array(26).fill(0xcc);
    s.encode({ a: 1, b: 2, c: 3, d: 4n }, buf, 1);
    expect(buf[0]).toBe(0xcc);
    expect(buf[25]).toBe(0xcc);
    expect([...buf.subarray(2, 5)]).toEqual([0, 0, 0]);
    expect([...buf.subarray(10, 17)]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(s.decode(buf, 1)).toEqual({ a: 1, b: 2, c: 3, d: 4n });
    const tail = struct({ x: [0, u32], y: [4, u8] }, { size: 8 });
    const out = new Uint8Array(8).fill(0xff);
    tail.encode({ x: 0, y: 0 }, out);
    expect([...out]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('gives equal bytes for equal values whatever the buffer held', () => {
    const a = new Uint8Array(16).fill(0x11);
    const b = new Uint8Array(16).fill(0x22);
    const v = { saddr: '1.1.1.1', daddr: '2.2.2.2', sport: 1, dport: 2, proto: 17 };
    flow.encode(v, a);
    flow.encode(v, b);
    expect(hex(a)).toBe(hex(b));
  });

  it('defaults the size to the end of the last field and accepts fields in any order', () => {
    const s = struct({ b: [2, u16], a: [0, u16] });
    expect(s.size).toBe(4);
    expect(s.name).toBe('struct');
    expect(Object.keys(s.decode(encodeToBytes(s, { a: 1, b: 2 })))).toEqual(['b', 'a']);
    expect(struct({}).size).toBe(0);
    expect(struct({}, { size: 4 }).decode(new Uint8Array(4))).toEqual({});
  });

  it('nests structs and arrays', () => {
    const inner = struct({ ip: [0, ipv6], port: [16, u16be] }, { size: 20, name: 'struct endpoint' });
    const outer = struct(
      { id: [0, u32], ends: [4, array(inner, 2)], comm: [44, cstring(16)], ok: [60, bool] },
      { size: 64, name: 'struct conn' },
    );
    const value = {
      id: 7,
      ends: [
        { ip: '2001:db8::1', port: 443 },
        { ip: '::ffff:1.2.3.4', port: 80 },
      ],
      comm: 'curl',
      ok: true,
    };
    const buf = encodeToBytes(outer, value);
    expect(outer.decode(buf)).toEqual(value);
    expect(hex(buf.subarray(20, 22))).toBe('01 bb');
    expectTypeOf<CodecValue<typeof outer>>().toEqualTypeOf<{
      id: number;
      ends: { ip: string; port: number }[];
      comm: string;
      ok: boolean;
    }>();
  });

  it('names the field at fault, through nesting', () => {
    const buf = new Uint8Array(16);
    expect(errorOf(() => flow.encode({ saddr: '10.0.0.1', daddr: '10.0.0.2', sport: 70000, dport: 80, proto: 6 }, buf)).message).toBe(
      'struct flow.sport (u16be): expected an integer from 0 to 65535, got the number 70000',
    );
    expect(errorOf(() => flow.encode({ saddr: '10.0.0.1', daddr: 'x', sport: 1, dport: 80, proto: 6 }, buf)).message).toBe(
      'struct flow.daddr (ipv4): expected an IPv4 address such as \'192.0.2.1\', got the string "x"',
    );
    const missing = errorOf(() =>
      flow.encode({ saddr: '10.0.0.1', daddr: '10.0.0.2', sport: 1, proto: 6 } as unknown as CodecValue<typeof flow>, buf),
    );
    expect(missing.message).toBe("struct flow.dport (u16be): expected a value for field 'dport', got undefined");
    expect(missing.argument).toBe('struct flow.dport (u16be)');

    const inner = struct({ v: [0, array(u8, 2)] }, { name: 'struct inner' });
    const outer = struct({ list: [0, array(inner, 2)] }, { name: 'struct outer' });
    const e = errorOf(() => outer.encode({ list: [{ v: [1, 2] }, { v: [3, 256] }] }, new Uint8Array(4)));
    expect(e.message).toBe('struct outer.list[1].v[1] (u8): expected an integer from 0 to 255, got the number 256');
    expect(e.expected).toBe('an integer from 0 to 255');
    expect(e.given).toBe('the number 256');
  });

  it('re-words errors of codecs made elsewhere and passes other errors through', () => {
    const strict: Codec<number> = {
      size: 1,
      name: 'even',
      encode(v, into, offset = 0) {
        if (v % 2 !== 0) throw new InvalidArgumentError('even', 'an even number', v);
        into[offset] = v;
      },
      decode: (from, offset = 0) => from[offset]!,
    };
    const s = struct({ e: [0, strict] }, { name: 'struct evens' });
    expect(errorOf(() => s.encode({ e: 3 }, new Uint8Array(1))).message).toBe(
      'struct evens.e (even): expected an even number, got the number 3',
    );
    const boom = new RangeError('boom');
    const failing: Codec<number> = {
      size: 1,
      name: 'f',
      encode: () => {
        throw boom;
      },
      decode: () => 0,
    };
    expect(() => struct({ f: [0, failing] }).encode({ f: 1 }, new Uint8Array(1))).toThrow(boom);
  });

  it('rejects values that are not objects, and small buffers', () => {
    expect(errorOf(() => flow.encode(null as unknown as CodecValue<typeof flow>, new Uint8Array(16))).message).toBe(
      'struct flow: expected an object with the fields saddr, daddr, sport, dport, proto, got null',
    );
    expect(errorOf(() => flow.encode([] as unknown as CodecValue<typeof flow>, new Uint8Array(16))).given).toBe('an array of 0 elements');
    expect(
      errorOf(() => flow.encode({ saddr: '1.1.1.1', daddr: '1.1.1.1', sport: 1, dport: 1, proto: 1 }, new Uint8Array(16), 1)).message,
    ).toBe('struct flow: expected a buffer with room for 16 bytes at offset 1, got a Uint8Array of 16 bytes');
    expect(errorOf(() => flow.decode(new Uint8Array(15))).argument).toBe('struct flow');
  });

  it('rejects overlapping fields, too small sizes and bad field specs', () => {
    expect(errorOf(() => struct({ a: [0, u32], b: [2, u16] }, { name: 'struct bad' })).message).toBe(
      "struct bad: offset of field 'b': expected at least 4, after field 'a' (u32, bytes 0 to 3), got the number 2",
    );
    expect(() => struct({ a: [0, u32], b: [0, u8] })).toThrow(/after field 'b' \(u8, bytes 0 to 0\)/);
    expect(() => struct({ a: [4, u32], b: [0, bytes(8)] })).toThrow(InvalidArgumentError);
    expect(errorOf(() => struct({ a: [0, u32], b: [4, u16] }, { size: 5, name: 'struct s' })).message).toBe(
      "struct s: size: expected at least 6 bytes (field 'b' ends there), got the number 5",
    );
    expect(() => struct({ a: [-1, u8] })).toThrow("struct: offset of field 'a': expected a non-negative integer, got the number -1");
    expect(() => struct({ a: [0.5, u8] })).toThrow(InvalidArgumentError);
    expect(() => struct({ a: [0, {} as Codec<number>] })).toThrow(
      "struct: codec of field 'a': expected a codec (size, encode, decode), got an object (Object)",
    );
    expect(() => struct({ a: [0] as unknown as [number, Codec<number>] })).toThrow(
      "struct: field 'a': expected an [offset, codec] pair, got an array of 1 elements",
    );
    expect(() => struct({ a: [0, u8] }, { size: -1 })).toThrow(InvalidArgumentError);
    expect(() => struct(JSON.parse('{"__proto__": [0, 1]}') as never)).toThrow(/'__proto__'/);
    expect(() => struct(null as never)).toThrow(InvalidArgumentError);
    // adjacent fields and zero-sized fields are fine
    expect(struct({ a: [0, u8], b: [1, u8], c: [2, bytes(0)], d: [2, u16] }).size).toBe(4);
  });
});

describe('array', () => {
  it('packs elements back to back', () => {
    const ports = array(u16be, 3);
    expect(ports.size).toBe(6);
    expect(ports.name).toBe('array(u16be, 3)');
    const buf = encodeToBytes(ports, [22, 80, 443]);
    expect(hex(buf)).toBe('00 16 00 50 01 bb');
    expect(ports.decode(buf)).toEqual([22, 80, 443]);
  });

  it('honours offsets and element order in host byte order', () => {
    const a = array(s32, 2);
    const buf = new Uint8Array(10).fill(0xaa);
    a.encode([-1, 2], buf, 1);
    expect(buf[0]).toBe(0xaa);
    expect(buf[9]).toBe(0xaa);
    expect(hex(buf.subarray(5, 9))).toBe(hostLittleEndian ? '02 00 00 00' : '00 00 00 02');
    expect(a.decode(buf, 1)).toEqual([-1, 2]);
  });

  it('accepts typed arrays, and zero-length arrays', () => {
    expect(array(u8, 3).decode(encodeToBytes(array(u8, 3), new Uint8Array([1, 2, 3]) as unknown as number[]))).toEqual([1, 2, 3]);
    expect(array(u64, 1).decode(encodeToBytes(array(u64, 1), new BigUint64Array([5n]) as unknown as bigint[]))).toEqual([5n]);
    expect(array(u8, 0).decode(new Uint8Array(0))).toEqual([]);
  });

  it('rejects wrong lengths and bad elements', () => {
    expect(errorOf(() => array(u8, 3).encode([1, 2], new Uint8Array(3))).message).toBe(
      'array(u8, 3): expected an array of 3 elements, got an array of 2 elements',
    );
    expect(errorOf(() => array(u8, 3).encode('abc' as unknown as number[], new Uint8Array(3))).given).toBe('the string "abc"');
    expect(errorOf(() => array(u8, 2).encode(new DataView(new ArrayBuffer(2)) as unknown as number[], new Uint8Array(2))).expected).toBe(
      'an array of 2 elements',
    );
    expect(errorOf(() => array(u8, 2).encode([1, -1], new Uint8Array(2))).message).toBe(
      'array(u8, 2)[1] (u8): expected an integer from 0 to 255, got the number -1',
    );
    expect(errorOf(() => array(u8, 2).encode([1, 2], new Uint8Array(1))).expected).toBe('a buffer with room for 2 bytes at offset 0');
    expect(() => array(u8, -1)).toThrow('array: expected a size that is a non-negative integer, got the number -1');
    expect(() => array(null as unknown as Codec<number>, 1)).toThrow(
      'array: element codec: expected a codec (size, encode, decode), got null',
    );
  });
});
