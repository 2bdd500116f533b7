import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, MapType, ProgramType } from '@bpfkit/core';
import { encodeInstructions } from '@bpfkit/elf';
import type { InstructionFields } from '@bpfkit/elf';
import {
  BPF_F_TEST_RUN_ON_CPU,
  closeFd,
  HOST_LITTLE_ENDIAN,
  mapCreate,
  onlineCpus,
  possibleCpus,
  progLoad,
  progTestRun,
} from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerfEventArrayReader, planCpus } from './reader.js';

const I = (opcode: number, f: Partial<InstructionFields> = {}): InstructionFields => ({ opcode, dst: 0, src: 0, offset: 0, imm: 0, ...f });

/**
 * A raw tracepoint program: ctx = { u64 size, u64 seq }. Fills 256 stack bytes with u64 words
 * `(seq << 8) + i` and calls bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU, stack, size);
 * returns the helper's result (-22 for a size outside 1..256).
 */
function emitter(mapFd: number): Uint8Array {
  const fill: InstructionFields[] = [];
  for (let i = 0; i < 32; i++) {
    fill.push(I(0xbf, { dst: 0, src: 9 }), I(0x07, { dst: 0, imm: i }), I(0x7b, { dst: 10, src: 0, offset: -256 + 8 * i }));
  }
  const call: InstructionFields[] = [
    I(0xbf, { dst: 1, src: 6 }),
    I(0x18, { dst: 2, src: 1, imm: mapFd }), // ld_imm64 map fd (two slots)
    I(0x00),
    I(0xb4, { dst: 3, imm: -1 }), // w3 = 0xffffffff: BPF_F_CURRENT_CPU
    I(0xbf, { dst: 4, src: 10 }),
    I(0x07, { dst: 4, imm: -256 }),
    I(0xbf, { dst: 5, src: 7 }),
    I(0x85, { imm: 25 }), // bpf_perf_event_output
    I(0x95),
  ];
  const insns = [
    I(0xbf, { dst: 6, src: 1 }),
    I(0x79, { dst: 7, src: 6, offset: 0 }),
    I(0x79, { dst: 8, src: 6, offset: 8 }),
    I(0xbf, { dst: 9, src: 8 }),
    I(0x67, { dst: 9, imm: 8 }),
    ...fill,
    I(0x15, { dst: 7, imm: 0, offset: call.length + 1 }), // size == 0 → out
    I(0x25, { dst: 7, imm: 256, offset: call.length }), // size > 256 → out
    ...call,
    I(0xb7, { dst: 0, imm: -22 }),
    I(0x95),
  ];
  // encodeInstructions takes ld_imm64 as one item: drop the placeholder second slot.
  return encodeInstructions(
    insns.filter((ins, i) => !(ins.opcode === 0 && insns[i - 1]?.opcode === 0x18)),
    HOST_LITTLE_ENDIAN,
  );
}

/** The bytes the program sends for (size, seq): the first `size` bytes of 32 u64 words (seq << 8) + i. */
function expected(size: number, seq: number): Uint8Array {
  const out = new Uint8Array(256);
  const v = new DataView(out.buffer);
  for (let i = 0; i < 32; i++) v.setBigUint64(8 * i, (BigInt(seq) << 8n) + BigInt(i), HOST_LITTLE_ENDIAN);
  return out.subarray(0, size);
}

const seqOf = (rec: Uint8Array): number => Number(new DataView(rec.buffer, rec.byteOffset, 8).getBigUint64(0, HOST_LITTLE_ENDIAN) >> 8n);
const padded = (size: number) => Math.ceil((size + 4) / 8) * 8 - 4;
const openFds = () => fs.readdirSync('/proc/self/fd').length;

describe('perf event array reader arguments', () => {
  it('opens events for the online CPUs among the possible ones and lists the offline ones', () => {
    expect(planCpus(4, [0, 1, 3])).toEqual({ read: [0, 1, 3], offline: [2] });
    expect(planCpus(2, [0, 1, 2])).toEqual({ read: [0, 1], offline: [] });
    expect(planCpus(3, [])).toEqual({ read: [], offline: [0, 1, 2] });
  });

  it('refuses a page count that is not a power of two, and both wake-up kinds at once', () => {
    expect(() => PerfEventArrayReader.open({ fd: -1 }, { pagesPerCpu: 3 })).toThrow(InvalidArgumentError);
    expect(() => PerfEventArrayReader.open({ fd: -1 }, { wakeupEvents: 1, wakeupBytes: 64 })).toThrow(/one of them/);
  });
});

whenKernel('map:perf_event_array', 'program:raw_tracepoint').describe('perf event array reader on the kernel', () => {
  let mapFd = -1;
  let progFd = -1;
  const cpus = () => onlineCpus();
  const emit = (size: number, seq: number, cpu: number): number => {
    const ctx = new Uint8Array(16);
    const v = new DataView(ctx.buffer);
    v.setBigUint64(0, BigInt(size), HOST_LITTLE_ENDIAN);
    v.setBigUint64(8, BigInt(seq), HOST_LITTLE_ENDIAN);
    return progTestRun({ progFd, ctxIn: ctx, flags: BPF_F_TEST_RUN_ON_CPU, cpu }).retval | 0;
  };

  beforeAll(() => {
    mapFd = mapCreate({ mapType: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: possibleCpus(), mapName: 'events' });
    progFd = progLoad(
      { progType: ProgramType.RAW_TRACEPOINT, insns: emitter(mapFd), license: 'GPL', progName: 'emit' },
      new Uint8Array(1 << 20),
    );
  });
  afterAll(() => {
    if (progFd >= 0) closeFd(progFd);
    if (mapFd >= 0) closeFd(mapFd);
  });

  it('delivers every record in order, with its CPU and bytes (sizes 1..256, padded by the kernel to 8 bytes with the u32 size)', () => {
    using reader = PerfEventArrayReader.open({ fd: mapFd }, { pagesPerCpu: 16 });
    expect(reader.cpus).toEqual(cpus());
    expect(reader.offlineCpus).toEqual([]);
    const sent: { size: number; seq: number; cpu: number }[] = [];
    const all = reader.cpus;
    for (let seq = 0; seq < 300; seq++) {
      const size = 1 + ((seq * 37) % 256);
      const cpu = all[seq % all.length]!;
      expect(emit(size, seq, cpu)).toBe(0);
      sent.push({ size, seq, cpu });
    }
    const got: { rec: Uint8Array; cpu: number | undefined; map: string }[] = [];
    expect(reader.consume((rec, source) => got.push({ rec: rec.slice(), cpu: source.cpu, map: source.map }))).toBe(300);
    expect(got.every((g) => g.map === 'events')).toBe(true);
    for (const cpu of all) {
      const mine = got.filter((g) => g.cpu === cpu);
      const want = sent.filter((s) => s.cpu === cpu);
      expect(mine.length).toBe(want.length);
      // records of 8 bytes or more carry their sequence number; smaller ones are checked byte for byte below
      expect(mine.filter((g) => g.rec.byteLength >= 8).map((g) => seqOf(g.rec))).toEqual(
        want.filter((s) => padded(s.size) >= 8).map((s) => s.seq),
      );
      mine.forEach((g, i) => {
        expect(g.rec.byteLength).toBe(padded(want[i]!.size));
        expect(g.rec.subarray(0, want[i]!.size)).toEqual(expected(want[i]!.size, want[i]!.seq));
      });
    }
    const s = reader.stats();
    expect(s.received).toBe(300);
    expect(s.bytes).toBe(sent.reduce((n, x) => n + padded(x.size), 0));
    expect(s.lost).toBe(0);
    expect(reader.readAvailable()).toEqual([]);
  });

  it('wraps around a one-page ring many times: records split by its end arrive stitched and intact', () => {
    using reader = PerfEventArrayReader.open({ fd: mapFd }, { pagesPerCpu: 1 });
    const cpu = reader.cpus[0]!;
    let seq = 0;
    const got: Uint8Array[] = [];
    for (let round = 0; round < 40; round++) {
      // 8 + 4 + 100 padded to 112-byte records: 4096 is not a multiple, so records straddle the end
      for (let i = 0; i < 30; i++) expect(emit(100, seq++, cpu)).toBe(0);
      got.push(...reader.readAvailable());
    }
    expect(got.length).toBe(seq);
    got.forEach((rec, i) => {
      expect(rec.subarray(0, 100)).toEqual(expected(100, i));
    });
    expect(reader.stats().lost).toBe(0);
  });

  it('consumeInPlace hands out (data, offset, length) without a view per record, split records from the scratch buffer', () => {
    using reader = PerfEventArrayReader.open({ fd: mapFd }, { pagesPerCpu: 1 });
    const cpu = reader.cpus[0]!;
    let seq = 0;
    const got: Uint8Array[] = [];
    const buffers = new Set<ArrayBufferLike>();
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 30; i++) expect(emit(100, seq++, cpu)).toBe(0);
      reader.consumeInPlace((data, offset, length, source) => {
        expect(source.cpu).toBe(cpu);
        buffers.add(data.buffer);
        got.push(data.slice(offset, offset + length));
      });
    }
    expect(got.length).toBe(seq);
    got.forEach((rec, i) => {
      expect(rec.byteLength).toBe(padded(100));
      expect(rec.subarray(0, 100)).toEqual(expected(100, i));
    });
    expect(buffers.size).toBe(2); // the mapping, and the scratch buffer of the split records
    expect(reader.stats()).toMatchObject({ received: seq, bytes: seq * padded(100), lost: 0 });
  });

  it('counts exactly the records a full one-page ring lost (sent - received == lost), per CPU and through onLost', async () => {
    using reader = PerfEventArrayReader.open({ fd: mapFd }, { pagesPerCpu: 1 });
    const cpu = reader.cpus.at(-1)!;
    let failed = 0;
    const sent = 200;
    for (let seq = 0; seq < sent; seq++) if (emit(100, seq, cpu) !== 0) failed++;
    expect(failed).toBeGreaterThan(100); // 4096 bytes hold 36 records of 112 bytes
    let received = 0;
    const lostEvents: [number, number | undefined][] = [];
    const off = reader.subscribe(() => received++, { onLost: (n, source) => lostEvents.push([n, source.cpu]) });
    await new Promise((r) => setTimeout(r, 20));
    // the kernel reports the loss with its next successful write
    expect(emit(100, sent, cpu)).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    off();
    const s = reader.stats();
    expect(received).toBe(s.received);
    expect(sent + 1 - received).toBe(s.lost);
    expect(s.lost).toBe(failed);
    expect(s.lostPerCpu[cpu]).toBe(failed);
    expect(lostEvents).toEqual([[failed, cpu]]);
    expect(s.wakeups).toBeGreaterThan(0);
  });

  it('pause() stops output (the helper fails with ENOSPC, the kernel counts the drops as lost and reports them after resume())', () => {
    using reader = PerfEventArrayReader.open({ fd: mapFd }, { pagesPerCpu: 4 });
    const cpu = reader.cpus[0]!;
    expect(emit(8, 1, cpu)).toBe(0);
    reader.pause();
    expect(reader.paused).toBe(true);
    for (let i = 0; i < 5; i++) expect(emit(8, 100 + i, cpu)).toBe(-28);
    // what was written before the pause can still be read
    expect(reader.readAvailable().map(seqOf)).toEqual([1]);
    reader.resume();
    expect(reader.stats().lost).toBe(0);
    expect(emit(8, 2, cpu)).toBe(0);
    expect(reader.readAvailable().map(seqOf)).toEqual([2]);
    expect(reader.stats().lost).toBe(5);
  });

  it('an overwritable ring keeps the newest records, read oldest first, then only what came since', () => {
    using reader = PerfEventArrayReader.open({ fd: mapFd }, { pagesPerCpu: 1, overwritable: true });
    expect(reader.overwritable).toBe(true);
    const cpu = reader.cpus[0]!;
    for (let seq = 0; seq < 200; seq++) expect(emit(100, seq, cpu)).toBe(0); // never fails: the kernel overwrites
    const newest = reader.readAvailable().map(seqOf);
    expect(newest.length).toBeGreaterThanOrEqual(35); // 4096 / 112 = 36.6 (one may be partly overwritten)
    expect(newest.length).toBeLessThanOrEqual(36);
    expect(newest).toEqual(Array.from({ length: newest.length }, (_, i) => 200 - newest.length + i));
    for (let seq = 200; seq < 203; seq++) expect(emit(100, seq, cpu)).toBe(0);
    reader.pause();
    expect(reader.readAvailable().map(seqOf)).toEqual([200, 201, 202]);
    reader.resume();
    expect(reader.readAvailable()).toEqual([]);
    expect(reader.stats().lost).toBe(0);
  });

  it('wakes a subscriber and an awaiting poll() through the event loop', async () => {
    using reader = PerfEventArrayReader.open({ fd: mapFd }, { pagesPerCpu: 2 });
    const cpu = reader.cpus[0]!;
    const polled: number[] = [];
    const waiting = reader.poll((rec) => polled.push(seqOf(rec)), 2000);
    setTimeout(() => emit(16, 7, cpu), 10);
    expect(await waiting).toBe(1);
    expect(polled).toEqual([7]);
    expect(await reader.poll(() => {}, 10)).toBe(0); // times out
    const seen: number[] = [];
    const done = new Promise<void>((resolve) => {
      reader.subscribe((rec, source) => {
        expect(source.cpu).toBe(cpu);
        seen.push(seqOf(rec));
        if (seen.length === 3) resolve();
      });
    });
    setTimeout(() => {
      for (let i = 0; i < 3; i++) emit(16, 10 + i, cpu);
    }, 10);
    await done;
    expect(seen).toEqual([10, 11, 12]);
    expect(reader.stats().wakeups).toBeGreaterThanOrEqual(2);
  });

  for (const [what, options] of [
    ['every 3 records (wakeupEvents)', { wakeupEvents: 3 }],
    ['past 256 bytes (wakeupBytes)', { wakeupBytes: 256 }],
  ] as const) {
    it(`wakes a subscriber ${what}, not before`, async () => {
      using reader = PerfEventArrayReader.open({ fd: mapFd }, { pagesPerCpu: 2, ...options });
      const cpu = reader.cpus[0]!;
      const seen: number[] = [];
      let woken: () => void = () => {};
      const third = new Promise<void>((resolve) => {
        woken = resolve;
      });
      reader.subscribe((rec) => {
        seen.push(seqOf(rec));
        if (seen.length === 3) woken();
      });
      await new Promise((r) => setTimeout(r, 10)); // armed
      emit(100, 0, cpu); // 112-byte records
      emit(100, 1, cpu);
      await new Promise((r) => setTimeout(r, 30));
      expect(seen).toEqual([]);
      expect(reader.stats().wakeups).toBe(0);
      emit(100, 2, cpu);
      await third;
      expect(seen).toEqual([0, 1, 2]);
      expect(reader.stats().wakeups).toBe(1);
    });
  }

  it('async iteration yields copies; a subscriber closing the reader from its callback stops the read there', async () => {
    const reader = PerfEventArrayReader.open({ fd: mapFd }, { pagesPerCpu: 2 });
    const cpu = reader.cpus[0]!;
    for (let seq = 0; seq < 3; seq++) emit(16, seq, cpu);
    const iterated: Uint8Array[] = [];
    for await (const rec of reader) {
      iterated.push(rec);
      if (iterated.length === 3) break;
    }
    expect(iterated.map(seqOf)).toEqual([0, 1, 2]);
    for (let seq = 3; seq < 8; seq++) emit(16, seq, cpu);
    const seen: number[] = [];
    await new Promise<void>((resolve) => {
      reader.subscribe((rec) => {
        seen.push(seqOf(rec));
        if (seen.length === 2) {
          reader.close();
          resolve();
        }
      });
    });
    expect(seen).toEqual([3, 4]);
    expect(reader.closed).toBe(true);
    expect(emit(8, 1, cpu)).toBe(-2); // removed from the map
  });

  it('close() removes the events from the map (outputs fail with ENOENT) and leaks no fd over 100 cycles', () => {
    const before = openFds();
    for (let i = 0; i < 100; i++) PerfEventArrayReader.open({ fd: mapFd }, { pagesPerCpu: 1 }).close();
    expect(openFds()).toBe(before);
    const reader = PerfEventArrayReader.open({ fd: mapFd }, { pagesPerCpu: 1 });
    reader.subscribe(() => {});
    reader.close();
    reader.close();
    expect(openFds()).toBe(before);
    expect(emit(8, 1, onlineCpus()[0]!)).toBe(-2);
    expect(() => reader.readAvailable()).toThrow(/closed/);
  });

  it('refuses a map of another type and one with fewer entries than CPUs, naming what it expected', () => {
    const hash = mapCreate({ mapType: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
    try {
      expect(() => PerfEventArrayReader.open({ fd: hash })).toThrow(/perf_event_array map.*not hash/);
    } finally {
      closeFd(hash);
    }
    if (possibleCpus() > 1) {
      const small = mapCreate({ mapType: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      try {
        expect(() => PerfEventArrayReader.open({ fd: small })).toThrow(/at least the \d+ possible CPUs/);
      } finally {
        closeFd(small);
      }
    }
  });

  const distReader = path.resolve(import.meta.dirname, '../../dist/perf-array/reader.js');
  const child = (body: string) =>
    spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { PerfEventArrayReader } from ${JSON.stringify(path.resolve(import.meta.dirname, '../../dist/index.js'))};
         import { mapCreate, possibleCpus } from ${JSON.stringify(path.resolve(import.meta.dirname, '../../../syscalls/dist/index.js'))};
         const fd = mapCreate({ mapType: 4, keySize: 4, valueSize: 4, maxEntries: possibleCpus() });
         ${body}`,
      ],
      { encoding: 'utf8', timeout: 10_000 },
    );
  whenKernel('map:perf_event_array')
    .unless(
      fs.existsSync(distReader)
        ? undefined
        : 'packages/perf/dist has no perf-array reader: build it (pnpm --filter @bpfkit/perf run build)',
    )
    .it('a child process that subscribes and closes (or only unrefs) exits on its own', () => {
      const closed = child(
        `const r = PerfEventArrayReader.open({ fd }); r.subscribe(() => {}); setTimeout(() => { r.close(); console.log('closed'); }, 50);`,
      );
      expect(closed.signal, closed.stderr).toBeNull();
      expect(closed.status, closed.stderr).toBe(0);
      expect(closed.stdout).toContain('closed');
      const unrefd = child(
        `const r = PerfEventArrayReader.open({ fd }); r.subscribe(() => {}); r.unref(); globalThis.keep = r; console.log('unref');`,
      );
      expect(unrefd.signal, unrefd.stderr).toBeNull();
      expect(unrefd.status, unrefd.stderr).toBe(0);
    });
});
