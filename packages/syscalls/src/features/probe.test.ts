import { Errno, MapFlags, MapType, ProgramType } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { bpffsMountPoint, capabilities, mounts } from './environment.js';
import {
  probeFeature,
  probeFeatures,
  probeHelper,
  probeLinkTypes,
  probeMapTypes,
  probePinPathFd,
  probeProgramStreams,
  probeProgramType,
} from './probe.js';
import type { ProbeMapAttr, ProbeSys } from './probe-sys.js';
import { whenFeature, whenKernel } from '@bpfkit/syscalls/testing';

/** A kernel that knows only hash maps, socket filters and one helper. */
function fakeSys(): ProbeSys & { open: number } {
  let next = 100;
  const sys = {
    open: 0,
    mapCreate: (a: { type: number }) => {
      if (a.type === MapType.ARENA) return -Errno.EPERM;
      if (a.type !== MapType.HASH && a.type !== MapType.ARRAY) return -Errno.EINVAL;
      sys.open++;
      return next++;
    },
    progLoad: (a: { type: number; instructions: Uint8Array }) => {
      if (a.type === ProgramType.LSM) return { fd: -Errno.EPERM, log: '' };
      if (a.type !== ProgramType.SOCKET_FILTER) return { fd: -Errno.EINVAL, log: '' };
      if (a.instructions[0] === 0x85) {
        const helper = new DataView(a.instructions.buffer).getInt32(4, true);
        return helper === 1
          ? { fd: -Errno.EACCES, log: '0: (85) call bpf_map_lookup_elem#1\nR1 !read_ok' }
          : { fd: -Errno.EINVAL, log: `0: (85) call unknown#${helper}\ninvalid func unknown#${helper}` };
      }
      sys.open++;
      return { fd: next++, log: '' };
    },
    btfLoad: () => {
      sys.open++;
      return next++;
    },
    mapLookupBatch: () => -Errno.EINVAL,
    pinRelativeToBadDirectory: () => -Errno.EBADF,
    readStreamOfBadFd: () => -Errno.EINVAL,
    close: () => {
      sys.open--;
    },
  };
  return sys;
}

describe('feature probes (logic)', () => {
  it('reads support from the answers of map creation and program loads, and closes what it opened', () => {
    const sys = fakeSys();
    const maps = probeMapTypes(sys);
    expect(maps.types.hash).toBe(true);
    expect(maps.types.ringbuf).toBe(false);
    expect(maps.reasons.ringbuf).toBeUndefined();
    expect(maps.types.arena).toBe(false);
    expect(maps.reasons.arena).toMatch(/refused with EPERM although privileged/);
    expect(probePinPathFd(sys)).toBe(true);
    expect(probeProgramStreams(sys)).toBe(false);
    expect(probeProgramType(sys, ProgramType.SOCKET_FILTER, 0)).toEqual({ supported: true });
    expect(probeProgramType(sys, ProgramType.XDP, 0)).toEqual({ supported: false });
    expect(probeProgramType(sys, ProgramType.LSM, 0).reason).toMatch(/lockdown/);
    expect(probeHelper(sys, ProgramType.SOCKET_FILTER, 1, 0)).toBe(true);
    expect(probeHelper(sys, ProgramType.SOCKET_FILTER, 2, 0)).toBe(false);
    expect(sys.open).toBe(0);
  });

  it('creates the smallest map of each type by the map rules table, with what each needs besides', () => {
    const sys = fakeSys();
    const attrs: ProbeMapAttr[] = [];
    const create = sys.mapCreate;
    sys.mapCreate = (a: ProbeMapAttr) => {
      attrs.push(a);
      return create(a);
    };
    probeMapTypes(sys);
    const of = (type: number) => attrs.find((a) => a.type === type);
    expect(of(MapType.RINGBUF)).toEqual({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
    expect(of(MapType.LPM_TRIE)).toEqual({ type: MapType.LPM_TRIE, keySize: 8, valueSize: 8, maxEntries: 1, flags: MapFlags.NO_PREALLOC });
    expect(of(MapType.TASK_STORAGE)).toMatchObject({
      keySize: 4,
      valueSize: 4,
      maxEntries: 0,
      flags: MapFlags.NO_PREALLOC,
      btfKeyTypeId: 1,
      btfValueTypeId: 1,
    });
    expect(of(MapType.HASH_OF_MAPS)?.innerMapFd).toBeGreaterThan(0);
    expect(of(MapType.STRUCT_OPS)?.btfVmlinuxValueTypeId).toBe(0x7fffffff);
    expect(of(MapType.REUSEPORT_SOCKARRAY)?.valueSize).toBe(8);
    expect(of(MapType.UNSPEC)).toBeUndefined();
    // The inner map template and one map of each of the 33 types.
    expect(attrs).toHaveLength(1 + 33);
    expect(sys.open).toBe(0);
  });

  it('probes one feature by name, creating and closing only what that feature needs', () => {
    const sys = fakeSys();
    const attrs: ProbeMapAttr[] = [];
    const create = sys.mapCreate;
    sys.mapCreate = (a: ProbeMapAttr) => {
      attrs.push(a);
      return create(a);
    };
    expect(probeFeature('map:arena', sys)).toEqual({ has: false, restriction: expect.stringMatching(/refused with EPERM/) });
    // The inner map template and the arena, nothing else.
    expect(attrs.map((a) => a.type)).toEqual([MapType.ARRAY, MapType.ARENA]);
    expect(probeFeature('map:hash', sys)).toEqual({ has: true });
    expect(probeFeature('program:socket_filter', sys)).toEqual({ has: true });
    expect(probeFeature('program:lsm', sys)).toMatchObject({ has: false, restriction: expect.stringMatching(/lockdown/) });
    expect(probeFeature('pin-path-fd', sys)).toEqual({ has: true });
    expect(probeFeature('program-streams', sys)).toEqual({ has: false });
    expect(sys.open).toBe(0);
  });

  whenFeature('kernel-btf').it('asks a kprobe_multi link for real: the link type alone says nothing of CONFIG_FPROBE', () => {
    const sys = fakeSys();
    sys.kprobeMultiOnMissingFunction = () => -Errno.EOPNOTSUPP;
    expect(probeFeature('link:kprobe_multi', sys)).toEqual({ has: false, restriction: expect.stringMatching(/without CONFIG_FPROBE/) });
    sys.kprobeMultiOnMissingFunction = () => -Errno.ESRCH;
    expect(probeFeature('link:kprobe_multi', sys)).toEqual({ has: true });
  });

  it('answers what needs no bpf() for an unprivileged process, and says why the rest is unknown', () => {
    const sys = fakeSys();
    const f = probeFeatures({ sys, access: { available: false, reason: 'bpf(BPF_MAP_CREATE) fails with EPERM: not privileged' } });
    expect(f.bpf).toEqual({ available: false, reason: 'bpf(BPF_MAP_CREATE) fails with EPERM: not privileged' });
    expect(f.mapTypes).toEqual({});
    expect(f.programTypes).toEqual({});
    expect(f.batchOps).toBe(false);
    expect(f.kernel.major).toBeGreaterThan(0);
    expect(Object.keys(f.linkTypes).length).toBeGreaterThan(0);
    expect(sys.open).toBe(0);
  });

  it('falls back to kernel versions for link types without BTF', () => {
    const old = probeLinkTypes(undefined, { major: 5, minor: 10 });
    expect(old.xdp).toBe(true);
    expect(old.tcx).toBe(false);
  });

  it('parses mounts and capabilities', () => {
    const table = mounts('bpf /sys/fs/bpf bpf rw 0 0\nnone /my\\040dir tmpfs rw 0 0\n');
    expect(table[1]!.target).toBe('/my dir');
    expect(bpffsMountPoint(table)).toBe('/sys/fs/bpf');
    expect(bpffsMountPoint(table.slice(1))).toBeUndefined();
    const caps = capabilities('CapEff:\t000000c000201000\n');
    expect(caps).toMatchObject({
      CAP_BPF: true,
      CAP_PERFMON: true,
      CAP_SYS_ADMIN: true,
      CAP_NET_ADMIN: true,
      CAP_SYS_RESOURCE: false,
      CAP_IPC_LOCK: false,
    });
    expect(capabilities('CapEff:\t0000000000004000\n')).toMatchObject({ CAP_IPC_LOCK: true, CAP_SYS_ADMIN: false });
  });
});

whenKernel().describe('feature probes (kernel)', () => {
  const f = probeFeatures();

  it('finds what every kernel since 5.8 has', () => {
    expect(f.kernel.major).toBeGreaterThanOrEqual(5);
    for (const m of [
      'hash',
      'array',
      'percpu_array',
      'lru_hash',
      'lpm_trie',
      'prog_array',
      'perf_event_array',
      'array_of_maps',
      'ringbuf',
    ]) {
      expect(f.mapTypes[m], m).toBe(true);
    }
    for (const p of ['socket_filter', 'xdp', 'sched_cls', 'tracepoint', 'cgroup_skb', 'sk_lookup']) expect(f.programTypes[p], p).toBe(true);
    expect(f.helpers.socket_filter!.map_lookup_elem).toBe(true);
    expect(f.helpers.socket_filter!.xdp_adjust_head).toBe(false);
    expect(f.helpers.xdp!.xdp_adjust_head).toBe(true);
    expect(f.ringBuffer).toBe(true);
    expect(f.batchOps).toBe(true);
    expect(f.linkTypes.xdp).toBe(true);
  });

  it('agrees with the kernel version on memlock accounting and with sysfs on the kprobe PMU', async () => {
    expect(f.memlockAccounting).toBe(f.kernel.code < (5 << 16) + (11 << 8));
    const fs = await import('node:fs');
    expect(f.kprobePmu).toBe(fs.existsSync('/sys/bus/event_source/devices/kprobe'));
  });

  it('is cached', () => {
    expect(probeFeatures()).toBe(f);
  });

  it('says bpf() is available (pins relative to a directory and BPF streams are checked by use in sys.test.ts)', () => {
    expect(f.bpf).toEqual({ available: true });
  });
});
