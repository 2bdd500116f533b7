/**
 * Classic TC: clsact qdisc and direct-action cls_bpf filters over rtnetlink.
 *
 * @module
 */
import type { Link, Program, TcTarget } from '@bpfkit/core';
import { notBuiltYet } from './not-built.js';

/** Attaches `program` to a tc hook. */
export function attachTc(_program: Program, target: TcTarget): Link {
  return notBuiltYet(target.kind);
}
