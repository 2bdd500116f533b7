import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClosedError, InvalidArgumentError, NotSupportedError, struct, u32 } from '@bpfkit/core';
import type { EventSource } from '@bpfkit/core';
import { closeFd, mapCreate } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import { RingBufferReader } from './reader.js';
import { BigRecordEmitter, createRing, payloadOf, RecordEmitter } from './test-programs.js';

const openFds = () => fs.readdirSync('/proc/self/fd').length;
const seqOf = (r: Uint8Array) => new DataView(r.buffer, r.byteOffset, r.byteLength).getUint32(0, true);
const expectPayload = (r: Uint8Array, seq: number, size: number) => {
  expect(r.byteLength).toBe(size);
  expect(Buffer.from(r).equals(Buffer.from(payloadOf(seq, size)))).toBe(true);
};

describe('RingBufferReader arguments', () => {
  it('refuses an empty list', () => {
    expect(() => RingBufferReader.open([])).toThrow(InvalidArgumentError);
  });
});

whenKernel('map:ringbuf').describe('RingBufferReader on the kernel', () => {
  it('refuses a map of another type, naming the expected type', () => {
    const fd = mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1, mapName: 'not_rb' });
    try {
      expect(() => RingBufferReader.open(fd)).toThrow(/BPF_MAP_TYPE_RINGBUF/);
      expect(() => RingBufferReader.open(fd)).toThrow(InvalidArgumentError);
    } finally {
      closeFd(fd);
    }
  });

  it('reads records of varying sizes in order and intact, wrapping around a 4 KiB ring', () => {
    const ringFd = createRing(4096);
    using emitter = new RecordEmitter(ringFd);
    using reader = RingBufferReader.open({ fd: ringFd, name: 'events' });
    const sizes = [1, 3, 4, 7, 8, 9, 15, 16, 17, 100, 255, 256, 511, 1000, 1500, 2000, 4088 - 8, 63, 64, 65];
    let seq = 0;
    let bytes = 0;
    const got: number[] = [];
    let sources = new Set<string>();
    for (let round = 0; round < 30; round++) {
      let inRing = 0;
      const emitted: [number, number][] = [];
      for (const base of sizes) {
        const size = Math.max(1, (base + round * 13) % 2100);
        const total = (size + 15) & ~7;
        if (inRing + total > 4096) break;
        emitter.emit(payloadOf(seq, size));
        emitted.push([seq, size]);
        inRing += total;
        bytes += size;
        seq++;
      }
      let i = 0;
      const n = reader.consume((record, source: EventSource) => {
        const [s, size] = emitted[i++]!;
        expectPayload(record, s, size);
        if (size >= 4) got.push(seqOf(record));
        sources.add(source.map);
      });
      expect(n).toBe(emitted.length);
    }
    expect(got).toEqual([...got].sort((a, b) => a - b));
    expect(reader.stats()).toMatchObject({ received: seq, bytes, discarded: 0, lost: 0, dropped: 0 });
    expect([...sources]).toEqual(['events']);
    sources = new Set();
    expect(reader.readAvailable()).toEqual([]);
    closeFd(ringFd);
  });

  it('skips and counts discarded reservations; readAvailable copies', () => {
    const ringFd = createRing(8192);
    using emitter = new RecordEmitter(ringFd);
    using reader = RingBufferReader.open(ringFd);
    closeFd(ringFd); // the reader holds its own fd
    emitter.emit(payloadOf(0, 10));
    emitter.discard();
    emitter.discard();
    emitter.emit(payloadOf(1, 20));
    emitter.discard();
    const records = reader.readAvailable();
    expect(records.length).toBe(2);
    expectPayload(records[0]!, 0, 10);
    expectPayload(records[1]!, 1, 20);
    expect(records[0]!.buffer.byteLength).toBe(10); // a copy, not a view of the mapping
    expect(reader.stats()).toMatchObject({ received: 2, discarded: 3, bytes: 30 });
  });

  it('readAvailable(max) and consume(max) stop at max', () => {
    const ringFd = createRing(8192);
    using emitter = new RecordEmitter(ringFd);
    using reader = RingBufferReader.open(ringFd);
    for (let i = 0; i < 10; i++) emitter.emit(payloadOf(i, 8));
    expect(reader.readAvailable(3).map(seqOf)).toEqual([0, 1, 2]);
    expect(reader.consume(() => {}, 4)).toBe(4);
    expect(reader.readAvailable().map(seqOf)).toEqual([7, 8, 9]);
    closeFd(ringFd);
  });

  it('consumeInPlace hands the data area with offsets, wrapped records contiguous, and counts like consume', () => {
    const ringFd = createRing(4096);
    using emitter = new RecordEmitter(ringFd);
    using reader = RingBufferReader.open(ringFd);
    let seq = 0;
    let bytes = 0;
    for (let round = 0; round < 20; round++) {
      const sizes = [300 + round, 1000 - round * 3, 17, 900];
      for (const size of sizes) emitter.emit(payloadOf(seq + sizes.indexOf(size), size));
      emitter.discard();
      let i = 0;
      const n = reader.consumeInPlace((data, offset, length) => {
        expectPayload(data.subarray(offset, offset + length), seq + i, sizes[i]!);
        i++;
      });
      expect(n).toBe(sizes.length);
      seq += sizes.length;
      bytes += sizes.reduce((a, b) => a + b, 0);
    }
    expect(reader.stats()).toMatchObject({ received: seq, bytes, discarded: 20 });
    expect(reader.consumeInPlace(() => {}, 0)).toBe(0);
    closeFd(ringFd);
  });

  it('keeps reading once the position passes 2^31 and 2^32 bytes (the u64 position in halves)', () => {
    // 1 MiB records through a 32 MiB ring: 31 fit at a time (a full ring is one byte short of its size).
    const ringSize = 32 << 20;
    const recordSize = (1 << 20) - 8;
    const ringFd = createRing(ringSize);
    using emitter = new BigRecordEmitter(ringFd, recordSize);
    using reader = RingBufferReader.open(ringFd);
    closeFd(ringFd);
    const perFill = Math.floor((ringSize - 1) / (1 << 20));
    const target = 2 ** 32 + 64 * 2 ** 20; // past 4 GiB, by a few fills
    let passed = 0;
    let records = 0;
    let bad = 0;
    let round = 0;
    const onView = (r: Uint8Array) => {
      records++;
      if (r.byteLength !== recordSize || r[0] !== BigRecordEmitter.MARK) bad++;
    };
    const inPlace = (data: Uint8Array, offset: number, length: number) => {
      records++;
      if (length !== recordSize || data[offset] !== BigRecordEmitter.MARK) bad++;
    };
    while (passed < target) {
      emitter.emit(perFill);
      const before = records;
      // Both drains, by turns, so that each crosses the boundaries somewhere.
      const n = round++ % 2 === 0 ? reader.consumeInPlace(inPlace) : reader.consume(onView);
      expect(n).toBe(perFill); // the kernel had room for every record: it saw each position we released
      expect(records - before).toBe(perFill);
      passed += perFill << 20;
    }
    expect(bad).toBe(0);
    expect(reader.pending()).toBe(0);
    expect(reader.stats()).toMatchObject({ received: records, bytes: records * recordSize });
  });

  it('refuses a read from inside one of its own callbacks, which would hand the same records out again', () => {
    const ringFd = createRing(8192);
    using emitter = new RecordEmitter(ringFd);
    using reader = RingBufferReader.open(ringFd);
    closeFd(ringFd);
    emitter.emit(payloadOf(0, 8));
    emitter.emit(payloadOf(1, 8));
    const nested: unknown[] = [];
    const seen: number[] = [];
    reader.consume((record) => {
      seen.push(seqOf(record));
      try {
        reader.consume(() => {});
      } catch (e) {
        nested.push(e);
      }
      try {
        reader.consumeInPlace(() => {});
      } catch (e) {
        nested.push(e);
      }
    });
    expect(seen).toEqual([0, 1]);
    expect(nested).toHaveLength(4);
    for (const e of nested) {
      expect(e).toBeInstanceOf(NotSupportedError);
      expect((e as Error).message).toMatch(/from inside one of its own callbacks.*released only when the callback returns/);
    }
    expect(reader.readAvailable()).toEqual([]);
  });

  it('decodes with a codec; a decoding error goes to onError', async () => {
    const ringFd = createRing(8192);
    using emitter = new RecordEmitter(ringFd);
    const codec = struct({ seq: [0, u32], second: [4, u32] }, { size: 8 });
    using reader = RingBufferReader.open(ringFd, { codec });
    emitter.emit(payloadOf(5, 8));
    expect(reader.readAvailable()).toEqual([{ seq: 5, second: new DataView(payloadOf(5, 8).buffer).getUint32(4, true) }]);
    const errors: Error[] = [];
    const seen: number[] = [];
    const unsubscribe = reader.subscribe((e) => seen.push(e.seq), { onError: (e) => errors.push(e) });
    emitter.emit(payloadOf(6, 2)); // too short for the codec
    emitter.emit(payloadOf(7, 8));
    await waitFor(() => seen.length === 1 && errors.length === 1);
    expect(seen).toEqual([7]);
    unsubscribe();
    closeFd(ringFd);
  });

  it('subscribe is woken by the event loop; unsubscribe and abort stop it', async () => {
    const ringFd = createRing(16384);
    using emitter = new RecordEmitter(ringFd);
    using reader = RingBufferReader.open(ringFd);
    const seen: number[] = [];
    const controller = new AbortController();
    const unsubscribe = reader.subscribe((r) => seen.push(seqOf(r)), { signal: controller.signal });
    for (let i = 0; i < 5; i++) emitter.emit(payloadOf(i, 12));
    await waitFor(() => seen.length === 5);
    setTimeout(() => emitter.emit(payloadOf(5, 12)), 20);
    await waitFor(() => seen.length === 6);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    expect(reader.stats().wakeups).toBeGreaterThanOrEqual(1);
    controller.abort();
    emitter.emit(payloadOf(6, 12));
    await new Promise((r) => setTimeout(r, 30));
    expect(seen.length).toBe(6);
    unsubscribe();
    expect(reader.readAvailable().map(seqOf)).toEqual([6]);
    closeFd(ringFd);
  });

  it('subscribeInPlace hands records in place, woken by the event loop, counted like subscribe; unsubscribe stops it', async () => {
    const ringFd = createRing(16384);
    using emitter = new RecordEmitter(ringFd);
    using reader = RingBufferReader.open(ringFd);
    const seen: number[] = [];
    const unsubscribe = reader.subscribeInPlace((data, offset, length) => {
      seen.push(seqOf(data.subarray(offset, offset + length)));
      expect(length).toBe(12);
    });
    for (let i = 0; i < 5; i++) emitter.emit(payloadOf(i, 12));
    await waitFor(() => seen.length === 5);
    setTimeout(() => emitter.emit(payloadOf(5, 12)), 20);
    await waitFor(() => seen.length === 6);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    expect(reader.stats()).toMatchObject({ received: 6, bytes: 72 });
    unsubscribe();
    emitter.emit(payloadOf(6, 12));
    await new Promise((r) => setTimeout(r, 30));
    expect(seen.length).toBe(6);
    expect(reader.readAvailable().map(seqOf)).toEqual([6]);
    closeFd(ringFd);
  });

  it('a subscription drains more records than one wake-up hands out, with no further wake-up', async () => {
    // 70 000 records: past the 65 536 a wake-up delivers. The ring's poll keeps reporting POLLIN while
    // records wait, so the rest comes on the next turn of the event loop, not at the next commit.
    const ringFd = createRing(2 << 20);
    using emitter = new RecordEmitter(ringFd);
    using reader = RingBufferReader.open(ringFd);
    closeFd(ringFd);
    const total = 70_000;
    emitter.emit(payloadOf(0, 8), total);
    for (const how of ['inPlace', 'views'] as const) {
      let seen = 0;
      const unsubscribe =
        how === 'inPlace'
          ? reader.subscribeInPlace(() => {
              seen++;
            })
          : reader.subscribe(() => {
              seen++;
            });
      await waitFor(() => seen === total);
      unsubscribe();
      if (how === 'inPlace') emitter.emit(payloadOf(0, 8), total);
    }
    expect(reader.stats().received).toBe(2 * total);
  });

  it('poll resolves 0 after the timeout, the count when records come, and rejects on abort', async () => {
    const ringFd = createRing(8192);
    using emitter = new RecordEmitter(ringFd);
    using reader = RingBufferReader.open(ringFd);
    const t0 = Date.now();
    expect(await reader.poll(() => {}, 50)).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    setTimeout(() => {
      emitter.emit(payloadOf(1, 4));
      emitter.emit(payloadOf(2, 4));
    }, 20);
    const seen: number[] = [];
    expect(await reader.poll((r) => seen.push(seqOf(r)), 5000)).toBe(2);
    expect(seen).toEqual([1, 2]);
    emitter.emit(payloadOf(3, 4));
    expect(await reader.poll((r) => seen.push(seqOf(r)))).toBe(1); // ready at once
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    await expect(reader.poll(() => {}, undefined, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    // a pending poll ends with 0 when the reader closes; a closed reader refuses
    const pending = reader.poll(() => {});
    setTimeout(() => reader.close(), 10);
    expect(await pending).toBe(0);
    await expect(reader.poll(() => {})).rejects.toThrow(ClosedError);
    expect(() => reader.consume(() => {})).toThrow(ClosedError);
    closeFd(ringFd);
  });

  it('async iteration gives copies in order; breaking out stops it; close ends it', async () => {
    const ringFd = createRing(16384);
    using emitter = new RecordEmitter(ringFd);
    using reader = RingBufferReader.open(ringFd);
    setTimeout(() => {
      for (let i = 0; i < 10; i++) emitter.emit(payloadOf(i, 24));
    }, 10);
    const got: Uint8Array[] = [];
    for await (const record of reader) {
      got.push(record);
      if (got.length === 10) break;
    }
    expect(got.map(seqOf)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const [i, r] of got.entries()) expectPayload(r, i, 24);
    // breaking out consumes nothing past the last record yielded
    for (let i = 10; i < 15; i++) emitter.emit(payloadOf(i, 24));
    for await (const record of reader) {
      expect(seqOf(record)).toBe(10);
      break;
    }
    expect(reader.readAvailable().map(seqOf)).toEqual([11, 12, 13, 14]);
    setTimeout(() => reader.close(), 20);
    const after: Uint8Array[] = [];
    for await (const record of reader) after.push(record);
    expect(after).toEqual([]);
    closeFd(ringFd);
  });

  it('batches by size and by flush interval; maxQueued drops and counts', async () => {
    const ringFd = createRing(65536);
    using emitter = new RecordEmitter(ringFd);
    using reader = RingBufferReader.open(ringFd);
    const controller = new AbortController();
    const batches: number[][] = [];
    const done = (async () => {
      for await (const batch of reader.batches({ size: 4, flushIntervalMs: 50, signal: controller.signal })) {
        batches.push(batch.map(seqOf));
      }
    })();
    await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 10; i++) emitter.emit(payloadOf(i, 8));
    await waitFor(() => batches.length === 2);
    expect(batches).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    const t0 = Date.now();
    await waitFor(() => batches.length === 3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(20); // the partial batch waited for the flush interval
    expect(batches[2]).toEqual([8, 9]);
    controller.abort();
    await done;

    // a consumer that sleeps: records past maxQueued are dropped and counted
    const sizes: number[] = [];
    const slow = (async () => {
      for await (const batch of reader.batches({ size: 2, flushIntervalMs: 10, maxQueued: 4 })) {
        sizes.push(batch.length);
        await new Promise((r) => setTimeout(r, 150));
        if (sizes.reduce((a, b) => a + b, 0) >= 6) break;
      }
    })();
    await new Promise((r) => setTimeout(r, 10));
    emitter.emit(payloadOf(100, 8));
    emitter.emit(payloadOf(101, 8));
    await waitFor(() => sizes.length === 1); // the first batch is taken; the consumer sleeps
    for (let i = 0; i < 10; i++) emitter.emit(payloadOf(102 + i, 8));
    await slow;
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(6);
    expect(reader.stats().dropped).toBe(6); // 10 arrived while 4 fit in the queue
    closeFd(ringFd);
  });

  it('one reader over several rings tags each record with its map', async () => {
    const a = createRing(4096, 'rb_a');
    const b = createRing(4096, 'rb_b');
    using ea = new RecordEmitter(a);
    using eb = new RecordEmitter(b);
    using reader = RingBufferReader.open([a, { fd: b, name: 'second' }]);
    const seen: string[] = [];
    reader.subscribe((r, source) => seen.push(`${source.map}:${seqOf(r)}`));
    ea.emit(payloadOf(1, 4));
    eb.emit(payloadOf(2, 4));
    ea.emit(payloadOf(3, 4));
    await waitFor(() => seen.length === 3);
    expect(seen.sort()).toEqual(['rb_a:1', 'rb_a:3', 'second:2']);
    closeFd(a);
    closeFd(b);
  });

  it('closing leaks no fd or mapping, also from inside a callback', () => {
    const ringFd = createRing(4096);
    using emitter = new RecordEmitter(ringFd);
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      const reader = RingBufferReader.open(ringFd);
      reader.subscribe(() => {});
      reader.close();
      reader.close();
    }
    expect(openFds()).toBe(before);
    const reader = RingBufferReader.open(ringFd);
    emitter.emit(payloadOf(0, 4));
    emitter.emit(payloadOf(1, 4));
    let calls = 0;
    expect(
      reader.consume(() => {
        calls++;
        reader.close();
      }),
    ).toBe(1);
    expect(calls).toBe(1);
    expect(openFds()).toBe(before);
    closeFd(ringFd);
  });

  it('a child process that subscribes and closes, or unrefs, exits on its own', () => {
    // The child runs the built package (dist): `pnpm --filter @bpfkit/perf run build` first.
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
    const dist = path.join(root, 'dist/index.js');
    const run = (body: string) => {
      const script = `
        import { RingBufferReader } from ${JSON.stringify(dist)};
        import { mapCreate } from '@bpfkit/syscalls';
        if (typeof RingBufferReader !== 'function') { console.error('dist is stale: build @bpfkit/perf'); process.exit(7); }
        const fd = mapCreate({ mapType: 27, keySize: 0, valueSize: 0, maxEntries: 4096 });
        const reader = RingBufferReader.open(fd);
        ${body}
      `;
      return spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 20_000 });
    };
    const closed = run(`reader.subscribe(() => {}); setTimeout(() => { reader.close(); console.log('closed'); }, 50);`);
    expect(closed.signal, closed.stderr).toBeNull();
    expect(closed.status, closed.stderr).toBe(0);
    expect(closed.stdout).toContain('closed');
    const unrefd = run(`reader.subscribe(() => {}); reader.unref(); reader.poll(() => {}, 60_000); console.log('waiting');`);
    expect(unrefd.signal, unrefd.stderr).toBeNull();
    expect(unrefd.status, unrefd.stderr).toBe(0);
  });
});

async function waitFor(condition: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!condition()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}
