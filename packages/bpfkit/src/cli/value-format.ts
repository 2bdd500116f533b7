import {
  cidr4,
  cidr6,
  cstring,
  InvalidArgumentError,
  ipv4,
  ipv6,
  mac,
  s16,
  s32,
  s64,
  s8,
  u16,
  u16be,
  u32,
  u32be,
  u64,
  u64be,
  u8,
} from '@bpfkit/core';
import type { Codec } from '@bpfkit/core';

/** How the CLI reads and prints keys and values: `hex` bytes, or a named codec. */
export interface TextFormat {
  name: string;
  parse(text: string, size: number): Uint8Array;
  print(bytes: Uint8Array): string;
}

const hex: TextFormat = {
  name: 'hex',
  parse(text, size) {
    const digits = text.replace(/^0x/i, '').replace(/[\s:]/g, '');
    if (!/^[0-9a-fA-F]*$/.test(digits) || digits.length !== size * 2) {
      throw new InvalidArgumentError('hex bytes', `${size} bytes as ${size * 2} hex digits (spaces allowed)`, text);
    }
    return Uint8Array.from(digits.match(/../g) ?? [], (b) => parseInt(b, 16));
  },
  print: (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' '),
};

const NAMED: Record<string, Codec<number> | Codec<bigint> | Codec<string>> = {
  u8,
  u16,
  u32,
  u64,
  s8,
  s16,
  s32,
  s64,
  u16be,
  u32be,
  u64be,
  ipv4,
  ipv6,
  mac,
  cidr4,
  cidr6,
};

function fromCodec(name: string, codec: Codec<number> | Codec<bigint> | Codec<string>): TextFormat {
  return {
    name,
    parse(text, size) {
      if (codec.size !== size)
        throw new InvalidArgumentError(
          `--key/--value ${name}`,
          `a format of ${size} bytes (the map's size)`,
          `${name} of ${codec.size} bytes`,
        );
      const out = new Uint8Array(size);
      const value = codec === u64 || codec === s64 || codec === u64be ? BigInt(text) : /^(u|s)\d+/.test(name) ? Number(text) : text;
      (codec as Codec<unknown>).encode(value, out);
      return out;
    },
    print: (bytes) => String((codec as Codec<unknown>).decode(bytes)),
  };
}

/** Format names the CLI accepts after `--key`/`--value`. */
export const FORMAT_NAMES: readonly string[] = ['hex', 'string', ...Object.keys(NAMED)];

/**
 * Finds a format by name: `hex` (default), an integer codec (`u32`,
 * `s64`, `u32be`…), an address (`ipv4`, `ipv6`, `mac`, `cidr4`, `cidr6`), or
 * `string` (a NUL-padded C string of the map's size).
 *
 * @example
 * textFormat('u32', 4).parse('7', 4); // 07 00 00 00 on little-endian hosts
 */
export function textFormat(name: string | undefined, size: number): TextFormat {
  if (name === undefined || name === 'hex') return hex;
  if (name === 'string') return fromCodec('string', cstring(size));
  const codec = NAMED[name];
  if (!codec) throw new InvalidArgumentError('format', `one of ${FORMAT_NAMES.join(', ')}`, name);
  return fromCodec(name, codec);
}
