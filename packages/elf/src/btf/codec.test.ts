import { InvalidArgumentError } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { BtfBuilder } from './build.js';
import { btfCodec } from './codec.js';
import { parseBtf } from './parse.js';

/**
 * struct event {            // 48 bytes
 *   __u32 pid;              // 0
 *   __s16 delta;            // 4
 *   _Bool ok;               // 6
 *   char comm[8];           // 8
 *   __u64 ts;               // 16
 *   unsigned int a:3, b:5;  // 24 (bitfields)
 *   enum color c;           // 28
 *   __u16 ports[2];         // 32
 *   union { __u32 ip4; __u8 raw[4]; }; // 36 (anonymous)
 *   void *ptr;              // 40
 * };
 */
function eventBtf(littleEndian: boolean) {
  const b = new BtfBuilder();
  const u32 = b.addInt('__u32', 4, false);
  const s16 = b.addInt('__s16', 2, true);
  const bool = b.addIntEncoded('_Bool', 1, 4, 8);
  const char = b.addIntEncoded('char', 1, 2, 8);
  const u64 = b.addInt('__u64', 8, false);
  const uint = b.addInt('unsigned int', 4, false);
  const color = b.addEnum('color', [
    ['RED', 1],
    ['BLUE', 2],
  ]);
  const u16 = b.addInt('__u16', 2, false);
  const u8 = b.addInt('__u8', 1, false);
  const comm = b.addArray(char, u32, 8);
  const ports = b.addArray(u16, u32, 2);
  const raw = b.addArray(u8, u32, 4);
  const anon = b.addUnion('', 4, [
    ['ip4', u32],
    ['raw', raw],
  ]);
  const ptr = b.addPointer(0);
  const event = b.addComposite('struct', 'event', 48, [
    { name: 'pid', type: u32, bitOffset: 0 },
    { name: 'delta', type: s16, bitOffset: 32 },
    { name: 'ok', type: bool, bitOffset: 48 },
    { name: 'comm', type: comm, bitOffset: 64 },
    { name: 'ts', type: u64, bitOffset: 128 },
    { name: 'a', type: uint, bitOffset: 192, bitfieldSize: 3 },
    { name: 'b', type: uint, bitOffset: 195, bitfieldSize: 5 },
    { name: 'c', type: color, bitOffset: 224 },
    { name: 'ports', type: ports, bitOffset: 256 },
    { name: '', type: anon, bitOffset: 288 },
    { name: 'ptr', type: ptr, bitOffset: 320 },
  ]);
  b.addTypedef('event_t', event);
  return parseBtf(b.encode(littleEndian));
}

const VALUE = {
  pid: 4242,
  delta: -3,
  ok: true,
  comm: 'node',
  ts: 1234567890123n,
  a: 5,
  b: 17,
  c: 2,
  ports: [80, 443],
  ip4: 0x0a000001,
  raw: [1, 0, 0, 10],
  ptr: 0xffff8880deadbeefn,
};

describe('btfCodec', () => {
  for (const le of [true, false]) {
    it(`encodes and decodes every kind a record holds (${le ? 'little' : 'big'}-endian target)`, () => {
      const btf = eventBtf(le);
      const codec = btfCodec(btf, 'struct event');
      expect(codec.size).toBe(48);
      const bytes = new Uint8Array(48);
      const { raw: _raw, ...toWrite } = VALUE; // the union is written through ip4
      codec.encode(toWrite, bytes);
      const view = new DataView(bytes.buffer);
      expect(view.getUint32(0, le)).toBe(4242);
      expect(view.getInt16(4, le)).toBe(-3);
      expect(new TextDecoder().decode(bytes.subarray(8, 12))).toBe('node');
      // Bitfields: a = 5 in the first 3 bits, b = 17 in the next 5, in the target's bit order.
      const unit = view.getUint32(24, le);
      expect(le ? unit & 0xff : unit >>> 24).toBe(le ? 5 | (17 << 3) : (5 << 5) | 17);
      const decoded = codec.decode(bytes) as Record<string, unknown>;
      expect(decoded).toEqual({ ...VALUE, raw: le ? [1, 0, 0, 10] : [10, 0, 0, 1] });
      // By typedef, by bare name and by id: the same layout.
      expect(btfCodec(btf, 'event_t').decode(bytes)).toEqual(decoded);
      expect(btfCodec(btf, 'event').decode(bytes)).toEqual(decoded);
    });
  }

  it('decodes at an offset, and refuses short buffers, unknown types and values of the wrong shape', () => {
    const btf = eventBtf(true);
    const codec = btfCodec(btf, 'event');
    const bytes = new Uint8Array(64);
    codec.encode({ pid: 7 }, bytes, 16);
    expect((codec.decode(bytes, 16) as { pid: number }).pid).toBe(7);
    expect(() => codec.decode(new Uint8Array(47))).toThrow(/at least 48 bytes/);
    expect(() => btfCodec(btf, 'struct nope')).toThrow(InvalidArgumentError);
    expect(() => btfCodec(btf, 'union event')).toThrow(InvalidArgumentError);
    expect(() => codec.encode({ comm: 'much too long' }, new Uint8Array(48))).toThrow(/at most 8 bytes/);
    expect(() => codec.encode({ pid: 'x' as unknown as number }, new Uint8Array(48))).toThrow(/event\.pid: expected an integer/);
    expect(() => codec.encode(3 as unknown as Record<string, number>, new Uint8Array(48))).toThrow(
      /an object with the members of struct event/,
    );
  });
});
