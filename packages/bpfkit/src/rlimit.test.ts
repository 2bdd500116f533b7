import { bpfAccess } from '@bpfkit/syscalls';
import { describe, expect, it } from 'vitest';
import { kernelVersion } from '@bpfkit/syscalls';
import { memlockCharged, raiseMemlockIfNeeded } from './rlimit.js';

const access = bpfAccess();
describe.skipIf(!access.available)(`memlock${access.reason ? ` — skipped: ${access.reason}` : ''}`, () => {
  it('is charged exactly on kernels before 5.11, and only then raised', () => {
    const k = kernelVersion();
    const old = k.major < 5 || (k.major === 5 && k.minor < 11);
    expect(memlockCharged()).toBe(old);
    if (!old) expect(raiseMemlockIfNeeded()).toBe(false);
  });
});
