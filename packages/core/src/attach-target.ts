/**
 * Where a program attaches: one discriminated union (`kind`) that both
 * backends accept. Each member names the hook the way its users know it.
 *
 * @module
 */
import type { Link, Map, Program } from './interfaces.js';

/** A network interface by name (`'eth1'`) or index. */
export type InterfaceRef = string | number;

/**
 * An XDP hook on a network interface.
 *
 * @example
 * const target: XdpTarget = { kind: 'xdp', interface: 'veth0', mode: 'generic' };
 */
export interface XdpTarget {
  kind: 'xdp';
  interface: InterfaceRef;
  /**
   * `'native'` (in the driver, XDP_FLAGS_DRV_MODE), `'generic'` (after the
   * skb is built, XDP_FLAGS_SKB_MODE), `'offload'` (on the NIC: refused,
   * bpfkit loads no device-bound programs). Default: the kernel picks,
   * native where the driver supports it.
   */
  mode?: 'native' | 'generic' | 'offload';
  /**
   * `'link'`: a bpf_link (5.9), detached when the last reference goes;
   * `'netlink'`: IFLA_XDP over rtnetlink, the only way before 5.9, which
   * stays attached until detached. Default: a link when the kernel has XDP
   * links, netlink otherwise.
   */
  method?: 'link' | 'netlink';
  /**
   * netlink only. Without it the attach fails when the interface already
   * has a program (XDP_FLAGS_UPDATE_IF_NOEXIST); `'any'` replaces whatever
   * is there; a Program replaces only that program (XDP_FLAGS_REPLACE, 5.7).
   * Links never replace: a second link on the same hook is EBUSY.
   */
  replace?: Program | 'any';
  /** The network namespace the interface is in (`/run/netns/<name>`, `/proc/<pid>/ns/net`); default this thread's. */
  netns?: string;
}

/**
 * A classic TC hook: a direct-action `cls_bpf` filter on the interface's
 * `clsact` qdisc (created when absent, removed at detach when bpfkit created
 * it and no filter is left on it).
 *
 * @example
 * const target: TcTarget = { kind: 'tc', interface: 'veth0', direction: 'ingress', priority: 1 };
 */
export interface TcTarget {
  kind: 'tc';
  interface: InterfaceRef;
  direction: 'ingress' | 'egress';
  /** Filter priority, 1–65535 (lower runs first); default: the kernel allocates one. */
  priority?: number;
  /** Filter handle; default: the kernel allocates one. */
  handle?: number;
  /** Replace a filter at the same priority and handle (NLM_F_REPLACE) instead of failing with EEXIST. */
  replace?: boolean;
  /** The network namespace the interface is in; default this thread's. */
  netns?: string;
}

/** A program or link that a tcx attachment is ordered against. */
export type TcxAnchor = Program | (Link & { readonly fd: number });

/**
 * A tcx hook (6.6): a link in the interface's ordered list of TC programs.
 * Without `before`/`after` the program runs after those already there.
 *
 * @example
 * const target: TcxTarget = { kind: 'tcx', interface: 'veth0', direction: 'egress', before: 'all' };
 */
export interface TcxTarget {
  kind: 'tcx';
  interface: InterfaceRef;
  direction: 'ingress' | 'egress';
  /** Run before this program or link, or `'all'`: first of all (BPF_F_BEFORE). */
  before?: TcxAnchor | 'all';
  /** Run after this program or link, or `'all'`: last of all (BPF_F_AFTER). */
  after?: TcxAnchor | 'all';
  /** Fail with ESTALE unless the hook is at this revision (from a query). */
  expectedRevision?: bigint;
  /** The network namespace the interface is in; default this thread's. */
  netns?: string;
}

/**
 * A kprobe (or kretprobe) on a kernel function, through the kprobe PMU (4.17)
 * or, failing that, a tracefs `kprobe_events` probe.
 *
 * @example
 * const target: KprobeTarget = { kind: 'kprobe', symbol: 'do_unlinkat', ret: true };
 */
export interface KprobeTarget {
  kind: 'kprobe';
  symbol: string;
  /** Bytes into the function (kprobes only). */
  offset?: number;
  ret?: boolean;
  /** What `bpf_get_attach_cookie()` returns in the program (5.15). */
  cookie?: bigint;
  /** `'pmu'` or `'tracefs'`; default the PMU where the kernel has it. */
  method?: 'pmu' | 'tracefs';
}

/**
 * Several kernel functions through one kprobe_multi link (5.18, fprobe):
 * by name, or every function matching a glob in `available_filter_functions`.
 *
 * @example
 * const target: KprobeMultiTarget = { kind: 'kprobe_multi', symbols: ['do_unlinkat', 'do_rmdir'] };
 */
export interface KprobeMultiTarget {
  kind: 'kprobe_multi';
  symbols?: readonly string[];
  /** A glob (`*`, `?`) over available_filter_functions, instead of `symbols`. */
  pattern?: string;
  ret?: boolean;
  /** One per symbol, in order. */
  cookies?: readonly bigint[];
}

/**
 * A uprobe (or uretprobe) in an executable or shared library: at a
 * function symbol (`.symtab`/`.dynsym`), at `offset` from it, or at a raw
 * file offset. A bare library name is found the way the dynamic loader
 * finds it.
 *
 * @example
 * const target: UprobeTarget = { kind: 'uprobe', binary: 'libc.so.6', symbol: 'malloc', pid: process.pid };
 */
export interface UprobeTarget {
  kind: 'uprobe';
  binary: string;
  symbol?: string;
  offset?: number;
  /** Only this process; default every process that maps the file. */
  pid?: number;
  ret?: boolean;
  /** What `bpf_get_attach_cookie()` returns in the program (5.15). */
  cookie?: bigint;
}

/**
 * Several uprobes in one binary through one uprobe_multi link (6.6).
 *
 * @example
 * const target: UprobeMultiTarget = { kind: 'uprobe_multi', binary: 'libc.so.6', symbols: ['malloc', 'free'] };
 */
export interface UprobeMultiTarget {
  kind: 'uprobe_multi';
  binary: string;
  symbols?: readonly string[];
  /** File offsets, instead of or besides `symbols`. */
  offsets?: readonly number[];
  pid?: number;
  ret?: boolean;
  /** One per probe, symbols first then offsets. */
  cookies?: readonly bigint[];
}

/**
 * A tracepoint from tracefs (`events/<group>/<name>`), mounting tracefs
 * when it is absent.
 *
 * @example
 * const target: TracepointTarget = { kind: 'tracepoint', group: 'sched', name: 'sched_process_exec' };
 */
export interface TracepointTarget {
  kind: 'tracepoint';
  group: string;
  name: string;
  cookie?: bigint;
}

/**
 * A raw tracepoint (writable ones too: the program type decides).
 *
 * @example
 * const target: RawTracepointTarget = { kind: 'raw_tracepoint', name: 'sched_switch' };
 */
export interface RawTracepointTarget {
  kind: 'raw_tracepoint';
  name: string;
}

/**
 * fentry, fexit, fmod_ret, tp_btf and freplace programs: the target was
 * resolved when the program was loaded (its attach BTF id, from vmlinux,
 * module BTF or the target program), so only a cookie is left to choose.
 *
 * @example
 * const target: TracingTarget = { kind: 'tracing' };
 */
export interface TracingTarget {
  kind: 'tracing';
  /** What `bpf_get_attach_cookie()` returns (5.19). */
  cookie?: bigint;
}

/**
 * An LSM program on the hook it was loaded for.
 *
 * @example
 * const target: LsmTarget = { kind: 'lsm' };
 */
export interface LsmTarget {
  kind: 'lsm';
  cookie?: bigint;
}

/**
 * A perf event the program samples on: hardware, software or any PMU, for
 * one CPU, or every online CPU when `cpu` and `pid` are both absent.
 *
 * @example
 * const target: PerfEventTarget = { kind: 'perf_event', type: 1, config: 0n, sampleFrequency: 99 }; // cpu-clock on every CPU
 */
export interface PerfEventTarget {
  kind: 'perf_event';
  /** `perf_event_attr.type` (PERF_TYPE_HARDWARE 0, SOFTWARE 1, …). */
  type: number;
  config: bigint;
  /** A sample every N events… */
  samplePeriod?: bigint;
  /** …or N samples a second. */
  sampleFrequency?: number;
  pid?: number;
  cpu?: number;
  cookie?: bigint;
}

/**
 * A cgroup v2 hook (`attachType`: `AttachType.CGROUP_INET_INGRESS`,
 * `CGROUP_SOCK_OPS`, …).
 *
 * @example
 * const target: CgroupTarget = { kind: 'cgroup', path: '/sys/fs/cgroup/app', attachType: AttachType.CGROUP_INET_EGRESS };
 */
export interface CgroupTarget {
  kind: 'cgroup';
  path: string;
  attachType: number;
  /**
   * `'link'` (5.7, the default): a link, detached with it. `'attach'`:
   * BPF_PROG_ATTACH, which stays until detached, with `flags`.
   */
  method?: 'link' | 'attach';
  /** For `'attach'`: `AttachFlags.ALLOW_MULTI`, `ALLOW_OVERRIDE` (and REPLACE, set by `replace`). */
  flags?: number;
  /** For `'attach'` with ALLOW_MULTI: replace this program in place (BPF_F_REPLACE, 5.6). */
  replace?: Program;
}

/**
 * A socket filter on a socket (SO_ATTACH_BPF), by file descriptor: one of
 * the addon's, or a Node socket's (`socketFd()` from `bpfkit`).
 *
 * @example
 * const target: SocketFilterTarget = { kind: 'socket', fd: 17 };
 */
export interface SocketFilterTarget {
  kind: 'socket';
  fd: number;
}

/**
 * A reuseport group's select program (SO_ATTACH_REUSEPORT_EBPF) on any
 * socket of the group.
 *
 * @example
 * const target: ReuseportTarget = { kind: 'reuseport', fd: 17 };
 */
export interface ReuseportTarget {
  kind: 'reuseport';
  fd: number;
}

/**
 * An sk_msg or sk_skb program on a sockmap or sockhash (`attachType`:
 * `AttachType.SK_MSG_VERDICT`, `SK_SKB_STREAM_PARSER`,
 * `SK_SKB_STREAM_VERDICT`, `SK_SKB_VERDICT`): a link where the kernel has
 * sockmap links (6.10), BPF_PROG_ATTACH otherwise.
 *
 * @example
 * declare const sockmap: Map;
 * const target: SockmapTarget = { kind: 'sockmap', map: sockmap, attachType: AttachType.SK_MSG_VERDICT };
 */
export interface SockmapTarget {
  kind: 'sockmap';
  map: Map<unknown, unknown>;
  attachType: number;
  /**
   * `'link'`: a sockmap link (6.10), detached with it; `'attach'`:
   * BPF_PROG_ATTACH to the map, detached with BPF_PROG_DETACH. Default: a
   * link where the kernel has sockmap links.
   *
   * @example
   * declare const sockmap: Map;
   * const legacy: SockmapTarget = { kind: 'sockmap', map: sockmap, attachType: AttachType.SK_SKB_VERDICT, method: 'attach' };
   */
  method?: 'link' | 'attach';
}

/**
 * A flow dissector for a network namespace (a netns link, 5.7).
 *
 * @example
 * const target: FlowDissectorTarget = { kind: 'flow_dissector', netns: '/run/netns/blue' };
 */
export interface FlowDissectorTarget {
  kind: 'flow_dissector';
  /** Default: this thread's network namespace. */
  netns?: string;
}

/**
 * An sk_lookup program for a network namespace (5.9).
 *
 * @example
 * const target: SkLookupTarget = { kind: 'sk_lookup' };
 */
export interface SkLookupTarget {
  kind: 'sk_lookup';
  netns?: string;
}

/**
 * A netfilter hook (6.4).
 *
 * @example
 * const target: NetfilterTarget = { kind: 'netfilter', family: 'ipv4', hook: 'local_in', priority: -128 };
 */
export interface NetfilterTarget {
  kind: 'netfilter';
  family: 'ipv4' | 'ipv6';
  hook: 'pre_routing' | 'local_in' | 'forward' | 'local_out' | 'post_routing';
  /** Order among the hook's functions; INT_MIN and INT_MAX are reserved. */
  priority: number;
  /** Reassemble fragments before the program sees them (BPF_F_NETFILTER_IP_DEFRAG, 6.6). */
  defrag?: boolean;
  /**
   * The network namespace whose hook it is (`/run/netns/<name>`,
   * `/proc/<pid>/ns/net`); default this thread's.
   *
   * @example
   * const target: NetfilterTarget = { kind: 'netfilter', family: 'ipv6', hook: 'pre_routing', priority: 10, netns: '/run/netns/blue' };
   */
  netns?: string;
}

/**
 * An iterator (the program's `iter/<name>` section decides what it walks),
 * optionally narrowed to one map, one cgroup or one task.
 *
 * @example
 * const target: IterTarget = { kind: 'iter', task: { pid: process.pid } };
 */
export interface IterTarget {
  kind: 'iter';
  /** For `iter/bpf_map_elem` and `iter/bpf_sk_storage_map`. */
  map?: Map<unknown, unknown>;
  /** For `iter/cgroup` (6.1): the cgroup and the walk order (default `'descendants_pre'`: the cgroup, then its descendants, parents first). */
  cgroup?: { path: string; order?: 'self' | 'descendants_pre' | 'descendants_post' | 'ancestors_up' };
  /** For `iter/task`, `iter/task_file`, `iter/task_vma`: one process (`pid`) or thread (`tid`). */
  task?: { pid?: number; tid?: number };
}

/** Every place a program can be attached. */
export type AttachTarget =
  | XdpTarget
  | TcTarget
  | TcxTarget
  | KprobeTarget
  | KprobeMultiTarget
  | UprobeTarget
  | UprobeMultiTarget
  | TracepointTarget
  | RawTracepointTarget
  | TracingTarget
  | LsmTarget
  | PerfEventTarget
  | CgroupTarget
  | SocketFilterTarget
  | ReuseportTarget
  | SockmapTarget
  | FlowDissectorTarget
  | SkLookupTarget
  | NetfilterTarget
  | IterTarget;

/** The `kind` of each {@link AttachTarget}. */
export type AttachTargetKind = AttachTarget['kind'];
