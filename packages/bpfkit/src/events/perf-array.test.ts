import { InvalidArgumentError, MapType, ProgramType, u32, u64 } from '@bpfkit/core';
import { encodeInstructions } from '@bpfkit/elf';
import type { InstructionFields } from '@bpfkit/elf';
import { PerfEventArrayReader } from '@bpfkit/perf';
import { BPF_F_TEST_RUN_ON_CPU, closeFd, HOST_LITTLE_ENDIAN, progLoad, progTestRun } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect, it } from 'vitest';
import { NativeSystem } from '../native-system.js';

const I = (opcode: number, f: Partial<InstructionFields> = {}): InstructionFields => ({ opcode, dst: 0, src: 0, offset: 0, imm: 0, ...f });

/** raw_tracepoint: bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU, &ctx[0], 8); returns the helper's result. */
const emitU64 = (mapFd: number): Uint8Array =>
  encodeInstructions(
    [
      I(0x79, { dst: 2, src: 1, offset: 0 }), // r2 = ctx[0]
      I(0x7b, { dst: 10, src: 2, offset: -8 }), // *(u64 *)(r10 - 8) = r2
      I(0x18, { dst: 2, src: 1, imm: mapFd }), // r2 = map
      I(0xb4, { dst: 3, imm: -1 }), // w3 = BPF_F_CURRENT_CPU
      I(0xbf, { dst: 4, src: 10 }),
      I(0x07, { dst: 4, imm: -8 }),
      I(0xb7, { dst: 5, imm: 8 }),
      I(0x85, { imm: 25 }), // bpf_perf_event_output (r1 is still ctx)
      I(0x95),
    ],
    HOST_LITTLE_ENDIAN,
  );

whenKernel('map:perf_event_array', 'program:raw_tracepoint').describe('NativeSystem.openPerfEventArray', () => {
  it('reads a perf event array map through a codec, each record tagged with its CPU and the map name', async () => {
    using system = new NativeSystem();
    using map = system.createMap({
      type: MapType.PERF_EVENT_ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: system.possibleCpus,
      name: 'samples',
    });
    const prog = progLoad({ progType: ProgramType.RAW_TRACEPOINT, insns: emitU64(map.fd), license: 'GPL', progName: 'emit_u64' });
    try {
      using reader = system.openPerfEventArray(map, { codec: u64, pagesPerCpu: 2 });
      expect(reader).toBeInstanceOf(PerfEventArrayReader);
      const cpu = (reader as PerfEventArrayReader<bigint>).cpus.at(-1)!;
      const emit = (v: bigint) => {
        const ctx = new Uint8Array(8);
        new DataView(ctx.buffer).setBigUint64(0, v, HOST_LITTLE_ENDIAN);
        return progTestRun({ progFd: prog, ctxIn: ctx, flags: BPF_F_TEST_RUN_ON_CPU, cpu }).retval | 0;
      };
      const got: [bigint, number | undefined, string][] = [];
      const polled = reader.poll((v, source) => got.push([v, source.cpu, source.map]), 2000);
      setTimeout(() => {
        for (const v of [1n, 2n ** 40n, 3n]) emit(v);
      }, 5);
      await polled;
      got.push(...reader.readAvailable().map((v): [bigint, number, string] => [v, cpu, 'samples']));
      expect(got).toEqual([
        [1n, cpu, 'samples'],
        [2n ** 40n, cpu, 'samples'],
        [3n, cpu, 'samples'],
      ]);
      const batches = reader.batches({ size: 2, flushIntervalMs: 20 });
      for (const v of [10n, 11n, 12n]) emit(v);
      const seen: bigint[][] = [];
      for await (const batch of batches) {
        seen.push(batch);
        if (seen.flat().length === 3) break;
      }
      expect(seen).toEqual([[10n, 11n], [12n]]);
      expect(reader.stats()).toMatchObject({ received: 6, bytes: 6 * 12, lost: 0, dropped: 0 });
    } finally {
      closeFd(prog);
    }
  });

  it('refuses a map of another type, naming the type it wants, and a map with fewer entries than CPUs', () => {
    using system = new NativeSystem();
    using hash = system.createMap({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 4 }, { key: u32, value: u32 });
    expect(() => system.openPerfEventArray(hash)).toThrow(InvalidArgumentError);
    expect(() => system.openPerfEventArray(hash)).toThrow(/perf_event_array map \(BPF_MAP_TYPE_PERF_EVENT_ARRAY\), not hash/);
    if (system.possibleCpus > 1) {
      using small = system.createMap({ type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      expect(() => system.openPerfEventArray(small)).toThrow(/max_entries.*at least the \d+ possible CPUs/);
    }
  });
});
