import fs from 'node:fs';
import os from 'node:os';
import { Helper, MapType, ProgramType } from '@bpfkit/core';
import type { EventReader, EventSource, System } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from './backends.js';
import { assembleWithMaps, ldMapFd } from '@bpfkit/mock/testing';

// Records a program writes (bpf_ringbuf_output, bpf_perf_event_output) reach the user through the same
// EventReader on the kernel and on the mock: a hand-assembled XDP program run N times with testRun.

/** The first 16 bytes of the packet, copied to the stack at r10-16 (XDP_DROP when shorter). */
const copyHead = `ldxw %r2, [%r1+0]
  ldxw %r3, [%r1+4]
  mov %r4, %r2
  add %r4, 16
  jle %r4, %r3, +2
  mov %r0, 1
  exit
  ldxdw %r5, [%r2+0]
  stxdw [%r10-16], %r5
  ldxdw %r5, [%r2+8]
  stxdw [%r10-8], %r5`;

/** XDP: bpf_ringbuf_output of the packet's first 16 bytes, then XDP_PASS. */
function ringProgram(system: System, fd: number) {
  const asm = `${copyHead}
  ${ldMapFd(1, fd)}
  mov %r2, %r10
  add %r2, -16
  mov %r3, 16
  mov %r4, 0
  call ${Helper.ringbuf_output}
  mov %r0, 2
  exit`;
  return system.loadProgram({ name: 'ring_out', type: ProgramType.XDP, license: 'GPL', instructions: assembleWithMaps(asm) });
}

/** XDP: bpf_perf_event_output (BPF_F_CURRENT_CPU) of the packet's first 12 bytes, then XDP_PASS. */
function perfProgram(system: System, fd: number) {
  const asm = `${copyHead}
  ${ldMapFd(2, fd)}
  lddw %r3, 0xffffffff
  mov %r4, %r10
  add %r4, -16
  mov %r5, 12
  call ${Helper.perf_event_output}
  mov %r0, 2
  exit`;
  return system.loadProgram({ name: 'perf_out', type: ProgramType.XDP, license: 'GPL', instructions: assembleWithMaps(asm) });
}

/** Packet `i`: 64 bytes, the first 16 are i, i+1, ... */
const packet = (i: number) => new Uint8Array(64).map((_, j) => (i + j) & 0xff);

const N = 20;

/** How many fds this process has open. */
const openFds = () => fs.readdirSync('/proc/self/fd').length;

/** Resolves after `reader`'s subscriber got `n` records (or rejects after 2 s). */
function collect(reader: EventReader, n: number, records: Uint8Array[] = []): Promise<{ records: Uint8Array[]; sources: EventSource[] }> {
  const sources: EventSource[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`got ${records.length} of ${n} records`));
    }, 2000);
    const stop = reader.subscribe((record, source) => {
      records.push(record.slice());
      sources.push(source);
      if (records.length === n) {
        clearTimeout(timer);
        stop();
        resolve({ records, sources });
      }
    });
  });
}

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(
    `event readers of program output on the ${backend.name} backend${backend.skip ? ` — skipped: ${backend.skip}` : ''}`,
    () => {
      it('bpf_ringbuf_output from N test runs reaches subscribe in order, intact, never during the run', async () => {
        using system = backend.open();
        using events = system.createMap({ name: 'events', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
        using prog = ringProgram(system, events.fd);
        const fds = openFds();
        const reader = system.openRingBuffer(events);
        const delivered: Uint8Array[] = [];
        const got = collect(reader, N, delivered);
        await new Promise((resolve) => setImmediate(resolve)); // the reader is armed and idle
        for (let i = 0; i < N; i++) expect(prog.testRun({ data: packet(i) }).returnValue).toBe(2);
        expect(delivered).toEqual([]); // delivery waits for a later turn of the event loop
        const { records, sources } = await got;
        expect(records.map((r) => [...r])).toEqual(Array.from({ length: N }, (_, i) => [...packet(i).subarray(0, 16)]));
        expect(sources.every((s) => s.map === 'events' && s.cpu === undefined)).toBe(true);
        const stats = reader.stats();
        expect(stats).toMatchObject({ received: N, bytes: N * 16, lost: 0, discarded: 0, dropped: 0 });
        expect(stats.wakeups).toBeGreaterThan(0);
        // Nothing left: consume, readAvailable and a short poll find nothing.
        expect(reader.consume(() => {})).toBe(0);
        expect(reader.readAvailable()).toEqual([]);
        expect(await reader.poll(() => {}, 10)).toBe(0);
        reader.close();
        expect(reader.closed).toBe(true);
        expect(() => reader.consume(() => {})).toThrow(/closed/);
        reader.close(); // twice is fine
        expect(openFds()).toBe(fds); // close leaks no fd (the kernel reader's mappings' fds, epoll watches)
      });

      it('consume, readAvailable, poll and async iteration read what test runs wrote', async () => {
        using system = backend.open();
        using events = system.createMap({ name: 'events', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
        using prog = ringProgram(system, events.fd);
        using reader = system.openRingBuffer(events);
        for (let i = 0; i < 4; i++) prog.testRun({ data: packet(i) });
        const first: number[] = [];
        expect(reader.consume((r) => first.push(r[0] as number), 2)).toBe(2);
        expect(first).toEqual([0, 1]);
        expect(reader.readAvailable().map((r) => r[0])).toEqual([2, 3]);
        const polled = reader.poll((r) => first.push(r[0] as number), 1000);
        prog.testRun({ data: packet(9) });
        expect(await polled).toBe(1);
        expect(first).toEqual([0, 1, 9]);
        prog.testRun({ data: packet(7) });
        for await (const r of reader) {
          expect(r[0]).toBe(7);
          break;
        }
        expect(reader.stats()).toMatchObject({ received: 6, bytes: 96, lost: 0 });
      });

      it('bpf_perf_event_output (BPF_F_CURRENT_CPU) from N test runs reaches subscribe with its CPU', async () => {
        using system = backend.open();
        using events = system.createMap({
          name: 'pevents',
          type: MapType.PERF_EVENT_ARRAY,
          keySize: 4,
          valueSize: 4,
          maxEntries: os.cpus().length,
        });
        using prog = perfProgram(system, events.fd);
        using reader = system.openPerfEventArray(events, { pagesPerCpu: 4 });
        const got = collect(reader, N);
        for (let i = 0; i < N; i++) expect(prog.testRun({ data: packet(i) }).returnValue).toBe(2);
        const { records, sources } = await got;
        expect(records.map((r) => [...r])).toEqual(Array.from({ length: N }, (_, i) => [...packet(i).subarray(0, 12)]));
        expect(sources.every((s) => s.map === 'pevents' && typeof s.cpu === 'number')).toBe(true);
        expect(reader.stats()).toMatchObject({ received: N, bytes: N * 12, lost: 0 });
      });
    },
  );
}
