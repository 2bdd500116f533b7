import { AttachType, InvalidArgumentError } from '@bpfkit/core';
import type { AttachTarget } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { ATTACH_TARGET_SYNTAX, parseAttachTarget } from './attach-target-parse.js';

describe('attach target syntax (bpfkit prog attach)', () => {
  const accepted: [string, AttachTarget][] = [
    ['xdp:veth0', { kind: 'xdp', interface: 'veth0' }],
    ['xdp:veth0:generic', { kind: 'xdp', interface: 'veth0', mode: 'generic' }],
    ['xdp:veth0:native:netlink', { kind: 'xdp', interface: 'veth0', mode: 'native', method: 'netlink' }],
    ['xdp:7:link:offload', { kind: 'xdp', interface: 7, mode: 'offload', method: 'link' }],
    ['tc:eth1:ingress', { kind: 'tc', interface: 'eth1', direction: 'ingress' }],
    ['tc:eth1:egress:10', { kind: 'tc', interface: 'eth1', direction: 'egress', priority: 10 }],
    ['tcx:eth1:egress', { kind: 'tcx', interface: 'eth1', direction: 'egress' }],
    ['tcx:3:ingress', { kind: 'tcx', interface: 3, direction: 'ingress' }],
    ['kprobe:do_unlinkat', { kind: 'kprobe', symbol: 'do_unlinkat' }],
    ['kprobe:tcp_v4_connect+0x10', { kind: 'kprobe', symbol: 'tcp_v4_connect', offset: 16 }],
    ['kprobe:finish_task_switch.isra.0', { kind: 'kprobe', symbol: 'finish_task_switch.isra.0' }],
    ['kretprobe:do_unlinkat', { kind: 'kprobe', symbol: 'do_unlinkat', ret: true }],
    ['kprobe_multi:do_unlinkat,do_rmdir', { kind: 'kprobe_multi', symbols: ['do_unlinkat', 'do_rmdir'] }],
    ['kprobe_multi:tcp_*', { kind: 'kprobe_multi', pattern: 'tcp_*' }],
    ['kretprobe_multi:vfs_rea?', { kind: 'kprobe_multi', pattern: 'vfs_rea?', ret: true }],
    [
      'uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:malloc',
      { kind: 'uprobe', binary: '/usr/lib/x86_64-linux-gnu/libc.so.6', symbol: 'malloc' },
    ],
    ['uprobe:libc.so.6:malloc+4', { kind: 'uprobe', binary: 'libc.so.6', symbol: 'malloc', offset: 4 }],
    ['uprobe:/bin/true:0x2a30', { kind: 'uprobe', binary: '/bin/true', offset: 0x2a30 }],
    ['uprobe:/opt/a:b/app:_ZN3app4mainEv', { kind: 'uprobe', binary: '/opt/a:b/app', symbol: '_ZN3app4mainEv' }],
    ['uprobe:libc.so.6:malloc@@GLIBC_2.2.5', { kind: 'uprobe', binary: 'libc.so.6', symbol: 'malloc@@GLIBC_2.2.5' }],
    ['uretprobe:/bin/bash:readline', { kind: 'uprobe', binary: '/bin/bash', symbol: 'readline', ret: true }],
    ['uretprobe:/bin/bash:0x100', { kind: 'uprobe', binary: '/bin/bash', offset: 0x100, ret: true }],
    ['uprobe_multi:libc.so.6:malloc,free', { kind: 'uprobe_multi', binary: 'libc.so.6', symbols: ['malloc', 'free'] }],
    ['uretprobe_multi:libc.so.6:malloc', { kind: 'uprobe_multi', binary: 'libc.so.6', symbols: ['malloc'], ret: true }],
    ['tracepoint:sched:sched_process_exec', { kind: 'tracepoint', group: 'sched', name: 'sched_process_exec' }],
    ['tp:syscalls:sys_enter_openat', { kind: 'tracepoint', group: 'syscalls', name: 'sys_enter_openat' }],
    ['raw_tracepoint:sched_switch', { kind: 'raw_tracepoint', name: 'sched_switch' }],
    ['raw_tp:sched_process_exec', { kind: 'raw_tracepoint', name: 'sched_process_exec' }],
    ['fentry', { kind: 'tracing' }],
    ['fexit', { kind: 'tracing' }],
    ['fmod_ret', { kind: 'tracing' }],
    ['tp_btf', { kind: 'tracing' }],
    ['freplace', { kind: 'tracing' }],
    ['tracing', { kind: 'tracing' }],
    ['lsm', { kind: 'lsm' }],
    ['perf_event:software:cpu-clock:99hz', { kind: 'perf_event', type: 1, config: 0n, sampleFrequency: 99 }],
    ['perf_event:hardware:instructions:100000', { kind: 'perf_event', type: 0, config: 1n, samplePeriod: 100000n }],
    ['perf_event:8:0x1c2', { kind: 'perf_event', type: 8, config: 0x1c2n }],
    [
      'cgroup:/sys/fs/cgroup/x:cgroup_inet_ingress',
      { kind: 'cgroup', path: '/sys/fs/cgroup/x', attachType: AttachType.CGROUP_INET_INGRESS },
    ],
    ['cgroup:/sys/fs/cgroup/app:sock_ops', { kind: 'cgroup', path: '/sys/fs/cgroup/app', attachType: AttachType.CGROUP_SOCK_OPS }],
    ['cgroup:/sys/fs/cgroup:LSM_CGROUP', { kind: 'cgroup', path: '/sys/fs/cgroup', attachType: AttachType.LSM_CGROUP }],
    ['flow_dissector', { kind: 'flow_dissector' }],
    ['flow_dissector:/run/netns/blue', { kind: 'flow_dissector', netns: '/run/netns/blue' }],
    ['sk_lookup', { kind: 'sk_lookup' }],
    ['sk_lookup:/proc/1/ns/net', { kind: 'sk_lookup', netns: '/proc/1/ns/net' }],
    ['netfilter:ipv4:local_in:-128', { kind: 'netfilter', family: 'ipv4', hook: 'local_in', priority: -128 }],
    ['netfilter:ipv6:pre_routing:5:defrag', { kind: 'netfilter', family: 'ipv6', hook: 'pre_routing', priority: 5, defrag: true }],
    ['iter', { kind: 'iter' }],
    ['iter:pid=42', { kind: 'iter', task: { pid: 42 } }],
    ['iter:tid=7', { kind: 'iter', task: { tid: 7 } }],
    ['XDP:veth0', { kind: 'xdp', interface: 'veth0' }],
  ];

  it.each(accepted)('parses %s', (text, target) => {
    expect(parseAttachTarget(text)).toEqual(target);
  });

  it('has a syntax line for every kind it parses, and every line is covered above', () => {
    const kinds = new Set(accepted.map(([text]) => text.split(':')[0]!.toLowerCase()));
    for (const kind of Object.keys(ATTACH_TARGET_SYNTAX)) {
      expect(kinds.has(kind) || (kind === 'tracing' && kinds.has('fentry'))).toBe(true);
    }
  });

  const refused: [string, RegExp][] = [
    ['', /expected <kind>:<details>, one of: xdp:<interface>.*; iter\[:pid=<pid>\|tid=<tid>\], got the string ""/],
    ['bogus:thing', /one of: xdp:.*tcx:<interface>:ingress\|egress;.*got the string "bogus:thing"/],
    ['xdp', /expected xdp:<interface>\[:native\|generic\|offload\]\[:link\|netlink\] \(1 to 3 fields after 'xdp:'\)/],
    ['xdp:', /\(1 to 3 fields after 'xdp:'\)/],
    ['xdp:veth0:turbo', /'turbo' is neither a mode \(native, generic, offload\) nor a method \(link, netlink\)/],
    ['xdp:veth0:generic:native', /\(one mode\)/],
    ['xdp:veth0:link:netlink', /\(one method\)/],
    ['xdp:averyveryverylongname', /an interface name of at most 15 characters/],
    ['xdp:0', /an interface index is a positive number/],
    ['tc:eth1', /expected tc:<interface>:ingress\|egress\[:<priority>\] \(2 to 3 fields after 'tc:'\)/],
    ['tc:eth1:sideways', /\(the direction is ingress or egress\)/],
    ['tc:eth1:ingress:0', /the priority is 1 to 65535/],
    ['tc:eth1:ingress:70000', /the priority is 1 to 65535/],
    ['tcx:eth1:ingress:5', /\(2 fields after 'tcx:'\)/],
    ['kprobe:', /kprobe:<function>\[\+<offset>\] \(1 field after 'kprobe:'\)/],
    ['kprobe:1abc', /\(a kernel function name\)/],
    ['kprobe:foo+bar', /the offset is a number of bytes/],
    ['kretprobe:foo+4', /a kretprobe is at the function, without an offset/],
    ['kprobe_multi:a*,b', /one glob of \* and \? over function names/],
    ['kprobe_multi:a,,b', /kernel function names separated by commas/],
    [
      'uprobe:/bin/true',
      /uprobe:<binary>:<symbol>\[\+<offset>\] or uprobe:<binary>:<0xfile offset> \(a path, a colon, and what follows it\)/,
    ],
    ['uprobe:/bin/true:', /a path, a colon, and what follows it/],
    ['uprobe::malloc', /a path, a colon, and what follows it/],
    ['uprobe:/bin/true:1234', /a symbol name, or a file offset in 0x hex/],
    ['uprobe:/bin/true:main+x', /the offset is a number of bytes/],
    ['uretprobe:/bin/true:main+4', /a uretprobe is at the function, without an offset/],
    ['uprobe_multi:libc.so.6:malloc,', /symbol names separated by commas/],
    ['tracepoint:sched', /tracepoint:<group>:<name> \(or tp:\) \(2 fields after 'tracepoint:'\)/],
    ['tp:sched:bad name', /a group and an event name from tracefs events\//],
    ['raw_tracepoint:a:b', /\(1 field after 'raw_tracepoint:'\)/],
    ['fentry:do_unlinkat', /expected fentry \(nothing after 'fentry': its function was fixed when the program was loaded/],
    ['lsm:file_open', /expected lsm \(nothing after 'lsm': its hook was fixed when the program was loaded/],
    ['perf_event:software', /\(2 to 3 fields after 'perf_event:'\)/],
    ['perf_event:magic:1', /the type is hardware, software, tracepoint, hw_cache, raw, breakpoint or a PMU type number/],
    ['perf_event:software:cpu-cock', /the event is a config number or one of cpu-clock, task-clock/],
    ['perf_event:software:cpu-clock:0hz', /a frequency of at least 1hz/],
    ['perf_event:software:cpu-clock:often', /the sampling is <N>hz or a period/],
    ['cgroup:/sys/fs/cgroup/x:xdp', /the attach type is one of cgroup_inet_ingress, cgroup_inet_egress,.*lsm_cgroup/],
    ['cgroup:/sys/fs/cgroup/x', /a path, a colon, and what follows it/],
    ['flow_dissector:', /a network namespace path after the colon/],
    ['netfilter:ipv5:local_in:1', /the family is ipv4 or ipv6/],
    ['netfilter:ipv4:input:1', /the hook is one of pre_routing, local_in, forward, local_out, post_routing/],
    ['netfilter:ipv4:local_in:high', /the priority is an integer/],
    ['netfilter:ipv4:local_in:2147483647', /between INT_MIN and INT_MAX, both excluded/],
    ['netfilter:ipv4:local_in:1:frag', /the last field is 'defrag' or nothing/],
    ['iter:pid=0', /pid=<pid> or tid=<tid>, a positive number/],
    ['iter:cgroup=/x', /pid=<pid> or tid=<tid>/],
    ['iter:', /\(0 to 1 fields after 'iter:'\)/],
    [
      'socket:3',
      /a target a shell can name \(a socket filter attaches to a socket of the process that owns it: attach it with program.attach\(\) in that process\)/,
    ],
    ['reuseport:3', /a reuseport program attaches to a socket/],
    ['sockmap:12:sk_msg_verdict', /an sk_msg\/sk_skb program attaches to a sockmap/],
  ];

  it.each(refused)('refuses %j', (text, message) => {
    let caught: unknown;
    try {
      parseAttachTarget(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as Error).message).toMatch(/^attach target: expected /);
    expect((caught as Error).message).toMatch(message);
    // Printed by the CLI as one line.
    expect((caught as Error).message).not.toMatch(/\n/);
  });

  it('refuses what is not a string', () => {
    expect(() => parseAttachTarget(undefined as unknown as string)).toThrow(/got undefined/);
  });
});
