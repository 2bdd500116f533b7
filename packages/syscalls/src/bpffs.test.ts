import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bpffsMountPoint, ensureBpffs, mountPrivateBpffs, mounts } from './bpffs.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

describe('mount table', () => {
  it('unescapes paths and finds bpffs', () => {
    const table = mounts('bpf /sys/fs/bpf bpf rw 0 0\nnone /a\\040b tmpfs rw 0 0\n');
    expect(table.map((m) => [m.target, m.fstype])).toEqual([
      ['/sys/fs/bpf', 'bpf'],
      ['/a b', 'tmpfs'],
    ]);
    expect(bpffsMountPoint(table)).toBe('/sys/fs/bpf');
    expect(bpffsMountPoint([])).toBeUndefined();
  });

  it('refuses relative mount points', () => {
    expect(() => ensureBpffs('relative/dir')).toThrow(/mountPoint: expected an absolute path/);
  });
});

whenKernel().describe('bpffs mounting', () => {
  it('mounts when absent, does nothing when present, and unmounts', () => {
    const fsys = mountPrivateBpffs();
    try {
      expect(mounts().some((m) => m.target === fsys.dir && m.fstype === 'bpf')).toBe(true);
      expect(ensureBpffs(fsys.dir)).toEqual({ path: fsys.dir, mounted: false });
    } finally {
      fsys.close();
      fsys.close();
    }
    expect(mounts().some((m) => m.target === fsys.dir)).toBe(false);
    expect(fs.existsSync(fsys.dir)).toBe(false);
  });

  it('refuses a directory that holds another file system', () => {
    const other = mounts().find((m) => m.fstype === 'tmpfs' || m.fstype === 'proc');
    expect(other).toBeDefined();
    expect(() => ensureBpffs(other!.target)).toThrow(/already holds a '(tmpfs|proc)' file system, not bpf/);
  });
});
