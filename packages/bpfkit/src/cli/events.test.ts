import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MapType, ProgramType } from '@bpfkit/core';
import { loadKernelProgram } from '@bpfkit/attach';
import { BtfBuilder, encodeInstructions } from '@bpfkit/elf';
import type { InstructionFields } from '@bpfkit/elf';
import { createKernelMap } from '@bpfkit/maps';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { afterAll, beforeAll, expect } from 'vitest';
import { runCli } from './main.js';

const LE = os.endianness() === 'LE';
const I = (opcode: number, f: Partial<InstructionFields> = {}): InstructionFields => ({ opcode, dst: 0, src: 0, offset: 0, imm: 0, ...f });

/** bpf_ringbuf_output(map, &{pid: 7, seq: len: skb->len}, 8, 0): an 8-byte record per run. */
function emitter(mapFd: number) {
  return encodeInstructions(
    [
      I(0x61, { dst: 2, src: 1, offset: 0 }), // r2 = skb->len (differs per run: the test sends different sizes)
      I(0x62, { dst: 10, offset: -8, imm: 7 }), // *(u32 *)(r10 - 8) = 7
      I(0x63, { dst: 10, src: 2, offset: -4 }), // *(u32 *)(r10 - 4) = len
      I(0x18, { dst: 1, src: 1, imm: mapFd }),
      I(0xbf, { dst: 2, src: 10 }),
      I(0x07, { dst: 2, imm: -8 }),
      I(0xb7, { dst: 3, imm: 8 }),
      I(0xb7, { dst: 4, imm: 0 }),
      I(0x85, { imm: 130 }), // bpf_ringbuf_output
      I(0xb7, { dst: 0, imm: 0 }),
      I(0x95),
    ],
    LE,
  );
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-events-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

whenKernel('map:ringbuf', 'program:socket_filter').it(
  'events: prints ring buffer records as they arrive, as JSON, hex or decoded by a BTF type, until --count',
  async () => {
    using ring = createKernelMap({ name: 'cli_events', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
    using prog = loadKernelProgram({ name: 'emit', type: ProgramType.SOCKET_FILTER, license: 'GPL', instructions: emitter(ring.fd) });
    const id = ring.info().id;
    const produce = async (sizes: number[]) => {
      await new Promise((r) => setTimeout(r, 50)); // after the command subscribed
      for (const size of sizes) prog.testRun({ data: new Uint8Array(size) });
    };
    const run = async (args: string[], sizes: number[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const [code] = await Promise.all([
        runCli(['events', String(id), ...args], { out: (l) => out.push(l), err: (l) => err.push(l) }),
        produce(sizes),
      ]);
      return { code, out, err };
    };
    const asJson = await run(['--count', '3', '--json'], [20, 30, 40]);
    expect(asJson.code).toBe(0);
    expect(asJson.out.map((l) => JSON.parse(l))).toEqual(
      // skb->len of a socket filter's test run: the data less its 14-byte Ethernet header.
      [20, 30, 40].map((n) => ({ map: 'cli_events', size: 8, data: Buffer.from(new Uint32Array([7, n - 14]).buffer).toString('hex') })),
    );
    // Decoded by a type from a BTF file.
    const b = new BtfBuilder();
    const u32 = b.addInt('__u32', 4, false);
    b.addStruct('event', 8, [
      ['pid', u32, 0],
      ['len', u32, 4],
    ]);
    const btfFile = path.join(dir, 'event.btf');
    fs.writeFileSync(btfFile, b.encode(LE));
    const decoded = await run(['--count', '2', '--btf-type', 'struct event', '--btf', btfFile], [50, 60]);
    expect(decoded.out).toEqual(['8 bytes: {"pid":7,"len":36}', '8 bytes: {"pid":7,"len":46}']);
    expect(decoded.err.at(-1)).toMatch(/2 records, 16 bytes, 0 lost, 0 discarded/);
  },
);

whenKernel('map:ringbuf').it('events: refuses a map that is not a ring buffer or perf event array, and a bad --count', async () => {
  using hash = createKernelMap({ name: 'not_events', type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
  const err: string[] = [];
  const io = { out: () => {}, err: (l: string) => err.push(l) };
  expect(await runCli(['events', String(hash.info().id)], io)).toBe(1);
  expect(err.at(-1)).toMatch(/expected a ring buffer or perf event array map/);
  expect(await runCli(['events', String(hash.info().id), '--count', '0'], io)).toBe(1);
  expect(err.at(-1)).toMatch(/--count: expected a positive number/);
  expect(await runCli(['events', 'relative/pin'], io)).toBe(1);
  expect(err.at(-1)).toMatch(/a map id \(digits\) or an absolute pin path/);
});
