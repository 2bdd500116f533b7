import { defineKernelEnum, minimumKernelLookup, type LowerName } from './enum.js';

/**
 * Program types: the kernel's `enum bpf_prog_type` (uapi `linux/bpf.h`),
 * complete as of Linux 6.18. Names drop the `BPF_PROG_TYPE_` prefix.
 *
 * @example
 * ProgramType.XDP;                        // 6
 * programTypeName(ProgramType.SCHED_CLS); // 'sched_cls'
 * programTypeFromName('BPF_PROG_TYPE_NETFILTER'); // 32
 */
export const ProgramType = {
  UNSPEC: 0,
  SOCKET_FILTER: 1,
  KPROBE: 2,
  SCHED_CLS: 3,
  SCHED_ACT: 4,
  TRACEPOINT: 5,
  XDP: 6,
  PERF_EVENT: 7,
  CGROUP_SKB: 8,
  CGROUP_SOCK: 9,
  LWT_IN: 10,
  LWT_OUT: 11,
  LWT_XMIT: 12,
  SOCK_OPS: 13,
  SK_SKB: 14,
  CGROUP_DEVICE: 15,
  SK_MSG: 16,
  RAW_TRACEPOINT: 17,
  CGROUP_SOCK_ADDR: 18,
  LWT_SEG6LOCAL: 19,
  LIRC_MODE2: 20,
  SK_REUSEPORT: 21,
  FLOW_DISSECTOR: 22,
  CGROUP_SYSCTL: 23,
  RAW_TRACEPOINT_WRITABLE: 24,
  CGROUP_SOCKOPT: 25,
  TRACING: 26,
  STRUCT_OPS: 27,
  EXT: 28,
  LSM: 29,
  SK_LOOKUP: 30,
  SYSCALL: 31,
  NETFILTER: 32,
} as const;
/** A number of `enum bpf_prog_type`. */
export type ProgramType = (typeof ProgramType)[keyof typeof ProgramType];

const programTypes = defineKernelEnum('BPF_PROG_TYPE_', ProgramType);

/** The canonical name of a program type: `'xdp'`, `'kprobe'`, `'sched_cls'`, … */
export type ProgramTypeName = LowerName<keyof typeof ProgramType>;

/** Every program type name, in numeric order (`'unspec'` first). */
export const programTypeNames: readonly ProgramTypeName[] = programTypes.names;

/**
 * The lower-case name of a program type number, or `unknown(N)`.
 *
 * @example
 * programTypeName(2);  // 'kprobe'
 * programTypeName(77); // 'unknown(77)'
 */
export function programTypeName(type: number): ProgramTypeName | `unknown(${number})` {
  return programTypes.name(type);
}

/**
 * The program type with this name: `'xdp'`, `'XDP'` and `'BPF_PROG_TYPE_XDP'`
 * all work; `undefined` for an unknown name.
 *
 * @example
 * programTypeFromName('tracing'); // 26
 */
export function programTypeFromName(name: string): ProgramType | undefined {
  return programTypes.fromName(name);
}

/**
 * The Linux release that introduced each program type.
 *
 * @example
 * programTypeSince.xdp;       // '4.8'
 * programTypeSince.netfilter; // '6.4'
 */
export const programTypeSince: Readonly<Record<ProgramTypeName, string>> = {
  unspec: '3.18',
  socket_filter: '3.19',
  kprobe: '4.1',
  sched_cls: '4.1',
  sched_act: '4.1',
  tracepoint: '4.7',
  xdp: '4.8',
  perf_event: '4.9',
  cgroup_skb: '4.10',
  cgroup_sock: '4.10',
  lwt_in: '4.10',
  lwt_out: '4.10',
  lwt_xmit: '4.10',
  sock_ops: '4.13',
  sk_skb: '4.14',
  cgroup_device: '4.15',
  sk_msg: '4.17',
  raw_tracepoint: '4.17',
  cgroup_sock_addr: '4.17',
  lwt_seg6local: '4.18',
  lirc_mode2: '4.18',
  sk_reuseport: '4.19',
  flow_dissector: '4.20',
  cgroup_sysctl: '5.2',
  raw_tracepoint_writable: '5.2',
  cgroup_sockopt: '5.3',
  tracing: '5.5',
  struct_ops: '5.6',
  ext: '5.6',
  lsm: '5.7',
  sk_lookup: '5.9',
  syscall: '5.14',
  netfilter: '6.4',
};

/**
 * The Linux release that introduced a program type number, or `undefined`
 * for a number bpfkit does not know.
 *
 * @example
 * programTypeMinimumKernel(ProgramType.LSM); // '5.7'
 */
export const programTypeMinimumKernel: (type: number) => string | undefined = minimumKernelLookup(programTypes, programTypeSince);
