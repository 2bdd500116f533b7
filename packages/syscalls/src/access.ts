import { BpfError } from '@bpfkit/core';
import { mapCreate } from './sys/map.js';
import { closeFd } from './sys/perf.js';
import { nativeLoadError } from './native.js';

/** Whether this process can use bpf(), and why not. */
export interface BpfAccess {
  available: boolean;
  /** Why not, in words fit for a test's skip reason. */
  reason?: string;
}

let cached: BpfAccess | undefined;

/**
 * Checks once whether this process may use bpf() (by creating and closing a
 * one-element array map). Kernel tests skip with `reason` when not.
 *
 * @example
 * import { describe } from 'vitest';
 * const { available, reason } = bpfAccess();
 * describe.skipIf(!available)(`kernel maps ${reason ?? ''}`, () => {
 *   // tests that need the kernel
 * });
 */
export function bpfAccess(): BpfAccess {
  if (cached) return cached;
  if (nativeLoadError) return (cached = { available: false, reason: `the native addon did not load: ${nativeLoadError.message}` });
  try {
    closeFd(mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 }));
    cached = { available: true };
  } catch (err) {
    if (!(err instanceof BpfError)) throw err;
    cached = {
      available: false,
      reason: `bpf(BPF_MAP_CREATE) fails with ${err.code}: not privileged (needs root or CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN + CAP_SYS_ADMIN)`,
    };
  }
  return cached;
}
