/**
 * `bpf_attr` members for BPF_PROG_ATTACH, BPF_PROG_DETACH and BPF_PROG_QUERY.
 *
 * @module
 */
import type { AttachFlags, AttachType } from '@bpfkit/core'; // {@link} targets
import { StructLayout, ptr, u32, u64, type EncodedAttr, type Pointer } from './layout.js';

/** The `bpf_attr` member of `BPF_PROG_ATTACH` and `BPF_PROG_DETACH`. */
export interface ProgAttachAttr {
  /** `target_fd`: cgroup, socket map, netns… to attach to; shares a union with targetIfindex. */
  targetFd?: number;
  /** `target_ifindex`: network interface, for tcx (6.6). */
  targetIfindex?: number;
  /** `attach_bpf_fd`: the program. */
  attachBpfFd?: number;
  /** `attach_type`: one of {@link AttachType}. */
  attachType: number;
  /** `attach_flags`: {@link AttachFlags} bits. */
  attachFlags?: number;
  /** `replace_bpf_fd`: program to replace, with BPF_F_REPLACE (5.6). */
  replaceBpfFd?: number;
  /** `relative_fd`: program or link to order against, with BPF_F_BEFORE/AFTER (6.6). */
  relativeFd?: number;
  /** `relative_id`: the same by id, with BPF_F_ID (6.6); shares a union with relativeFd. */
  relativeId?: number;
  /** `expected_revision`: fail with ESTALE unless the hook is at this revision (6.6). */
  expectedRevision?: number | bigint;
}

/** Layout of the attach/detach member; size = offsetofend(expected_revision) = 32. */
export const progAttachLayout = new StructLayout<ProgAttachAttr>('bpf_attr (BPF_PROG_ATTACH)', 32, {
  targetFd: u32(0, 'target_fd'),
  targetIfindex: u32(0, 'target_ifindex'),
  attachBpfFd: u32(4, 'attach_bpf_fd'),
  attachType: u32(8, 'attach_type'),
  attachFlags: u32(12, 'attach_flags'),
  replaceBpfFd: u32(16, 'replace_bpf_fd'),
  relativeFd: u32(20, 'relative_fd'),
  relativeId: u32(20, 'relative_id'),
  expectedRevision: u64(24, 'expected_revision'),
});

/**
 * Encodes the `bpf_attr` of BPF_PROG_ATTACH or BPF_PROG_DETACH.
 *
 * @example
 * const cgroupFd = fs.openSync('/sys/fs/cgroup', 'r');
 * encodeProgAttachAttr({ targetFd: cgroupFd, attachBpfFd: progFd, attachType: AttachType.CGROUP_INET_INGRESS });
 */
export function encodeProgAttachAttr(fields: ProgAttachAttr): EncodedAttr {
  return progAttachLayout.encodeAttr(fields);
}

/** The `bpf_attr.query` member of `BPF_PROG_QUERY` (4.15). */
export interface ProgQueryAttr {
  /** `query.target_fd`: the object to query; shares a union with targetIfindex. */
  targetFd?: number;
  /** `query.target_ifindex`: network interface, for tcx/netkit (6.6). */
  targetIfindex?: number;
  /** `query.attach_type`: one of {@link AttachType}. */
  attachType: number;
  /** `query.query_flags`: BPF_F_QUERY_EFFECTIVE. */
  queryFlags?: number;
  /** `query.attach_flags`: output: the hook's attach flags. */
  attachFlags?: number;
  /** `query.prog_ids`: receives `__u32` program ids. */
  progIds?: Pointer;
  /** `query.prog_cnt` (alias `count`, 6.6): in: capacity of the id arrays; out: number attached. */
  progCnt?: number;
  /** `query.prog_attach_flags`: receives per-program `__u32` attach flags (6.0). */
  progAttachFlags?: Pointer;
  /** `query.link_ids`: receives `__u32` link ids, 0 for programs attached without a link (6.6). */
  linkIds?: Pointer;
  /** `query.link_attach_flags`: receives per-link `__u32` attach flags (6.6). */
  linkAttachFlags?: Pointer;
  /** `query.revision`: output: the hook's revision (6.6). */
  revision?: number | bigint;
}

/** Layout of the query member; size = offsetofend(query.revision) = 64. */
export const progQueryLayout = new StructLayout<ProgQueryAttr>('bpf_attr (BPF_PROG_QUERY)', 64, {
  targetFd: u32(0, 'query.target_fd'),
  targetIfindex: u32(0, 'query.target_ifindex'),
  attachType: u32(4, 'query.attach_type'),
  queryFlags: u32(8, 'query.query_flags'),
  attachFlags: u32(12, 'query.attach_flags'),
  progIds: ptr(16, 'query.prog_ids'),
  progCnt: u32(24, 'query.prog_cnt'),
  progAttachFlags: ptr(32, 'query.prog_attach_flags'),
  linkIds: ptr(40, 'query.link_ids'),
  linkAttachFlags: ptr(48, 'query.link_attach_flags'),
  revision: u64(56, 'query.revision'),
});

/**
 * Encodes the `bpf_attr` of BPF_PROG_QUERY. `progCnt` defaults to the
 * capacity of `progIds` (its byte length / 4).
 *
 * @example
 * encodeProgQueryAttr({ targetIfindex: 1, attachType: AttachType.TCX_INGRESS, progIds: new Uint8Array(64) });
 */
export function encodeProgQueryAttr(fields: ProgQueryAttr): EncodedAttr {
  const ids = fields.progIds;
  return progQueryLayout.encodeAttr({
    ...fields,
    progCnt: fields.progCnt ?? (ids instanceof Uint8Array ? Math.floor(ids.byteLength / 4) : undefined),
  });
}
