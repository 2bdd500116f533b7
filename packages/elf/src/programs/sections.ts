import { AttachType, ProgramFlags, ProgramType } from '@bpfkit/core';

/** What a program's ELF section name says about it. */
export interface SectionInfo {
  /** `enum bpf_prog_type`. */
  programType: number;
  /** `enum bpf_attach_type` the kernel expects at load, when the type needs one. */
  expectedAttachType: number | undefined;
  /** What follows the `/` (a function, a tracepoint `group/name`, a binary and symbol …), if anything. */
  attachTo: string | undefined;
  /** `BPF_F_*` program flags implied by the name (sleepable `.s`, XDP `.frags`). */
  flags: number;
  /** The table entry that matched, e.g. `'fentry.s'`. */
  matched: string;
}

type Shape = 'exact' | 'optional-target' | 'target';
interface SectionDef {
  name: string;
  type: number;
  attach?: number;
  flags?: number;
  /** `exact`: only the name; `optional-target`: the name or `name/…`; `target`: `name/…` required. */
  shape: Shape;
}

const S = ProgramFlags.SLEEPABLE;
const FRAGS = ProgramFlags.XDP_HAS_FRAGS;
const P = ProgramType;
const A = AttachType;

/**
 * Section names as libbpf's loader recognises them (facts of its section
 * table as of libbpf 1.6 / Linux 6.18), most specific first: the first
 * entry that matches wins; then goebpf's own names.
 */
const DEFS: readonly SectionDef[] = [
  { name: 'socket', type: P.SOCKET_FILTER, shape: 'optional-target' },
  { name: 'sk_reuseport/migrate', type: P.SK_REUSEPORT, attach: A.SK_REUSEPORT_SELECT_OR_MIGRATE, shape: 'exact' },
  { name: 'sk_reuseport', type: P.SK_REUSEPORT, attach: A.SK_REUSEPORT_SELECT, shape: 'exact' },
  { name: 'kprobe.multi', type: P.KPROBE, attach: A.TRACE_KPROBE_MULTI, shape: 'optional-target' },
  { name: 'kretprobe.multi', type: P.KPROBE, attach: A.TRACE_KPROBE_MULTI, shape: 'optional-target' },
  { name: 'kprobe.session', type: P.KPROBE, attach: A.TRACE_KPROBE_SESSION, shape: 'optional-target' },
  { name: 'uprobe.multi.s', type: P.KPROBE, attach: A.TRACE_UPROBE_MULTI, flags: S, shape: 'optional-target' },
  { name: 'uretprobe.multi.s', type: P.KPROBE, attach: A.TRACE_UPROBE_MULTI, flags: S, shape: 'optional-target' },
  { name: 'uprobe.multi', type: P.KPROBE, attach: A.TRACE_UPROBE_MULTI, shape: 'optional-target' },
  { name: 'uretprobe.multi', type: P.KPROBE, attach: A.TRACE_UPROBE_MULTI, shape: 'optional-target' },
  { name: 'uprobe.session.s', type: P.KPROBE, attach: A.TRACE_UPROBE_SESSION, flags: S, shape: 'optional-target' },
  { name: 'uprobe.session', type: P.KPROBE, attach: A.TRACE_UPROBE_SESSION, shape: 'optional-target' },
  { name: 'kprobe', type: P.KPROBE, shape: 'optional-target' },
  { name: 'kretprobe', type: P.KPROBE, shape: 'optional-target' },
  { name: 'uprobe.s', type: P.KPROBE, flags: S, shape: 'optional-target' },
  { name: 'uretprobe.s', type: P.KPROBE, flags: S, shape: 'optional-target' },
  { name: 'uprobe', type: P.KPROBE, shape: 'optional-target' },
  { name: 'uretprobe', type: P.KPROBE, shape: 'optional-target' },
  { name: 'ksyscall', type: P.KPROBE, shape: 'optional-target' },
  { name: 'kretsyscall', type: P.KPROBE, shape: 'optional-target' },
  { name: 'usdt.s', type: P.KPROBE, flags: S, shape: 'optional-target' },
  { name: 'usdt', type: P.KPROBE, shape: 'optional-target' },
  { name: 'tc/ingress', type: P.SCHED_CLS, attach: A.TCX_INGRESS, shape: 'exact' },
  { name: 'tc/egress', type: P.SCHED_CLS, attach: A.TCX_EGRESS, shape: 'exact' },
  { name: 'tcx/ingress', type: P.SCHED_CLS, attach: A.TCX_INGRESS, shape: 'exact' },
  { name: 'tcx/egress', type: P.SCHED_CLS, attach: A.TCX_EGRESS, shape: 'exact' },
  { name: 'tc', type: P.SCHED_CLS, shape: 'optional-target' },
  { name: 'classifier', type: P.SCHED_CLS, shape: 'optional-target' },
  { name: 'action', type: P.SCHED_ACT, shape: 'optional-target' },
  { name: 'netkit/primary', type: P.SCHED_CLS, attach: A.NETKIT_PRIMARY, shape: 'exact' },
  { name: 'netkit/peer', type: P.SCHED_CLS, attach: A.NETKIT_PEER, shape: 'exact' },
  { name: 'tracepoint', type: P.TRACEPOINT, shape: 'optional-target' },
  { name: 'tp', type: P.TRACEPOINT, shape: 'optional-target' },
  { name: 'raw_tracepoint.w', type: P.RAW_TRACEPOINT_WRITABLE, shape: 'optional-target' },
  { name: 'raw_tp.w', type: P.RAW_TRACEPOINT_WRITABLE, shape: 'optional-target' },
  { name: 'raw_tracepoint', type: P.RAW_TRACEPOINT, shape: 'optional-target' },
  { name: 'raw_tp', type: P.RAW_TRACEPOINT, shape: 'optional-target' },
  { name: 'tp_btf', type: P.TRACING, attach: A.TRACE_RAW_TP, shape: 'target' },
  { name: 'fentry.s', type: P.TRACING, attach: A.TRACE_FENTRY, flags: S, shape: 'target' },
  { name: 'fmod_ret.s', type: P.TRACING, attach: A.MODIFY_RETURN, flags: S, shape: 'target' },
  { name: 'fexit.s', type: P.TRACING, attach: A.TRACE_FEXIT, flags: S, shape: 'target' },
  { name: 'fentry', type: P.TRACING, attach: A.TRACE_FENTRY, shape: 'target' },
  { name: 'fmod_ret', type: P.TRACING, attach: A.MODIFY_RETURN, shape: 'target' },
  { name: 'fexit', type: P.TRACING, attach: A.TRACE_FEXIT, shape: 'target' },
  { name: 'freplace', type: P.EXT, shape: 'target' },
  { name: 'lsm.s', type: P.LSM, attach: A.LSM_MAC, flags: S, shape: 'target' },
  { name: 'lsm_cgroup', type: P.LSM, attach: A.LSM_CGROUP, shape: 'target' },
  { name: 'lsm', type: P.LSM, attach: A.LSM_MAC, shape: 'target' },
  { name: 'iter.s', type: P.TRACING, attach: A.TRACE_ITER, flags: S, shape: 'target' },
  { name: 'iter', type: P.TRACING, attach: A.TRACE_ITER, shape: 'target' },
  { name: 'syscall', type: P.SYSCALL, flags: S, shape: 'exact' },
  { name: 'xdp.frags/devmap', type: P.XDP, attach: A.XDP_DEVMAP, flags: FRAGS, shape: 'exact' },
  { name: 'xdp/devmap', type: P.XDP, attach: A.XDP_DEVMAP, shape: 'exact' },
  { name: 'xdp.frags/cpumap', type: P.XDP, attach: A.XDP_CPUMAP, flags: FRAGS, shape: 'exact' },
  { name: 'xdp/cpumap', type: P.XDP, attach: A.XDP_CPUMAP, shape: 'exact' },
  { name: 'xdp.frags', type: P.XDP, attach: A.XDP, flags: FRAGS, shape: 'exact' },
  { name: 'xdp', type: P.XDP, attach: A.XDP, shape: 'optional-target' },
  { name: 'perf_event', type: P.PERF_EVENT, shape: 'exact' },
  { name: 'lwt_in', type: P.LWT_IN, shape: 'exact' },
  { name: 'lwt_out', type: P.LWT_OUT, shape: 'exact' },
  { name: 'lwt_xmit', type: P.LWT_XMIT, shape: 'exact' },
  { name: 'lwt_seg6local', type: P.LWT_SEG6LOCAL, shape: 'exact' },
  { name: 'sockops', type: P.SOCK_OPS, attach: A.CGROUP_SOCK_OPS, shape: 'exact' },
  { name: 'sk_skb/stream_parser', type: P.SK_SKB, attach: A.SK_SKB_STREAM_PARSER, shape: 'exact' },
  { name: 'sk_skb/stream_verdict', type: P.SK_SKB, attach: A.SK_SKB_STREAM_VERDICT, shape: 'exact' },
  { name: 'sk_skb/verdict', type: P.SK_SKB, attach: A.SK_SKB_VERDICT, shape: 'exact' },
  { name: 'sk_skb', type: P.SK_SKB, shape: 'exact' },
  { name: 'sk_msg', type: P.SK_MSG, attach: A.SK_MSG_VERDICT, shape: 'exact' },
  { name: 'lirc_mode2', type: P.LIRC_MODE2, attach: A.LIRC_MODE2, shape: 'exact' },
  { name: 'flow_dissector', type: P.FLOW_DISSECTOR, attach: A.FLOW_DISSECTOR, shape: 'exact' },
  { name: 'cgroup_skb/ingress', type: P.CGROUP_SKB, attach: A.CGROUP_INET_INGRESS, shape: 'exact' },
  { name: 'cgroup_skb/egress', type: P.CGROUP_SKB, attach: A.CGROUP_INET_EGRESS, shape: 'exact' },
  { name: 'cgroup/skb', type: P.CGROUP_SKB, shape: 'exact' },
  { name: 'cgroup/sock_create', type: P.CGROUP_SOCK, attach: A.CGROUP_INET_SOCK_CREATE, shape: 'exact' },
  { name: 'cgroup/sock_release', type: P.CGROUP_SOCK, attach: A.CGROUP_INET_SOCK_RELEASE, shape: 'exact' },
  { name: 'cgroup/sock', type: P.CGROUP_SOCK, attach: A.CGROUP_INET_SOCK_CREATE, shape: 'exact' },
  { name: 'cgroup/post_bind4', type: P.CGROUP_SOCK, attach: A.CGROUP_INET4_POST_BIND, shape: 'exact' },
  { name: 'cgroup/post_bind6', type: P.CGROUP_SOCK, attach: A.CGROUP_INET6_POST_BIND, shape: 'exact' },
  { name: 'cgroup/bind4', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET4_BIND, shape: 'exact' },
  { name: 'cgroup/bind6', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET6_BIND, shape: 'exact' },
  { name: 'cgroup/connect4', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET4_CONNECT, shape: 'exact' },
  { name: 'cgroup/connect6', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET6_CONNECT, shape: 'exact' },
  { name: 'cgroup/connect_unix', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UNIX_CONNECT, shape: 'exact' },
  { name: 'cgroup/sendmsg4', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UDP4_SENDMSG, shape: 'exact' },
  { name: 'cgroup/sendmsg6', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UDP6_SENDMSG, shape: 'exact' },
  { name: 'cgroup/sendmsg_unix', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UNIX_SENDMSG, shape: 'exact' },
  { name: 'cgroup/recvmsg4', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UDP4_RECVMSG, shape: 'exact' },
  { name: 'cgroup/recvmsg6', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UDP6_RECVMSG, shape: 'exact' },
  { name: 'cgroup/recvmsg_unix', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UNIX_RECVMSG, shape: 'exact' },
  { name: 'cgroup/getpeername4', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET4_GETPEERNAME, shape: 'exact' },
  { name: 'cgroup/getpeername6', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET6_GETPEERNAME, shape: 'exact' },
  { name: 'cgroup/getpeername_unix', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UNIX_GETPEERNAME, shape: 'exact' },
  { name: 'cgroup/getsockname4', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET4_GETSOCKNAME, shape: 'exact' },
  { name: 'cgroup/getsockname6', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET6_GETSOCKNAME, shape: 'exact' },
  { name: 'cgroup/getsockname_unix', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UNIX_GETSOCKNAME, shape: 'exact' },
  { name: 'cgroup/sysctl', type: P.CGROUP_SYSCTL, attach: A.CGROUP_SYSCTL, shape: 'exact' },
  { name: 'cgroup/getsockopt', type: P.CGROUP_SOCKOPT, attach: A.CGROUP_GETSOCKOPT, shape: 'exact' },
  { name: 'cgroup/setsockopt', type: P.CGROUP_SOCKOPT, attach: A.CGROUP_SETSOCKOPT, shape: 'exact' },
  { name: 'cgroup/dev', type: P.CGROUP_DEVICE, attach: A.CGROUP_DEVICE, shape: 'exact' },
  { name: 'struct_ops.s', type: P.STRUCT_OPS, flags: S, shape: 'optional-target' },
  { name: 'struct_ops', type: P.STRUCT_OPS, shape: 'optional-target' },
  { name: 'sk_lookup', type: P.SK_LOOKUP, attach: A.SK_LOOKUP, shape: 'exact' },
  { name: 'netfilter', type: P.NETFILTER, attach: A.NETFILTER, shape: 'exact' },
  // goebpf's names (its loader takes what precedes a '/'), which libbpf does not know.
  { name: 'socket_filter', type: P.SOCKET_FILTER, shape: 'optional-target' },
  { name: 'tc_cls', type: P.SCHED_CLS, shape: 'optional-target' },
  { name: 'tc_act', type: P.SCHED_ACT, shape: 'optional-target' },
];

/**
 * Reads a program's section name the way libbpf does: program type,
 * expected attach type, attach target and implied flags; undefined for a
 * section that is not a program.
 *
 * @example
 * sectionInfo('fentry.s/do_unlinkat');
 * // { programType: ProgramType.TRACING, expectedAttachType: AttachType.TRACE_FENTRY, attachTo: 'do_unlinkat', flags: SLEEPABLE, matched: 'fentry.s' }
 */
export function sectionInfo(section: string): SectionInfo | undefined {
  for (const def of DEFS) {
    let attachTo: string | undefined;
    if (section === def.name) {
      if (def.shape === 'target') continue;
    } else if (section.startsWith(`${def.name}/`)) {
      if (def.shape === 'exact') continue;
      attachTo = section.slice(def.name.length + 1);
    } else continue;
    return { programType: def.type, expectedAttachType: def.attach, attachTo, flags: def.flags ?? 0, matched: def.name };
  }
  return undefined;
}

/** Every section name prefix bpfkit recognises, for error messages and docs. */
export const knownSections: readonly string[] = DEFS.map((d) => d.name);
