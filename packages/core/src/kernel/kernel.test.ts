import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  AttachFlags,
  AttachType,
  attachTypeFromName,
  attachTypeName,
  attachTypeNames,
  defineKernelEnum,
  flagNames,
  Helper,
  helperFromName,
  helperName,
  helperNames,
  LinkType,
  linkTypeFromName,
  linkTypeMinimumKernel,
  linkTypeName,
  linkTypeNames,
  linkTypeSince,
  MapFlags,
  MapType,
  mapTypeFromName,
  mapTypeMinimumKernel,
  mapTypeName,
  mapTypeNames,
  mapTypeSince,
  ProgramFlags,
  ProgramType,
  programTypeFromName,
  programTypeMinimumKernel,
  programTypeName,
  programTypeNames,
  programTypeSince,
  UpdateFlags,
  type HelperName,
  type MapTypeName,
  type ProgramTypeName,
} from './index.js';
import { NotSupportedError } from '../errors.js';

/** Numbers of a table, checked to be exactly 0..N-1, each once, except for the listed aliases. */
function expectDense(table: Readonly<Record<string, number>>, aliases: readonly string[] = []): number {
  const values = Object.entries(table)
    .filter(([k]) => !aliases.includes(k))
    .map(([, v]) => v);
  const sorted = [...values].sort((a, b) => a - b);
  expect(sorted).toEqual(sorted.map((_, i) => i));
  for (const a of aliases) expect(values).toContain(table[a]);
  return values.length;
}

function versionNumber(v: string): number {
  const [major, minor] = v.split('.').map(Number);
  return major! * 1000 + minor!;
}

describe('MapType', () => {
  it('matches linux/bpf.h of 6.18', () => {
    expect(MapType.UNSPEC).toBe(0);
    expect(MapType.HASH).toBe(1);
    expect(MapType.PERF_EVENT_ARRAY).toBe(4);
    expect(MapType.LPM_TRIE).toBe(11);
    expect(MapType.SOCKHASH).toBe(18);
    expect(MapType.CGROUP_STORAGE).toBe(19);
    expect(MapType.CGROUP_STORAGE_DEPRECATED).toBe(19);
    expect(MapType.PERCPU_CGROUP_STORAGE).toBe(21);
    expect(MapType.PERCPU_CGROUP_STORAGE_DEPRECATED).toBe(21);
    expect(MapType.RINGBUF).toBe(27);
    expect(MapType.BLOOM_FILTER).toBe(30);
    expect(MapType.USER_RINGBUF).toBe(31);
    expect(MapType.CGRP_STORAGE).toBe(32);
    expect(MapType.ARENA).toBe(33);
  });

  it('is dense 0..33 apart from the two kernel aliases', () => {
    expect(expectDense(MapType, ['CGROUP_STORAGE_DEPRECATED', 'PERCPU_CGROUP_STORAGE_DEPRECATED'])).toBe(34);
    expect(mapTypeNames).toHaveLength(34);
    expect(mapTypeNames[0]).toBe('unspec');
    expect(mapTypeNames[33]).toBe('arena');
  });

  it('names numbers in lower case, preferring the non-deprecated alias', () => {
    expect(mapTypeName(1)).toBe('hash');
    expect(mapTypeName(MapType.PERCPU_ARRAY)).toBe('percpu_array');
    expect(mapTypeName(19)).toBe('cgroup_storage');
    expect(mapTypeName(21)).toBe('percpu_cgroup_storage');
    expect(mapTypeName(34)).toBe('unknown(34)');
    expect(mapTypeName(-1)).toBe('unknown(-1)');
    expect(mapTypeName(1.5)).toBe('unknown(1.5)');
  });

  it('looks names up in every spelling', () => {
    expect(mapTypeFromName('hash')).toBe(1);
    expect(mapTypeFromName('HASH')).toBe(1);
    expect(mapTypeFromName('BPF_MAP_TYPE_HASH')).toBe(1);
    expect(mapTypeFromName('bpf_map_type_ringbuf')).toBe(27);
    expect(mapTypeFromName(' lru_hash ')).toBe(9);
    expect(mapTypeFromName('cgroup_storage_deprecated')).toBe(19);
    expect(mapTypeFromName('BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE_DEPRECATED')).toBe(21);
    expect(mapTypeFromName('nope')).toBeUndefined();
    expect(mapTypeFromName('')).toBeUndefined();
    expect(mapTypeFromName('constructor')).toBeUndefined();
    expect(mapTypeFromName('__proto__')).toBeUndefined();
    expect(mapTypeFromName(42 as unknown as string)).toBeUndefined();
  });

  it('round-trips every name', () => {
    for (const name of mapTypeNames) expect(mapTypeName(mapTypeFromName(name)!)).toBe(name);
  });

  it('knows when each map type appeared', () => {
    expect(mapTypeSince.ringbuf).toBe('5.8');
    expect(mapTypeSince.hash).toBe('3.19');
    expect(mapTypeSince.arena).toBe('6.9');
    expect(mapTypeSince.user_ringbuf).toBe('6.1');
    expect(mapTypeMinimumKernel(MapType.BLOOM_FILTER)).toBe('5.16');
    expect(mapTypeMinimumKernel(MapType.CGROUP_STORAGE_DEPRECATED)).toBe('4.19');
    expect(mapTypeMinimumKernel(99)).toBeUndefined();
    expect(Object.keys(mapTypeSince).sort()).toEqual([...mapTypeNames].sort());
    expect(new NotSupportedError('ring buffer maps', mapTypeMinimumKernel(MapType.RINGBUF)).message).toContain(
      'requires at least Linux 5.8',
    );
  });

  it('has types named without aliases', () => {
    expectTypeOf<'cgroup_storage'>().toMatchTypeOf<MapTypeName>();
    expectTypeOf<'cgroup_storage_deprecated'>().not.toMatchTypeOf<MapTypeName>();
    expectTypeOf(MapType.ARENA).toEqualTypeOf<33>();
    expectTypeOf(mapTypeFromName('x')).toEqualTypeOf<MapType | undefined>();
  });
});

describe('ProgramType', () => {
  it('matches linux/bpf.h of 6.18', () => {
    expect(ProgramType.SOCKET_FILTER).toBe(1);
    expect(ProgramType.KPROBE).toBe(2);
    expect(ProgramType.SCHED_CLS).toBe(3);
    expect(ProgramType.XDP).toBe(6);
    expect(ProgramType.CGROUP_SOCK_ADDR).toBe(18);
    expect(ProgramType.TRACING).toBe(26);
    expect(ProgramType.LSM).toBe(29);
    expect(ProgramType.SYSCALL).toBe(31);
    expect(ProgramType.NETFILTER).toBe(32);
  });

  it('is dense 0..32', () => {
    expect(expectDense(ProgramType)).toBe(33);
    expect(programTypeNames.at(-1)).toBe('netfilter');
  });

  it('converts names and numbers', () => {
    expect(programTypeName(ProgramType.RAW_TRACEPOINT_WRITABLE)).toBe('raw_tracepoint_writable');
    expect(programTypeName(33)).toBe('unknown(33)');
    expect(programTypeFromName('BPF_PROG_TYPE_XDP')).toBe(6);
    expect(programTypeFromName('Sched_Act')).toBe(4);
    expect(programTypeFromName('prog_type_xdp')).toBeUndefined();
    for (const name of programTypeNames) expect(programTypeName(programTypeFromName(name)!)).toBe(name);
    expectTypeOf<'netfilter'>().toMatchTypeOf<ProgramTypeName>();
  });

  it('knows when each program type appeared', () => {
    expect(programTypeSince.xdp).toBe('4.8');
    expect(programTypeSince.lsm).toBe('5.7');
    expect(programTypeSince.netfilter).toBe('6.4');
    expect(programTypeMinimumKernel(ProgramType.SK_LOOKUP)).toBe('5.9');
    expect(programTypeMinimumKernel(1000)).toBeUndefined();
    expect(Object.keys(programTypeSince).sort()).toEqual([...programTypeNames].sort());
  });
});

describe('AttachType', () => {
  it('matches linux/bpf.h of 6.18 up to the last entry', () => {
    expect(AttachType.CGROUP_INET_INGRESS).toBe(0);
    expect(AttachType.CGROUP_INET6_POST_BIND).toBe(13);
    expect(AttachType.TRACE_FENTRY).toBe(24);
    expect(AttachType.XDP).toBe(37);
    expect(AttachType.PERF_EVENT).toBe(41);
    expect(AttachType.TRACE_KPROBE_MULTI).toBe(42);
    expect(AttachType.NETFILTER).toBe(45);
    expect(AttachType.TCX_INGRESS).toBe(46);
    expect(AttachType.TCX_EGRESS).toBe(47);
    expect(AttachType.TRACE_UPROBE_MULTI).toBe(48);
    expect(AttachType.CGROUP_UNIX_CONNECT).toBe(49);
    expect(AttachType.CGROUP_UNIX_GETSOCKNAME).toBe(53);
    expect(AttachType.NETKIT_PRIMARY).toBe(54);
    expect(AttachType.NETKIT_PEER).toBe(55);
    expect(AttachType.TRACE_KPROBE_SESSION).toBe(56);
    expect(AttachType.TRACE_UPROBE_SESSION).toBe(57);
  });

  it('is dense 0..57 and has nothing newer than 6.18', () => {
    expect(expectDense(AttachType)).toBe(58);
    expect(attachTypeNames.at(-1)).toBe('trace_uprobe_session');
    expect(attachTypeFromName('trace_fsession')).toBeUndefined();
  });

  it('converts names and numbers', () => {
    expect(attachTypeName(AttachType.CGROUP_INET_INGRESS)).toBe('cgroup_inet_ingress');
    expect(attachTypeName(58)).toBe('unknown(58)');
    expect(attachTypeFromName('BPF_XDP')).toBe(37);
    expect(attachTypeFromName('xdp')).toBe(37);
    expect(attachTypeFromName('NETKIT_PEER')).toBe(55);
    expect(attachTypeFromName('BPF_CGROUP_UNIX_RECVMSG')).toBe(51);
    for (const name of attachTypeNames) expect(attachTypeName(attachTypeFromName(name)!)).toBe(name);
  });
});

describe('LinkType', () => {
  it('matches linux/bpf.h of 6.18', () => {
    expect(LinkType.XDP).toBe(6);
    expect(LinkType.KPROBE_MULTI).toBe(8);
    expect(LinkType.NETFILTER).toBe(10);
    expect(LinkType.TCX).toBe(11);
    expect(LinkType.UPROBE_MULTI).toBe(12);
    expect(LinkType.NETKIT).toBe(13);
    expect(LinkType.SOCKMAP).toBe(14);
    expect(expectDense(LinkType)).toBe(15);
  });

  it('converts names and numbers', () => {
    expect(linkTypeName(LinkType.PERF_EVENT)).toBe('perf_event');
    expect(linkTypeName(15)).toBe('unknown(15)');
    expect(linkTypeFromName('BPF_LINK_TYPE_TCX')).toBe(11);
    for (const name of linkTypeNames) expect(linkTypeName(linkTypeFromName(name)!)).toBe(name);
  });

  it('knows when each link type appeared', () => {
    expect(linkTypeSince.tcx).toBe('6.6');
    expect(linkTypeSince.sockmap).toBe('6.10');
    expect(linkTypeMinimumKernel(LinkType.NETKIT)).toBe('6.7');
    expect(Object.keys(linkTypeSince).sort()).toEqual([...linkTypeNames].sort());
  });
});

describe('introduction versions', () => {
  it('never decrease along the enum (the kernel appends new members)', () => {
    for (const [names, since] of [
      [mapTypeNames, mapTypeSince],
      [programTypeNames, programTypeSince],
      [linkTypeNames, linkTypeSince],
    ] as const) {
      const versions = names.map((n) => (since as Record<string, string>)[n]!);
      for (const v of versions) expect(v).toMatch(/^\d+\.\d+$/);
      for (let i = 1; i < versions.length; i++) expect(versionNumber(versions[i]!)).toBeGreaterThanOrEqual(versionNumber(versions[i - 1]!));
    }
  });
});

describe('Helper', () => {
  it('matches ___BPF_FUNC_MAPPER of 6.18', () => {
    expect(Helper.unspec).toBe(0);
    expect(Helper.map_lookup_elem).toBe(1);
    expect(Helper.map_update_elem).toBe(2);
    expect(Helper.ktime_get_ns).toBe(5);
    expect(Helper.trace_printk).toBe(6);
    expect(Helper.tail_call).toBe(12);
    expect(Helper.get_current_pid_tgid).toBe(14);
    expect(Helper.perf_event_output).toBe(25);
    expect(Helper.redirect_map).toBe(51);
    expect(Helper.probe_read_kernel).toBe(113);
    expect(Helper.ringbuf_output).toBe(130);
    expect(Helper.ringbuf_reserve).toBe(131);
    expect(Helper.loop).toBe(181);
    expect(Helper.user_ringbuf_drain).toBe(209);
    expect(Helper.cgrp_storage_get).toBe(210);
    expect(Helper.cgrp_storage_delete).toBe(211);
  });

  it('is dense 0..211', () => {
    expect(expectDense(Helper)).toBe(212);
    expect(helperNames).toHaveLength(212);
  });

  it('converts names and numbers, including C names', () => {
    expect(helperName(130)).toBe('ringbuf_output');
    expect(helperName(212)).toBe('unknown(212)');
    expect(helperFromName('map_lookup_elem')).toBe(1);
    expect(helperFromName('bpf_map_lookup_elem')).toBe(1);
    expect(helperFromName('BPF_FUNC_map_lookup_elem')).toBe(1);
    expect(helperFromName('BPF_FUNC_MAP_LOOKUP_ELEM')).toBe(1);
    expect(helperFromName('bpf_nope')).toBeUndefined();
    for (const name of helperNames) expect(helperName(helperFromName(name)!)).toBe(name);
    expectTypeOf<'ringbuf_output'>().toMatchTypeOf<HelperName>();
  });
});

describe('flags', () => {
  it('match linux/bpf.h of 6.18', () => {
    expect(MapFlags.NO_PREALLOC).toBe(1);
    expect(MapFlags.RDONLY_PROG).toBe(0x80);
    expect(MapFlags.MMAPABLE).toBe(0x400);
    expect(MapFlags.LINK).toBe(0x2000);
    expect(MapFlags.TOKEN_FD).toBe(0x10000);
    expect(MapFlags.NO_USER_CONV).toBe(0x40000);
    expect(ProgramFlags.STRICT_ALIGNMENT).toBe(1);
    expect(ProgramFlags.SLEEPABLE).toBe(16);
    expect(ProgramFlags.XDP_DEV_BOUND_ONLY).toBe(64);
    expect(ProgramFlags.TEST_REG_INVARIANTS).toBe(128);
    expect(ProgramFlags.TOKEN_FD).toBe(MapFlags.TOKEN_FD);
    expect(UpdateFlags).toEqual({ ANY: 0, NOEXIST: 1, EXIST: 2, LOCK: 4 });
    expect(AttachFlags.ALLOW_OVERRIDE).toBe(1);
    expect(AttachFlags.ALLOW_MULTI).toBe(2);
    expect(AttachFlags.REPLACE).toBe(4);
    expect(AttachFlags.BEFORE).toBe(8);
    expect(AttachFlags.AFTER).toBe(16);
    expect(AttachFlags.ID).toBe(32);
    expect(AttachFlags.LINK).toBe(MapFlags.LINK);
  });

  it('are distinct single bits', () => {
    for (const table of [MapFlags, ProgramFlags, AttachFlags]) {
      const bits = Object.values(table);
      expect(new Set(bits).size).toBe(bits.length);
      for (const b of bits) expect(b & (b - 1)).toBe(0);
    }
  });

  it('are named by flagNames', () => {
    expect(flagNames(MapFlags, MapFlags.NO_PREALLOC | MapFlags.MMAPABLE)).toEqual(['no_prealloc', 'mmapable']);
    expect(flagNames(AttachFlags, AttachFlags.BEFORE | AttachFlags.LINK | (1 << 30))).toEqual(['before', 'link', 'unknown(0x40000000)']);
    expect(flagNames(UpdateFlags, UpdateFlags.NOEXIST | UpdateFlags.LOCK)).toEqual(['noexist', 'lock']);
    expect(flagNames(UpdateFlags, 0)).toEqual([]);
    expect(flagNames(ProgramFlags, 0x80000000)).toEqual(['unknown(0x80000000)']);
  });
});

describe('defineKernelEnum', () => {
  it('builds lookups for any table', () => {
    const color = defineKernelEnum('COLOR_', { RED: 0, GREEN: 1, VERDE: 1 } as const, { aliases: ['VERDE'] });
    expect(color.prefix).toBe('COLOR_');
    expect(color.names).toEqual(['red', 'green']);
    expect(color.name(1)).toBe('green');
    expect(color.name(2)).toBe('unknown(2)');
    expect(color.fromName('COLOR_VERDE')).toBe(1);
    expect(color.has(0)).toBe(true);
    expect(color.has(2)).toBe(false);
  });

  it('rejects repeated numbers that are not declared aliases', () => {
    expect(() => defineKernelEnum('X_', { A: 0, B: 0 })).toThrow(/B repeats the number 0/);
    expect(() => defineKernelEnum('X_', { A: 0, a: 1 })).toThrow(/duplicate name a/);
    expect(() => defineKernelEnum('X_', { A: 0 }, { aliases: ['B' as 'A'] })).toThrow(/alias B is not a member/);
  });
});
