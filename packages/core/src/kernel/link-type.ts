import { defineKernelEnum, minimumKernelLookup, type LowerName } from './enum.js';

/**
 * Link types: the kernel's `enum bpf_link_type` (uapi `linux/bpf.h`),
 * complete as of Linux 6.18. Names drop the `BPF_LINK_TYPE_` prefix.
 *
 * @example
 * LinkType.TCX;                  // 11
 * linkTypeName(LinkType.NETKIT); // 'netkit'
 */
export const LinkType = {
  UNSPEC: 0,
  RAW_TRACEPOINT: 1,
  TRACING: 2,
  CGROUP: 3,
  ITER: 4,
  NETNS: 5,
  XDP: 6,
  PERF_EVENT: 7,
  KPROBE_MULTI: 8,
  STRUCT_OPS: 9,
  NETFILTER: 10,
  TCX: 11,
  UPROBE_MULTI: 12,
  NETKIT: 13,
  SOCKMAP: 14,
} as const;
/** A number of `enum bpf_link_type`. */
export type LinkType = (typeof LinkType)[keyof typeof LinkType];

const linkTypes = defineKernelEnum('BPF_LINK_TYPE_', LinkType);

/** The canonical name of a link type: `'xdp'`, `'tcx'`, `'perf_event'`, … */
export type LinkTypeName = LowerName<keyof typeof LinkType>;

/** Every link type name, in numeric order (`'unspec'` first). */
export const linkTypeNames: readonly LinkTypeName[] = linkTypes.names;

/**
 * The lower-case name of a link type number, or `unknown(N)`.
 *
 * @example
 * linkTypeName(7); // 'perf_event'
 */
export function linkTypeName(type: number): LinkTypeName | `unknown(${number})` {
  return linkTypes.name(type);
}

/**
 * The link type with this name (`'tcx'`, `'TCX'`, `'BPF_LINK_TYPE_TCX'`), or `undefined`.
 *
 * @example
 * linkTypeFromName('uprobe_multi'); // 12
 */
export function linkTypeFromName(name: string): LinkType | undefined {
  return linkTypes.fromName(name);
}

/**
 * The Linux release that introduced each link type (the enum itself appeared
 * in 5.8, with `bpf_link_info`).
 *
 * @example
 * linkTypeSince.tcx; // '6.6'
 */
export const linkTypeSince: Readonly<Record<LinkTypeName, string>> = {
  unspec: '5.8',
  raw_tracepoint: '5.8',
  tracing: '5.8',
  cgroup: '5.8',
  iter: '5.8',
  netns: '5.8',
  xdp: '5.9',
  perf_event: '5.15',
  kprobe_multi: '5.18',
  struct_ops: '5.19',
  netfilter: '6.4',
  tcx: '6.6',
  uprobe_multi: '6.6',
  netkit: '6.7',
  sockmap: '6.10',
};

/**
 * The Linux release that introduced a link type number, or `undefined`.
 *
 * @example
 * linkTypeMinimumKernel(LinkType.NETKIT); // '6.7'
 */
export const linkTypeMinimumKernel: (type: number) => string | undefined = minimumKernelLookup(linkTypes, linkTypeSince);
