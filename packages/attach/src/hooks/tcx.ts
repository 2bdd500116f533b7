/**
 * tcx (6.6): TC programs as links in an ordered list per interface and
 * direction, without a qdisc.
 *
 * @module
 */
import { AttachFlags, AttachType, InvalidArgumentError, ProgramType } from '@bpfkit/core';
import type { Link, Program, TcxAnchor, TcxTarget } from '@bpfkit/core';
import { inNetns, linkCreate, progQuery } from '@bpfkit/syscalls';
import { KernelLink } from '../link.js';
import { interfaceState } from '../netlink/interfaces.js';
import { withRtnl } from '../netlink/socket.js';

/** BPF_F_BEFORE/AFTER plus the anchor: a program fd, a link fd (BPF_F_LINK) or none ('all': first or last). */
function ordering(target: TcxTarget): { flags: number; relativeFd?: number } {
  if (target.before !== undefined && target.after !== undefined)
    throw new InvalidArgumentError('tcx target', 'either before or after, not both', target);
  const side = target.before !== undefined ? 'before' : target.after !== undefined ? 'after' : undefined;
  if (side === undefined) return { flags: 0 };
  const anchor = (target.before ?? target.after) as TcxAnchor | 'all';
  const flag = side === 'before' ? AttachFlags.BEFORE : AttachFlags.AFTER;
  if (anchor === 'all') return { flags: flag };
  if (anchor === null || typeof anchor !== 'object' || anchor.closed || typeof anchor.fd !== 'number' || anchor.fd < 0)
    throw new InvalidArgumentError(`tcx target: ${side}`, "an open program or link of this hook, or 'all'", anchor);
  const isProgram = 'testRun' in anchor;
  return { flags: flag | (isProgram ? 0 : AttachFlags.LINK), relativeFd: anchor.fd };
}

/** Attaches a SCHED_CLS program through a tcx link, ordered by `before`/`after`. */
export function attachTcx(program: Program, target: TcxTarget): Link {
  if (program.type !== ProgramType.SCHED_CLS)
    throw new InvalidArgumentError('tcx target: program', 'a TC classifier (ProgramType.SCHED_CLS)', program.name);
  if (target.direction !== 'ingress' && target.direction !== 'egress')
    throw new InvalidArgumentError('tcx target: direction', "'ingress' or 'egress'", target.direction);
  if (target.expectedRevision !== undefined && typeof target.expectedRevision !== 'bigint')
    throw new InvalidArgumentError('tcx target: expectedRevision', 'a bigint revision from a query', target.expectedRevision);
  const { flags, relativeFd } = ordering(target);
  return inNetns(target.netns, () => {
    const state = withRtnl((rtnl) => interfaceState(rtnl, target.interface, 'tcx target: interface'));
    const label = `tcx link '${state.name}' ${target.direction} of program '${program.name}'`;
    const fd = linkCreate(
      {
        progFd: program.fd,
        targetIfindex: state.ifindex,
        attachType: target.direction === 'ingress' ? AttachType.TCX_INGRESS : AttachType.TCX_EGRESS,
        flags,
        tcx: {
          ...(relativeFd !== undefined ? { relativeFd } : {}),
          ...(target.expectedRevision !== undefined ? { expectedRevision: target.expectedRevision } : {}),
        },
      },
      { subject: label },
    );
    return new KernelLink(fd, target, label);
  });
}

/** What is attached to one tcx hook, in the order it runs. */
export interface TcxHookState {
  /** Program ids, first to run first. */
  programs: number[];
  /** The link id of each program (0 for one attached without a link). */
  links: number[];
  /** The hook's revision: pass it as `expectedRevision` to attach only if nothing changed meanwhile. */
  revision: bigint;
}

/**
 * Lists the programs of an interface's tcx hook (BPF_PROG_QUERY, 6.6).
 *
 * @example
 * const { programs, revision } = queryTcx({ interface: 'eth1', direction: 'ingress' });
 */
export function queryTcx(where: { interface: TcxTarget['interface']; direction: 'ingress' | 'egress'; netns?: string }): TcxHookState {
  if (where.direction !== 'ingress' && where.direction !== 'egress')
    throw new InvalidArgumentError('tcx query: direction', "'ingress' or 'egress'", where.direction);
  return inNetns(where.netns, () => {
    const state = withRtnl((rtnl) => interfaceState(rtnl, where.interface, 'tcx query: interface'));
    const attachType = where.direction === 'ingress' ? AttachType.TCX_INGRESS : AttachType.TCX_EGRESS;
    const subject = `query tcx ${where.direction} of '${state.name}'`;
    // Ask for the count first, then for that many ids (the hook may grow meanwhile: ask again).
    for (let capacity = 64; ; capacity *= 4) {
      const progIds = new Uint8Array(capacity * 4);
      const linkIds = new Uint8Array(capacity * 4);
      const r = progQuery({ targetIfindex: state.ifindex, attachType, progIds, linkIds, progCnt: capacity }, { subject });
      if (r.progCnt > capacity) continue;
      const ids = (b: Uint8Array) => Array.from(new Uint32Array(b.buffer, 0, r.progCnt));
      return { programs: ids(progIds), links: ids(linkIds), revision: r.revision };
    }
  });
}
