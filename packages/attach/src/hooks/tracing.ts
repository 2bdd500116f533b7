/**
 * fentry/fexit/fmod_ret/tp_btf/freplace (tracing links) and LSM programs.
 *
 * @module
 */
import type { Link, Program, LsmTarget, TracingTarget } from '@bpfkit/core';
import { notBuiltYet } from './not-built.js';

/** Attaches `program` to a tracing hook. */
export function attachTracing(_program: Program, target: TracingTarget): Link {
  return notBuiltYet(target.kind);
}

/** Attaches `program` to a lsm hook. */
export function attachLsm(_program: Program, target: LsmTarget): Link {
  return notBuiltYet(target.kind);
}
