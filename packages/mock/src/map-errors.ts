import { BpfError, Errno } from '@bpfkit/core';

/**
 * The bpf() commands a mock map answers, named as the kernel names them.
 *
 * @example
 * const command: MapCommand = 'BPF_MAP_UPDATE_ELEM';
 */
export type MapCommand =
  | 'BPF_MAP_CREATE'
  | 'BPF_MAP_LOOKUP_ELEM'
  | 'BPF_MAP_UPDATE_ELEM'
  | 'BPF_MAP_DELETE_ELEM'
  | 'BPF_MAP_GET_NEXT_KEY'
  | 'BPF_MAP_LOOKUP_AND_DELETE_ELEM'
  | 'BPF_MAP_LOOKUP_BATCH'
  | 'BPF_MAP_LOOKUP_AND_DELETE_BATCH'
  | 'BPF_MAP_UPDATE_BATCH'
  | 'BPF_MAP_DELETE_BATCH'
  | 'BPF_MAP_FREEZE'
  | 'BPF_OBJ_PIN'
  | 'BPF_OBJ_GET'
  | 'BPF_MAP_GET_FD_BY_ID';

/** Default advice for an errno of a map command (a specific `hint` replaces it). */
function defaultHint(command: MapCommand, errno: number): string | undefined {
  if (errno === Errno.EEXIST && command === 'BPF_MAP_UPDATE_ELEM') return 'the key exists (flag noexist)';
  if (errno === Errno.ENOENT && command === 'BPF_MAP_UPDATE_ELEM') return 'the key does not exist (flag exist)';
  if (errno === Errno.EPERM && command !== 'BPF_MAP_CREATE')
    return 'the map is frozen or this handle cannot do this (BPF_F_RDONLY / BPF_F_WRONLY)';
  if (errno === Errno.ENOTSUPP || errno === Errno.EOPNOTSUPP) return 'this map type does not have this operation';
  return undefined;
}

/**
 * Throws the {@link BpfError} the kernel would return for `command` on the
 * map `name`: same errno, same code, `syscall: 'bpf'`.
 *
 * @example
 * mapFail(Errno.E2BIG, 'BPF_MAP_UPDATE_ELEM', 'counts', 'the map is full (max_entries 8)');
 */
export function mapFail(errno: number, command: MapCommand, name: string, hint?: string): never {
  throw new BpfError(errno, { syscall: 'bpf', command, subject: `map '${name}' (mock)`, hint: hint ?? defaultHint(command, errno) });
}
