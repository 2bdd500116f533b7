/**
 * The CPUs the kernel sizes per-CPU map values for.
 *
 * @module
 */
import fs from 'node:fs';
import { BpfError, cpuCountFromList, Errno } from '@bpfkit/core';

/**
 * Where the kernel lists the possible CPUs ("0-3", "0,2-5").
 *
 * @example
 * fs.readFileSync(POSSIBLE_CPUS_PATH, 'utf8'); // '0-1\n'
 */
export const POSSIBLE_CPUS_PATH = '/sys/devices/system/cpu/possible';

let cached: number | undefined;

/**
 * The number of possible CPUs: the highest index in
 * /sys/devices/system/cpu/possible plus one, which is how many slots the
 * kernel gives a per-CPU map value (each `roundUp(valueSize, 8)` bytes).
 * Read once and cached.
 *
 * @throws BpfError (ENOENT…) when the file cannot be read, e.g. without /sys
 * @example
 * const cpus = possibleCpus();            // 2 on a machine whose list is "0-1"
 * const flat = cpus * Math.ceil(12 / 8) * 8; // raw per-CPU value of a 12-byte value
 */
export function possibleCpus(): number {
  if (cached !== undefined) return cached;
  let text: string;
  try {
    text = fs.readFileSync(POSSIBLE_CPUS_PATH, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new BpfError(Math.abs(e.errno ?? Errno.EIO), {
      syscall: 'open',
      subject: POSSIBLE_CPUS_PATH,
      hint: 'per-CPU map values need the possible CPU list from sysfs (is /sys mounted?)',
    });
  }
  cached = cpuCountFromList(text);
  return cached;
}
