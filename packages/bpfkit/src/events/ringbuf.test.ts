import fs from 'node:fs';
import { InvalidArgumentError, MapType, ProgramType, u64 } from '@bpfkit/core';
import { encodeInstructions } from '@bpfkit/elf';
import type { InstructionFields } from '@bpfkit/elf';
import { MockSystem } from '@bpfkit/mock';
import { closeFd, HOST_LITTLE_ENDIAN, progLoad, progTestRun } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect, it } from 'vitest';
import { NativeSystem } from '../native-system.js';

const I = (opcode: number, f: Partial<InstructionFields> = {}): InstructionFields => ({ opcode, dst: 0, src: 0, offset: 0, imm: 0, ...f });

/** socket filter: bpf_ringbuf_output(map, &(u64)skb->len, 8, 0) (the test run's data less its Ethernet header). */
const emitLen = (mapFd: number): Uint8Array =>
  encodeInstructions(
    [
      I(0x61, { dst: 2, src: 1, offset: 0 }), // r2 = skb->len
      I(0x7b, { dst: 10, src: 2, offset: -8 }), // *(u64 *)(r10 - 8) = r2
      I(0x18, { dst: 1, src: 1, imm: mapFd }), // r1 = map
      I(0xbf, { dst: 2, src: 10 }),
      I(0x07, { dst: 2, imm: -8 }),
      I(0xb7, { dst: 3, imm: 8 }),
      I(0xb7, { dst: 4, imm: 0 }),
      I(0x85, { imm: 130 }), // bpf_ringbuf_output
      I(0xb7, { dst: 0, imm: 0 }),
      I(0x95),
    ],
    HOST_LITTLE_ENDIAN,
  );

const gate = whenKernel('map:ringbuf');

gate.describe('NativeSystem.openRingBuffer', () => {
  it('reads ring buffer maps through a codec, tagging each record with its map', async () => {
    using system = new NativeSystem();
    using a = system.createMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, name: 'events_a' });
    using b = system.createMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, name: 'events_b' });
    const progA = progLoad({ progType: ProgramType.SOCKET_FILTER, insns: emitLen(a.fd), license: 'GPL', progName: 'emit_a' });
    const progB = progLoad({ progType: ProgramType.SOCKET_FILTER, insns: emitLen(b.fd), license: 'GPL', progName: 'emit_b' });
    try {
      const before = fs.readdirSync('/proc/self/fd').length;
      const reader = system.openRingBuffer([a, b], { codec: u64 });
      const seen: string[] = [];
      reader.subscribe((value, source) => seen.push(`${source.map}:${value}`));
      for (let len = 20; len < 30; len++) progTestRun({ progFd: len % 2 ? progA : progB, dataIn: new Uint8Array(len) });
      const t0 = Date.now();
      while (seen.length < 10 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 2));
      expect(seen.filter((s) => s.startsWith('events_a:'))).toEqual([21, 23, 25, 27, 29].map((n) => n - 14).map((n) => `events_a:${n}`));
      expect(seen.filter((s) => s.startsWith('events_b:'))).toEqual([20, 22, 24, 26, 28].map((n) => n - 14).map((n) => `events_b:${n}`));
      expect(reader.stats()).toMatchObject({ received: 10, bytes: 80, lost: 0, discarded: 0 });
      reader.close();
      expect(fs.readdirSync('/proc/self/fd').length).toBe(before);
    } finally {
      closeFd(progA);
      closeFd(progB);
    }
  });

  it('refuses a map of another type, a closed map and an empty list, naming what it expected', () => {
    using system = new NativeSystem();
    using array = system.createMap({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, name: 'not_ring' });
    expect(() => system.openRingBuffer(array)).toThrow(InvalidArgumentError);
    expect(() => system.openRingBuffer(array)).toThrow(/BPF_MAP_TYPE_RINGBUF/);
    const ring = system.createMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, name: 'closed_ring' });
    ring.close();
    expect(() => system.openRingBuffer(ring)).toThrow(/an open kernel map/);
    expect(() => system.openRingBuffer([])).toThrow(InvalidArgumentError);
  });

  it('refuses a mock map', () => {
    using system = new NativeSystem();
    using mock = new MockSystem();
    using ring = mock.createMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, name: 'mock_ring' });
    expect(() => system.openRingBuffer(ring)).toThrow(InvalidArgumentError);
  });
});
