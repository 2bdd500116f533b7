import fs from 'node:fs';
import os from 'node:os';
import { AttachType, ClosedError, InvalidArgumentError, LinkType, MapType, ProgramType } from '@bpfkit/core';
import type { Map as BpfMap } from '@bpfkit/core';
import { closeFd, mapCreate, mapUpdateElem, mounts } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { IterLink } from '../iter-link.js';
import { loadKernelProgram } from '../program.js';
import { cgroupIdIterProgram, kernelFunc, mapKeysIterProgram, taskIterProgram, taskPrintfProgram } from '../test-support/trace-programs.js';
import { attachIter } from './iter.js';

const LE = os.endianness() === 'LE';
const iter = whenKernel('program:tracing', 'link:iter');

const loadIter = (name: string, instructions: Uint8Array, target = 'bpf_iter_task') =>
  loadKernelProgram(
    { name, type: ProgramType.TRACING, expectedAttachType: AttachType.TRACE_ITER, instructions, license: 'GPL' },
    { attachBtfId: kernelFunc(target) },
  );

/** The (pid, tgid) records of taskIterProgram. */
function records(bytes: Uint8Array): [number, number][] {
  expect(bytes.byteLength % 8).toBe(0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: [number, number][] = [];
  for (let at = 0; at < bytes.byteLength; at += 8) out.push([view.getUint32(at, LE), view.getUint32(at + 4, LE)]);
  return out;
}

iter.it('iter: a task iterator lists this process (its main thread: pid = tgid) among every task', () => {
  using prog = loadIter('tasks', taskIterProgram());
  using link = prog.attach({ kind: 'iter' });
  expect(link).toBeInstanceOf(IterLink);
  const tasks = records((link as IterLink).read());
  expect(tasks).toContainEqual([process.pid, process.pid]);
  expect(tasks).toContainEqual([1, 1]); // init
  expect(link.info()).toMatchObject({ kind: 'iter', type: LinkType.ITER, progId: prog.info().id });
});

iter.it("iter: narrowed to this process (task.pid), it lists this process's threads and nothing else", () => {
  using prog = loadIter('own_tasks', taskIterProgram());
  using link = attachIter(prog, { kind: 'iter', task: { pid: process.pid } });
  const tasks = records(link.read());
  expect(tasks).toContainEqual([process.pid, process.pid]);
  for (const [, tgid] of tasks) expect(tgid).toBe(process.pid);
  const threads = new Set(fs.readdirSync('/proc/self/task').map(Number));
  for (const [pid] of tasks) expect(threads.has(pid)).toBe(true);
});

iter.it('iter: text() of a bpf_seq_printf iterator; chunks() and stream() each run it afresh, then close its fd', async () => {
  using prog = loadIter('tgids', taskPrintfProgram());
  const link = attachIter(prog, { kind: 'iter', task: { pid: process.pid } });
  try {
    const lines = link.text().trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(new Set(lines)).toEqual(new Set([String(process.pid)]));
    const chunks: Uint8Array[] = [];
    for await (const chunk of link) chunks.push(chunk);
    expect(new Set(Buffer.concat(chunks).toString().trim().split('\n'))).toEqual(new Set([String(process.pid)]));
    const fds = fs.readdirSync('/proc/self/fd').length;
    // A second run starts from the first task again.
    let streamed = '';
    for await (const chunk of link.stream()) streamed += chunk.toString();
    expect(streamed.split('\n')).toContain(String(process.pid));
    // Breaking out of the loop closes that run's fd too.
    for await (const _ of link.chunks(4)) break;
    expect(fs.readdirSync('/proc/self/fd').length).toBe(fds);
    await expect(link.chunks(0).next()).rejects.toThrow(InvalidArgumentError);
  } finally {
    link.close();
  }
  expect(() => link.read()).toThrow(ClosedError);
});

iter.it('iter: a map element iterator walks the keys of the map it was given', () => {
  const fd = mapCreate({ mapType: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8, mapName: 'iter_keys' });
  try {
    const key = new Uint8Array(4);
    for (const k of [7, 11, 13]) {
      new DataView(key.buffer).setUint32(0, k, LE);
      mapUpdateElem(fd, key, new Uint8Array(8));
    }
    // attachIter reads only what any Map has: fd, closed.
    const map = { name: 'iter_keys', fd, closed: false } as unknown as BpfMap<unknown, unknown>;
    using prog = loadIter('map_keys', mapKeysIterProgram(4), 'bpf_iter_bpf_map_elem');
    using link = attachIter(prog, { kind: 'iter', map });
    const out = link.read();
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const keys = Array.from({ length: out.byteLength / 4 }, (_, i) => view.getUint32(i * 4, LE)).sort((a, b) => a - b);
    expect(keys).toEqual([7, 11, 13]);
  } finally {
    closeFd(fd);
  }
});

const cgroup2 = mounts().find((m) => m.fstype === 'cgroup2')?.target;

iter
  .unless(cgroup2 === undefined ? 'no cgroup2 file system is mounted' : undefined)
  .it('iter: a cgroup iterator walks the cgroup given in the order asked', () => {
    const parent = `${cgroup2}/bpfkit-iter-${process.pid}`;
    const child = `${parent}/child`;
    fs.mkdirSync(parent);
    try {
      fs.mkdirSync(child);
      const id = (dir: string) => fs.statSync(dir, { bigint: true }).ino; // a cgroup's id is its kernfs node's, the directory's inode
      using prog = loadIter('cgroup_ids', cgroupIdIterProgram(), 'bpf_iter_cgroup');
      const walk = (order?: 'self' | 'descendants_pre' | 'descendants_post' | 'ancestors_up', path = parent): bigint[] => {
        using link = attachIter(prog, { kind: 'iter', cgroup: { path, ...(order ? { order } : {}) } });
        const out = link.read();
        const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
        return Array.from({ length: out.byteLength / 8 }, (_, i) => view.getBigUint64(i * 8, LE));
      };
      expect(walk('self')).toEqual([id(parent)]);
      expect(walk()).toEqual([id(parent), id(child)]); // descendants_pre by default
      expect(walk('descendants_post')).toEqual([id(child), id(parent)]);
      expect(walk('ancestors_up', child).slice(0, 2)).toEqual([id(child), id(parent)]);
      expect(() => attachIter(prog, { kind: 'iter', cgroup: { path: parent, order: 'sideways' as 'self' } })).toThrow(
        /order: expected one of self/,
      );
    } finally {
      if (fs.existsSync(child)) fs.rmdirSync(child);
      fs.rmdirSync(parent);
    }
  });

iter.it('iter: targets naming two objects, or a task by both pid and tid, are refused before any link is made', () => {
  using prog = loadIter('refused', taskIterProgram());
  expect(() => attachIter(prog, { kind: 'iter', task: { pid: 1, tid: 1 } })).toThrow(/one of \{ pid \} .* and \{ tid \}/);
  expect(() => attachIter(prog, { kind: 'iter', task: {} })).toThrow(InvalidArgumentError);
  expect(() => attachIter(prog, { kind: 'iter', task: { pid: 1 }, cgroup: { path: '/sys/fs/cgroup' } })).toThrow(
    /at most one of map, cgroup and task/,
  );
  expect(() => attachIter(prog, { kind: 'iter', cgroup: { path: '/nonexistent-cgroup' } })).toThrow(InvalidArgumentError);
});

whenKernel().it('iter: a program that is not an iterator is refused, naming what is expected', () => {
  const ret0 = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0); // r0 = 0; exit
  using prog = loadKernelProgram({ name: 'not_iter', type: ProgramType.SOCKET_FILTER, instructions: ret0, license: 'GPL' });
  expect(() => prog.attach({ kind: 'iter' })).toThrow(InvalidArgumentError);
  expect(() => prog.attach({ kind: 'iter' })).toThrow(/expected an iterator program .*TRACE_ITER.*, got .*socket_filter/);
});
