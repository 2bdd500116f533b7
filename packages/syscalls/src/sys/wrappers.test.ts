// The wrappers against a fake native addon: what they pass down and how they
// turn results into values and errors. Runs everywhere (no kernel needed).
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { BpfError, Errno, NotSupportedError, VerifierError } from '@bpfkit/core';
import { HOST_LITTLE_ENDIAN } from '../attr/layout.js';

interface BpfCall {
  cmd: number;
  attr: Uint8Array;
  ptrOffsets: readonly number[];
  ptrBuffers: readonly (Uint8Array | null)[];
}
type BpfImpl = (call: BpfCall) => number;

const fake = vi.hoisted(() => {
  const state = {
    calls: [] as BpfCall[],
    impl: (() => 0) as BpfImpl,
    perfAttr: null as Uint8Array | null,
    patchAddresses: true,
  };
  const native = {
    bpf(cmd: number, attr: Uint8Array, ptrOffsets: readonly number[] = [], ptrBuffers: readonly (Uint8Array | null)[] = []): number {
      if (state.patchAddresses) {
        // Like the real addon: write a (fake) address of each buffer into attr, in place.
        const dv = new DataView(attr.buffer, attr.byteOffset, attr.byteLength);
        ptrOffsets.forEach((off, i) => {
          dv.setBigUint64(off, ptrBuffers[i] ? 0x1000n * BigInt(i + 1) : 0n, true);
        });
      }
      const call = { cmd, attr, ptrOffsets: [...ptrOffsets], ptrBuffers: [...ptrBuffers] };
      state.calls.push(call);
      return state.impl(call);
    },
    perfEventOpen(attr: Uint8Array): number {
      state.perfAttr = attr.slice();
      return attr[0] === 0xff ? -Errno.ENOENT : 7;
    },
    close(fd: number): number {
      return fd === 99 ? -Errno.EBADF : 0;
    },
  };
  return { state, native };
});

vi.mock('../native.js', () => ({ native: fake.native }));

const {
  callBpf,
  resolveNestedPointers,
  mapCreate,
  mapGetNextKey,
  getNextId,
  progLoad,
  progTestRun,
  closeFd,
  perfEventOpen,
  mapLookupBatch,
  mapUpdateBatch,
} = await import('./index.js');
const { BpfCommand } = await import('../commands.js');
const { encodeMapFreezeAttr } = await import('../attr/map.js');
const { encodeProgInfoRequest } = await import('../info/prog-info.js');

const rd32 = (b: Uint8Array, off: number): number => new DataView(b.buffer, b.byteOffset).getUint32(off, HOST_LITTLE_ENDIAN);
const wr32 = (b: Uint8Array, off: number, v: number): void => new DataView(b.buffer, b.byteOffset).setUint32(off, v, HOST_LITTLE_ENDIAN);

beforeEach(() => {
  fake.state.calls = [];
  fake.state.impl = () => 0;
  fake.state.patchAddresses = true;
});

describe('callBpf', () => {
  it('passes the command, attr and pointers and returns the result', () => {
    fake.state.impl = () => 5;
    expect(callBpf(BpfCommand.BPF_MAP_FREEZE, encodeMapFreezeAttr({ mapFd: 3 }))).toBe(5);
    expect(fake.state.calls[0]!.cmd).toBe(22);
    expect(rd32(fake.state.calls[0]!.attr, 0)).toBe(3);
  });

  it('throws a BpfError with errno, code, syscall and command', () => {
    fake.state.impl = () => -Errno.EBADF;
    let err: unknown;
    try {
      callBpf(BpfCommand.BPF_MAP_FREEZE, encodeMapFreezeAttr({ mapFd: 3 }), { subject: "map 'x'" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect(err).toMatchObject({ errno: 9, code: 'EBADF', syscall: 'bpf', command: 'BPF_MAP_FREEZE' });
    expect((err as Error).message).toMatch(/^map 'x': bpf\(BPF_MAP_FREEZE\) failed: EBADF/);
  });
});

describe('wrappers', () => {
  it('mapCreate names the map in errors and hints at max_entries 0', () => {
    fake.state.impl = () => -Errno.EINVAL;
    expect(() => mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 0, mapName: 'm' })).toThrow(
      /^map 'm': bpf\(BPF_MAP_CREATE\) failed: EINVAL .*max_entries is 0/,
    );
  });

  it('mapGetNextKey and getNextId turn ENOENT into "no more"', () => {
    fake.state.impl = () => -Errno.ENOENT;
    expect(mapGetNextKey(3, null, new Uint8Array(4))).toBe(false);
    expect(getNextId('link', 0)).toBeUndefined();
    fake.state.impl = ({ attr }) => {
      wr32(attr, 4, 17);
      return 0;
    };
    expect(getNextId('prog', 5)).toBe(17);
    expect(fake.state.calls.at(-1)!.cmd).toBe(BpfCommand.BPF_PROG_GET_NEXT_ID);
    fake.state.impl = () => -Errno.EPERM;
    expect(() => getNextId('map', 0)).toThrow(BpfError);
  });

  it('progLoad throws VerifierError with the log when a log buffer was given', () => {
    fake.state.impl = ({ ptrOffsets, ptrBuffers }) => {
      const log = ptrBuffers[ptrOffsets.indexOf(32)]!;
      log.set(new TextEncoder().encode('0: (95) exit\nR0 !read_ok\nprocessed 1 insns\n\0'));
      return -Errno.EACCES;
    };
    let err: unknown;
    try {
      progLoad({ progType: 1, insns: new Uint8Array(8), license: 'GPL', progName: 'p' }, new Uint8Array(256));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    expect(err).toMatchObject({ program: 'p', errno: Errno.EACCES, truncated: false, instruction: 0 });
    expect((err as VerifierError).log).toMatch(/R0 !read_ok/);
    const attr = fake.state.calls[0]!.attr;
    expect(rd32(attr, 24)).toBe(1); // log_level
    expect(rd32(attr, 28)).toBe(256); // log_size
  });

  it('progTestRun reads the outputs the kernel wrote into attr', () => {
    fake.state.impl = ({ attr }) => {
      wr32(attr, 4, 42);
      wr32(attr, 36, 100);
      wr32(attr, 12, 3);
      return 0;
    };
    expect(progTestRun({ progFd: 1, dataIn: new Uint8Array(14) })).toEqual({
      retval: 42,
      duration: 100,
      dataSizeOut: 3,
      ctxSizeOut: 0,
      interrupted: 0,
    });
  });

  it('progTestRun runs again after EINTR with the output capacities restored, and gives up after 100 in a row', () => {
    let n = 0;
    fake.state.impl = ({ attr }) => {
      // Whatever an interrupted call left in data_size_out / ctx_size_out, the retry passes the capacities again.
      expect(rd32(attr, 12)).toBe(64);
      expect(rd32(attr, 44)).toBe(8);
      wr32(attr, 12, 0);
      wr32(attr, 44, 0);
      if (++n < 3) return -Errno.EINTR;
      wr32(attr, 4, 7);
      wr32(attr, 12, 20);
      return 0;
    };
    const r = progTestRun({ progFd: 1, dataIn: new Uint8Array(20), dataOut: new Uint8Array(64), ctxOut: new Uint8Array(8), repeat: 1000 });
    expect(r).toMatchObject({ retval: 7, dataSizeOut: 20, interrupted: 2 });
    expect(fake.state.calls).toHaveLength(3);
    fake.state.calls = [];
    fake.state.impl = () => -Errno.EINTR;
    expect(() => progTestRun({ progFd: 1, dataIn: new Uint8Array(20), repeat: 1000 })).toThrow(
      /BPF_PROG_TEST_RUN.*EINTR.*interrupted the run 101 times in a row/,
    );
    expect(fake.state.calls).toHaveLength(101);
  });

  it('progTestRun says how much output the kernel needed on ENOSPC', () => {
    fake.state.impl = ({ attr }) => {
      wr32(attr, 12, 4160);
      return -Errno.ENOSPC;
    };
    expect(() => progTestRun({ progFd: 1, dataIn: new Uint8Array(64), dataOut: new Uint8Array(128) })).toThrow(
      /ENOSPC.*the run left 4160 bytes of data, more than the 128-byte data_out buffer/,
    );
    fake.state.impl = ({ attr }) => {
      wr32(attr, 44, 192);
      return -Errno.ENOSPC;
    };
    expect(() => progTestRun({ progFd: 1, dataIn: new Uint8Array(64), ctxIn: new Uint8Array(4), ctxOut: new Uint8Array(4) })).toThrow(
      /a 192-byte context, more than the 4-byte ctx_out buffer/,
    );
  });

  it('batch lookups report done on ENOENT with the partial count; writes name the processed count', () => {
    fake.state.impl = ({ attr }) => {
      wr32(attr, 32, 2);
      return -Errno.ENOENT;
    };
    expect(mapLookupBatch({ mapFd: 1, count: 8 })).toEqual({ count: 2, done: true });
    fake.state.impl = ({ attr }) => {
      wr32(attr, 32, 1);
      return -Errno.E2BIG;
    };
    expect(() => mapUpdateBatch({ mapFd: 1, count: 3 })).toThrow(/1 of 3 elements processed/);
  });

  it('closeFd throws BpfError with syscall close', () => {
    expect(() => closeFd(99)).toThrow(expect.objectContaining({ syscall: 'close', code: 'EBADF' }) as unknown as Error);
    expect(() => closeFd(3)).not.toThrow();
  });
});

describe('nested pointers', () => {
  it('writes the addresses native.bpf reports into the struct', () => {
    const req = encodeProgInfoRequest({ mapIds: new Uint8Array(8), xlatedProgInsns: new Uint8Array(16) });
    resolveNestedPointers(req);
    const dv = new DataView(req.bytes.buffer);
    const byOffset = new Map(req.ptrOffsets.map((off, i) => [off, 0x1000n * BigInt(i + 1)]));
    expect(dv.getBigUint64(56, true)).toBe(byOffset.get(56));
    expect(dv.getBigUint64(32, true)).toBe(byOffset.get(32));
    expect(fake.state.calls[0]!.cmd).toBe(-1);
  });

  it('refuses when the addon does not report addresses', () => {
    fake.state.patchAddresses = false;
    expect(() => resolveNestedPointers(encodeProgInfoRequest({ mapIds: new Uint8Array(8) }))).toThrow(NotSupportedError);
  });

  it('perfEventOpen passes kprobe_func by address and maps errors', () => {
    expect(perfEventOpen({ type: 6, kprobeFunc: 'vfs_read' }, -1, 0, -1, 0)).toBe(7);
    expect(new DataView(fake.state.perfAttr!.buffer).getBigUint64(56, true)).toBe(0x1000n);
    expect(() => perfEventOpen({ type: 0xff }, 0, -1, -1, 0)).toThrow(
      expect.objectContaining({ syscall: 'perf_event_open', code: 'ENOENT' }) as unknown as Error,
    );
  });
});
