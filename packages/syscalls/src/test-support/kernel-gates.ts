/**
 * How every kernel test decides whether it runs: one gate for "this process
 * may use bpf()" and the feature probes for what the test needs, never a
 * kernel version. A test skips with the probe's own reason where the kernel
 * lacks the feature, is too old, refuses it, or was built without it — and
 * fails where the kernel is new enough and nothing explains the probe's
 * "no", so a broken probe cannot hide behind a skip.
 *
 * @example
 * import { kernelHas, whenFeature, whenKernel } from '@bpfkit/syscalls/testing';
 * whenKernel().describe('kernel maps', () => {});                 // privilege only
 * whenKernel('map:arena').it('an arena maps its pages', () => {}); // privilege and a feature
 * whenFeature('kernel-btf').it('parses vmlinux', () => {});       // a feature, no bpf() needed
 * if (kernelHas('pin-path-fd')) console.log('pins relative to a directory fd work here');
 */
import { describe, it } from 'vitest';
import type { TestFunction } from 'vitest';
import { bpfAccess } from '../access.js';
import { kernelFeatureSupport } from '../features/support.js';
import type { FeatureSupport, KernelFeature } from '../features/support.js';
import type { BpfAccess } from '../access.js';

export type { KernelFeature } from '../features/support.js';

/** What a gate decided: run, skip (with the reason) or fail (a probe that disagrees with the kernel). */
export interface Gate {
  /** Why the guarded tests skip; undefined when they run. */
  skip: string | undefined;
  /** Why the guarded tests fail without running; undefined unless a probe disagrees with the kernel. */
  broken: string | undefined;
  /** `describe` that runs, skips with the reason in its title, or holds one failing test. */
  describe(name: string, body: () => void): void;
  /** `it` that runs, skips with the reason in its title, or fails with the probe's disagreement. */
  it(name: string, body: TestFunction): void;
  /** This gate, also skipping for `reason` when it is defined (a missing tool, a fixture that cannot run). */
  unless(reason: string | undefined): Gate;
}

/** Where a gate gets its answers; tests of the gates give their own. */
export interface GateSources {
  access: () => BpfAccess;
  support: (feature: KernelFeature) => FeatureSupport;
}

const KERNEL: GateSources = { access: bpfAccess, support: (feature) => kernelFeatureSupport(feature) };

/**
 * The gate for tests that need bpf() (when `privileged`) and `needs`: the first
 * missing piece decides, a probe that disagrees with the kernel over a skip.
 */
export function gate(privileged: boolean, needs: readonly KernelFeature[], sources: GateSources = KERNEL, extra?: string): Gate {
  let skip: string | undefined;
  let broken: string | undefined;
  const access = sources.access();
  if (privileged && !access.available) skip = access.reason ?? 'bpf() is not available to this process';
  for (const feature of needs) {
    if (skip !== undefined || broken !== undefined) break;
    const support = sources.support(feature);
    if (support.state === 'probe-disagrees') broken = support.reason;
    else if (support.state !== 'supported') skip = support.reason;
  }
  if (skip === undefined && broken === undefined && extra !== undefined) skip = extra;
  const title = (name: string) => (skip === undefined ? name : `${name} — skipped: ${skip}`);
  const fail = () => {
    throw new Error(broken);
  };
  return {
    skip,
    broken,
    describe(name, body) {
      if (broken !== undefined) describe(name, () => it(`has what it needs (${needs.join(', ')})`, fail));
      else describe.skipIf(skip !== undefined)(title(name), body);
    },
    it(name, body) {
      if (broken !== undefined) it(name, fail);
      else it.skipIf(skip !== undefined)(title(name), body);
    },
    unless(reason) {
      return reason === undefined ? this : gate(privileged, needs, sources, extra ?? reason);
    },
  };
}

/** Tests that need bpf() (root, or CAP_BPF and friends) and every feature in `needs`. */
export function whenKernel(...needs: KernelFeature[]): Gate {
  return gate(true, needs);
}

/** Tests that need the features in `needs` but not bpf() itself (kernel BTF, PMUs, link types from BTF). */
export function whenFeature(...needs: KernelFeature[]): Gate {
  return gate(false, needs);
}

/**
 * Whether the kernel has `feature` for this process, for an assertion inside
 * a test that runs either way; throws when the probe disagrees with the kernel.
 */
export function kernelHas(feature: KernelFeature): boolean {
  const support = kernelFeatureSupport(feature);
  if (support.state === 'probe-disagrees') throw new Error(support.reason);
  return support.state === 'supported';
}
