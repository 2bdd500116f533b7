/**
 * Turns values of type `T` into exactly `size` bytes and back, in the
 * machine's byte order unless the codec says otherwise. Encoding writes into
 * a caller-provided buffer so hot paths allocate nothing.
 *
 * @example
 * const buf = new Uint8Array(4);
 * u32.encode(7, buf);
 * u32.decode(buf); // 7
 */
export interface Codec<T> {
  /** Bytes one value occupies. */
  readonly size: number;
  /** A short description used in error messages, e.g. `'u32'` or `'struct flow'`. */
  readonly name: string;
  /** Writes `value` into `into` at `offset` (default 0). Throws InvalidArgumentError on a bad value. */
  encode(value: T, into: Uint8Array, offset?: number): void;
  /** Reads a value from `from` at `offset` (default 0). */
  decode(from: Uint8Array, offset?: number): T;
}

/**
 * The value type of a codec.
 *
 * @example
 * const flowCodec = struct({ saddr: [0, ipv4], sport: [4, u16be] }, { size: 8 });
 * type Flow = CodecValue<typeof flowCodec>; // { saddr: string; sport: number }
 */
export type CodecValue<C> = C extends Codec<infer T> ? T : never;
