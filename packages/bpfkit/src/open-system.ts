import { NotSupportedError } from '@bpfkit/core';
import type { System } from '@bpfkit/core';
import { MockSystem } from '@bpfkit/mock';
import { bpfAccess } from '@bpfkit/syscalls';
import { NativeSystem } from './native-system.js';

/** Which backend {@link openSystem} returns. */
export interface OpenSystemOptions {
  /** `'auto'` (default): the kernel when this process may use bpf(), else the mock. */
  backend?: 'auto' | 'kernel' | 'mock';
}

/**
 * Opens a backend. Code written against the returned {@link System} runs
 * unchanged on the kernel and on the mock.
 *
 * @example
 * using system = await openSystem();                    // auto
 * using mock = await openSystem({ backend: 'mock' });   // always the mock
 */
export async function openSystem(options: OpenSystemOptions = {}): Promise<System> {
  const backend = options.backend ?? 'auto';
  if (backend === 'mock') return new MockSystem();
  const access = bpfAccess();
  if (access.available) return new NativeSystem();
  if (backend === 'kernel') throw new NotSupportedError('the kernel backend', undefined, access.reason);
  return new MockSystem();
}
