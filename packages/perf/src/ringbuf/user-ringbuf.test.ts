import fs from 'node:fs';
import { InvalidArgumentError } from '@bpfkit/core';
import { closeFd } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { expect } from 'vitest';
import { createRing, UserRingDrainer } from './test-programs.js';
import { UserRingBuffer } from './user-ringbuf.js';

const u32le = (v: number) => new Uint8Array(new Uint32Array([v]).buffer);
const USER_RINGBUF = 31;

const gate = whenKernel('map:user_ringbuf');

gate.it('a JavaScript producer writes samples a BPF program drains with bpf_user_ringbuf_drain', () => {
  const fd = createRing(4096, 'urb', USER_RINGBUF);
  using drainer = new UserRingDrainer(fd);
  using producer = UserRingBuffer.open(fd);
  closeFd(fd); // the producer holds its own fd
  expect(producer.size).toBe(4096);
  expect(producer.producerPosition).toBe(0);
  expect(producer.write(u32le(5))).toBe(true);
  expect(producer.producerPosition).toBe(16); // 8-byte header + 4 bytes, rounded up to 8
  const sample = producer.reserve(12)!;
  sample.set(u32le(7));
  const discarded = producer.reserve(4)!;
  discarded.set(u32le(1000));
  producer.submit(sample);
  producer.discard(discarded);
  expect(producer.producerPosition).toBe(16 + 24 + 16);
  expect(drainer.drain()).toBe(2); // the discarded sample is skipped
  expect(drainer.totals()).toEqual([12n, 2n]);
  expect(producer.consumerPosition).toBe(56);

  // a busy (reserved, unsubmitted) sample stops the drain until it is submitted
  const busy = producer.reserve(4)!;
  busy.set(u32le(100));
  producer.write(u32le(200));
  expect(drainer.drain()).toBe(0); // nothing drained past the busy sample
  expect(drainer.totals()).toEqual([12n, 2n]);
  producer.submit(busy);
  expect(drainer.drain()).toBe(2);
  expect(drainer.totals()).toEqual([312n, 4n]);

  // wrapping: samples across the end of the ring arrive whole
  let sum = 312n;
  let count = 4n;
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 5; i++) {
      const s = producer.reserve(300 + i * 40)!;
      s.fill(0xaa);
      s.set(u32le(round * 10 + i));
      producer.submit(s);
      sum += BigInt(round * 10 + i);
      count++;
    }
    expect(drainer.drain()).toBe(5);
  }
  expect(drainer.totals()).toEqual([sum, count]);
  expect(() => producer.submit(busy)).toThrow(InvalidArgumentError);
  expect(() => producer.reserve(4096)).toThrow(InvalidArgumentError);
});

gate.it('reserve returns undefined when the ring is full; closing leaks nothing', () => {
  const fd = createRing(4096, 'urb_full', USER_RINGBUF);
  const before = fs.readdirSync('/proc/self/fd').length;
  const producer = UserRingBuffer.open(fd);
  let n = 0;
  while (producer.write(new Uint8Array(56))) n++;
  expect(n).toBe(4096 / 64);
  expect(producer.available()).toBe(0);
  producer.close();
  expect(fs.readdirSync('/proc/self/fd').length).toBe(before);
  closeFd(fd);
});

gate.it('UserRingBuffer refuses a map of another type', () => {
  const fd = createRing(4096, 'rb_not_user');
  try {
    expect(() => UserRingBuffer.open(fd)).toThrow(/BPF_MAP_TYPE_USER_RINGBUF/);
  } finally {
    closeFd(fd);
  }
});
