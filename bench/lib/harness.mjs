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

/**
 * Compiles bench/c/<name>.c with the system compiler (once per source change) and returns the binary path.
 * `flags` go after the source (libraries: `['-lbpf']`); a change of flags rebuilds too.
 */
export function compileC(name, { flags = [] } = {}) {
  const src = path.join(benchDir, 'c', `${name}.c`);
  const outDir = path.join(benchDir, '.bin');
  fs.mkdirSync(outDir, { recursive: true });
  const bin = path.join(outDir, name);
  const stamp = `${bin}.flags`;
  const newest = Math.max(fs.statSync(src).mtimeMs, fs.statSync(path.join(benchDir, 'c', 'bench.h')).mtimeMs);
  const sameFlags = flags.length === 0 ? !fs.existsSync(stamp) : fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === flags.join(' ');
  if (!fs.existsSync(bin) || fs.statSync(bin).mtimeMs < newest || !sameFlags) {
    const cc = process.env.CC ?? 'cc';
    execFileSync(cc, ['-O2', '-Wall', '-o', bin, src, ...flags], { stdio: 'inherit' });
    if (flags.length) fs.writeFileSync(stamp, flags.join(' '));
    else fs.rmSync(stamp, { force: true });
  }
  return bin;
}

/**
 * Makes sure a Debian package is installed (`apt-get install -y`, after one
 * `apt-get update`), for a C baseline's headers and libraries: `present()`
 * says whether it is there already.
 */
export function ensureDebianPackage(pkg, present) {
  if (present()) return;
  console.log(`bench: installing ${pkg} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { stdio: 'inherit', env });
  } catch {
    execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { stdio: 'inherit', env });
  }
  if (!present()) throw new Error(`bench: ${pkg} was installed but is still missing what the baseline needs`);
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

/**
 * Prints the table and writes bench/results/<suite>.json.
 *
 * A row: `{ op, bpfkit, baselines: { name: value } }`, and optionally `unit`
 * (default `options.unit`, else ns/op), `ratio`/`ratio_min`/`ratio_max` (a
 * ratio baseline / bpfkit taken per round by the suite: the table shows the
 * median and range instead of the ratio of the medians; for a records/s
 * row the suite takes bpfkit / baseline, so above 1 still means bpfkit is
 * faster) and `lost`/`records`/`baselines_lost` (end-to-end rows), copied
 * to the JSON as they are.
 */
export function report(suite, rows, options = {}) {
  const unit = options.unit ?? 'ns/op';
  const baselineNames = [...new Set(rows.flatMap((r) => Object.keys(r.baselines)))];
  const header = ['op', `bpfkit ${unit}`, ...baselineNames.flatMap((b) => [`${b} ${unit}`, `ratio vs ${b}`])];
  const num = (x, u) => (u === 'records/s' ? `${(x / 1e6).toFixed(2)}M rec/s` : x.toFixed(1));
  const spread = (x) => `${x.ratio.toFixed(2)}x [${x.ratio_min.toFixed(2)}–${x.ratio_max.toFixed(2)}]`;
  const ratioCell = (r, b) =>
    r.ratios?.[b]
      ? spread(r.ratios[b])
      : r.ratio !== undefined && baselineNames.length === 1
        ? spread(r)
        : `${((r.unit ?? unit) === 'records/s' ? r.bpfkit / r.baselines[b] : r.baselines[b] / r.bpfkit).toFixed(2)}x`;
  const lines = rows.map((r) => [
    r.lost === undefined
      ? r.op
      : `${r.op}, lost ${r.lost}${Object.entries(r.baselines_lost ?? {})
          .map(([b, n]) => ` (${b} lost ${n})`)
          .join('')}`,
    num(r.bpfkit, r.unit ?? unit),
    ...baselineNames.flatMap((b) => (r.baselines[b] === undefined ? ['-', '-'] : [num(r.baselines[b], r.unit ?? unit), ratioCell(r, b)])),
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
      unit: r.unit ?? unit,
      bpfkit: round(r.bpfkit),
      baselines: Object.fromEntries(Object.entries(r.baselines).map(([k, v]) => [k, round(v)])),
      ...ratioFields(r),
      ...(r.lost === undefined ? {} : { lost: r.lost }),
      ...(r.records === undefined ? {} : { records: r.records }),
      ...(r.baselines_lost === undefined ? {} : { baselines_lost: r.baselines_lost }),
    })),
  };
  const file = path.join(benchDir, 'results', `${suite}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

const round3 = (x) => Math.round(x * 1000) / 1000;

/**
 * A row's per-round ratios in the JSON: `ratio`/`ratio_min`/`ratio_max`
 * (against the row's first baseline when it has `ratios` per baseline),
 * and `ratios` with each baseline's.
 */
function ratioFields(r) {
  const three = (x) => ({ ratio: round3(x.ratio), ratio_min: round3(x.ratio_min), ratio_max: round3(x.ratio_max) });
  if (r.ratios) {
    const first = Object.keys(r.baselines).find((b) => r.ratios[b]);
    return {
      ...(first ? three(r.ratios[first]) : {}),
      ratios: Object.fromEntries(Object.entries(r.ratios).map(([b, x]) => [b, three(x)])),
    };
  }
  return r.ratio === undefined ? {} : three(r);
}

/**
 * The median and range of per-round ratios: `num[i] / den[i]` for the
 * rounds both sides ran (they ran interleaved, so each pair saw the same
 * state of the machine).
 *
 * @example
 * perRoundRatio([10, 12], [9, 13]); // { ratio: …, ratio_min: …, ratio_max: … }
 */
export function perRoundRatio(num, den) {
  const n = Math.min(num.length, den.length);
  if (n === 0) return undefined;
  const ratios = Array.from({ length: n }, (_, i) => num[i] / den[i]).sort((a, b) => a - b);
  return { ratio: ratios[Math.floor(n / 2)], ratio_min: ratios[0], ratio_max: ratios[n - 1] };
}
/** The median of a list of numbers (the upper middle of an even count): what every row reports. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** One decimal; two below 10 (a few ns per record). */
const round = (x) => (Math.abs(x) < 10 ? Math.round(x * 100) / 100 : Math.round(x * 10) / 10);
