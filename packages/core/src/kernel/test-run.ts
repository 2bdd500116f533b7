/**
 * What `BPF_PROG_TEST_RUN` serves, per program type: the rules of the
 * kernel's runners in net/bpf/test_run.c (Linux 6.18), which
 * `Program.testRun` follows.
 *
 * @module
 */
import { ProgramType } from './program-type.js';

/**
 * `flags` of a test run (`BPF_F_TEST_*`, uapi linux/bpf.h).
 *
 * @example
 * prog.testRun({ data: packet, repeat: 1000, flags: TestRunFlag.XDP_LIVE_FRAMES, batchSize: 64 });
 */
export const TestRunFlag = {
  /** Run on the CPU given as `cpu` (raw tracepoint programs; 5.10). */
  RUN_ON_CPU: 1 << 0,
  /** XDP: run on live frames that XDP_PASS, XDP_TX and XDP_REDIRECT send on (5.18). */
  XDP_LIVE_FRAMES: 1 << 1,
  /** skb programs: give the skb a CHECKSUM_COMPLETE checksum and check it after the run (EBADMSG when the program left it wrong). */
  SKB_CHECKSUM_COMPLETE: 1 << 2,
} as const;

/** The kernel's test runner for a program type (`bpf_prog_test_run_<runner>`). */
export type TestRunRunner = 'skb' | 'xdp' | 'flow_dissector' | 'sk_lookup' | 'nf' | 'raw_tp' | 'syscall' | 'tracing' | 'struct_ops';

/** How the kernel test-runs one program type. */
export interface TestRunRule {
  runner: TestRunRunner;
  /** Packet data in: `required`, at least {@link minDataSize} bytes; `none`: the kernel refuses data. */
  data: 'required' | 'none';
  /** The fewest bytes of data the kernel takes (an Ethernet header, 14; netfilter: an IPv4 header, 20). */
  minDataSize: number;
  /** What comes back as data: the packet as the program left it, the `struct bpf_flow_keys` it filled, or nothing. */
  dataOut: 'packet' | 'flow_keys' | 'none';
  /** Context in: `optional`, `required`, or `none` (the kernel ignores or refuses one). */
  context: 'optional' | 'required' | 'none';
  /** The context's C type. */
  contextType: string;
  /**
   * Context out: `copy`: the kernel writes the context after the run to a
   * separate buffer; `in-place`: it writes it back over the context in
   * (syscall programs); `none`.
   */
  contextOut: 'copy' | 'in-place' | 'none';
  /** Whether `repeat` runs the program that many times (otherwise it runs once and the kernel refuses a repeat). */
  repeat: boolean;
  /** Whether the kernel measures the mean duration of a run. */
  duration: boolean;
  /** The {@link TestRunFlag}s it accepts. */
  flags: number;
  /** Whether it takes `cpu` (with {@link TestRunFlag.RUN_ON_CPU}). */
  cpu: boolean;
  /** Whether it takes `batchSize` (with {@link TestRunFlag.XDP_LIVE_FRAMES}). */
  batchSize: boolean;
}

const skb: TestRunRule = {
  runner: 'skb',
  data: 'required',
  minDataSize: 14,
  dataOut: 'packet',
  context: 'optional',
  contextType: 'struct __sk_buff',
  contextOut: 'copy',
  repeat: true,
  duration: true,
  flags: TestRunFlag.SKB_CHECKSUM_COMPLETE,
  cpu: false,
  batchSize: false,
};

const once = { repeat: false, duration: false, cpu: false, batchSize: false, flags: 0 } as const;

const RULES: ReadonlyMap<number, TestRunRule> = new Map<number, TestRunRule>([
  [ProgramType.SOCKET_FILTER, skb],
  [ProgramType.SCHED_CLS, skb],
  [ProgramType.SCHED_ACT, skb],
  [ProgramType.CGROUP_SKB, skb],
  [ProgramType.LWT_IN, skb],
  [ProgramType.LWT_OUT, skb],
  [ProgramType.LWT_XMIT, skb],
  [
    ProgramType.XDP,
    {
      ...skb,
      runner: 'xdp',
      contextType: 'struct xdp_md',
      flags: TestRunFlag.XDP_LIVE_FRAMES,
      batchSize: true,
    },
  ],
  [ProgramType.FLOW_DISSECTOR, { ...skb, runner: 'flow_dissector', dataOut: 'flow_keys', contextType: 'struct bpf_flow_keys', flags: 0 }],
  [
    ProgramType.SK_LOOKUP,
    {
      ...skb,
      runner: 'sk_lookup',
      data: 'none',
      minDataSize: 0,
      dataOut: 'none',
      context: 'required',
      contextType: 'struct bpf_sk_lookup',
      flags: 0,
    },
  ],
  [
    ProgramType.NETFILTER,
    { ...skb, runner: 'nf', minDataSize: 20, dataOut: 'none', contextType: 'struct nf_hook_state', contextOut: 'none', flags: 0 },
  ],
  [
    ProgramType.RAW_TRACEPOINT,
    {
      ...once,
      runner: 'raw_tp',
      data: 'none',
      minDataSize: 0,
      dataOut: 'none',
      context: 'optional',
      contextType: 'u64 args[] (at most 12)',
      contextOut: 'none',
      flags: TestRunFlag.RUN_ON_CPU,
      cpu: true,
    },
  ],
  [
    ProgramType.SYSCALL,
    {
      ...once,
      runner: 'syscall',
      data: 'none',
      minDataSize: 0,
      dataOut: 'none',
      context: 'optional',
      contextType: 'the program’s own context struct (at most 65535 bytes)',
      contextOut: 'in-place',
    },
  ],
  [
    ProgramType.TRACING,
    { ...once, runner: 'tracing', data: 'none', minDataSize: 0, dataOut: 'none', context: 'none', contextType: 'none', contextOut: 'none' },
  ],
  [
    ProgramType.STRUCT_OPS,
    {
      ...once,
      runner: 'struct_ops',
      data: 'none',
      minDataSize: 0,
      dataOut: 'none',
      context: 'optional',
      contextType: 'u64 args[] of the operation',
      contextOut: 'none',
    },
  ],
]);

/**
 * How `BPF_PROG_TEST_RUN` runs programs of `programType`, or `undefined`
 * when the kernel has no test runner for it (it answers ENOTSUPP): kprobe,
 * tracepoint, perf_event, cgroup_sock, cgroup_sock_addr, cgroup_device,
 * cgroup_sysctl, cgroup_sockopt, sock_ops, sk_skb, sk_msg, sk_reuseport,
 * lirc_mode2, lwt_seg6local (its runner was dropped: 6.18 answers ENOTSUPP),
 * raw_tracepoint_writable,
 * ext and lsm programs. A type number this table does not know (newer than
 * it) also gives `undefined`; see {@link testRunUnsupported}.
 *
 * | Program type | data in | data out | context in | context out | repeat, duration | flags |
 * |---|---|---|---|---|---|---|
 * | socket_filter, sched_cls, sched_act, cgroup_skb, lwt_in/out/xmit | packet, ≥ 14 bytes | the packet as left (`dataSizeOut`) | `struct __sk_buff` (optional) | copy | yes | SKB_CHECKSUM_COMPLETE |
 * | xdp | packet, ≥ 14 bytes | the packet as left, grown or shrunk (`dataSizeOut`) | `struct xdp_md` (optional; `data_end` = data length) | copy (not with live frames) | yes | XDP_LIVE_FRAMES with `batchSize` (≤ 256, default 64) |
 * | flow_dissector | packet, ≥ 14 bytes | `struct bpf_flow_keys` | `struct bpf_flow_keys` (only `flags`) | copy | yes | — |
 * | sk_lookup | — | — | `struct bpf_sk_lookup` (required) | copy (`cookie` of the selected socket) | yes | — |
 * | netfilter | packet, ≥ 20 bytes | — | `struct nf_hook_state` (`pf`, `hook`) | — | yes | — |
 * | raw_tracepoint | — | — | `u64` args (≤ 12) | — | no (one run, no duration) | RUN_ON_CPU with `cpu` |
 * | syscall | — | — | the program's context (≤ 65535 bytes) | written back over the context in | no | — |
 * | tracing (fentry, fexit, fmod_ret) | — | — | — | — | no | — |
 * | struct_ops (the kernel's bpf_dummy_ops only) | — | — | `u64` args | — | no | — |
 *
 * @example
 * testRunRule(ProgramType.SYSCALL)?.contextOut; // 'in-place'
 * testRunRule(ProgramType.KPROBE); // undefined
 */
export function testRunRule(programType: number): TestRunRule | undefined {
  return RULES.get(programType);
}

/** Program types whose programs the kernel cannot test-run (no `test_run` in their `bpf_prog_ops`). */
const UNSUPPORTED: ReadonlySet<number> = new Set([
  ProgramType.KPROBE,
  ProgramType.TRACEPOINT,
  ProgramType.PERF_EVENT,
  ProgramType.CGROUP_SOCK,
  ProgramType.SOCK_OPS,
  ProgramType.SK_SKB,
  ProgramType.CGROUP_DEVICE,
  ProgramType.SK_MSG,
  ProgramType.CGROUP_SOCK_ADDR,
  ProgramType.LWT_SEG6LOCAL,
  ProgramType.LIRC_MODE2,
  ProgramType.SK_REUSEPORT,
  ProgramType.CGROUP_SYSCTL,
  ProgramType.RAW_TRACEPOINT_WRITABLE,
  ProgramType.CGROUP_SOCKOPT,
  ProgramType.EXT,
  ProgramType.LSM,
]);

/**
 * Whether the kernel has no test runner for `programType` (a known type
 * that {@link testRunRule} has no rule for). A type newer than this table
 * is neither: it is passed to the kernel as given.
 *
 * @example
 * testRunUnsupported(ProgramType.KPROBE); // true
 * testRunUnsupported(ProgramType.XDP); // false
 */
export function testRunUnsupported(programType: number): boolean {
  return UNSUPPORTED.has(programType);
}
