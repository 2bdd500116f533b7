import fs from 'node:fs';
import { BpfError, Errno, InvalidArgumentError } from '@bpfkit/core';
import type { ProgramInfo } from '@bpfkit/core';
import { bpfObjectKind, getFdById, native, objGet, progInfoByFd, readEachById } from '@bpfkit/syscalls';
import { KernelProgram } from './program.js';
import { kernelProgramInfo } from './program-info.js';
export { kernelProgramInfo } from './program-info.js';

/**
 * Every program of the kernel (BPF_PROG_GET_NEXT_ID, then the info of
 * each). Programs that are unloaded during the walk (ENOENT) and programs
 * this process may not open (EPERM) are skipped; every fd opened is closed.
 *
 * @throws BpfError EPERM when this process may not list programs at all
 * @example
 * for (const p of listPrograms()) console.log(p.id, programTypeName(p.type), p.name);
 */
export function listPrograms(): ProgramInfo[] {
  return readEachById('prog', (fd, id) => kernelProgramInfo(fd, `program id ${id}`));
}

/**
 * Opens a program by kernel id (a number, or a string of digits) or by the
 * absolute path it is pinned at, checking that a pinned object is a program.
 *
 * @throws InvalidArgumentError for a reference that is neither an id nor an absolute path
 * @throws BpfError ENOENT for an unknown id or path; EINVAL when the pinned object is not a program
 * @example
 * using prog = openProgram('/sys/fs/bpf/my_prog');
 * using same = openProgram(prog.info().id);
 */
export function openProgram(target: number | string): KernelProgram {
  const fd = openProgramFd(target);
  try {
    const i = progInfoByFd(fd, undefined, { subject: describe(target) });
    return new KernelProgram(fd, i.name, i.type);
  } catch (err) {
    native.close(fd);
    throw err;
  }
}

/**
 * The {@link ProgramInfo} (with the kernel's optional fields) of the program
 * with this id, or pinned at this path. The fd it opens is closed again.
 *
 * @throws BpfError ENOENT for an unknown id or path; EINVAL when the pinned object is not a program
 * @example
 * programInfo(42).name;
 * programInfo('/sys/fs/bpf/my_prog').mapIds;
 */
export function programInfo(target: number | string): ProgramInfo {
  const fd = openProgramFd(target);
  try {
    return kernelProgramInfo(fd, describe(target));
  } finally {
    native.close(fd);
  }
}

/**
 * The wall-clock time of the system boot in milliseconds since the epoch,
 * from `/proc/uptime` (CLOCK_BOOTTIME, the clock of `bpf_prog_info.load_time`).
 *
 * @example
 * new Date(bootTimeMs());
 */
export function bootTimeMs(uptime = fs.readFileSync('/proc/uptime', 'utf8'), nowMs = Date.now()): number {
  const seconds = Number(uptime.split(' ')[0]);
  if (!Number.isFinite(seconds)) throw new InvalidArgumentError('uptime', 'the text of /proc/uptime ("<seconds> <idle seconds>")', uptime);
  return nowMs - seconds * 1000;
}

/**
 * Converts `ProgramInfo.loadTime` (nanoseconds since boot) to a date.
 *
 * @example
 * loadTimeToDate(programInfo(42).loadTime).toISOString();
 */
export function loadTimeToDate(loadTimeNs: bigint, bootMs = bootTimeMs()): Date {
  return new Date(bootMs + Number(loadTimeNs / 1000n) / 1000);
}

function describe(target: number | string): string {
  return typeof target === 'number' || /^\d+$/.test(target) ? `program id ${target}` : `pin '${target}'`;
}

/** Opens the fd of a program by id or pin path; the caller closes it. */
function openProgramFd(target: number | string): number {
  if (typeof target === 'string' && /^\d+$/.test(target)) target = Number(target);
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target <= 0 || target > 0xffffffff)
      throw new InvalidArgumentError('program id', 'a positive integer', target);
    return getFdById('prog', target, {}, { subject: describe(target) });
  }
  if (typeof target !== 'string' || !target.startsWith('/')) {
    throw new InvalidArgumentError('program', 'a program id (digits) or an absolute pin path', target);
  }
  const fd = objGet(target, {}, { subject: describe(target) });
  const kind = bpfObjectKind(fd);
  if (kind !== undefined && kind !== 'prog') {
    native.close(fd);
    throw new BpfError(Errno.EINVAL, {
      syscall: 'bpf',
      command: 'BPF_OBJ_GET',
      subject: describe(target),
      hint: `the object pinned there is not a program but a ${kind === 'non-BPF file' ? kind : `BPF ${kind}`}`,
    });
  }
  return fd;
}
