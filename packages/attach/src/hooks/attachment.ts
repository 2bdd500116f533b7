/**
 * What the attachments that are not BPF links share (socket options,
 * BPF_PROG_ATTACH): checking the program's type, finding the attached
 * program again by id, and the refusal to pin.
 *
 * @module
 */
import { BpfError, Errno, InvalidArgumentError, NotSupportedError, programTypeName } from '@bpfkit/core';
import type { Program } from '@bpfkit/core';
import { closeFd, getFdById } from '@bpfkit/syscalls';

/** Throws unless `program` is open and of one of `types`, naming what the hook takes. */
export function expectProgramType(program: Program, types: readonly number[], argument: string): void {
  if (program === null || typeof program !== 'object' || program.closed || program.fd < 0)
    throw new InvalidArgumentError(argument, 'an open kernel program', program?.name ?? program);
  if (!types.includes(program.type)) {
    const wanted = types.map((t) => `ProgramType.${programTypeName(t).toUpperCase()}`).join(' or ');
    throw new InvalidArgumentError(
      `${argument} '${program.name}'`,
      `a program of type ${wanted}`,
      `ProgramType.${programTypeName(program.type).toUpperCase()}`,
    );
  }
}

/**
 * Runs `fn` with a fresh fd of the program `progId` and closes it after;
 * runs nothing and returns false when the program is gone (then nothing of
 * it can be attached any more).
 */
export function withProgramFd(progId: number, fn: (fd: number) => void): boolean {
  let fd: number;
  try {
    fd = getFdById('prog', progId);
  } catch (err) {
    if (err instanceof BpfError && err.errno === Errno.ENOENT) return false;
    throw err;
  }
  try {
    fn(fd);
  } finally {
    closeFd(fd);
  }
  return true;
}

/** True when `err` is a BpfError with one of `errnos`. */
export function isErrno(err: unknown, ...errnos: number[]): err is BpfError {
  return err instanceof BpfError && errnos.includes(err.errno);
}

/** The refusal to pin an attachment that is not a BPF link. */
export function notPinnable(label: string, what: string, action: 'pinning' | 'unpinning' = 'pinning'): NotSupportedError {
  return new NotSupportedError(`${action} ${label}`, undefined, `${what} is not a BPF link, so it has no pin`);
}
