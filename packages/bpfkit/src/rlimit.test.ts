import { expect, it } from 'vitest';
import { kernelVersion } from '@bpfkit/syscalls';
import { memlockCharged, raiseMemlockIfNeeded } from './rlimit.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

whenKernel().describe('memlock', () => {
  it('is charged exactly on kernels before 5.11, and only then raised', () => {
    const k = kernelVersion();
    const old = k.major < 5 || (k.major === 5 && k.minor < 11);
    expect(memlockCharged()).toBe(old);
    if (!old) expect(raiseMemlockIfNeeded()).toBe(false);
  });
});
