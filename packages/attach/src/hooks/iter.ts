/**
 * Iterators: links whose output is read through BPF_ITER_CREATE.
 *
 * @module
 */
import fs from 'node:fs';
import { AttachType, attachTypeName, InvalidArgumentError, ProgramType, programTypeName } from '@bpfkit/core';
import type { IterTarget, Program } from '@bpfkit/core';
import { BpfCgroupIterOrder, encodeIterLinkInfo, linkCreate } from '@bpfkit/syscalls';
import type { IterLinkInfo } from '@bpfkit/syscalls';
import { IterLink } from '../iter-link.js';
import { openCgroup } from './cgroup.js';
import { expectedAttachTypeOf } from './tracing.js';

const CGROUP_ORDER = {
  self: BpfCgroupIterOrder.BPF_CGROUP_ITER_SELF_ONLY,
  descendants_pre: BpfCgroupIterOrder.BPF_CGROUP_ITER_DESCENDANTS_PRE,
  descendants_post: BpfCgroupIterOrder.BPF_CGROUP_ITER_DESCENDANTS_POST,
  ancestors_up: BpfCgroupIterOrder.BPF_CGROUP_ITER_ANCESTORS_UP,
} as const;

const positiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0 && (v as number) <= 0x7fff_ffff;

/** The `union bpf_iter_link_info` for a target, and the fd it borrows (a cgroup directory), if any. */
function iterInfo(target: IterTarget): { info?: IterLinkInfo; borrowedFd?: number } {
  const given = (['map', 'cgroup', 'task'] as const).filter((k) => target[k] !== undefined);
  if (given.length > 1)
    throw new InvalidArgumentError(
      'iter target',
      'at most one of map, cgroup and task (one union bpf_iter_link_info)',
      given.join(' and '),
    );
  if (target.map !== undefined) {
    const map = target.map;
    if (map === null || typeof map !== 'object' || map.closed || !Number.isInteger(map.fd) || map.fd < 0)
      throw new InvalidArgumentError('iter target: map', 'an open kernel map', map);
    return { info: { map: { mapFd: map.fd } } };
  }
  if (target.task !== undefined) {
    const { pid, tid } = target.task ?? {};
    if ((pid === undefined) === (tid === undefined))
      throw new InvalidArgumentError('iter target: task', 'one of { pid } (a process) and { tid } (a thread)', target.task);
    if (pid !== undefined && !positiveInt(pid)) throw new InvalidArgumentError('iter target: task.pid', 'a process id', pid);
    if (tid !== undefined && !positiveInt(tid)) throw new InvalidArgumentError('iter target: task.tid', 'a thread id', tid);
    return { info: { task: pid !== undefined ? { pid } : { tid: tid as number } } };
  }
  if (target.cgroup !== undefined) {
    const { path, order = 'descendants_pre' } = target.cgroup ?? ({} as { path?: unknown; order?: unknown });
    if (typeof path !== 'string' || !path) throw new InvalidArgumentError('iter target: cgroup.path', 'a cgroup v2 directory', path);
    if (!Object.hasOwn(CGROUP_ORDER, order as string))
      throw new InvalidArgumentError('iter target: cgroup.order', `one of ${Object.keys(CGROUP_ORDER).join(', ')}`, order);
    const fd = openCgroup(path);
    return { info: { cgroup: { cgroupFd: fd, order: CGROUP_ORDER[order as keyof typeof CGROUP_ORDER] } }, borrowedFd: fd };
  }
  return {};
}

/**
 * Attaches an iterator program (TRACING, expected attach type
 * BPF_TRACE_ITER, its `attachBtfId` the `bpf_iter_<target>` function:
 * `bpf_iter_task`, `bpf_iter_bpf_map_elem`, …) as an iterator link (5.8),
 * narrowed to one map (5.9), one cgroup and walk order (6.1; default
 * `'descendants_pre'`), or one process or thread (6.1). Nothing runs until
 * the link is read: {@link IterLink.read}, `text()`, `chunks()`, `stream()`.
 *
 * @throws InvalidArgumentError for a program that is not an iterator, or a target naming more than one object
 * @example
 * using link = attachIter(prog, { kind: 'iter', task: { pid: process.pid } });
 * console.log(link.text());
 */
export function attachIter(program: Program, target: IterTarget): IterLink {
  const attachType = expectedAttachTypeOf(program);
  if (program.type !== ProgramType.TRACING || (attachType !== undefined && attachType !== AttachType.TRACE_ITER)) {
    throw new InvalidArgumentError(
      `iter target: program '${program.name}'`,
      'an iterator program (ProgramType.TRACING loaded with expectedAttachType AttachType.TRACE_ITER)',
      program.type !== ProgramType.TRACING
        ? `a program of type ${programTypeName(program.type)}`
        : `a TRACING program with expected attach type ${attachTypeName(attachType as number)}`,
    );
  }
  const label = `iterator link of program '${program.name}'`;
  const { info, borrowedFd } = iterInfo(target);
  try {
    const fd = linkCreate(
      { progFd: program.fd, attachType: AttachType.TRACE_ITER, ...(info ? { iterInfo: encodeIterLinkInfo(info).bytes } : {}) },
      { subject: label },
    );
    return new IterLink(fd, target, label);
  } finally {
    // The link holds its own reference to the cgroup.
    if (borrowedFd !== undefined) fs.closeSync(borrowedFd);
  }
}
