import type { Codec } from './codec.js';
import { checkBuffer, checkSize, codecError } from './check.js';
import { hostLittleEndian } from './integer.js';

/**
 * A boolean of `size` bytes (a C `bool`, `int` or `__u32` used as a flag):
 * `true` is the integer 1 in host byte order, `false` is all zeros; decoding
 * treats any non-zero byte as `true`.
 *
 * @example
 * const flag = boolOf(4);
 * const buf = new Uint8Array(4);
 * flag.encode(true, buf); // buf: 01 00 00 00 on little-endian machines
 * flag.decode(buf);       // true
 */
export function boolOf(size: number): Codec<boolean> {
  checkSize('boolOf', size, 1);
  const name = size === 1 ? 'bool' : `bool(${size})`;
  const one = hostLittleEndian ? 0 : size - 1;
  return {
    size,
    name,
    encode(value: boolean, into: Uint8Array, offset = 0): void {
      if (typeof value !== 'boolean') throw codecError(name, 'true or false', value);
      checkBuffer(name, size, into, offset, true);
      into.fill(0, offset, offset + size);
      if (value) into[offset + one] = 1;
    },
    decode(from: Uint8Array, offset = 0): boolean {
      checkBuffer(name, size, from, offset, false);
      for (let i = offset; i < offset + size; i++) if (from[i] !== 0) return true;
      return false;
    },
  };
}

/**
 * A one-byte boolean (C `bool`); for wider flags use {@link boolOf}.
 *
 * @example
 * const buf = new Uint8Array(1);
 * bool.encode(true, buf); // buf: 01
 */
export const bool: Codec<boolean> = boolOf(1);
