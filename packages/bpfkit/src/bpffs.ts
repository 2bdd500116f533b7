import fs from 'node:fs';
import path from 'node:path';
import { BpfError, Errno, InvalidArgumentError } from '@bpfkit/core';
import { native } from '@bpfkit/syscalls';
import { mounts } from './features/environment.js';

/** What {@link ensureBpffs} found or did. */
export interface BpffsResult {
  path: string;
  /** True when this call mounted it. */
  mounted: boolean;
}

/**
 * Makes sure bpffs is mounted at `mountPoint` (default `/sys/fs/bpf`):
 * does nothing when it already is, mounts it when the directory holds no
 * other file system, and refuses when another file system is mounted there.
 *
 * @example
 * ensureBpffs();                 // /sys/fs/bpf
 * ensureBpffs('/run/my-bpffs');  // a private mount point
 */
export function ensureBpffs(mountPoint = '/sys/fs/bpf'): BpffsResult {
  if (typeof mountPoint !== 'string' || !path.isAbsolute(mountPoint)) {
    throw new InvalidArgumentError('mountPoint', 'an absolute path', mountPoint);
  }
  const target = path.resolve(mountPoint);
  const existing = mounts().filter((m) => m.target === target).at(-1);
  if (existing?.fstype === 'bpf') return { path: target, mounted: false };
  if (existing) {
    throw new BpfError(Errno.EINVAL, { syscall: 'mount', subject: `bpffs at ${target}`, hint: `${target} already holds a '${existing.fstype}' file system, not bpf` });
  }
  fs.mkdirSync(target, { recursive: true, mode: 0o700 });
  const rc = native.mount('bpf', target, 'bpf', 0, 'mode=0700');
  if (rc < 0) throw new BpfError(-rc, { syscall: 'mount', subject: `bpffs at ${target}` });
  return { path: target, mounted: true };
}

/**
 * Unmounts a bpffs mounted by {@link ensureBpffs} (pins under it vanish with it).
 *
 * @example
 * const { path, mounted } = ensureBpffs('/tmp/test-bpffs');
 * if (mounted) unmountBpffs(path);
 */
export function unmountBpffs(mountPoint: string): void {
  const rc = native.umount(mountPoint, 0);
  if (rc < 0) throw new BpfError(-rc, { syscall: 'umount', subject: `bpffs at ${mountPoint}` });
}
