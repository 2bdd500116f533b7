/**
 * netfilter hooks (6.4 links).
 *
 * @module
 */
import type { Link, Program, NetfilterTarget } from '@bpfkit/core';
import { notBuiltYet } from './not-built.js';

/** Attaches `program` to a netfilter hook. */
export function attachNetfilter(_program: Program, target: NetfilterTarget): Link {
  return notBuiltYet(target.kind);
}
