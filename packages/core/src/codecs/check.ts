import { InvalidArgumentError } from '../errors.js';

/** What a codec failure was about, kept so that containers can re-word it. */
interface Failure {
  /** The codec that rejected the value, e.g. `'u16'`. */
  leaf: string;
  /** Where in the container, e.g. `'.ports[1]'`; empty at top level. */
  path: string;
  /** The value the leaf codec rejected. */
  given: unknown;
}

const failures = new WeakMap<InvalidArgumentError, Failure>();

/**
 * An InvalidArgumentError for a codec. With a `path`, the argument reads
 * `struct flow.sport (u16)`: the container, the field, and the codec at fault.
 */
export function codecError(codec: string, expected: string, given: unknown, path = '', leaf = codec): InvalidArgumentError {
  const err = new InvalidArgumentError(path ? `${codec}${path} (${leaf})` : codec, expected, given);
  failures.set(err, { leaf, path, given });
  return err;
}

/**
 * Re-words an error thrown by a member codec (`step` is `.field` or `[i]`) as
 * an error of the container, keeping what the member codec expected and was
 * given. Anything that is not an InvalidArgumentError is returned unchanged.
 */
export function nestedError(container: string, step: string, err: unknown, memberValue: unknown): unknown {
  if (!(err instanceof InvalidArgumentError)) return err;
  const f = failures.get(err) ?? { leaf: err.argument, path: '', given: memberValue };
  return codecError(container, err.expected, f.given, step + f.path, f.leaf);
}

/** Checks that `buf` is a Uint8Array with `size` bytes from `offset`. */
export function checkBuffer(codec: string, size: number, buf: unknown, offset: unknown, writing: boolean): asserts buf is Uint8Array {
  if (!(buf instanceof Uint8Array)) throw codecError(codec, writing ? 'a Uint8Array to write into' : 'a Uint8Array to read from', buf);
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) {
    throw codecError(codec, 'an offset that is a non-negative integer', offset);
  }
  if (offset + size > buf.length) throw codecError(codec, `a buffer with room for ${size} bytes at offset ${offset}`, buf);
}

/** Checks a size given to a codec factory such as `bytes(n)`. */
export function checkSize(factory: string, size: unknown, min = 0): asserts size is number {
  if (typeof size !== 'number' || !Number.isInteger(size) || size < min || size > 0x7fffffff) {
    throw new InvalidArgumentError(
      factory,
      min === 0 ? 'a size that is a non-negative integer' : `a size that is an integer of at least ${min}`,
      size,
    );
  }
}
