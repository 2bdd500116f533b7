/**
 * sk_msg and sk_skb programs on a sockmap or sockhash.
 *
 * @module
 */
import type { Link, Program, SockmapTarget } from '@bpfkit/core';
import { notBuiltYet } from './not-built.js';

/** Attaches `program` to a sockmap hook. */
export function attachSockmap(_program: Program, target: SockmapTarget): Link {
  return notBuiltYet(target.kind);
}
