import { BpfError, Helper, ProgramType } from '@bpfkit/core';
import { native } from '@bpfkit/syscalls';
import { kernelVersion, nativeProbeSys, probeHelper } from '@bpfkit/syscalls';

const RLIMIT_MEMLOCK = 8;
const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

let charged: boolean | undefined;

/**
 * Whether this kernel still charges BPF memory to RLIMIT_MEMLOCK (before
 * 5.11; later kernels account it to the memory cgroup). Probed once, as
 * libbpf does, by the presence of bpf_ktime_get_coarse_ns, which arrived in
 * the same release.
 *
 * @example
 * if (memlockCharged()) console.log('old kernel: raising RLIMIT_MEMLOCK');
 */
export function memlockCharged(): boolean {
  charged ??= !probeHelper(nativeProbeSys(), ProgramType.SOCKET_FILTER, Helper.ktime_get_coarse_ns, kernelVersion().code);
  return charged;
}

/**
 * Raises RLIMIT_MEMLOCK to infinity, only on kernels that charge BPF memory
 * to it; returns whether it changed anything.
 *
 * @example
 * raiseMemlockIfNeeded(); // no-op on 5.11+
 */
export function raiseMemlockIfNeeded(): boolean {
  if (!memlockCharged()) return false;
  const current = native.getrlimit(RLIMIT_MEMLOCK);
  if (typeof current === 'number') throw new BpfError(-current, { syscall: 'getrlimit', command: 'RLIMIT_MEMLOCK' });
  if (current.soft === RLIM_INFINITY) return false;
  const rc = native.setrlimit(RLIMIT_MEMLOCK, RLIM_INFINITY, RLIM_INFINITY);
  if (rc < 0)
    throw new BpfError(-rc, {
      syscall: 'setrlimit',
      command: 'RLIMIT_MEMLOCK',
      hint: 'raising the memlock limit needs CAP_SYS_RESOURCE; BPF objects on this kernel (< 5.11) are charged to it',
    });
  return true;
}
