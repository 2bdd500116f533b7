// Shared benchmark plumbing: timing, C baselines, the table and the JSON file.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * ns/op of `fn(iterations)` (which runs the operation `iterations` times):
 * a warm-up round, then the median of `rounds` timed rounds.
 */
export function measure(fn, { iterations = 1_000_000, rounds = 7 } = {}) {
  fn(Math.min(iterations, 100_000));
  const samples = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    fn(iterations);
    samples.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

/** Compiles bench/c/<name>.c with the system compiler (once per source change) and returns the binary path. */
export function compileC(name) {
  const src = path.join(benchDir, 'c', `${name}.c`);
  const outDir = path.join(benchDir, '.bin');
  fs.mkdirSync(outDir, { recursive: true });
  const bin = path.join(outDir, name);
  const newest = Math.max(fs.statSync(src).mtimeMs, fs.statSync(path.join(benchDir, 'c', 'bench.h')).mtimeMs);
  if (!fs.existsSync(bin) || fs.statSync(bin).mtimeMs < newest) {
    const cc = process.env.CC ?? 'cc';
    execFileSync(cc, ['-O2', '-Wall', '-o', bin, src], { stdio: 'inherit' });
  }
  return bin;
}

/** Runs a C baseline; it prints lines `op ns_per_op`. Returns { op: ns }. */
export function runC(bin, args = []) {
  const out = execFileSync(bin, args.map(String), { encoding: 'utf8' });
  const result = {};
  for (const line of out.trim().split('\n')) {
    const [op, ns] = line.trim().split(/\s+/);
    result[op] = Number(ns);
  }
  return result;
}

/** Prints the table and writes bench/results/<suite>.json. */
export function report(suite, rows) {
  const baselineNames = [...new Set(rows.flatMap((r) => Object.keys(r.baselines)))];
  const header = ['op', 'bpfkit ns/op', ...baselineNames.flatMap((b) => [`${b} ns/op`, `ratio vs ${b}`])];
  const lines = rows.map((r) => [
    r.op,
    r.bpfkit.toFixed(1),
    ...baselineNames.flatMap((b) =>
      r.baselines[b] === undefined ? ['-', '-'] : [r.baselines[b].toFixed(1), `${(r.baselines[b] / r.bpfkit).toFixed(2)}x`],
    ),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log(
    `\nbench ${suite} (kernel ${os.release()}, node ${process.version}; ratio = baseline / bpfkit, above 1 means bpfkit is faster)`,
  );
  console.log(fmt(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const l of lines) console.log(fmt(l));
  const json = {
    suite,
    kernel: os.release(),
    rows: rows.map((r) => ({
      op: r.op,
      unit: 'ns/op',
      bpfkit: round(r.bpfkit),
      baselines: Object.fromEntries(Object.entries(r.baselines).map(([k, v]) => [k, round(v)])),
    })),
  };
  const file = path.join(benchDir, 'results', `${suite}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

const round = (x) => Math.round(x * 10) / 10;
