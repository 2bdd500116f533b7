import { Helper, MapType, ProgramType, struct, u32 } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import type { MockRingBufferReader } from './event-readers.js';
import { MockSystem } from './mock-system.js';
import { ldMapFd, assembleWithMaps } from './test-support/index.js';

// The mock's readers over the runtime's record queues: what only the mock shows (lost records of a full ring,
// discarded ones, watchers removed on close, takeRecords beside a reader) and the parts of the EventReader
// contract the contract suite does not reach (batches, in place, codecs, errors).

/** XDP writing the u32 at packet offset 0 into the ring buffer, then reserving and discarding 4 bytes. */
function writer(system: MockSystem, fd: number) {
  const asm = `ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 4
    jle %r4, %r3, +2
    mov %r0, 1
    exit
    ldxw %r5, [%r2+0]
    stxw [%r10-4], %r5
    ${ldMapFd(1, fd)}
    mov %r2, %r10
    add %r2, -4
    mov %r3, 4
    mov %r4, 0
    call ${Helper.ringbuf_output}
    ${ldMapFd(1, fd)}
    mov %r2, 4
    mov %r3, 0
    call ${Helper.ringbuf_reserve}
    jeq %r0, 0, +3
    mov %r1, %r0
    mov %r2, 0
    call ${Helper.ringbuf_discard}
    mov %r0, 2
    exit`;
  return system.loadProgram({ name: 'writer', type: ProgramType.XDP, license: 'GPL', instructions: assembleWithMaps(asm) });
}

const packet = (n: number) => {
  const p = new Uint8Array(64);
  new DataView(p.buffer).setUint32(0, n, true);
  return p;
};
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('MockSystem event readers', () => {
  it('a full ring buffer counts the refused writes as lost (onLost too); discarded reservations are counted', async () => {
    using system = new MockSystem();
    // 4096 bytes: 256 records of 8 + 8 bytes; the reserve of each run needs room too.
    using events = system.createMap({ name: 'events', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
    using prog = writer(system, events.fd);
    using reader = system.openRingBuffer(events);
    const lost: number[] = [];
    const got: number[] = [];
    const stop = reader.subscribe((r) => got.push(new DataView(r.buffer, r.byteOffset).getUint32(0, true)), {
      onLost: (n, source) => {
        expect(source.map).toBe('events');
        lost.push(n);
      },
    });
    await turn();
    for (let i = 0; i < 300; i++) prog.testRun({ data: packet(i) });
    await turn();
    await turn();
    stop();
    expect(got).toEqual(Array.from({ length: 256 }, (_, i) => i));
    // Run 255 output the 256th record and its reservation failed; runs 256..299 failed both.
    const stats = reader.stats();
    expect(stats.received).toBe(256);
    expect(stats.lost).toBe(1 + 44 * 2);
    expect(lost.reduce((a, b) => a + b, 0)).toBe(stats.lost);
    expect(stats.discarded).toBe(255);
    // The room is back: the next run's records arrive.
    prog.testRun({ data: packet(1000) });
    expect(reader.readAvailable().map((r) => r[0])).toEqual([1000 & 0xff]);
  });

  it('closing a reader removes its wake-ups; takeRecords still takes what no reader read', async () => {
    using system = new MockSystem();
    using events = system.createMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
    using prog = writer(system, events.fd);
    const reader = system.openRingBuffer(events);
    reader.subscribe(() => {});
    const iterating = (async () => {
      for await (const _ of reader) return 'record';
      return 'ended';
    })();
    expect(system.runtime.watcherCount).toBe(1);
    reader.close();
    expect(await iterating).toBe('ended');
    expect(system.runtime.watcherCount).toBe(0);
    prog.testRun({ data: packet(5) });
    expect(system.takeRecords(events).map((r) => r[0])).toEqual([5]);
  });

  it('batches, subscribeInPlace and a codec deliver the records', async () => {
    using system = new MockSystem();
    using events = system.createMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
    using prog = writer(system, events.fd);
    const codec = struct({ n: [0, u32] });
    using decoded = system.openRingBuffer(events, { codec });
    prog.testRun({ data: packet(7) });
    expect(decoded.readAvailable()).toEqual([{ n: 7 }]);

    using reader = system.openRingBuffer(events) as MockRingBufferReader;
    const lengths: number[] = [];
    const stop = reader.subscribeInPlace((data, offset, length) => lengths.push(data[offset] as number, length));
    await turn();
    prog.testRun({ data: packet(8) });
    await turn();
    await turn();
    stop();
    expect(lengths).toEqual([8, 4]);

    const abort = new AbortController();
    const batches = reader.batches({ size: 2, flushIntervalMs: 5, signal: abort.signal })[Symbol.asyncIterator]();
    const first = batches.next();
    await turn();
    for (let i = 0; i < 3; i++) prog.testRun({ data: packet(i) });
    expect((await first).value?.map((r: Uint8Array) => r[0])).toEqual([0, 1]);
    expect((await batches.next()).value?.map((r: Uint8Array) => r[0])).toEqual([2]);
    abort.abort();
    expect((await batches.next()).done).toBe(true);
  });

  it('a perf event array reader gives each record with the CPU it was written on', async () => {
    using system = new MockSystem({ environment: { cpu: 1 } });
    using perf = system.createMap({ name: 'perf', type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
    using prog = system.loadProgram({
      name: 'perf',
      type: ProgramType.XDP,
      license: 'GPL',
      instructions: assembleWithMaps(`stdw [%r10-8], 0x0201
        ${ldMapFd(2, perf.fd)}
        lddw %r3, 0xffffffff
        mov %r4, %r10
        add %r4, -8
        mov %r5, 2
        call ${Helper.perf_event_output}
        mov %r0, 2
        exit`),
    });
    using reader = system.openPerfEventArray(perf);
    const polled = reader.poll((r, source) => expect([[...r], source]).toEqual([[1, 2], { map: 'perf', cpu: 1 }]), 1000);
    prog.testRun({ data: packet(0) });
    expect(await polled).toBe(1);
  });

  it('refuses maps of another type, closed maps and a pagesPerCpu that is not a power of two', () => {
    using system = new MockSystem();
    using hash = system.createMap({ name: 'h', type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
    using perf = system.createMap({ type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    const ring = system.createMap({ name: 'r', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
    expect(() => system.openRingBuffer(hash)).toThrow(/a ringbuf map/);
    expect(() => system.openRingBuffer([])).toThrow(/at least one/);
    expect(() => system.openPerfEventArray(ring)).toThrow(/a perf_event_array map/);
    expect(() => system.openPerfEventArray(perf, { pagesPerCpu: 3 })).toThrow(/power of two/);
    ring.close();
    expect(() => system.openRingBuffer(ring)).toThrow(/an open map of this mock system/);
  });
});
