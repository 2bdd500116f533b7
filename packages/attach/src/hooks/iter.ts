/**
 * Iterators: links whose output is read through BPF_ITER_CREATE.
 *
 * @module
 */
import type { Link, Program, IterTarget } from '@bpfkit/core';
import { notBuiltYet } from './not-built.js';

/** Attaches `program` to a iter hook. */
export function attachIter(_program: Program, target: IterTarget): Link {
  return notBuiltYet(target.kind);
}
