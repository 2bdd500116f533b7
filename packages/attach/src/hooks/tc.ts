/**
 * Classic TC: a direct-action `cls_bpf` filter on the interface's `clsact`
 * qdisc, over rtnetlink (the way `tc filter add … bpf da` does it).
 *
 * @module
 */
import fs from 'node:fs';
import { BpfError, Errno, InvalidArgumentError, NotSupportedError, OwnedHandle, ProgramType } from '@bpfkit/core';
import type { Link, LinkInfo, Program, TcTarget } from '@bpfkit/core';
import { inNetns } from '@bpfkit/syscalls';
import { interfaceState } from '../netlink/interfaces.js';
import { decodeAttrs, Nl, readTcmsg, readU32, stringAttr, tcmsg, u32Attr } from '../netlink/message.js';
import { withRtnl } from '../netlink/socket.js';
import type { RtnlSocket } from '../netlink/socket.js';

/** Handles and attributes of <linux/pkt_sched.h> and <linux/pkt_cls.h>. */
const Tc = {
  /** TC_H_CLSACT (== TC_H_INGRESS): the clsact qdisc's parent. */
  H_CLSACT: 0xfffffff1,
  /** The clsact qdisc's own handle, TC_H_MAKE(TC_H_CLSACT, 0). */
  CLSACT_HANDLE: 0xffff0000,
  /** Filter parents: TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS / TC_H_MIN_EGRESS). */
  INGRESS: 0xfffffff2,
  EGRESS: 0xfffffff3,
  KIND: 1,
  OPTIONS: 2,
  BPF_FD: 6,
  BPF_NAME: 7,
  BPF_FLAGS: 8,
  BPF_ID: 11,
  BPF_FLAG_ACT_DIRECT: 1,
  /** htons(ETH_P_ALL), as it sits in the low 16 bits of tcm_info. */
  PROTOCOL_ALL: 0x0003,
} as const;

const htons = (v: number) => (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? ((v & 0xff) << 8) | (v >> 8) : v);
const PROTOCOL = htons(Tc.PROTOCOL_ALL);

/** Where a filter sits: what RTM_DELTFILTER needs to find it again. */
interface FilterPlace {
  netns: string | undefined;
  netnsIno: number;
  ifindex: number;
  parent: number;
  priority: number;
  handle: number;
  progId: number;
}

/**
 * clsact qdiscs bpfkit created, per namespace and interface, with the
 * number of its filters on each: the qdisc is removed when the last of them
 * goes and no other filter is left on it.
 */
const createdQdiscs = new Map<string, number>();
const qdiscKey = (p: { netnsIno: number; ifindex: number }) => `${p.netnsIno}:${p.ifindex}`;

/**
 * Attaches a SCHED_CLS program as a direct-action cls_bpf filter on the
 * clsact qdisc of an interface (creating the qdisc when absent).
 */
export function attachTc(program: Program, target: TcTarget): Link {
  if (program.type !== ProgramType.SCHED_CLS)
    throw new InvalidArgumentError('tc target: program', 'a TC classifier (ProgramType.SCHED_CLS)', program.name);
  if (target.direction !== 'ingress' && target.direction !== 'egress')
    throw new InvalidArgumentError('tc target: direction', "'ingress' or 'egress'", target.direction);
  if (target.priority !== undefined && (!Number.isInteger(target.priority) || target.priority < 1 || target.priority > 0xffff))
    throw new InvalidArgumentError('tc target: priority', 'an integer from 1 to 65535', target.priority);
  if (target.handle !== undefined && (!Number.isInteger(target.handle) || target.handle < 1 || target.handle > 0xffffffff))
    throw new InvalidArgumentError('tc target: handle', 'a positive 32-bit integer', target.handle);
  if (target.replace && (target.priority === undefined || target.handle === undefined))
    throw new InvalidArgumentError('tc target: replace', 'a priority and a handle naming the filter to replace', target);
  return inNetns(target.netns, () =>
    withRtnl((rtnl) => {
      const state = interfaceState(rtnl, target.interface, 'tc target: interface');
      const label = `tc filter '${state.name}' ${target.direction} of program '${program.name}'`;
      const netnsIno = fs.statSync('/proc/thread-self/ns/net').ino;
      const key = qdiscKey({ netnsIno, ifindex: state.ifindex });
      const created = ensureClsact(rtnl, state.ifindex, label);
      if (created) createdQdiscs.set(key, 0);
      let place: FilterPlace;
      try {
        place = addFilter(rtnl, {
          netns: target.netns,
          netnsIno,
          ifindex: state.ifindex,
          parent: target.direction === 'ingress' ? Tc.INGRESS : Tc.EGRESS,
          priority: target.priority ?? 0,
          handle: target.handle ?? 0,
          progFd: program.fd,
          progName: program.name,
          replace: target.replace === true,
          label,
        });
      } catch (err) {
        if (created) {
          createdQdiscs.delete(key);
          deleteClsactIfUnused(rtnl, state.ifindex);
        }
        throw err;
      }
      if (createdQdiscs.has(key)) createdQdiscs.set(key, (createdQdiscs.get(key) ?? 0) + 1);
      place.progId = program.info().id;
      return new TcFilterAttachment(target, place, label);
    }),
  );
}

/** Adds the clsact qdisc; true when this call created it, false when it was there. */
function ensureClsact(rtnl: RtnlSocket, ifindex: number, label: string): boolean {
  try {
    rtnl.request(
      Nl.RTM_NEWQDISC,
      Nl.NLM_F_CREATE | Nl.NLM_F_EXCL,
      tcmsg({ ifindex, handle: Tc.CLSACT_HANDLE, parent: Tc.H_CLSACT }),
      [stringAttr(Tc.KIND, 'clsact')],
      `${label}: add the clsact qdisc`,
    );
    return true;
  } catch (err) {
    if (err instanceof BpfError && err.errno === Errno.EEXIST) return false;
    if (err instanceof BpfError && err.errno === Errno.ENOENT)
      throw new NotSupportedError('the clsact qdisc', '4.5', 'this kernel has no sch_ingress (CONFIG_NET_SCH_INGRESS)');
    throw err;
  }
}

function addFilter(
  rtnl: RtnlSocket,
  f: Omit<FilterPlace, 'progId'> & { progFd: number; progName: string; replace: boolean; label: string },
): FilterPlace {
  const replies = rtnl.request(
    Nl.RTM_NEWTFILTER,
    Nl.NLM_F_CREATE | Nl.NLM_F_ECHO | (f.replace ? Nl.NLM_F_REPLACE : Nl.NLM_F_EXCL),
    tcmsg({ ifindex: f.ifindex, handle: f.handle, parent: f.parent, info: ((f.priority << 16) | PROTOCOL) >>> 0 }),
    [
      stringAttr(Tc.KIND, 'bpf'),
      {
        type: Tc.OPTIONS,
        nested: [u32Attr(Tc.BPF_FD, f.progFd), stringAttr(Tc.BPF_NAME, f.progName), u32Attr(Tc.BPF_FLAGS, Tc.BPF_FLAG_ACT_DIRECT)],
      },
    ],
    f.label,
  );
  // NLM_F_ECHO: the kernel answers with the filter as created, priority and handle filled in.
  const echo = replies.find((m) => m.type === Nl.RTM_NEWTFILTER);
  const t = echo ? readTcmsg(echo.payload) : { handle: f.handle, info: f.priority << 16 };
  return {
    netns: f.netns,
    netnsIno: f.netnsIno,
    ifindex: f.ifindex,
    parent: f.parent,
    priority: t.info >>> 16,
    handle: t.handle,
    progId: 0,
  };
}

/** The id of the program in the bpf filter at `place`, or undefined when no such filter exists. */
function filterProgram(rtnl: RtnlSocket, place: Omit<FilterPlace, 'progId'>): number | undefined {
  try {
    const replies = rtnl.request(
      Nl.RTM_GETTFILTER,
      0,
      tcmsg({ ifindex: place.ifindex, handle: place.handle, parent: place.parent, info: ((place.priority << 16) | PROTOCOL) >>> 0 }),
      [stringAttr(Tc.KIND, 'bpf')],
    );
    const m = replies.find((r) => r.type === Nl.RTM_NEWTFILTER);
    if (!m) return undefined;
    const options = decodeAttrs(m.payload, 20).get(Tc.OPTIONS);
    return options ? readU32(decodeAttrs(options).get(Tc.BPF_ID)) : undefined;
  } catch (err) {
    if (err instanceof BpfError && (err.errno === Errno.ENOENT || err.errno === Errno.EINVAL || err.errno === Errno.ENODEV))
      return undefined;
    throw err;
  }
}

/** Number of filters of any kind on one side of the clsact qdisc. */
function filterCount(rtnl: RtnlSocket, ifindex: number, parent: number): number {
  try {
    return rtnl.request(Nl.RTM_GETTFILTER, Nl.NLM_F_DUMP, tcmsg({ ifindex, parent })).filter((m) => m.type === Nl.RTM_NEWTFILTER).length;
  } catch (err) {
    if (err instanceof BpfError && (err.errno === Errno.EINVAL || err.errno === Errno.ENOENT)) return 0;
    throw err;
  }
}

function deleteClsactIfUnused(rtnl: RtnlSocket, ifindex: number): void {
  if (filterCount(rtnl, ifindex, Tc.INGRESS) > 0 || filterCount(rtnl, ifindex, Tc.EGRESS) > 0) return;
  try {
    rtnl.request(Nl.RTM_DELQDISC, 0, tcmsg({ ifindex, handle: Tc.CLSACT_HANDLE, parent: Tc.H_CLSACT }), [stringAttr(Tc.KIND, 'clsact')]);
  } catch (err) {
    if (!(err instanceof BpfError && (err.errno === Errno.ENOENT || err.errno === Errno.EINVAL || err.errno === Errno.ENODEV))) throw err;
  }
}

/** Removes the filter when it still holds our program, then the qdisc when bpfkit made it and it is left empty. */
function detachFilter(place: FilterPlace, label: string): void {
  try {
    inNetns(place.netns, () =>
      withRtnl((rtnl) => {
        if (filterProgram(rtnl, place) === place.progId) {
          try {
            rtnl.request(
              Nl.RTM_DELTFILTER,
              0,
              tcmsg({
                ifindex: place.ifindex,
                handle: place.handle,
                parent: place.parent,
                info: ((place.priority << 16) | PROTOCOL) >>> 0,
              }),
              [stringAttr(Tc.KIND, 'bpf')],
              `detach ${label}`,
            );
          } catch (err) {
            if (!(err instanceof BpfError && (err.errno === Errno.ENOENT || err.errno === Errno.ENODEV))) throw err;
          }
        }
        const key = qdiscKey(place);
        const users = createdQdiscs.get(key);
        if (users === undefined) return;
        if (users > 1) createdQdiscs.set(key, users - 1);
        else {
          createdQdiscs.delete(key);
          deleteClsactIfUnused(rtnl, place.ifindex);
        }
      }),
    );
  } catch (err) {
    // The namespace is gone, and the interface with its filters.
    if (err instanceof InvalidArgumentError && err.argument === 'netns') return;
    throw err;
  }
}

/**
 * A cls_bpf filter bpfkit added. It stays until detached (this handle's
 * close, or its garbage collection); detaching removes it only while it
 * still holds this handle's program.
 */
class TcFilterAttachment extends OwnedHandle implements Link {
  readonly target: TcTarget;
  readonly #place: FilterPlace;

  constructor(target: TcTarget, place: FilterPlace, label: string) {
    super(label, () => detachFilter(place, label));
    this.target = target;
    this.#place = place;
  }

  info(): LinkInfo & { ifindex: number; direction: 'ingress' | 'egress'; priority: number; handle: number } {
    this.assertOpen();
    const p = this.#place;
    return { kind: 'tc', progId: p.progId, ifindex: p.ifindex, direction: this.target.direction, priority: p.priority, handle: p.handle };
  }

  /** Replaces the program in the same filter (NLM_F_REPLACE at its priority and handle). */
  update(program: Program): void {
    this.assertOpen();
    if (program.closed || program.fd < 0 || program.type !== ProgramType.SCHED_CLS)
      throw new InvalidArgumentError(`${this.label}: update`, 'an open TC classifier program', program.name);
    const p = this.#place;
    inNetns(p.netns, () =>
      withRtnl((rtnl) => addFilter(rtnl, { ...p, progFd: program.fd, progName: program.name, replace: true, label: this.label })),
    );
    p.progId = program.info().id;
  }

  pin(_path: string): never {
    throw new NotSupportedError(`pinning ${this.label}`, '6.6', 'a cls_bpf filter is not a BPF link; attach with a tcx target to pin it');
  }

  unpin(): never {
    throw new NotSupportedError(`unpinning ${this.label}`, '6.6', 'a cls_bpf filter is not a BPF link and has no pin');
  }

  detach(): void {
    this.close();
  }
}
