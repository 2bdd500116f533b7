import { expect } from 'vitest';
import { InvalidArgumentError } from '../errors.js';

/** The InvalidArgumentError `fn` throws; anything else fails the test. */
export function errorOf(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new Error('did not throw');
}
