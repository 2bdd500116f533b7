/** The kernel release of a backend, parsed. */
export interface KernelVersion {
  /** As `uname -r` prints it, e.g. `'6.18.44-generic'`. */
  release: string;
  major: number;
  minor: number;
  patch: number;
  /** `KERNEL_VERSION(major, minor, patch)` as the kernel encodes it (patch capped at 255). */
  code: number;
}

/** Effective capabilities of the process that matter to BPF. */
export interface Capabilities {
  root: boolean;
  CAP_BPF: boolean;
  CAP_PERFMON: boolean;
  CAP_SYS_ADMIN: boolean;
  CAP_NET_ADMIN: boolean;
  CAP_SYS_RESOURCE: boolean;
  /** Locking memory without limit (what the `bpfkit` CLI's populated memory needs, with an unlimited RLIMIT_MEMLOCK as the other way). */
  CAP_IPC_LOCK: boolean;
}

/**
 * What a backend supports. Every answer comes from a real probe on the
 * kernel backend (a tiny map created, a tiny program loaded) and is cached.
 * Names are the kernel's enum names without prefix, lower case
 * (`'ringbuf'`, `'xdp'`, `'map_lookup_elem'`).
 */
export interface Features {
  kernel: KernelVersion;
  /**
   * Whether this process may use bpf() at all. When not, the probes that
   * need it (map, program and helper support, batch operations, pins,
   * streams) are not run: their records are empty and their flags false,
   * and `reason` says what privilege is missing.
   */
  bpf: { available: boolean; reason?: string };
  /** Kernel BTF at `/sys/kernel/btf/vmlinux`. */
  btf: boolean;
  /** Where bpffs is mounted, if anywhere. */
  bpffs: string | undefined;
  mapTypes: Record<string, boolean>;
  /** Map types the kernel knows but refuses here, with the reason (e.g. EPERM from a security policy). */
  mapTypeRestrictions: Record<string, string>;
  programTypes: Record<string, boolean>;
  /** Program types the kernel knows but refuses here, with the reason (e.g. lockdown). */
  programTypeRestrictions: Record<string, string>;
  linkTypes: Record<string, boolean>;
  /** Helpers available to each program type, by program type name then helper name. */
  helpers: Record<string, Record<string, boolean>>;
  /** `BPF_MAP_LOOKUP_BATCH` and friends. */
  batchOps: boolean;
  ringBuffer: boolean;
  /** The kprobe PMU (`/sys/bus/event_source/devices/kprobe`), i.e. CONFIG_KPROBES with perf. */
  kprobePmu: boolean;
  uprobePmu: boolean;
  /** Pins relative to a directory fd (`BPF_F_PATH_FD` for BPF_OBJ_PIN/BPF_OBJ_GET, 6.5). */
  pinPathFd: boolean;
  /** A program's BPF streams (`BPF_PROG_STREAM_READ_BY_FD`, 6.17). */
  programStreams: boolean;
  /** struct_ops maps registered through links (`BPF_F_LINK`, `.struct_ops.link` sections, 6.4). */
  structOpsLink: boolean;
  capabilities: Capabilities;
  /** Whether BPF memory is still charged to RLIMIT_MEMLOCK (kernels before 5.11). */
  memlockAccounting: boolean;
}

/** `KERNEL_VERSION(a, b, c)` from linux/version.h, the sub-level capped at 255 as in the kernel's own macro since 4.9.256. */
export function kernelVersionCode(major: number, minor: number, patch: number): number {
  return (major << 16) + (minor << 8) + Math.min(patch, 255);
}

/**
 * Parses a kernel release string such as `6.18.44-fc-v595`.
 *
 * @example
 * parseKernelRelease('5.10.0-21-amd64').minor; // 10
 */
export function parseKernelRelease(release: string): KernelVersion {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release.trim());
  const major = m ? Number(m[1]) : 0;
  const minor = m ? Number(m[2]) : 0;
  const patch = m && m[3] !== undefined ? Number(m[3]) : 0;
  return { release: release.trim(), major, minor, patch, code: kernelVersionCode(major, minor, patch) };
}

/**
 * Whether a kernel release is at least `major.minor` (for tests and
 * features that depend on the kernel version).
 *
 * @example
 * kernelReleaseAtLeast('6.8.0-45-generic', 6, 9); // false: no arena maps
 */
export function kernelReleaseAtLeast(release: string, major: number, minor: number): boolean {
  const v = parseKernelRelease(release);
  return v.major > major || (v.major === major && v.minor >= minor);
}
