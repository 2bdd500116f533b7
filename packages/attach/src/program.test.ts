import fs from 'node:fs';
import path from 'node:path';
import { BpfError, InvalidArgumentError, ClosedError, ProgramType, VerifierError } from '@bpfkit/core';
import { mountPrivateBpffs } from '@bpfkit/syscalls';
import { describe, expect, it } from 'vitest';
import { listLinks } from './link.js';
import { loadKernelProgram, openPinnedProgram, openProgramById } from './program.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

/** Encodes `{code, dst, src, off, imm}` instructions. */
function insns(...list: [code: number, regs: number, off: number, imm: number][]): Uint8Array {
  const out = new Uint8Array(list.length * 8);
  const v = new DataView(out.buffer);
  list.forEach(([code, regs, off, imm], i) => {
    out[i * 8] = code;
    out[i * 8 + 1] = regs;
    v.setInt16(i * 8 + 2, off, true);
    v.setInt32(i * 8 + 4, imm, true);
  });
  return out;
}

const RET_42 = insns([0xb7, 0, 0, 42], [0x95, 0, 0, 0]); // r0 = 42; exit
const NO_R0 = insns([0x95, 0, 0, 0]); // exit without setting r0: rejected
// r0 = *(u32 *)(r1 + 0) — socket filter ctx is __sk_buff; len at offset 0
const RET_LEN = insns([0x61, 0x10, 0, 0], [0x95, 0, 0, 0]);

describe('program spec checks (no kernel)', () => {
  it('refuses bad instructions, types and licenses before any call', () => {
    expect(() =>
      loadKernelProgram({ name: 'x', type: ProgramType.SOCKET_FILTER, instructions: new Uint8Array(12), license: 'GPL' }),
    ).toThrow(/instructions: expected a non-empty Uint8Array whose length is a multiple of 8, got a Uint8Array of 12 bytes/);
    expect(() => loadKernelProgram({ name: 'x', type: 0, instructions: RET_42, license: 'GPL' })).toThrow(InvalidArgumentError);
    expect(() => loadKernelProgram({ name: 'x', type: 1, instructions: RET_42, license: 7 as unknown as string })).toThrow(/license/);
  });
});

whenKernel().describe('programs on the kernel', () => {
  it('loads, test-runs with data in and out, and reports info', () => {
    using prog = loadKernelProgram({ name: 'ret_len', type: ProgramType.SOCKET_FILTER, instructions: RET_LEN, license: 'GPL' });
    const packet = new Uint8Array(64).fill(0xab);
    const r = prog.testRun({ data: packet, repeat: 10 });
    // BPF_PROG_TEST_RUN treats the data as an Ethernet frame and pulls the 14-byte header: skb->len = 64 - 14.
    expect(r.returnValue).toBe(50);
    // The payload comes back; the kernel rebuilds the Ethernet header it pulled.
    expect(r.data.length).toBe(64);
    expect(r.data.subarray(14)).toEqual(packet.subarray(14));
    const info = prog.info();
    expect(info).toMatchObject({ name: 'ret_len', type: ProgramType.SOCKET_FILTER, mapIds: [] });
    expect(info.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(info.xlatedSize).toBe(16);
    using again = openProgramById(info.id);
    expect(again.testRun({ data: packet }).returnValue).toBe(50);
  });

  it('turns a verifier rejection into a VerifierError with the whole log and the failing instruction', () => {
    let error: unknown;
    try {
      loadKernelProgram({ name: 'bad', type: ProgramType.SOCKET_FILTER, instructions: NO_R0, license: 'GPL' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(VerifierError);
    const v = error as VerifierError;
    expect(v.code).toBe('EACCES');
    expect(v.program).toBe('bad');
    expect(v.log).toMatch(/R0 !read_ok/);
    expect(v.instruction).toBe(0);
    expect(v.message).toMatch(/program 'bad'.*BPF_PROG_LOAD.*R0 !read_ok/);
    expect(v.truncated).toBe(false);
  });

  it('grows the log buffer until the whole log fits', () => {
    // 2000 no-op moves then a bad exit: a level-2 log is far longer than 64 bytes.
    const body = Array.from({ length: 2000 }, () => [0xb7, 0x01, 0, 1] as [number, number, number, number]);
    const prog = insns(...body, [0x95, 0, 0, 0]);
    try {
      loadKernelProgram(
        { name: 'long', type: ProgramType.SOCKET_FILTER, instructions: prog, license: 'GPL' },
        { logLevel: 2, logSize: 64 },
      );
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(VerifierError);
      const v = err as VerifierError;
      expect(v.truncated).toBe(false);
      expect(v.log.length).toBeGreaterThan(64 * 4);
      expect(v.log).toMatch(/R0 !read_ok/);
    }
  });

  it('keeps the verifier log of a successful load with logAlways, growing the buffer as for a rejection', () => {
    using quiet = loadKernelProgram({ name: 'quiet', type: ProgramType.SOCKET_FILTER, instructions: RET_LEN, license: 'GPL' });
    expect(quiet.verifierLog).toBeUndefined();
    using stats = loadKernelProgram(
      { name: 'stats', type: ProgramType.SOCKET_FILTER, instructions: RET_LEN, license: 'GPL' },
      { logAlways: true },
    );
    expect(stats.verifierLog).toMatch(/processed \d+ insns/);
    const body = Array.from({ length: 2000 }, () => [0xb7, 0x01, 0, 1] as [number, number, number, number]);
    using walked = loadKernelProgram(
      { name: 'walked', type: ProgramType.SOCKET_FILTER, instructions: insns(...body, [0xb7, 0, 0, 0], [0x95, 0, 0, 0]), license: 'GPL' },
      { logAlways: true, logLevel: 2, logSize: 64 },
    );
    // Level 2 lists every instruction: far more than the first 64-byte buffer.
    expect(walked.verifierLog!.length).toBeGreaterThan(64 * 4);
    expect(walked.verifierLog).toMatch(/2000: \(b7\) r0 = 0/);
    expect(walked.testRun({ data: new Uint8Array(64) }).returnValue).toBe(0);
  });

  it('a bad program type gives a BpfError naming the command', () => {
    try {
      loadKernelProgram({ name: 'x', type: 9999, instructions: RET_42, license: 'GPL' }, { logLevel: 0 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BpfError);
      expect((err as BpfError).code).toBe('EINVAL');
      expect((err as BpfError).command).toBe('BPF_PROG_LOAD');
    }
  });

  it('pins, opens the pin, unpins, and closes idempotently', () => {
    using fsys = mountPrivateBpffs();
    {
      const prog = loadKernelProgram({ name: 'pinned', type: ProgramType.SOCKET_FILTER, instructions: RET_42, license: 'GPL' });
      prog.pin(path.join(fsys.dir, 'p'));
      using opened = openPinnedProgram(path.join(fsys.dir, 'p'));
      expect(opened.testRun({ data: new Uint8Array(16) }).returnValue).toBe(42);
      prog.unpin();
      expect(fs.existsSync(path.join(fsys.dir, 'p'))).toBe(false);
      prog.close();
      prog.close();
      expect(() => prog.testRun()).toThrow(ClosedError);
    }
  });

  it('10,000 load/close cycles leave the open fd count unchanged', () => {
    const before = fs.readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 10_000; i++)
      loadKernelProgram({ name: 'cycle', type: ProgramType.SOCKET_FILTER, instructions: RET_42, license: 'GPL' }).close();
    expect(fs.readdirSync('/proc/self/fd').length).toBe(before);
  });
});

const RET_0 = insns([0xb7, 0, 0, 0], [0x95, 0, 0, 0]); // r0 = 0; exit

whenKernel('program:raw_tracepoint').it(
  'raw: closeLinks() closes the links attach() made, not a pinned one; close() of the program detaches nothing',
  () => {
    using fsys = mountPrivateBpffs();
    const pin = path.join(fsys.dir, 'kept');
    const live = (id: number) => listLinks().some((l) => l.id === id);
    using prog = loadKernelProgram({ name: 'links_owner', type: ProgramType.RAW_TRACEPOINT, instructions: RET_0, license: 'GPL' });
    try {
      const a = prog.attach({ kind: 'raw_tracepoint', name: 'sched_switch' });
      const b = prog.attach({ kind: 'raw_tracepoint', name: 'sched_process_exec' });
      const pinned = prog.attach({ kind: 'raw_tracepoint', name: 'sched_process_fork' });
      pinned.pin(pin);
      // Closed by its user already: nothing left to do for it.
      const gone = prog.attach({ kind: 'raw_tracepoint', name: 'sched_process_exit' });
      gone.close();
      const [idA, idB, idPinned] = [a.info().id!, b.info().id!, pinned.info().id!];
      // Links keep their program in the kernel: closing the program's handle leaves them attached.
      prog.close();
      expect([a.closed, live(idA), live(idB)]).toEqual([false, true, true]);
      prog.closeLinks();
      expect([a.closed, b.closed, pinned.closed]).toEqual([true, true, true]);
      expect([live(idA), live(idB)]).toEqual([false, false]);
      // The pin holds the pinned one, attached, until it is removed.
      expect(live(idPinned)).toBe(true);
      fs.rmSync(pin);
      expect(live(idPinned)).toBe(false);
      prog.closeLinks(); // nothing left: a no-op
    } finally {
      fs.rmSync(pin, { force: true });
    }
  },
);
