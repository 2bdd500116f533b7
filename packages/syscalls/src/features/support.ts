/**
 * One question, one answer: does this kernel, for this process, have a
 * feature — and when not, why. The answer tells "the kernel is too old"
 * from "the kernel has it but forbids it here" from "the kernel was built
 * without it" from "the probe says no although it should say yes", the last
 * being a bug in the probe (cilium/ebpf's tests fail on it rather than skip).
 *
 * @module
 */
import os from 'node:os';
import { InvalidArgumentError, kernelReleaseAtLeast, linkTypeSince, mapTypeSince, programTypeSince } from '@bpfkit/core';
import type { Features, LinkTypeName, MapTypeName, ProgramTypeName } from '@bpfkit/core';
import { kernelConfig, kernelConfigSource } from './kernel-config.js';
import { bpfAccess } from '../access.js';
import { probeFeature } from './probe.js';
import type { FeatureAnswer, probeFeatures } from './probe.js';

/**
 * A kernel feature by name: a map, program or link type (`'map:ringbuf'`,
 * `'program:xdp'`, `'link:tcx'`) or one of the named capabilities.
 */
export type KernelFeature =
  | `map:${MapTypeName}`
  | `program:${ProgramTypeName}`
  | `link:${LinkTypeName}`
  | 'kernel-btf'
  | 'kprobe-pmu'
  | 'uprobe-pmu'
  | 'batch-ops'
  | 'pin-path-fd'
  | 'program-streams'
  | 'struct-ops-link';

/**
 * What {@link kernelFeatureSupport} found:
 * - `supported`: the kernel has it and this process may use it;
 * - `unprivileged`: the probe needs bpf(), which this process may not use;
 * - `too-old`: the kernel predates the feature;
 * - `refused`: the kernel has it but refuses it here (lockdown, an LSM, a capability);
 * - `not-built`: the kernel's config leaves out what the feature needs;
 * - `probe-disagrees`: the kernel is new enough and nothing explains the "no" —
 *   a probe that is wrong, or a kernel built without it and no config to tell.
 */
export type FeatureState = 'supported' | 'unprivileged' | 'too-old' | 'refused' | 'not-built' | 'probe-disagrees';

/** The answer for one feature. */
export interface FeatureSupport {
  feature: KernelFeature;
  state: FeatureState;
  /** Why it is not supported, in words fit for a skip reason or an error; empty when supported. */
  reason: string;
}

/** The first kernel release of each named feature. */
const NAMED_SINCE: Readonly<Record<string, string>> = {
  'kernel-btf': '5.4',
  'kprobe-pmu': '4.17',
  'uprobe-pmu': '4.17',
  'batch-ops': '5.6',
  'pin-path-fd': '6.5',
  'program-streams': '6.17',
  'struct-ops-link': '6.4',
};

/**
 * Kernel config options a feature cannot exist without (one of each inner
 * list suffices). Only options that a distribution kernel may leave out are
 * listed; the rest of BPF comes with CONFIG_BPF_SYSCALL.
 */
const CONFIG_NEEDS: Readonly<Record<string, readonly (readonly string[])[]>> = {
  'kernel-btf': [['CONFIG_DEBUG_INFO_BTF']],
  'kprobe-pmu': [['CONFIG_KPROBES'], ['CONFIG_KPROBE_EVENTS']],
  'uprobe-pmu': [['CONFIG_UPROBE_EVENTS']],
  'map:xskmap': [['CONFIG_XDP_SOCKETS']],
  'map:inode_storage': [['CONFIG_BPF_LSM']],
  'map:cgroup_storage': [['CONFIG_CGROUP_BPF']],
  'map:percpu_cgroup_storage': [['CONFIG_CGROUP_BPF']],
  'map:struct_ops': [['CONFIG_BPF_JIT']],
  'struct-ops-link': [['CONFIG_BPF_JIT']],
  'map:arena': [['CONFIG_BPF_JIT'], ['CONFIG_MMU']],
  'program:lirc_mode2': [['CONFIG_BPF_LIRC_MODE2']],
  'program:lwt_in': [['CONFIG_LWTUNNEL_BPF']],
  'program:lwt_out': [['CONFIG_LWTUNNEL_BPF']],
  'program:lwt_xmit': [['CONFIG_LWTUNNEL_BPF']],
  'program:lwt_seg6local': [['CONFIG_IPV6_SEG6_BPF']],
  'program:lsm': [['CONFIG_BPF_LSM']],
  'program:tracing': [['CONFIG_BPF_JIT']],
  'program:ext': [['CONFIG_BPF_JIT']],
  'program:struct_ops': [['CONFIG_BPF_JIT']],
  'program:netfilter': [['CONFIG_NETFILTER_BPF_LINK']],
  'program:cgroup_skb': [['CONFIG_CGROUP_BPF']],
  'program:cgroup_sock': [['CONFIG_CGROUP_BPF']],
  'program:cgroup_device': [['CONFIG_CGROUP_BPF']],
  'program:cgroup_sock_addr': [['CONFIG_CGROUP_BPF']],
  'program:cgroup_sysctl': [['CONFIG_CGROUP_BPF']],
  'program:cgroup_sockopt': [['CONFIG_CGROUP_BPF']],
  'link:kprobe_multi': [['CONFIG_FPROBE']],
  'link:uprobe_multi': [['CONFIG_UPROBES']],
  'link:netfilter': [['CONFIG_NETFILTER_BPF_LINK']],
  'link:netkit': [['CONFIG_NETKIT']],
  'link:cgroup': [['CONFIG_CGROUP_BPF']],
};

/** Features whose probe runs bpf(): unknown to an unprivileged process. */
function needsBpf(feature: KernelFeature): boolean {
  return (
    feature.startsWith('map:') ||
    feature.startsWith('program:') ||
    ['batch-ops', 'pin-path-fd', 'program-streams', 'struct-ops-link'].includes(feature)
  );
}

/** The first release with `feature`, or undefined for a name bpfkit does not know. */
export function featureSince(feature: KernelFeature): string | undefined {
  const [kind, name] = feature.split(':') as [string, string | undefined];
  if (name === undefined) return NAMED_SINCE[kind];
  const table: Readonly<Record<string, string>> | undefined =
    kind === 'map' ? mapTypeSince : kind === 'program' ? programTypeSince : kind === 'link' ? linkTypeSince : undefined;
  return table?.[name];
}

/** The probe's own yes or no, and the restriction it reported, if any, read from a whole {@link Features}. */
function answerIn(feature: KernelFeature, f: Features): FeatureAnswer {
  const [kind, name = ''] = feature.split(':') as [string, string | undefined];
  switch (kind) {
    case 'map':
      return withRestriction(f.mapTypes[name] === true, f.mapTypeRestrictions[name]);
    case 'program':
      return withRestriction(f.programTypes[name] === true, f.programTypeRestrictions[name]);
    case 'link':
      return { has: f.linkTypes[name] === true };
    case 'kernel-btf':
      return { has: f.btf };
    case 'kprobe-pmu':
      return { has: f.kprobePmu };
    case 'uprobe-pmu':
      return { has: f.uprobePmu };
    case 'batch-ops':
      return { has: f.batchOps };
    case 'pin-path-fd':
      return { has: f.pinPathFd };
    case 'program-streams':
      return { has: f.programStreams };
    case 'struct-ops-link':
      return { has: f.structOpsLink };
    default:
      return { has: false };
  }
}

function withRestriction(has: boolean, restriction: string | undefined): FeatureAnswer {
  return restriction === undefined ? { has } : { has, restriction };
}

/** The first config requirement the kernel's config leaves out, when its config can be read. */
function missingConfig(feature: KernelFeature, config: ReadonlyMap<string, string> | undefined): string | undefined {
  if (!config || config.size === 0) return undefined;
  for (const anyOf of CONFIG_NEEDS[feature] ?? []) {
    if (!anyOf.some((option) => config.get(option) === 'y' || config.get(option) === 'm')) return anyOf.join(' or ');
  }
  return undefined;
}

/**
 * Whether the running kernel has `feature` for this process, and why not.
 * Probes that one feature (once per process, {@link probeFeature}) unless
 * `context.features` gives a whole {@link probeFeatures} answer, then reads
 * the kernel release and, to explain a "no", the kernel config.
 *
 * @example
 * const arena = kernelFeatureSupport('map:arena');
 * if (arena.state !== 'supported') console.log(`no arena maps here: ${arena.reason}`);
 */
export function kernelFeatureSupport(
  feature: KernelFeature,
  context: { features?: Features; release?: string; config?: ReadonlyMap<string, string> } = {},
): FeatureSupport {
  const since = featureSince(feature);
  if (since === undefined)
    throw new InvalidArgumentError(
      'feature',
      "a feature bpfkit knows ('map:<type>', 'program:<type>', 'link:<type>', 'kernel-btf', 'kprobe-pmu', …)",
      feature,
    );
  const f = context.features;
  const access = f ? f.bpf : bpfAccess();
  if (needsBpf(feature) && !access.available) {
    return { feature, state: 'unprivileged', reason: `probing ${feature} needs bpf(): ${access.reason ?? 'not privileged'}` };
  }
  const answer = f ? answerIn(feature, f) : probeFeature(feature);
  if (answer.has) return { feature, state: 'supported', reason: '' };
  const release = context.release ?? f?.kernel.release ?? os.release();
  const [major, minor] = since.split('.').map(Number) as [number, number];
  if (!kernelReleaseAtLeast(release, major, minor)) {
    return { feature, state: 'too-old', reason: `${feature} needs Linux ${since}; this kernel is ${release}` };
  }
  if (answer.restriction) return { feature, state: 'refused', reason: `${feature}: ${answer.restriction}` };
  const config = context.config ?? (kernelConfigSource() ? kernelConfig() : undefined);
  const missing = missingConfig(feature, config);
  if (missing) return { feature, state: 'not-built', reason: `${feature}: this kernel is built without ${missing}` };
  return {
    feature,
    state: 'probe-disagrees',
    reason:
      `the probe says this kernel (${release}) lacks ${feature}, which Linux ${since} and later have, and nothing explains it ` +
      `(not privileged? refused? ${config && config.size > 0 ? 'no config option missing' : 'no kernel config to read'}): the probe may be wrong`,
  };
}
