/**
 * perf_event sampling programs, on one CPU or every CPU.
 *
 * @module
 */
import type { Link, Program, PerfEventTarget } from '@bpfkit/core';
import { notBuiltYet } from './not-built.js';

/** Attaches `program` to a perf_event hook. */
export function attachPerfEvent(_program: Program, target: PerfEventTarget): Link {
  return notBuiltYet(target.kind);
}
