/**
 * tcx links (6.6) with their ordering.
 *
 * @module
 */
import type { Link, Program, TcxTarget } from '@bpfkit/core';
import { notBuiltYet } from './not-built.js';

/** Attaches `program` to a tcx hook. */
export function attachTcx(_program: Program, target: TcxTarget): Link {
  return notBuiltYet(target.kind);
}
