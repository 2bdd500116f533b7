import { describe, expect, it } from 'vitest';
import { kernelReleaseAtLeast, kernelVersionCode, parseKernelRelease } from './features.js';

describe('kernel releases', () => {
  it('encodes versions as KERNEL_VERSION() does, capping the sub-level at 255', () => {
    expect(kernelVersionCode(6, 18, 44)).toBe((6 << 16) + (18 << 8) + 44);
    expect(kernelVersionCode(4, 9, 337)).toBe((4 << 16) + (9 << 8) + 255);
  });

  it('parses a release string into its version and KERNEL_VERSION() code', () => {
    expect(parseKernelRelease('6.18.44-fc-v595\n')).toEqual({
      release: '6.18.44-fc-v595',
      major: 6,
      minor: 18,
      patch: 44,
      code: (6 << 16) + (18 << 8) + 44,
    });
    expect(parseKernelRelease('4.9.337').code).toBe((4 << 16) + (9 << 8) + 255);
    expect(parseKernelRelease('6.1').code).toBe((6 << 16) + (1 << 8));
    // As libbpf's LINUX_KERNEL_VERSION: 0 for a release it cannot read.
    expect(parseKernelRelease('linux').code).toBe(0);
  });

  it('compares a release with a major.minor', () => {
    expect(kernelReleaseAtLeast('6.9.0', 6, 9)).toBe(true);
    expect(kernelReleaseAtLeast('6.8.12', 6, 9)).toBe(false);
    expect(kernelReleaseAtLeast('7.0', 6, 18)).toBe(true);
  });
});
