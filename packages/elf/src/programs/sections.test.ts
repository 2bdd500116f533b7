import { AttachType, ProgramFlags, ProgramType } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { knownSections, sectionInfo } from './sections.js';

describe('section names', () => {
  it.each([
    ['socket', ProgramType.SOCKET_FILTER, undefined, undefined, 0],
    ['xdp', ProgramType.XDP, AttachType.XDP, undefined, 0],
    ['xdp.frags', ProgramType.XDP, AttachType.XDP, undefined, ProgramFlags.XDP_HAS_FRAGS],
    ['xdp/devmap', ProgramType.XDP, AttachType.XDP_DEVMAP, undefined, 0],
    ['tc', ProgramType.SCHED_CLS, undefined, undefined, 0],
    ['tcx/ingress', ProgramType.SCHED_CLS, AttachType.TCX_INGRESS, undefined, 0],
    ['kprobe/do_unlinkat', ProgramType.KPROBE, undefined, 'do_unlinkat', 0],
    ['kretprobe/tcp_v4_connect', ProgramType.KPROBE, undefined, 'tcp_v4_connect', 0],
    ['kprobe.multi/tcp_*', ProgramType.KPROBE, AttachType.TRACE_KPROBE_MULTI, 'tcp_*', 0],
    ['uprobe.s//bin/bash:readline', ProgramType.KPROBE, undefined, '/bin/bash:readline', ProgramFlags.SLEEPABLE],
    ['tracepoint/syscalls/sys_enter_openat', ProgramType.TRACEPOINT, undefined, 'syscalls/sys_enter_openat', 0],
    ['tp/sched/sched_switch', ProgramType.TRACEPOINT, undefined, 'sched/sched_switch', 0],
    ['raw_tp/sched_switch', ProgramType.RAW_TRACEPOINT, undefined, 'sched_switch', 0],
    ['raw_tp.w/bpf_testmod_test_writable_bare', ProgramType.RAW_TRACEPOINT_WRITABLE, undefined, 'bpf_testmod_test_writable_bare', 0],
    ['tp_btf/sched_switch', ProgramType.TRACING, AttachType.TRACE_RAW_TP, 'sched_switch', 0],
    ['fentry/do_unlinkat', ProgramType.TRACING, AttachType.TRACE_FENTRY, 'do_unlinkat', 0],
    ['fexit.s/do_unlinkat', ProgramType.TRACING, AttachType.TRACE_FEXIT, 'do_unlinkat', ProgramFlags.SLEEPABLE],
    ['lsm/file_open', ProgramType.LSM, AttachType.LSM_MAC, 'file_open', 0],
    ['iter/task', ProgramType.TRACING, AttachType.TRACE_ITER, 'task', 0],
    ['cgroup/connect4', ProgramType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_CONNECT, undefined, 0],
    ['cgroup_skb/egress', ProgramType.CGROUP_SKB, AttachType.CGROUP_INET_EGRESS, undefined, 0],
    ['cgroup/getsockopt', ProgramType.CGROUP_SOCKOPT, AttachType.CGROUP_GETSOCKOPT, undefined, 0],
    ['sk_skb/stream_verdict', ProgramType.SK_SKB, AttachType.SK_SKB_STREAM_VERDICT, undefined, 0],
    ['sk_msg', ProgramType.SK_MSG, AttachType.SK_MSG_VERDICT, undefined, 0],
    ['sk_lookup', ProgramType.SK_LOOKUP, AttachType.SK_LOOKUP, undefined, 0],
    ['syscall', ProgramType.SYSCALL, undefined, undefined, ProgramFlags.SLEEPABLE],
    ['struct_ops/tcp_init', ProgramType.STRUCT_OPS, undefined, 'tcp_init', 0],
    ['netfilter', ProgramType.NETFILTER, AttachType.NETFILTER, undefined, 0],
  ])('%s', (name, type, attach, target, flags) => {
    expect(sectionInfo(name)).toMatchObject({ programType: type, expectedAttachType: attach, attachTo: target, flags });
  });

  it('refuses non-program sections and targets where none may be given or one is needed', () => {
    for (const name of ['.maps', 'license', '.text', '.rodata', 'xdp.frags/foo', 'fentry', 'syscall/x', 'sockops/x']) {
      expect(sectionInfo(name), name).toBeUndefined();
    }
  });

  it('has no entry hidden behind an earlier, less specific one', () => {
    knownSections.forEach((name, i) => {
      const probe = name === 'tp_btf' || /^(fentry|fexit|fmod_ret|freplace|lsm|iter)/.test(name) ? `${name}/x` : name;
      expect(sectionInfo(probe)?.matched, `${probe} (entry ${i})`).toBe(name);
    });
  });
});
