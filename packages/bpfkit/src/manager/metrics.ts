/**
 * Counters of one program, as {@link ManagerStats} gives them.
 *
 * @example
 * declare const manager: Manager;
 * const busiest: ManagerProgramStats | undefined = manager.stats().programStats.sort((a, b) => b.runTimeNs - a.runTimeNs)[0];
 */
export interface ManagerProgramStats {
  object: string;
  program: string;
  /** The kernel's program id (the mock's own). */
  id: number;
  /** Runs counted while run statistics were on (0 when off, and on the mock). */
  runCount: number;
  /** Nanoseconds spent running, likewise. */
  runTimeNs: number;
  /** Names of the links that attach it. */
  links: string[];
}

/**
 * Counters of one reader, as {@link ManagerStats} gives them.
 *
 * @example
 * declare const manager: Manager;
 * const behind = manager.stats().readerStats.filter((r: ManagerReaderStats) => r.dropped > 0);
 */
export interface ManagerReaderStats {
  name: string;
  object: string;
  map: string;
  kind: 'ringbuf' | 'perf';
  /** Records handed to the handler. */
  records: number;
  bytes: number;
  /** Records the kernel could not write (perf event arrays; 0 for ring buffers, which do not count them). */
  lost: number;
  /** Records bpfkit dropped because the handler fell behind (`maxQueued`). */
  dropped: number;
  /** Ring buffer records the program discarded. */
  discarded: number;
  /** Batches handed to the handler. */
  batches: number;
  /** Batches whose handler threw. */
  handlerErrors: number;
}

/**
 * What {@link Manager.stats} reports: plain numbers.
 *
 * @example
 * declare const manager: Manager;
 * const stats: ManagerStats = manager.stats();
 * console.log(`${stats.links} links, run stats ${stats.runStats.enabled ? 'on' : `off: ${stats.runStats.reason}`}`);
 */
export interface ManagerStats {
  state: 'stopped' | 'starting' | 'started' | 'stopping';
  objects: number;
  programs: number;
  maps: number;
  links: number;
  readers: number;
  /** Whether program run statistics are on, and when not (or where they cannot be), why. */
  runStats: { enabled: boolean; reason?: string };
  programStats: ManagerProgramStats[];
  readerStats: ManagerReaderStats[];
}

/**
 * One metric family, as a Prometheus client library collects it.
 *
 * @example
 * const up: MetricFamily = { name: 'up', help: 'Up.', type: 'gauge', values: [{ labels: {}, value: 1 }] };
 */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  values: { labels: Record<string, string>; value: number }[];
}

/**
 * The metric families of `stats`, names prefixed with `prefix` (default `bpfkit_`).
 *
 * @example
 * declare const stats: ManagerStats;
 * metricFamilies(stats).map((f) => f.name); // ['bpfkit_manager_objects', …]
 */
export function metricFamilies(stats: ManagerStats, prefix = 'bpfkit_'): MetricFamily[] {
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix))
    throw new TypeError(`metrics prefix: expected a Prometheus metric name prefix, got ${JSON.stringify(prefix)}`);
  const gauge = (name: string, help: string, value: number): MetricFamily => ({
    name: prefix + name,
    help,
    type: 'gauge',
    values: [{ labels: {}, value }],
  });
  const perProgram = (name: string, help: string, pick: (p: ManagerProgramStats) => number): MetricFamily => ({
    name: prefix + name,
    help,
    type: 'counter',
    values: stats.programStats.map((p) => ({ labels: { object: p.object, program: p.program }, value: pick(p) })),
  });
  const perReader = (name: string, help: string, pick: (r: ManagerReaderStats) => number): MetricFamily => ({
    name: prefix + name,
    help,
    type: 'counter',
    values: stats.readerStats.map((r) => ({ labels: { reader: r.name, map: r.map, kind: r.kind }, value: pick(r) })),
  });
  return [
    gauge('manager_started', 'Whether the manager is started (1) or not (0).', stats.state === 'started' ? 1 : 0),
    gauge('manager_objects', 'BPF objects loaded by the manager.', stats.objects),
    gauge('manager_programs', 'Programs loaded by the manager.', stats.programs),
    gauge('manager_maps', 'Maps registered with the manager.', stats.maps),
    gauge('manager_links', 'Links the manager holds attached.', stats.links),
    gauge('manager_run_stats_enabled', 'Whether kernel program run statistics are on (BPF_ENABLE_STATS).', stats.runStats.enabled ? 1 : 0),
    perProgram('program_runs_total', 'Times the program ran while run statistics were on.', (p) => p.runCount),
    perProgram('program_run_seconds_total', 'Time the program spent running while run statistics were on.', (p) => p.runTimeNs / 1e9),
    perReader('reader_records_total', 'Records the reader handed to its handler.', (r) => r.records),
    perReader('reader_bytes_total', 'Bytes of the records the reader handed over.', (r) => r.bytes),
    perReader('reader_lost_total', 'Records the kernel could not write to the buffer (perf event arrays).', (r) => r.lost),
    perReader('reader_dropped_total', 'Records dropped because the handler fell behind.', (r) => r.dropped),
    perReader('reader_batches_total', 'Batches handed to the handler.', (r) => r.batches),
    perReader('reader_handler_errors_total', 'Batches whose handler threw.', (r) => r.handlerErrors),
  ];
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const formatValue = (v: number): string => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));

/**
 * Metric families in the Prometheus text exposition format (0.0.4), what
 * a `/metrics` endpoint serves.
 *
 * @example
 * formatPrometheus([{ name: 'up', help: 'Up.', type: 'gauge', values: [{ labels: {}, value: 1 }] }]);
 * // '# HELP up Up.\n# TYPE up gauge\nup 1\n'
 */
export function formatPrometheus(families: readonly MetricFamily[]): string {
  let out = '';
  for (const f of families) {
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    for (const { labels, value } of f.values) {
      const entries = Object.entries(labels);
      const text = entries.length ? `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
      out += `${f.name}${text} ${formatValue(value)}\n`;
    }
  }
  return out;
}

/**
 * A metric as a `prom-client` registry takes it (`registry.registerMetric`):
 * its name, help and type, and `get()` collecting its current values.
 *
 * @example
 * declare const registry: MetricsRegistry;
 * const metric: CollectedMetric = {
 *   name: 'up', help: 'Up.', type: 'gauge', aggregator: 'sum',
 *   get: async () => ({ name: 'up', help: 'Up.', type: 'gauge', aggregator: 'sum', values: [{ labels: {}, value: 1 }] }),
 *   reset() {},
 * };
 * registry.registerMetric(metric);
 */
export interface CollectedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  readonly aggregator: 'sum';
  get(): Promise<{
    name: string;
    help: string;
    type: 'gauge' | 'counter';
    aggregator: 'sum';
    values: { labels: Record<string, string>; value: number }[];
  }>;
  reset(): void;
}

/**
 * What {@link registerManagerMetrics} needs of a metrics registry: the
 * shape of `prom-client`'s `Registry` (bpfkit does not depend on it).
 *
 * @example
 * // With prom-client: `import { register } from 'prom-client'` is one.
 * const registry: MetricsRegistry = { registerMetric: (m) => console.log(m.name) };
 */
export interface MetricsRegistry {
  registerMetric(metric: CollectedMetric): void;
  removeSingleMetric?(name: string): void;
}

/**
 * Registers metrics that read `source()` each time the registry is
 * collected (a scrape); returns a function that unregisters them.
 *
 * @example
 * declare const manager: Manager;
 * declare const registry: MetricsRegistry; // e.g. prom-client's `register`
 * const unregister = registerManagerMetrics(registry, () => manager.stats());
 */
export function registerManagerMetrics(
  registry: MetricsRegistry,
  source: () => ManagerStats,
  options: { prefix?: string } = {},
): () => void {
  if (typeof registry?.registerMetric !== 'function') {
    throw new TypeError('registerManagerMetrics: registry: expected a registry with registerMetric() (prom-client Registry)');
  }
  const prefix = options.prefix ?? 'bpfkit_';
  const templates = metricFamilies(emptyStats(), prefix);
  const names: string[] = [];
  for (const t of templates) {
    const metric: CollectedMetric = {
      name: t.name,
      help: t.help,
      type: t.type,
      aggregator: 'sum',
      get: async () => {
        const family = metricFamilies(source(), prefix).find((f) => f.name === t.name) ?? t;
        return { name: family.name, help: family.help, type: family.type, aggregator: 'sum', values: family.values };
      },
      reset() {},
    };
    registry.registerMetric(metric);
    names.push(t.name);
  }
  return () => {
    for (const name of names) registry.removeSingleMetric?.(name);
  };
}

function emptyStats(): ManagerStats {
  return {
    state: 'stopped',
    objects: 0,
    programs: 0,
    maps: 0,
    links: 0,
    readers: 0,
    runStats: { enabled: false },
    programStats: [],
    readerStats: [],
  };
}
