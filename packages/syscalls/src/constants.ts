/**
 * Kernel enums and flag bits bpfkit passes through `bpf()`, from
 * include/uapi/linux/bpf.h as of Linux 6.18. Names are the uapi names.
 *
 * @module
 */

/**
 * `enum bpf_map_type` (Linux 6.18).
 *
 * @example
 * mapCreate({ mapType: BpfMapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 16 });
 */
export const BpfMapType = {
  BPF_MAP_TYPE_UNSPEC: 0,
  BPF_MAP_TYPE_HASH: 1,
  BPF_MAP_TYPE_ARRAY: 2,
  BPF_MAP_TYPE_PROG_ARRAY: 3,
  BPF_MAP_TYPE_PERF_EVENT_ARRAY: 4,
  BPF_MAP_TYPE_PERCPU_HASH: 5,
  BPF_MAP_TYPE_PERCPU_ARRAY: 6,
  BPF_MAP_TYPE_STACK_TRACE: 7,
  BPF_MAP_TYPE_CGROUP_ARRAY: 8,
  BPF_MAP_TYPE_LRU_HASH: 9,
  BPF_MAP_TYPE_LRU_PERCPU_HASH: 10,
  BPF_MAP_TYPE_LPM_TRIE: 11,
  BPF_MAP_TYPE_ARRAY_OF_MAPS: 12,
  BPF_MAP_TYPE_HASH_OF_MAPS: 13,
  BPF_MAP_TYPE_DEVMAP: 14,
  BPF_MAP_TYPE_SOCKMAP: 15,
  BPF_MAP_TYPE_CPUMAP: 16,
  BPF_MAP_TYPE_XSKMAP: 17,
  BPF_MAP_TYPE_SOCKHASH: 18,
  BPF_MAP_TYPE_CGROUP_STORAGE_DEPRECATED: 19,
  BPF_MAP_TYPE_CGROUP_STORAGE: 19,
  BPF_MAP_TYPE_REUSEPORT_SOCKARRAY: 20,
  BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE_DEPRECATED: 21,
  BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: 21,
  BPF_MAP_TYPE_QUEUE: 22,
  BPF_MAP_TYPE_STACK: 23,
  BPF_MAP_TYPE_SK_STORAGE: 24,
  BPF_MAP_TYPE_DEVMAP_HASH: 25,
  BPF_MAP_TYPE_STRUCT_OPS: 26,
  BPF_MAP_TYPE_RINGBUF: 27,
  BPF_MAP_TYPE_INODE_STORAGE: 28,
  BPF_MAP_TYPE_TASK_STORAGE: 29,
  BPF_MAP_TYPE_BLOOM_FILTER: 30,
  BPF_MAP_TYPE_USER_RINGBUF: 31,
  BPF_MAP_TYPE_CGRP_STORAGE: 32,
  BPF_MAP_TYPE_ARENA: 33,
} as const;
/** A value of {@link BpfMapType}. */
export type BpfMapType = (typeof BpfMapType)[keyof typeof BpfMapType];

/**
 * `enum bpf_prog_type` (Linux 6.18).
 *
 * @example
 * progLoad({ progType: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns, license: 'GPL' });
 */
export const BpfProgType = {
  BPF_PROG_TYPE_UNSPEC: 0,
  BPF_PROG_TYPE_SOCKET_FILTER: 1,
  BPF_PROG_TYPE_KPROBE: 2,
  BPF_PROG_TYPE_SCHED_CLS: 3,
  BPF_PROG_TYPE_SCHED_ACT: 4,
  BPF_PROG_TYPE_TRACEPOINT: 5,
  BPF_PROG_TYPE_XDP: 6,
  BPF_PROG_TYPE_PERF_EVENT: 7,
  BPF_PROG_TYPE_CGROUP_SKB: 8,
  BPF_PROG_TYPE_CGROUP_SOCK: 9,
  BPF_PROG_TYPE_LWT_IN: 10,
  BPF_PROG_TYPE_LWT_OUT: 11,
  BPF_PROG_TYPE_LWT_XMIT: 12,
  BPF_PROG_TYPE_SOCK_OPS: 13,
  BPF_PROG_TYPE_SK_SKB: 14,
  BPF_PROG_TYPE_CGROUP_DEVICE: 15,
  BPF_PROG_TYPE_SK_MSG: 16,
  BPF_PROG_TYPE_RAW_TRACEPOINT: 17,
  BPF_PROG_TYPE_CGROUP_SOCK_ADDR: 18,
  BPF_PROG_TYPE_LWT_SEG6LOCAL: 19,
  BPF_PROG_TYPE_LIRC_MODE2: 20,
  BPF_PROG_TYPE_SK_REUSEPORT: 21,
  BPF_PROG_TYPE_FLOW_DISSECTOR: 22,
  BPF_PROG_TYPE_CGROUP_SYSCTL: 23,
  BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: 24,
  BPF_PROG_TYPE_CGROUP_SOCKOPT: 25,
  BPF_PROG_TYPE_TRACING: 26,
  BPF_PROG_TYPE_STRUCT_OPS: 27,
  BPF_PROG_TYPE_EXT: 28,
  BPF_PROG_TYPE_LSM: 29,
  BPF_PROG_TYPE_SK_LOOKUP: 30,
  BPF_PROG_TYPE_SYSCALL: 31,
  BPF_PROG_TYPE_NETFILTER: 32,
} as const;
/** A value of {@link BpfProgType}. */
export type BpfProgType = (typeof BpfProgType)[keyof typeof BpfProgType];

/**
 * `enum bpf_attach_type` (Linux 6.18).
 *
 * @example
 * linkCreate({ progFd, targetIfindex: ifindex, attachType: BpfAttachType.BPF_TCX_INGRESS });
 */
export const BpfAttachType = {
  BPF_CGROUP_INET_INGRESS: 0,
  BPF_CGROUP_INET_EGRESS: 1,
  BPF_CGROUP_INET_SOCK_CREATE: 2,
  BPF_CGROUP_SOCK_OPS: 3,
  BPF_SK_SKB_STREAM_PARSER: 4,
  BPF_SK_SKB_STREAM_VERDICT: 5,
  BPF_CGROUP_DEVICE: 6,
  BPF_SK_MSG_VERDICT: 7,
  BPF_CGROUP_INET4_BIND: 8,
  BPF_CGROUP_INET6_BIND: 9,
  BPF_CGROUP_INET4_CONNECT: 10,
  BPF_CGROUP_INET6_CONNECT: 11,
  BPF_CGROUP_INET4_POST_BIND: 12,
  BPF_CGROUP_INET6_POST_BIND: 13,
  BPF_CGROUP_UDP4_SENDMSG: 14,
  BPF_CGROUP_UDP6_SENDMSG: 15,
  BPF_LIRC_MODE2: 16,
  BPF_FLOW_DISSECTOR: 17,
  BPF_CGROUP_SYSCTL: 18,
  BPF_CGROUP_UDP4_RECVMSG: 19,
  BPF_CGROUP_UDP6_RECVMSG: 20,
  BPF_CGROUP_GETSOCKOPT: 21,
  BPF_CGROUP_SETSOCKOPT: 22,
  BPF_TRACE_RAW_TP: 23,
  BPF_TRACE_FENTRY: 24,
  BPF_TRACE_FEXIT: 25,
  BPF_MODIFY_RETURN: 26,
  BPF_LSM_MAC: 27,
  BPF_TRACE_ITER: 28,
  BPF_CGROUP_INET4_GETPEERNAME: 29,
  BPF_CGROUP_INET6_GETPEERNAME: 30,
  BPF_CGROUP_INET4_GETSOCKNAME: 31,
  BPF_CGROUP_INET6_GETSOCKNAME: 32,
  BPF_XDP_DEVMAP: 33,
  BPF_CGROUP_INET_SOCK_RELEASE: 34,
  BPF_XDP_CPUMAP: 35,
  BPF_SK_LOOKUP: 36,
  BPF_XDP: 37,
  BPF_SK_SKB_VERDICT: 38,
  BPF_SK_REUSEPORT_SELECT: 39,
  BPF_SK_REUSEPORT_SELECT_OR_MIGRATE: 40,
  BPF_PERF_EVENT: 41,
  BPF_TRACE_KPROBE_MULTI: 42,
  BPF_LSM_CGROUP: 43,
  BPF_STRUCT_OPS: 44,
  BPF_NETFILTER: 45,
  BPF_TCX_INGRESS: 46,
  BPF_TCX_EGRESS: 47,
  BPF_TRACE_UPROBE_MULTI: 48,
  BPF_CGROUP_UNIX_CONNECT: 49,
  BPF_CGROUP_UNIX_SENDMSG: 50,
  BPF_CGROUP_UNIX_RECVMSG: 51,
  BPF_CGROUP_UNIX_GETPEERNAME: 52,
  BPF_CGROUP_UNIX_GETSOCKNAME: 53,
  BPF_NETKIT_PRIMARY: 54,
  BPF_NETKIT_PEER: 55,
  BPF_TRACE_KPROBE_SESSION: 56,
  BPF_TRACE_UPROBE_SESSION: 57,
} as const;
/** A value of {@link BpfAttachType}. */
export type BpfAttachType = (typeof BpfAttachType)[keyof typeof BpfAttachType];

/**
 * `enum bpf_link_type` (Linux 6.18), the `type` of `struct bpf_link_info`.
 *
 * @example
 * if (info.kind === 'tcx') console.log(info.tcx.ifindex);
 */
export const BpfLinkType = {
  BPF_LINK_TYPE_UNSPEC: 0,
  BPF_LINK_TYPE_RAW_TRACEPOINT: 1,
  BPF_LINK_TYPE_TRACING: 2,
  BPF_LINK_TYPE_CGROUP: 3,
  BPF_LINK_TYPE_ITER: 4,
  BPF_LINK_TYPE_NETNS: 5,
  BPF_LINK_TYPE_XDP: 6,
  BPF_LINK_TYPE_PERF_EVENT: 7,
  BPF_LINK_TYPE_KPROBE_MULTI: 8,
  BPF_LINK_TYPE_STRUCT_OPS: 9,
  BPF_LINK_TYPE_NETFILTER: 10,
  BPF_LINK_TYPE_TCX: 11,
  BPF_LINK_TYPE_UPROBE_MULTI: 12,
  BPF_LINK_TYPE_NETKIT: 13,
  BPF_LINK_TYPE_SOCKMAP: 14,
} as const;
/** A value of {@link BpfLinkType}. */
export type BpfLinkType = (typeof BpfLinkType)[keyof typeof BpfLinkType];

/**
 * `enum bpf_perf_event_type`: the kind of a perf-event link (`bpf_link_info.perf_event.type`).
 *
 * @example
 * BpfPerfEventType.BPF_PERF_EVENT_KPROBE; // 3
 */
export const BpfPerfEventType = {
  BPF_PERF_EVENT_UNSPEC: 0,
  BPF_PERF_EVENT_UPROBE: 1,
  BPF_PERF_EVENT_URETPROBE: 2,
  BPF_PERF_EVENT_KPROBE: 3,
  BPF_PERF_EVENT_KRETPROBE: 4,
  BPF_PERF_EVENT_TRACEPOINT: 5,
  BPF_PERF_EVENT_EVENT: 6,
} as const;
/** A value of {@link BpfPerfEventType}. */
export type BpfPerfEventType = (typeof BpfPerfEventType)[keyof typeof BpfPerfEventType];

/**
 * `enum bpf_stats_type`, for `BPF_ENABLE_STATS`.
 *
 * @example
 * enableStats(BpfStatsType.BPF_STATS_RUN_TIME);
 */
export const BpfStatsType = {
  BPF_STATS_RUN_TIME: 0,
} as const;
/** A value of {@link BpfStatsType}. */
export type BpfStatsType = (typeof BpfStatsType)[keyof typeof BpfStatsType];

/**
 * `enum bpf_task_fd_type`: what `BPF_TASK_FD_QUERY` found behind an fd.
 *
 * @example
 * BpfTaskFdType.BPF_FD_TYPE_KPROBE; // 2
 */
export const BpfTaskFdType = {
  BPF_FD_TYPE_RAW_TRACEPOINT: 0,
  BPF_FD_TYPE_TRACEPOINT: 1,
  BPF_FD_TYPE_KPROBE: 2,
  BPF_FD_TYPE_KRETPROBE: 3,
  BPF_FD_TYPE_UPROBE: 4,
  BPF_FD_TYPE_URETPROBE: 5,
} as const;
/** A value of {@link BpfTaskFdType}. */
export type BpfTaskFdType = (typeof BpfTaskFdType)[keyof typeof BpfTaskFdType];

/**
 * `enum bpf_cgroup_iter_order`, for cgroup iterators (`bpf_iter_link_info.cgroup.order`).
 *
 * @example
 * BpfCgroupIterOrder.BPF_CGROUP_ITER_DESCENDANTS_PRE; // 2
 */
export const BpfCgroupIterOrder = {
  BPF_CGROUP_ITER_ORDER_UNSPEC: 0,
  BPF_CGROUP_ITER_SELF_ONLY: 1,
  BPF_CGROUP_ITER_DESCENDANTS_PRE: 2,
  BPF_CGROUP_ITER_DESCENDANTS_POST: 3,
  BPF_CGROUP_ITER_ANCESTORS_UP: 4,
} as const;
/** A value of {@link BpfCgroupIterOrder}. */
export type BpfCgroupIterOrder = (typeof BpfCgroupIterOrder)[keyof typeof BpfCgroupIterOrder];

/**
 * Flags for map element commands (`flags` of `BPF_MAP_*_ELEM` and
 * `elem_flags` of the batch commands).
 *
 * @example
 * mapUpdateElem(fd, key, value, BpfUpdateFlag.BPF_NOEXIST);
 */
export const BpfUpdateFlag = {
  /** Create a new element or update an existing one. */
  BPF_ANY: 0,
  /** Create a new element only if it did not exist. */
  BPF_NOEXIST: 1,
  /** Update an existing element only. */
  BPF_EXIST: 2,
  /** Take the value's `bpf_spin_lock` (5.1). */
  BPF_F_LOCK: 4,
} as const;

/**
 * `map_flags` bits for `BPF_MAP_CREATE` (and `file_flags` / `open_flags`:
 * BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_PATH_FD, BPF_F_TOKEN_FD).
 *
 * @example
 * mapCreate({ ..., mapFlags: BpfMapFlag.BPF_F_NO_PREALLOC });
 */
export const BpfMapFlag = {
  BPF_F_NO_PREALLOC: 1 << 0,
  BPF_F_NO_COMMON_LRU: 1 << 1,
  BPF_F_NUMA_NODE: 1 << 2,
  BPF_F_RDONLY: 1 << 3,
  BPF_F_WRONLY: 1 << 4,
  BPF_F_STACK_BUILD_ID: 1 << 5,
  BPF_F_ZERO_SEED: 1 << 6,
  BPF_F_RDONLY_PROG: 1 << 7,
  BPF_F_WRONLY_PROG: 1 << 8,
  BPF_F_CLONE: 1 << 9,
  BPF_F_MMAPABLE: 1 << 10,
  BPF_F_PRESERVE_ELEMS: 1 << 11,
  BPF_F_INNER_MAP: 1 << 12,
  BPF_F_LINK: 1 << 13,
  BPF_F_PATH_FD: 1 << 14,
  BPF_F_VTYPE_BTF_OBJ_FD: 1 << 15,
  BPF_F_TOKEN_FD: 1 << 16,
  BPF_F_SEGV_ON_FAULT: 1 << 17,
  BPF_F_NO_USER_CONV: 1 << 18,
} as const;

/**
 * `prog_flags` bits for `BPF_PROG_LOAD` (BPF_F_TOKEN_FD from {@link BpfMapFlag} too).
 *
 * @example
 * progLoad({ ..., progFlags: BpfProgLoadFlag.BPF_F_SLEEPABLE });
 */
export const BpfProgLoadFlag = {
  BPF_F_STRICT_ALIGNMENT: 1 << 0,
  BPF_F_ANY_ALIGNMENT: 1 << 1,
  BPF_F_TEST_RND_HI32: 1 << 2,
  BPF_F_TEST_STATE_FREQ: 1 << 3,
  BPF_F_SLEEPABLE: 1 << 4,
  BPF_F_XDP_HAS_FRAGS: 1 << 5,
  BPF_F_XDP_DEV_BOUND_ONLY: 1 << 6,
  BPF_F_TEST_REG_INVARIANTS: 1 << 7,
  BPF_F_TOKEN_FD: 1 << 16,
} as const;

/**
 * `attach_flags` bits for `BPF_PROG_ATTACH` / `BPF_PROG_DETACH` and the
 * `flags` of mprog links (tcx, netkit, cgroup): ordering relative to
 * `relative_fd` / `relative_id`.
 *
 * @example
 * progAttach({ targetFd: ifindex, attachBpfFd: fd, attachType: BpfAttachType.BPF_TCX_INGRESS, attachFlags: BpfAttachFlag.BPF_F_BEFORE });
 */
export const BpfAttachFlag = {
  BPF_F_ALLOW_OVERRIDE: 1 << 0,
  BPF_F_ALLOW_MULTI: 1 << 1,
  BPF_F_REPLACE: 1 << 2,
  BPF_F_BEFORE: 1 << 3,
  BPF_F_AFTER: 1 << 4,
  BPF_F_ID: 1 << 5,
  BPF_F_PREORDER: 1 << 6,
  BPF_F_LINK: 1 << 13,
} as const;

/** `query_flags` for `BPF_PROG_QUERY`. */
export const BPF_F_QUERY_EFFECTIVE = 1 << 0;
/** `flags` for `BPF_PROG_TEST_RUN`: run on `cpu`. */
export const BPF_F_TEST_RUN_ON_CPU = 1 << 0;
/** `flags` for `BPF_PROG_TEST_RUN`: XDP live frames mode (5.18). */
export const BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1;
/** `flags` for `BPF_PROG_TEST_RUN`: CHECKSUM_COMPLETE skbs. */
export const BPF_F_TEST_SKB_CHECKSUM_COMPLETE = 1 << 2;
/** `link_create.kprobe_multi.flags`: attach as return probes. */
export const BPF_F_KPROBE_MULTI_RETURN = 1 << 0;
/** `link_create.uprobe_multi.flags`: attach as return probes. */
export const BPF_F_UPROBE_MULTI_RETURN = 1 << 0;
/** `link_create.netfilter.flags`: defragment IP packets first. */
export const BPF_F_NETFILTER_IP_DEFRAG = 1 << 0;
/** `BPF_OBJ_NAME_LEN`: size of the `char` name arrays (15 bytes + NUL). */
export const BPF_OBJ_NAME_LEN = 16;
/** `BPF_TAG_SIZE`: size of a program tag. */
export const BPF_TAG_SIZE = 8;
/** Streams for `BPF_PROG_STREAM_READ_BY_FD` (6.17): the program's stdout. */
export const BPF_STREAM_STDOUT = 1;
/** Streams for `BPF_PROG_STREAM_READ_BY_FD` (6.17): the program's stderr. */
export const BPF_STREAM_STDERR = 2;
