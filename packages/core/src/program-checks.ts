import { InvalidArgumentError } from './errors.js';
import type { ProgramSpec } from './interfaces.js';

/**
 * Checks a program spec before any backend loads it: non-empty
 * instructions in whole 8-byte instructions, a program type, a license
 * string. Both backends call it, so they refuse the same specs alike.
 *
 * @example
 * checkProgramSpec({ name: 'p', type: ProgramType.XDP, license: 'GPL', instructions: new Uint8Array(8) });
 */
export function checkProgramSpec(spec: ProgramSpec): void {
  if (typeof spec !== 'object' || spec === null) throw new InvalidArgumentError('program spec', 'an object', spec);
  if (!(spec.instructions instanceof Uint8Array) || spec.instructions.byteLength === 0 || spec.instructions.byteLength % 8 !== 0) {
    throw new InvalidArgumentError(
      `program '${spec.name}': instructions`,
      'a non-empty Uint8Array whose length is a multiple of 8',
      spec.instructions,
    );
  }
  if (!Number.isInteger(spec.type) || spec.type <= 0)
    throw new InvalidArgumentError(`program '${spec.name}': type`, 'a program type number (ProgramType)', spec.type);
  if (typeof spec.license !== 'string')
    throw new InvalidArgumentError(`program '${spec.name}': license`, 'a string such as "GPL"', spec.license);
}

/**
 * A `testRun` count option (`repeat`, a size, a CPU): undefined, or an
 * integer from 0 to `max`; anything else is an InvalidArgumentError.
 *
 * @example
 * declare const options: { repeat?: number };
 * testRunCount('repeat', options.repeat, 0xffffffff);
 */
export function testRunCount(name: string, v: unknown, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new InvalidArgumentError(`testRun ${name}`, `an integer from 0 to ${max}`, v);
  }
  return v;
}

/**
 * A `testRun` bytes option (`data`, `context`): undefined or a Uint8Array.
 *
 * @example
 * declare const options: { data?: Uint8Array };
 * testRunBytes('data', options.data);
 */
export function testRunBytes(name: string, v: unknown): Uint8Array | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw new InvalidArgumentError(`testRun ${name}`, 'a Uint8Array', v);
  return v;
}
