import { parseKernelRelease } from '@bpfkit/core';
import type { Features } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { featureSince, kernelFeatureSupport } from './support.js';

/** Features of a privileged process on `release` where only what `has` names is present. */
function features(release: string, has: Partial<Features> = {}): Features {
  return {
    kernel: parseKernelRelease(release),
    bpf: { available: true },
    btf: false,
    bpffs: undefined,
    mapTypes: { hash: true, arena: false, ringbuf: false },
    mapTypeRestrictions: {},
    programTypes: { xdp: true, lirc_mode2: false },
    programTypeRestrictions: {},
    linkTypes: {},
    helpers: {},
    batchOps: true,
    ringBuffer: false,
    kprobePmu: false,
    uprobePmu: true,
    pinPathFd: false,
    programStreams: false,
    structOpsLink: true,
    capabilities: {
      root: true,
      CAP_BPF: true,
      CAP_PERFMON: true,
      CAP_SYS_ADMIN: true,
      CAP_NET_ADMIN: true,
      CAP_SYS_RESOURCE: true,
      CAP_IPC_LOCK: true,
    },
    memlockAccounting: false,
    ...has,
  };
}

const config = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe('kernelFeatureSupport', () => {
  it('says supported when the probe says yes', () => {
    expect(kernelFeatureSupport('map:hash', { features: features('6.18.0') })).toEqual({
      feature: 'map:hash',
      state: 'supported',
      reason: '',
    });
    expect(kernelFeatureSupport('uprobe-pmu', { features: features('6.18.0') }).state).toBe('supported');
  });

  it('says the kernel is too old, naming the first release with the feature', () => {
    const r = kernelFeatureSupport('map:arena', { features: features('6.1.0'), config: config({}) });
    expect(r).toEqual({ feature: 'map:arena', state: 'too-old', reason: 'map:arena needs Linux 6.9; this kernel is 6.1.0' });
    expect(kernelFeatureSupport('pin-path-fd', { features: features('6.4.9') }).reason).toMatch(/needs Linux 6\.5/);
  });

  it('passes on the probe’s own reason for a type the kernel refuses here', () => {
    const f = features('6.18.0', { mapTypeRestrictions: { arena: 'refused with EPERM although privileged: a security policy' } });
    expect(kernelFeatureSupport('map:arena', { features: f })).toMatchObject({
      state: 'refused',
      reason: 'map:arena: refused with EPERM although privileged: a security policy',
    });
  });

  it('names the config option a kernel was built without', () => {
    const r = kernelFeatureSupport('program:lirc_mode2', { features: features('6.18.0'), config: config({ CONFIG_BPF_SYSCALL: 'y' }) });
    expect(r).toMatchObject({ state: 'not-built', reason: 'program:lirc_mode2: this kernel is built without CONFIG_BPF_LIRC_MODE2' });
    const k = kernelFeatureSupport('kprobe-pmu', { features: features('6.18.0'), config: config({ CONFIG_KPROBE_EVENTS: 'y' }) });
    expect(k.reason).toMatch(/without CONFIG_KPROBES$/);
  });

  it('calls a "no" that nothing explains on a new enough kernel a disagreement, not a skip', () => {
    const r = kernelFeatureSupport('map:ringbuf', { features: features('6.18.0'), config: config({ CONFIG_BPF_SYSCALL: 'y' }) });
    expect(r.state).toBe('probe-disagrees');
    expect(r.reason).toMatch(/lacks map:ringbuf, which Linux 5\.8 and later have/);
    // A module-built option counts as present.
    expect(
      kernelFeatureSupport('program:lirc_mode2', { features: features('6.18.0'), config: config({ CONFIG_BPF_LIRC_MODE2: 'm' }) }).state,
    ).toBe('probe-disagrees');
  });

  it('says what an unprivileged process cannot know, only for probes that need bpf()', () => {
    const f = features('6.18.0', { bpf: { available: false, reason: 'not privileged' }, mapTypes: {} });
    expect(kernelFeatureSupport('map:hash', { features: f })).toMatchObject({
      state: 'unprivileged',
      reason: 'probing map:hash needs bpf(): not privileged',
    });
    expect(kernelFeatureSupport('uprobe-pmu', { features: f }).state).toBe('supported');
  });

  it('knows the first release of every feature it names and refuses names it does not know', () => {
    expect(featureSince('map:ringbuf')).toBe('5.8');
    expect(featureSince('program-streams')).toBe('6.17');
    expect(featureSince('link:tcx')).toBe('6.6');
    // @ts-expect-error: not a feature name
    expect(() => kernelFeatureSupport('map:nonsense', { features: features('6.18.0') })).toThrow(
      /feature: expected a feature bpfkit knows .*, got the string "map:nonsense"/,
    );
  });
});
