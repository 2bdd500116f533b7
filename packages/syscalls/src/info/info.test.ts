import { describe, expect, it } from 'vitest';
import { PROG_INFO_SIZE, allocProgInfoRequest, decodeProgInfo, encodeProgInfoRequest, readU32Array, readU64Array } from './prog-info.js';
import { MAP_INFO_SIZE, decodeMapInfo, encodeMapInfoRequest } from './map-info.js';
import { BTF_INFO_SIZE, decodeBtfInfo, encodeBtfInfoRequest } from './btf-info.js';
import { LINK_INFO_SIZE, decodeLinkInfo, encodeLinkInfoRequest } from './link-info.js';
import { TOKEN_INFO_SIZE, decodeTokenInfo } from './token-info.js';
import { HOST_LITTLE_ENDIAN } from '../attr/layout.js';
import { Builder, buf, ptrAt, rd32 } from '../test-support/bytes.js';

// Buffers are hand-built at offsets written from include/uapi/linux/bpf.h (Linux 6.18).

describe('struct bpf_prog_info', () => {
  it('is 232 bytes and decodes every field', () => {
    expect(PROG_INFO_SIZE).toBe(232);
    const b = new Builder(232)
      .u32(0, 1)
      .u32(4, 2)
      .raw(8, [1, 2, 3, 4, 5, 6, 7, 8])
      .u32(16, 3)
      .u32(20, 4)
      .u64(24, 5n)
      .u64(32, 6n)
      .u64(40, 7n)
      .u32(48, 8)
      .u32(52, 9)
      .u64(56, 10n)
      .text(64, 'my_prog')
      .u32(80, 11)
      .u32(84, HOST_LITTLE_ENDIAN ? 1 : 0x8000_0000)
      .u64(88, 12n)
      .u64(96, 13n)
      .u32(104, 14)
      .u32(108, 15)
      .u64(112, 16n)
      .u64(120, 17n)
      .u32(128, 18)
      .u32(132, 19)
      .u64(136, 20n)
      .u32(144, 21)
      .u32(148, 22)
      .u64(152, 23n)
      .u64(160, 24n)
      .u32(168, 25)
      .u32(172, 26)
      .u32(176, 27)
      .u32(180, 28)
      .u64(184, 29n)
      .u64(192, 30n)
      .u64(200, 31n)
      .u64(208, 32n)
      .u32(216, 33)
      .u32(220, 34)
      .u32(224, 35);
    expect(decodeProgInfo(b.bytes)).toEqual({
      type: 1,
      id: 2,
      tag: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
      jitedProgLen: 3,
      xlatedProgLen: 4,
      jitedProgInsns: 5n,
      xlatedProgInsns: 6n,
      loadTime: 7n,
      createdByUid: 8,
      nrMapIds: 9,
      mapIds: 10n,
      name: 'my_prog',
      ifindex: 11,
      gplCompatible: true,
      netnsDev: 12n,
      netnsIno: 13n,
      nrJitedKsyms: 14,
      nrJitedFuncLens: 15,
      jitedKsyms: 16n,
      jitedFuncLens: 17n,
      btfId: 18,
      funcInfoRecSize: 19,
      funcInfo: 20n,
      nrFuncInfo: 21,
      nrLineInfo: 22,
      lineInfo: 23n,
      jitedLineInfo: 24n,
      nrJitedLineInfo: 25,
      lineInfoRecSize: 26,
      jitedLineInfoRecSize: 27,
      nrProgTags: 28,
      progTags: 29n,
      runTimeNs: 30n,
      runCnt: 31n,
      recursionMisses: 32n,
      verifiedInsns: 33,
      attachBtfObjId: 34,
      attachBtfId: 35,
    });
  });

  it('zero-extends the shorter struct of an older kernel', () => {
    const info = decodeProgInfo(new Builder(80).u32(0, 1).text(64, 'old').bytes);
    expect(info.name).toBe('old');
    expect(info.attachBtfId).toBe(0);
  });

  it('encodes a request with pointers and counts at their offsets', () => {
    const req = {
      jitedProgInsns: buf(100),
      xlatedProgInsns: buf(64),
      mapIds: buf(12),
      jitedKsyms: buf(16),
      jitedFuncLens: buf(8),
      funcInfo: buf(24),
      lineInfo: buf(48),
      jitedLineInfo: buf(24),
      progTags: buf(16),
    };
    const enc = encodeProgInfoRequest(req);
    const a = enc.bytes;
    expect(a.byteLength).toBe(232);
    expect(rd32(a, 16)).toBe(100);
    expect(rd32(a, 20)).toBe(64);
    expect(ptrAt(enc, 24)).toBe(req.jitedProgInsns);
    expect(ptrAt(enc, 32)).toBe(req.xlatedProgInsns);
    expect(rd32(a, 52)).toBe(3);
    expect(ptrAt(enc, 56)).toBe(req.mapIds);
    expect(rd32(a, 104)).toBe(2);
    expect(rd32(a, 108)).toBe(2);
    expect(ptrAt(enc, 112)).toBe(req.jitedKsyms);
    expect(ptrAt(enc, 120)).toBe(req.jitedFuncLens);
    expect(rd32(a, 132)).toBe(8);
    expect(ptrAt(enc, 136)).toBe(req.funcInfo);
    expect(rd32(a, 144)).toBe(3);
    expect(rd32(a, 148)).toBe(3);
    expect(ptrAt(enc, 152)).toBe(req.lineInfo);
    expect(ptrAt(enc, 160)).toBe(req.jitedLineInfo);
    expect(rd32(a, 168)).toBe(3);
    expect(rd32(a, 172)).toBe(16);
    expect(rd32(a, 176)).toBe(8);
    expect(rd32(a, 180)).toBe(2);
    expect(ptrAt(enc, 184)).toBe(req.progTags);
  });

  it('sizes a request from a first answer and reads the arrays back', () => {
    const first = decodeProgInfo(new Builder(232).u32(20, 16).u32(52, 2).u32(144, 1).u32(132, 8).bytes);
    const req = allocProgInfoRequest(first, ['xlatedProgInsns', 'mapIds', 'funcInfo']);
    expect(req.xlatedProgInsns!.byteLength).toBe(16);
    expect(req.mapIds!.byteLength).toBe(8);
    expect(req.funcInfo!.byteLength).toBe(8);
    const ids = new Builder(8).u32(0, 7).u32(4, 9).bytes;
    expect(readU32Array(ids)).toEqual([7, 9]);
    expect(readU64Array(new Builder(16).u64(0, 1n).u64(8, 2n).bytes, 1)).toEqual([1n]);
  });
});

describe('struct bpf_map_info', () => {
  it('is 104 bytes and decodes every field', () => {
    expect(MAP_INFO_SIZE).toBe(104);
    const b = new Builder(104)
      .u32(0, 1)
      .u32(4, 2)
      .u32(8, 3)
      .u32(12, 4)
      .u32(16, 5)
      .u32(20, 6)
      .text(24, 'my_map')
      .u32(40, 7)
      .u32(44, 8)
      .u64(48, 9n)
      .u64(56, 10n)
      .u32(64, 11)
      .u32(68, 12)
      .u32(72, 13)
      .u32(76, 14)
      .u64(80, 15n)
      .u64(88, 16n)
      .u32(96, 17);
    expect(decodeMapInfo(b.bytes)).toEqual({
      type: 1,
      id: 2,
      keySize: 3,
      valueSize: 4,
      maxEntries: 5,
      mapFlags: 6,
      name: 'my_map',
      ifindex: 7,
      btfVmlinuxValueTypeId: 8,
      netnsDev: 9n,
      netnsIno: 10n,
      btfId: 11,
      btfKeyTypeId: 12,
      btfValueTypeId: 13,
      btfVmlinuxId: 14,
      mapExtra: 15n,
      hash: 16n,
      hashSize: 17,
    });
  });

  it('encodes a hash request: hash 88, hash_size 96', () => {
    const hash = buf(32);
    const enc = encodeMapInfoRequest({ hash });
    expect(ptrAt(enc, 88)).toBe(hash);
    expect(rd32(enc.bytes, 96)).toBe(32);
  });
});

describe('struct bpf_btf_info', () => {
  it('is 32 bytes and decodes every field', () => {
    expect(BTF_INFO_SIZE).toBe(32);
    const b = new Builder(32).u64(0, 1n).u32(8, 2).u32(12, 3).u64(16, 4n).u32(24, 5).u32(28, 1);
    expect(decodeBtfInfo(b.bytes)).toEqual({ btf: 1n, btfSize: 2, id: 3, name: 4n, nameLen: 5, kernelBtf: 1 });
  });

  it('encodes a request: btf 0 / btf_size 8, name 16 / name_len 24', () => {
    const [btf, name] = [buf(1000), buf(64)];
    const enc = encodeBtfInfoRequest({ btf, name });
    expect(ptrAt(enc, 0)).toBe(btf);
    expect(rd32(enc.bytes, 8)).toBe(1000);
    expect(ptrAt(enc, 16)).toBe(name);
    expect(rd32(enc.bytes, 24)).toBe(64);
  });
});

describe('struct bpf_token_info', () => {
  it('is 32 bytes of four u64 masks', () => {
    expect(TOKEN_INFO_SIZE).toBe(32);
    const b = new Builder(32).u64(0, 1n).u64(8, 2n).u64(16, 3n).u64(24, 4n);
    expect(decodeTokenInfo(b.bytes)).toEqual({ allowedCmds: 1n, allowedMaps: 2n, allowedProgs: 3n, allowedAttachs: 4n });
  });
});

describe('struct bpf_link_info', () => {
  const head = (type: number): Builder => new Builder(64).u32(0, type).u32(4, 100).u32(8, 200);

  it('is 64 bytes', () => expect(LINK_INFO_SIZE).toBe(64));

  it('raw_tracepoint: tp_name 16, tp_name_len 24, cookie 32', () => {
    expect(decodeLinkInfo(head(1).u64(16, 1n).u32(24, 2).u64(32, 3n).bytes)).toEqual({
      type: 1,
      id: 100,
      progId: 200,
      kind: 'raw_tracepoint',
      rawTracepoint: { tpName: 1n, tpNameLen: 2, cookie: 3n },
    });
  });

  it('tracing: attach_type 16, target_obj_id 20, target_btf_id 24, cookie 32', () => {
    const i = decodeLinkInfo(head(2).u32(16, 1).u32(20, 2).u32(24, 3).u64(32, 4n).bytes);
    expect(i).toMatchObject({ kind: 'tracing', tracing: { attachType: 1, targetObjId: 2, targetBtfId: 3, cookie: 4n } });
  });

  it('cgroup: cgroup_id 16, attach_type 24', () => {
    const i = decodeLinkInfo(head(3).u64(16, 0x1_0000_0001n).u32(24, 2).bytes);
    expect(i).toMatchObject({ kind: 'cgroup', cgroup: { cgroupId: 0x1_0000_0001n, attachType: 2 } });
  });

  it('iter: target_name 16, target_name_len 24, map_id 28, cgroup_id 32 / order 40, tid 32 / pid 36', () => {
    const i = decodeLinkInfo(head(4).u64(16, 1n).u32(24, 2).u32(28, 3).u64(32, 0x0000_0005_0000_0004n).u32(40, 6).bytes);
    expect(i).toMatchObject({
      kind: 'iter',
      iter: {
        targetName: 1n,
        targetNameLen: 2,
        map: { mapId: 3 },
        cgroup: { cgroupId: 0x0000_0005_0000_0004n, order: 6 },
        task: HOST_LITTLE_ENDIAN ? { tid: 4, pid: 5 } : { tid: 5, pid: 4 },
      },
    });
  });

  it('netns: netns_ino 16, attach_type 20', () => {
    expect(decodeLinkInfo(head(5).u32(16, 1).u32(20, 2).bytes)).toMatchObject({ kind: 'netns', netns: { netnsIno: 1, attachType: 2 } });
  });

  it('xdp: ifindex 16', () => {
    expect(decodeLinkInfo(head(6).u32(16, 3).bytes)).toMatchObject({ kind: 'xdp', xdp: { ifindex: 3 } });
  });

  it('perf_event uprobe: type 16, file_name 24, name_len 32, offset 36, cookie 40, ref_ctr_offset 48', () => {
    const i = decodeLinkInfo(head(7).u32(16, 1).u64(24, 2n).u32(32, 3).u32(36, 4).u64(40, 5n).u64(48, 6n).bytes);
    expect(i).toEqual({
      type: 7,
      id: 100,
      progId: 200,
      kind: 'perf_event',
      perfEvent: { kind: 'uprobe', type: 1, uprobe: { fileName: 2n, nameLen: 3, offset: 4, cookie: 5n, refCtrOffset: 6n } },
    });
  });

  it('perf_event kprobe: func_name 24, name_len 32, offset 36, addr 40, missed 48, cookie 56', () => {
    const i = decodeLinkInfo(head(7).u32(16, 4).u64(24, 2n).u32(32, 3).u32(36, 4).u64(40, 5n).u64(48, 6n).u64(56, 7n).bytes);
    expect(i).toMatchObject({
      kind: 'perf_event',
      perfEvent: { kind: 'kprobe', type: 4, kprobe: { funcName: 2n, nameLen: 3, offset: 4, addr: 5n, missed: 6n, cookie: 7n } },
    });
  });

  it('perf_event tracepoint: tp_name 24, name_len 32, cookie 40', () => {
    const i = decodeLinkInfo(head(7).u32(16, 5).u64(24, 2n).u32(32, 3).u64(40, 4n).bytes);
    expect(i).toMatchObject({ perfEvent: { kind: 'tracepoint', tracepoint: { tpName: 2n, nameLen: 3, cookie: 4n } } });
  });

  it('perf_event event: config 24, type 32, cookie 40', () => {
    const i = decodeLinkInfo(head(7).u32(16, 6).u64(24, 2n).u32(32, 3).u64(40, 4n).bytes);
    expect(i).toMatchObject({ perfEvent: { kind: 'event', event: { config: 2n, type: 3, cookie: 4n } } });
  });

  it('kprobe_multi: addrs 16, count 24, flags 28, missed 32, cookies 40', () => {
    const i = decodeLinkInfo(head(8).u64(16, 1n).u32(24, 2).u32(28, 3).u64(32, 4n).u64(40, 5n).bytes);
    expect(i).toMatchObject({ kind: 'kprobe_multi', kprobeMulti: { addrs: 1n, count: 2, flags: 3, missed: 4n, cookies: 5n } });
  });

  it('struct_ops: map_id 16', () => {
    expect(decodeLinkInfo(head(9).u32(16, 4).bytes)).toMatchObject({ kind: 'struct_ops', structOps: { mapId: 4 } });
  });

  it('netfilter: pf 16, hooknum 20, priority 24, flags 28', () => {
    const i = decodeLinkInfo(head(10).u32(16, 2).u32(20, 1).s32(24, -100).u32(28, 1).bytes);
    expect(i).toMatchObject({ kind: 'netfilter', netfilter: { pf: 2, hooknum: 1, priority: -100, flags: 1 } });
  });

  it('tcx / netkit: ifindex 16, attach_type 20; sockmap: map_id 16, attach_type 20', () => {
    expect(decodeLinkInfo(head(11).u32(16, 1).u32(20, 46).bytes)).toMatchObject({ kind: 'tcx', tcx: { ifindex: 1, attachType: 46 } });
    expect(decodeLinkInfo(head(13).u32(16, 2).u32(20, 54).bytes)).toMatchObject({ kind: 'netkit', netkit: { ifindex: 2, attachType: 54 } });
    expect(decodeLinkInfo(head(14).u32(16, 3).u32(20, 7).bytes)).toMatchObject({ kind: 'sockmap', sockmap: { mapId: 3, attachType: 7 } });
  });

  it('uprobe_multi: path 16, offsets 24, ref_ctr_offsets 32, cookies 40, path_size 48, count 52, flags 56, pid 60', () => {
    const i = decodeLinkInfo(head(12).u64(16, 1n).u64(24, 2n).u64(32, 3n).u64(40, 4n).u32(48, 5).u32(52, 6).u32(56, 7).u32(60, 8).bytes);
    expect(i).toMatchObject({
      kind: 'uprobe_multi',
      uprobeMulti: { path: 1n, offsets: 2n, refCtrOffsets: 3n, cookies: 4n, pathSize: 5, count: 6, flags: 7, pid: 8 },
    });
  });

  it('unknown link types keep the head only', () => {
    expect(decodeLinkInfo(head(99).bytes)).toEqual({ type: 99, id: 100, progId: 200, kind: 'unknown' });
  });

  it('encodes requests with lengths derived from the buffers', () => {
    const tp = buf(128);
    const r = encodeLinkInfoRequest({ rawTracepoint: { tpName: tp } });
    expect(ptrAt(r, 16)).toBe(tp);
    expect(rd32(r.bytes, 24)).toBe(128);
    const [path, offsets] = [buf(256), buf(32)];
    const u = encodeLinkInfoRequest({ uprobeMulti: { path, offsets } });
    expect(ptrAt(u, 16)).toBe(path);
    expect(ptrAt(u, 24)).toBe(offsets);
    expect(rd32(u.bytes, 48)).toBe(256);
    expect(rd32(u.bytes, 52)).toBe(4);
    const fn = buf(64);
    const k = encodeLinkInfoRequest({ perfEvent: { kprobe: { funcName: fn } } });
    expect(ptrAt(k, 24)).toBe(fn);
    expect(rd32(k.bytes, 32)).toBe(64);
    const addrs = buf(80);
    const m = encodeLinkInfoRequest({ kprobeMulti: { addrs } });
    expect(ptrAt(m, 16)).toBe(addrs);
    expect(rd32(m.bytes, 24)).toBe(10);
  });
});
