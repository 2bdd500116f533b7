/**
 * cgroup v2 hooks: links, or BPF_PROG_ATTACH with its flags.
 *
 * @module
 */
import fs from 'node:fs';
import { AttachFlags, attachTypeName, BpfError, Errno, InvalidArgumentError } from '@bpfkit/core';
import type { CgroupTarget, Link, Program } from '@bpfkit/core';
import { linkCreate, progAttach, progQuery } from '@bpfkit/syscalls';
import { KernelLink } from '../link.js';
import { withProgramFd } from './attachment.js';
import { ProgAttachment } from './prog-attachment.js';
import type { ProgAttachHook, ProgAttachState } from './prog-attachment.js';

/** The flags that belong to BPF_PROG_ATTACH only (a cgroup link is always one of many). */
const ATTACH_ONLY = AttachFlags.ALLOW_OVERRIDE | AttachFlags.ALLOW_MULTI | AttachFlags.REPLACE;

/**
 * A cgroup (v2) hook for `target.attachType` (`AttachType.CGROUP_INET_EGRESS`,
 * `CGROUP_SOCK_OPS`, …). `method: 'link'` (the default): a cgroup link
 * (BPF_LINK_CREATE on the cgroup's directory fd, 5.7), which holds the
 * cgroup, so the directory fd is closed at once. `method: 'attach'`:
 * BPF_PROG_ATTACH with `target.flags` (see {@link attachCgroupProgram}).
 */
export function attachCgroup(program: Program, target: CgroupTarget): Link {
  if (typeof target.path !== 'string' || !target.path)
    throw new InvalidArgumentError('cgroup target: path', 'a cgroup v2 directory', target.path);
  if (target.method !== undefined && target.method !== 'link' && target.method !== 'attach')
    throw new InvalidArgumentError('cgroup target: method', "'link', 'attach' or left out", target.method);
  if (target.flags !== undefined && (!Number.isInteger(target.flags) || target.flags < 0))
    throw new InvalidArgumentError('cgroup target: flags', 'AttachFlags bits', target.flags);
  if (target.method === 'attach') return attachCgroupProgram(program, target);
  if (target.replace !== undefined || ((target.flags ?? 0) & ATTACH_ONLY) !== 0) {
    throw new InvalidArgumentError(
      'cgroup target',
      "no ALLOW_MULTI, ALLOW_OVERRIDE, REPLACE nor replace with a cgroup link (links are always one of many; replace a link's program with link.update(), or use method 'attach')",
      `flags ${target.flags ?? 0}${target.replace ? ', replace' : ''}`,
    );
  }
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

/**
 * BPF_PROG_ATTACH to a cgroup, with `target.flags`: none (the one program
 * of the hook, which a later attach replaces), ALLOW_OVERRIDE (the same,
 * and descendant cgroups may attach their own instead) or ALLOW_MULTI
 * (one of many, run in attach order). `target.replace`, with ALLOW_MULTI,
 * swaps that attached program for this one in place (BPF_F_REPLACE, 5.6).
 *
 * The attachment keeps the cgroup's directory open and stays until
 * detached; detaching removes only its own program, found again by id,
 * never one that replaced it meanwhile. `update(program)` replaces the
 * program in place (BPF_F_REPLACE with ALLOW_MULTI; a plain attach, which
 * replaces the hook's one program, otherwise).
 */
export function attachCgroupProgram(program: Program, target: CgroupTarget): ProgAttachment<CgroupTarget> {
  if (program === null || typeof program !== 'object' || program.closed || program.fd < 0)
    throw new InvalidArgumentError('cgroup target: program', 'an open kernel program', program?.name ?? program);
  const flags = (target.flags ?? 0) & ~AttachFlags.REPLACE;
  const multi = (flags & AttachFlags.ALLOW_MULTI) !== 0;
  const replace = target.replace;
  if (replace !== undefined) {
    if (replace === null || typeof replace !== 'object' || replace.closed || replace.fd < 0)
      throw new InvalidArgumentError('cgroup target: replace', 'an open kernel program attached to the hook', replace?.name ?? replace);
    if (!multi)
      throw new InvalidArgumentError('cgroup target: flags', 'AttachFlags.ALLOW_MULTI with replace (BPF_F_REPLACE needs it)', target.flags);
  }
  const label = `cgroup attachment '${target.path}' (${attachTypeName(target.attachType)}) of program '${program.name}'`;
  const progId = program.info().id;
  const cgroupFd = openCgroup(target.path);
  try {
    progAttach(
      {
        targetFd: cgroupFd,
        attachBpfFd: program.fd,
        attachType: target.attachType,
        attachFlags: replace ? flags | AttachFlags.REPLACE : flags,
        ...(replace ? { replaceBpfFd: replace.fd } : {}),
      },
      { subject: label },
    );
  } catch (err) {
    fs.closeSync(cgroupFd);
    throw err;
  }
  const hook: ProgAttachHook<CgroupTarget> = {
    kind: 'cgroup',
    what: 'a program attached to a cgroup with BPF_PROG_ATTACH',
    target,
    describe: () => ({ path: target.path, flags }),
    replace(state, next, where) {
      if (next === null || typeof next !== 'object' || next.closed || next.fd < 0)
        throw new InvalidArgumentError(`${where}: update`, 'an open kernel program', next?.name ?? next);
      const attach = (replaceFd?: number) =>
        progAttach(
          {
            targetFd: state.targetFd,
            attachBpfFd: next.fd,
            attachType: state.attachType,
            attachFlags: replaceFd === undefined ? flags : flags | AttachFlags.REPLACE,
            ...(replaceFd === undefined ? {} : { replaceBpfFd: replaceFd }),
          },
          { subject: `${where}: update` },
        );
      if (!multi) attach();
      else if (!withProgramFd(state.progId, (current) => attach(current)))
        throw new InvalidArgumentError(`${where}: update`, 'its program still loaded and attached', `program id ${state.progId} (gone)`);
    },
    // Without ALLOW_MULTI the kernel detaches whatever program the hook has, whichever fd is given: look first.
    ...(multi ? {} : { stillAttached: (state: ProgAttachState) => attachedIds(state).includes(state.progId) }),
  };
  return new ProgAttachment(hook, { targetFd: cgroupFd, attachType: target.attachType, progId }, label);
}

/** The ids of the programs attached to the cgroup hook (BPF_PROG_QUERY, without the inherited ones). */
function attachedIds(state: ProgAttachState): number[] {
  // Room for a few more than there are: a program attached between the two calls makes the second ENOSPC; then ask again.
  for (let attempt = 0; ; attempt++) {
    const { progCnt } = progQuery({ targetFd: state.targetFd, attachType: state.attachType });
    if (progCnt === 0) return [];
    const ids = new Uint8Array((progCnt + 8) * 4);
    try {
      const { progCnt: n } = progQuery({ targetFd: state.targetFd, attachType: state.attachType, progIds: ids });
      const view = new DataView(ids.buffer);
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push(view.getUint32(i * 4, HOST_LE));
      return out;
    } catch (err) {
      if (attempt < 3 && err instanceof BpfError && err.errno === Errno.ENOSPC) continue;
      throw err;
    }
  }
}

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Opens a cgroup directory, with a clear error when it cannot. */
export function openCgroup(path: string): number {
  try {
    return fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'an error';
    throw new InvalidArgumentError('cgroup target: path', 'a cgroup v2 directory this process can open', `${path} (${code})`);
  }
}
