/**
 * `bpf_attr` members for links: BPF_LINK_CREATE (with every per-link-kind
 * union member as of Linux 6.18), BPF_LINK_UPDATE, BPF_LINK_DETACH,
 * BPF_ITER_CREATE, and `union bpf_iter_link_info` (what `iter_info` points to).
 *
 * @module
 */
import type { AttachType } from '@bpfkit/core'; // {@link} targets
import {
  StructLayout,
  cstr,
  ptr,
  s32,
  struct,
  u32,
  u64,
  type CStringPointer,
  type EncodedAttr,
  type EncodedStruct,
  type Pointer,
} from './layout.js';

// ---------------------------------------------------------------------------
// Union members of link_create (offsets relative to the union, which starts at byte 16)

/** `link_create.perf_event`: for perf event links (kprobe, uprobe, tracepoint, perf event) (5.15). */
export interface LinkCreatePerfEvent {
  /** `perf_event.bpf_cookie`: value returned by bpf_get_attach_cookie(). */
  bpfCookie?: number | bigint;
}

/** `link_create.kprobe_multi`: BPF_TRACE_KPROBE_MULTI / BPF_TRACE_KPROBE_SESSION links (5.18). */
export interface LinkCreateKprobeMulti {
  /** `kprobe_multi.flags`: BPF_F_KPROBE_MULTI_RETURN. */
  flags?: number;
  /** `kprobe_multi.cnt`: number of symbols / addresses / cookies; defaults to `addrs.byteLength / 8`. */
  cnt?: number;
  /**
   * `kprobe_multi.syms`: `const char **` symbol names: a buffer made by
   * `cStringArray(names)` (the pointers and the strings in one buffer), or
   * a raw address; give `cnt` with it.
   */
  syms?: Pointer;
  /** `kprobe_multi.addrs`: `__u64[]` function addresses. */
  addrs?: Pointer;
  /** `kprobe_multi.cookies`: `__u64[]`, one cookie per function. */
  cookies?: Pointer;
}

/** `link_create.tracing`: fentry/fexit/fmod_ret/lsm/freplace links with a cookie (5.19). */
export interface LinkCreateTracing {
  /** `tracing.target_btf_id`: overlays `link_create.target_btf_id`. */
  targetBtfId?: number;
  /** `tracing.cookie`: value returned by bpf_get_attach_cookie(). */
  cookie?: number | bigint;
}

/** `link_create.netfilter`: netfilter hook links (6.4). */
export interface LinkCreateNetfilter {
  /** `netfilter.pf`: protocol family (NFPROTO_IPV4 = 2, NFPROTO_IPV6 = 10). */
  pf: number;
  /** `netfilter.hooknum`: NF_INET_PRE_ROUTING = 0 … NF_INET_POST_ROUTING = 4. */
  hooknum: number;
  /** `netfilter.priority`. */
  priority: number;
  /** `netfilter.flags`: BPF_F_NETFILTER_IP_DEFRAG. */
  flags?: number;
}

/** The mprog ordering members shared by tcx (6.6), netkit (6.7) and cgroup (6.17) links. */
export interface LinkCreateMprog {
  /** `relative_fd`: program or link to order against (BPF_F_BEFORE / BPF_F_AFTER in flags). */
  relativeFd?: number;
  /** `relative_id`: the same by id (BPF_F_ID); shares a union with relativeFd. */
  relativeId?: number;
  /** `expected_revision`: fail with ESTALE unless the hook is at this revision. */
  expectedRevision?: number | bigint;
}

/** `link_create.uprobe_multi`: BPF_TRACE_UPROBE_MULTI / BPF_TRACE_UPROBE_SESSION links (6.6). */
export interface LinkCreateUprobeMulti {
  /** `uprobe_multi.path`: the binary or library. */
  path: CStringPointer;
  /** `uprobe_multi.offsets`: `__u64[]` file offsets. */
  offsets: Pointer;
  /** `uprobe_multi.ref_ctr_offsets`: `__u64[]` USDT semaphore offsets. */
  refCtrOffsets?: Pointer;
  /** `uprobe_multi.cookies`: `__u64[]`. */
  cookies?: Pointer;
  /** `uprobe_multi.cnt`: defaults to `offsets.byteLength / 8`. */
  cnt?: number;
  /** `uprobe_multi.flags`: BPF_F_UPROBE_MULTI_RETURN. */
  flags?: number;
  /** `uprobe_multi.pid`: only trigger in this process (0 = any). */
  pid?: number;
}

const perfEventLayout = new StructLayout<LinkCreatePerfEvent>('link_create.perf_event', 8, {
  bpfCookie: u64(0, 'link_create.perf_event.bpf_cookie'),
});
const kprobeMultiLayout = new StructLayout<LinkCreateKprobeMulti>('link_create.kprobe_multi', 32, {
  flags: u32(0, 'link_create.kprobe_multi.flags'),
  cnt: u32(4, 'link_create.kprobe_multi.cnt'),
  syms: ptr(8, 'link_create.kprobe_multi.syms'),
  addrs: ptr(16, 'link_create.kprobe_multi.addrs'),
  cookies: ptr(24, 'link_create.kprobe_multi.cookies'),
});
const tracingLayout = new StructLayout<LinkCreateTracing>('link_create.tracing', 16, {
  targetBtfId: u32(0, 'link_create.tracing.target_btf_id'),
  cookie: u64(8, 'link_create.tracing.cookie'),
});
const netfilterLayout = new StructLayout<LinkCreateNetfilter>('link_create.netfilter', 16, {
  pf: u32(0, 'link_create.netfilter.pf'),
  hooknum: u32(4, 'link_create.netfilter.hooknum'),
  priority: s32(8, 'link_create.netfilter.priority'),
  flags: u32(12, 'link_create.netfilter.flags'),
});
const mprogLayout = (member: string): StructLayout<LinkCreateMprog> =>
  new StructLayout<LinkCreateMprog>(`link_create.${member}`, 16, {
    relativeFd: u32(0, `link_create.${member}.relative_fd`),
    relativeId: u32(0, `link_create.${member}.relative_id`),
    expectedRevision: u64(8, `link_create.${member}.expected_revision`),
  });
const uprobeMultiLayout = new StructLayout<LinkCreateUprobeMulti>('link_create.uprobe_multi', 44, {
  path: cstr(0, 'link_create.uprobe_multi.path'),
  offsets: ptr(8, 'link_create.uprobe_multi.offsets'),
  refCtrOffsets: ptr(16, 'link_create.uprobe_multi.ref_ctr_offsets'),
  cookies: ptr(24, 'link_create.uprobe_multi.cookies'),
  cnt: u32(32, 'link_create.uprobe_multi.cnt'),
  flags: u32(36, 'link_create.uprobe_multi.flags'),
  pid: u32(40, 'link_create.uprobe_multi.pid'),
});

/**
 * The `bpf_attr.link_create` member of `BPF_LINK_CREATE` (5.7). Give the
 * common fields plus at most one of the per-kind union members
 * (`targetBtfId`, `iterInfo`, `perfEvent`, `kprobeMulti`, `tracing`,
 * `netfilter`, `tcx`, `uprobeMulti`, `netkit`, `cgroup`); giving two throws.
 *
 * Kinds that need no union member: XDP (targetIfindex), cgroup without
 * ordering (targetFd = cgroup fd), netns (targetFd = netns fd), sockmap /
 * sockhash (6.10: targetFd = map fd, attachType = BPF_SK_MSG_VERDICT,
 * BPF_SK_SKB_STREAM_VERDICT…), struct_ops (mapFd, 6.4).
 */
export interface LinkCreateAttr {
  /** `link_create.prog_fd`: the program; shares a union with mapFd. */
  progFd?: number;
  /** `link_create.map_fd`: the struct_ops map, for struct_ops links (6.4). */
  mapFd?: number;
  /** `link_create.target_fd`: cgroup, netns, map, program (freplace) … ; shares a union with targetIfindex. */
  targetFd?: number;
  /** `link_create.target_ifindex`: network interface, for XDP / tcx / netkit. */
  targetIfindex?: number;
  /** `link_create.attach_type`: one of {@link AttachType}. */
  attachType: number;
  /** `link_create.flags`: e.g. XDP_FLAGS_*, BPF_F_BEFORE/AFTER/ID for mprog links. */
  flags?: number;
  /** `link_create.target_btf_id`: BTF id of the function to attach to (freplace, fentry…) (5.10). */
  targetBtfId?: number;
  /** `link_create.iter_info`: a `union bpf_iter_link_info` (see {@link encodeIterLinkInfo}) (5.9). */
  iterInfo?: Pointer;
  /** `link_create.iter_info_len`: defaults to `iterInfo.byteLength` (5.9). */
  iterInfoLen?: number;
  /** `link_create.perf_event` (5.15). */
  perfEvent?: LinkCreatePerfEvent;
  /** `link_create.kprobe_multi` (5.18). */
  kprobeMulti?: LinkCreateKprobeMulti;
  /** `link_create.tracing` (5.19). */
  tracing?: LinkCreateTracing;
  /** `link_create.netfilter` (6.4). */
  netfilter?: LinkCreateNetfilter;
  /** `link_create.tcx` (6.6). */
  tcx?: LinkCreateMprog;
  /** `link_create.uprobe_multi` (6.6). */
  uprobeMulti?: LinkCreateUprobeMulti;
  /** `link_create.netkit` (6.7). */
  netkit?: LinkCreateMprog;
  /** `link_create.cgroup`: mprog ordering for cgroup links (6.17). */
  cgroup?: LinkCreateMprog;
}

/** Layout of the link_create member; size = offsetofend(link_create.uprobe_multi.pid) = 60. */
export const linkCreateLayout = new StructLayout<LinkCreateAttr>('bpf_attr (BPF_LINK_CREATE)', 60, {
  progFd: u32(0, 'link_create.prog_fd'),
  mapFd: u32(0, 'link_create.map_fd'),
  targetFd: u32(4, 'link_create.target_fd'),
  targetIfindex: u32(4, 'link_create.target_ifindex'),
  attachType: u32(8, 'link_create.attach_type'),
  flags: u32(12, 'link_create.flags'),
  targetBtfId: u32(16, 'link_create.target_btf_id'),
  iterInfo: ptr(16, 'link_create.iter_info'),
  iterInfoLen: u32(24, 'link_create.iter_info_len'),
  perfEvent: struct(16, perfEventLayout, 'link_create.perf_event'),
  kprobeMulti: struct(16, kprobeMultiLayout, 'link_create.kprobe_multi'),
  tracing: struct(16, tracingLayout, 'link_create.tracing'),
  netfilter: struct(16, netfilterLayout, 'link_create.netfilter'),
  tcx: struct(16, mprogLayout('tcx'), 'link_create.tcx'),
  uprobeMulti: struct(16, uprobeMultiLayout, 'link_create.uprobe_multi'),
  netkit: struct(16, mprogLayout('netkit'), 'link_create.netkit'),
  cgroup: struct(16, mprogLayout('cgroup'), 'link_create.cgroup'),
});

const byteLen = (p: Pointer | undefined): number | undefined => (p instanceof Uint8Array ? p.byteLength : undefined);
const count8 = (p: Pointer | undefined): number | undefined => {
  const n = byteLen(p);
  return n === undefined ? undefined : Math.floor(n / 8);
};

/**
 * Encodes the `bpf_attr` of BPF_LINK_CREATE. Counts left out are derived:
 * `iterInfoLen` from `iterInfo`, `kprobeMulti.cnt` from `addrs` (or
 * `cookies`), `uprobeMulti.cnt` from `offsets`.
 *
 * @example
 * encodeLinkCreateAttr({ progFd, targetIfindex: 1, attachType: AttachType.TCX_INGRESS, tcx: { expectedRevision: 0 } });
 */
export function encodeLinkCreateAttr(fields: LinkCreateAttr): EncodedAttr {
  const { kprobeMulti: km, uprobeMulti: um } = fields;
  return linkCreateLayout.encodeAttr({
    ...fields,
    iterInfoLen: fields.iterInfoLen ?? byteLen(fields.iterInfo),
    ...(km ? { kprobeMulti: { ...km, cnt: km.cnt ?? count8(km.addrs) ?? count8(km.cookies) } } : {}),
    ...(um ? { uprobeMulti: { ...um, cnt: um.cnt ?? count8(um.offsets) } } : {}),
  });
}

// ---------------------------------------------------------------------------
// union bpf_iter_link_info

/** `union bpf_iter_link_info`: parameters of an iterator link, pointed to by `iter_info`. Give one member. */
export interface IterLinkInfo {
  /** `map`: for map element iterators (5.9). */
  map?: { /** `map.map_fd`. */ mapFd: number };
  /** `cgroup`: for cgroup iterators (6.1). */
  cgroup?: {
    /** `cgroup.order`: one of {@link BpfCgroupIterOrder}. */
    order?: number;
    /** `cgroup.cgroup_fd` (at most one of cgroupFd and cgroupId). */
    cgroupFd?: number;
    /** `cgroup.cgroup_id`. */
    cgroupId?: number | bigint;
  };
  /** `task`: for task / task_file / task_vma iterators (6.1; pid_fd too). */
  task?: {
    /** `task.tid`. */
    tid?: number;
    /** `task.pid`. */
    pid?: number;
    /** `task.pid_fd`. */
    pidFd?: number;
  };
}

/** Layout of `union bpf_iter_link_info`; size 16. */
export const iterLinkInfoLayout = new StructLayout<IterLinkInfo>('bpf_iter_link_info', 16, {
  map: struct(
    0,
    new StructLayout<{ mapFd: number }>('bpf_iter_link_info.map', 4, {
      mapFd: u32(0, 'map.map_fd'),
    }),
    'map',
  ),
  cgroup: struct(
    0,
    new StructLayout<NonNullable<IterLinkInfo['cgroup']>>('bpf_iter_link_info.cgroup', 16, {
      order: u32(0, 'cgroup.order'),
      cgroupFd: u32(4, 'cgroup.cgroup_fd'),
      cgroupId: u64(8, 'cgroup.cgroup_id'),
    }),
    'cgroup',
  ),
  task: struct(
    0,
    new StructLayout<NonNullable<IterLinkInfo['task']>>('bpf_iter_link_info.task', 12, {
      tid: u32(0, 'task.tid'),
      pid: u32(4, 'task.pid'),
      pidFd: u32(8, 'task.pid_fd'),
    }),
    'task',
  ),
});

/**
 * Encodes a `union bpf_iter_link_info`, to pass as `iterInfo` of BPF_LINK_CREATE.
 *
 * @example
 * const iterInfo = encodeIterLinkInfo({ map: { mapFd } }).bytes;
 * linkCreate({ progFd, attachType: AttachType.TRACE_ITER, iterInfo });
 */
export function encodeIterLinkInfo(info: IterLinkInfo): EncodedStruct {
  return iterLinkInfoLayout.encode(info);
}

// ---------------------------------------------------------------------------
// BPF_LINK_UPDATE, BPF_LINK_DETACH, BPF_ITER_CREATE

/** The `bpf_attr.link_update` member of `BPF_LINK_UPDATE` (5.7). */
export interface LinkUpdateAttr {
  /** `link_update.link_fd`. */
  linkFd: number;
  /** `link_update.new_prog_fd`; shares a union with newMapFd. */
  newProgFd?: number;
  /** `link_update.new_map_fd`: new struct_ops map (6.4). */
  newMapFd?: number;
  /** `link_update.flags`: BPF_F_REPLACE to require oldProgFd / oldMapFd. */
  flags?: number;
  /** `link_update.old_prog_fd`: expected current program, with BPF_F_REPLACE. */
  oldProgFd?: number;
  /** `link_update.old_map_fd`: expected current struct_ops map, with BPF_F_REPLACE (6.4). */
  oldMapFd?: number;
}

/** Layout of the link_update member; size = offsetofend(link_update.old_prog_fd) = 16. */
export const linkUpdateLayout = new StructLayout<LinkUpdateAttr>('bpf_attr (BPF_LINK_UPDATE)', 16, {
  linkFd: u32(0, 'link_update.link_fd'),
  newProgFd: u32(4, 'link_update.new_prog_fd'),
  newMapFd: u32(4, 'link_update.new_map_fd'),
  flags: u32(8, 'link_update.flags'),
  oldProgFd: u32(12, 'link_update.old_prog_fd'),
  oldMapFd: u32(12, 'link_update.old_map_fd'),
});

/**
 * Encodes the `bpf_attr` of BPF_LINK_UPDATE.
 *
 * @example
 * encodeLinkUpdateAttr({ linkFd, newProgFd: progFd });
 */
export function encodeLinkUpdateAttr(fields: LinkUpdateAttr): EncodedAttr {
  return linkUpdateLayout.encodeAttr(fields);
}

/** The `bpf_attr.link_detach` member of `BPF_LINK_DETACH` (5.9). */
export interface LinkDetachAttr {
  /** `link_detach.link_fd`. */
  linkFd: number;
}

/** Layout of the link_detach member; size 4. */
export const linkDetachLayout = new StructLayout<LinkDetachAttr>('bpf_attr (BPF_LINK_DETACH)', 4, {
  linkFd: u32(0, 'link_detach.link_fd'),
});

/**
 * Encodes the `bpf_attr` of BPF_LINK_DETACH.
 *
 * @example
 * encodeLinkDetachAttr({ linkFd });
 */
export function encodeLinkDetachAttr(fields: LinkDetachAttr): EncodedAttr {
  return linkDetachLayout.encodeAttr(fields);
}

/** The `bpf_attr.iter_create` member of `BPF_ITER_CREATE` (5.8). */
export interface IterCreateAttr {
  /** `iter_create.link_fd`: an iterator link. */
  linkFd: number;
  /** `iter_create.flags`: must be 0. */
  flags?: number;
}

/** Layout of the iter_create member; size 8. */
export const iterCreateLayout = new StructLayout<IterCreateAttr>('bpf_attr (BPF_ITER_CREATE)', 8, {
  linkFd: u32(0, 'iter_create.link_fd'),
  flags: u32(4, 'iter_create.flags'),
});

/**
 * Encodes the `bpf_attr` of BPF_ITER_CREATE.
 *
 * @example
 * encodeIterCreateAttr({ linkFd });
 */
export function encodeIterCreateAttr(fields: IterCreateAttr): EncodedAttr {
  return iterCreateLayout.encodeAttr(fields);
}
