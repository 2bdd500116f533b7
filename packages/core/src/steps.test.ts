import { describe, expect, it } from 'vitest';
import { runSteps, runStepsAsync } from './steps.js';

// A generator that asks for two answers and recovers from a failed first one.
function* sumWithRetry(): Generator<string, string, number> {
  let first: number;
  try {
    first = yield 'first';
  } catch (err) {
    first = (yield `retry after ${(err as Error).message}`) * 100;
  }
  const second = yield 'second';
  return `${first + second}`;
}

describe('runSteps and runStepsAsync', () => {
  it('answer each request in turn and throw a failed answer in at its yield', async () => {
    const asked: string[] = [];
    const answer = (q: string): number => {
      asked.push(q);
      if (q === 'first') throw new Error('no');
      return q === 'second' ? 2 : 1;
    };
    expect(runSteps(sumWithRetry(), answer)).toBe('102');
    expect(asked).toEqual(['first', 'retry after no', 'second']);
    asked.length = 0;
    expect(await runStepsAsync(sumWithRetry(), async (q) => answer(q))).toBe('102');
    expect(asked).toEqual(['first', 'retry after no', 'second']);
  });

  it('let an error the generator does not catch out', async () => {
    function* once(): Generator<number, number, number> {
      return yield 1;
    }
    expect(() =>
      runSteps(once(), () => {
        throw new RangeError('boom');
      }),
    ).toThrow(RangeError);
    await expect(runStepsAsync(once(), () => Promise.reject(new RangeError('boom')))).rejects.toThrow('boom');
  });
});
