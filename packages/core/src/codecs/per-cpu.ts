import type { Codec } from './codec.js';
import { InvalidArgumentError } from '../errors.js';

/** Bytes one CPU's slot of a per-CPU value takes: the value size rounded up to 8 (kernel `round_up(value_size, 8)`). */
export function perCpuSlotSize(valueSize: number): number {
  return Math.ceil(valueSize / 8) * 8;
}

/**
 * One value per possible CPU, in the kernel's flat layout for per-CPU maps:
 * `cpus` slots of {@link perCpuSlotSize} bytes, the padding zeroed.
 *
 * @example
 * const c = perCpu(u32, 4);   // 4 slots of 8 bytes
 * c.encode([1, 2, 3, 4], buf);
 */
export function perCpu<V>(codec: Codec<V>, cpus: number): Codec<V[]> {
  if (!Number.isInteger(cpus) || cpus < 1) throw new InvalidArgumentError('perCpu cpus', 'a positive integer (possible CPUs)', cpus);
  const slot = perCpuSlotSize(codec.size);
  return {
    size: slot * cpus,
    name: `per-CPU ${codec.name} × ${cpus}`,
    encode(values, into, offset = 0) {
      if (!Array.isArray(values) || values.length !== cpus) {
        throw new InvalidArgumentError(`per-CPU value`, `an array of ${cpus} values (one per possible CPU)`, values);
      }
      into.fill(0, offset, offset + slot * cpus);
      for (let i = 0; i < cpus; i++) codec.encode(values[i] as V, into, offset + i * slot);
    },
    decode(from, offset = 0) {
      const out: V[] = new Array(cpus);
      for (let i = 0; i < cpus; i++) out[i] = codec.decode(from, offset + i * slot);
      return out;
    },
  };
}

/**
 * Parses a kernel CPU list such as `0-3,5,7-8` (the format of
 * /sys/devices/system/cpu/possible) into the count of CPUs it names, i.e.
 * the highest index + 1 as the kernel sizes per-CPU values.
 *
 * @example
 * cpuCountFromList('0-3'); // 4
 */
export function cpuCountFromList(list: string): number {
  let max = -1;
  for (const part of list.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new InvalidArgumentError('CPU list', "a list like '0-3,5'", list);
    max = Math.max(max, Number(m[2] ?? m[1]));
  }
  return max + 1;
}
