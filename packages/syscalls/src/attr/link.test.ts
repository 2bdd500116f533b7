import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@bpfkit/core';
import { encodeIterCreateAttr, encodeIterLinkInfo, encodeLinkCreateAttr, encodeLinkDetachAttr, encodeLinkUpdateAttr } from './link.js';
import { buf, cstrAt, ptrAt, rd32, rd64, rds32 } from '../test-support/bytes.js';

// Offsets below are written from include/uapi/linux/bpf.h (Linux 6.18), not from the layout tables.

describe('BPF_LINK_CREATE attr', () => {
  const head = { progFd: 1, targetFd: 2, attachType: 3, flags: 4 };
  const checkHead = (a: Uint8Array): void => {
    expect(a.byteLength).toBe(60);
    expect([rd32(a, 0), rd32(a, 4), rd32(a, 8), rd32(a, 12)]).toEqual([1, 2, 3, 4]);
  };

  it('common fields: prog_fd 0, target_fd 4, attach_type 8, flags 12; size 60', () => {
    const a = encodeLinkCreateAttr(head).attr;
    checkHead(a);
    expect([...a.subarray(16)].every((b) => b === 0)).toBe(true);
  });

  it('map_fd overlays prog_fd; target_ifindex overlays target_fd', () => {
    const a = encodeLinkCreateAttr({ mapFd: 7, targetIfindex: 8, attachType: 44 }).attr;
    expect(rd32(a, 0)).toBe(7);
    expect(rd32(a, 4)).toBe(8);
    expect(() => encodeLinkCreateAttr({ progFd: 1, mapFd: 2, attachType: 0 })).toThrow(InvalidArgumentError);
  });

  it('target_btf_id at 16', () => {
    const a = encodeLinkCreateAttr({ ...head, targetBtfId: 0x1234 }).attr;
    checkHead(a);
    expect(rd32(a, 16)).toBe(0x1234);
  });

  it('iter_info 16, iter_info_len 24', () => {
    const info = buf(16);
    const enc = encodeLinkCreateAttr({ ...head, iterInfo: info });
    checkHead(enc.attr);
    expect(ptrAt(enc, 16)).toBe(info);
    expect(rd32(enc.attr, 24)).toBe(16);
  });

  it('perf_event.bpf_cookie at 16', () => {
    const a = encodeLinkCreateAttr({ ...head, perfEvent: { bpfCookie: 0xfeed_f00d_0000_0001n } }).attr;
    checkHead(a);
    expect(rd64(a, 16)).toBe(0xfeed_f00d_0000_0001n);
  });

  it('kprobe_multi: flags 16, cnt 20, syms 24, addrs 32, cookies 40', () => {
    const [addrs, cookies] = [buf(24), buf(24)];
    const enc = encodeLinkCreateAttr({ ...head, kprobeMulti: { flags: 1, syms: 0x5000n, addrs, cookies } });
    checkHead(enc.attr);
    expect(rd32(enc.attr, 16)).toBe(1);
    expect(rd32(enc.attr, 20)).toBe(3); // cnt from 24 bytes of addrs
    expect(rd64(enc.attr, 24)).toBe(0x5000n);
    expect(ptrAt(enc, 32)).toBe(addrs);
    expect(ptrAt(enc, 40)).toBe(cookies);
  });

  it('tracing: target_btf_id 16, cookie 24', () => {
    const a = encodeLinkCreateAttr({ ...head, tracing: { targetBtfId: 5, cookie: 6n } }).attr;
    checkHead(a);
    expect(rd32(a, 16)).toBe(5);
    expect(rd64(a, 24)).toBe(6n);
  });

  it('netfilter: pf 16, hooknum 20, priority 24, flags 28', () => {
    const a = encodeLinkCreateAttr({ ...head, netfilter: { pf: 2, hooknum: 1, priority: -128, flags: 1 } }).attr;
    checkHead(a);
    expect([rd32(a, 16), rd32(a, 20), rds32(a, 24), rd32(a, 28)]).toEqual([2, 1, -128, 1]);
  });

  for (const member of ['tcx', 'netkit', 'cgroup'] as const) {
    it(`${member}: relative_fd/relative_id 16, expected_revision 24`, () => {
      const a = encodeLinkCreateAttr({ ...head, [member]: { relativeFd: 9, expectedRevision: 10n } }).attr;
      checkHead(a);
      expect(rd32(a, 16)).toBe(9);
      expect(rd64(a, 24)).toBe(10n);
      const b = encodeLinkCreateAttr({ ...head, [member]: { relativeId: 11 } }).attr;
      expect(rd32(b, 16)).toBe(11);
    });
  }

  it('uprobe_multi: path 16, offsets 24, ref_ctr_offsets 32, cookies 40, cnt 48, flags 52, pid 56', () => {
    const [offsets, refs, cookies] = [buf(16), buf(16), buf(16)];
    const enc = encodeLinkCreateAttr({
      ...head,
      uprobeMulti: { path: '/usr/bin/bash', offsets, refCtrOffsets: refs, cookies, flags: 1, pid: 1234 },
    });
    checkHead(enc.attr);
    expect(cstrAt(enc, 16)).toBe('/usr/bin/bash');
    expect(ptrAt(enc, 24)).toBe(offsets);
    expect(ptrAt(enc, 32)).toBe(refs);
    expect(ptrAt(enc, 40)).toBe(cookies);
    expect(rd32(enc.attr, 48)).toBe(2);
    expect(rd32(enc.attr, 52)).toBe(1);
    expect(rd32(enc.attr, 56)).toBe(1234);
  });

  it('rejects two union members', () => {
    expect(() => encodeLinkCreateAttr({ ...head, targetBtfId: 1, perfEvent: { bpfCookie: 1 } })).toThrow(/share a union/);
    expect(() => encodeLinkCreateAttr({ ...head, tcx: { relativeFd: 1 }, netkit: { relativeFd: 2 } })).toThrow(/share a union/);
    expect(() => encodeLinkCreateAttr({ ...head, targetBtfId: 1, tracing: { targetBtfId: 1 } })).toThrow(InvalidArgumentError);
  });

  it('names nested fields in errors', () => {
    expect(() => encodeLinkCreateAttr({ ...head, netfilter: { pf: -1, hooknum: 0, priority: 0 } })).toThrow(/netfilter\.pf/);
  });
});

describe('union bpf_iter_link_info', () => {
  it('map.map_fd 0; cgroup.order 0, cgroup_fd 4, cgroup_id 8; task tid 0, pid 4, pid_fd 8; size 16', () => {
    expect(rd32(encodeIterLinkInfo({ map: { mapFd: 5 } }).bytes, 0)).toBe(5);
    const c = encodeIterLinkInfo({ cgroup: { order: 2, cgroupFd: 3, cgroupId: 4n } }).bytes;
    expect(c.byteLength).toBe(16);
    expect([rd32(c, 0), rd32(c, 4)]).toEqual([2, 3]);
    expect(rd64(c, 8)).toBe(4n);
    const t = encodeIterLinkInfo({ task: { tid: 6, pid: 7, pidFd: 8 } }).bytes;
    expect([rd32(t, 0), rd32(t, 4), rd32(t, 8)]).toEqual([6, 7, 8]);
    expect(() => encodeIterLinkInfo({ map: { mapFd: 1 }, task: { tid: 1 } })).toThrow(/share a union/);
  });
});

describe('BPF_LINK_UPDATE, BPF_LINK_DETACH, BPF_ITER_CREATE attrs', () => {
  it('link_update: link_fd 0, new_prog_fd 4, flags 8, old_prog_fd 12, size 16', () => {
    const a = encodeLinkUpdateAttr({ linkFd: 1, newProgFd: 2, flags: 4, oldProgFd: 3 }).attr;
    expect(a.byteLength).toBe(16);
    expect([rd32(a, 0), rd32(a, 4), rd32(a, 8), rd32(a, 12)]).toEqual([1, 2, 4, 3]);
    const m = encodeLinkUpdateAttr({ linkFd: 1, newMapFd: 5, oldMapFd: 6 }).attr;
    expect([rd32(m, 4), rd32(m, 12)]).toEqual([5, 6]);
  });

  it('link_detach: link_fd 0, size 4', () => {
    const a = encodeLinkDetachAttr({ linkFd: 9 }).attr;
    expect(a.byteLength).toBe(4);
    expect(rd32(a, 0)).toBe(9);
  });

  it('iter_create: link_fd 0, flags 4, size 8', () => {
    const a = encodeIterCreateAttr({ linkFd: 9, flags: 1 }).attr;
    expect(a.byteLength).toBe(8);
    expect([rd32(a, 0), rd32(a, 4)]).toEqual([9, 1]);
  });
});
