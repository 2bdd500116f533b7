/**
 * cgroup v2 hooks: links, or BPF_PROG_ATTACH with its flags.
 *
 * @module
 */
import fs from 'node:fs';
import { attachTypeName, InvalidArgumentError } from '@bpfkit/core';
import type { CgroupTarget, Link, Program } from '@bpfkit/core';
import { linkCreate } from '@bpfkit/syscalls';
import { KernelLink } from '../link.js';

/**
 * A cgroup (v2) hook: a cgroup link (BPF_LINK_CREATE on the cgroup's
 * directory fd, 5.7) for `target.attachType` (`AttachType.CGROUP_INET_EGRESS`,
 * …). The link holds the cgroup, so the directory fd is closed at once.
 */
export function attachCgroup(program: Program, target: CgroupTarget): Link {
  if (typeof target.path !== 'string' || !target.path)
    throw new InvalidArgumentError('cgroup target: path', 'a cgroup v2 directory', target.path);
  const label = `cgroup link '${target.path}' (${attachTypeName(target.attachType)}) of program '${program.name}'`;
  const cgroupFd = openCgroup(target.path);
  try {
    const fd = linkCreate(
      { progFd: program.fd, targetFd: cgroupFd, attachType: target.attachType, ...(target.flags ? { flags: target.flags } : {}) },
      { subject: label },
    );
    return new KernelLink(fd, target, label);
  } finally {
    fs.closeSync(cgroupFd);
  }
}

/** Opens a cgroup directory, with a clear error when it cannot. */
export function openCgroup(path: string): number {
  try {
    return fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'an error';
    throw new InvalidArgumentError('cgroup target: path', 'a cgroup v2 directory this process can open', `${path} (${code})`);
  }
}
