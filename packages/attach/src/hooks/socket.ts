/**
 * Socket filters (SO_ATTACH_BPF) and reuseport select programs (SO_ATTACH_REUSEPORT_EBPF).
 *
 * @module
 */
import type { Link, Program, ReuseportTarget, SocketFilterTarget } from '@bpfkit/core';
import { notBuiltYet } from './not-built.js';

/** Attaches `program` to a socket hook. */
export function attachSocketFilter(_program: Program, target: SocketFilterTarget): Link {
  return notBuiltYet(target.kind);
}

/** Attaches `program` to a reuseport hook. */
export function attachReuseport(_program: Program, target: ReuseportTarget): Link {
  return notBuiltYet(target.kind);
}
