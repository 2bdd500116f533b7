#!/usr/bin/env node
// `pnpm fuzz [seconds] [--seed N] [--inputs N]`: the mutation test of the
// object reader (packages/elf/src/object.test.ts runs a bounded slice of it)
// for as long as asked. Mutates every BPF test object of the repository
// (packages/*/testdata/*.o, and each one with BTF also without it) with the
// mutators of packages/elf/src/test-support/mutate.ts, reads each input as the
// loader would, and counts how it ended. Any error other than ParseError or
// InvalidArgumentError, a call slower than a second, or a call that never
// returns stops the run with exit status 1 and the input saved under a
// temporary directory. Prints inputs/s, the count of each outcome and the
// slowest call.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const SLOW_MS = 1000;
const HANG_MS = 10_000;

const elfDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(elfDir, '..', '..');
const cache = path.join(elfDir, 'node_modules', '.cache', 'bpfkit-fuzz');
const out = path.join(cache, 'out');

/** Compiles the package's sources with the test support (left out of dist) to `out`. */
function compile() {
  fs.mkdirSync(cache, { recursive: true });
  const src = path.join(elfDir, 'src');
  fs.writeFileSync(
    path.join(cache, 'tsconfig.json'),
    JSON.stringify({
      extends: path.join(elfDir, 'tsconfig.json'),
      compilerOptions: {
        outDir: out,
        rootDir: src,
        declaration: false,
        declarationMap: false,
        sourceMap: true,
        incremental: true,
        tsBuildInfoFile: path.join(cache, 'tsbuildinfo'),
      },
      include: [src],
      exclude: [path.join(src, '**', '*.test.ts'), path.join(src, '**', '*.test-d.ts')],
    }),
  );
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', path.join(cache, 'tsconfig.json')], { encoding: 'utf8' });
  if (run.status !== 0) console.error(`fuzz: tsc reported errors (running what it emitted):\n${run.stdout}${run.stderr}`);
  if (!fs.existsSync(path.join(out, 'test-support', 'mutate.js'))) throw new Error('fuzz: tsc emitted no test-support/mutate.js');
}

const load = () => import(pathToFileURL(path.join(out, 'test-support', 'mutate.js')).href);

/** Every test object of the repository, and each one with BTF also without it. */
function seeds(m) {
  const files = m.testObjectFiles(path.join(root, 'packages'), fs);
  const list = [];
  for (const file of files) {
    const name = path.relative(root, file);
    const bytes = new Uint8Array(fs.readFileSync(file));
    try {
      list.push(m.seedOf(name, bytes));
      const stripped = m.withoutBtf(bytes);
      if (stripped) list.push(m.seedOf(`${name} without BTF`, stripped));
    } catch (err) {
      console.error(`fuzz: ${name} is no seed (${err.message})`);
    }
  }
  return list;
}

/** The input of index `i` of a run: the same seed and mutations every time. */
function inputAt(m, list, runSeed, i) {
  const seed = list[i % list.length];
  return { seed, bytes: m.mutate(seed, m.rngFrom((runSeed + Math.imul(i, 0x9e3779b9)) >>> 0)) };
}

if (isMainThread) {
  const args = process.argv.slice(2);
  const option = (name) => {
    const k = args.indexOf(name);
    if (k < 0) return undefined;
    const v = Number(args[k + 1]);
    args.splice(k, 2);
    return v;
  };
  const runSeed = option('--seed') ?? Math.floor(Math.random() * 2 ** 31);
  const maxInputs = option('--inputs') ?? Number.POSITIVE_INFINITY;
  const seconds = args.length ? Number(args[0]) : 60;
  if (!(seconds > 0) || !(maxInputs > 0)) {
    console.error('usage: pnpm fuzz [seconds] [--seed N] [--inputs N]');
    process.exit(2);
  }
  compile();
  const m = await load();
  const list = seeds(m);
  console.log(`fuzz: ${list.length} seeds, ${seconds} s${Number.isFinite(maxInputs) ? ` or ${maxInputs} inputs` : ''}, seed ${runSeed}`);

  const save = (i, why) => {
    const { seed, bytes } = inputAt(m, list, runSeed, i);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-fuzz-'));
    const file = path.join(dir, `input-${i}.o`);
    fs.writeFileSync(file, bytes);
    fs.writeFileSync(path.join(dir, 'README.txt'), `${why}\nseed object: ${seed.name}\nrun: pnpm fuzz --seed ${runSeed}, input ${i}\n`);
    console.error(`fuzz: input ${i} (from ${seed.name}) saved as ${file}`);
  };

  const progress = new Int32Array(new SharedArrayBuffer(8)); // [index of the input in hand, 1 while in a call]
  const worker = new Worker(fileURLToPath(import.meta.url), {
    workerData: { runSeed, seconds, maxInputs, progress },
    execArgv: ['--enable-source-maps'],
  });
  const started = performance.now();
  let last = { inputs: 0, seconds: 0, outcomes: {}, slowest: { ms: 0 } };
  const report = (final) => {
    // The rate over the worker's own time (its start-up, compiling and reading the seeds, left out).
    const secs = last.seconds || (performance.now() - started) / 1000;
    const kinds = Object.entries(last.outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ');
    const slow = last.slowest.seed ? `; slowest ${last.slowest.ms.toFixed(1)} ms (input ${last.slowest.index}, ${last.slowest.seed})` : '';
    console.log(
      `fuzz: ${final ? 'done, ' : ''}${last.inputs} inputs in ${secs.toFixed(0)} s (${(last.inputs / secs).toFixed(0)}/s); ${kinds}${slow}`,
    );
  };
  let failed = false;
  const kinds = new Set(); // each kind of failure (message and the frame it came from) is shown and saved once
  worker.on('message', (msg) => {
    if (msg.type === 'stats') last = msg;
    else if (msg.type === 'fail') {
      failed = true;
      const kind = msg.kind ?? msg.why;
      if (kinds.has(kind)) return;
      kinds.add(kind);
      console.error(`fuzz: input ${msg.index} (from ${msg.seed}): ${msg.why}`);
      save(msg.index, msg.why);
    }
  });
  let seen = -1;
  let since = performance.now();
  const timer = setInterval(() => {
    const i = Atomics.load(progress, 0);
    if (i !== seen || Atomics.load(progress, 1) === 0) {
      seen = i;
      since = performance.now();
    } else if (performance.now() - since > HANG_MS) {
      clearInterval(timer);
      failed = true;
      console.error(`fuzz: input ${i} has not returned in ${HANG_MS / 1000} s`);
      save(i, `no return in ${HANG_MS / 1000} s`);
      worker.terminate(); // its exit reports and ends the run
    }
  }, 250);
  const ticker = setInterval(() => report(false), 30_000);
  worker.on('error', (err) => {
    failed = true;
    console.error('fuzz: worker failed', err);
  });
  worker.on('exit', () => {
    clearInterval(timer);
    clearInterval(ticker);
    report(true);
    if (!failed && last.inputs === 0) failed = true;
    process.exit(failed ? 1 : 0);
  });
} else {
  const { runSeed, seconds, maxInputs, progress } = workerData;
  const m = await load();
  const list = seeds(m);
  // Resolve CO-RE relocations against the BTF of the object that has the most of them.
  const { readObject } = await import(pathToFileURL(path.join(out, 'object.js')).href);
  const target = readObject(new Uint8Array(fs.readFileSync(path.join(elfDir, 'testdata', 'core.bpf.o')))).btf;
  const stats = { type: 'stats', inputs: 0, seconds: 0, outcomes: {}, slowest: { ms: 0 } };
  const begun = performance.now();
  const end = begun + seconds * 1000;
  let posted = performance.now();
  for (let i = 0; i < maxInputs; i++) {
    if ((i & 255) === 0 && performance.now() >= end) break;
    const { seed, bytes } = inputAt(m, list, runSeed, i);
    Atomics.store(progress, 0, i);
    Atomics.store(progress, 1, 1);
    const t0 = performance.now();
    let outcome;
    let thrown;
    try {
      outcome = m.exercise(bytes, target);
    } catch (err) {
      thrown = err;
      // The kind of failure: the error and the first place in the package's sources it came from.
      const where = String(err?.stack ?? '')
        .split('\n')
        .find((line) => line.includes('/src/'))
        ?.match(/([\w.-]+\.[jt]s:\d+)/)?.[1];
      outcome = `untyped ${err?.name ?? typeof err}: ${String(err?.message ?? err).replace(/\d+/g, 'N')}${where ? ` at ${where}` : ''}`;
    }
    const ms = performance.now() - t0;
    if (outcome.startsWith('untyped'))
      parentPort.postMessage({ type: 'fail', index: i, seed: seed.name, kind: outcome, why: `untyped error: ${thrown?.stack ?? thrown}` });
    Atomics.store(progress, 1, 0);
    if (ms > stats.slowest.ms) stats.slowest = { ms, index: i, seed: seed.name };
    if (ms > SLOW_MS)
      parentPort.postMessage({ type: 'fail', index: i, seed: seed.name, why: `a call of ${ms.toFixed(0)} ms (over ${SLOW_MS})` });
    stats.outcomes[outcome] = (stats.outcomes[outcome] ?? 0) + 1;
    stats.inputs = i + 1;
    stats.seconds = (performance.now() - begun) / 1000;
    if (performance.now() - posted > 500) {
      parentPort.postMessage(stats);
      posted = performance.now();
    }
  }
  parentPort.postMessage(stats);
}
