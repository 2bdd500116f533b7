import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { AttachType, BpfError, CgroupVerdict, ClosedError, InvalidArgumentError, LinkType, MapType, ProgramType } from '@bpfkit/core';
import { encodeInstructions } from '@bpfkit/elf';
import type { InstructionFields } from '@bpfkit/elf';
import { closeFd, mapCreate, mapLookupElem, mountPrivateBpffs, mounts } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect, it } from 'vitest';
import { attachProgram } from './attach-program.js';
import { listLinks, openPinnedLink } from './link.js';
import { loadKernelProgram } from './program.js';

const LE = os.endianness() === 'LE';
const insn = (opcode: number, fields: Partial<InstructionFields> = {}): InstructionFields => ({
  opcode,
  dst: 0,
  src: 0,
  offset: 0,
  imm: 0,
  ...fields,
});

/** `array[0] += 1` on every run, then `return returns`: a program counting its hits in the map `mapFd`. */
function countingProgram(mapFd: number, returns = 0): Uint8Array {
  return encodeInstructions(
    [
      insn(0x18, { dst: 1, src: 1, imm: mapFd }), // r1 = map (BPF_PSEUDO_MAP_FD; both slots of the ld_imm64)
      insn(0x62, { dst: 10, offset: -4 }), // *(u32 *)(r10 - 4) = 0
      insn(0xbf, { dst: 2, src: 10 }), // r2 = r10
      insn(0x07, { dst: 2, imm: -4 }), // r2 += -4
      insn(0x85, { imm: 1 }), // call bpf_map_lookup_elem
      insn(0x15, { dst: 0, offset: 2 }), // if r0 == 0 goto +2
      insn(0xb7, { dst: 1, imm: 1 }), // r1 = 1
      insn(0xdb, { dst: 0, src: 1 }), // lock *(u64 *)(r0 + 0) += r1
      insn(0xb7, { imm: returns }), // r0 = returns
      insn(0x95), // exit
    ],
    LE,
  );
}

/** A one-slot counter map and a program counting into it; both closed by the returned disposer. */
function counter(type: number = ProgramType.RAW_TRACEPOINT, returns = 0) {
  const map = mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, mapName: 'exec_count' });
  const prog = loadKernelProgram({
    name: 'count_exec',
    type,
    instructions: countingProgram(map, returns),
    license: 'GPL',
  });
  const value = new Uint8Array(8);
  return {
    prog,
    read(): bigint {
      mapLookupElem(map, new Uint8Array(4), value);
      return new DataView(value.buffer).getBigUint64(0, LE);
    },
    [Symbol.dispose]() {
      prog.close();
      closeFd(map);
    },
  };
}

const exec = () => expect(spawnSync('/bin/true').status).toBe(0);
const raw = whenKernel('program:raw_tracepoint');

raw.it('raw: a raw tracepoint link runs the program on sched_process_exec until detached', () => {
  using c = counter();
  // program.attach(target) is attachProgram(program, target).
  using link = c.prog.attach({ kind: 'raw_tracepoint', name: 'sched_process_exec' });
  exec();
  expect(c.read()).toBeGreaterThan(0n);
  const info = link.info();
  expect(info).toMatchObject({ kind: 'raw_tracepoint', type: LinkType.RAW_TRACEPOINT, progId: c.prog.info().id });
  // Raw tracepoint links have no in-place detach (EOPNOTSUPP): detach closes this, their only reference.
  link.detach();
  expect(link.closed).toBe(true);
  const after = c.read();
  exec();
  expect(c.read()).toBe(after);
});

raw.it('raw: closing the link detaches it', () => {
  using c = counter();
  const link = attachProgram(c.prog, { kind: 'raw_tracepoint', name: 'sched_process_exec' });
  link.close();
  expect(link.closed).toBe(true);
  expect(() => link.info()).toThrow(ClosedError);
  const before = c.read();
  exec();
  expect(c.read()).toBe(before);
});

raw.it('raw: a pinned link keeps the program attached after its handle closes, until the pin goes', () => {
  using c = counter();
  using fsys = mountPrivateBpffs();
  const path = `${fsys.dir}/exec_link`;
  {
    using link = attachProgram(c.prog, { kind: 'raw_tracepoint', name: 'sched_process_exec' });
    link.pin(path);
    expect(() => link.detach()).toThrow(/unpin '.*exec_link' first/);
  }
  const before = c.read();
  exec();
  expect(c.read()).toBeGreaterThan(before);
  {
    using again = openPinnedLink(path, { kind: 'raw_tracepoint', name: 'sched_process_exec' });
    expect(again.info().progId).toBe(c.prog.info().id);
  }
  fs.rmSync(path);
  const unpinned = c.read();
  exec();
  expect(c.read()).toBe(unpinned);
});

raw.it('raw: refuses an unknown tracepoint with the kernel’s answer, a closed program and a hook the program does not fit', () => {
  using c = counter();
  const err = (() => {
    try {
      attachProgram(c.prog, { kind: 'raw_tracepoint', name: 'bpfkit_no_such_tracepoint' });
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  expect(err).toBeInstanceOf(BpfError);
  expect((err as BpfError).message).toMatch(/raw tracepoint 'bpfkit_no_such_tracepoint'/);
  expect(() => attachProgram(c.prog, { kind: 'kprobe', symbol: 'do_unlinkat' })).toThrow(/expected a kprobe program/);
  c.prog.close();
  expect(() => attachProgram(c.prog, { kind: 'raw_tracepoint', name: 'sched_process_exec' })).toThrow(InvalidArgumentError);
});

raw.it('raw: listLinks finds the link with its program, and not after it closes', () => {
  using c = counter();
  const link = attachProgram(c.prog, { kind: 'raw_tracepoint', name: 'sched_process_exec' });
  const { id } = link.info();
  expect(listLinks().find((l) => l.id === id)).toMatchObject({ kind: 'raw_tracepoint', progId: c.prog.info().id });
  link.close();
  expect(listLinks().some((l) => l.id === id)).toBe(false);
});

raw.it('raw: openPinnedLink refuses a pin that is not a link', () => {
  using c = counter();
  using fsys = mountPrivateBpffs();
  c.prog.pin(`${fsys.dir}/prog`);
  expect(() => openPinnedLink(`${fsys.dir}/prog`, { kind: 'raw_tracepoint', name: 'x' })).toThrow(/expected a pinned BPF link, got .*prog/);
  c.prog.unpin();
});

const tracepoint = whenKernel('program:tracepoint', 'link:perf_event');

tracepoint.it('tracepoint: sched:sched_process_exec runs the program through a perf event link until closed', () => {
  using c = counter(ProgramType.TRACEPOINT);
  const link = attachProgram(c.prog, { kind: 'tracepoint', group: 'sched', name: 'sched_process_exec' });
  exec();
  expect(c.read()).toBeGreaterThan(0n);
  expect(link.info()).toMatchObject({ type: LinkType.PERF_EVENT, progId: c.prog.info().id });
  link.close();
  const after = c.read();
  exec();
  expect(c.read()).toBe(after);
});

tracepoint.it('tracepoint: names a tracepoint the kernel lacks, and refuses names that are not tracefs names', () => {
  using c = counter(ProgramType.TRACEPOINT);
  expect(() => attachProgram(c.prog, { kind: 'tracepoint', group: 'sched', name: 'bpfkit_no_such_event' })).toThrow(
    /tracepoint: expected a tracepoint of this kernel \(no .*events\/sched\/bpfkit_no_such_event\/id\), got the string "sched:bpfkit_no_such_event"/,
  );
  expect(() => attachProgram(c.prog, { kind: 'tracepoint', group: '../..', name: 'x' })).toThrow(InvalidArgumentError);
});

const cgroup2 = mounts().find((m) => m.fstype === 'cgroup2')?.target;
const cgroupGate = whenKernel('program:cgroup_skb', 'link:cgroup');

/** Runs a node child that moves itself into `cgroup`, then sends one UDP datagram to loopback. */
function sendFromCgroup(cgroup: string): void {
  const script = `require('fs').writeFileSync(${JSON.stringify(`${cgroup}/cgroup.procs`)}, String(process.pid));
    const s = require('dgram').createSocket('udp4'); s.send('bpfkit', 9, '127.0.0.1', () => s.close());`;
  expect(spawnSync(process.execPath, ['-e', script]).status).toBe(0);
}

(cgroup2 === undefined ? it.skip : cgroupGate.it)(
  `cgroup: counts the egress packets of a process in a cgroup the test creates, until the link closes${cgroup2 === undefined ? ' — skipped: no cgroup2 mount' : ''}`,
  () => {
    const dir = `${cgroup2}/bpfkit-link-test-${process.pid}`;
    fs.mkdirSync(dir);
    try {
      // cgroup_skb programs return 1 to let the packet go.
      using c = counter(ProgramType.CGROUP_SKB, CgroupVerdict.ALLOW);
      const link = attachProgram(c.prog, { kind: 'cgroup', path: dir, attachType: AttachType.CGROUP_INET_EGRESS });
      try {
        expect(link.info()).toMatchObject({ type: LinkType.CGROUP, progId: c.prog.info().id });
        sendFromCgroup(dir);
        expect(c.read()).toBeGreaterThan(0n);
      } finally {
        link.close();
      }
      const after = c.read();
      sendFromCgroup(dir);
      expect(c.read()).toBe(after);
    } finally {
      fs.rmdirSync(dir);
    }
  },
);

cgroupGate.it('cgroup: refuses a path that is not a cgroup directory, naming it', () => {
  using c = counter(ProgramType.CGROUP_SKB, CgroupVerdict.ALLOW);
  expect(() => attachProgram(c.prog, { kind: 'cgroup', path: '/nonexistent/bpfkit', attachType: AttachType.CGROUP_INET_EGRESS })).toThrow(
    /cgroup target: path: expected a cgroup v2 directory this process can open, got the string "\/nonexistent\/bpfkit \(ENOENT\)"/,
  );
});
