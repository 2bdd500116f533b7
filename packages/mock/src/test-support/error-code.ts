import { BpfError } from '@bpfkit/core';

/** The errno code (`'EINVAL'`…) of the BpfError `f` throws, or `'ok'`; anything else thrown fails the test. */
export function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof BpfError) return err.code;
    throw err;
  }
  return 'ok';
}
