// bpf_get_attach_cookie on the mock: the cookie of the attachment whose
// program is running (a fired probe), 0 outside one, like the kernel's
// run context.
import { Helper } from '@bpfkit/core';
import type { VmHelper } from '../vm/index.js';
import type { MockRuntime } from '../helpers/runtime.js';

const current = new WeakMap<MockRuntime, bigint>();

/**
 * Runs `fn` with `cookie` as what `bpf_get_attach_cookie` answers in the
 * programs of `runtime`.
 *
 * @example
 * declare const runtime: MockRuntime;
 * withAttachCookie(runtime, 7n, () => 0);
 */
export function withAttachCookie<T>(runtime: MockRuntime, cookie: bigint, fn: () => T): T {
  const saved = current.get(runtime);
  current.set(runtime, cookie);
  try {
    return fn();
  } finally {
    if (saved === undefined) current.delete(runtime);
    else current.set(runtime, saved);
  }
}

/**
 * `bpf_get_attach_cookie` for one mock system, by helper id.
 *
 * @example
 * import { defaultEnvironment, MockRuntime } from '../helpers/runtime.js';
 * cookieHelpers(new MockRuntime(defaultEnvironment())).has(Helper.get_attach_cookie); // true
 */
export function cookieHelpers(runtime: MockRuntime): ReadonlyMap<number, VmHelper> {
  return new globalThis.Map<number, VmHelper>([[Helper.get_attach_cookie, () => current.get(runtime) ?? 0n]]);
}
