import { describe, expect, it } from 'vitest';
import { walkPerfRecords } from './records.js';

function record(type: number, payload: number[]): number[] {
  const size = 8 + payload.length;
  return [type, 0, 0, 0, 1, 0, size & 0xff, size >> 8, ...payload];
}

describe('perf record walk', () => {
  it('reads consecutive records and returns the new tail', () => {
    const data = new Uint8Array(64);
    data.set([...record(9, [1, 2, 3, 4, 5, 6, 7, 8]), ...record(2, [9, 9, 9, 9, 9, 9, 9, 9])]);
    const seen: [number, number, number[]][] = [];
    const tail = walkPerfRecords(data, 0n, 32n, true, (t, m, r) => seen.push([t, m, [...r.subarray(8)]]));
    expect(tail).toBe(32n);
    expect(seen).toEqual([
      [9, 1, [1, 2, 3, 4, 5, 6, 7, 8]],
      [2, 1, [9, 9, 9, 9, 9, 9, 9, 9]],
    ]);
  });

  it('stitches a record that wraps past the end of the data area', () => {
    const data = new Uint8Array(32);
    const rec = record(9, [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]); // 24 bytes
    const start = 24; // counters keep growing: tail 56 is offset 24 in a 32-byte area
    rec.forEach((b, i) => {
      data[(start + i) % 32] = b;
    });
    const seen: number[][] = [];
    const tail = walkPerfRecords(data, 56n, 80n, true, (_t, _m, r) => seen.push([...r.subarray(8)]));
    expect(tail).toBe(80n);
    expect(seen).toEqual([[10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]]);
  });

  it('stops at a torn or corrupt record instead of reading garbage', () => {
    const data = new Uint8Array(32);
    data.set(record(9, [1, 2, 3, 4, 5, 6, 7, 8])); // 16 bytes
    expect(walkPerfRecords(data, 0n, 8n, true, () => expect.unreachable())).toBe(0n); // head inside the record
    data[6] = 4; // size 4 < header
    expect(walkPerfRecords(data, 0n, 16n, true, () => expect.unreachable())).toBe(0n);
  });
});
