import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BpfError, Errno, InvalidArgumentError } from '@bpfkit/core';
import { native } from './native.js';

/** One line of /proc/self/mounts. */
export interface MountEntry {
  source: string;
  target: string;
  fstype: string;
}

/** The mount table of this process's mount namespace. */
export function mounts(text = readOrEmpty('/proc/self/mounts')): MountEntry[] {
  // Fields are space separated; spaces inside paths are written as \040.
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [source = '', target = '', fstype = ''] = l.split(' ');
      return { source: unescape(source), target: unescape(target), fstype };
    });
}

/** Where bpffs is mounted, preferring /sys/fs/bpf; undefined when nowhere. */
export function bpffsMountPoint(table = mounts()): string | undefined {
  const bpf = table.filter((m) => m.fstype === 'bpf').map((m) => m.target);
  return bpf.includes('/sys/fs/bpf') ? '/sys/fs/bpf' : bpf[0];
}

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
  const existing = mounts()
    .filter((m) => m.target === target)
    .at(-1);
  if (existing?.fstype === 'bpf') return { path: target, mounted: false };
  if (existing) {
    throw new BpfError(Errno.EINVAL, {
      syscall: 'mount',
      subject: `bpffs at ${target}`,
      hint: `${target} already holds a '${existing.fstype}' file system, not bpf`,
    });
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

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** A bpffs mounted for one owner, removed by `close()`. */
export interface PrivateBpffs extends Disposable {
  readonly dir: string;
  close(): void;
}

/**
 * Mounts a fresh bpffs on a new temporary directory, so pins made there
 * never touch /sys/fs/bpf and vanish with the mount. Meant for tests and
 * short-lived tools.
 *
 * @example
 * using fsys = mountPrivateBpffs();
 * map.pin(`${fsys.dir}/counts`);
 */
export function mountPrivateBpffs(prefix = 'bpfkit-bpffs-'): PrivateBpffs {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    ensureBpffs(dir);
  } catch (err) {
    fs.rmdirSync(dir);
    throw err;
  }
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    unmountBpffs(dir);
    fs.rmdirSync(dir);
  };
  return { dir, close, [Symbol.dispose]: close };
}
