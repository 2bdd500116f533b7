/**
 * Kernel enums and flag bits bpfkit passes through `bpf()`, from
 * include/uapi/linux/bpf.h as of Linux 6.18. Names are the uapi names.
 *
 * Map, program, attach and link types and the map-create, program-load,
 * attach and element-update flags are not here: use `MapType`,
 * `ProgramType`, `AttachType`, `LinkType`, `MapFlags`, `ProgramFlags`,
 * `AttachFlags` and `UpdateFlags` from `@bpfkit/core`.
 *
 * @module
 */

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
