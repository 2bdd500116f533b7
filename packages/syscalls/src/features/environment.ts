import fs from 'node:fs';
import os from 'node:os';
import { parseKernelRelease } from '@bpfkit/core';
export { bpffsMountPoint, mounts } from '../bpffs.js';
export { capabilities } from '../capabilities.js';
export type { MountEntry } from '../bpffs.js';
import type { KernelVersion } from '@bpfkit/core';

/** The running kernel's release, parsed. */
export function kernelVersion(): KernelVersion {
  return parseKernelRelease(os.release());
}

/** Whether the perf PMU of `name` (`kprobe`, `uprobe`) exists. */
export function hasPmu(name: string): boolean {
  return fs.existsSync(`/sys/bus/event_source/devices/${name}/type`);
}

/** Whether the kernel exposes its BTF. */
export function hasKernelBtf(): boolean {
  return fs.existsSync('/sys/kernel/btf/vmlinux');
}
