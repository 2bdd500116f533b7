import { BpfError, Errno } from '@bpfkit/core';

/** Advice for the errnos of map element commands, worded for the map at hand. */
export function mapErrorHint(command: string, errno: number, maxEntries: number): string | undefined {
  if (errno === Errno.E2BIG && command === 'BPF_MAP_UPDATE_ELEM') return `the map is full (max_entries ${maxEntries}) or the index is out of range`;
  if (errno === Errno.EEXIST) return 'the key exists (flag noexist)';
  if (errno === Errno.ENOENT && command === 'BPF_MAP_UPDATE_ELEM') return 'the key does not exist (flag exist)';
  if (errno === Errno.EPERM && command !== 'BPF_MAP_CREATE') return 'the map is frozen or read-only for user space';
  if (errno === Errno.EINVAL && command === 'BPF_MAP_DELETE_ELEM') return 'this map type does not delete elements (arrays are fixed)';
  return undefined;
}

/** The BpfError of a failed element command on a map. */
export function mapError(command: string, errno: number, name: string, maxEntries: number): BpfError {
  return new BpfError(errno, { syscall: 'bpf', command, subject: `map '${name}'`, hint: mapErrorHint(command, errno, maxEntries) });
}
