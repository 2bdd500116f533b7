import type { Codec } from './codec.js';
import { checkBuffer, checkSize, codecError } from './check.js';

function byteArray(name: string, size: number): Codec<Uint8Array> {
  return {
    size,
    name,
    encode(value: Uint8Array, into: Uint8Array, offset = 0): void {
      if (!(value instanceof Uint8Array) || value.length !== size) throw codecError(name, `a Uint8Array of ${size} bytes`, value);
      checkBuffer(name, size, into, offset, true);
      into.set(value, offset);
    },
    decode(from: Uint8Array, offset = 0): Uint8Array {
      checkBuffer(name, size, from, offset, false);
      return from.slice(offset, offset + size);
    },
  };
}

/**
 * A fixed-size byte array (C `__u8 data[n]`): encodes a Uint8Array (or
 * Buffer) of exactly `n` bytes; decodes to a copy, never a view of the
 * buffer it was read from.
 *
 * @example
 * const hash = bytes(32);
 * hash.decode(buf, 8); // 32 bytes from offset 8, copied
 */
export function bytes(n: number): Codec<Uint8Array> {
  checkSize('bytes', n);
  return byteArray(`bytes(${n})`, n);
}

/**
 * Raw bytes of `size`: the codec of keys and values of a map opened without
 * codecs. Decoding copies.
 *
 * @example
 * const key = raw(4);
 * key.encode(new Uint8Array([1, 0, 0, 0]), buf);
 */
export function raw(size: number): Codec<Uint8Array> {
  checkSize('raw', size);
  return byteArray(`raw(${size})`, size);
}

/**
 * The codec bpfkit uses for a key or value of `size` bytes when none was
 * given: {@link raw}`(size)`.
 *
 * @example
 * codecFor(8).name; // 'raw(8)'
 */
export function codecFor(size: number): Codec<Uint8Array> {
  return raw(size);
}

/**
 * Encodes `value` into a new Uint8Array of exactly `codec.size` bytes.
 *
 * @example
 * encodeToBytes(u16be, 80); // Uint8Array [0, 80]
 */
export function encodeToBytes<T>(codec: Codec<T>, value: T): Uint8Array {
  const out = new Uint8Array(codec.size);
  codec.encode(value, out, 0);
  return out;
}
