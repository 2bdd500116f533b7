import { NotSupportedError } from '@bpfkit/core';

/** The answer for a hook bpfkit cannot attach to yet. */
export function notBuiltYet(kind: string): never {
  throw new NotSupportedError(`attaching programs to '${kind}'`, undefined, 'bpfkit cannot attach to this hook yet', 'bpfkit');
}
