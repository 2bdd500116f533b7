/**
 * XDP on a network interface: links, or IFLA_XDP over rtnetlink.
 *
 * @module
 */
import type { Link, Program, XdpTarget } from '@bpfkit/core';
import { notBuiltYet } from './not-built.js';

/** Attaches `program` to a xdp hook. */
export function attachXdp(_program: Program, target: XdpTarget): Link {
  return notBuiltYet(target.kind);
}
