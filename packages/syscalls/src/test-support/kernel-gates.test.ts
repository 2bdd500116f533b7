import { describe, expect, it } from 'vitest';
import type { FeatureState, KernelFeature } from '../features/support.js';
import { gate } from './kernel-gates.js';

/** Gate sources answering `state` (with a reason naming it) for every feature. */
const sources = (available: boolean, state: FeatureState) => ({
  access: () => (available ? { available } : { available, reason: 'not privileged' }),
  support: (feature: KernelFeature) => ({ feature, state, reason: state === 'supported' ? '' : `${feature} is ${state}` }),
});

describe('kernel test gates', () => {
  it('run where bpf() and every feature are there', () => {
    const g = gate(true, ['map:hash', 'kernel-btf'], sources(true, 'supported'));
    expect([g.skip, g.broken]).toEqual([undefined, undefined]);
  });

  it('skip with the reason of the first missing piece: privilege, then each feature', () => {
    expect(gate(true, ['map:arena'], sources(false, 'supported')).skip).toBe('not privileged');
    expect(gate(false, ['kernel-btf'], sources(false, 'supported')).skip).toBeUndefined();
    for (const state of ['unprivileged', 'too-old', 'refused', 'not-built'] as const) {
      const g = gate(true, ['map:arena'], sources(true, state));
      expect([g.skip, g.broken]).toEqual([`map:arena is ${state}`, undefined]);
    }
  });

  it('fail instead of skipping where a probe disagrees with a kernel new enough to have the feature', () => {
    const g = gate(true, ['map:ringbuf'], sources(true, 'probe-disagrees'));
    expect(g.skip).toBeUndefined();
    expect(g.broken).toBe('map:ringbuf is probe-disagrees');
  });
});
