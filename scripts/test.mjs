#!/usr/bin/env node
// Runs every test file of every package in one vitest run and prints, as the
// last line, `N passed, N failed, N skipped` counted from vitest's JSON report
// (a file that fails to load counts as one failure).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const report = path.join(root, 'test-results', 'vitest.json');
fs.mkdirSync(path.dirname(report), { recursive: true });
fs.rmSync(report, { force: true });

const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const run = spawnSync(
  process.execPath,
  [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, FORCE_COLOR: process.env.CI ? '0' : process.env.FORCE_COLOR },
  },
);

let passed = 0;
let failed = 0;
let skipped = 0;
/** Skipped tests by the reason their title (or an enclosing describe's) gives. */
const skipReasons = new Map();
const reasonOf = (t) => {
  // The first title, the test's own or an enclosing describe's, that says why: `… — skipped: <reason>` or `… (skipped: <reason>)`.
  for (const title of [...(t.ancestorTitles ?? []), t.title ?? '']) {
    const m = /\(skipped: (.*)\)$/.exec(title) ?? /skipped: (.*)$/.exec(title);
    if (m) return m[1];
  }
  return undefined;
};
if (fs.existsSync(report)) {
  const result = JSON.parse(fs.readFileSync(report, 'utf8'));
  for (const file of result.testResults ?? []) {
    const tests = file.assertionResults ?? [];
    for (const t of tests) {
      if (t.status === 'passed') passed++;
      else if (t.status === 'failed') failed++;
      else {
        skipped++; // skipped, pending, todo, disabled
        const reason = reasonOf(t) ?? 'no reason in its title';
        skipReasons.set(reason, (skipReasons.get(reason) ?? 0) + 1);
      }
    }
    // A file that crashed before defining tests has no assertion results.
    if (file.status === 'failed' && !tests.some((t) => t.status === 'failed')) failed++;
  }
} else {
  failed++;
  console.error(`no vitest report at ${report} (vitest exited with ${run.status ?? run.signal})`);
}
if (run.status !== 0 && failed === 0) failed++; // vitest failed for a reason outside any test
if (skipReasons.size > 0) {
  console.log('skipped, by reason:');
  for (const [reason, n] of [...skipReasons].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(4)}  ${reason}`);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
