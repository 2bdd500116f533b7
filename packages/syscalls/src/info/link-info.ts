/**
 * `struct bpf_link_info` (BPF_OBJ_GET_INFO_BY_FD on a link), with every
 * link-kind union member as of Linux 6.18.
 *
 * @module
 */
import { LinkType } from '@bpfkit/core';
import { BpfPerfEventType } from '../constants.js';
import { StructLayout, ptr, s32, struct, u32, u64, type Decoded, type EncodedStruct, type Pointer } from '../attr/layout.js';
import { zeroExtend } from './prog-info.js';

// Union members; offsets are relative to the union, which starts at byte 16.

/** `raw_tracepoint` member (BPF_LINK_TYPE_RAW_TRACEPOINT). */
export interface LinkInfoRawTracepoint {
  /** `tp_name`: in: buffer for the tracepoint name. */
  tpName?: Pointer;
  /** `tp_name_len`: in: capacity; out: length including the NUL. */
  tpNameLen?: number;
  /** `cookie` (6.17). */
  cookie?: number | bigint;
}
/** `tracing` member (BPF_LINK_TYPE_TRACING: fentry, fexit, fmod_ret, lsm, freplace). */
export interface LinkInfoTracing {
  /** `attach_type`. */
  attachType?: number;
  /** `target_obj_id`: program id for freplace, else BTF object id. */
  targetObjId?: number;
  /** `target_btf_id`: BTF type id inside that object. */
  targetBtfId?: number;
  /** `cookie` (6.17). */
  cookie?: number | bigint;
}
/** `cgroup` member (BPF_LINK_TYPE_CGROUP). */
export interface LinkInfoCgroup {
  /** `cgroup_id`. */
  cgroupId?: number | bigint;
  /** `attach_type`. */
  attachType?: number;
}
/** `iter` member (BPF_LINK_TYPE_ITER). */
export interface LinkInfoIter {
  /** `target_name`: in: buffer for the iterator target name (e.g. `bpf_map_elem`). */
  targetName?: Pointer;
  /** `target_name_len`: in: capacity; out: length including the NUL. */
  targetNameLen?: number;
  /** `map`: for map iterators. */
  map?: { /** `map.map_id`. */ mapId?: number };
  /** `cgroup`: for cgroup iterators. */
  cgroup?: { /** `cgroup.cgroup_id`. */ cgroupId?: number | bigint /** `cgroup.order`. */; order?: number };
  /** `task`: for task iterators. */
  task?: { /** `task.tid`. */ tid?: number /** `task.pid`. */; pid?: number };
}
/** `netns` member (BPF_LINK_TYPE_NETNS). */
export interface LinkInfoNetns {
  /** `netns_ino`. */
  netnsIno?: number;
  /** `attach_type`. */
  attachType?: number;
}
/** `xdp` member (BPF_LINK_TYPE_XDP, 5.9). */
export interface LinkInfoXdp {
  /** `ifindex`. */
  ifindex?: number;
}
/** `struct_ops` member (BPF_LINK_TYPE_STRUCT_OPS, 6.4). */
export interface LinkInfoStructOps {
  /** `map_id`. */
  mapId?: number;
}
/** `netfilter` member (BPF_LINK_TYPE_NETFILTER, 6.4). */
export interface LinkInfoNetfilter {
  /** `pf`. */
  pf?: number;
  /** `hooknum`. */
  hooknum?: number;
  /** `priority`. */
  priority?: number;
  /** `flags`. */
  flags?: number;
}
/** `kprobe_multi` member (BPF_LINK_TYPE_KPROBE_MULTI, 6.6). */
export interface LinkInfoKprobeMulti {
  /** `addrs`: in: buffer for `__u64` addresses. */
  addrs?: Pointer;
  /** `count`: in: capacity of addrs / cookies; out: number of functions. */
  count?: number;
  /** `flags`. */
  flags?: number;
  /** `missed`: runs missed because of recursion. */
  missed?: number | bigint;
  /** `cookies`: in: buffer for `__u64` cookies. */
  cookies?: Pointer;
}
/** `uprobe_multi` member (BPF_LINK_TYPE_UPROBE_MULTI). */
export interface LinkInfoUprobeMulti {
  /** `path`: in: buffer for the binary path. */
  path?: Pointer;
  /** `offsets`: in: buffer for `__u64` offsets. */
  offsets?: Pointer;
  /** `ref_ctr_offsets`: in: buffer for `__u64` semaphore offsets. */
  refCtrOffsets?: Pointer;
  /** `cookies`: in: buffer for `__u64` cookies. */
  cookies?: Pointer;
  /** `path_size`: in: capacity of path; out: real size including the NUL. */
  pathSize?: number;
  /** `count`: in: capacity of the arrays; out: number of probes. */
  count?: number;
  /** `flags`. */
  flags?: number;
  /** `pid`. */
  pid?: number;
}
/** `perf_event.uprobe` (BPF_PERF_EVENT_UPROBE / URETPROBE). */
export interface LinkInfoPerfUprobe {
  /** `file_name`: in: buffer for the file name. */
  fileName?: Pointer;
  /** `name_len`: in: capacity; out: length. */
  nameLen?: number;
  /** `offset` from file_name. */
  offset?: number;
  /** `cookie`. */
  cookie?: number | bigint;
  /** `ref_ctr_offset` (6.16). */
  refCtrOffset?: number | bigint;
}
/** `perf_event.kprobe` (BPF_PERF_EVENT_KPROBE / KRETPROBE). */
export interface LinkInfoPerfKprobe {
  /** `func_name`: in: buffer for the function name. */
  funcName?: Pointer;
  /** `name_len`: in: capacity; out: length. */
  nameLen?: number;
  /** `offset` from func_name. */
  offset?: number;
  /** `addr`. */
  addr?: number | bigint;
  /** `missed`. */
  missed?: number | bigint;
  /** `cookie`. */
  cookie?: number | bigint;
}
/** `perf_event.tracepoint` (BPF_PERF_EVENT_TRACEPOINT). */
export interface LinkInfoPerfTracepoint {
  /** `tp_name`: in: buffer for the tracepoint name. */
  tpName?: Pointer;
  /** `name_len`: in: capacity; out: length. */
  nameLen?: number;
  /** `cookie`. */
  cookie?: number | bigint;
}
/** `perf_event.event` (BPF_PERF_EVENT_EVENT). */
export interface LinkInfoPerfEvent {
  /** `config`. */
  config?: number | bigint;
  /** `type`: the perf event type (PERF_TYPE_*). */
  type?: number;
  /** `cookie`. */
  cookie?: number | bigint;
}
/** `perf_event` member (BPF_LINK_TYPE_PERF_EVENT, 6.6): `type` selects the inner union member. */
export interface LinkInfoPerf {
  /** `type`: one of {@link BpfPerfEventType}. */
  type?: number;
  /** `uprobe`. */
  uprobe?: LinkInfoPerfUprobe;
  /** `kprobe`. */
  kprobe?: LinkInfoPerfKprobe;
  /** `tracepoint`. */
  tracepoint?: LinkInfoPerfTracepoint;
  /** `event`. */
  event?: LinkInfoPerfEvent;
}
/** `tcx` (6.6) and `netkit` (6.7) members. */
export interface LinkInfoIfindex {
  /** `ifindex`. */
  ifindex?: number;
  /** `attach_type`. */
  attachType?: number;
}
/** `sockmap` member (BPF_LINK_TYPE_SOCKMAP, 6.10). */
export interface LinkInfoSockmap {
  /** `map_id`. */
  mapId?: number;
  /** `attach_type`. */
  attachType?: number;
}

/** The fields of `struct bpf_link_info` (5.8): the head and one union member per link kind. */
export interface LinkInfoFields {
  /** `type`: one of {@link LinkType}. */
  type?: number;
  /** `id`. */
  id?: number;
  /** `prog_id`. */
  progId?: number;
  /** `raw_tracepoint` (BPF_LINK_TYPE_RAW_TRACEPOINT). */
  rawTracepoint?: LinkInfoRawTracepoint;
  /** `tracing` (BPF_LINK_TYPE_TRACING). */
  tracing?: LinkInfoTracing;
  /** `cgroup` (BPF_LINK_TYPE_CGROUP). */
  cgroup?: LinkInfoCgroup;
  /** `iter` (BPF_LINK_TYPE_ITER). */
  iter?: LinkInfoIter;
  /** `netns` (BPF_LINK_TYPE_NETNS). */
  netns?: LinkInfoNetns;
  /** `xdp` (BPF_LINK_TYPE_XDP). */
  xdp?: LinkInfoXdp;
  /** `struct_ops` (BPF_LINK_TYPE_STRUCT_OPS). */
  structOps?: LinkInfoStructOps;
  /** `netfilter` (BPF_LINK_TYPE_NETFILTER). */
  netfilter?: LinkInfoNetfilter;
  /** `kprobe_multi` (BPF_LINK_TYPE_KPROBE_MULTI). */
  kprobeMulti?: LinkInfoKprobeMulti;
  /** `uprobe_multi` (BPF_LINK_TYPE_UPROBE_MULTI). */
  uprobeMulti?: LinkInfoUprobeMulti;
  /** `perf_event` (BPF_LINK_TYPE_PERF_EVENT). */
  perfEvent?: LinkInfoPerf;
  /** `tcx` (BPF_LINK_TYPE_TCX, 6.6). */
  tcx?: LinkInfoIfindex;
  /** `netkit` (BPF_LINK_TYPE_NETKIT, 6.7). */
  netkit?: LinkInfoIfindex;
  /** `sockmap` (BPF_LINK_TYPE_SOCKMAP, 6.10). */
  sockmap?: LinkInfoSockmap;
}

/** `sizeof(struct bpf_link_info)` as of Linux 6.18. */
export const LINK_INFO_SIZE = 64;

const L = <T extends object>(name: string, size: number, fields: ConstructorParameters<typeof StructLayout<T>>[2]) =>
  new StructLayout<T>(`bpf_link_info.${name}`, size, fields);

const ifindexLayout = (name: string) =>
  L<LinkInfoIfindex>(name, 8, {
    ifindex: u32(0, `${name}.ifindex`),
    attachType: u32(4, `${name}.attach_type`),
  });

/** Layout of `struct bpf_link_info`. */
export const linkInfoLayout = new StructLayout<LinkInfoFields>('bpf_link_info', LINK_INFO_SIZE, {
  type: u32(0, 'type'),
  id: u32(4, 'id'),
  progId: u32(8, 'prog_id'),
  rawTracepoint: struct(
    16,
    L<LinkInfoRawTracepoint>('raw_tracepoint', 24, {
      tpName: ptr(0, 'raw_tracepoint.tp_name'),
      tpNameLen: u32(8, 'raw_tracepoint.tp_name_len'),
      cookie: u64(16, 'raw_tracepoint.cookie'),
    }),
    'raw_tracepoint',
  ),
  tracing: struct(
    16,
    L<LinkInfoTracing>('tracing', 24, {
      attachType: u32(0, 'tracing.attach_type'),
      targetObjId: u32(4, 'tracing.target_obj_id'),
      targetBtfId: u32(8, 'tracing.target_btf_id'),
      cookie: u64(16, 'tracing.cookie'),
    }),
    'tracing',
  ),
  cgroup: struct(
    16,
    L<LinkInfoCgroup>('cgroup', 12, {
      cgroupId: u64(0, 'cgroup.cgroup_id'),
      attachType: u32(8, 'cgroup.attach_type'),
    }),
    'cgroup',
  ),
  iter: struct(
    16,
    L<LinkInfoIter>('iter', 28, {
      targetName: ptr(0, 'iter.target_name'),
      targetNameLen: u32(8, 'iter.target_name_len'),
      map: struct(12, L<NonNullable<LinkInfoIter['map']>>('iter.map', 4, { mapId: u32(0, 'iter.map.map_id') }), 'iter.map'),
      cgroup: struct(
        16,
        L<NonNullable<LinkInfoIter['cgroup']>>('iter.cgroup', 12, {
          cgroupId: u64(0, 'iter.cgroup.cgroup_id'),
          order: u32(8, 'iter.cgroup.order'),
        }),
        'iter.cgroup',
      ),
      task: struct(
        16,
        L<NonNullable<LinkInfoIter['task']>>('iter.task', 8, {
          tid: u32(0, 'iter.task.tid'),
          pid: u32(4, 'iter.task.pid'),
        }),
        'iter.task',
      ),
    }),
    'iter',
  ),
  netns: struct(
    16,
    L<LinkInfoNetns>('netns', 8, {
      netnsIno: u32(0, 'netns.netns_ino'),
      attachType: u32(4, 'netns.attach_type'),
    }),
    'netns',
  ),
  xdp: struct(16, L<LinkInfoXdp>('xdp', 4, { ifindex: u32(0, 'xdp.ifindex') }), 'xdp'),
  structOps: struct(16, L<LinkInfoStructOps>('struct_ops', 4, { mapId: u32(0, 'struct_ops.map_id') }), 'struct_ops'),
  netfilter: struct(
    16,
    L<LinkInfoNetfilter>('netfilter', 16, {
      pf: u32(0, 'netfilter.pf'),
      hooknum: u32(4, 'netfilter.hooknum'),
      priority: s32(8, 'netfilter.priority'),
      flags: u32(12, 'netfilter.flags'),
    }),
    'netfilter',
  ),
  kprobeMulti: struct(
    16,
    L<LinkInfoKprobeMulti>('kprobe_multi', 32, {
      addrs: ptr(0, 'kprobe_multi.addrs'),
      count: u32(8, 'kprobe_multi.count'),
      flags: u32(12, 'kprobe_multi.flags'),
      missed: u64(16, 'kprobe_multi.missed'),
      cookies: ptr(24, 'kprobe_multi.cookies'),
    }),
    'kprobe_multi',
  ),
  uprobeMulti: struct(
    16,
    L<LinkInfoUprobeMulti>('uprobe_multi', 48, {
      path: ptr(0, 'uprobe_multi.path'),
      offsets: ptr(8, 'uprobe_multi.offsets'),
      refCtrOffsets: ptr(16, 'uprobe_multi.ref_ctr_offsets'),
      cookies: ptr(24, 'uprobe_multi.cookies'),
      pathSize: u32(32, 'uprobe_multi.path_size'),
      count: u32(36, 'uprobe_multi.count'),
      flags: u32(40, 'uprobe_multi.flags'),
      pid: u32(44, 'uprobe_multi.pid'),
    }),
    'uprobe_multi',
  ),
  perfEvent: struct(
    16,
    L<LinkInfoPerf>('perf_event', 48, {
      type: u32(0, 'perf_event.type'),
      uprobe: struct(
        8,
        L<LinkInfoPerfUprobe>('perf_event.uprobe', 32, {
          fileName: ptr(0, 'perf_event.uprobe.file_name'),
          nameLen: u32(8, 'perf_event.uprobe.name_len'),
          offset: u32(12, 'perf_event.uprobe.offset'),
          cookie: u64(16, 'perf_event.uprobe.cookie'),
          refCtrOffset: u64(24, 'perf_event.uprobe.ref_ctr_offset'),
        }),
        'perf_event.uprobe',
      ),
      kprobe: struct(
        8,
        L<LinkInfoPerfKprobe>('perf_event.kprobe', 40, {
          funcName: ptr(0, 'perf_event.kprobe.func_name'),
          nameLen: u32(8, 'perf_event.kprobe.name_len'),
          offset: u32(12, 'perf_event.kprobe.offset'),
          addr: u64(16, 'perf_event.kprobe.addr'),
          missed: u64(24, 'perf_event.kprobe.missed'),
          cookie: u64(32, 'perf_event.kprobe.cookie'),
        }),
        'perf_event.kprobe',
      ),
      tracepoint: struct(
        8,
        L<LinkInfoPerfTracepoint>('perf_event.tracepoint', 24, {
          tpName: ptr(0, 'perf_event.tracepoint.tp_name'),
          nameLen: u32(8, 'perf_event.tracepoint.name_len'),
          cookie: u64(16, 'perf_event.tracepoint.cookie'),
        }),
        'perf_event.tracepoint',
      ),
      event: struct(
        8,
        L<LinkInfoPerfEvent>('perf_event.event', 24, {
          config: u64(0, 'perf_event.event.config'),
          type: u32(8, 'perf_event.event.type'),
          cookie: u64(16, 'perf_event.event.cookie'),
        }),
        'perf_event.event',
      ),
    }),
    'perf_event',
  ),
  tcx: struct(16, ifindexLayout('tcx'), 'tcx'),
  netkit: struct(16, ifindexLayout('netkit'), 'netkit'),
  sockmap: struct(
    16,
    L<LinkInfoSockmap>('sockmap', 8, {
      mapId: u32(0, 'sockmap.map_id'),
      attachType: u32(4, 'sockmap.attach_type'),
    }),
    'sockmap',
  ),
});

/** The decoded form of one union member of {@link LinkInfoFields}. */
export type LinkInfoMember<K extends keyof LinkInfoFields> = Decoded<NonNullable<LinkInfoFields[K]>>;

/** The decoded perf_event member, discriminated by `kind` (from its `type`). */
export type BpfPerfEventLinkInfo =
  | { kind: 'uprobe'; type: number; uprobe: Decoded<LinkInfoPerfUprobe> }
  | { kind: 'kprobe'; type: number; kprobe: Decoded<LinkInfoPerfKprobe> }
  | { kind: 'tracepoint'; type: number; tracepoint: Decoded<LinkInfoPerfTracepoint> }
  | { kind: 'event'; type: number; event: Decoded<LinkInfoPerfEvent> }
  | { kind: 'unknown'; type: number };

/** The head of every decoded {@link BpfLinkInfo}. */
export interface BpfLinkInfoHead {
  /** `type`: one of {@link LinkType}. */
  type: number;
  /** `id`. */
  id: number;
  /** `prog_id`. */
  progId: number;
}

/** A decoded `struct bpf_link_info`, discriminated by `kind` (from `type`). */
export type BpfLinkInfo = BpfLinkInfoHead &
  (
    | { kind: 'raw_tracepoint'; rawTracepoint: LinkInfoMember<'rawTracepoint'> }
    | { kind: 'tracing'; tracing: LinkInfoMember<'tracing'> }
    | { kind: 'cgroup'; cgroup: LinkInfoMember<'cgroup'> }
    | { kind: 'iter'; iter: LinkInfoMember<'iter'> }
    | { kind: 'netns'; netns: LinkInfoMember<'netns'> }
    | { kind: 'xdp'; xdp: LinkInfoMember<'xdp'> }
    | { kind: 'struct_ops'; structOps: LinkInfoMember<'structOps'> }
    | { kind: 'netfilter'; netfilter: LinkInfoMember<'netfilter'> }
    | { kind: 'kprobe_multi'; kprobeMulti: LinkInfoMember<'kprobeMulti'> }
    | { kind: 'uprobe_multi'; uprobeMulti: LinkInfoMember<'uprobeMulti'> }
    | { kind: 'perf_event'; perfEvent: BpfPerfEventLinkInfo }
    | { kind: 'tcx'; tcx: LinkInfoMember<'tcx'> }
    | { kind: 'netkit'; netkit: LinkInfoMember<'netkit'> }
    | { kind: 'sockmap'; sockmap: LinkInfoMember<'sockmap'> }
    | { kind: 'unknown' }
  );

/** The union member (property of {@link LinkInfoFields}) each link type uses. */
const MEMBER_BY_TYPE: Readonly<Record<number, [BpfLinkInfo['kind'], keyof LinkInfoFields]>> = {
  [LinkType.RAW_TRACEPOINT]: ['raw_tracepoint', 'rawTracepoint'],
  [LinkType.TRACING]: ['tracing', 'tracing'],
  [LinkType.CGROUP]: ['cgroup', 'cgroup'],
  [LinkType.ITER]: ['iter', 'iter'],
  [LinkType.NETNS]: ['netns', 'netns'],
  [LinkType.XDP]: ['xdp', 'xdp'],
  [LinkType.PERF_EVENT]: ['perf_event', 'perfEvent'],
  [LinkType.KPROBE_MULTI]: ['kprobe_multi', 'kprobeMulti'],
  [LinkType.STRUCT_OPS]: ['struct_ops', 'structOps'],
  [LinkType.NETFILTER]: ['netfilter', 'netfilter'],
  [LinkType.TCX]: ['tcx', 'tcx'],
  [LinkType.UPROBE_MULTI]: ['uprobe_multi', 'uprobeMulti'],
  [LinkType.NETKIT]: ['netkit', 'netkit'],
  [LinkType.SOCKMAP]: ['sockmap', 'sockmap'],
};

const PERF_KIND: Readonly<Record<number, 'uprobe' | 'kprobe' | 'tracepoint' | 'event'>> = {
  [BpfPerfEventType.BPF_PERF_EVENT_UPROBE]: 'uprobe',
  [BpfPerfEventType.BPF_PERF_EVENT_URETPROBE]: 'uprobe',
  [BpfPerfEventType.BPF_PERF_EVENT_KPROBE]: 'kprobe',
  [BpfPerfEventType.BPF_PERF_EVENT_KRETPROBE]: 'kprobe',
  [BpfPerfEventType.BPF_PERF_EVENT_TRACEPOINT]: 'tracepoint',
  [BpfPerfEventType.BPF_PERF_EVENT_EVENT]: 'event',
};

/**
 * Decodes a `struct bpf_link_info`, keeping only the union member that the
 * link's `type` selects.
 *
 * @example
 * const info = decodeLinkInfo(buf);
 * if (info.kind === 'tcx') console.log(info.tcx.ifindex, info.tcx.attachType);
 */
export function decodeLinkInfo(buf: Uint8Array): BpfLinkInfo {
  const all = linkInfoLayout.decode(zeroExtend(buf, LINK_INFO_SIZE));
  const head: BpfLinkInfoHead = { type: all.type, id: all.id, progId: all.progId };
  const entry = MEMBER_BY_TYPE[all.type];
  if (!entry) return { ...head, kind: 'unknown' };
  const [kind, key] = entry;
  if (key === 'perfEvent') {
    const pe = all.perfEvent;
    const pk = PERF_KIND[pe.type];
    const perfEvent: BpfPerfEventLinkInfo =
      pk === undefined ? { kind: 'unknown', type: pe.type } : ({ kind: pk, type: pe.type, [pk]: pe[pk] } as BpfPerfEventLinkInfo);
    return { ...head, kind: 'perf_event', perfEvent };
  }
  return { ...head, kind, [key]: all[key] } as BpfLinkInfo;
}

/**
 * Encodes a `struct bpf_link_info` request: buffers for the names and
 * arrays of one link kind (the kind must be known, e.g. from a first plain
 * query). Capacities left out are taken from the buffers: name lengths in
 * bytes, array counts in 8-byte elements.
 *
 * @example
 * const req = encodeLinkInfoRequest({ rawTracepoint: { tpName: new Uint8Array(128) } });
 */
export function encodeLinkInfoRequest(req: LinkInfoFields): EncodedStruct {
  const len = (p: Pointer | undefined): number | undefined => (p instanceof Uint8Array ? p.byteLength : undefined);
  const cnt = (...ps: (Pointer | undefined)[]): number | undefined => {
    for (const p of ps) if (p instanceof Uint8Array) return Math.floor(p.byteLength / 8);
    return undefined;
  };
  const r: LinkInfoFields = { ...req };
  if (r.rawTracepoint) r.rawTracepoint = { ...r.rawTracepoint, tpNameLen: r.rawTracepoint.tpNameLen ?? len(r.rawTracepoint.tpName) };
  if (r.iter) r.iter = { ...r.iter, targetNameLen: r.iter.targetNameLen ?? len(r.iter.targetName) };
  if (r.kprobeMulti) {
    const k = r.kprobeMulti;
    r.kprobeMulti = { ...k, count: k.count ?? cnt(k.addrs, k.cookies) };
  }
  if (r.uprobeMulti) {
    const u = r.uprobeMulti;
    r.uprobeMulti = { ...u, pathSize: u.pathSize ?? len(u.path), count: u.count ?? cnt(u.offsets, u.refCtrOffsets, u.cookies) };
  }
  if (r.perfEvent) {
    const p = { ...r.perfEvent };
    if (p.uprobe) p.uprobe = { ...p.uprobe, nameLen: p.uprobe.nameLen ?? len(p.uprobe.fileName) };
    if (p.kprobe) p.kprobe = { ...p.kprobe, nameLen: p.kprobe.nameLen ?? len(p.kprobe.funcName) };
    if (p.tracepoint) p.tracepoint = { ...p.tracepoint, nameLen: p.tracepoint.nameLen ?? len(p.tracepoint.tpName) };
    r.perfEvent = p;
  }
  return linkInfoLayout.encode(r);
}
