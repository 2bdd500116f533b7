import { BpfError } from '@bpfkit/core';
import type { System } from '@bpfkit/core';
import { MockSystem } from '@bpfkit/mock';
import { bpfAccess, mountPrivateBpffs } from '@bpfkit/syscalls';
import { NativeSystem } from '../native-system.js';

/** One backend the contract suite runs on. */
export interface Backend {
  name: 'mock' | 'kernel';
  /** Why the backend cannot run here, or undefined when it can. */
  skip: string | undefined;
  open(): System;
  /** A directory to pin in (a private bpffs on the kernel), and its cleanup. */
  pinDir(): { dir: string; cleanup(): void };
}

/** The mock and the kernel, each with the same test bodies (the contract suite). */
export const BACKENDS: readonly Backend[] = [
  {
    name: 'mock',
    skip: undefined,
    open: () => new MockSystem(),
    pinDir: () => ({ dir: '/sys/fs/bpf/contract', cleanup() {} }),
  },
  {
    name: 'kernel',
    skip: bpfAccess().reason,
    open: () => new NativeSystem(),
    pinDir() {
      // A bpffs of the test's own, so nothing is left in /sys/fs/bpf even on failure.
      const fsys = mountPrivateBpffs();
      return { dir: fsys.dir, cleanup: () => fsys.close() };
    },
  },
];

/** The BpfError `f` throws (any other outcome fails the test). */
export function errorOf(f: () => unknown): BpfError {
  try {
    f();
  } catch (err) {
    if (err instanceof BpfError) return err;
    throw err;
  }
  throw new Error('expected a BpfError, nothing was thrown');
}
