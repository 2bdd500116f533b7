import path from 'node:path';
import { isPerCpuMapType, MapType, ProgramType } from '@bpfkit/core';
import type { Collection, System } from '@bpfkit/core';
import { MockSystem } from '@bpfkit/mock';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import { NativeSystem } from './native-system.js';

// Every program of the project's test objects that BPF_PROG_TEST_RUN runs with a packet, run on the
// mock and on the kernel with the same packets and contexts: the same return values, output packets
// and sizes, contexts out, and afterwards the same contents in every map the mock and the kernel both
// keep the same way and the same ring buffer records.
const here = import.meta.dirname;
const OBJECTS: Record<string, string> = {
  'elf/basics': path.resolve(here, '../../elf/testdata/basics.bpf.o'),
  'elf/tailcalls': path.resolve(here, '../../elf/testdata/tailcalls.bpf.o'),
  'elf/core': path.resolve(here, '../../elf/testdata/core.bpf.o'),
  'bpfkit/typed': path.resolve(here, '../testdata/typed.bpf.o'),
  'bpfkit/callbacks': path.resolve(here, '../testdata/callbacks.bpf.o'),
  'bpfkit/packets': path.resolve(here, '../testdata/packets.bpf.o'),
  'bpfkit/goebpf': path.resolve(here, '../testdata/goebpf.bpf.o'),
  'examples/packet_counter': path.resolve(here, '../../../apps/examples/bpf/packet_counter.bpf.o'),
};
const PACKET_TYPES = new Set<number>([ProgramType.XDP, ProgramType.SOCKET_FILTER, ProgramType.SCHED_CLS, ProgramType.SCHED_ACT]);
// The programs of an object the mock cannot run yet, and why: they are left out on both backends.
const MOCK_CANNOT: Record<string, Record<string, string>> = {
  'elf/core': { core_fields: 'bpf_get_current_task', core_direct: 'bpf_get_current_task_btf' },
  'bpfkit/callbacks': { timer: 'bpf_timer_* helpers', find_vma: 'bpf_find_vma', drain: 'user ring buffer maps' },
};

/** Ethernet + IPv4 frames of a few protocols and sizes. */
function packets(): Uint8Array[] {
  return [6, 17, 1].map((protocol, i) => {
    const p = new Uint8Array(64 + 16 * i).fill(0x22);
    p.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
    p.set([0x45, 0, 0, 50 + 16 * i, 0, 1, 0, 0, 64, protocol, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
    return p;
  });
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The maps of a collection as comparable text: every entry of the maps both backends keep alike. */
function mapContents(coll: Collection): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, map] of Object.entries(coll.maps)) {
    // Per-CPU values land on whichever CPU ran the program; fd holders read back ids of each backend's own objects.
    if (isPerCpuMapType(map.type)) continue;
    const type = map.type as number;
    if (
      [MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS, MapType.PERF_EVENT_ARRAY, MapType.RINGBUF].includes(type as never)
    )
      continue;
    if (type === MapType.USER_RINGBUF) continue;
    out[name] = [...(map as unknown as Iterable<[Uint8Array, Uint8Array]>)].map(([k, v]) => `${hex(k)}=${hex(v)}`).sort();
  }
  return out;
}

/** An `xdp_md` for a test run: data_end the packet's length, the rest 0. */
function xdpMd(length: number): Uint8Array {
  const ctx = new Uint8Array(24);
  new DataView(ctx.buffer).setUint32(4, length, true);
  return ctx;
}

/** A `__sk_buff` for a test run with a mark and a priority the programs may read and change. */
function skbContext(): Uint8Array {
  const ctx = new Uint8Array(192);
  new DataView(ctx.buffer).setUint32(8, 0x2a, true); // mark
  new DataView(ctx.buffer).setUint32(32, 3, true); // priority
  return ctx;
}

/** The records the programs wrote to each ring buffer of the collection, in order. */
function ringRecords(system: System, coll: Collection): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, map] of Object.entries(coll.maps)) {
    if (map.type !== MapType.RINGBUF) continue;
    using reader = system.openRingBuffer(map);
    const records: string[] = [];
    reader.consume((record) => {
      records.push(hex(record));
    });
    out[name] = records;
  }
  return out;
}

/** Loads `file` on `system` (the mock leaves out what it cannot run) and runs every packet program on `packets`. */
function run(system: System, file: string, only?: readonly string[]) {
  // The mock relocates CO-RE against the kernel's BTF like the kernel backend (it reads only the file).
  const kernelBtf = system instanceof MockSystem ? { kernelBtf: '/sys/kernel/btf/vmlinux' } : {};
  const coll = system.loadCollection(file, { ignorePinning: true, ...kernelBtf, ...(only ? { programs: only } : {}) });
  try {
    const results: Record<string, string[]> = {};
    for (const [name, program] of Object.entries(coll.programs).sort(([a], [b]) => a.localeCompare(b))) {
      if (!PACKET_TYPES.has(program.type)) continue;
      results[name] = packets().map((data) => {
        // With a context in, so the context out is compared too: xdp_md (data_end the length) or __sk_buff.
        const context = program.type === ProgramType.XDP ? xdpMd(data.length) : skbContext();
        const r = program.testRun({ data, context });
        return `${r.returnValue} ${r.dataSizeOut} ${hex(r.data)} ctx ${hex(r.context ?? new Uint8Array(0))}`;
      });
    }
    return { programs: Object.keys(coll.programs).sort(), results, maps: mapContents(coll), records: ringRecords(system, coll) };
  } finally {
    coll.close();
  }
}

whenKernel('program:xdp', 'program:sched_cls').describe('the mock against the kernel, on every test object', () => {
  for (const [label, file] of Object.entries(OBJECTS)) {
    it(`${label}: the same verdicts, packets and map contents`, () => {
      using mock = new MockSystem();
      using kernel = new NativeSystem();
      const cannot = Object.keys(MOCK_CANNOT[label] ?? {});
      const programs = run(kernel, file, undefined).programs.filter((p) => !cannot.includes(p));
      const onKernel = run(kernel, file, programs);
      const onMock = run(mock, file, programs);
      expect(onMock.programs).toEqual(programs);
      expect(onMock.results).toEqual(onKernel.results);
      expect(onMock.maps).toEqual(onKernel.maps);
      expect(onMock.records).toEqual(onKernel.records);
      expect(Object.keys(onMock.results).length).toBeGreaterThan(0);
    });
  }
});
