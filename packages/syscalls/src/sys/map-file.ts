/**
 * Read-only mappings of whole files.
 *
 * @module
 */
import fs from 'node:fs';
import { native } from '../native.js';

/**
 * The bytes of a file, mapped read-only with mmap(2) instead of read: no
 * copy, pages faulted in as they are touched. Undefined when the file
 * cannot be mapped (then read it). `/sys/kernel/btf/*` can be mapped since
 * Linux 6.16 (sysfs `btf_vmlinux` gained an mmap handler); reading its 5 MiB
 * through sysfs costs ~20 ms on these machines, mapping it under 1 ms.
 *
 * The bytes must never be written (the pages are read-only: a write faults).
 * The mapping lasts as long as the returned array's buffer is reachable.
 *
 * @example
 * const bytes = mapFileReadOnly('/sys/kernel/btf/vmlinux') ?? new Uint8Array(fs.readFileSync('/sys/kernel/btf/vmlinux'));
 */
export function mapFileReadOnly(file: string): Uint8Array | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return undefined;
    const c = native.constants;
    const mapping = native.mmap(fd, size, c.PROT_READ!, c.MAP_PRIVATE!, 0);
    return typeof mapping === 'number' ? undefined : new Uint8Array(mapping, 0, size);
  } catch {
    return undefined; // no addon (an unsupported platform): the caller reads the file
  } finally {
    fs.closeSync(fd);
  }
}
