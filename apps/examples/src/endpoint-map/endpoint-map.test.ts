import fs from 'node:fs';
import { mountPrivateBpffs } from '@bpfkit/syscalls';
import { whenKernel } from '@bpfkit/syscalls/testing';
import { describe, expect, it } from 'vitest';
import { runEndpointMap } from './endpoint-map.js';

const EXPECTED = [
  { version: 1, outcome: 'created', carried: 0, ids: [7] },
  { version: 1, outcome: 'opened', carried: 0, ids: [7, 9] },
  { version: 2, outcome: 'upgraded', carried: 2, ids: [7, 9, 11] },
];

describe('endpoint-map', () => {
  it('runs on the mock: created, reopened with its entries, upgraded carrying them over', async () => {
    const runs = await runEndpointMap({ backend: 'mock', log: () => {} });
    expect(runs.map((r) => ({ version: r.version, outcome: r.outcome, carried: r.carried, ids: r.entries.map(([id]) => id) }))).toEqual(
      EXPECTED,
    );
    // Carried over: the old fields as they were, the new one at 0.
    expect(runs[2]!.entries).toEqual([
      [7, { ifindex: 3, mac: '02:00:00:00:00:07', flags: 1, lxcId: 0 }],
      [9, { ifindex: 4, mac: '02:00:00:00:00:09', flags: 0, lxcId: 0 }],
      [11, { ifindex: 5, mac: '02:00:00:00:00:0b', flags: 1, lxcId: 1100 }],
    ]);
  });

  whenKernel().it('runs on the kernel in a private bpffs, and removes its pin at the end unless kept', async () => {
    using bpffs = mountPrivateBpffs();
    const runs = await runEndpointMap({ backend: 'kernel', pinDir: bpffs.dir, log: () => {} });
    expect(runs.map((r) => ({ version: r.version, outcome: r.outcome, carried: r.carried, ids: r.entries.map(([id]) => id) }))).toEqual(
      EXPECTED,
    );
    expect(fs.existsSync(`${bpffs.dir}/endpoints`)).toBe(false);
    // Kept, the next run finds the v2 map and upgrades nothing (it opens it as v1 wants: a downgrade, carried over too).
    await runEndpointMap({ backend: 'kernel', pinDir: bpffs.dir, keep: true, log: () => {} });
    expect(fs.existsSync(`${bpffs.dir}/endpoints`)).toBe(true);
    const again = await runEndpointMap({ backend: 'kernel', pinDir: bpffs.dir, log: () => {} });
    expect(again[0]).toMatchObject({ version: 1, outcome: 'upgraded', carried: 3 });
    expect(fs.existsSync(`${bpffs.dir}/endpoints`)).toBe(false);
  });
});
