import { InvalidArgumentError, u32 } from '@bpfkit/core';
import type { Codec } from '@bpfkit/core';

/**
 * A value of a map that holds kernel objects (prog arrays, maps of maps,
 * sockmaps, cgroup and perf event arrays): on update, a file descriptor or
 * any handle with an `fd` (a map, a program); on lookup, the kernel answers
 * with the object's id, a number.
 *
 * @example
 * const values: ObjectFdValue[] = [3, map, prog]; // fds or handles on update
 */
export type ObjectFdValue = number | { readonly fd: number; readonly closed?: boolean };

function fdOf(value: ObjectFdValue): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'object' && value !== null && typeof value.fd === 'number') {
    if (value.closed === true) throw new InvalidArgumentError('object fd', 'an open handle', 'a closed handle');
    return value.fd;
  }
  return Number.NaN;
}

/**
 * The value codec of maps whose values are kernel objects: encodes a file
 * descriptor (a number, or the `fd` of a handle such as a map or program) as
 * the u32 the kernel takes on update, and decodes the u32 the kernel gives
 * back on lookup, which is the object's **id** (not an fd): open it with
 * `openMapById` or the program equivalent. (perf event and cgroup arrays
 * and xskmaps cannot be read from user space; sockmaps and sockhashes answer
 * lookups with a u64 socket cookie, and only when their values are 8 bytes.)
 *
 * @example
 * using inner = createKernelMap({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
 * using outer = createKernelMap(
 *   { type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4, innerMap: { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 } },
 *   { key: u32, value: objectFd },
 * );
 * outer.update(0, inner);
 * outer.lookup(0) === inner.info().id; // true
 */
export const objectFd: Codec<ObjectFdValue> = {
  size: 4,
  name: 'object fd (u32; lookups return the object id)',
  encode(value, into, offset = 0) {
    const fd = fdOf(value);
    if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
      throw new InvalidArgumentError('object fd', 'a file descriptor (a non-negative integer) or a handle with an fd', value);
    }
    u32.encode(fd, into, offset);
  },
  decode(from, offset = 0) {
    return u32.decode(from, offset);
  },
};
