import fs from 'node:fs';
import path from 'node:path';
import { attachTypeName, BpfError, Errno, InvalidArgumentError, programTypeName } from '@bpfkit/core';
import { linkDetails, listLinks, programInfo } from '@bpfkit/attach';
import type { LinkDetails } from '@bpfkit/attach';
import { BpfPerfEventType, bpfObjectKind, getFdById, linkDetach, native, objGet, objPin } from '@bpfkit/syscalls';
import type { BpfLinkInfo } from '@bpfkit/syscalls';
import { textTable } from '../features/format.js';
import type { CliIo, ParsedArgs } from './main.js';

const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2);

/** What a link of this kind is attached to, in one line: the kind's own fields of `struct bpf_link_info`. */
function attachedTo(info: BpfLinkInfo): string {
  const { type: _type, id: _id, progId: _progId, kind, ...rest } = info as BpfLinkInfo & Record<string, unknown>;
  const member = Object.values(rest)[0];
  if (member === undefined || typeof member !== 'object' || member === null) return '-';
  return Object.entries(member as Record<string, unknown>)
    .filter(([, v]) => typeof v !== 'object' || v === null)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

/** `<id|pin>` as the commands take it, described for messages. */
function describe(ref: string): string {
  return /^\d+$/.test(ref) ? `link id ${ref}` : `link '${ref}'`;
}

/**
 * Opens a link by id (digits) or absolute pin path; the caller closes the
 * fd. A pinned object that is not a link is refused.
 */
function openLinkFd(ref: string | undefined): number {
  if (ref !== undefined && /^\d+$/.test(ref)) {
    const id = Number(ref);
    if (id <= 0 || id > 0xffffffff) throw new InvalidArgumentError('link id', 'a positive 32-bit integer', ref);
    return getFdById('link', id, {}, { subject: describe(ref) });
  }
  if (ref === undefined || !ref.startsWith('/')) throw new InvalidArgumentError('link', 'a link id (digits) or an absolute pin path', ref);
  const fd = objGet(ref, {}, { subject: describe(ref) });
  const kind = bpfObjectKind(fd);
  if (kind !== undefined && kind !== 'link') {
    native.close(fd);
    throw new BpfError(Errno.EINVAL, {
      syscall: 'bpf',
      command: 'BPF_OBJ_GET',
      subject: describe(ref),
      hint: `the object pinned there is not a link but a ${kind === 'non-BPF file' ? kind : `BPF ${kind}`}`,
    });
  }
  return fd;
}

/** The open fd of a link, closed at the end of a `using` scope. */
function openLink(ref: string | undefined): { fd: number } & Disposable {
  const fd = openLinkFd(ref);
  return { fd, [Symbol.dispose]: () => native.close(fd) };
}

/** The name of the interface with this index in this network namespace (from sysfs), if there is one. */
function interfaceName(ifindex: number): string | undefined {
  try {
    for (const name of fs.readdirSync('/sys/class/net')) {
      try {
        if (Number(fs.readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8')) === ifindex) return name;
      } catch {
        // An interface that went away meanwhile.
      }
    }
  } catch {
    // No sysfs.
  }
  return undefined;
}

/** Directories walked at most when looking a cgroup up by id (a cgroup's id is its inode on cgroup2). */
const CGROUP_WALK_LIMIT = 20_000;

/** The cgroup v2 directory whose id (its kernfs inode number) is `id`, searched under /sys/fs/cgroup; undefined when not found cheaply. */
function cgroupPath(id: bigint, root = '/sys/fs/cgroup'): string | undefined {
  const queue = [root];
  for (let walked = 0; queue.length && walked < CGROUP_WALK_LIMIT; walked++) {
    const dir = queue.shift()!;
    try {
      if (fs.statSync(dir, { bigint: true }).ino === id) return dir;
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) queue.push(path.join(dir, e.name));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return undefined;
}

const NETFILTER_FAMILIES: Readonly<Record<number, string>> = { 2: 'ipv4', 10: 'ipv6' };
const NETFILTER_HOOKS = ['pre_routing', 'local_in', 'forward', 'local_out', 'post_routing'];
/** BPF_F_KPROBE_MULTI_RETURN and BPF_F_UPROBE_MULTI_RETURN. */
const MULTI_RETURN = 1;
/** BPF_F_NETFILTER_IP_DEFRAG. */
const NETFILTER_DEFRAG = 1;

/** The program of a link: id, name and type (name and type unknown when it cannot be opened). */
function programOf(progId: number): { id: number; name?: string; type?: string } {
  if (!progId) return { id: 0 };
  try {
    const i = programInfo(progId);
    return { id: progId, name: i.name, type: programTypeName(i.type) };
  } catch (err) {
    if (err instanceof BpfError) return { id: progId };
    throw err;
  }
}

/** What `link show` adds to the kernel's info: names of what the ids and indices stand for. */
interface Resolved {
  interface?: string;
  cgroupPath?: string;
}

function resolve(d: LinkDetails): Resolved {
  const ifindex = d.kind === 'xdp' ? d.xdp.ifindex : d.kind === 'tcx' ? d.tcx.ifindex : d.kind === 'netkit' ? d.netkit.ifindex : 0;
  const cgroupId = d.kind === 'cgroup' ? BigInt(d.cgroup.cgroupId) : d.kind === 'iter' ? BigInt(d.iter.cgroup.cgroupId) : 0n;
  const name = ifindex ? interfaceName(ifindex) : undefined;
  const cg = cgroupId ? cgroupPath(cgroupId) : undefined;
  return { ...(name ? { interface: name } : {}), ...(cg ? { cgroupPath: cg } : {}) };
}

/** The rows of `link show` that say what the link is attached to. */
function targetRows(d: LinkDetails, r: Resolved): [string, string][] {
  const iface = (ifindex: number): string =>
    ifindex ? `${r.interface ?? '(not in this network namespace)'} (index ${ifindex})` : 'none (detached)';
  const cookie = (c: number | bigint): [string, string][] => (BigInt(c) ? [['cookie', String(c)]] : []);
  switch (d.kind) {
    case 'raw_tracepoint':
      return [['tracepoint', d.targetName ?? '?'], ...cookie(d.rawTracepoint.cookie)];
    case 'tracing': {
      const t = d.tracing;
      // target_obj_id: the BTF object (vmlinux or a module) of the function, or for freplace (an ext program) the target program.
      return [
        ['attach type', attachTypeName(t.attachType)],
        ['target', `object ${t.targetObjId}, BTF type ${t.targetBtfId}`],
        ...cookie(t.cookie),
      ];
    }
    case 'cgroup': {
      const id = BigInt(d.cgroup.cgroupId);
      return [
        ['attach type', attachTypeName(d.cgroup.attachType)],
        ['cgroup', id ? `${r.cgroupPath ?? '(path not found)'} (id ${id})` : 'none (detached)'],
      ];
    }
    case 'iter': {
      const rows: [string, string][] = [['iterator', d.targetName ?? '?']];
      if (d.targetName === 'bpf_map_elem' || d.targetName === 'bpf_sk_storage_map') rows.push(['map', String(d.iter.map.mapId)]);
      else if (d.targetName === 'cgroup' && BigInt(d.iter.cgroup.cgroupId))
        rows.push(['cgroup', `${r.cgroupPath ?? '(path not found)'} (id ${d.iter.cgroup.cgroupId}, order ${d.iter.cgroup.order})`]);
      else if (d.targetName?.startsWith('task') && (d.iter.task.pid || d.iter.task.tid))
        rows.push(['task', d.iter.task.pid ? `pid ${d.iter.task.pid}` : `tid ${d.iter.task.tid}`]);
      return rows;
    }
    case 'netns':
      return [
        ['attach type', attachTypeName(d.netns.attachType)],
        ['netns', d.netns.netnsIno ? `inode ${d.netns.netnsIno}` : 'none (detached)'],
      ];
    case 'xdp':
      return [['interface', iface(d.xdp.ifindex)]];
    case 'tcx':
    case 'netkit': {
      const m = d.kind === 'tcx' ? d.tcx : d.netkit;
      return [
        ['interface', iface(m.ifindex)],
        ['attach type', attachTypeName(m.attachType)],
      ];
    }
    case 'struct_ops':
      return [['map', String(d.structOps.mapId)]];
    case 'netfilter': {
      const n = d.netfilter;
      return [
        ['family', NETFILTER_FAMILIES[n.pf] ?? `pf ${n.pf}`],
        ['hook', NETFILTER_HOOKS[n.hooknum] ?? `hook ${n.hooknum}`],
        ['priority', String(n.priority)],
        ['defrag', n.flags & NETFILTER_DEFRAG ? 'yes' : 'no'],
      ];
    }
    case 'kprobe_multi': {
      const k = d.kprobeMulti;
      return [
        ['probe', k.flags & MULTI_RETURN ? 'kretprobe' : 'kprobe'],
        ['functions', String(k.count)],
        ['missed', String(k.missed)],
      ];
    }
    case 'uprobe_multi': {
      const u = d.uprobeMulti;
      return [
        ['probe', u.flags & MULTI_RETURN ? 'uretprobe' : 'uprobe'],
        ['file', d.targetName ?? '?'],
        ['probes', String(u.count)],
        ['pid', u.pid ? String(u.pid) : 'every process'],
      ];
    }
    case 'sockmap':
      return [
        ['map', String(d.sockmap.mapId)],
        ['attach type', attachTypeName(d.sockmap.attachType)],
      ];
    case 'perf_event': {
      const p = d.perfEvent;
      switch (p.kind) {
        case 'tracepoint':
          return [['tracepoint', d.targetName ?? '?'], ...cookie(p.tracepoint.cookie)];
        case 'kprobe': {
          const ret = p.type === BpfPerfEventType.BPF_PERF_EVENT_KRETPROBE;
          const at = d.targetName ? `${d.targetName}${p.kprobe.offset ? `+0x${p.kprobe.offset.toString(16)}` : ''}` : '?';
          return [
            ['probe', ret ? 'kretprobe' : 'kprobe'],
            ['function', at],
            ...(BigInt(p.kprobe.addr) ? ([['address', `0x${BigInt(p.kprobe.addr).toString(16)}`]] as [string, string][]) : []),
            ['missed', String(p.kprobe.missed)],
            ...cookie(p.kprobe.cookie),
          ];
        }
        case 'uprobe': {
          const ret = p.type === BpfPerfEventType.BPF_PERF_EVENT_URETPROBE;
          return [
            ['probe', ret ? 'uretprobe' : 'uprobe'],
            ['file', d.targetName ?? '?'],
            ['offset', `0x${p.uprobe.offset.toString(16)}`],
            ...cookie(p.uprobe.cookie),
          ];
        }
        case 'event':
          return [['event', `type ${p.event.type} config ${p.event.config}`], ...cookie(p.event.cookie)];
        default:
          return [['perf event', `type ${p.type}`]];
      }
    }
    default:
      return [];
  }
}

/** Names of `struct bpf_link_info` fields that are user pointers: addresses of this process's buffers, not information. */
const POINTER_FIELDS = new Set(['tpName', 'targetName', 'funcName', 'fileName', 'path', 'addrs', 'offsets', 'refCtrOffsets', 'cookies']);

/** The kind's member of the info without its pointer fields (recursively). */
function withoutPointers(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => !POINTER_FIELDS.has(k))
      .map(([k, x]) => [k, withoutPointers(x)]),
  );
}

function showJson(d: LinkDetails, r: Resolved): Record<string, unknown> {
  const { type, id, progId, kind, targetName, ...member } = d as LinkDetails & Record<string, unknown>;
  return {
    id,
    type,
    kind,
    program: programOf(progId),
    ...(targetName !== undefined ? { targetName } : {}),
    ...r,
    ...(withoutPointers(member) as Record<string, unknown>),
  };
}

function showText(d: LinkDetails, r: Resolved): string {
  const p = programOf(d.progId);
  const rows: [string, string][] = [
    ['id', String(d.id)],
    ['type', `${d.kind} (${d.type})`],
    ['program', p.id ? `${p.id}${p.name !== undefined ? ` ${p.name || '(no name)'} (${p.type})` : ''}` : 'none'],
    ...targetRows(d, r),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/**
 * `bpfkit link list|show|pin|unpin|detach`: the system's BPF links, one
 * link's details (program, and what it is attached to, by name), pinning
 * one in bpffs, removing a pin, and detaching one in place.
 *
 * @example
 * runLinkCommand({ positional: ['list'], flags: new Set(), options: {} }, { out: console.log, err: console.error });
 */
export function runLinkCommand(args: ParsedArgs, io: CliIo): number {
  const [sub, ref, pinPath] = args.positional;
  const asJson = args.flags.has('json');
  switch (sub) {
    case 'list': {
      const all = listLinks();
      io.out(
        asJson
          ? json(all)
          : textTable(
              ['id', 'type', 'prog', 'attached to'],
              all.map((l) => [String(l.id), l.kind, String(l.progId), attachedTo(l)]),
            ),
      );
      return 0;
    }
    case 'show': {
      using link = openLink(ref);
      const d = linkDetails(link.fd, describe(ref!));
      const r = resolve(d);
      io.out(asJson ? json(showJson(d, r)) : showText(d, r));
      return 0;
    }
    case 'pin': {
      using link = openLink(ref);
      if (!pinPath) throw new InvalidArgumentError('link pin: path', 'a path in bpffs to pin the link at', pinPath);
      objPin(pinPath, link.fd, {}, { subject: `${describe(ref!)}: pin at '${pinPath}'` });
      const { id } = linkDetails(link.fd, describe(ref!));
      io.out(`pinned link ${id} at ${pinPath}`);
      return 0;
    }
    case 'unpin': {
      if (!ref?.startsWith('/')) throw new InvalidArgumentError('link unpin: path', 'the absolute path a link is pinned at', ref);
      // Checks that a link is pinned there, so that unpin never removes some other file.
      const id = (() => {
        using link = openLink(ref);
        return linkDetails(link.fd, describe(ref)).id;
      })();
      fs.rmSync(ref);
      io.out(`removed the pin of link ${id} at ${ref} (the link is gone unless another pin or process holds it)`);
      return 0;
    }
    case 'detach': {
      using link = openLink(ref);
      const d = linkDetails(link.fd, describe(ref!));
      const subject = `link ${d.id} (${d.kind})`;
      try {
        linkDetach(link.fd, { subject });
      } catch (err) {
        if (!(err instanceof BpfError) || err.errno !== Errno.EOPNOTSUPP) throw err;
        // BPF_LINK_DETACH (5.9) exists for cgroup, netns, xdp, tcx, netkit, netfilter, sockmap, struct_ops links; the others refuse it.
        const pinned = ref!.startsWith('/');
        throw new BpfError(Errno.EOPNOTSUPP, {
          syscall: 'bpf',
          command: 'BPF_LINK_DETACH',
          subject,
          hint: `a ${d.kind} link cannot be detached in place; it detaches when its last reference goes: ${
            pinned
              ? `removing this pin (bpfkit link unpin ${ref}) detaches it when no other pin or process holds it`
              : 'its pins removed (bpfkit link unpin <path>) and the processes holding it closing it'
          }`,
        });
      }
      io.out(`detached link ${d.id} (${d.kind}): the program no longer runs; the link itself stays until its pins and handles go`);
      return 0;
    }
    default:
      throw new InvalidArgumentError('link command', 'one of list, show, pin, unpin, detach', sub);
  }
}
