/**
 * uprobe-latency (after Beyla), on bpfkit's Manager as Beyla's agent is on
 * its own: a uprobe and a uretprobe on `handle_request` of a small server
 * the example starts (native/latency_server.c, built with
 * the system's C compiler) time every call (bpf/uprobe_latency.bpf.c); the
 * example sends it requests over loopback and prints a latency histogram, and
 * the same as Prometheus metrics.
 *
 * With `--mock` the same programs run in the mock's BPF virtual machine, and
 * the example fires the probes itself with a clock it moves.
 *
 *   node apps/examples/dist/uprobe-latency/main.js [--mock] [--requests N]
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MockSystem, openSystem } from 'bpfkit';
import { Manager } from 'bpfkit';
import { __u32Codec, __u64Codec } from '../skeletons/uprobe-latency.js';

const OBJECT = fileURLToPath(new URL('../../bpf/uprobe_latency.bpf.o', import.meta.url));
const SERVER_SOURCE = fileURLToPath(new URL('../../native/latency_server.c', import.meta.url));
const SYMBOL = 'handle_request';
const PT_REGS_SIZE = 21 * 8;

/** The latencies the run asks of the server, in microseconds (one request each, cycled). */
const REQUESTS_US = [50, 120, 300, 800, 2000, 5000];

/** What a run measured. */
export interface LatencyReport {
  backend: 'kernel' | 'mock';
  calls: number;
  /** Mean call time, µs. */
  meanUs: number;
  /** Calls per log2 bucket: `[lowUs, highUs)` and its count, empty buckets left out. */
  histogram: { lowUs: number; highUs: number; calls: number }[];
  metrics: string;
  /** Runs of each probe program, as the manager's stats count them (0 on the mock, which counts none). */
  probeRuns?: Record<string, number>;
}

/**
 * Builds the server once per source change, into the user's temp dir.
 *
 * @example
 * const binary = buildServer();
 */
export function buildServer(): string {
  const dir = path.join(os.tmpdir(), `bpfkit-examples-${process.getuid?.() ?? 'user'}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const binary = path.join(dir, 'latency_server');
  if (!fs.existsSync(binary) || fs.statSync(binary).mtimeMs < fs.statSync(SERVER_SOURCE).mtimeMs) {
    try {
      execFileSync(process.env.CC ?? 'cc', ['-O1', '-fno-inline', '-o', binary, SERVER_SOURCE], { stdio: 'pipe' });
    } catch (err) {
      throw new Error(
        `uprobe-latency: building ${SERVER_SOURCE} with ${process.env.CC ?? 'cc'} failed (${String(err)}): install a C compiler (apt-get install gcc) or set CC`,
      );
    }
  }
  return binary;
}

/**
 * Runs the example: starts the server, attaches the probes to its
 * `handle_request`, sends `requests` requests, reads the histogram.
 *
 * @example
 * const report = await runUprobeLatency({ backend: 'mock' });
 */
export async function runUprobeLatency(
  options: { backend?: 'auto' | 'kernel' | 'mock'; requests?: number; log?: (line: string) => void } = {},
): Promise<LatencyReport> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const requests = options.requests ?? 24;
  using system = await openSystem({ backend: options.backend ?? 'auto' });
  await using target = system instanceof MockSystem ? mockTarget(system) : await serverTarget();
  // The Manager (Beyla's pkg/ebpf): loads the object, attaches both probes in order (undoing all on a failure),
  // counts each program's runs (BPF stats on the kernel), detaches and closes everything on stop.
  const probe = { kind: 'uprobe', binary: target.binary, symbol: SYMBOL, ...(target.pid ? { pid: target.pid } : {}) } as const;
  await using manager = new Manager({
    system,
    objects: { latency: { object: OBJECT } },
    attachments: [
      { name: 'enter', program: 'on_enter', target: probe },
      { name: 'return', program: 'on_return', target: { ...probe, ret: true } },
    ],
    runStats: system.kind === 'kernel',
  });
  await manager.start();
  log(
    `uprobe-latency: ${SYMBOL} of ${target.binary}${target.pid ? ` (pid ${target.pid})` : ''} on the ${system.kind}, ${requests} requests`,
  );
  for (let i = 0; i < requests; i++) await target.request(REQUESTS_US[i % REQUESTS_US.length]!);

  // The maps and variables through the generated skeleton's codecs (src/skeletons/uprobe-latency.ts).
  const coll = manager.collection('latency');
  const histogram = coll.typedMap('histogram', { key: __u32Codec, value: __u64Codec });
  const buckets = [...histogram.entries()]
    .filter(([, n]) => n > 0n)
    .sort(([a], [b]) => a - b)
    .map(([slot, n]) => ({ lowUs: slot === 0 ? 0 : 2 ** slot, highUs: 2 ** (slot + 1), calls: Number(n) }));
  const variable = (name: 'calls' | 'total_ns') => coll.variables[name]!.get() as bigint;
  const calls = Number(variable('calls'));
  const totalNs = Number(variable('total_ns'));
  const report: LatencyReport = {
    backend: system.kind,
    calls,
    meanUs: calls ? totalNs / calls / 1000 : 0,
    histogram: buckets,
    metrics: '',
  };
  // The histogram, then the manager's own metrics: programs, their run counts and times, links.
  report.metrics = prometheus(report) + manager.metrics();
  report.probeRuns = Object.fromEntries(manager.stats().programStats.map((p) => [p.program, p.runCount]));
  printHistogram(report, log);
  return report;
}

function printHistogram(report: LatencyReport, log: (line: string) => void): void {
  const widest = Math.max(1, ...report.histogram.map((b) => b.calls));
  log(`${'µs'.padStart(19)} : calls`);
  for (const b of report.histogram) {
    const bar = '*'.repeat(Math.max(1, Math.round((b.calls / widest) * 40)));
    log(`${`${b.lowUs} -> ${b.highUs - 1}`.padStart(19)} : ${String(b.calls).padStart(5)} |${bar.padEnd(40)}|`);
  }
  log(`${report.calls} calls, mean ${report.meanUs.toFixed(0)} µs`);
}

/** The histogram as a Prometheus histogram (cumulative buckets, in seconds). */
export function prometheus(report: Pick<LatencyReport, 'calls' | 'meanUs' | 'histogram'>): string {
  const lines = [
    `# HELP uprobe_latency_seconds Time spent in ${SYMBOL}, measured by a uprobe/uretprobe pair.`,
    '# TYPE uprobe_latency_seconds histogram',
  ];
  let cumulative = 0;
  for (const b of report.histogram) {
    cumulative += b.calls;
    lines.push(`uprobe_latency_seconds_bucket{le="${b.highUs / 1e6}"} ${cumulative}`);
  }
  lines.push(`uprobe_latency_seconds_bucket{le="+Inf"} ${report.calls}`);
  lines.push(`uprobe_latency_seconds_sum ${((report.meanUs * report.calls) / 1e6).toFixed(6)}`);
  lines.push(`uprobe_latency_seconds_count ${report.calls}`);
  return `${lines.join('\n')}\n`;
}

/** What the probes attach to and how a request reaches it. */
interface Target extends AsyncDisposable {
  binary: string;
  pid?: number;
  request(micros: number): Promise<void>;
}

async function serverTarget(): Promise<Target> {
  const binary = buildServer();
  const child = spawn(binary, ['0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`uprobe-latency: the server exited (${code})`)));
  });
  return {
    binary,
    pid: child.pid!,
    request: (micros) =>
      new Promise<void>((resolve, reject) => {
        const c = net.connect(port, '127.0.0.1', () => c.write(`${micros}\n`));
        c.on('data', () => {});
        c.on('end', () => resolve());
        c.on('error', reject);
      }),
    [Symbol.asyncDispose]: async () => {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    },
  };
}

/**
 * The mock's server: each request fires the uprobe, moves the mock's clock
 * by the requested time, fires the uretprobe — on a thread of a pretend
 * server process.
 */
function mockTarget(system: MockSystem): Target {
  let now = 1_000_000_000n;
  system.environment.clock = () => now;
  system.environment.pid = system.environment.tgid = 4242;
  const binary = '/usr/local/bin/latency_server';
  return {
    binary,
    request: async (micros) => {
      // The programs read no register: an empty struct pt_regs (x86-64: 21 registers) serves as the context.
      system.fire({ kind: 'uprobe', binary, symbol: SYMBOL }, new Uint8Array(PT_REGS_SIZE));
      now += BigInt(micros) * 1000n;
      system.fire({ kind: 'uprobe', binary, symbol: SYMBOL, ret: true }, new Uint8Array(PT_REGS_SIZE));
    },
    [Symbol.asyncDispose]: async () => {},
  };
}

/** For the tests: the bucket a latency falls in, as the program computes it. */
export function bucketOf(micros: number): number {
  let slot = 0;
  for (let us = micros; us > 1 && slot < 31; us = Math.floor(us / 2)) slot++;
  return slot;
}
