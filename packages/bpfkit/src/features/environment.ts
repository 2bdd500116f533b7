import fs from 'node:fs';
import os from 'node:os';
import { parseKernelRelease } from '@bpfkit/core';
export { bpffsMountPoint, mounts } from '@bpfkit/syscalls';
export type { MountEntry } from '@bpfkit/syscalls';
import type { Capabilities, KernelVersion } from '@bpfkit/core';

/** Capability bit numbers of include/uapi/linux/capability.h. */
const CAP_BITS = { CAP_NET_ADMIN: 12, CAP_SYS_ADMIN: 21, CAP_SYS_RESOURCE: 24, CAP_PERFMON: 38, CAP_BPF: 39 } as const;

/** The running kernel's release, parsed. */
export function kernelVersion(): KernelVersion {
  return parseKernelRelease(os.release());
}

/** Effective capabilities of this process, from `CapEff` in /proc/self/status. */
export function capabilities(status = readOrEmpty('/proc/self/status')): Capabilities {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  const eff = m ? BigInt(`0x${m[1]}`) : 0n;
  const has = (bit: number) => ((eff >> BigInt(bit)) & 1n) === 1n;
  return {
    root: typeof process.getuid === 'function' && process.getuid() === 0,
    CAP_BPF: has(CAP_BITS.CAP_BPF),
    CAP_PERFMON: has(CAP_BITS.CAP_PERFMON),
    CAP_SYS_ADMIN: has(CAP_BITS.CAP_SYS_ADMIN),
    CAP_NET_ADMIN: has(CAP_BITS.CAP_NET_ADMIN),
    CAP_SYS_RESOURCE: has(CAP_BITS.CAP_SYS_RESOURCE),
  };
}

/** Whether the perf PMU of `name` (`kprobe`, `uprobe`) exists. */
export function hasPmu(name: string): boolean {
  return fs.existsSync(`/sys/bus/event_source/devices/${name}/type`);
}

/** Whether the kernel exposes its BTF. */
export function hasKernelBtf(): boolean {
  return fs.existsSync('/sys/kernel/btf/vmlinux');
}

function readOrEmpty(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
