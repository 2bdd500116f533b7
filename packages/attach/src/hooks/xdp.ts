/**
 * XDP on a network interface: a bpf_link (5.9), or IFLA_XDP over rtnetlink,
 * the only way before 5.9.
 *
 * @module
 */
import { AttachType, BpfError, Errno, InvalidArgumentError, NotSupportedError, OwnedHandle, ProgramType } from '@bpfkit/core';
import type { Link, LinkInfo, Program, XdpTarget } from '@bpfkit/core';
import { inNetns, linkCreate, probeFeature } from '@bpfkit/syscalls';
import { KernelLink } from '../link.js';
import { Ifla, interfaceState } from '../netlink/interfaces.js';
import { ifinfomsg, Nl, s32Attr, u32Attr } from '../netlink/message.js';
import { withRtnl } from '../netlink/socket.js';
import type { RtnlSocket } from '../netlink/socket.js';
import { withProgramFd } from './attachment.js';

/** XDP_FLAGS_* of <linux/if_link.h>. */
export const XdpFlags = {
  UPDATE_IF_NOEXIST: 1 << 0,
  SKB_MODE: 1 << 1,
  DRV_MODE: 1 << 2,
  HW_MODE: 1 << 3,
  /** 5.7: replace only the program given in IFLA_XDP_EXPECTED_FD. */
  REPLACE: 1 << 4,
} as const;

const MODE_FLAGS = { native: XdpFlags.DRV_MODE, generic: XdpFlags.SKB_MODE } as const;

/**
 * Attaches an XDP program: as a link by default where the kernel has XDP
 * links, over netlink otherwise or when asked (`method: 'netlink'`).
 * The interface is looked up, and the attachment made, inside `netns` when
 * given.
 */
export function attachXdp(program: Program, target: XdpTarget): Link {
  if (program.type !== ProgramType.XDP)
    throw new InvalidArgumentError('xdp target: program', 'an XDP program (ProgramType.XDP)', program.name);
  if (target.mode === 'offload') {
    throw new NotSupportedError(
      'XDP offload (XDP_FLAGS_HW_MODE)',
      undefined,
      'offload needs a program loaded for one device (prog_ifindex) and a NIC that runs BPF; use mode native or generic',
      'bpfkit',
    );
  }
  if (target.mode !== undefined && !(target.mode in MODE_FLAGS))
    throw new InvalidArgumentError('xdp target: mode', "'native', 'generic' or left out", target.mode);
  if (target.method !== undefined && target.method !== 'link' && target.method !== 'netlink')
    throw new InvalidArgumentError('xdp target: method', "'link', 'netlink' or left out", target.method);
  const method = target.method ?? (probeFeature('link:xdp').has ? 'link' : 'netlink');
  if (method === 'link' && target.replace !== undefined) {
    throw new InvalidArgumentError(
      'xdp target: replace',
      "no replace with an XDP link (a second link on a hook is EBUSY; replace a link's program with link.update(), or use method 'netlink')",
      target.replace === 'any' ? 'any' : 'a program',
    );
  }
  if (target.replace !== undefined && target.replace !== 'any' && (typeof target.replace !== 'object' || target.replace.fd < 0))
    throw new InvalidArgumentError('xdp target: replace', "an open kernel program or 'any'", target.replace);
  const modeFlags = target.mode ? MODE_FLAGS[target.mode] : 0;
  return inNetns(target.netns, () => {
    const state = withRtnl((rtnl) => interfaceState(rtnl, target.interface, 'xdp target: interface'));
    const label = `xdp ${method === 'link' ? 'link' : 'attachment'} '${state.name}'${target.mode ? ` (${target.mode})` : ''} of program '${program.name}'`;
    if (method === 'link') {
      const fd = linkCreate(
        { progFd: program.fd, targetIfindex: state.ifindex, attachType: AttachType.XDP, flags: modeFlags },
        { subject: label },
      );
      return new KernelLink(fd, target, label);
    }
    const flags = modeFlags | (target.replace === undefined ? XdpFlags.UPDATE_IF_NOEXIST : target.replace === 'any' ? 0 : XdpFlags.REPLACE);
    const expectedFd = typeof target.replace === 'object' ? target.replace.fd : undefined;
    withRtnl((rtnl) => setXdp(rtnl, state.ifindex, program.fd, flags, expectedFd, label));
    return new NetlinkXdpAttachment(program, target, state.ifindex, modeFlags, label);
  });
}

/** RTM_SETLINK with IFLA_XDP { FD, FLAGS, EXPECTED_FD }: attaches (`progFd`) or detaches (-1). */
function setXdp(rtnl: RtnlSocket, ifindex: number, progFd: number, flags: number, expectedFd: number | undefined, subject: string): void {
  const nested = [s32Attr(Ifla.XDP_FD, progFd), u32Attr(Ifla.XDP_FLAGS, flags)];
  if (expectedFd !== undefined) nested.push(s32Attr(Ifla.XDP_EXPECTED_FD, expectedFd));
  try {
    rtnl.request(Nl.RTM_SETLINK, 0, ifinfomsg(ifindex), [{ type: Ifla.XDP, nested }], subject);
  } catch (err) {
    if (err instanceof BpfError && err.errno === Errno.EBUSY && flags & XdpFlags.UPDATE_IF_NOEXIST) {
      throw new BpfError(Errno.EBUSY, {
        syscall: 'netlink',
        command: 'RTM_SETLINK',
        subject,
        hint: "the interface already has an XDP program: pass replace: 'any' (or the program to replace) to replace it",
      });
    }
    throw err;
  }
}

/**
 * An XDP program attached over netlink. It stays attached until detached
 * (by this handle's close, or its garbage collection); detaching removes
 * only this program (XDP_FLAGS_REPLACE with it as the expected one), never
 * one that replaced it meanwhile.
 */
class NetlinkXdpAttachment extends OwnedHandle implements Link {
  readonly target: XdpTarget;
  readonly #state: { progId: number; ifindex: number; modeFlags: number; netns: string | undefined };

  constructor(program: Program, target: XdpTarget, ifindex: number, modeFlags: number, label: string) {
    const state = { progId: program.info().id, ifindex, modeFlags, netns: target.netns };
    super(label, () => detachNetlinkXdp(state, label));
    this.target = target;
    this.#state = state;
  }

  info(): LinkInfo & { ifindex: number; mode: 'native' | 'generic' | 'default'; method: 'netlink' } {
    this.assertOpen();
    const { modeFlags } = this.#state;
    return {
      kind: 'xdp',
      progId: this.#state.progId,
      ifindex: this.#state.ifindex,
      mode: modeFlags & XdpFlags.DRV_MODE ? 'native' : modeFlags & XdpFlags.SKB_MODE ? 'generic' : 'default',
      method: 'netlink',
    };
  }

  /** Replaces the program atomically (XDP_FLAGS_REPLACE, 5.7). */
  update(program: Program): void {
    this.assertOpen();
    if (program.closed || program.fd < 0 || program.type !== ProgramType.XDP)
      throw new InvalidArgumentError(`${this.label}: update`, 'an open XDP program', program.name);
    const s = this.#state;
    inNetns(s.netns, () =>
      withProgramFd(s.progId, (currentFd) =>
        withRtnl((rtnl) => setXdp(rtnl, s.ifindex, program.fd, s.modeFlags | XdpFlags.REPLACE, currentFd, this.label)),
      ),
    );
    s.progId = program.info().id;
  }

  pin(_path: string): never {
    throw new NotSupportedError(
      `pinning ${this.label}`,
      '5.9',
      'an XDP attachment made over netlink is not a BPF link; attach with an XDP link to pin it',
    );
  }

  unpin(): never {
    throw new NotSupportedError(`unpinning ${this.label}`, '5.9', 'an XDP attachment made over netlink is not a BPF link and has no pin');
  }

  detach(): void {
    this.close();
  }
}

function detachNetlinkXdp(s: { progId: number; ifindex: number; modeFlags: number; netns: string | undefined }, label: string): void {
  try {
    inNetns(s.netns, () =>
      withProgramFd(s.progId, (ownFd) =>
        withRtnl((rtnl) => {
          try {
            setXdp(rtnl, s.ifindex, -1, s.modeFlags | XdpFlags.REPLACE, ownFd, `detach ${label}`);
          } catch (err) {
            // EEXIST: another program replaced ours — leave it. ENODEV: the interface is gone, and ours with it.
            if (err instanceof BpfError && (err.errno === Errno.EEXIST || err.errno === Errno.ENODEV)) return;
            if (err instanceof BpfError && err.errno === Errno.EINVAL) {
              // Before 5.7 there is no XDP_FLAGS_REPLACE: detach when ours is still the one attached.
              const state = interfaceState(rtnl, s.ifindex);
              if ([state.xdp.native, state.xdp.generic].includes(s.progId))
                setXdp(rtnl, s.ifindex, -1, s.modeFlags, undefined, `detach ${label}`);
              return;
            }
            throw err;
          }
        }),
      ),
    );
  } catch (err) {
    // The namespace file is gone: so is the interface, and the program came off with it.
    if (err instanceof InvalidArgumentError && err.argument === 'netns') return;
    throw err;
  }
}
