import fs from 'node:fs';
import { InvalidArgumentError } from '@bpfkit/core';
import { objPin } from '@bpfkit/syscalls';

/**
 * The bpffs pin a program or link handle made: pinning checks the path,
 * unpinning removes that pin and no other.
 *
 * @example
 * const pin = new OwnPin();
 * pin.pin(`program 'p'`, progFd, '/sys/fs/bpf/p');
 * pin.unpin(`program 'p'`, 'a program');
 */
export class OwnPin {
  #path: string | undefined;

  /** Where this handle pinned its object, if it did. */
  get path(): string | undefined {
    return this.#path;
  }

  pin(label: string, fd: number, path: string): void {
    if (typeof path !== 'string' || !path) throw new InvalidArgumentError(`${label}: pin path`, 'a path in bpffs', path);
    objPin(path, fd, {}, { subject: label });
    this.#path = path;
  }

  /** `what` names the object for the error when nothing was pinned (`'a link'`). */
  unpin(label: string, what: string): void {
    if (!this.#path) throw new InvalidArgumentError(`${label}: unpin`, `${what} pinned by this handle`, undefined);
    fs.rmSync(this.#path, { force: true });
    this.#path = undefined;
  }
}
