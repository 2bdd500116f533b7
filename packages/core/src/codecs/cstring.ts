import type { Codec } from './codec.js';
import { checkBuffer, checkSize, codecError } from './check.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

/** Bytes `s` takes in UTF-8, counting a lone surrogate as U+FFFD (3 bytes), as TextEncoder writes it. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * A C string in a `char name[n]` field: UTF-8, NUL-terminated and padded with
 * NULs to `n` bytes. A string must fit with its terminator (at most `n - 1`
 * bytes of UTF-8) and must not contain NUL; decoding stops at the first NUL
 * (or after `n` bytes when there is none).
 *
 * @example
 * const comm = cstring(16); // TASK_COMM_LEN
 * const buf = new Uint8Array(16);
 * comm.encode('nginx', buf); // 6e 67 69 6e 78 00 00 …
 * comm.decode(buf);          // 'nginx'
 */
export function cstring(n: number): Codec<string> {
  checkSize('cstring', n, 1);
  const name = `cstring(${n})`;
  return {
    size: n,
    name,
    encode(value: string, into: Uint8Array, offset = 0): void {
      if (typeof value !== 'string') throw codecError(name, `a string of at most ${n - 1} UTF-8 bytes`, value);
      if (value.includes('\0')) throw codecError(name, 'a string without NUL characters', value);
      const length = utf8Length(value);
      if (length > n - 1) {
        throw codecError(
          name,
          `a string of at most ${n - 1} UTF-8 bytes, leaving room for the NUL terminator (this one has ${length})`,
          value,
        );
      }
      checkBuffer(name, n, into, offset, true);
      encoder.encodeInto(value, into.subarray(offset, offset + length));
      into.fill(0, offset + length, offset + n);
    },
    decode(from: Uint8Array, offset = 0): string {
      checkBuffer(name, n, from, offset, false);
      let end = offset;
      const limit = offset + n;
      while (end < limit && from[end] !== 0) end++;
      return decoder.decode(from.subarray(offset, end));
    },
  };
}
