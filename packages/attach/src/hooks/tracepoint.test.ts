import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { MapType, ProgramType } from '@bpfkit/core';
import { closeFd, mapCreate, mapLookupElem } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { attachProgram } from '../attach-program.js';
import { loadKernelProgram } from '../program.js';
import { assemble, I } from '../test-support/packet-programs.js';
import type { Item } from '../test-support/packet-programs.js';
import { tracefsDir } from '../tracefs.js';

const LE = os.endianness() === 'LE';

/**
 * Records every exec in a hash map: the new program's pid (read by `loadPid`
 * into r1) → the task's comm (bpf_get_current_comm, after exec renamed it).
 */
function execRecorder(mapFd: number, loadPid: Item) {
  return assemble([
    I(0xbf, { dst: 6, src: 1 }), // r6 = ctx
    loadPid, // r1 = pid
    I(0x63, { dst: 10, src: 1, offset: -4 }), // *(u32 *)(r10 - 4) = pid
    I(0xbf, { dst: 1, src: 10 }),
    I(0x07, { dst: 1, imm: -24 }),
    I(0xb7, { dst: 2, imm: 16 }),
    I(0x85, { imm: 16 }), // bpf_get_current_comm(r10 - 24, 16)
    I(0x18, { dst: 1, src: 1, imm: mapFd }),
    I(0xbf, { dst: 2, src: 10 }),
    I(0x07, { dst: 2, imm: -4 }),
    I(0xbf, { dst: 3, src: 10 }),
    I(0x07, { dst: 3, imm: -24 }),
    I(0xb7, { dst: 4, imm: 0 }),
    I(0x85, { imm: 2 }), // bpf_map_update_elem(map, &pid, comm, BPF_ANY)
    I(0xb7, { dst: 0, imm: 0 }),
    I(0x95),
  ]);
}

/** The comm recorded for `pid`, or undefined. */
function commOf(mapFd: number, pid: number): string | undefined {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, pid, LE);
  const value = new Uint8Array(16);
  try {
    mapLookupElem(mapFd, key, value);
  } catch {
    return undefined;
  }
  return new TextDecoder().decode(value.subarray(0, value.indexOf(0) < 0 ? 16 : value.indexOf(0)));
}

/** Spawns a child that execs /bin/true and returns its pid. */
function spawnTrue(): number {
  const r = spawnSync('/bin/true');
  expect(r.status).toBe(0);
  return r.pid as number;
}

function withExecMap<T>(fn: (mapFd: number) => T): T {
  const fd = mapCreate({ mapType: MapType.HASH, keySize: 4, valueSize: 16, maxEntries: 4096, mapName: 'execs' });
  try {
    return fn(fd);
  } finally {
    closeFd(fd);
  }
}

whenKernel('program:tracepoint', 'link:perf_event').it(
  'tracepoint: sched:sched_process_exec fires for a child the test spawns, with its pid and comm',
  () => {
    // The pid field's offset, from the event's format in tracefs.
    const format = fs.readFileSync(`${tracefsDir()}/events/sched/sched_process_exec/format`, 'utf8');
    const offset = Number(/field:pid_t pid;\s*offset:(\d+);/.exec(format)?.[1]);
    expect(offset).toBeGreaterThan(0);
    withExecMap((mapFd) => {
      using prog = loadKernelProgram({
        name: 'tp_exec',
        type: ProgramType.TRACEPOINT,
        license: 'GPL',
        instructions: execRecorder(mapFd, I(0x61, { dst: 1, src: 6, offset })), // r1 = *(u32 *)(ctx + offset)
      });
      const link = attachProgram(prog, { kind: 'tracepoint', group: 'sched', name: 'sched_process_exec' });
      const pid = spawnTrue();
      expect(commOf(mapFd, pid)).toBe('true');
      link.close();
      expect(commOf(mapFd, spawnTrue())).toBeUndefined();
    });
  },
);

whenKernel('program:raw_tracepoint').it('raw: sched_process_exec fires for a child the test spawns, with its pid and comm', () => {
  withExecMap((mapFd) => {
    // sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm): args[1] is the pid.
    using prog = loadKernelProgram({
      name: 'raw_exec',
      type: ProgramType.RAW_TRACEPOINT,
      license: 'GPL',
      instructions: execRecorder(mapFd, I(0x79, { dst: 1, src: 6, offset: 8 })), // r1 = args[1]
    });
    const link = attachProgram(prog, { kind: 'raw_tracepoint', name: 'sched_process_exec' });
    const pid = spawnTrue();
    expect(commOf(mapFd, pid)).toBe('true');
    link.close();
    expect(commOf(mapFd, spawnTrue())).toBeUndefined();
  });
});

whenKernel('program:raw_tracepoint_writable', 'program:xdp').it(
  'raw: a writable raw tracepoint changes what the kernel returns (bpf_test_finish sets the errno of BPF_PROG_TEST_RUN)',
  () => {
    // bpf_test_finish(int *err) fires as BPF_PROG_TEST_RUN ends and the kernel returns *err:
    // args[0] is the writable buffer (4 bytes, the tracepoint's writable size).
    using writer = loadKernelProgram({
      name: 'raw_w_err',
      type: ProgramType.RAW_TRACEPOINT_WRITABLE,
      license: 'GPL',
      instructions: assemble([
        I(0x79, { dst: 1, src: 1, offset: 0 }), // r1 = args[0] (int *err)
        I(0x62, { dst: 1, offset: 0, imm: -7 }), // *err = -E2BIG
        I(0xb7, { dst: 0, imm: 0 }),
        I(0x95),
      ]),
    });
    using xdp = loadKernelProgram({
      name: 'xdp_pass',
      type: ProgramType.XDP,
      license: 'GPL',
      instructions: assemble([I(0xb7, { dst: 0, imm: 2 }), I(0x95)]),
    });
    const run = () => xdp.testRun({ data: new Uint8Array(64) });
    expect(run().returnValue).toBe(2);
    const link = attachProgram(writer, { kind: 'raw_tracepoint', name: 'bpf_test_finish' });
    try {
      expect(run).toThrow(expect.objectContaining({ code: 'E2BIG' }));
    } finally {
      link.close();
    }
    expect(run().returnValue).toBe(2);
  },
);
