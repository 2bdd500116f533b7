import fs from 'node:fs';
import type { Capabilities } from '@bpfkit/core';

/** Capability bit numbers of include/uapi/linux/capability.h. */
const CAP_BITS = { CAP_NET_ADMIN: 12, CAP_IPC_LOCK: 14, CAP_SYS_ADMIN: 21, CAP_SYS_RESOURCE: 24, CAP_PERFMON: 38, CAP_BPF: 39 } as const;

/**
 * Effective capabilities of this process, from `CapEff` in
 * /proc/self/status (or the status text given).
 *
 * @example
 * capabilities().CAP_BPF; // true when root
 */
export function capabilities(status = readStatus()): Capabilities {
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
    CAP_IPC_LOCK: has(CAP_BITS.CAP_IPC_LOCK),
  };
}

function readStatus(): string {
  try {
    return fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return '';
  }
}
