/**
 * kprobes and kretprobes (kprobe PMU, tracefs fallback) and kprobe_multi links.
 *
 * @module
 */
import type { Link, Program, KprobeMultiTarget, KprobeTarget } from '@bpfkit/core';
import { notBuiltYet } from './not-built.js';

/** Attaches `program` to a kprobe hook. */
export function attachKprobe(_program: Program, target: KprobeTarget): Link {
  return notBuiltYet(target.kind);
}

/** Attaches `program` to a kprobe_multi hook. */
export function attachKprobeMulti(_program: Program, target: KprobeMultiTarget): Link {
  return notBuiltYet(target.kind);
}
