// Kernel tests: run the wrappers against the running kernel. They need the
// native addon and CAP_BPF / CAP_SYS_ADMIN (root); otherwise they skip.
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmdirSync,
  unlinkSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttachType, BpfError, Errno, LinkType, MapFlags, MapType, ProgramType, UpdateFlags, VerifierError } from '@bpfkit/core';
import { BpfCommand } from '../commands.js';
import { native, nativeLoadError } from '../native.js';
import { BpfStatsType, BpfTaskFdType } from '../constants.js';
import { encodeMapElemAttr } from '../attr/map.js';
import { HOST_LITTLE_ENDIAN } from '../attr/layout.js';
import { allocProgInfoRequest, readU32Array } from '../info/prog-info.js';
import { PerfCountSw, PerfEventIoc, PerfType, PERF_FLAG_FD_CLOEXEC } from '../perf/perf-event-attr.js';
import {
  BtfLoadError,
  btfInfoByFd,
  btfLoad,
  callBpf,
  closeFd,
  enableStats,
  getFdById,
  getNextId,
  linkCreate,
  linkDetach,
  linkInfoByFd,
  linkUpdate,
  mapCreate,
  mapDeleteBatch,
  mapDeleteElem,
  mapFreeze,
  mapGetNextKey,
  mapInfoByFd,
  mapLookupAndDeleteElem,
  mapLookupBatch,
  mapLookupElem,
  mapUpdateBatch,
  mapUpdateElem,
  objGet,
  objPin,
  perfEventOpen,
  progBindMap,
  progInfoByFd,
  progLoad,
  progQuery,
  progStreamRead,
  progTestRun,
  rawTracepointOpen,
  taskFdQuery,
  tokenCreate,
} from './index.js';
import { kernelHas, whenKernel } from '../test-support/kernel-gates.js';

// Instructions as little-endian bytes (the byte order of every host bpfkit supports today).
const R0_0_EXIT = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);
const R0_1_EXIT = Uint8Array.of(0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);
const R0_42_EXIT = Uint8Array.of(0xb7, 0, 0, 0, 42, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);
const EXIT_ONLY = Uint8Array.of(0x95, 0, 0, 0, 0, 0, 0, 0);

const u32le = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, HOST_LITTLE_ENDIAN);
  return b;
};
const u64le = (n: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, HOST_LITTLE_ENDIAN);
  return b;
};

const kernel = whenKernel();

/** The kernel objects (maps, programs, links, BTF, perf events) this process holds fds of. */
function kernelObjectFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (/^anon_inode:(bpf|btf|\[perf_event\])/.test(target)) out.push(`${fd} ${target}`);
    } catch {
      // closed meanwhile (the fd readdir itself used)
    }
  }
  return out.sort();
}

const fdsAtStart = kernelObjectFds();
afterAll(() => {
  expect(kernelObjectFds(), 'kernel object fds left open by the tests').toEqual(fdsAtStart);
});

/** Tracks fds so every test closes what it opened, even when it fails. */
class Fds {
  private readonly open = new Set<number>();
  add(fd: number): number {
    this.open.add(fd);
    return fd;
  }
  close(fd: number): void {
    this.open.delete(fd);
    closeFd(fd);
  }
  closeAll(): void {
    for (const fd of [...this.open]) this.close(fd);
  }
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an exception');
}

function mountPoint(fstype: string): string | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (right?.split(' ')[0] === fstype) return left!.split(' ')[4];
  }
  return undefined;
}

kernel.describe('kernel: maps', () => {
  const fds = new Fds();
  afterAll(() => fds.closeAll());

  it('mapCreate + mapInfoByFd report the type, sizes, flags and name', () => {
    const fd = fds.add(
      mapCreate({
        mapType: MapType.HASH,
        keySize: 4,
        valueSize: 8,
        maxEntries: 16,
        mapFlags: 1,
        mapName: 'bpfkit_t',
      }),
    );
    const info = mapInfoByFd(fd);
    expect(info).toMatchObject({
      type: MapType.HASH,
      keySize: 4,
      valueSize: 8,
      maxEntries: 16,
      mapFlags: 1,
      name: 'bpfkit_t',
    });
    expect(info.id).toBeGreaterThan(0);
    fds.close(fd);
  });

  it('updates, looks up, iterates and deletes elements', () => {
    const fd = fds.add(mapCreate({ mapType: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8 }));
    mapUpdateElem(fd, u32le(1), u64le(100n));
    mapUpdateElem(fd, u32le(2), u64le(200n), UpdateFlags.NOEXIST);
    const dup = catchError(() => mapUpdateElem(fd, u32le(2), u64le(1n), UpdateFlags.NOEXIST));
    expect(dup).toBeInstanceOf(BpfError);
    expect(dup).toMatchObject({ code: 'EEXIST', command: 'BPF_MAP_UPDATE_ELEM', syscall: 'bpf' });
    const value = new Uint8Array(8);
    mapLookupElem(fd, u32le(2), value);
    expect(value).toEqual(u64le(200n));
    const keys: number[] = [];
    const next = new Uint8Array(4);
    for (let k: Uint8Array | null = null; mapGetNextKey(fd, k, next); k = next.slice())
      keys.push(new DataView(next.buffer).getUint32(0, HOST_LITTLE_ENDIAN));
    expect(keys.sort()).toEqual([1, 2]);
    mapLookupAndDeleteElem(fd, u32le(1), value);
    expect(value).toEqual(u64le(100n));
    mapDeleteElem(fd, u32le(2));
    const gone = catchError(() => mapLookupElem(fd, u32le(2), value));
    expect(gone).toMatchObject({ errno: Errno.ENOENT, code: 'ENOENT', command: 'BPF_MAP_LOOKUP_ELEM' });
    fds.close(fd);
  });

  it('batch update, lookup and delete', () => {
    const fd = fds.add(mapCreate({ mapType: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 8 }));
    const keys = Uint8Array.of(...u32le(10), ...u32le(20), ...u32le(30));
    const values = Uint8Array.of(...u32le(1), ...u32le(2), ...u32le(3));
    expect(mapUpdateBatch({ mapFd: fd, keys, values, count: 3 })).toBe(3);
    const outKeys = new Uint8Array(32);
    const outValues = new Uint8Array(32);
    const cursor = new Uint8Array(4);
    const r = mapLookupBatch({ mapFd: fd, outBatch: cursor, keys: outKeys, values: outValues, count: 8 });
    expect(r).toEqual({ count: 3, done: true });
    expect(readU32Array(outKeys, 3).sort((a, b) => a - b)).toEqual([10, 20, 30]);
    expect(mapDeleteBatch({ mapFd: fd, keys, count: 3 })).toBe(3);
    expect(mapGetNextKey(fd, null, new Uint8Array(4))).toBe(false);
    fds.close(fd);
  });

  it('freezes a map', () => {
    const fd = fds.add(mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }));
    mapFreeze(fd);
    const err = catchError(() => mapUpdateElem(fd, u32le(0), u32le(1)));
    expect(err).toMatchObject({ code: 'EPERM', command: 'BPF_MAP_UPDATE_ELEM' });
    fds.close(fd);
  });

  it('finds its map by id and reopens it', () => {
    const fd = fds.add(mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapName: 'by_id' }));
    const { id } = mapInfoByFd(fd);
    const ids: number[] = [];
    for (let i = getNextId('map', 0); i !== undefined; i = getNextId('map', i)) ids.push(i);
    expect(ids).toContain(id);
    const again = fds.add(getFdById('map', id));
    expect(mapInfoByFd(again).name).toBe('by_id');
    fds.close(again);
    fds.close(fd);
  });
});

kernel.describe('kernel: errors', () => {
  it('BPF_MAP_CREATE with max_entries 0 gives EINVAL', () => {
    const err = catchError(() => mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 0 }));
    expect(err).toBeInstanceOf(BpfError);
    expect(err).toMatchObject({ errno: Errno.EINVAL, code: 'EINVAL', syscall: 'bpf', command: 'BPF_MAP_CREATE' });
    expect((err as Error).message).toMatch(/max_entries is 0/);
  });

  it('get fd by id of a nonexistent id gives ENOENT', () => {
    for (const kind of ['prog', 'map', 'btf', 'link'] as const) {
      const err = catchError(() => getFdById(kind, 0x7fff_fff0));
      expect(err).toMatchObject({ errno: Errno.ENOENT, code: 'ENOENT' });
    }
    expect(catchError(() => getFdById('link', 0x7fff_fff0))).toMatchObject({ command: 'BPF_LINK_GET_FD_BY_ID' });
  });

  it('an unknown command gives EINVAL', () => {
    const err = catchError(() => callBpf(999 as BpfCommand, encodeMapElemAttr({ mapFd: 0 })));
    expect(err).toMatchObject({ errno: Errno.EINVAL, command: 'BPF_CMD_999' });
  });

  it('nonzero bytes past the last field give EINVAL (CHECK_ATTR)', () => {
    const enc = encodeMapElemAttr({ mapFd: 0 });
    enc.attr[enc.attr.length - 1] = 1; // flags of BPF_MAP_FREEZE's attr, whose last field is map_fd
    expect(catchError(() => callBpf(BpfCommand.BPF_MAP_FREEZE, enc))).toMatchObject({ errno: Errno.EINVAL });
  });

  it('a bad fd gives EBADF', () => {
    expect(catchError(() => mapFreeze(0x7fff_0000))).toMatchObject({ code: 'EBADF', command: 'BPF_MAP_FREEZE' });
  });

  it('pinning outside a bpffs gives EPERM, opening a missing pin ENOENT', () => {
    const fd = mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      expect(catchError(() => objPin(`/tmp/bpfkit-pin-${process.pid}`, fd))).toMatchObject({ code: 'EPERM', command: 'BPF_OBJ_PIN' });
      expect(catchError(() => objGet(`/tmp/bpfkit-missing-${process.pid}`))).toMatchObject({ code: 'ENOENT', command: 'BPF_OBJ_GET' });
    } finally {
      closeFd(fd);
    }
  });

  it('a token from a directory that is not a bpffs root gives EINVAL', () => {
    const dir = openSync('/tmp', 'r');
    try {
      expect(catchError(() => tokenCreate(dir))).toMatchObject({ code: 'EINVAL', command: 'BPF_TOKEN_CREATE' });
    } finally {
      closeSync(dir);
    }
  });

  it('closeFd of a closed fd gives EBADF', () => {
    expect(catchError(() => closeFd(0x7fff_0001))).toMatchObject({ code: 'EBADF', syscall: 'close' });
  });
});

kernel.describe('kernel: pinning in a bpffs mounted for the test', () => {
  // Made in beforeAll, not while collecting: a skipped describe still collects, but runs no afterAll.
  let dir = '';
  let mounted = false;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-bpffs-'));
    mounted = native.mount('bpf', dir, 'bpf', 0, null) === 0;
  });
  afterAll(() => {
    if (mounted) native.umount(dir, 0);
    if (dir) rmdirSync(dir);
  });

  it('pins a map, reopens it by path and relative to a directory fd', (ctx) => {
    if (!mounted) ctx.skip();
    const fd = mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapName: 'pinned' });
    const dirFd = openSync(dir, 'r');
    try {
      objPin(`${dir}/counts`, fd);
      const again = objGet(`${dir}/counts`);
      expect(mapInfoByFd(again).name).toBe('pinned');
      closeFd(again);
      // Paths relative to a directory fd (BPF_F_PATH_FD, 6.5): tried where the probe says the kernel has them.
      if (kernelHas('pin-path-fd')) {
        objPin('relative', fd, { pathFd: dirFd });
        const rel = objGet('relative', { pathFd: dirFd, fileFlags: MapFlags.RDONLY });
        expect(mapInfoByFd(rel).name).toBe('pinned');
        closeFd(rel);
      }
      expect(catchError(() => objPin(`${dir}/counts`, fd))).toMatchObject({ code: 'EEXIST', command: 'BPF_OBJ_PIN' });
    } finally {
      closeSync(dirFd);
      closeFd(fd);
      for (const name of ['counts', 'relative']) if (existsSync(`${dir}/${name}`)) unlinkSync(`${dir}/${name}`);
    }
  });
});

kernel.describe('kernel: programs', () => {
  const fds = new Fds();
  afterAll(() => fds.closeAll());

  it('loads a 2-instruction socket filter and reads its info', () => {
    const fd = fds.add(
      progLoad({
        progType: ProgramType.SOCKET_FILTER,
        insns: R0_0_EXIT,
        license: 'GPL',
        progName: 'ret0',
      }),
    );
    expect(fd).toBeGreaterThan(0);
    const first = progInfoByFd(fd);
    expect(first).toMatchObject({ type: ProgramType.SOCKET_FILTER, name: 'ret0', gplCompatible: true, nrMapIds: 0 });
    expect(first.xlatedProgLen).toBe(16);
    expect(first.verifiedInsns).toBeGreaterThan(0);
    // A request with a nested pointer (xlated_prog_insns inside bpf_prog_info).
    const req = allocProgInfoRequest(first, ['xlatedProgInsns']);
    progInfoByFd(fd, req);
    expect(req.xlatedProgInsns).toEqual(R0_0_EXIT);
    fds.close(fd);
  });

  it('an invalid program fails with EACCES and the verifier log when a log buffer is given', () => {
    const log = new Uint8Array(64 * 1024);
    const err = catchError(() => progLoad({ progType: ProgramType.SOCKET_FILTER, insns: EXIT_ONLY, license: 'GPL', progName: 'bad' }, log));
    expect(err).toBeInstanceOf(VerifierError);
    const v = err as VerifierError;
    expect(v.errno).toBe(Errno.EACCES);
    expect(v.code).toBe('EACCES');
    expect(v.command).toBe('BPF_PROG_LOAD');
    expect(v.log).toMatch(/R0 !read_ok/);
    expect(v.program).toBe('bad');
    expect(v.truncated).toBe(false);
  });

  it('without a log buffer the same program gives a plain BpfError', () => {
    const err = catchError(() => progLoad({ progType: ProgramType.SOCKET_FILTER, insns: EXIT_ONLY, license: 'GPL' }));
    expect(err).toBeInstanceOf(BpfError);
    expect(err).not.toBeInstanceOf(VerifierError);
    expect(err).toMatchObject({ code: 'EACCES', command: 'BPF_PROG_LOAD' });
  });

  it('a too small log buffer is reported as truncated', () => {
    // 20 moves and an exit with r0 unset: a level-2 log far longer than 128 bytes, the smallest buffer kernels before 6.4 take.
    const moves = new Uint8Array(21 * 8);
    for (let i = 0; i < 20; i++) moves.set([0xb7, 0x01, 0, 0, 1, 0, 0, 0], i * 8);
    moves.set(EXIT_ONLY, 20 * 8);
    const err = catchError(() =>
      progLoad({ progType: ProgramType.SOCKET_FILTER, insns: moves, license: 'GPL' }, { buffer: new Uint8Array(128), level: 2 }),
    );
    expect(err).toBeInstanceOf(VerifierError);
    expect((err as VerifierError).truncated).toBe(true);
  });

  it('prog test run returns the program return value', () => {
    const fd = fds.add(progLoad({ progType: ProgramType.SOCKET_FILTER, insns: R0_42_EXIT, license: 'GPL' }));
    const dataOut = new Uint8Array(64);
    const r = progTestRun({ progFd: fd, dataIn: new Uint8Array(64).fill(0xab), dataOut, repeat: 3 });
    expect(r.retval).toBe(42);
    expect(r.dataSizeOut).toBe(64);
    expect(dataOut[20]).toBe(0xab);
    fds.close(fd);
  });

  it('binds a map to a program and lists it in map_ids (nested pointer)', () => {
    const prog = fds.add(progLoad({ progType: ProgramType.SOCKET_FILTER, insns: R0_0_EXIT, license: 'GPL' }));
    const map = fds.add(mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }));
    progBindMap(prog, map);
    const first = progInfoByFd(prog);
    expect(first.nrMapIds).toBe(1);
    const req = allocProgInfoRequest(first, ['mapIds']);
    progInfoByFd(prog, req);
    expect(readU32Array(req.mapIds!)).toEqual([mapInfoByFd(map).id]);
    fds.close(map);
    fds.close(prog);
  });

  whenKernel('program-streams').it('reads an empty BPF stream', () => {
    const fd = fds.add(progLoad({ progType: ProgramType.SOCKET_FILTER, insns: R0_0_EXIT, license: 'GPL' }));
    expect(progStreamRead(fd, 2, new Uint8Array(256))).toBe(0);
    fds.close(fd);
  });

  it('finds its program by id', () => {
    const fd = fds.add(progLoad({ progType: ProgramType.SOCKET_FILTER, insns: R0_0_EXIT, license: 'GPL', progName: 'find_me' }));
    const { id } = progInfoByFd(fd);
    const again = fds.add(getFdById('prog', id));
    expect(progInfoByFd(again).name).toBe('find_me');
    fds.close(again);
    fds.close(fd);
  });

  it('enables run-time stats', () => {
    const fd = enableStats(BpfStatsType.BPF_STATS_RUN_TIME);
    expect(fd).toBeGreaterThan(0);
    closeFd(fd);
  });
});

kernel.describe('kernel: raw tracepoint link and task fd query', () => {
  it('attaches a raw tracepoint program, describes the link and the fd', () => {
    const prog = progLoad({ progType: ProgramType.RAW_TRACEPOINT, insns: R0_0_EXIT, license: 'GPL', progName: 'rawtp' });
    let link = -1;
    try {
      link = rawTracepointOpen(prog, 'sys_enter');
      const q = taskFdQuery(process.pid, link);
      expect(q.fdType).toBe(BpfTaskFdType.BPF_FD_TYPE_RAW_TRACEPOINT);
      expect(q.name).toBe('sys_enter');
      expect(q.progId).toBe(progInfoByFd(prog).id);
      const tpName = new Uint8Array(64);
      const info = linkInfoByFd(link, { rawTracepoint: { tpName } });
      expect(info.kind).toBe('raw_tracepoint');
      expect(info.type).toBe(LinkType.RAW_TRACEPOINT);
      if (info.kind === 'raw_tracepoint') expect(info.rawTracepoint.tpNameLen).toBe('sys_enter'.length + 1);
      expect(new TextDecoder().decode(tpName.subarray(0, 9))).toBe('sys_enter');
    } finally {
      if (link >= 0) closeFd(link);
      closeFd(prog);
    }
  });
});

const cgroup2 = mountPoint('cgroup2');
(cgroup2 === undefined ? describe.skip : kernel.describe)(
  `kernel: cgroup links and attach${cgroup2 === undefined ? ' — skipped: no cgroup2 mount' : ''}`,
  () => {
    const dir = `${cgroup2}/bpfkit-test-${process.pid}`;
    let cg = -1;
    const fds = new Fds();
    beforeAll(() => {
      mkdirSync(dir);
      cg = openSync(dir, 'r');
    });
    afterAll(() => {
      fds.closeAll();
      closeSync(cg);
      rmdirSync(dir);
    });

    const loadSkb = (name: string): number =>
      fds.add(
        progLoad({
          progType: ProgramType.CGROUP_SKB,
          insns: R0_1_EXIT,
          license: 'GPL',
          progName: name,
          expectedAttachType: AttachType.CGROUP_INET_EGRESS,
        }),
      );

    it('creates a cgroup link, reads its info, queries, updates and detaches it', () => {
      const a = loadSkb('allow_a');
      const b = loadSkb('allow_b');
      const link = fds.add(linkCreate({ progFd: a, targetFd: cg, attachType: AttachType.CGROUP_INET_EGRESS }));
      const info = linkInfoByFd(link);
      expect(info.kind).toBe('cgroup');
      if (info.kind === 'cgroup') {
        expect(info.cgroup.attachType).toBe(AttachType.CGROUP_INET_EGRESS);
        expect(info.cgroup.cgroupId).toBeGreaterThan(0n);
      }
      expect(info.progId).toBe(progInfoByFd(a).id);
      const ids = new Uint8Array(4 * 8);
      const q = progQuery({ targetFd: cg, attachType: AttachType.CGROUP_INET_EGRESS, progIds: ids });
      expect(q.progCnt).toBe(1);
      expect(readU32Array(ids, 1)).toEqual([info.progId]);
      linkUpdate({ linkFd: link, newProgFd: b });
      expect(linkInfoByFd(link).progId).toBe(progInfoByFd(b).id);
      const found: number[] = [];
      for (let i = getNextId('link', 0); i !== undefined; i = getNextId('link', i)) found.push(i);
      expect(found).toContain(info.id);
      linkDetach(link);
      expect(progQuery({ targetFd: cg, attachType: AttachType.CGROUP_INET_EGRESS }).progCnt).toBe(0);
      fds.close(link);
    });
  },
);

kernel.describe('kernel: BTF', () => {
  // A minimal BTF blob: header, one INT type named "int", the string section.
  function minimalBtf(kind = 1): Uint8Array {
    const strings = new TextEncoder().encode('\0int\0');
    const types = new Uint8Array(16);
    const tv = new DataView(types.buffer);
    tv.setUint32(0, 1, HOST_LITTLE_ENDIAN); // name_off
    tv.setUint32(4, kind << 24, HOST_LITTLE_ENDIAN); // info: kind
    tv.setUint32(8, 4, HOST_LITTLE_ENDIAN); // size
    tv.setUint32(12, (1 << 24) | 32, HOST_LITTLE_ENDIAN); // BTF_INT_SIGNED, 32 bits
    const out = new Uint8Array(24 + types.length + strings.length);
    const h = new DataView(out.buffer);
    h.setUint16(0, 0xeb9f, HOST_LITTLE_ENDIAN);
    out[2] = 1; // version
    h.setUint32(4, 24, HOST_LITTLE_ENDIAN); // hdr_len
    h.setUint32(8, 0, HOST_LITTLE_ENDIAN); // type_off
    h.setUint32(12, types.length, HOST_LITTLE_ENDIAN);
    h.setUint32(16, types.length, HOST_LITTLE_ENDIAN); // str_off
    h.setUint32(20, strings.length, HOST_LITTLE_ENDIAN);
    out.set(types, 24);
    out.set(strings, 24 + types.length);
    return out;
  }

  it('loads BTF and reads its info', () => {
    const fd = btfLoad(minimalBtf());
    try {
      const raw = new Uint8Array(128);
      const info = btfInfoByFd(fd, { btf: raw });
      expect(info.id).toBeGreaterThan(0);
      expect(info.btfSize).toBe(minimalBtf().length);
      expect(info.kernelBtf).toBe(0);
      expect(raw.subarray(0, info.btfSize)).toEqual(minimalBtf());
    } finally {
      closeFd(fd);
    }
  });

  it('rejects bad BTF with the BTF verifier log', () => {
    const err = catchError(() => btfLoad(minimalBtf(31), { log: new Uint8Array(4096) }));
    expect(err).toBeInstanceOf(BtfLoadError);
    expect(err).toMatchObject({ code: 'EINVAL', command: 'BPF_BTF_LOAD' });
    expect((err as BtfLoadError).log.length).toBeGreaterThan(0);
  });
});

describe.skipIf(nativeLoadError !== null)('native constants', () => {
  it('the perf ioctl numbers equal those of the headers the addon was compiled against', () => {
    for (const [name, value] of Object.entries(PerfEventIoc)) {
      const compiled = native.constants[name];
      if (compiled !== undefined) expect(value, name).toBe(compiled);
    }
    expect(native.constants.PERF_EVENT_IOC_SET_BPF).toBe(PerfEventIoc.PERF_EVENT_IOC_SET_BPF);
    expect(native.constants.PERF_FLAG_FD_CLOEXEC ?? PERF_FLAG_FD_CLOEXEC).toBe(PERF_FLAG_FD_CLOEXEC);
  });
});

kernel.describe('kernel: perf_event_open', () => {
  it('opens a software clock event', () => {
    const fd = perfEventOpen(
      {
        type: PerfType.PERF_TYPE_SOFTWARE,
        config: PerfCountSw.PERF_COUNT_SW_CPU_CLOCK,
        samplePeriod: 1_000_000,
        disabled: true,
      },
      0,
      -1,
      -1,
      PERF_FLAG_FD_CLOEXEC,
    );
    expect(fd).toBeGreaterThan(0);
    closeFd(fd);
  });

  it('fails with a BpfError naming perf_event_open', () => {
    const err = catchError(() => perfEventOpen({ type: 0x7fff_0000 }, 0, -1, -1, 0));
    expect(err).toBeInstanceOf(BpfError);
    expect(err).toMatchObject({ syscall: 'perf_event_open' });
  });
});
