import { InvalidArgumentError } from '../errors.js';
import type { Codec } from './codec.js';
import { checkBuffer, checkSize, codecError, nestedError } from './check.js';

/**
 * A fixed-length C array of `n` elements of `codec`, packed one after the
 * other (`element.size` bytes apart). Encodes a JavaScript array (or typed
 * array) of exactly `n` elements; decodes to an array.
 *
 * @example
 * const ports = array(u16be, 4); // __be16 ports[4]
 * const buf = encodeToBytes(ports, [22, 80, 443, 8080]);
 * ports.decode(buf); // [22, 80, 443, 8080]
 */
export function array<T>(codec: Codec<T>, n: number): Codec<T[]> {
  if (typeof codec !== 'object' || codec === null || typeof codec.encode !== 'function' || typeof codec.size !== 'number') {
    throw new InvalidArgumentError('array: element codec', 'a codec (size, encode, decode)', codec);
  }
  checkSize('array', n);
  const step = codec.size;
  const size = step * n;
  const name = `array(${codec.name}, ${n})`;
  return {
    size,
    name,
    encode(value: T[], into: Uint8Array, offset = 0): void {
      const given: unknown = value;
      const isList = Array.isArray(given) || (ArrayBuffer.isView(given) && !(given instanceof DataView));
      if (!isList || (given as ArrayLike<T>).length !== n) throw codecError(name, `an array of ${n} elements`, value);
      checkBuffer(name, size, into, offset, true);
      const list = value as ArrayLike<T>;
      for (let i = 0; i < n; i++) {
        const v = list[i]!;
        try {
          codec.encode(v, into, offset + i * step);
        } catch (err) {
          throw nestedError(name, `[${i}]`, err, v);
        }
      }
    },
    decode(from: Uint8Array, offset = 0): T[] {
      checkBuffer(name, size, from, offset, false);
      const out = new Array<T>(n);
      for (let i = 0; i < n; i++) out[i] = codec.decode(from, offset + i * step);
      return out;
    },
  };
}
