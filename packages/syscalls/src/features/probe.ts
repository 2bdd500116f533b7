import fs from 'node:fs';
import { parseBtf, BtfBuilder, BtfKind } from '@bpfkit/elf';
import {
  AttachType,
  Errno,
  errnoName,
  Helper,
  kernelVersionCode,
  MapFlags,
  helperFromName,
  helperNames,
  LinkType,
  linkTypeFromName,
  linkTypeNames,
  linkTypeSince,
  MapType,
  ProgramFlags,
  mapTypeName,
  mapTypeNames,
  mapTypeFromName,
  mapTypeRules,
  smallestMapSpec,
  ProgramType,
  programTypeFromName,
  programTypeName,
  programTypeNames,
} from '@bpfkit/core';
import type { Features } from '@bpfkit/core';
import { bpffsMountPoint, capabilities, hasKernelBtf, hasPmu, kernelVersion } from './environment.js';
import { callHelper, RETURN_ZERO } from './probe-sys.js';
import type { ProbeMapAttr, ProbeSys } from './probe-sys.js';
import { nativeProbeSys } from './probe-sys-native.js';
import { bpfAccess } from '../access.js';
import type { BpfAccess } from '../access.js';

const PAGE_SIZE = 4096;

/** The errnos that mean "the kernel knows this map type but did not like the tiny probe map". */
const MAP_PRESENT_ERRNOS: ReadonlySet<number> = new Set([Errno.ENOTSUPP]);

/**
 * Attributes of the smallest valid map of each type, from core's map rules
 * table (`smallestMapSpec`), with what its rules say it needs besides:
 * BTF for local storage (a 4-byte int key and value), an inner map for
 * map-in-maps, a vmlinux type for struct_ops.
 */
function mapProbeAttr(type: number, ctx: { btfFd: number; innerFd: number }): ProbeMapAttr | undefined {
  const rules = mapTypeRules(type);
  const spec = smallestMapSpec(type, PAGE_SIZE);
  if (!rules || !spec) return undefined;
  const attr: ProbeMapAttr = {
    type,
    keySize: spec.keySize,
    valueSize: spec.valueSize,
    maxEntries: spec.maxEntries,
    ...(spec.flags ? { flags: spec.flags } : {}),
  };
  if (rules.innerMap) attr.innerMapFd = ctx.innerFd;
  if (rules.keyValueBtf === 'required') Object.assign(attr, { btfFd: ctx.btfFd, btfKeyTypeId: 1, btfValueTypeId: 1 });
  // A type id no vmlinux has: the kernel answers ENOTSUPP when it knows struct_ops, EINVAL otherwise.
  if (rules.vmlinuxValueType) attr.btfVmlinuxValueTypeId = 0x7fffffff;
  return attr;
}

/** Why a map type the kernel knows cannot be created here, for the errno of the refusal. */
function mapRefusal(errno: number): string | undefined {
  // EPERM although privileged: the type exists (an unknown type is EINVAL before any permission check,
  // kernel/bpf/syscall.c map_create), but a security policy or a missing capability forbids it here.
  if (errno === Errno.EPERM)
    return 'refused with EPERM although privileged: a security policy (lockdown, an LSM) or a missing capability forbids it here';
  return undefined;
}

/**
 * Probes every map type by creating the smallest map of it: `types` says
 * which can be created, `reasons` why a type the kernel knows is refused.
 */
export function probeMapTypes(
  sys: ProbeSys,
  names: readonly string[] = mapTypeNames,
): { types: Record<string, boolean>; reasons: Record<string, string> } {
  const types: Record<string, boolean> = {};
  const reasons: Record<string, string> = {};
  const b = new BtfBuilder();
  b.addInt('int', 4, true);
  const btfFd = sys.btfLoad(b.encode());
  const innerFd = sys.mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
  try {
    for (const name of names) {
      const type = mapTypeFromName(name);
      if (type === undefined) continue;
      const attr = mapProbeAttr(type, { btfFd, innerFd });
      if (!attr) continue;
      const fd = sys.mapCreate(attr);
      if (fd >= 0) sys.close(fd);
      types[mapTypeName(type)] = fd >= 0 || MAP_PRESENT_ERRNOS.has(-fd);
      const refusal = fd < 0 ? mapRefusal(-fd) : undefined;
      if (refusal) reasons[mapTypeName(type)] = refusal;
    }
  } finally {
    if (btfFd >= 0) sys.close(btfFd);
    if (innerFd >= 0) sys.close(innerFd);
  }
  return { types, reasons };
}

/** Expected attach types some program types need before the kernel looks further. */
const EXPECTED_ATTACH: Partial<Record<number, number>> = {
  [ProgramType.CGROUP_SOCK_ADDR]: AttachType.CGROUP_INET4_CONNECT,
  [ProgramType.SK_LOOKUP]: AttachType.SK_LOOKUP,
  [ProgramType.CGROUP_SOCKOPT]: AttachType.CGROUP_GETSOCKOPT,
  [ProgramType.NETFILTER]: AttachType.NETFILTER,
  [ProgramType.TRACING]: AttachType.TRACE_FENTRY,
  [ProgramType.LSM]: AttachType.LSM_MAC,
};

/** Program types whose load needs a BTF attach target: probed with an invalid one. */
const NEEDS_BTF_TARGET: ReadonlySet<number> = new Set([ProgramType.TRACING, ProgramType.EXT, ProgramType.LSM, ProgramType.STRUCT_OPS]);

/** Program types the kernel loads only as sleepable (`BPF_F_SLEEPABLE`). */
const SLEEPABLE_ONLY: ReadonlySet<number> = new Set([ProgramType.SYSCALL]);

/** Load attributes every probe of `type` needs besides the instructions; `versionCode` is the running kernel's `KERNEL_VERSION()`, which kprobes carried before 5.0. */
function loadContext(type: number, versionCode: number) {
  return {
    type,
    license: 'GPL',
    ...(EXPECTED_ATTACH[type] !== undefined ? { expectedAttachType: EXPECTED_ATTACH[type] } : {}),
    ...(type === ProgramType.KPROBE ? { kernelVersion: versionCode } : {}),
    ...(SLEEPABLE_ONLY.has(type) ? { flags: ProgramFlags.SLEEPABLE } : {}),
  };
}

/** Outcome of loading a tiny program of one type. */
export interface ProgramProbe {
  supported: boolean;
  /** Why a type the kernel knows cannot be loaded here (e.g. lockdown), when that is the case. */
  reason?: string;
}

/**
 * Whether a type is known by the kernel, from one load. A load that fails
 * with a verifier log means the type exists (the verifier ran); EINVAL with
 * no log means the kernel rejected the type itself. Types needing a BTF
 * target are loaded with an invalid target: EINVAL plus a log naming it
 * means the type exists; EPERM means it exists but lockdown forbids it.
 */
export function probeProgramType(sys: ProbeSys, type: number, versionCode: number): ProgramProbe {
  const { fd, log } = sys.progLoad({
    ...loadContext(type, versionCode),
    instructions: RETURN_ZERO,
    ...(NEEDS_BTF_TARGET.has(type) ? { attachBtfId: 1 } : {}),
  });
  if (fd >= 0) {
    sys.close(fd);
    return { supported: true };
  }
  const errno = -fd;
  if (errno === Errno.EPERM) {
    return {
      supported: false,
      reason: 'refused with EPERM although privileged: kernel lockdown (or a missing capability) forbids this program type',
    };
  }
  // The kernel wrote a log (the verifier or the attach-target check ran) only when it knows the type.
  return { supported: log.trim().length > 0 };
}

/** Probes every program type (or those named). */
export function probeProgramTypes(
  sys: ProbeSys,
  versionCode: number,
  names: readonly string[] = programTypeNames,
): { types: Record<string, boolean>; reasons: Record<string, string> } {
  const types: Record<string, boolean> = {};
  const reasons: Record<string, string> = {};
  for (const name of names) {
    const type = programTypeFromName(name);
    if (type === undefined || type === ProgramType.UNSPEC) continue;
    const r = probeProgramType(sys, type, versionCode);
    types[programTypeName(type)] = r.supported;
    if (r.reason) reasons[programTypeName(type)] = r.reason;
  }
  return { types, reasons };
}

/**
 * Whether `helper` may be called from programs of `type`: the verifier says
 * "unknown func" or "cannot use helper"/"not supported" when it may not;
 * anything else (a bad argument, success) means it may.
 */
export function probeHelper(sys: ProbeSys, type: number, helper: number, versionCode: number): boolean {
  const { fd, log } = sys.progLoad({ ...loadContext(type, versionCode), instructions: callHelper(helper) });
  if (fd >= 0) {
    sys.close(fd);
    return true;
  }
  // The verifier must have reached the call (instruction 0) and not refused the helper itself.
  return /\(85\) call/.test(log) && !/unknown func|invalid func|cannot use helper|not supported|helper call is not allowed/.test(log);
}

/**
 * Whether `helper` is GPL-only: loaded as `type` (a type that may call it)
 * with a license that is not GPL-compatible, the call is refused ("cannot
 * call GPL-restricted function from non-GPL compatible program"), which the
 * verifier says before it checks the call's arguments.
 *
 * @example
 * probeHelperGplOnly(nativeProbeSys(), ProgramType.KPROBE, Helper.probe_read_kernel, linuxKernelVersion()); // true
 */
export function probeHelperGplOnly(sys: ProbeSys, type: number, helper: number, versionCode: number): boolean {
  const { fd, log } = sys.progLoad({ ...loadContext(type, versionCode), license: 'Proprietary', instructions: callHelper(helper) });
  if (fd >= 0) {
    sys.close(fd);
    return false;
  }
  return /GPL-restricted/.test(log);
}

/** Probes every helper for every supported program type that loads without a BTF target. */
export function probeHelpers(
  sys: ProbeSys,
  programTypes: Record<string, boolean>,
  versionCode: number,
): Record<string, Record<string, boolean>> {
  const out: Record<string, Record<string, boolean>> = {};
  for (const [name, supported] of Object.entries(programTypes)) {
    const type = programTypeFromName(name)!;
    if (!supported || NEEDS_BTF_TARGET.has(type)) continue;
    const row: Record<string, boolean> = {};
    for (const h of helperNames) {
      const id = helperFromName(h)!;
      if (id === Helper.unspec) continue;
      row[h] = probeHelper(sys, type, id, versionCode);
    }
    out[name] = row;
  }
  return out;
}

/**
 * Link types from the running kernel's own BTF (`enum bpf_link_type` in
 * /sys/kernel/btf/vmlinux); without kernel BTF, from the version that added
 * each type.
 */
export function probeLinkTypes(btfBytes: Uint8Array | undefined, kernel: { major: number; minor: number }): Record<string, boolean> {
  const result: Record<string, boolean> = {};
  const enumerators = btfBytes ? parseBtf(btfBytes).find('bpf_link_type', BtfKind.ENUM)?.enumerators : undefined;
  const known = new Set(enumerators?.map((e) => e.name.replace(/^BPF_LINK_TYPE_/, '').toLowerCase()));
  for (const name of linkTypeNames) {
    if (linkTypeFromName(name) === LinkType.UNSPEC) continue;
    if (enumerators) result[name] = known.has(name);
    else {
      const [maj, min] = (linkTypeSince as Record<string, string>)[name]!.split('.').map(Number) as [number, number];
      result[name] = kernel.major > maj || (kernel.major === maj && kernel.minor >= min);
    }
  }
  return result;
}

/** Batch operations: a batch lookup on an empty hash map answers ENOENT when the kernel has them. */
export function probeBatchOps(sys: ProbeSys): boolean {
  const fd = sys.mapCreate({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
  if (fd < 0) return false;
  try {
    const rc = sys.mapLookupBatch(fd, 4, 4);
    return rc === 0 || rc === -Errno.ENOENT;
  } finally {
    sys.close(fd);
  }
}

/**
 * `BPF_F_PATH_FD` (6.5): pinning a map relative to a bad directory fd fails
 * resolving the directory (EBADF) where the flag is known; older kernels
 * refuse any `file_flags` on BPF_OBJ_PIN with EINVAL first. (A bad object
 * fd would not tell: bpf_fd_probe_obj answers EINVAL for it on every kernel.)
 */
export function probePinPathFd(sys: ProbeSys): boolean {
  return sys.pinRelativeToBadDirectory() === -Errno.EBADF;
}

/**
 * `BPF_PROG_STREAM_READ_BY_FD` (6.17): reading a bad program fd fails with
 * EBADF where the command exists; unknown commands are EINVAL.
 */
export function probeProgramStreams(sys: ProbeSys): boolean {
  return sys.readStreamOfBadFd() === -Errno.EBADF;
}

/**
 * `BPF_F_LINK` on struct_ops maps (6.4): with the flag and a vmlinux type no
 * kernel has, the type lookup answers ENOTSUPP; before 6.4 the flag itself
 * is refused with EINVAL (bpf_struct_ops_map_alloc_check takes no flags).
 */
export function probeStructOpsLink(sys: ProbeSys): boolean {
  const fd = sys.mapCreate({
    type: MapType.STRUCT_OPS,
    keySize: 4,
    valueSize: 4,
    maxEntries: 1,
    flags: MapFlags.LINK,
    btfVmlinuxValueTypeId: 0x7fffffff,
  });
  if (fd >= 0) sys.close(fd);
  return fd === -Errno.ENOTSUPP;
}

/** The probe's answer for one feature: whether the kernel has it here, and the restriction it reported. */
export interface FeatureAnswer {
  has: boolean;
  restriction?: string;
}

const answers = new Map<string, FeatureAnswer>();

/**
 * Probes one feature by name (`'map:arena'`, `'program:xdp'`, `'link:tcx'`,
 * `'kernel-btf'`, `'kprobe-pmu'`, `'uprobe-pmu'`, `'batch-ops'`,
 * `'pin-path-fd'`, `'program-streams'`, `'struct-ops-link'`), at most once
 * per process: what a test or a loader needs to know without paying for
 * every helper of every program type as {@link probeFeatures} does.
 * The bpf() probes assume this process may use bpf() (see `bpfAccess()`).
 *
 * @example
 * probeFeature('map:ringbuf').has; // true on 5.8 and later
 */
export function probeFeature(feature: string, sys?: ProbeSys): FeatureAnswer {
  const known = answers.get(feature);
  if (known && !sys) return known;
  const kernelSys = () => sys ?? nativeProbeSys();
  const [kind, name = ''] = feature.split(':') as [string, string | undefined];
  let answer: FeatureAnswer;
  switch (kind) {
    case 'map': {
      const r = probeMapTypes(kernelSys(), [name]);
      answer = { has: r.types[name] === true, ...(r.reasons[name] ? { restriction: r.reasons[name] } : {}) };
      break;
    }
    case 'program': {
      const r = probeProgramTypes(kernelSys(), kernelVersion().code, [name]);
      answer = { has: r.types[name] === true, ...(r.reasons[name] ? { restriction: r.reasons[name] } : {}) };
      break;
    }
    case 'link': {
      const btf = hasKernelBtf() ? fs.readFileSync('/sys/kernel/btf/vmlinux') : undefined;
      answer = { has: probeLinkTypes(btf, kernelVersion())[name] === true };
      // The link type is in every 5.18+ kernel's enum, but the links work only with
      // CONFIG_FPROBE (kernel/trace/bpf_trace.c answers EOPNOTSUPP without it): ask.
      if (answer.has && name === 'kprobe_multi' && (sys !== undefined || bpfAccess().available)) {
        const errno = -(kernelSys().kprobeMultiOnMissingFunction?.() ?? -Errno.ESRCH);
        if (errno !== Errno.ESRCH && errno !== 0) {
          answer = {
            has: false,
            restriction:
              errno === Errno.EOPNOTSUPP
                ? 'kprobe_multi links answer EOPNOTSUPP: this kernel is built without CONFIG_FPROBE'
                : `a kprobe_multi link on a missing function answers ${errnoName(errno)} instead of ESRCH`,
          };
        }
      }
      break;
    }
    case 'kernel-btf':
      answer = { has: hasKernelBtf() };
      break;
    case 'kprobe-pmu':
      answer = { has: hasPmu('kprobe') };
      break;
    case 'uprobe-pmu':
      answer = { has: hasPmu('uprobe') };
      break;
    case 'batch-ops':
      answer = { has: probeBatchOps(kernelSys()) };
      break;
    case 'pin-path-fd':
      answer = { has: probePinPathFd(kernelSys()) };
      break;
    case 'program-streams':
      answer = { has: probeProgramStreams(kernelSys()) };
      break;
    case 'struct-ops-link':
      answer = { has: probeStructOpsLink(kernelSys()) };
      break;
    default:
      answer = { has: false };
  }
  if (!sys) answers.set(feature, answer);
  return answer;
}

let cached: Features | undefined;

/**
 * Probes the running kernel once and caches the answer: kernel version, BTF,
 * bpffs, every map type, program type and link type, every helper per
 * program type, batch operations, ring buffer, kprobe/uprobe PMUs, pins
 * relative to a directory, BPF streams, capabilities and memlock
 * accounting. An unprivileged process gets what needs no bpf() (kernel,
 * BTF, link types, PMUs, capabilities) and `bpf.reason` for the rest.
 *
 * @example
 * const f = probeFeatures();
 * if (!f.mapTypes.ringbuf) console.log('no ring buffer: fall back to perf buffers');
 */
export function probeFeatures(options: { refresh?: boolean; sys?: ProbeSys; access?: BpfAccess } = {}): Features {
  const custom = options.sys !== undefined || options.access !== undefined;
  if (cached && !options.refresh && !custom) return cached;
  const access = options.access ?? (options.sys ? { available: true } : bpfAccess());
  const kernel = kernelVersion();
  const btf = hasKernelBtf();
  const environment = {
    kernel,
    btf,
    bpffs: bpffsMountPoint(),
    linkTypes: probeLinkTypes(btf ? fs.readFileSync('/sys/kernel/btf/vmlinux') : undefined, kernel),
    kprobePmu: hasPmu('kprobe'),
    uprobePmu: hasPmu('uprobe'),
    capabilities: capabilities(),
  };
  let features: Features;
  if (!access.available) {
    features = {
      ...environment,
      bpf: { available: false, ...(access.reason ? { reason: access.reason } : {}) },
      mapTypes: {},
      mapTypeRestrictions: {},
      programTypes: {},
      programTypeRestrictions: {},
      helpers: {},
      batchOps: false,
      ringBuffer: false,
      pinPathFd: false,
      programStreams: false,
      structOpsLink: false,
      // Unknown without bpf(); the kernel version is the best guess (memcg accounting came in 5.11).
      memlockAccounting: kernel.code < kernelVersionCode(5, 11, 0),
    };
  } else {
    const sys = options.sys ?? nativeProbeSys();
    const maps = probeMapTypes(sys);
    const programs = probeProgramTypes(sys, kernel.code);
    const helpers = probeHelpers(sys, programs.types, kernel.code);
    features = {
      ...environment,
      bpf: { available: true },
      mapTypes: maps.types,
      mapTypeRestrictions: maps.reasons,
      programTypes: programs.types,
      programTypeRestrictions: programs.reasons,
      helpers,
      batchOps: probeBatchOps(sys),
      ringBuffer: maps.types.ringbuf === true,
      pinPathFd: probePinPathFd(sys),
      programStreams: probeProgramStreams(sys),
      structOpsLink: probeStructOpsLink(sys),
      // Memory cgroup accounting of BPF memory came in 5.11 together with the
      // bpf_ktime_get_coarse_ns helper; libbpf uses the same tell.
      memlockAccounting: helpers.socket_filter?.ktime_get_coarse_ns !== true,
    };
  }
  if (!custom) cached = features;
  return features;
}
