import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { bool, boolOf } from './bool.js';
import { bytes, codecFor, encodeToBytes, raw } from './bytes.js';
import { cstring } from './cstring.js';
import { hostLittleEndian, u16be } from './integer.js';
import { errorOf } from '../test-support/codec-errors.js';

describe('bool', () => {
  it('is one byte 0 or 1', () => {
    expect(bool.size).toBe(1);
    expect(bool.name).toBe('bool');
    expect([...encodeToBytes(bool, true)]).toEqual([1]);
    expect([...encodeToBytes(bool, false)]).toEqual([0]);
    expect(bool.decode(new Uint8Array([0]))).toBe(false);
    expect(bool.decode(new Uint8Array([1]))).toBe(true);
    expect(bool.decode(new Uint8Array([0x80]))).toBe(true);
  });

  it('can be wider, writing 1 in host order and clearing the rest', () => {
    const b32 = boolOf(4);
    expect(b32.name).toBe('bool(4)');
    const buf = new Uint8Array(6).fill(0xee);
    b32.encode(true, buf, 1);
    expect([...buf]).toEqual(hostLittleEndian ? [0xee, 1, 0, 0, 0, 0xee] : [0xee, 0, 0, 0, 1, 0xee]);
    expect(b32.decode(buf, 1)).toBe(true);
    b32.encode(false, buf, 1);
    expect([...buf]).toEqual([0xee, 0, 0, 0, 0, 0xee]);
    expect(b32.decode(buf, 1)).toBe(false);
    expect(b32.decode(new Uint8Array([0, 0, 0, 2]))).toBe(true);
  });

  it('rejects non-booleans and bad sizes', () => {
    expect(errorOf(() => bool.encode(1 as unknown as boolean, new Uint8Array(1))).message).toBe(
      'bool: expected true or false, got the number 1',
    );
    expect(errorOf(() => boolOf(4).encode('yes' as unknown as boolean, new Uint8Array(4))).argument).toBe('bool(4)');
    expect(errorOf(() => boolOf(4).encode(true, new Uint8Array(3))).expected).toBe('a buffer with room for 4 bytes at offset 0');
    expect(errorOf(() => boolOf(0)).message).toBe('boolOf: expected a size that is an integer of at least 1, got the number 0');
    expect(() => boolOf(2.5)).toThrow(InvalidArgumentError);
  });
});

describe('bytes and raw', () => {
  it('copy exactly n bytes in and out', () => {
    const c = bytes(3);
    expect(c.name).toBe('bytes(3)');
    expect(c.size).toBe(3);
    const buf = new Uint8Array(5);
    c.encode(new Uint8Array([7, 8, 9]), buf, 2);
    expect([...buf]).toEqual([0, 0, 7, 8, 9]);
    const out = c.decode(buf, 2);
    expect([...out]).toEqual([7, 8, 9]);
    buf[2] = 0;
    expect(out[0]).toBe(7); // a copy, not a view
    expect(out.buffer).not.toBe(buf.buffer);
  });

  it('raw(n) is the same for untyped maps, and codecFor(n) gives it', () => {
    const r = raw(4);
    expect(r.name).toBe('raw(4)');
    expect([...r.decode(encodeToBytes(r, new Uint8Array([1, 2, 3, 4])))]).toEqual([1, 2, 3, 4]);
    expect(codecFor(8).name).toBe('raw(8)');
    expect(codecFor(8).size).toBe(8);
    expect(raw(0).decode(new Uint8Array(0))).toHaveLength(0);
  });

  it('reject wrong lengths, types and sizes', () => {
    expect(errorOf(() => bytes(4).encode(new Uint8Array(3), new Uint8Array(4))).message).toBe(
      'bytes(4): expected a Uint8Array of 4 bytes, got a Uint8Array of 3 bytes',
    );
    expect(errorOf(() => raw(2).encode([1, 2] as unknown as Uint8Array, new Uint8Array(2))).given).toBe('an array of 2 elements');
    expect(errorOf(() => raw(2).decode(new Uint8Array(3), 2)).expected).toBe('a buffer with room for 2 bytes at offset 2');
    expect(errorOf(() => bytes(-1)).message).toBe('bytes: expected a size that is a non-negative integer, got the number -1');
    expect(() => raw(1.5)).toThrow(InvalidArgumentError);
    expect(() => codecFor(Number.NaN)).toThrow(InvalidArgumentError);
  });
});

describe('encodeToBytes', () => {
  it('allocates exactly codec.size bytes', () => {
    const out = encodeToBytes(u16be, 80);
    expect(out).toBeInstanceOf(Uint8Array);
    expect([...out]).toEqual([0, 80]);
  });

  it('passes codec errors through', () => {
    expect(() => encodeToBytes(u16be, -1)).toThrow('u16be: expected an integer from 0 to 65535, got the number -1');
  });
});

describe('cstring', () => {
  it('writes UTF-8, NUL-terminated and NUL-padded', () => {
    const c = cstring(8);
    expect(c.name).toBe('cstring(8)');
    const buf = new Uint8Array(8).fill(0xff);
    c.encode('abc', buf);
    expect([...buf]).toEqual([0x61, 0x62, 0x63, 0, 0, 0, 0, 0]);
    expect(c.decode(buf)).toBe('abc');
  });

  it('fits strings of exactly n-1 bytes, and the empty string', () => {
    const c = cstring(4);
    expect([...encodeToBytes(c, 'abc')]).toEqual([0x61, 0x62, 0x63, 0]);
    expect([...encodeToBytes(c, '')]).toEqual([0, 0, 0, 0]);
    expect(c.decode(new Uint8Array(4))).toBe('');
  });

  it('counts UTF-8 bytes, not characters', () => {
    const c = cstring(8);
    expect([...encodeToBytes(c, 'é€')]).toEqual([0xc3, 0xa9, 0xe2, 0x82, 0xac, 0, 0, 0]);
    expect(c.decode(encodeToBytes(c, 'é€'))).toBe('é€');
    expect(c.decode(encodeToBytes(c, '😀ab'))).toBe('😀ab'); // 4 + 2 bytes
    expect(errorOf(() => cstring(4).encode('😀', new Uint8Array(4))).expected).toBe(
      'a string of at most 3 UTF-8 bytes, leaving room for the NUL terminator (this one has 4)',
    );
    expect(errorOf(() => cstring(3).encode('é€', new Uint8Array(3))).expected).toMatch(/this one has 5/);
    // a lone surrogate is written as U+FFFD (3 bytes)
    expect(cstring(4).decode(encodeToBytes(cstring(4), '\ud800'))).toBe('\ufffd');
    expect(() => cstring(3).encode('\ud800', new Uint8Array(3))).toThrow(/this one has 3/);
  });

  it('decodes up to the first NUL, or the whole field when there is none', () => {
    const c = cstring(6);
    expect(c.decode(new Uint8Array([0x68, 0x69, 0, 0x7a, 0x7a, 0]))).toBe('hi');
    expect(c.decode(new Uint8Array([0x61, 0x62, 0x63, 0x64, 0x65, 0x66]))).toBe('abcdef');
    expect(c.decode(new Uint8Array([0, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67]), 1)).toBe('abcdef');
  });

  it('honours offsets without touching bytes outside the field', () => {
    const buf = new Uint8Array(10).fill(0xaa);
    cstring(5).encode('ab', buf, 3);
    expect([...buf]).toEqual([0xaa, 0xaa, 0xaa, 0x61, 0x62, 0, 0, 0, 0xaa, 0xaa]);
    expect(cstring(5).decode(buf, 3)).toBe('ab');
  });

  it('rejects strings that do not fit, NULs, non-strings and bad sizes', () => {
    const buf = new Uint8Array(16).fill(0x55);
    expect(errorOf(() => cstring(4).encode('abcd', buf)).message).toBe(
      'cstring(4): expected a string of at most 3 UTF-8 bytes, leaving room for the NUL terminator (this one has 4), got the string "abcd"',
    );
    expect([...buf.subarray(0, 4)]).toEqual([0x55, 0x55, 0x55, 0x55]); // nothing written
    expect(errorOf(() => cstring(8).encode('a\0b', buf)).expected).toBe('a string without NUL characters');
    expect(errorOf(() => cstring(8).encode(7 as unknown as string, buf)).message).toBe(
      'cstring(8): expected a string of at most 7 UTF-8 bytes, got the number 7',
    );
    expect(errorOf(() => cstring(8).encode('a', new Uint8Array(7))).expected).toBe('a buffer with room for 8 bytes at offset 0');
    expect(errorOf(() => cstring(8).decode(new Uint8Array(8), 1)).argument).toBe('cstring(8)');
    expect(errorOf(() => cstring(0)).message).toBe('cstring: expected a size that is an integer of at least 1, got the number 0');
  });
});
