/**
 * Running a synchronous piece of work inside another network namespace.
 *
 * @module
 */
import fs from 'node:fs';
import { BpfError, InvalidArgumentError } from '@bpfkit/core';
import { native } from './native.js';

/** This thread's own network namespace file. */
const THREAD_NETNS = '/proc/thread-self/ns/net';

/**
 * Runs `fn` with the JavaScript thread inside the network namespace at
 * `path` (`/run/netns/<name>`, `/proc/<pid>/ns/net`) and moves it back
 * afterwards, even when `fn` throws. Only this thread moves (setns(2) allows
 * that for network namespaces in a multithreaded process); sockets, netlink
 * sockets and interface indexes used inside belong to that namespace, and
 * sockets keep it after the return. `fn` must be synchronous: an `await`
 * would run other code in the wrong namespace. Without `path`, `fn` just runs.
 *
 * @example
 * import fs from 'node:fs';
 * const devices = inNetns('/run/netns/blue', () => fs.readFileSync('/proc/thread-self/net/dev', 'utf8'));
 */
export function inNetns<T>(path: string | undefined, fn: () => T): T {
  if (path === undefined) return fn();
  if (typeof path !== 'string' || !path) throw new InvalidArgumentError('netns', 'the path of a network namespace file', path);
  let target: number;
  try {
    target = fs.openSync(path, fs.constants.O_RDONLY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'an error';
    throw new InvalidArgumentError('netns', 'a network namespace file this process can open', `${path} (${code})`);
  }
  let home: number | undefined;
  try {
    home = fs.openSync(THREAD_NETNS, fs.constants.O_RDONLY);
    const CLONE_NEWNET = native.constants.CLONE_NEWNET ?? 0x40000000;
    const rc = native.setns(target, CLONE_NEWNET);
    if (rc < 0) {
      throw new BpfError(-rc, {
        syscall: 'setns',
        subject: `enter network namespace '${path}'`,
        ...(rc === -22 ? { hint: 'the file is not a network namespace' } : {}),
      });
    }
    let outcome: { value: T } | { error: unknown };
    try {
      outcome = { value: fn() };
    } catch (error) {
      outcome = { error };
    }
    // Failing to return would leave every later socket in the wrong namespace: that error wins.
    const back = native.setns(home, CLONE_NEWNET);
    if (back < 0) throw new BpfError(-back, { syscall: 'setns', subject: 'return to the original network namespace' });
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  } finally {
    fs.closeSync(target);
    if (home !== undefined) fs.closeSync(home);
  }
}
