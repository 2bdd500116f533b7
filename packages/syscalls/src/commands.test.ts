import { describe, expect, it } from 'vitest';
import { AttachType, LinkType, MapType, ProgramType } from '@bpfkit/core';
import { BPF_PROG_RUN, BpfCommand, bpfCommandName } from './commands.js';
import * as attr from './attr/index.js';
import type { EncodedAttr } from './attr/layout.js';

describe('enum bpf_cmd', () => {
  it('numbers every command as of Linux 6.18', () => {
    const names = Object.keys(BpfCommand);
    expect(names).toHaveLength(38);
    expect(BpfCommand.BPF_MAP_CREATE).toBe(0);
    expect(BpfCommand.BPF_PROG_LOAD).toBe(5);
    expect(BpfCommand.BPF_OBJ_GET_INFO_BY_FD).toBe(15);
    expect(BpfCommand.BPF_BTF_GET_FD_BY_ID).toBe(19);
    expect(BpfCommand.BPF_MAP_FREEZE).toBe(22);
    expect(BpfCommand.BPF_LINK_CREATE).toBe(28);
    expect(BpfCommand.BPF_PROG_BIND_MAP).toBe(35);
    expect(BpfCommand.BPF_TOKEN_CREATE).toBe(36);
    expect(BpfCommand.BPF_PROG_STREAM_READ_BY_FD).toBe(37);
    expect(Object.values(BpfCommand)).toEqual([...Array(38).keys()]);
    expect(BPF_PROG_RUN).toBe(10);
  });

  it('names commands, and unknown numbers', () => {
    expect(bpfCommandName(0)).toBe('BPF_MAP_CREATE');
    expect(bpfCommandName(37)).toBe('BPF_PROG_STREAM_READ_BY_FD');
    expect(bpfCommandName(38)).toBe('BPF_CMD_38');
    expect(bpfCommandName(-1)).toBe('BPF_CMD_-1');
  });
});

describe('kernel enums', () => {
  it('spot-checks values against the 6.18 header', () => {
    expect(MapType.RINGBUF).toBe(27);
    expect(MapType.ARENA).toBe(33);
    expect(MapType.CGROUP_STORAGE).toBe(19);
    expect(ProgramType.SOCKET_FILTER).toBe(1);
    expect(ProgramType.NETFILTER).toBe(32);
    expect(AttachType.TCX_INGRESS).toBe(46);
    expect(AttachType.TRACE_UPROBE_SESSION).toBe(57);
    expect(LinkType.SOCKMAP).toBe(14);
  });
});

describe('every command has an encoder', () => {
  // Size passed to the kernel = offsetofend(<cmd>_LAST_FIELD) of the member, from the 6.18 header.
  const table: [keyof typeof BpfCommand, () => EncodedAttr, number][] = [
    ['BPF_MAP_CREATE', () => attr.encodeMapCreateAttr({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1 }), 92],
    ['BPF_MAP_LOOKUP_ELEM', () => attr.encodeMapElemAttr({ mapFd: 1 }), 32],
    ['BPF_MAP_UPDATE_ELEM', () => attr.encodeMapElemAttr({ mapFd: 1 }), 32],
    ['BPF_MAP_DELETE_ELEM', () => attr.encodeMapElemAttr({ mapFd: 1 }), 32],
    ['BPF_MAP_GET_NEXT_KEY', () => attr.encodeMapGetNextKeyAttr({ mapFd: 1, nextKey: null }), 24],
    ['BPF_PROG_LOAD', () => attr.encodeProgLoadAttr({ progType: 1, insns: null, license: null }), 168],
    ['BPF_OBJ_PIN', () => attr.encodeObjAttr({ pathname: '/x' }), 20],
    ['BPF_OBJ_GET', () => attr.encodeObjAttr({ pathname: '/x' }), 20],
    ['BPF_PROG_ATTACH', () => attr.encodeProgAttachAttr({ attachType: 0 }), 32],
    ['BPF_PROG_DETACH', () => attr.encodeProgAttachAttr({ attachType: 0 }), 32],
    ['BPF_PROG_TEST_RUN', () => attr.encodeProgTestRunAttr({ progFd: 1 }), 76],
    ['BPF_PROG_GET_NEXT_ID', () => attr.encodeGetNextIdAttr({ startId: 0 }), 8],
    ['BPF_MAP_GET_NEXT_ID', () => attr.encodeGetNextIdAttr({ startId: 0 }), 8],
    ['BPF_PROG_GET_FD_BY_ID', () => attr.encodeGetFdByIdAttr({ id: 1 }), 16],
    ['BPF_MAP_GET_FD_BY_ID', () => attr.encodeGetFdByIdAttr({ id: 1 }), 16],
    ['BPF_OBJ_GET_INFO_BY_FD', () => attr.encodeObjGetInfoAttr({ bpfFd: 1, info: null }), 16],
    ['BPF_PROG_QUERY', () => attr.encodeProgQueryAttr({ attachType: 0 }), 64],
    ['BPF_RAW_TRACEPOINT_OPEN', () => attr.encodeRawTracepointOpenAttr({ progFd: 1 }), 24],
    ['BPF_BTF_LOAD', () => attr.encodeBtfLoadAttr({ btf: null }), 40],
    ['BPF_BTF_GET_FD_BY_ID', () => attr.encodeGetFdByIdAttr({ id: 1 }), 16],
    ['BPF_TASK_FD_QUERY', () => attr.encodeTaskFdQueryAttr({ pid: 1, fd: 1 }), 48],
    ['BPF_MAP_LOOKUP_AND_DELETE_ELEM', () => attr.encodeMapElemAttr({ mapFd: 1 }), 32],
    ['BPF_MAP_FREEZE', () => attr.encodeMapFreezeAttr({ mapFd: 1 }), 4],
    ['BPF_BTF_GET_NEXT_ID', () => attr.encodeGetNextIdAttr({ startId: 0 }), 8],
    ['BPF_MAP_LOOKUP_BATCH', () => attr.encodeMapBatchAttr({ mapFd: 1, count: 1 }), 56],
    ['BPF_MAP_LOOKUP_AND_DELETE_BATCH', () => attr.encodeMapBatchAttr({ mapFd: 1, count: 1 }), 56],
    ['BPF_MAP_UPDATE_BATCH', () => attr.encodeMapBatchAttr({ mapFd: 1, count: 1 }), 56],
    ['BPF_MAP_DELETE_BATCH', () => attr.encodeMapBatchAttr({ mapFd: 1, count: 1 }), 56],
    ['BPF_LINK_CREATE', () => attr.encodeLinkCreateAttr({ attachType: 0 }), 60],
    ['BPF_LINK_UPDATE', () => attr.encodeLinkUpdateAttr({ linkFd: 1 }), 16],
    ['BPF_LINK_GET_FD_BY_ID', () => attr.encodeGetFdByIdAttr({ id: 1 }), 16],
    ['BPF_LINK_GET_NEXT_ID', () => attr.encodeGetNextIdAttr({ startId: 0 }), 8],
    ['BPF_ENABLE_STATS', () => attr.encodeEnableStatsAttr({ type: 0 }), 4],
    ['BPF_ITER_CREATE', () => attr.encodeIterCreateAttr({ linkFd: 1 }), 8],
    ['BPF_LINK_DETACH', () => attr.encodeLinkDetachAttr({ linkFd: 1 }), 4],
    ['BPF_PROG_BIND_MAP', () => attr.encodeProgBindMapAttr({ progFd: 1, mapFd: 1 }), 12],
    ['BPF_TOKEN_CREATE', () => attr.encodeTokenCreateAttr({ bpffsFd: 1 }), 8],
    ['BPF_PROG_STREAM_READ_BY_FD', () => attr.encodeProgStreamReadAttr({ streamBuf: null, streamId: 1, progFd: 1 }), 20],
  ];

  it('covers all 38 commands', () => {
    expect(table.map(([name]) => BpfCommand[name]).sort((a, b) => a - b)).toEqual([...Array(38).keys()]);
  });

  it.each(table)('%s', (_name, encode, size) => {
    expect(encode().attr.byteLength).toBe(size);
  });
});
