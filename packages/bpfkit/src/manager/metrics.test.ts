import path from 'node:path';
import { MapType } from '@bpfkit/core';
import { MockSystem } from '@bpfkit/mock';
import { describe, expect, it } from 'vitest';
import { Manager } from './manager.js';
import { MapRegistry } from './map-registry.js';
import { formatPrometheus, metricFamilies, registerManagerMetrics } from './metrics.js';
import type { CollectedMetric, ManagerStats, MetricsRegistry } from './metrics.js';

const OBJECT = path.resolve(import.meta.dirname, '../../testdata/manager.bpf.o');

const stats: ManagerStats = {
  state: 'started',
  objects: 1,
  programs: 2,
  maps: 4,
  links: 2,
  readers: 1,
  runStats: { enabled: true },
  programStats: [{ object: 'tracer', program: 'on_openat', id: 7, runCount: 12, runTimeNs: 1_500_000_000, links: ['openat'] }],
  readerStats: [
    {
      name: 'ev"ents\\',
      object: 'tracer',
      map: 'events',
      kind: 'ringbuf',
      records: 5,
      bytes: 80,
      lost: 0,
      dropped: 1,
      discarded: 0,
      batches: 2,
      handlerErrors: 0,
    },
  ],
};

/** A registry shaped like prom-client's: registerMetric, and the exposition text made from each metric's get(). */
class FakeRegistry implements MetricsRegistry {
  readonly metrics = new Map<string, CollectedMetric>();
  registerMetric(metric: CollectedMetric): void {
    if (this.metrics.has(metric.name)) throw new Error(`A metric with the name ${metric.name} has already been registered.`);
    this.metrics.set(metric.name, metric);
  }
  removeSingleMetric(name: string): void {
    this.metrics.delete(name);
  }
  async text(): Promise<string> {
    const families = await Promise.all([...this.metrics.values()].map((m) => m.get()));
    return formatPrometheus(families);
  }
}

describe('Manager metrics', () => {
  it('formats stats in the Prometheus text format, labels escaped, run time in seconds', () => {
    const text = formatPrometheus(metricFamilies(stats));
    expect(text).toContain(
      '# HELP bpfkit_manager_links Links the manager holds attached.\n# TYPE bpfkit_manager_links gauge\nbpfkit_manager_links 2\n',
    );
    expect(text).toContain('bpfkit_manager_started 1\n');
    expect(text).toContain('bpfkit_program_runs_total{object="tracer",program="on_openat"} 12\n');
    expect(text).toContain('bpfkit_program_run_seconds_total{object="tracer",program="on_openat"} 1.5\n');
    expect(text).toContain('bpfkit_reader_dropped_total{reader="ev\\"ents\\\\",map="events",kind="ringbuf"} 1\n');
    // Every sample line is a metric name, optional labels and a number.
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
      expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? -?[0-9.e+]+$/);
    }
    expect(formatPrometheus(metricFamilies(stats, 'agent_'))).toContain('agent_manager_objects 1\n');
    expect(() => metricFamilies(stats, 'bad prefix')).toThrow(/Prometheus metric name prefix/);
  });

  it('registers on a prom-client-shaped registry, read at each scrape, and unregisters', async () => {
    let current = stats;
    const registry = new FakeRegistry();
    const unregister = registerManagerMetrics(registry, () => current);
    expect([...registry.metrics.keys()]).toContain('bpfkit_reader_records_total');
    expect(await registry.text()).toContain('bpfkit_reader_records_total{reader="ev\\"ents\\\\",map="events",kind="ringbuf"} 5\n');
    current = { ...stats, links: 3 };
    expect(await registry.text()).toContain('bpfkit_manager_links 3\n');
    expect(() => registerManagerMetrics(registry, () => current)).toThrow(/already been registered/);
    unregister();
    expect(registry.metrics.size).toBe(0);
  });

  it("a manager's metrics follow its state", async () => {
    using system = new MockSystem();
    const manager = new Manager({ system, objects: { tracer: { object: OBJECT, options: { ignorePinning: true } } } });
    const registry = new FakeRegistry();
    const unregister = manager.registerMetrics(registry);
    expect(manager.metrics()).toContain('bpfkit_manager_objects 0\n');
    await manager.start();
    manager.attachTracepoint('openat', 'on_openat', 'syscalls', 'sys_enter_openat');
    expect(manager.metrics()).toContain('bpfkit_manager_objects 1\n');
    expect(await registry.text()).toContain('bpfkit_manager_links 1\n');
    expect(await registry.text()).toContain('bpfkit_program_runs_total{object="tracer",program="on_openat"} 0\n');
    await manager.stop();
    expect(await registry.text()).toContain('bpfkit_manager_started 0\n');
    unregister();
  });
});

describe('MapRegistry', () => {
  it('registers by name, refuses a taken name, lists, and closes only what it owns', () => {
    using system = new MockSystem();
    const spec = { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8 };
    const owned = system.createMap({ ...spec, name: 'owned' });
    const borrowed = system.createMap({ ...spec, name: 'borrowed' });
    const registry = new MapRegistry();
    registry.register('owned', owned, { owned: true });
    registry.register('borrowed', borrowed, { owner: 'tracer' });
    registry.register('owned', owned); // the same map again: fine
    expect(() => registry.register('owned', borrowed)).toThrow(/a name not registered yet \(it holds a map of user\)/);
    expect(() => registry.require('nope')).toThrow(/a registered map \(owned, borrowed\)/);
    registry.markShared('borrowed', 'second');
    expect(registry.list()).toEqual([
      { name: 'owned', owner: 'user', sharedWith: [], type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8, pinnedAt: undefined },
      {
        name: 'borrowed',
        owner: 'tracer',
        sharedWith: ['second'],
        type: MapType.HASH,
        keySize: 4,
        valueSize: 8,
        maxEntries: 8,
        pinnedAt: undefined,
      },
    ]);
    registry.close();
    expect([owned.closed, borrowed.closed, registry.size]).toEqual([true, false, 0]);
    borrowed.close();
  });
});
