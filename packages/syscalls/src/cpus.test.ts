import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@bpfkit/core';
import { ONLINE_CPUS_PATH, onlineCpus, parseCpuList, possibleCpus, POSSIBLE_CPUS_PATH } from './cpus.js';

describe.skipIf(!fs.existsSync(POSSIBLE_CPUS_PATH))('possibleCpus', () => {
  it('is the highest possible CPU index plus one, read once', () => {
    const list = fs.readFileSync(POSSIBLE_CPUS_PATH, 'utf8').trim();
    const highest = Math.max(...list.split(',').map((p) => Number(p.split('-').at(-1))));
    expect(possibleCpus()).toBe(highest + 1);
    expect(possibleCpus()).toBe(possibleCpus());
  });
});

describe('parseCpuList', () => {
  it('expands ranges and single CPUs, in order, once each', () => {
    expect(parseCpuList('0-2,5\n')).toEqual([0, 1, 2, 5]);
    expect(parseCpuList('7,0-1,1')).toEqual([0, 1, 7]);
    expect(parseCpuList('\n')).toEqual([]);
  });
  it('refuses what is not a CPU list', () => {
    expect(() => parseCpuList('0-x')).toThrow(/expected a list like '0-3,5'/);
    expect(() => parseCpuList('3-1')).toThrow(InvalidArgumentError);
  });
});

describe.skipIf(!fs.existsSync(ONLINE_CPUS_PATH))('onlineCpus', () => {
  it('lists the online CPUs, each below the possible count', () => {
    const cpus = onlineCpus();
    expect(cpus.length).toBeGreaterThan(0);
    expect(cpus).toEqual(parseCpuList(fs.readFileSync(ONLINE_CPUS_PATH, 'utf8')));
    for (const cpu of cpus) expect(cpu).toBeLessThan(possibleCpus());
  });
});
