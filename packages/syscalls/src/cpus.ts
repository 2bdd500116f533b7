/**
 * The CPUs the kernel sizes per-CPU map values for, and those online now.
 *
 * @module
 */
import fs from 'node:fs';
import { BpfError, cpuCountFromList, Errno, InvalidArgumentError } from '@bpfkit/core';

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

/**
 * Where the kernel lists the CPUs that are online now (same format as
 * {@link POSSIBLE_CPUS_PATH}).
 *
 * @example
 * fs.readFileSync(ONLINE_CPUS_PATH, 'utf8'); // '0-1\n'
 */
export const ONLINE_CPUS_PATH = '/sys/devices/system/cpu/online';

/**
 * The CPU numbers a kernel CPU list names (`0-3,5,7-8` → 0, 1, 2, 3, 5, 7, 8),
 * ascending and without duplicates.
 *
 * @throws InvalidArgumentError for text that is not a CPU list
 * @example
 * parseCpuList('0-2,5\n'); // [0, 1, 2, 5]
 */
export function parseCpuList(list: string): number[] {
  const cpus = new Set<number>();
  const text = list.trim();
  if (text === '') return [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m || Number(m[2] ?? m[1]) < Number(m[1])) throw new InvalidArgumentError('CPU list', "a list like '0-3,5'", list);
    for (let cpu = Number(m[1]); cpu <= Number(m[2] ?? m[1]); cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/**
 * The CPUs online now, read from {@link ONLINE_CPUS_PATH} at each call (CPUs
 * come and go with hotplug): where a per-CPU perf event can be opened.
 *
 * @throws BpfError (ENOENT…) when the file cannot be read, e.g. without /sys
 * @example
 * declare const attr: PerfEventAttrFields;
 * for (const cpu of onlineCpus()) perfEventOpen(attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
 */
export function onlineCpus(): number[] {
  let text: string;
  try {
    text = fs.readFileSync(ONLINE_CPUS_PATH, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new BpfError(Math.abs(e.errno ?? Errno.EIO), {
      syscall: 'open',
      subject: ONLINE_CPUS_PATH,
      hint: 'per-CPU perf events need the online CPU list from sysfs (is /sys mounted?)',
    });
  }
  return parseCpuList(text);
}
