import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@bpfkit/core';
import { encodeProgLoadAttr } from './prog-load.js';
import { encodeProgAttachAttr, encodeProgQueryAttr } from './prog-attach.js';
import { encodeProgTestRunAttr } from './prog-test-run.js';
import { encodeProgBindMapAttr } from './prog-bind-map.js';
import { encodeProgStreamReadAttr } from './prog-stream.js';
import { buf, cstrAt, ptrAt, rd32, rd64, rds32, str } from '../test-support/bytes.js';

// Offsets below are written from include/uapi/linux/bpf.h (Linux 6.18), not from the layout tables.

describe('BPF_PROG_LOAD attr', () => {
  it('puts every field at its uapi offset, size 168', () => {
    const insns = buf(24, 1);
    const log = buf(100);
    const funcInfo = buf(16);
    const lineInfo = buf(32);
    const fdArray = buf(8);
    const coreRelos = buf(32);
    const signature = buf(64);
    const enc = encodeProgLoadAttr({
      progType: 1,
      insns,
      license: 'GPL',
      logLevel: 2,
      logBuf: log,
      kernVersion: 3,
      progFlags: 4,
      progName: 'prog',
      progIfindex: 5,
      expectedAttachType: 6,
      progBtfFd: 7,
      funcInfoRecSize: 8,
      funcInfo,
      funcInfoCnt: 2,
      lineInfoRecSize: 16,
      lineInfo,
      lineInfoCnt: 9,
      attachBtfId: 10,
      attachBtfObjFd: 11,
      coreReloCnt: 12,
      fdArray,
      coreRelos,
      coreReloRecSize: 13,
      logTrueSize: 14,
      progTokenFd: -15,
      fdArrayCnt: 16,
      signature,
      keyringId: -17,
    });
    const a = enc.attr;
    expect(a.byteLength).toBe(168);
    expect(rd32(a, 0)).toBe(1);
    expect(rd32(a, 4)).toBe(3); // insn_cnt derived from 24 bytes
    expect(ptrAt(enc, 8)).toBe(insns);
    expect(cstrAt(enc, 16)).toBe('GPL');
    expect(rd32(a, 24)).toBe(2);
    expect(rd32(a, 28)).toBe(100); // log_size derived
    expect(ptrAt(enc, 32)).toBe(log);
    expect(rd32(a, 40)).toBe(3);
    expect(rd32(a, 44)).toBe(4);
    expect(str(a, 48, 16)).toBe('prog');
    expect(rd32(a, 64)).toBe(5);
    expect(rd32(a, 68)).toBe(6);
    expect(rd32(a, 72)).toBe(7);
    expect(rd32(a, 76)).toBe(8);
    expect(ptrAt(enc, 80)).toBe(funcInfo);
    expect(rd32(a, 88)).toBe(2);
    expect(rd32(a, 92)).toBe(16);
    expect(ptrAt(enc, 96)).toBe(lineInfo);
    expect(rd32(a, 104)).toBe(9);
    expect(rd32(a, 108)).toBe(10);
    expect(rd32(a, 112)).toBe(11);
    expect(rd32(a, 116)).toBe(12);
    expect(ptrAt(enc, 120)).toBe(fdArray);
    expect(ptrAt(enc, 128)).toBe(coreRelos);
    expect(rd32(a, 136)).toBe(13);
    expect(rd32(a, 140)).toBe(14);
    expect(rds32(a, 144)).toBe(-15);
    expect(rd32(a, 148)).toBe(16);
    expect(ptrAt(enc, 152)).toBe(signature);
    expect(rd32(a, 160)).toBe(64); // signature_size derived
    expect(rds32(a, 164)).toBe(-17);
    expect(enc.ptrOffsets.sort((x, y) => x - y)).toEqual([8, 16, 32, 80, 96, 120, 128, 152]);
  });

  it('attach_prog_fd and attach_btf_obj_fd share offset 112 and cannot both be given', () => {
    const base = { progType: 26, insns: buf(8), license: 'GPL' };
    expect(rd32(encodeProgLoadAttr({ ...base, attachProgFd: 99 }).attr, 112)).toBe(99);
    expect(() => encodeProgLoadAttr({ ...base, attachProgFd: 1, attachBtfObjFd: 2 })).toThrow(InvalidArgumentError);
    expect(() => encodeProgLoadAttr({ ...base, attachProgFd: 1, attachBtfObjFd: 2 })).toThrow(/share a union/);
  });

  it('accepts the license as a buffer', () => {
    const license = new TextEncoder().encode('Dual BSD/GPL\0');
    const enc = encodeProgLoadAttr({ progType: 1, insns: buf(8), license });
    expect(ptrAt(enc, 16)).toBe(license);
  });
});

describe('BPF_PROG_ATTACH / BPF_PROG_DETACH attr', () => {
  it('puts every field at its uapi offset, size 32', () => {
    const enc = encodeProgAttachAttr({
      targetFd: 1,
      attachBpfFd: 2,
      attachType: 3,
      attachFlags: 4,
      replaceBpfFd: 5,
      relativeFd: 6,
      expectedRevision: 0x7_0000_0007n,
    });
    const a = enc.attr;
    expect(a.byteLength).toBe(32);
    expect([rd32(a, 0), rd32(a, 4), rd32(a, 8), rd32(a, 12), rd32(a, 16), rd32(a, 20)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rd64(a, 24)).toBe(0x7_0000_0007n);
  });

  it('target_ifindex overlays target_fd, relative_id overlays relative_fd', () => {
    const a = encodeProgAttachAttr({ targetIfindex: 11, attachType: 46, relativeId: 12 }).attr;
    expect(rd32(a, 0)).toBe(11);
    expect(rd32(a, 20)).toBe(12);
    expect(() => encodeProgAttachAttr({ targetFd: 1, targetIfindex: 2, attachType: 0 })).toThrow(/targetIfindex|targetFd/);
  });
});

describe('BPF_PROG_QUERY attr', () => {
  it('puts every field of bpf_attr.query at its offset, size 64', () => {
    const [ids, pflags, lids, lflags] = [buf(16), buf(16), buf(16), buf(16)];
    const enc = encodeProgQueryAttr({
      targetFd: 1,
      attachType: 2,
      queryFlags: 3,
      attachFlags: 4,
      progIds: ids,
      progAttachFlags: pflags,
      linkIds: lids,
      linkAttachFlags: lflags,
      revision: 5n,
    });
    const a = enc.attr;
    expect(a.byteLength).toBe(64);
    expect([rd32(a, 0), rd32(a, 4), rd32(a, 8), rd32(a, 12)]).toEqual([1, 2, 3, 4]);
    expect(ptrAt(enc, 16)).toBe(ids);
    expect(rd32(a, 24)).toBe(4); // prog_cnt: capacity of 16 bytes of u32 ids
    expect(rd32(a, 28)).toBe(0); // __u32 :32 padding
    expect(ptrAt(enc, 32)).toBe(pflags);
    expect(ptrAt(enc, 40)).toBe(lids);
    expect(ptrAt(enc, 48)).toBe(lflags);
    expect(rd64(a, 56)).toBe(5n);
  });
});

describe('BPF_PROG_TEST_RUN attr', () => {
  it('puts every field of bpf_attr.test at its offset, size 76', () => {
    const [dIn, dOut, cIn, cOut] = [buf(10), buf(20), buf(30), buf(40)];
    const enc = encodeProgTestRunAttr({
      progFd: 1,
      retval: 2,
      dataIn: dIn,
      dataOut: dOut,
      repeat: 3,
      duration: 4,
      ctxIn: cIn,
      ctxOut: cOut,
      flags: 5,
      cpu: 6,
      batchSize: 7,
    });
    const a = enc.attr;
    expect(a.byteLength).toBe(76);
    expect(rd32(a, 0)).toBe(1);
    expect(rd32(a, 4)).toBe(2);
    expect(rd32(a, 8)).toBe(10);
    expect(rd32(a, 12)).toBe(20);
    expect(ptrAt(enc, 16)).toBe(dIn);
    expect(ptrAt(enc, 24)).toBe(dOut);
    expect(rd32(a, 32)).toBe(3);
    expect(rd32(a, 36)).toBe(4);
    expect(rd32(a, 40)).toBe(30);
    expect(rd32(a, 44)).toBe(40);
    expect(ptrAt(enc, 48)).toBe(cIn);
    expect(ptrAt(enc, 56)).toBe(cOut);
    expect(rd32(a, 64)).toBe(5);
    expect(rd32(a, 68)).toBe(6);
    expect(rd32(a, 72)).toBe(7);
  });

  it('explicit sizes win over buffer lengths', () => {
    const a = encodeProgTestRunAttr({ progFd: 1, dataIn: buf(64), dataSizeIn: 14 }).attr;
    expect(rd32(a, 8)).toBe(14);
  });

  it('refuses a size larger than its buffer: the kernel would read or write past it', () => {
    expect(() => encodeProgTestRunAttr({ progFd: 1, dataIn: buf(14), dataSizeIn: 15 })).toThrow(
      /test.dataSizeIn: expected at most the 14 bytes of dataIn, got the number 15/,
    );
    expect(() => encodeProgTestRunAttr({ progFd: 1, dataOut: buf(64), dataSizeOut: 4096 })).toThrow(InvalidArgumentError);
    expect(() => encodeProgTestRunAttr({ progFd: 1, ctxIn: buf(8), ctxSizeIn: 16 })).toThrow(/ctxSizeIn/);
    expect(() => encodeProgTestRunAttr({ progFd: 1, ctxOut: buf(8), ctxSizeOut: 192 })).toThrow(/ctxSizeOut/);
    // A size without a buffer is passed as given (data_size_out alone is a hint to the kernel).
    expect(rd32(encodeProgTestRunAttr({ progFd: 1, dataOut: null, dataSizeOut: 100 }).attr, 12)).toBe(100);
  });

  it('a context-only run (syscall, raw tracepoint) has null data pointers and zero data sizes', () => {
    const ctx = buf(16, 7);
    const enc = encodeProgTestRunAttr({ progFd: 3, ctxIn: ctx });
    const a = enc.attr;
    expect([rd32(a, 8), rd32(a, 12)]).toEqual([0, 0]);
    // Null pointers: zero in the attr, no buffer for the addon to patch in.
    expect([rd64(a, 16), rd64(a, 24), rd64(a, 56)]).toEqual([0n, 0n, 0n]);
    expect(enc.ptrOffsets).toEqual([48]);
    expect(rd32(a, 40)).toBe(16);
    expect(ptrAt(enc, 48)).toBe(ctx);
    expect(rd32(a, 44)).toBe(0);
    expect([rd32(a, 32), rd32(a, 64), rd32(a, 68), rd32(a, 72)]).toEqual([0, 0, 0, 0]);
  });

  it('XDP live frames: flags 2 at 64, batch_size at 72; ON_CPU: flags 1, cpu at 68', () => {
    const live = encodeProgTestRunAttr({ progFd: 3, dataIn: buf(64), repeat: 128, flags: 1 << 1, batchSize: 16 }).attr;
    expect([rd32(live, 32), rd32(live, 64), rd32(live, 72)]).toEqual([128, 2, 16]);
    const onCpu = encodeProgTestRunAttr({ progFd: 3, ctxIn: buf(8), flags: 1 << 0, cpu: 1 }).attr;
    expect([rd32(onCpu, 64), rd32(onCpu, 68)]).toEqual([1, 1]);
  });
});

describe('BPF_PROG_BIND_MAP and BPF_PROG_STREAM_READ_BY_FD attrs', () => {
  it('prog_bind_map: prog_fd 0, map_fd 4, flags 8, size 12', () => {
    const a = encodeProgBindMapAttr({ progFd: 1, mapFd: 2, flags: 3 }).attr;
    expect(a.byteLength).toBe(12);
    expect([rd32(a, 0), rd32(a, 4), rd32(a, 8)]).toEqual([1, 2, 3]);
  });

  it('prog_stream_read: stream_buf 0, stream_buf_len 8, stream_id 12, prog_fd 16, size 20', () => {
    const b = buf(512);
    const enc = encodeProgStreamReadAttr({ streamBuf: b, streamId: 2, progFd: 9 });
    expect(enc.attr.byteLength).toBe(20);
    expect(ptrAt(enc, 0)).toBe(b);
    expect(rd32(enc.attr, 8)).toBe(512);
    expect(rd32(enc.attr, 12)).toBe(2);
    expect(rd32(enc.attr, 16)).toBe(9);
  });
});
