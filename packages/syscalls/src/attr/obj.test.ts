import { describe, expect, it } from 'vitest';
import { BpfCommand } from '../commands.js';
import { encodeObjAttr } from './obj.js';
import { GET_FD_BY_ID_COMMAND, GET_NEXT_ID_COMMAND, encodeGetFdByIdAttr, encodeGetNextIdAttr } from './id.js';
import { encodeObjGetInfoAttr } from './info.js';
import { encodeRawTracepointOpenAttr } from './raw-tracepoint.js';
import { encodeBtfLoadAttr } from './btf.js';
import { encodeTaskFdQueryAttr } from './task-fd-query.js';
import { encodeEnableStatsAttr } from './enable-stats.js';
import { encodeTokenCreateAttr } from './token.js';
import { buf, cstrAt, ptrAt, rd32, rd64, rds32 } from '../test-support/bytes.js';

// Offsets below are written from include/uapi/linux/bpf.h (Linux 6.18), not from the layout tables.

describe('BPF_OBJ_PIN / BPF_OBJ_GET attr', () => {
  it('pathname 0, bpf_fd 8, file_flags 12, path_fd 16, size 20', () => {
    const enc = encodeObjAttr({ pathname: '/sys/fs/bpf/x', bpfFd: 3, fileFlags: 1 << 14, pathFd: -100 });
    expect(enc.attr.byteLength).toBe(20);
    expect(cstrAt(enc, 0)).toBe('/sys/fs/bpf/x');
    expect(rd32(enc.attr, 8)).toBe(3);
    expect(rd32(enc.attr, 12)).toBe(1 << 14);
    expect(rds32(enc.attr, 16)).toBe(-100);
  });
});

describe('GET_NEXT_ID / GET_FD_BY_ID attrs', () => {
  it('get next id: start_id 0, next_id 4, size 8', () => {
    const a = encodeGetNextIdAttr({ startId: 7, nextId: 8 }).attr;
    expect(a.byteLength).toBe(8);
    expect([rd32(a, 0), rd32(a, 4)]).toEqual([7, 8]);
  });

  it('get fd by id: id 0, open_flags 8, fd_by_id_token_fd 12, size 16', () => {
    const a = encodeGetFdByIdAttr({ id: 5, openFlags: 1 << 16, fdByIdTokenFd: 6 }).attr;
    expect(a.byteLength).toBe(16);
    expect(rd32(a, 0)).toBe(5);
    expect(rd32(a, 4)).toBe(0);
    expect(rd32(a, 8)).toBe(1 << 16);
    expect(rds32(a, 12)).toBe(6);
  });

  it('maps every object kind to its commands', () => {
    expect(GET_NEXT_ID_COMMAND).toEqual({ prog: 11, map: 12, btf: 23, link: 31 });
    expect(GET_FD_BY_ID_COMMAND).toEqual({ prog: 13, map: 14, btf: 19, link: 30 });
    expect(GET_FD_BY_ID_COMMAND.link).toBe(BpfCommand.BPF_LINK_GET_FD_BY_ID);
  });
});

describe('BPF_OBJ_GET_INFO_BY_FD attr', () => {
  it('info.bpf_fd 0, info.info_len 4, info.info 8, size 16', () => {
    const info = buf(232);
    const enc = encodeObjGetInfoAttr({ bpfFd: 4, info });
    expect(enc.attr.byteLength).toBe(16);
    expect(rd32(enc.attr, 0)).toBe(4);
    expect(rd32(enc.attr, 4)).toBe(232);
    expect(ptrAt(enc, 8)).toBe(info);
  });
});

describe('BPF_RAW_TRACEPOINT_OPEN attr', () => {
  it('name 0, prog_fd 8, cookie 16, size 24', () => {
    const enc = encodeRawTracepointOpenAttr({ name: 'sched_switch', progFd: 3, cookie: 0xc00c1en });
    expect(enc.attr.byteLength).toBe(24);
    expect(cstrAt(enc, 0)).toBe('sched_switch');
    expect(rd32(enc.attr, 8)).toBe(3);
    expect(rd32(enc.attr, 12)).toBe(0);
    expect(rd64(enc.attr, 16)).toBe(0xc00c1en);
  });

  it('a null name (BTF-typed programs) writes NULL', () => {
    const enc = encodeRawTracepointOpenAttr({ name: null, progFd: 3 });
    expect(enc.ptrOffsets).toEqual([]);
    expect(rd64(enc.attr, 0)).toBe(0n);
  });
});

describe('BPF_BTF_LOAD attr', () => {
  it('puts every field at its uapi offset, size 40', () => {
    const [btf, log] = [buf(100), buf(200)];
    const enc = encodeBtfLoadAttr({
      btf,
      btfLogBuf: log,
      btfLogLevel: 1,
      btfLogTrueSize: 2,
      btfFlags: 1 << 16,
      btfTokenFd: 5,
    });
    const a = enc.attr;
    expect(a.byteLength).toBe(40);
    expect(ptrAt(enc, 0)).toBe(btf);
    expect(ptrAt(enc, 8)).toBe(log);
    expect(rd32(a, 16)).toBe(100);
    expect(rd32(a, 20)).toBe(200);
    expect(rd32(a, 24)).toBe(1);
    expect(rd32(a, 28)).toBe(2);
    expect(rd32(a, 32)).toBe(1 << 16);
    expect(rds32(a, 36)).toBe(5);
  });
});

describe('BPF_TASK_FD_QUERY attr', () => {
  it('puts every field of bpf_attr.task_fd_query at its offset, size 48', () => {
    const b = buf(64);
    const enc = encodeTaskFdQueryAttr({
      pid: 1,
      fd: 2,
      flags: 3,
      buf: b,
      progId: 4,
      fdType: 5,
      probeOffset: 6n,
      probeAddr: 0xffff_ffff_8000_0000n,
    });
    const a = enc.attr;
    expect(a.byteLength).toBe(48);
    expect([rd32(a, 0), rd32(a, 4), rd32(a, 8), rd32(a, 12)]).toEqual([1, 2, 3, 64]);
    expect(ptrAt(enc, 16)).toBe(b);
    expect([rd32(a, 24), rd32(a, 28)]).toEqual([4, 5]);
    expect(rd64(a, 32)).toBe(6n);
    expect(rd64(a, 40)).toBe(0xffff_ffff_8000_0000n);
  });
});

describe('BPF_ENABLE_STATS and BPF_TOKEN_CREATE attrs', () => {
  it('enable_stats: type 0, size 4', () => {
    const a = encodeEnableStatsAttr({ type: 0 }).attr;
    expect(a.byteLength).toBe(4);
    expect(rd32(a, 0)).toBe(0);
  });

  it('token_create: flags 0, bpffs_fd 4, size 8', () => {
    const a = encodeTokenCreateAttr({ flags: 1, bpffsFd: 9 }).attr;
    expect(a.byteLength).toBe(8);
    expect([rd32(a, 0), rd32(a, 4)]).toEqual([1, 9]);
  });
});
