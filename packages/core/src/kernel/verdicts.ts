/**
 * What programs return, by hook: the values the kernel acts on.
 *
 * @module
 */

/**
 * XDP actions (`enum xdp_action`, uapi linux/bpf.h).
 *
 * @example
 * prog.testRun({ data: packet }).returnValue === XdpAction.DROP;
 */
export const XdpAction = {
  ABORTED: 0,
  DROP: 1,
  PASS: 2,
  TX: 3,
  REDIRECT: 4,
} as const;

/**
 * TC actions of a direct-action classifier (`TC_ACT_*`, uapi linux/pkt_cls.h).
 *
 * @example
 * const verdict = TcAction.OK; // let the packet go
 */
export const TcAction = {
  /** Use the default action configured for the filter (-1). */
  UNSPEC: -1,
  OK: 0,
  RECLASSIFY: 1,
  SHOT: 2,
  PIPE: 3,
  STOLEN: 4,
  QUEUED: 5,
  REPEAT: 6,
  REDIRECT: 7,
  TRAP: 8,
} as const;

/**
 * Socket filter results: how many bytes of the packet to keep; 0 drops it
 * (SO_ATTACH_BPF filters truncate to the returned length).
 *
 * @example
 * const keepWhole = SocketFilter.ACCEPT;
 */
export const SocketFilter = {
  DROP: 0,
  /** Keep the whole packet (any length at least the packet's; `0xffffffff` by convention). */
  ACCEPT: 0xffffffff,
} as const;

/**
 * cgroup skb, sock and sockopt programs: 1 lets the operation go, 0 refuses it (EPERM).
 *
 * @example
 * const allow = CgroupVerdict.ALLOW;
 */
export const CgroupVerdict = {
  REJECT: 0,
  ALLOW: 1,
} as const;
