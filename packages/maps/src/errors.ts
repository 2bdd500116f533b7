import { BpfError, Errno, MapType, mapTypeName, mapTypeRules } from '@bpfkit/core';

/**
 * Advice for the errnos of map element and batch commands, worded for the
 * map at hand (`type` and, for batches, the batch size `count` refine it).
 *
 * @example
 * mapErrorHint('BPF_MAP_UPDATE_ELEM', Errno.E2BIG, 16); // 'the map is full (max_entries 16) or the index is out of range'
 */
export function mapErrorHint(command: string, errno: number, maxEntries: number, type?: number, count?: number): string | undefined {
  const batch = command.endsWith('_BATCH');
  if (batch && errno === Errno.ENOSPC)
    return `a hash bucket holds more elements than the batch of ${count ?? '?'}: retry with a larger batch`;
  if (batch && (errno === Errno.EINVAL || errno === Errno.ENOTSUPP || errno === Errno.EOPNOTSUPP)) {
    return `${type === undefined ? 'this map type' : `${mapTypeName(type)} maps`} may not have ${command} (batch operations need Linux 5.6), or an argument is invalid`;
  }
  if (errno === Errno.E2BIG && (command === 'BPF_MAP_UPDATE_ELEM' || command === 'BPF_MAP_UPDATE_BATCH'))
    return `the map is full (max_entries ${maxEntries}) or the index is out of range`;
  if (errno === Errno.EEXIST) return 'the key exists (flag noexist)';
  if (errno === Errno.ENOENT && command === 'BPF_MAP_UPDATE_ELEM') return 'the key does not exist (flag exist)';
  if (errno === Errno.EPERM && command !== 'BPF_MAP_CREATE') return 'the map is frozen or read-only for user space';
  if (errno === Errno.EINVAL && command === 'BPF_MAP_DELETE_ELEM') return 'this map type does not delete elements (arrays are fixed)';
  if (
    errno === Errno.EINVAL &&
    command === 'BPF_MAP_UPDATE_ELEM' &&
    type !== undefined &&
    (type === MapType.QUEUE || type === MapType.STACK || type === MapType.BLOOM_FILTER)
  ) {
    return `${mapTypeName(type)} maps take values without keys (push), with flag any or exist`;
  }
  // Values user space writes as file descriptors and reads back as ids (or not at all).
  if (type !== undefined && mapTypeRules(type)?.fdValues) {
    if (command === 'BPF_MAP_UPDATE_ELEM' && (errno === Errno.EBADF || errno === Errno.EINVAL)) {
      return `${mapTypeName(type)} values are file descriptors of a matching kind (use the objectFd codec with a handle or fd)`;
    }
    if (
      (command === 'BPF_MAP_LOOKUP_ELEM' || command === 'BPF_MAP_GET_NEXT_KEY') &&
      (errno === Errno.ENOTSUPP || errno === Errno.EOPNOTSUPP)
    ) {
      return `${mapTypeName(type)} maps cannot be read from user space`;
    }
  }
  if ((errno === Errno.ENOTSUPP || errno === Errno.EOPNOTSUPP) && type !== undefined) {
    return `${mapTypeName(type)} maps do not support ${command} from user space`;
  }
  return undefined;
}

/**
 * The BpfError of a failed element or batch command on a map.
 *
 * @example
 * throw mapError('BPF_MAP_LOOKUP_ELEM', Errno.EPERM, 'counts', 16);
 */
export function mapError(command: string, errno: number, name: string, maxEntries: number, type?: number, count?: number): BpfError {
  return new BpfError(errno, {
    syscall: 'bpf',
    command,
    subject: `map '${name}'`,
    hint: mapErrorHint(command, errno, maxEntries, type, count),
  });
}
