import { describe, expect, it } from 'vitest';
import { BatchWalk } from './batch-walk.js';
import { u8, u16, u32 } from './codecs/integer.js';
import type { BatchWalkSource, RawBatch, WalkYield } from './batch-walk.js';

/** Batches of u8 keys (value bytes unused), then `rest`, with what the walk did recorded; the map closes after `closedAfter` elements. */
function source(batches: number[][], rest: number[] | undefined, log: string[], closedAfter = Infinity) {
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
  const stats = { visited: 0, batches: 0 };
  const s: BatchWalkSource<number> = {
    begin: () => gen(),
    rest: () => {
      log.push('rest');
      return rest?.[Symbol.iterator]();
    },
    end: () => log.push('end'),
    handle: {
      get closed() {
        return stats.visited >= closedAfter;
      },
    },
    stats,
    keyCodec: u8,
    valueCodec: u8,
    yields: 'keys',
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

  it("yields keys, values or pairs decoded at the codecs' strides, rebinding when the map hands over new buffers", () => {
    // Batches of u16 keys and u32 values: the first two share buffers (rewritten in between, as the map does), the third is larger.
    const small = { keys: new Uint8Array(4), values: new Uint8Array(8) };
    const large = { keys: new Uint8Array(6), values: new Uint8Array(12) };
    const fill = (b: { keys: Uint8Array; values: Uint8Array }, pairs: [number, number][]): RawBatch => {
      const kv = new DataView(b.keys.buffer);
      const vv = new DataView(b.values.buffer);
      pairs.forEach(([k, v], i) => {
        kv.setUint16(i * 2, k, true);
        vv.setUint32(i * 4, v, true);
      });
      return { keys: b.keys, values: b.values, count: pairs.length };
    };
    const walk = (yields: WalkYield) => {
      const stats = { visited: 0, batches: 0 };
      const elements = [
        ...new BatchWalk<unknown>({
          *begin() {
            yield fill(small, [
              [1, 100],
              [2, 200],
            ]);
            yield fill(small, [[3, 300]]);
            yield fill(large, [
              [4, 400],
              [5, 500],
              [6, 600],
            ]);
          },
          rest: () => undefined,
          end: () => {},
          handle: { closed: false },
          stats,
          keyCodec: u16,
          valueCodec: u32,
          yields,
        }),
      ];
      return { elements, stats };
    };
    // The integer codecs are host order; the test writes little-endian, as the hosts this runs on are.
    expect(walk('entries')).toEqual({
      elements: [
        [1, 100],
        [2, 200],
        [3, 300],
        [4, 400],
        [5, 500],
        [6, 600],
      ],
      stats: { visited: 6, batches: 3 },
    });
    expect(walk('keys').elements).toEqual([1, 2, 3, 4, 5, 6]);
    expect(walk('values').elements).toEqual([100, 200, 300, 400, 500, 600]);
  });
});
