import { describe, expect, it } from 'vitest';
import { BatchWalk } from './batch-walk.js';
import type { BatchWalkSource, RawBatch } from './batch-walk.js';

/** Batches of u8 keys (value bytes unused), then `rest`, with what the walk did recorded. */
function source(batches: number[][], rest: number[] | undefined, log: string[], closedAfter = Infinity) {
  let made = 0;
  function* gen(): Generator<RawBatch> {
    try {
      for (const b of batches) {
        log.push(`batch ${b.length}`);
        yield { keys: Uint8Array.from(b), values: new Uint8Array(b.length), count: b.length };
      }
    } finally {
      log.push('batches closed');
    }
  }
  const s: BatchWalkSource<number> = {
    begin: () => gen(),
    rest: () => {
      log.push('rest');
      return rest?.[Symbol.iterator]();
    },
    make: (keys, ko) => {
      made++;
      return keys[ko]!;
    },
    closed: () => made >= closedAfter,
    end: () => log.push('end'),
    visited: () => {},
    batch: () => {},
    keyBytes: 1,
    valueBytes: 1,
  };
  return s;
}

describe('BatchWalk', () => {
  it('yields every element of every batch, skips empty ones, then the rest, and ends once', () => {
    const log: string[] = [];
    const walk = new BatchWalk(source([[1, 2], [], [3]], [9, 10], log));
    expect([...walk]).toEqual([1, 2, 3, 9, 10]);
    expect(walk.next()).toEqual({ value: undefined, done: true });
    expect(log).toEqual(['batch 2', 'batch 0', 'batch 1', 'batches closed', 'rest', 'end']);
  });

  it('closes the batches and ends when the consumer breaks out', () => {
    const log: string[] = [];
    for (const x of new BatchWalk(source([[1, 2], [3]], [9], log))) if (x === 2) break;
    expect(log).toEqual(['batch 2', 'batches closed', 'end']);
  });

  it('stops when the map is closed, and ends when a batch throws', () => {
    const log: string[] = [];
    expect([...new BatchWalk(source([[1, 2, 3]], [9], log, 2))]).toEqual([1, 2]);
    expect(log).toEqual(['batch 3', 'batches closed', 'end']);

    const failing: string[] = [];
    const s = source([], undefined, failing);
    s.begin = () =>
      (function* (): Generator<RawBatch> {
        yield* [];
        throw new Error('EFAULT');
      })();
    expect(() => [...new BatchWalk(s)]).toThrow('EFAULT');
    expect(failing).toEqual(['end']);
  });

  it('goes straight to the rest when there are no batches', () => {
    const log: string[] = [];
    const s = source([], [7, 8], log);
    s.begin = () => undefined;
    expect([...new BatchWalk(s)]).toEqual([7, 8]);
    expect(log).toEqual(['rest', 'end']);
  });
});
