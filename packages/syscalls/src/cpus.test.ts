import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { possibleCpus, POSSIBLE_CPUS_PATH } from './cpus.js';

describe.skipIf(!fs.existsSync(POSSIBLE_CPUS_PATH))('possibleCpus', () => {
  it('is the highest possible CPU index plus one, read once', () => {
    const list = fs.readFileSync(POSSIBLE_CPUS_PATH, 'utf8').trim();
    const highest = Math.max(...list.split(',').map((p) => Number(p.split('-').at(-1))));
    expect(possibleCpus()).toBe(highest + 1);
    expect(possibleCpus()).toBe(possibleCpus());
  });
});
