import { InvalidArgumentError } from './errors.js';
import type { ProgramSpec, TestRunOptions } from './interfaces.js';
import { TestRunFlag } from './kernel/test-run.js';

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

/** The options of a `testRun`, checked for their types (what a program type accepts is its backend's to check). */
export interface TestRunInput {
  data: Uint8Array | undefined;
  context: Uint8Array | undefined;
  dataOutSize: number | undefined;
  contextOutSize: number | undefined;
  /** 0 when not given. */
  repeat: number;
  cpu: number | undefined;
  batchSize: number | undefined;
  /** The flags given, with `TestRunFlag.RUN_ON_CPU` added when a `cpu` is. */
  flags: number;
}

/**
 * Reads `testRun` options as both backends do: an object; `data` and
 * `context` Uint8Arrays; sizes, `repeat`, `cpu`, `batchSize` and `flags`
 * integers from 0 to 2^32 - 1; anything else is an InvalidArgumentError
 * naming the option.
 *
 * @example
 * const input = readTestRunOptions({ data: new Uint8Array(64), repeat: 10 });
 * input.repeat; // 10
 */
export function readTestRunOptions(options: TestRunOptions): TestRunInput {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('testRun options', 'an object', options);
  const cpu = count('cpu', options.cpu);
  return {
    data: bytes('data', options.data),
    context: bytes('context', options.context),
    dataOutSize: count('dataOutSize', options.dataOutSize),
    contextOutSize: count('contextOutSize', options.contextOutSize),
    repeat: count('repeat', options.repeat) ?? 0,
    cpu,
    batchSize: count('batchSize', options.batchSize),
    flags: (count('flags', options.flags) ?? 0) | (cpu !== undefined ? TestRunFlag.RUN_ON_CPU : 0),
  };
}

function count(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new InvalidArgumentError(`testRun ${name}`, `an integer from 0 to ${0xffffffff}`, v);
  }
  return v;
}

function bytes(name: string, v: unknown): Uint8Array | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw new InvalidArgumentError(`testRun ${name}`, 'a Uint8Array', v);
  return v;
}
