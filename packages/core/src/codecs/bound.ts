import type { Codec } from './codec.js';

/**
 * A codec tied to one buffer: what a map encodes every key and value into,
 * and reads its batches from. `encode` writes and `decode` reads `buffer` at
 * `offset` (default 0), with the codec's checks and errors; the offset must
 * leave `codec.size` bytes (callers compute it, it is not checked).
 */
export interface BoundCodec<T> {
  encode(value: T, offset?: number): void;
  decode(offset?: number): T;
}

/** How a codec makes a {@link BoundCodec} faster than its generic form (integer codecs register one). */
type Binder = (buffer: Uint8Array) => BoundCodec<unknown>;

const binders = new WeakMap<Codec<unknown>, Binder>();

/** Registers the binder of a codec (see {@link bindCodec}). */
export function registerBinder<T>(codec: Codec<T>, binder: (buffer: Uint8Array) => BoundCodec<T>): void {
  binders.set(codec as Codec<unknown>, binder as Binder);
}

/**
 * `codec` tied to `buffer` (at least `codec.size` bytes). Integer codecs read
 * and write through a DataView made once, which optimized code turns into a
 * plain load or store; any other codec goes through its `encode`/`decode`.
 * The result behaves as `codec.encode(value, buffer)` / `codec.decode(buffer)`.
 */
export function bindCodec<T>(codec: Codec<T>, buffer: Uint8Array): BoundCodec<T> {
  const binder = binders.get(codec as Codec<unknown>);
  if (binder !== undefined && buffer.byteLength >= codec.size) return binder(buffer) as BoundCodec<T>;
  return {
    encode: (value: T, offset = 0) => codec.encode(value, buffer, offset),
    decode: (offset = 0) => codec.decode(buffer, offset),
  };
}

/**
 * `decode(buffer, offset)` of `codec` for a walk that reads many elements
 * from a few buffers (the batches of a map): the codec is bound to each new
 * buffer once (see {@link bindCodec}). The offset must leave `codec.size`
 * bytes.
 */
export function codecReader<T>(codec: Codec<T>): (buffer: Uint8Array, offset: number) => T {
  let last: Uint8Array | undefined;
  let bound: BoundCodec<T> | undefined;
  return (buffer, offset) => {
    if (buffer !== last || bound === undefined) {
      last = buffer;
      bound = bindCodec(codec, buffer);
    }
    return bound.decode(offset);
  };
}
