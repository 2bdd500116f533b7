/**
 * Network interfaces by name or index, and what XDP has attached to them,
 * asked over rtnetlink in the namespace the socket belongs to.
 *
 * @module
 */
import { Errno, InvalidArgumentError } from '@bpfkit/core';
import type { InterfaceRef } from '@bpfkit/core';
import { decodeAttrs, ifinfomsg, Nl, readIfinfomsgIndex, readString, readU32, stringAttr } from './message.js';
import { isErrno } from './socket.js';
import type { RtnlSocket } from './socket.js';

/** IFLA_* attributes of <linux/if_link.h> that bpfkit reads or writes. */
export const Ifla = {
  IFNAME: 3,
  EXT_MASK: 29,
  XDP: 43,
  XDP_FD: 1,
  XDP_ATTACHED: 2,
  XDP_FLAGS: 3,
  XDP_PROG_ID: 4,
  XDP_DRV_PROG_ID: 5,
  XDP_SKB_PROG_ID: 6,
  XDP_HW_PROG_ID: 7,
  XDP_EXPECTED_FD: 8,
} as const;

/** What RTM_GETLINK says about one interface. */
export interface InterfaceState {
  ifindex: number;
  name: string;
  /** XDP programs attached per mode (program ids, 0 = none). */
  xdp: { native: number; generic: number; offload: number };
}

/**
 * RTM_GETLINK of one interface (by name or index) in the socket's
 * namespace; an unknown one is an InvalidArgumentError naming it.
 */
export function interfaceState(rtnl: RtnlSocket, ref: InterfaceRef, what = 'interface'): InterfaceState {
  let byName = false;
  if (typeof ref === 'string') {
    if (!ref || ref.length > 15 || ref.includes('/'))
      throw new InvalidArgumentError(what, 'an interface name (1-15 characters, IFNAMSIZ) or an index', ref);
    byName = true;
  } else if (!Number.isInteger(ref) || ref <= 0) {
    throw new InvalidArgumentError(what, 'an interface name or a positive interface index', ref);
  }
  let replies: ReturnType<RtnlSocket['request']>;
  try {
    replies = rtnl.request(
      Nl.RTM_GETLINK,
      0,
      ifinfomsg(byName ? 0 : (ref as number)),
      byName ? [stringAttr(Ifla.IFNAME, ref as string)] : [],
      `look up interface '${ref}'`,
    );
  } catch (err) {
    if (isErrno(err, Errno.ENODEV)) throw new InvalidArgumentError(what, 'an interface of the network namespace it is looked up in', ref);
    throw err;
  }
  const reply = replies.find((m) => m.type === Nl.RTM_NEWLINK);
  if (!reply) throw new InvalidArgumentError(what, 'an interface of the network namespace it is looked up in', ref);
  // struct ifinfomsg is 16 bytes; attributes follow.
  const attrs = decodeAttrs(reply.payload, 16);
  const xdp = attrs.has(Ifla.XDP) ? decodeAttrs(attrs.get(Ifla.XDP) as Uint8Array) : new Map<number, Uint8Array>();
  // Older kernels report one program (XDP_PROG_ID) with its mode in XDP_ATTACHED (1 drv, 2 skb, 3 hw, 4 multi).
  const attached = xdp.get(Ifla.XDP_ATTACHED)?.[0] ?? 0;
  const single = readU32(xdp.get(Ifla.XDP_PROG_ID)) ?? 0;
  return {
    ifindex: readIfinfomsgIndex(reply.payload),
    name: readString(attrs.get(Ifla.IFNAME)) ?? String(ref),
    xdp: {
      native: readU32(xdp.get(Ifla.XDP_DRV_PROG_ID)) ?? (attached === 1 ? single : 0),
      generic: readU32(xdp.get(Ifla.XDP_SKB_PROG_ID)) ?? (attached === 2 ? single : 0),
      offload: readU32(xdp.get(Ifla.XDP_HW_PROG_ID)) ?? (attached === 3 ? single : 0),
    },
  };
}
