import { InvalidArgumentError } from '../errors.js';
import type { Codec } from './codec.js';
import { checkBuffer, checkSize, codecError, nestedError } from './check.js';

/** The fields of a {@link struct}: name → `[byte offset, codec]`. */
export type StructFields = Readonly<Record<string, readonly [offset: number, codec: Codec<unknown>]>>;

/** The JavaScript object a {@link struct} with fields `F` encodes and decodes. */
export type StructValue<F extends StructFields> = {
  -readonly [K in keyof F]: F[K] extends readonly [number, Codec<infer T>] ? T : never;
};

/** Options of {@link struct}. */
export interface StructOptions {
  /**
   * Total size in bytes, including padding at the end (C rounds a struct up
   * to the alignment of its widest member). Defaults to the end of the last
   * field.
   */
  size?: number;
  /** Name used in error messages, e.g. `'struct flow'`. Default `'struct'`. */
  name?: string;
}

interface Field {
  key: string;
  offset: number;
  codec: Codec<unknown>;
}

function isCodec(c: unknown): c is Codec<unknown> {
  if (typeof c !== 'object' || c === null) return false;
  const o = c as Record<string, unknown>;
  return typeof o.size === 'number' && typeof o.encode === 'function' && typeof o.decode === 'function';
}

/**
 * A C struct with explicit field offsets, as `pahole` or BTF report them.
 * Fields must not overlap and must fit in `size`. Every byte that no field
 * covers (padding) is written as zero, so that equal values always give equal
 * bytes (hash map keys with padding depend on this).
 *
 * @example
 * // struct flow { __u32 saddr; __u32 daddr; __u16 sport; __u16 dport; __u8 proto; } (16 bytes)
 * const flow = struct({
 *   saddr: [0, ipv4],
 *   daddr: [4, ipv4],
 *   sport: [8, u16be],
 *   dport: [10, u16be],
 *   proto: [12, u8],
 * }, { size: 16, name: 'struct flow' });
 * const key = encodeToBytes(flow, { saddr: '10.0.0.1', daddr: '10.0.0.2', sport: 1234, dport: 80, proto: 6 });
 * flow.decode(key).dport; // 80
 */
export function struct<const F extends StructFields>(fields: F, options: StructOptions = {}): Codec<StructValue<F>> {
  const name = options.name ?? 'struct';
  if (typeof fields !== 'object' || fields === null)
    throw new InvalidArgumentError(`${name}: fields`, 'an object of [offset, codec] pairs', fields);
  const list: Field[] = [];
  for (const [key, spec] of Object.entries(fields)) {
    if (key === '__proto__') throw new InvalidArgumentError(`${name}: field name`, "a name other than '__proto__'", key);
    if (!Array.isArray(spec) || spec.length !== 2)
      throw new InvalidArgumentError(`${name}: field '${key}'`, 'an [offset, codec] pair', spec);
    const [offset, codec] = spec as readonly [unknown, unknown];
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) {
      throw new InvalidArgumentError(`${name}: offset of field '${key}'`, 'a non-negative integer', offset);
    }
    if (!isCodec(codec)) throw new InvalidArgumentError(`${name}: codec of field '${key}'`, 'a codec (size, encode, decode)', codec);
    list.push({ key, offset, codec });
  }
  const declared = [...list]; // encode and decode in declaration order
  list.sort((a, b) => a.offset - b.offset || a.codec.size - b.codec.size);

  let end = 0;
  let last: Field | undefined;
  for (const f of list) {
    if (last && f.offset < last.offset + last.codec.size) {
      throw new InvalidArgumentError(
        `${name}: offset of field '${f.key}'`,
        `at least ${last.offset + last.codec.size}, after field '${last.key}' (${last.codec.name}, bytes ${last.offset} to ${last.offset + last.codec.size - 1})`,
        f.offset,
      );
    }
    if (f.offset + f.codec.size > end) end = f.offset + f.codec.size;
    if (f.codec.size > 0) last = f;
  }
  const size = options.size ?? end;
  checkSize(`${name}: size`, size);
  if (size < end) {
    const lastField = list.find((f) => f.offset + f.codec.size === end)!;
    throw new InvalidArgumentError(`${name}: size`, `at least ${end} bytes (field '${lastField.key}' ends there)`, size);
  }

  // Byte ranges no field covers, zeroed on every encode.
  const padding: Array<[start: number, end: number]> = [];
  let at = 0;
  for (const f of list) {
    if (f.offset > at) padding.push([at, f.offset]);
    at = Math.max(at, f.offset + f.codec.size);
  }
  if (size > at) padding.push([at, size]);

  const fieldNames = declared.map((f) => f.key).join(', ');
  return {
    size,
    name,
    encode(value: StructValue<F>, into: Uint8Array, offset = 0): void {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw codecError(name, `an object with the fields ${fieldNames}`, value);
      }
      checkBuffer(name, size, into, offset, true);
      const record = value as Record<string, unknown>;
      for (const [start, stop] of padding) into.fill(0, offset + start, offset + stop);
      for (const f of declared) {
        const v = record[f.key];
        if (v === undefined) throw codecError(name, `a value for field '${f.key}'`, v, `.${f.key}`, f.codec.name);
        try {
          f.codec.encode(v, into, offset + f.offset);
        } catch (err) {
          throw nestedError(name, `.${f.key}`, err, v);
        }
      }
    },
    decode(from: Uint8Array, offset = 0): StructValue<F> {
      checkBuffer(name, size, from, offset, false);
      const out: Record<string, unknown> = {};
      for (const f of declared) out[f.key] = f.codec.decode(from, offset + f.offset);
      return out as StructValue<F>;
    },
  };
}
