/**
 * Programs per network namespace: flow dissectors and sk_lookup (netns links).
 *
 * @module
 */
import type { Link, Program, FlowDissectorTarget, SkLookupTarget } from '@bpfkit/core';
import { notBuiltYet } from './not-built.js';

/** Attaches `program` to a flow_dissector hook. */
export function attachFlowDissector(_program: Program, target: FlowDissectorTarget): Link {
  return notBuiltYet(target.kind);
}

/** Attaches `program` to a sk_lookup hook. */
export function attachSkLookup(_program: Program, target: SkLookupTarget): Link {
  return notBuiltYet(target.kind);
}
